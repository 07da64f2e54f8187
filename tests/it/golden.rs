//! The reference data: every spec example accepted, the public samples handled
//! as Panther handles them, and the output form pinned byte for byte.

use crate::common::*;
use std::collections::BTreeSet;

#[test]
fn every_spec_example_is_accepted() {
    let path = spec_examples();
    let o = run_repro(&["-q", path.to_str().unwrap()], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ev = events(&o);
    assert_eq!(ev.len(), 631);
    for e in &ev {
        assert_eq!(e["p_log_type"], "Dropbox.TeamEvent");
        for k in ["timestamp", "event_category", "event_type", "details"] {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
    }
}

/// Lines of real_events.ndjson that lack a required field, with the field.
const REAL_REJECTS: [(u64, &str); 7] = [
    (12, "details"),
    (18, "timestamp"),
    (19, "timestamp"),
    (20, "timestamp"),
    (21, "timestamp"),
    (22, "timestamp"),
    (23, "timestamp"),
];

/// Line 28 is line 26 hand-edited upstream: its participant's email was changed
/// to david.davidson@example.com but its p_any_emails still lists the original
/// david.davidson@david.co, so Panther's own fields disagree with the event.
const HAND_EDITED_SAMPLE: usize = 28;

#[test]
fn public_samples_accepted_or_rejected_by_required_fields() {
    let path = fixture("dropbox/real_events.ndjson");
    let dir = tempdir();
    let rej = dir.path().join("r.ndjson");
    let o = run_repro(
        &["--rejects", rej.to_str().unwrap(), path.to_str().unwrap()],
        b"",
    );
    assert_eq!(code(&o), 1);
    let r = read_rejects(&rej);
    let got: Vec<(u64, String)> = r
        .iter()
        .map(|x| {
            (
                x["line"].as_u64().unwrap(),
                x["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = REAL_REJECTS
        .iter()
        .map(|(l, f)| (*l, format!("missing required field {f}")))
        .collect();
    assert_eq!(got, want);
    assert_eq!(events(&o).len(), 28 - REAL_REJECTS.len());
}

#[test]
fn indicators_match_what_panther_wrote() {
    let path = fixture("dropbox/real_events.ndjson");
    let text = std::fs::read_to_string(&path).unwrap();
    let inputs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let o = run_repro(&["-q", path.to_str().unwrap()], b"");
    let outs = events(&o);
    let rejected: BTreeSet<u64> = REAL_REJECTS.iter().map(|r| r.0).collect();
    let mut compared = 0;
    let mut out_iter = outs.iter();
    for (i, input) in inputs.iter().enumerate() {
        let line = i + 1;
        if rejected.contains(&(line as u64)) {
            continue;
        }
        let ours = out_iter.next().unwrap();
        if input.get("p_log_type").is_none() || line == HAND_EDITED_SAMPLE {
            continue;
        }
        for k in ["p_any_ip_addresses", "p_any_emails", "p_any_usernames"] {
            let theirs: BTreeSet<&str> = input[k]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default();
            let mine: BTreeSet<&str> = ours[k]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default();
            assert_eq!(mine, theirs, "line {line} {k}");
        }
        compared += 1;
    }
    assert_eq!(
        compared, 6,
        "all Panther-processed samples but the hand-edited one"
    );

    // And the hand-edited one disagrees exactly where the edit was.
    let ours = &outs[HAND_EDITED_SAMPLE - 1 - REAL_REJECTS.len()];
    assert_eq!(
        ours["p_any_emails"],
        serde_json::json!(["alice.bob@company.com", "david.davidson@example.com"])
    );
    assert_eq!(
        inputs[HAND_EDITED_SAMPLE - 1]["p_any_emails"],
        serde_json::json!(["david.davidson@david.co", "alice.bob@company.com"])
    );
}

/// One event per actor, context, participant, access-method and asset shape of
/// wire_shapes.json, compared byte for byte. To update after a deliberate
/// change: run the command below and review the diff line by line.
///   teamlog -q --row-id content --parse-time 2024-01-01T00:00:00Z \
///     fixtures/golden/wire_shapes.ndjson > fixtures/golden/wire_shapes.expected.ndjson
#[test]
fn wire_shapes_golden() {
    let input = fixture("golden/wire_shapes.ndjson");
    let want = std::fs::read_to_string(fixture("golden/wire_shapes.expected.ndjson")).unwrap();
    let o = run_repro(&["-q", input.to_str().unwrap()], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let got = stdout(&o);
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "golden line {}", i + 1);
    }
    assert_eq!(got.lines().count(), 29);
    assert_eq!(got, want);
}

#[test]
fn inlined_members_are_read_like_nested_ones() {
    let nested = event_with(
        r#""actor":{".tag":"reseller","reseller":{"reseller_name":"R","reseller_email":"r@x.io"}},"participants":[{"group":{"group_id":"g:1","display_name":"G"}}]"#,
    );
    let inlined = event_with(
        r#""actor":{".tag":"reseller","reseller_name":"R","reseller_email":"r@x.io"},"participants":[{".tag":"group","group_id":"g:1","display_name":"G"}]"#,
    );
    let a = run_repro(&[], format!("{nested}\n").as_bytes());
    let b = run_repro(&[], format!("{inlined}\n").as_bytes());
    assert_eq!(code(&b), 0, "{}", stderr(&b));
    assert_eq!(stdout(&a), stdout(&b));
    let e = &events(&b)[0];
    assert_eq!(e["actor"]["reseller"]["reseller_email"], "r@x.io");
    assert_eq!(e["participants"][0]["group"]["display_name"], "G");
    assert_eq!(e["p_any_emails"], serde_json::json!(["r@x.io"]));
    assert_eq!(e["p_any_usernames"], serde_json::json!(["R"]));
}

#[test]
fn inlined_member_without_fields_makes_nothing() {
    let o = run_repro(
        &[],
        format!("{}\n", event_with(r#""actor":{".tag":"reseller"}"#)).as_bytes(),
    );
    assert_eq!(
        events(&o)[0]["actor"],
        serde_json::json!({"_tag": "reseller"})
    );
}
