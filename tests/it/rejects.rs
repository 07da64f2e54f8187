//! Rejects (docs/CONTRACT.md §4, §6): one test per reason, the record format, stderr.

use crate::common::*;

const BASE_TS: &str = r#""event_category":"c","event_type":"t","details":{}"#;

fn with_ts(ts: &str) -> String {
    format!(r#"{{"timestamp":{ts},{BASE_TS}}}"#)
}

#[test]
fn missing_required_fields_are_named() {
    for (line, field) in [
        (
            r#"{"event_category":"c","event_type":"t","details":{}}"#,
            "timestamp",
        ),
        (
            r#"{"timestamp":"2017-01-25T15:51:30Z","event_type":"t","details":{}}"#,
            "event_category",
        ),
        (
            r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":"c","details":{}}"#,
            "event_type",
        ),
        (
            r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":"c","event_type":"t"}"#,
            "details",
        ),
        (
            r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":"c","event_type":"t","details":null}"#,
            "details",
        ),
        (
            r#"{"timestamp":null,"event_category":"c","event_type":"t","details":{}}"#,
            "timestamp",
        ),
        (
            r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":{},"event_type":"t","details":{}}"#,
            "event_category._tag",
        ),
        (
            r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":"c","event_type":{"description":"d"},"details":{}}"#,
            "event_type._tag",
        ),
    ] {
        assert_eq!(
            reject_reason(line),
            format!("missing required field {field}"),
            "{line}"
        );
    }
}

#[test]
fn type_mismatches_name_the_path() {
    for (extra, want) in [
        (
            r#""actor":{".tag":"user","user":{"email":{"a":1}}}"#,
            "actor.user.email: expected string, got object",
        ),
        (
            r#""actor":{".tag":"user","user":{"email":["a"]}}"#,
            "actor.user.email: expected string, got array",
        ),
        (r#""actor":"user""#, "actor: expected object, got string"),
        (r#""actor":7"#, "actor: expected object, got 7"),
        (
            r#""participants":{"user":{}}"#,
            "participants: expected array, got object",
        ),
        (
            r#""participants":[{"user":{}},{"user":{"email":{}}}]"#,
            "participants[1].user.email: expected string, got object",
        ),
        (
            r#""involve_non_team_member":"yes""#,
            "involve_non_team_member: expected boolean, got string",
        ),
        (
            r#""involve_non_team_member":2"#,
            "involve_non_team_member: expected boolean, got 2",
        ),
    ] {
        assert_eq!(reject_reason(&event_with(extra)), want, "{extra}");
    }
    assert_eq!(
        reject_reason(
            r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":5,"event_type":"t","details":{}}"#
        ),
        "event_category: expected object, got 5"
    );
}

#[test]
fn every_rejected_timestamp_form() {
    for bad in [
        r#""2017-13-01""#,
        r#""2017-13-01T00:00:00Z""#,
        r#"" 2017-01-25T15:51:30Z""#,
        r#""2017-01-25T15:51:30Z ""#,
        r#""2017-01-25t15:51:30Z""#,
        r#""2017-01-25T15:51:30z""#,
        r#""2017-01-25T15:51:30+0000""#,
        r#""2017-01-25T24:00:00Z""#,
        r#""2017-01-25T23:59:60Z""#,
        r#""2017-02-29T00:00:00Z""#,
        r#""2017-04-31T00:00:00Z""#,
        r#""2017-01-25T15:51:30.1234567890Z""#,
        r#""""#,
        "1485359490",
        "{}",
    ] {
        let reason = reject_reason(&with_ts(bad));
        assert!(
            reason.starts_with("timestamp: expected RFC 3339 like 2017-01-25T15:51:30Z, got "),
            "{bad}: {reason}"
        );
    }
    assert_eq!(
        reject_reason(&with_ts(r#""2017-13-01""#)),
        r#"timestamp: expected RFC 3339 like 2017-01-25T15:51:30Z, got "2017-13-01""#
    );
}

#[test]
fn duplicate_declared_keys_at_every_level() {
    let ts = r#""timestamp":"2017-01-25T15:51:30Z""#;
    for (line, key) in [
        (format!(r#"{{{ts},{ts},{BASE_TS}}}"#), "timestamp"),
        (
            format!(r#"{{{ts},"time\u0073tamp":"2018-01-01T00:00:00Z",{BASE_TS}}}"#),
            "timestamp",
        ),
        (
            event_with(r#""actor":{".tag":"user","_tag":"admin"}"#),
            "actor._tag",
        ),
        (
            event_with(r#""actor":{".tag":"user","user":{"email":"a@b","email":"c@d"}}"#),
            "actor.user.email",
        ),
        (
            event_with(r#""participants":[{"user":{"email":"a@b","email":"c@d"}}]"#),
            "participants[0].user.email",
        ),
        (
            event_with(
                r#""origin":{"geo_location":{"ip_address":"1.1.1.1","ip_address":"2.2.2.2"}}"#,
            ),
            "origin.geo_location.ip_address",
        ),
        (event_with(r#""actor":null,"actor":{}"#), "actor"),
        (
            event_with(r#""actor":{".tag":"reseller","reseller_name":"a","reseller_name":"b"}"#),
            "actor.reseller.reseller_name",
        ),
    ] {
        assert_eq!(
            reject_reason(&line),
            format!("duplicate key {key}"),
            "{line}"
        );
    }
    // Undeclared keys may repeat: they are dropped anyway.
    let o = run_repro(
        &[],
        format!("{}\n", event_with(r#""zz":1,"zz":2"#)).as_bytes(),
    );
    assert_eq!(code(&o), 0);
}

#[test]
fn invalid_json_names_the_byte() {
    assert_eq!(
        reject_reason(r#"{"timestamp": }"#),
        "invalid JSON at byte 14: expected value"
    );
    assert_eq!(
        reject_reason("not json"),
        "invalid JSON at byte 1: expected ident"
    );
    assert!(reject_reason(&format!("{} trailing", event_with(""))).contains("trailing characters"));
    assert_eq!(
        reject_reason("[1,2]"),
        "expected a JSON object (an event or an API response), got array"
    );
    assert_eq!(
        reject_reason("\"s\""),
        "expected a JSON object (an event or an API response), got string"
    );
}

#[test]
fn invalid_utf8_is_reported_and_kept_as_base64() {
    let mut line = b"{\"a\xff\":1}".to_vec();
    line.push(b'\n');
    let (o, r) = run_with_rejects(&[], &line);
    assert_eq!(code(&o), 1);
    assert_eq!(r[0]["error"], "invalid UTF-8 at byte 3");
    assert!(r[0].get("raw").is_none());
    assert_eq!(r[0]["raw_base64"], "eyJh/yI6MX0=");
}

#[test]
fn reject_record_has_source_line_error_and_exact_raw() {
    let dir = tempdir();
    let f = dir.path().join("in.ndjson");
    let bad = r#"{"timestamp":"x",  "z": "\u00e9"}"#;
    std::fs::write(&f, format!("{}\n\n{bad}\r\n", event_with(""))).unwrap();
    let rej = dir.path().join("r.ndjson");
    let o = run(
        &["--rejects", rej.to_str().unwrap(), f.to_str().unwrap()],
        b"",
    );
    assert_eq!(code(&o), 1);
    assert_eq!(
        stderr(&o).lines().count(),
        1,
        "only the summary: {}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(&rej).unwrap();
    let r: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(
        r,
        serde_json::json!({"source": f.to_str().unwrap(), "line": 3, "error": "timestamp: expected RFC 3339 like 2017-01-25T15:51:30Z, got \"x\"", "raw": bad})
    );
    assert!(
        text.starts_with(r#"{"source":"#),
        "keys in documented order"
    );
}

#[test]
fn stderr_shows_first_rejects_escaped_then_a_count() {
    let evil = "{\"timestamp\":\"\\u001b[31mred\u{202e}\",\"event_category\":\"c\",\"event_type\":\"t\",\"details\":{}}";
    let input: String = (0..15).map(|_| format!("{evil}\n")).collect();
    let o = run(&[], input.as_bytes());
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "raw control bytes on stderr: {err:?}"
    );
    assert!(
        err.contains("teamlog: -:1: timestamp: expected RFC 3339"),
        "{err}"
    );
    assert_eq!(err.matches("teamlog: -:").count(), 10);
    assert!(err.contains("5 more rejected lines not shown"), "{err}");
}

#[test]
fn quiet_silences_stderr_but_not_the_exit_status() {
    let o = run(&["-q"], b"garbage\n");
    assert_eq!(code(&o), 1);
    assert_eq!(stderr(&o), "");
}

#[test]
fn long_lines_are_rejected_truncated_and_the_run_goes_on() {
    let e = event_with("");
    let long = format!(r#"{{"pad":"{}"}}"#, "x".repeat(300_000));
    let input = format!("{e}\n{long}\n{e}\n{long}");
    let (o, r) = run_with_rejects(
        &["--max-line-bytes", "100K", "--chunk-size", "64K"],
        input.as_bytes(),
    );
    assert_eq!(code(&o), 1);
    assert_eq!(events(&o).len(), 2);
    assert_eq!(r.len(), 2);
    for (rec, line) in r.iter().zip([2, 4]) {
        assert_eq!(rec["line"], line);
        assert_eq!(rec["error"], "line longer than 102400 bytes");
        assert_eq!(rec["raw_truncated"], true);
        assert_eq!(rec["raw"].as_str().unwrap().len(), 4096);
    }
}

#[test]
fn max_line_bytes_edges() {
    let e = event_with("");
    let n = e.len();
    for (limit, want_ok) in [(n, true), (n - 1, false)] {
        for chunk in ["4K", "1M"] {
            let lim = limit.to_string();
            let o = run_repro(
                &["-q", "--max-line-bytes", &lim, "--chunk-size", chunk],
                format!("{e}\r\n{e}").as_bytes(),
            );
            assert_eq!(code(&o) == 0, want_ok, "limit {limit} chunk {chunk}");
        }
    }
}

#[test]
fn stats_file_counts_rejects_by_reason() {
    let dir = tempdir();
    let stats = dir.path().join("s.json");
    let input = format!(
        "{}\nbad\nworse\n{}\n\n",
        event_with(""),
        with_ts(r#""2017-13-01""#)
    );
    let o = run(
        &["-q", "--stats", stats.to_str().unwrap()],
        input.as_bytes(),
    );
    assert_eq!(code(&o), 1);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["lines"], 5);
    assert_eq!(s["events"], 1);
    assert_eq!(s["rejected"], 3);
    assert_eq!(s["blank"], 1);
    assert_eq!(
        s["rejected_by_reason"],
        serde_json::json!({"invalid JSON": 2, "timestamp: invalid timestamp": 1})
    );
    assert_eq!(s["sources"][0]["source"], "-");
    assert!(s["mb_per_s"].is_number() && s["events_per_s"].is_number());
}
