//! `--lint`, `--warnings` and the per-type counts of `--stats`.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn read_stats(p: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn read_records(p: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `args` plus `--warnings` and `--stats` files on `input`; returns
/// the run, the warnings records and the stats.
fn lint_run(args: &[&str], input: &[u8]) -> (std::process::Output, Vec<Value>, Value) {
    let dir = tempdir();
    let (w, s) = (dir.path().join("w.ndjson"), dir.path().join("s.json"));
    let mut all = args.to_vec();
    all.extend([
        "--warnings",
        w.to_str().unwrap(),
        "--stats",
        s.to_str().unwrap(),
    ]);
    let o = run_repro(&all, input);
    (o, read_records(&w), read_stats(&s))
}

#[test]
fn the_spec_examples_give_no_warning_and_lint_changes_no_byte() {
    let input = std::fs::read(spec_examples()).unwrap();
    let (o, records, stats) = lint_run(&[], &input);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(records, Vec::<Value>::new());
    assert_eq!(stats["warnings"]["total"], 0);
    assert!(
        stderr(&o).contains("; no catalogue warnings"),
        "{}",
        stderr(&o)
    );
    let plain = run_repro(&["-q"], &input);
    assert_eq!(o.stdout, plain.stdout);
}

/// A spec example changed to drift in one way.
fn drifted(kind: &str) -> Vec<String> {
    let text = std::fs::read_to_string(spec_examples()).unwrap();
    text.lines()
        .take(40)
        .map(|l| {
            let mut ev: Value = serde_json::from_str(l).unwrap();
            let ty = ev["event_type"][".tag"].as_str().unwrap().to_string();
            match kind {
                "unknown_event_type" => {
                    let new = format!("{ty}_v2");
                    ev["event_type"] = serde_json::json!({".tag": new});
                    ev["details"][".tag"] = format!("{new}_details").into();
                }
                "unknown_category" => ev["event_category"][".tag"] = "brand_new_category".into(),
                "retired_category" => ev["event_category"][".tag"] = "account_capture".into(),
                "category_mismatch" => {
                    let cat = ev["event_category"][".tag"].as_str().unwrap();
                    let other = if cat == "logins" { "sharing" } else { "logins" };
                    ev["event_category"][".tag"] = other.into();
                }
                "details_tag_mismatch" => ev["details"][".tag"] = "something_else_details".into(),
                "description_mismatch" => {
                    let d = ev["event_type"]["description"].as_str().unwrap();
                    ev["event_type"]["description"] = format!("{d} (renamed)").into();
                }
                _ => unreachable!(),
            }
            ev.to_string()
        })
        .collect()
}

#[test]
fn each_kind_of_drift_gives_exactly_that_warning() {
    for kind in [
        "unknown_event_type",
        "unknown_category",
        "retired_category",
        "category_mismatch",
        "details_tag_mismatch",
        "description_mismatch",
    ] {
        let lines = drifted(kind);
        let input = lines.join("\n") + "\n";
        let (o, records, stats) = lint_run(&["-q"], input.as_bytes());
        assert_eq!(code(&o), 0, "{kind}: {}", stderr(&o));
        assert_eq!(
            events(&o).len(),
            lines.len(),
            "{kind}: every event is written"
        );
        assert_eq!(records.len(), lines.len(), "{kind}: {records:?}");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r["kind"], kind, "{r}");
            assert_eq!(r["line"], i as u64 + 1);
            assert_eq!(r["source"], "-");
            assert_eq!(r["index"], Value::Null);
        }
        assert_eq!(stats["warnings"]["total"], records.len());
        assert!(o.stderr.is_empty(), "-q silences the summary");
    }
}

#[test]
fn several_warnings_per_event_counted_by_kind_and_type_in_stats_and_summary() {
    let retired = event_with("").replace(r#"{".tag":"logins"}"#, r#"{".tag":"account_capture"}"#);
    // Several warnings for one event: an unknown type under another one.
    let several = event_with("")
        .replace(r#"{".tag":"logins"}"#, r#"{".tag":"brand_new"}"#)
        .replace(r#"".tag":"login_success""#, r#"".tag":"login_v2""#);
    let input = format!("{retired}\n{several}\n");
    let (o, records, stats) = lint_run(&[], input.as_bytes());
    assert_eq!(code(&o), 0);
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "retired_category",
            "unknown_event_type",
            "unknown_category",
            "details_tag_mismatch"
        ]
    );
    assert_eq!(records[0]["got"], "removed_from_spec");
    assert_eq!(records[0]["category"], "account_capture");
    assert_eq!(records[3]["got"], "login_success_details");
    assert_eq!(records[3]["expected"], "login_v2_details");
    assert_eq!(stats["warnings"]["by_kind"]["retired_category"], 1);
    assert_eq!(stats["warnings"]["by_event_type"]["login_success"], 1);
    assert_eq!(stats["warnings"]["by_event_type"]["login_v2"], 3);
    let summary = "; 4 catalogue warnings (1 details_tag_mismatch, 1 retired_category, 1 unknown_category, 1 unknown_event_type)";
    assert!(stderr(&o).contains(summary), "{}", stderr(&o));
}

#[test]
fn warnings_in_api_responses_name_the_element_and_do_not_change_the_exit_status() {
    let good = event_with("");
    let bad = good.replace("login_success_details", "x_details");
    let page = format!(r#"{{"events":[{good},{bad}],"cursor":"c","has_more":false}}"#);
    let input = format!("{page}\nnot json\n");
    let (o, records, _) = lint_run(&["-q"], input.as_bytes());
    let plain = run_repro(&["-q"], input.as_bytes());
    assert_eq!(code(&o), code(&plain));
    assert_eq!(o.stdout, plain.stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["line"], 1);
    assert_eq!(records[0]["index"], 1);
    assert_eq!(records[0]["got"], "x_details");
    assert_eq!(records[0]["expected"], "login_success_details");
}

#[test]
fn stats_count_written_events_by_type_and_category_without_lint() {
    let g = bin()
        .args([
            "generate",
            "--count",
            "5000",
            "--seed",
            "5",
            "--invalid-rate",
            "0.05",
        ])
        .output()
        .unwrap();
    assert!(g.status.success());
    let dir = tempdir();
    let s = dir.path().join("s.json");
    let o = run_repro(&["-q", "--stats", s.to_str().unwrap()], &g.stdout);
    let stats = read_stats(&s);
    assert!(
        stats.get("warnings").is_none(),
        "no lint, no warnings section"
    );
    // An independent count over the lines teamlog wrote (the raw side of
    // each written event is the input line it came from; rejected lines
    // are not counted).
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    for ev in events(&o) {
        let tag = |v: &Value| v.get("_tag").and_then(Value::as_str).map(str::to_string);
        *by_type.entry(tag(&ev["event_type"]).unwrap()).or_default() += 1;
        *by_category
            .entry(tag(&ev["event_category"]).unwrap())
            .or_default() += 1;
    }
    let as_map =
        |v: &Value| -> BTreeMap<String, u64> { serde_json::from_value(v.clone()).unwrap() };
    assert_eq!(as_map(&stats["events_by_type"]), by_type);
    assert_eq!(as_map(&stats["events_by_category"]), by_category);
    assert_eq!(
        by_type.values().sum::<u64>(),
        stats["events"].as_u64().unwrap()
    );
    assert!(by_type.len() > 100);
}

#[test]
fn counts_by_type_equal_a_count_of_the_input() {
    // The raw input counted with serde_json, without teamlog's help.
    let input = std::fs::read_to_string(spec_examples()).unwrap();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for l in input.lines() {
        let ev: Value = serde_json::from_str(l).unwrap();
        *want
            .entry(ev["event_type"][".tag"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let doubled = format!("{input}{input}");
    let (_, _, stats) = lint_run(&["-q"], doubled.as_bytes());
    let got: BTreeMap<String, u64> =
        serde_json::from_value(stats["events_by_type"].clone()).unwrap();
    let want: BTreeMap<String, u64> = want.into_iter().map(|(k, n)| (k, 2 * n)).collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 631);
}
