//! The output form (docs/CONTRACT.md §5).

use crate::common::*;
use serde_json::json;

fn one(extra: &str) -> String {
    let o = run_repro(&[], format!("{}\n", event_with(extra)).as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn p_fields_come_last_in_order() {
    let o = run_repro(
        &["--source-id", "src-1", "--source-label", "dropbox \"prod\""],
        format!("{}\n", event_with(r#""origin":{"geo_location":{"ip_address":"10.1.2.3"}},"context":{".tag":"team_member","email":"x@y.z","display_name":"X"}"#)).as_bytes(),
    );
    let out = stdout(&o);
    let tail = &out[out.find(",\"p_log_type\"").unwrap()..];
    let row_id = &events(&o)[0]["p_row_id"];
    let want = format!(
        r#","p_log_type":"Dropbox.TeamEvent","p_row_id":{row_id},"p_event_time":"2017-01-25 15:51:30.000000000","p_parse_time":"2024-01-01 00:00:00.000000000","p_schema_version":0,"p_source_id":"src-1","p_source_label":"dropbox \"prod\"","p_any_ip_addresses":["10.1.2.3"],"p_any_emails":["x@y.z"],"p_any_usernames":["X"]}}"#
    );
    assert_eq!(tail.trim_end(), want);
    assert_eq!(row_id.as_str().unwrap().len(), 32);
}

#[test]
fn declared_fields_in_schema_order_undeclared_dropped() {
    let line = r#"{"zzz":1,"details":{"a":1},"event_type":{"description":"d",".tag":"t","extra":true},"timestamp":"2017-01-25T15:51:30Z","event_category":{".tag":"c"},"involve_non_team_member":false}"#;
    let o = run_repro(&[], format!("{line}\n").as_bytes());
    let out = stdout(&o);
    assert!(out.starts_with(r#"{"timestamp":"2017-01-25 15:51:30.000000000","event_category":{"_tag":"c"},"event_type":{"_tag":"t","description":"d"},"details":{"a":1},"involve_non_team_member":false,"p_log_type""#), "{out}");
}

#[test]
fn nulls_and_empty_arrays_are_omitted_empty_string_and_object_kept() {
    let out = one(
        r#""actor":null,"participants":[],"assets":[null],"context":{},"origin":{"geo_location":{"city":"","ip_address":null}}"#,
    );
    let e: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(e.get("actor").is_none());
    assert!(e.get("participants").is_none());
    assert!(e.get("assets").is_none());
    assert_eq!(e["context"], json!({}));
    assert_eq!(e["origin"], json!({"geo_location": {"city": ""}}));
}

#[test]
fn numbers_and_booleans_in_string_fields_keep_their_text() {
    let e: serde_json::Value = serde_json::from_str(&one(r#""context":{".tag":1.50,"display_name":true,"account_id":-0,"email":12345678901234567890123}"#)).unwrap();
    assert_eq!(
        e["context"],
        json!({"_tag": "1.50", "account_id": "-0", "display_name": "true", "email": "12345678901234567890123"})
    );
}

#[test]
fn boolean_spellings() {
    for (given, want) in [
        ("true", true),
        ("false", false),
        ("1", true),
        ("0", false),
        ("\"1\"", true),
        ("\"t\"", true),
        ("\"T\"", true),
        ("\"TRUE\"", true),
        ("\"true\"", true),
        ("\"True\"", true),
        ("\"0\"", false),
        ("\"f\"", false),
        ("\"F\"", false),
        ("\"FALSE\"", false),
        ("\"false\"", false),
        ("\"False\"", false),
    ] {
        let e: serde_json::Value =
            serde_json::from_str(&one(&format!(r#""involve_non_team_member":{given}"#))).unwrap();
        assert_eq!(e["involve_non_team_member"], want, "{given}");
    }
}

#[test]
fn timestamps_become_utc_with_nine_digits() {
    for (given, want) in [
        ("2017-01-25T15:51:30Z", "2017-01-25 15:51:30.000000000"),
        ("2017-01-25T15:51:30.1Z", "2017-01-25 15:51:30.100000000"),
        (
            "2017-01-25T15:51:30.123456789Z",
            "2017-01-25 15:51:30.123456789",
        ),
        ("2016-12-31T23:30:00-01:00", "2017-01-01 00:30:00.000000000"),
        ("2017-01-01T00:15:00+05:30", "2016-12-31 18:45:00.000000000"),
        ("2016-02-29T12:00:00Z", "2016-02-29 12:00:00.000000000"),
        ("2017-01-25 15:51:30", "2017-01-25 15:51:30.000000000"),
        ("2017-01-25 15:51:30.5", "2017-01-25 15:51:30.500000000"),
    ] {
        let line = format!(
            r#"{{"timestamp":"{given}","event_category":"c","event_type":"t","details":{{}}}}"#
        );
        let o = run_repro(&[], format!("{line}\n").as_bytes());
        let e = &events(&o)[0];
        assert_eq!(e["timestamp"], want, "{given}");
        assert_eq!(e["p_event_time"], want, "{given}");
    }
}

#[test]
fn strings_are_minimally_escaped_and_non_ascii_passes_through() {
    let out = one(
        r#""context":{".tag":"team","display_name":"\u00e9\u65e5 \ud83e\udd80 \/ \"q\" \u0001 \u202e"}"#,
    );
    assert!(
        out.contains(r#""display_name":"é日 🦀 / \"q\" \u0001 "#),
        "{out}"
    );
    assert!(
        out.contains("\u{202e}"),
        "valid JSON keeps U+202E; only stderr escapes it"
    );
}

#[test]
fn sequential_row_ids_follow_panthers_layout() {
    let e = event_with("");
    let o = run(
        &["--parse-time", "2020-01-01T00:00:01Z"],
        format!("{e}\n{e}\n{e}\n").as_bytes(),
    );
    let ids: Vec<String> = events(&o)
        .iter()
        .map(|x| x["p_row_id"].as_str().unwrap().to_string())
        .collect();
    // 6 node bytes, uvarint(1_000_000 us) = c0843d, uvarint(ordinal).
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(&id[12..], format!("c0843d{:02x}", i + 1), "{id}");
        assert_eq!(&id[..12], &ids[0][..12], "same node for the run");
    }
}

#[test]
fn content_row_ids_are_shared_by_duplicates_only() {
    let a = event_with("");
    let b = event_with(r#""involve_non_team_member":true"#);
    let o = run_repro(&[], format!("{a}\n{b}\n{a}\n").as_bytes());
    let ids: Vec<_> = events(&o).iter().map(|x| x["p_row_id"].clone()).collect();
    assert_eq!(ids[0], ids[2]);
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn normalizing_panther_output_again_changes_nothing() {
    let path = spec_examples();
    let first = run_repro(&["-q", path.to_str().unwrap()], b"");
    let second = run_repro(&["-q"], &first.stdout);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn schema_command_prints_the_embedded_schema() {
    let o = run(&["schema"], b"");
    assert_eq!(code(&o), 0);
    let embedded = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/teamlog-core/src/dropbox_teamevent.yml"
    ))
    .unwrap();
    assert_eq!(stdout(&o), embedded);
}

#[test]
fn custom_schema_drives_validation_and_output() {
    let dir = tempdir();
    let schema = dir.path().join("s.yml");
    std::fs::write(
        &schema,
        "schema: Custom.Log\nversion: 3\nfields:\n  - name: time\n    required: true\n    type: timestamp\n    timeFormat: unix_ms\n    isEventTime: true\n  - name: host.ip\n    type: string\n    indicators: [ip]\n  - name: n\n    type: bigint\n  - name: ok\n    type: boolean\n",
    )
    .unwrap();
    let o = run_repro(
        &["--schema", schema.to_str().unwrap()],
        b"{\"ok\":\"T\",\"n\":\"42\",\"host.ip\":\"::1\",\"time\":1485359490123,\"x\":1}\n{\"n\":1}\n",
    );
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.starts_with(r#"{"time":"2017-01-25 15:51:30.123000000","host_ip":"::1","n":42,"ok":true,"p_log_type":"Custom.Log","#), "{out}");
    assert!(out.contains(r#""p_event_time":"2017-01-25 15:51:30.123000000""#));
    assert!(
        out.contains(r#""p_schema_version":3,"p_any_ip_addresses":["::1"]}"#),
        "{out}"
    );
    assert!(stderr(&o).contains("missing required field time"));
}

#[test]
fn malformed_schema_is_fatal_and_names_the_line() {
    let dir = tempdir();
    let schema = dir.path().join("bad.yml");
    std::fs::write(
        &schema,
        "schema: X\nfields:\n  - name: a\n    type: strnig\n",
    )
    .unwrap();
    let o = run(&["--schema", schema.to_str().unwrap()], b"");
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("bad.yml") && err.contains("line 4") && err.contains("strnig"),
        "{err}"
    );
}

/// An event with none of the declared fields once came out as `{,"p_log_type":…}`.
#[test]
fn event_without_declared_fields_is_valid_json() {
    let dir = tempdir();
    let schema = dir.path().join("s.yml");
    std::fs::write(
        &schema,
        "schema: Custom.Log\nversion: 1\nfields:\n  - name: a\n    type: string\n",
    )
    .unwrap();
    let o = run_repro(
        &["--schema", schema.to_str().unwrap()],
        b"{}\n{\"b\":1}\n{\"a\":null}\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let evs = events(&o);
    assert_eq!(evs.len(), 3);
    for e in &evs {
        assert_eq!(e["p_log_type"], "Custom.Log");
        assert!(e.get("a").is_none());
    }
    assert!(stdout(&o).starts_with("{\"p_log_type\":"), "{}", stdout(&o));
}
