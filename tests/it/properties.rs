//! docs/CONTRACT.md §8 properties over generated input: accounting, order, determinism
//! across thread counts, idempotence.

use crate::common::*;
use proptest::prelude::*;

/// One generated input line, tagged with a sequence number `n` where it is an event.
fn line(kind: u8, n: usize, text: &str) -> String {
    let name = serde_json::to_string(&format!("{n}:{text}")).unwrap();
    let ev = |extra: &str| {
        event_with(&format!(
            r#""context":{{".tag":"team_member","display_name":{name},"email":"u{n}@x.io"}}{extra}"#
        ))
    };
    match kind % 10 {
        0 => String::new(),
        1 => "   \t".to_string(),
        2 => format!("not json {text}"),
        3 => format!(r#"{{"timestamp":"2017-13-01T00:00:00Z","x":{name}}}"#),
        4 => format!(r#"{{"events":[{}],"has_more":false}}"#, ev("")),
        5 => ev(r#","origin":{"geo_location":{"ip_address":"2001:db8::1"}}"#),
        6 => ev(r#","participants":[{".tag":"group","group_id":"g","display_name":"G"}]"#),
        7 => ev(r#","involve_non_team_member":"T""#).replace(
            r#""2017-01-25T15:51:30Z""#,
            r#""2017-01-25T15:51:30.5+02:00""#,
        ),
        _ => ev(""),
    }
}

fn corpus(spec: &[(u8, String)]) -> Vec<u8> {
    let mut s = String::new();
    for (n, (kind, text)) in spec.iter().enumerate() {
        s.push_str(&line(*kind, n, text));
        s.push_str(if n % 3 == 0 { "\r\n" } else { "\n" });
    }
    s.into_bytes()
}

fn stats_of(args: &[&str], input: &[u8]) -> (std::process::Output, serde_json::Value) {
    let dir = tempdir();
    let p = dir.path().join("s.json");
    let mut a = vec!["-q", "--stats", p.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = run_repro(&a, input);
    let s = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    (o, s)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn accounting_order_determinism_idempotence(
        spec in proptest::collection::vec((any::<u8>(), "\\PC{0,12}"), 1..120)
    ) {
        let input = corpus(&spec);
        let (one, s) = stats_of(&["--threads", "1", "--chunk-size", "4K"], &input);

        // Accounting: every line is written, rejected or blank (envelopes per element).
        let n = |k: &str| s[k].as_u64().unwrap();
        prop_assert_eq!(n("lines"), spec.len() as u64);
        prop_assert_eq!(
            n("lines") - n("envelopes") + n("envelope_events"),
            n("events") + n("rejected") + n("blank")
        );
        prop_assert_eq!(events(&one).len() as u64, n("events"));

        // Order: sequence numbers come out increasing.
        let seq: Vec<usize> = events(&one)
            .iter()
            .map(|e| e["context"]["display_name"].as_str().unwrap().split(':').next().unwrap().parse().unwrap())
            .collect();
        prop_assert!(seq.windows(2).all(|w| w[0] < w[1]), "{:?}", seq);

        // Determinism: same bytes for any thread count.
        let (three, _) = stats_of(&["--threads", "3", "--chunk-size", "4K"], &input);
        prop_assert_eq!(&one.stdout, &three.stdout);

        // Idempotence: our output normalizes to itself.
        let again = run_repro(&["-q"], &one.stdout);
        prop_assert_eq!(code(&again), 0);
        prop_assert_eq!(&again.stdout, &one.stdout);
    }
}
