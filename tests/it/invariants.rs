//! The transform's output invariants (docs/CONTRACT.md §5, §6, §8), checked in
//! process on one input: every output line is a JSON object with the declared
//! fields in schema order and the required ones present, then the `p_*`
//! fields in their order; every reject record is JSON; the counts add up;
//! what serde_json calls malformed is rejected; and normalizing the output
//! again gives the same bytes.
//!
//! Shared by the property tests (`tests/it/differential.rs`) and, through
//! `#[path]`, the fuzz target `fuzz/fuzz_targets/transform_line.rs`, so it
//! uses only `teamlog`, `serde` and `serde_json`.

use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use std::fmt;
use teamlog_core::schema::Plan;
use teamlog_core::transform::{ChunkOutput, RowIdMode, Scratch, TransformOptions, Transformer};

/// Options that make the output a pure function of the input: content row
/// ids and a pinned parse time, as `--row-id content --parse-time`.
pub fn reproducible_options() -> TransformOptions {
    TransformOptions {
        row_id: RowIdMode::Content,
        parse_time: teamlog_core::timestamp::parse_rfc3339("2024-01-01T00:00:00Z")
            .expect("valid constant"),
        source_id: Some("src-1".into()),
        source_label: Some("label \"q\"".into()),
        source_label_from_path: false,
        max_line_bytes: 1 << 20,
        keep_reject_records: true,
        reject_notes: 4,
        nanos_range: false,
        deep_indicators: false,
        lint: false,
    }
}

/// The `p_*` fields a line must end with, in order (indicators optional).
const P_FIELDS: [&str; 7] = [
    "p_log_type",
    "p_row_id",
    "p_event_time",
    "p_parse_time",
    "p_schema_version",
    "p_source_id",
    "p_source_label",
];

/// The top-level keys of a JSON object, in order (`None` if not an object).
fn top_keys(line: &str) -> Option<Vec<String>> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Vec<String>, A::Error> {
            let mut v = Vec::new();
            while let Some(k) = m.next_key::<String>()? {
                m.next_value::<IgnoredAny>()?;
                v.push(k);
            }
            Ok(v)
        }
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let keys = (&mut de).deserialize_map(Keys).ok()?;
    de.end().ok()?;
    Some(keys)
}

/// Whether `s` is one JSON value by the grammar alone (`1e999` is JSON, even
/// though it overflows an f64: `json` fields keep such numbers verbatim).
fn json_grammar(s: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<&serde_json::value::RawValue>(s).map(|_| ())
}

/// Checks the key order of one output line against the schema; `Err` says why.
fn check_event_line(plan: &Plan, line: &str) -> Result<(), String> {
    json_grammar(line).map_err(|e| format!("output is not JSON ({e})"))?;
    let keys = top_keys(line).ok_or("output is not an object")?;
    let columns: Vec<&str> = plan.root.fields.iter().map(|f| f.column.as_str()).collect();
    let first_p = keys
        .iter()
        .position(|k| k.starts_with("p_"))
        .ok_or("no p_ fields")?;
    // Declared fields: a subsequence of the schema's columns, each at most once.
    let mut at = 0;
    for k in &keys[..first_p] {
        match columns[at..].iter().position(|c| c == k) {
            Some(i) => at += i + 1,
            None => return Err(format!("field {k:?} undeclared, repeated or out of order")),
        }
    }
    for f in plan.root.fields.iter().filter(|f| f.required) {
        if !keys[..first_p].contains(&f.column) {
            return Err(format!("required field {} missing", f.column));
        }
    }
    let p = &keys[first_p..];
    if p.len() < P_FIELDS.len() || p[..P_FIELDS.len()] != P_FIELDS {
        return Err(format!("p_ fields {p:?}"));
    }
    let any = &p[P_FIELDS.len()..];
    for (i, k) in any.iter().enumerate() {
        if !k.starts_with("p_any_") || any[..i].contains(k) {
            return Err(format!("indicator fields {p:?}"));
        }
    }
    Ok(())
}

/// Runs `input`'s lines (split as the framing does) through `t` and panics,
/// naming the line, if any invariant fails; returns the events written.
pub fn check_input(plan: &Plan, t: &Transformer, input: &[u8]) -> u64 {
    let mut sc = Scratch::default();
    let mut out = ChunkOutput::default();
    let mut written = 0;
    for (n, line) in (1..).zip(teamlog_core::framing::lines(input)) {
        out.clear();
        t.process_line(line, "-", n, &mut sc, &mut out);
        let c = out.counts;
        written += c.events;
        assert_eq!(c.lines, 1);
        assert_eq!(
            1 - c.envelopes + c.envelope_events,
            c.events + c.rejected + c.blank,
            "accounting for {:?}",
            String::from_utf8_lossy(line)
        );
        // A line serde_json calls malformed is never accepted.
        let well_formed = std::str::from_utf8(line)
            .ok()
            .is_some_and(|s| json_grammar(s).is_ok());
        if !well_formed && c.blank == 0 {
            assert_eq!(
                c.rejected,
                1,
                "malformed line accepted: {:?}",
                String::from_utf8_lossy(line)
            );
        }
        let text = std::str::from_utf8(&out.events).expect("output is UTF-8");
        assert!(text.is_empty() || text.ends_with('\n'));
        assert_eq!(text.lines().count() as u64, c.events);
        for ev in text.lines() {
            if let Err(why) = check_event_line(plan, ev) {
                panic!(
                    "{why}\n input: {:?}\noutput: {ev}",
                    String::from_utf8_lossy(line)
                );
            }
            // Idempotence: the output normalizes to itself, byte for byte.
            let mut again = ChunkOutput::default();
            t.process_line(ev.as_bytes(), "-", 1, &mut sc, &mut again);
            assert_eq!(
                (again.counts.events, again.counts.rejected),
                (1, 0),
                "own output rejected ({:?})\n input: {:?}\noutput: {ev}",
                again.notes.first().map(|n| &n.reason),
                String::from_utf8_lossy(line)
            );
            assert_eq!(
                std::str::from_utf8(&again.events).unwrap(),
                format!("{ev}\n"),
                "re-normalizing changed the event\n input: {:?}",
                String::from_utf8_lossy(line)
            );
        }
        let rejects = std::str::from_utf8(&out.rejects).expect("reject records are UTF-8");
        assert_eq!(rejects.lines().count() as u64, c.rejected);
        for r in rejects.lines() {
            let v: serde_json::Value = serde_json::from_str(r).expect("reject record is JSON");
            assert!(v["error"].is_string() && v["line"] == n, "{r}");
            assert!(
                v.get("raw").is_some() != v.get("raw_base64").is_some(),
                "{r}"
            );
        }
    }
    written
}
