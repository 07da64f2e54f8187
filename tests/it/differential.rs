//! Differential and property checks of the transform, in process:
//! over arbitrary bytes, over mutated real events, and over structured
//! arbitrary events, the output always parses as JSON, has the required
//! fields in declared order, and normalizes to itself (`invariants.rs`);
//! whatever serde_json calls malformed is rejected.

use crate::invariants::{check_input, reproducible_options};
use proptest::prelude::*;
use std::sync::OnceLock;
use teamlog_core::schema::Plan;
use teamlog_core::transform::Transformer;

fn check(input: &[u8]) -> u64 {
    static T: OnceLock<Transformer> = OnceLock::new();
    let t = T.get_or_init(|| Transformer::new(Plan::dropbox(), reproducible_options()));
    check_input(t.plan(), t, input)
}

fn fixture_lines() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for f in [
        crate::common::spec_examples(),
        crate::common::fixture("dropbox/real_events.ndjson"),
        crate::common::fixture("golden/wire_shapes.ndjson"),
    ] {
        let data = std::fs::read(f).unwrap();
        v.extend(data.split(|&b| b == b'\n').map(<[u8]>::to_vec));
    }
    v
}

#[test]
fn every_fixture_line_keeps_the_invariants() {
    for line in fixture_lines() {
        check(&line);
    }
}

/// Text a JSON string literal may hold, escapes and traps included.
fn string_body() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("2017-01-25T15:51:30Z".to_string()),
        Just("2017-01-25 15:51:30.123".to_string()),
        Just("0000-01-01T00:00:00+00:01".to_string()),
        Just("9999-12-31T23:59:59-00:01".to_string()),
        Just("logins".to_string()),
        Just("user".to_string()),
        Just("group".to_string()),
        Just("reseller".to_string()),
        Just("a@b.c".to_string()),
        Just(" 2001:db8::1 ".to_string()),
        Just("10.0.0.1".to_string()),
        Just("T".to_string()),
        Just("0".to_string()),
        Just("\\u0000\\ud83e\\udd80\\\"\\\\".to_string()),
        Just("\\ud800".to_string()),
        Just("\\udc00\\ud800".to_string()),
        Just("\u{202e}\u{1b}[31m".to_string()),
        "[a-z@. ]{0,6}",
        "\\PC{0,6}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            ".tag",
            "_tag",
            "timestamp",
            "time\\u0073tamp",
            "event_category",
            "event_type",
            "details",
            "actor",
            "context",
            "origin",
            "geo_location",
            "ip_address",
            "participants",
            "assets",
            "user",
            "admin",
            "app",
            "reseller",
            "reseller_name",
            "group",
            "email",
            "display_name",
            "team",
            "description",
            "access_method",
            "involve_non_team_member",
            "events",
            "error",
            "zz",
        ])
        .prop_map(String::from),
        "[a-z_.]{1,5}",
    ]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "null",
            "true",
            "false",
            "0",
            "1",
            "-0",
            "1.50",
            "1e999",
            "-1E-400",
            "18446744073709551616",
            "-9223372036854775809",
            "9007199254740993",
        ])
        .prop_map(String::from),
        "[0-9]{1,40}",
        string_body().prop_map(|s| format!("\"{s}\"")),
    ]
}

fn json_value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(), inner), 0..5).prop_map(|kv| {
                let members: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// Members of real shapes (inlined and nested unions, compact unions,
/// arrays, indicators), so that generated events are often valid.
fn good_member() -> impl Strategy<Value = String> {
    let s = || string_body().prop_map(|s| format!("\"{s}\""));
    prop_oneof![
        (s(), s()).prop_map(|(e, n)| format!(
            r#""actor":{{".tag":"user","user":{{".tag":"team_member","email":{e},"display_name":{n}}}}}"#
        )),
        (s(), s()).prop_map(|(n, e)| format!(
            r#""actor":{{".tag":"reseller","reseller_name":{n},"reseller_email":{e}}}"#
        )),
        (s(), s()).prop_map(|(a, b)| format!(
            r#""participants":[{{".tag":"group","group_id":{a},"display_name":{b}}},{{"_tag":"user","user":{{"email":{b}}}}}]"#
        )),
        s().prop_map(|ip| format!(r#""origin":{{"geo_location":{{"ip_address":{ip}}},"access_method":{{".tag":"web"}}}}"#)),
        s().prop_map(|c| format!(r#""context":{c}"#)),
        scalar().prop_map(|b| format!(r#""involve_non_team_member":{b}"#)),
        json_value().prop_map(|v| format!(r#""assets":[{v}]"#)),
    ]
}

/// An event that is often valid: the required fields in plausible forms plus
/// other members, in a shuffled order.
fn event() -> impl Strategy<Value = String> {
    let ts = prop_oneof![
        6 => prop::sample::select(vec![
            "2017-01-25T15:51:30Z",
            "2017-01-25T15:51:30.5+02:00",
            "2024-02-29 23:59:59.123456789",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
        ])
        .prop_map(|s| format!("\"{s}\"")),
        1 => string_body().prop_map(|s| format!("\"{s}\"")),
        1 => json_value(),
    ];
    let tag = || {
        prop_oneof![
            4 => string_body().prop_map(|s| format!("\"{s}\"")),
            4 => (string_body(), prop::bool::ANY)
                .prop_map(|(s, dot)| format!("{{\"{}tag\":\"{s}\"}}", if dot { "." } else { "_" })),
            1 => json_value(),
        ]
    };
    let member = prop_oneof![
        3 => good_member(),
        1 => (key(), json_value()).prop_map(|(k, v)| format!("\"{k}\":{v}")),
    ];
    (
        ts,
        tag(),
        tag(),
        json_value(),
        prop::collection::vec(member, 0..4),
        any::<u64>(),
    )
        .prop_map(|(ts, cat, ty, details, extra, shuffle)| {
            let mut members = vec![
                format!("\"timestamp\":{ts}"),
                format!("\"event_category\":{cat}"),
                format!("\"event_type\":{ty}"),
                format!("\"details\":{details}"),
            ];
            members.extend(extra);
            let n = members.len();
            members.rotate_left((shuffle as usize) % n);
            if shuffle & 1 << 40 != 0 {
                members.swap(0, n - 1);
            }
            format!(
                "{{{}}}",
                members.join(if shuffle & 1 << 41 != 0 { " , " } else { "," })
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&data);
    }

    #[test]
    fn mutated_real_events(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let lines = fixture_lines();
        let mut line = pick.get(&lines).clone();
        for (at, byte, op) in edits {
            let i = if line.is_empty() { 0 } else { at.index(line.len()) };
            match op {
                0 if !line.is_empty() => line[i] = byte,
                1 => line.insert(i, byte),
                _ if !line.is_empty() => { line.remove(i); }
                _ => line.push(byte),
            }
        }
        check(&line);
    }
}

#[test]
fn structured_events() {
    // Run by hand (not in `proptest!`) to count what was accepted: a generator
    // that only made rejects would prove little.
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    });
    let accepted = std::cell::Cell::new(0);
    let lines = (prop::collection::vec(event(), 1..4), any::<bool>());
    runner
        .run(&lines, |(evs, envelope)| {
            let text = if envelope {
                format!("{{\"events\":[{}],\"has_more\":false}}", evs.join(","))
            } else {
                evs.join("\n")
            };
            accepted.set(accepted.get() + check(text.as_bytes()));
            Ok(())
        })
        .unwrap();
    let accepted = accepted.get();
    assert!(
        accepted >= 50,
        "only {accepted} generated events were valid"
    );
}
