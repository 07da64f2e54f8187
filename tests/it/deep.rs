//! `--deep-indicators`: indicators found inside the events' `json` fields,
//! checked against an independent walk of the input (serde_json values) and
//! against golden files.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;

/// The email shape, written again here from the documented rule rather
/// than taken from the engine.
fn email_shaped(s: &str) -> bool {
    let parts: Vec<&str> = s.split('@').collect();
    if parts.len() != 2 || parts[0].is_empty() || parts[0].chars().any(char::is_whitespace) {
        return false;
    }
    let labels: Vec<&str> = parts[1].split('.').collect();
    labels.len() >= 2 && labels.iter().all(|l| !l.is_empty())
}

#[derive(Default, Debug, PartialEq)]
struct Found {
    ips: BTreeSet<String>,
    emails: BTreeSet<String>,
    usernames: BTreeSet<String>,
}

/// Every string value under `v` (keys excluded), and the usernames rule.
fn walk(v: &Value, f: &mut Found) {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if email_shaped(t) {
                f.emails.insert(t.to_string());
            }
            if t.parse::<std::net::IpAddr>().is_ok() {
                f.ips.insert(t.to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|e| walk(e, f)),
        Value::Object(o) => {
            let identity = ["account_id", "email", "team_member_id"]
                .iter()
                .any(|k| o.get(*k).is_some_and(|v| !v.is_null()));
            if let (true, Some(Value::String(name))) = (identity, o.get("display_name")) {
                if !name.trim().is_empty() {
                    f.usernames.insert(name.trim().to_string());
                }
            }
            o.values().for_each(|e| walk(e, f));
        }
        _ => {}
    }
}

/// The Dropbox schema's `json` fields of one raw event.
fn json_fields(ev: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    out.extend(ev.get("details"));
    out.extend(ev.pointer("/origin/access_method"));
    if let Some(Value::Array(a)) = ev.get("assets") {
        out.extend(a.iter());
    }
    out
}

fn column(ev: &Value, name: &str) -> BTreeSet<String> {
    ev.get(name)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Runs the input with and without the flag and checks, event by event, that
/// the deep columns are exactly the declared ones plus what the walk finds,
/// and that nothing else in the event changed.
fn check_against_walk(input: &[u8]) -> usize {
    let plain = run_repro(&["-q", "--threads", "2"], input);
    let deep = run_repro(&["-q", "--threads", "2", "--deep-indicators"], input);
    assert_eq!(code(&plain), 0, "{}", stderr(&plain));
    assert_eq!(code(&deep), 0, "{}", stderr(&deep));
    let raws: Vec<Value> = std::str::from_utf8(input)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (plain, deep) = (events(&plain), events(&deep));
    assert_eq!(raws.len(), deep.len());
    assert_eq!(plain.len(), deep.len());
    let mut found_any = 0;
    for (i, ((raw, p), d)) in raws.iter().zip(&plain).zip(&deep).enumerate() {
        let mut f = Found::default();
        json_fields(raw).into_iter().for_each(|v| walk(v, &mut f));
        found_any += f.ips.len() + f.emails.len() + f.usernames.len();
        for (col, extra) in [
            ("p_any_ip_addresses", &f.ips),
            ("p_any_emails", &f.emails),
            ("p_any_usernames", &f.usernames),
        ] {
            let want: BTreeSet<String> = column(p, col).union(extra).cloned().collect();
            assert_eq!(column(d, col), want, "event {}: {col}", i + 1);
        }
        // Everything but the indicator columns (and the content row id) is unchanged.
        let strip = |e: &Value| {
            let mut e = e.as_object().unwrap().clone();
            e.retain(|k, _| !k.starts_with("p_any_") && k != "p_row_id");
            e
        };
        assert_eq!(strip(p), strip(d), "event {}", i + 1);
    }
    found_any
}

#[test]
fn spec_examples_deep_columns_match_an_independent_walk() {
    let input = std::fs::read(spec_examples()).unwrap();
    // The examples hold a few dozen such values (most are placeholders).
    assert!(check_against_walk(&input) > 10);
}

#[test]
fn generated_events_deep_columns_match_an_independent_walk() {
    let g = bin()
        .args(["generate", "--count", "3000", "--seed", "11"])
        .output()
        .unwrap();
    assert!(g.status.success());
    assert!(check_against_walk(&g.stdout) > 0);
}

/// Review the diff line by line when the expected file has to change:
///   teamlog -q --row-id content --parse-time 2024-01-01T00:00:00Z --deep-indicators \
///     fixtures/golden/deep_indicators.ndjson > fixtures/golden/deep_indicators.expected.ndjson
#[test]
fn sharing_ownership_transfer_and_device_session_golden() {
    let input = fixture("golden/deep_indicators.ndjson");
    let want = std::fs::read_to_string(fixture("golden/deep_indicators.expected.ndjson")).unwrap();
    let o = run_repro(&["-q", "--deep-indicators", input.to_str().unwrap()], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), want);
    let ev = events(&o);
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // Sharing: the invitees (trimmed), deduplicated with the actor's email.
    assert_eq!(
        column(&ev[0], "p_any_emails"),
        set(&["admin@example.com", "ann@example.com", "bob@example.org"])
    );
    // Ownership transfer: the fields Panther's ownership-transfer rule reads.
    let emails = column(&ev[1], "p_any_emails");
    assert!(emails.contains("New.Owner@example.com"));
    assert!(emails.contains("old.owner@example.com"));
    // Device session: its IP, an IPv6 value, and the session user's name,
    // but not a group's display_name.
    assert_eq!(
        column(&ev[2], "p_any_ip_addresses"),
        set(&["2001:db8::7", "203.0.113.9"])
    );
    assert_eq!(column(&ev[2], "p_any_usernames"), set(&["Dee Vice"]));
}

#[test]
fn without_the_flag_json_fields_add_nothing() {
    let input = fixture("golden/deep_indicators.ndjson");
    let o = run_repro(&["-q", input.to_str().unwrap()], b"");
    let ev = events(&o);
    assert!(!column(&ev[1], "p_any_emails").contains("New.Owner@example.com"));
    assert!(!column(&ev[0], "p_any_emails").contains("ann@example.com"));
}

#[test]
fn any_schemas_json_fields_are_scanned() {
    let dir = tempdir();
    let schema = dir.path().join("s.yml");
    std::fs::write(
        &schema,
        "schema: Custom.Log\nfields:\n  - name: msg\n    type: json\n  - name: note\n    type: json\n  - name: who\n    type: string\n",
    )
    .unwrap();
    let line = br#"{"msg":{"to":["x@ex.io"],"src":{"ip":" 10.9.8.7 "},"u":{"display_name":"Kay","email":null}},"note":"fe80::1","who":"y@ex.io"}
"#;
    let o = run_repro(
        &[
            "-q",
            "--deep-indicators",
            "--schema",
            schema.to_str().unwrap(),
        ],
        line,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ev = &events(&o)[0];
    assert_eq!(
        column(ev, "p_any_emails").into_iter().collect::<Vec<_>>(),
        ["x@ex.io"]
    );
    assert_eq!(
        column(ev, "p_any_ip_addresses")
            .into_iter()
            .collect::<Vec<_>>(),
        ["10.9.8.7", "fe80::1"]
    );
    // `email` is null: Kay is not a username. `who` is not a json field.
    assert!(ev.get("p_any_usernames").is_none());
}
