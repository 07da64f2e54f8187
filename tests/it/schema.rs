//! Custom schemas on the real binary: strict keys, every indicator kind and
//! its column order, `validate`, `isEmbeddedJSON`, `timeFormats`, indicators
//! on arrays; and the envelope and tag rules that every schema shares.

use crate::common::*;
use std::process::Output;

/// Runs with the schema `yaml` (written to a temporary file) on `input`.
fn with_schema(yaml: &str, input: &str) -> Output {
    let dir = tempdir();
    let path = dir.path().join("s.yml");
    std::fs::write(&path, yaml).unwrap();
    run_repro(&["--schema", path.to_str().unwrap()], input.as_bytes())
}

/// The schema error teamlog stops with (exit 2) for `yaml`.
fn schema_error(yaml: &str) -> String {
    let o = with_schema(yaml, "");
    assert_eq!(code(&o), 2, "expected a schema error: {}", stderr(&o));
    assert!(o.stdout.is_empty());
    stderr(&o)
}

const HEAD: &str = "schema: Custom.Log\nversion: 1\nfields:\n";

#[test]
fn unknown_schema_key_names_the_line_and_the_nearest_key() {
    let err = schema_error(&format!(
        "{HEAD}  - name: ip\n    type: string\n    indicator: [ip]\n"
    ));
    assert!(err.contains("s.yml: line 6"), "{err}");
    assert!(
        err.contains("unknown key `indicator`; did you mean `indicators`?"),
        "{err}"
    );

    let err = schema_error("schema: X\nverison: 1\nfields:\n  - name: a\n    type: string\n");
    assert!(
        err.contains("line 2") && err.contains("did you mean `version`?"),
        "{err}"
    );

    let err = schema_error(&format!(
        "{HEAD}  - name: t\n    type: timestamp\n    timeformat: unix\n"
    ));
    assert!(err.contains("did you mean `timeFormat`?"), "{err}");

    // Far from every key: the keys allowed there are listed instead.
    let err = schema_error(&format!(
        "{HEAD}  - name: a\n    type: string\n    zzzzzzzzzzzz: 1\n"
    ));
    assert!(err.contains("unknown key `zzzzzzzzzzzz`"), "{err}");
    assert!(
        err.contains("isEmbeddedJSON") && err.contains("validate"),
        "{err}"
    );

    // Panther keys teamlog does not implement say so.
    let err = schema_error(&format!(
        "{HEAD}  - name: a\n    type: string\n    copy:\n      from: b\n"
    ));
    assert!(
        err.contains("`copy` is a Panther schema key that teamlog does not support"),
        "{err}"
    );

    let err = schema_error(
        "schema: X\nparser:\n  csv:\n    delimiter: ','\nfields:\n  - name: a\n    type: string\n",
    );
    assert!(err.contains("parser `csv` is not supported"), "{err}");
}

#[test]
fn panther_schema_keys_that_carry_no_behaviour_are_accepted() {
    let o = with_schema(
        "schema: Custom.Log\ndescription: d\nreferenceURL: https://example.com\nfieldDiscoveryEnabled: false\nparser:\n  native:\n    name: Custom.Log\nversion: 0\nfields:\n  - name: a\n    description: the a\n    type: string\n",
        "{\"a\":\"x\"}\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(events(&o)[0]["a"], "x");
}

#[test]
fn time_formats_are_tried_in_order() {
    let schema = format!(
        "{HEAD}  - name: t\n    type: timestamp\n    timeFormats: [rfc3339, unix_ms]\n    isEventTime: true\n"
    );
    let o = with_schema(
        &schema,
        "{\"t\":\"2017-01-25T15:51:30Z\"}\n{\"t\":1485359490123}\n{\"t\":\"1485359490123\"}\n{\"t\":\"soon\"}\n",
    );
    assert_eq!(code(&o), 1);
    let evs = events(&o);
    assert_eq!(evs.len(), 3);
    assert_eq!(evs[0]["p_event_time"], "2017-01-25 15:51:30.000000000");
    assert_eq!(evs[1]["t"], "2017-01-25 15:51:30.123000000");
    assert_eq!(evs[2]["t"], "2017-01-25 15:51:30.123000000");
    let err = stderr(&o);
    assert!(err.contains("t: expected one of its timeFormats"), "{err}");
    assert!(
        err.contains("RFC 3339") && err.contains("milliseconds"),
        "{err}"
    );

    // A format teamlog does not have is named once, with the line and the
    // formats that are.
    let err = schema_error(&format!(
        "{HEAD}  - name: t\n    type: timestamp\n    timeFormats: [iso8601]\n"
    ));
    assert_eq!(err.matches("unknown time format").count(), 1, "{err}");
    assert!(err.contains("line 6") && err.contains("unix_ms"), "{err}");
    assert!(err.contains("strftime layout"), "{err}");
    let err = schema_error(&format!(
        "{HEAD}  - name: t\n    type: timestamp\n    timeFormat: \"%Y-%Q\"\n"
    ));
    // (A scalar's error is placed at its field, line 4.)
    assert!(err.contains("line 4") && err.contains("specifier"), "{err}");

    let err = schema_error(&format!(
        "{HEAD}  - name: t\n    type: timestamp\n    timeFormat: unix\n    timeFormats: [unix]\n"
    ));
    assert!(
        err.contains("field t: has both timeFormat and timeFormats"),
        "{err}"
    );
    let err = schema_error(&format!("{HEAD}  - name: t\n    type: timestamp\n"));
    assert!(err.contains("or a timeFormats list"), "{err}");
}

#[test]
fn strftime_layouts_read_timestamps_as_panther_custom_formats_do() {
    let schema = format!(
        "{HEAD}  - name: t\n    type: timestamp\n    timeFormats: [\"%Y-%m-%d %H:%M:%S%.f\", \"%d/%b/%Y:%H:%M:%S %z\", \"%Y-%m-%d\"]\n    isEventTime: true\n"
    );
    let o = with_schema(
        &schema,
        concat!(
            "{\"t\":\"2017-01-25 15:51:30.25\"}\n",
            "{\"t\":\"25/Jan/2017:17:51:30 +0200\"}\n",
            "{\"t\":\"2017-01-25\"}\n",
            "{\"t\":\"2017-02-30\"}\n",
            "{\"t\":1485359490}\n",
        ),
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let evs = events(&o);
    let times: Vec<&str> = evs.iter().map(|e| e["t"].as_str().unwrap()).collect();
    assert_eq!(
        times,
        [
            "2017-01-25 15:51:30.250000000",
            "2017-01-25 15:51:30.000000000",
            "2017-01-25 00:00:00.000000000",
        ]
    );
    assert_eq!(evs[1]["p_event_time"], "2017-01-25 15:51:30.000000000");
    let err = stderr(&o);
    assert!(err.contains("a string in the layout \"%Y-%m-%d\""), "{err}");
    assert_eq!(
        err.matches("expected one of its timeFormats").count(),
        2,
        "{err}"
    );
}

/// One field per kind; the columns come out in the documented order.
#[test]
fn every_indicator_kind_lands_in_its_column_in_the_fixed_order() {
    let kinds = [
        ("ip", "10.0.0.1"),
        ("domain", "xn--bcher-kva.example"),
        ("hostname", "10.0.0.2"),
        ("url", "https://user@Shop.example:8443/cart?x=1"),
        ("net_addr", "[2001:db8::7]:443"),
        ("md5", "D41D8CD98F00B204E9800998ECF8427E"),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (
            "sha256",
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        ),
        ("trace_id", "trace-1"),
        ("aws_account_id", "123456789012"),
        ("aws_instance_id", "i-0123"),
        (
            "aws_arn",
            "arn:aws:ec2:us-east-1:210987654321:instance/i-0456",
        ),
        ("aws_tag", "env:prod"),
        ("email", "ann@example.com"),
        ("username", "ann"),
        ("actor_id", "dbmid:AAA"),
        ("mac", "00:1a:2b:3c:4d:5e"),
    ];
    let mut schema = HEAD.to_string();
    let mut event = serde_json::Map::new();
    for (k, v) in kinds {
        schema.push_str(&format!(
            "  - name: f_{k}\n    type: string\n    indicators: [{k}]\n"
        ));
        event.insert(format!("f_{k}"), v.into());
    }
    let o = with_schema(&schema, &format!("{}\n", serde_json::Value::Object(event)));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let tail = &out[out.find(",\"p_any_").expect("indicator columns")..];
    assert_eq!(
        tail,
        concat!(
            r#","p_any_ip_addresses":["10.0.0.1","10.0.0.2","2001:db8::7"]"#,
            r#","p_any_emails":["ann@example.com"]"#,
            r#","p_any_usernames":["ann"]"#,
            r#","p_any_domain_names":["Shop.example","bücher.example"]"#,
            r#","p_any_mac_addresses":["00:1a:2b:3c:4d:5e"]"#,
            r#","p_any_md5_hashes":["d41d8cd98f00b204e9800998ecf8427e"]"#,
            r#","p_any_sha1_hashes":["da39a3ee5e6b4b0d3255bfef95601890afd80709"]"#,
            r#","p_any_sha256_hashes":["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]"#,
            r#","p_any_trace_ids":["trace-1"]"#,
            r#","p_any_aws_arns":["arn:aws:ec2:us-east-1:210987654321:instance/i-0456"]"#,
            r#","p_any_aws_account_ids":["123456789012","210987654321"]"#,
            r#","p_any_aws_instance_ids":["i-0123","i-0456"]"#,
            r#","p_any_aws_tags":["env:prod"]"#,
            r#","p_any_actor_ids":["dbmid:AAA"]"#,
            "}\n"
        )
    );
}

#[test]
fn values_a_kind_does_not_accept_are_left_out() {
    let schema = format!(
        "{HEAD}  - name: h\n    type: string\n    indicators: [md5, sha256]\n  - name: u\n    type: string\n    indicators: [url]\n"
    );
    let o = with_schema(&schema, "{\"h\":\"not-a-hash\",\"u\":\"relative/path\"}\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stdout(&o).contains("p_any_"), "{}", stdout(&o));
}

#[test]
fn array_indicators_apply_to_string_elements() {
    let schema = format!(
        "{HEAD}  - name: ips\n    type: array\n    indicators: [ip]\n    element:\n      type: string\n  - name: users\n    type: array\n    indicators: [username]\n    element:\n      type: string\n      indicators: [email]\n"
    );
    let o = with_schema(
        &schema,
        "{\"ips\":[\"10.0.0.1\",\"nope\",\"::1\"],\"users\":[\"a@b.io\",\"bob\"]}\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ev = &events(&o)[0];
    assert_eq!(
        ev["p_any_ip_addresses"],
        serde_json::json!(["10.0.0.1", "::1"])
    );
    assert_eq!(ev["p_any_emails"], serde_json::json!(["a@b.io"]));
    assert_eq!(ev["p_any_usernames"], serde_json::json!(["a@b.io", "bob"]));
    assert_eq!(ev["ips"], serde_json::json!(["10.0.0.1", "nope", "::1"]));

    let err = schema_error(&format!(
        "{HEAD}  - name: xs\n    type: array\n    indicators: [ip]\n    element:\n      type: object\n      fields:\n        - name: a\n          type: string\n"
    ));
    assert!(
        err.contains("field xs: indicators on an array apply to its elements"),
        "{err}"
    );
}

#[test]
fn validate_allow_and_deny_reject_with_the_field_named() {
    let schema = format!(
        "{HEAD}  - name: level\n    type: string\n    validate:\n      allow: [info, warn]\n  - name: user\n    type: string\n    validate:\n      deny: [root]\n"
    );
    let o = with_schema(
        &schema,
        "{\"level\":\"info\",\"user\":\"ann\"}\n{\"level\":\"debug\"}\n{\"level\":\"w\\u0061rn\",\"user\":\"root\"}\n{\"user\":null}\n",
    );
    assert_eq!(code(&o), 1);
    let evs = events(&o);
    assert_eq!(evs.len(), 2, "{}", stdout(&o));
    assert_eq!(evs[0]["level"], "info");
    let err = stderr(&o);
    assert!(
        err.contains("level: \"debug\" is not in the field's validate allow list"),
        "{err}"
    );
    assert!(
        err.contains("user: \"root\" is in the field's validate deny list"),
        "{err}"
    );

    let err = schema_error(&format!(
        "{HEAD}  - name: n\n    type: int\n    validate:\n      allow: [\"1\"]\n"
    ));
    assert!(
        err.contains("field n: validate is only allowed on string fields"),
        "{err}"
    );
    let err = schema_error(&format!(
        "{HEAD}  - name: s\n    type: string\n    validate:\n      allwo: [a]\n"
    ));
    assert!(err.contains("did you mean `allow`?"), "{err}");
}

#[test]
fn embedded_json_strings_are_read_as_json() {
    let schema = format!(
        "{HEAD}  - name: obj\n    type: object\n    isEmbeddedJSON: true\n    fields:\n      - name: ip\n        type: string\n        indicators: [ip]\n  - name: list\n    type: array\n    isEmbeddedJSON: true\n    element:\n      type: int\n  - name: raw\n    type: json\n    isEmbeddedJSON: true\n"
    );
    let o = with_schema(
        &schema,
        concat!(
            r#"{"obj":"{\"ip\": \"10.1.1.1\", \"x\": 1}","list":"[1, \"2\"]","raw":"{\n  \"k\": [1, \"a b\"]\n}"}"#,
            "\n",
            r#"{"obj":{"ip":"10.2.2.2"},"raw":{"already":"json"}}"#,
            "\n",
            r#"{"obj":"{\"ip\":"}"#,
            "\n",
            r#"{"list":"\"[1]\""}"#,
            "\n",
            r#"{"raw":"not json"}"#,
            "\n",
        ),
    );
    assert_eq!(code(&o), 1);
    let lines: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 2, "{}", stdout(&o));
    assert!(
        lines[0].starts_with(r#"{"obj":{"ip":"10.1.1.1"},"list":[1,2],"raw":{"k":[1,"a b"]},"#),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(r#""p_any_ip_addresses":["10.1.1.1"]"#));
    assert!(lines[1].starts_with(r#"{"obj":{"ip":"10.2.2.2"},"raw":{"already":"json"},"#));
    let err = stderr(&o);
    assert!(
        err.contains("obj: isEmbeddedJSON, but the string is not JSON"),
        "{err}"
    );
    assert!(
        err.contains("list: expected array, got a string holding string"),
        "{err}"
    );
    assert!(
        err.contains("raw: isEmbeddedJSON, but the string is not JSON"),
        "{err}"
    );

    let err = schema_error(&format!(
        "{HEAD}  - name: s\n    type: string\n    isEmbeddedJSON: true\n"
    ));
    assert!(
        err.contains("isEmbeddedJSON is only allowed on types object, array and json"),
        "{err}"
    );
}

/// An `events` array beside event keys is neither an envelope nor an event.
#[test]
fn envelope_keys_mixed_with_event_keys_are_ambiguous() {
    let ev = event_with("");
    let inner = &ev[1..ev.len() - 1];
    for line in [
        format!(r#"{{{inner},"events":[]}}"#),
        format!(r#"{{{inner},"\u0065vents":[]}}"#),
        format!(r#"{{"events":[],{inner}}}"#),
        format!(r#"{{"events":[{ev}],"cursor":"c","unrelated":1}}"#),
    ] {
        let reason = reject_reason(&line);
        assert!(
            reason.starts_with("ambiguous object: it has an `events` array"),
            "{line}: {reason}"
        );
    }
    // Only envelope keys: an envelope, whose events are read.
    let o = run_repro(
        &[],
        format!("{{\"cursor\":\"c\",\"events\":[{ev}],\"has_more\":false}}\n").as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(events(&o).len(), 1);
    // `events` that is not an array is an ordinary undeclared key of an event.
    let o = run_repro(&[], format!("{{{inner},\"events\":5}}\n").as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(events(&o).len(), 1);
}

#[test]
fn escaped_tag_values_select_union_members_everywhere() {
    let line = event_with(concat!(
        r#""actor":{".tag":"\u0075ser","account_id":"dbid:1","email":"a@x.io"},"#,
        r#""context":{".tag":"team_m\u0065mber","email":"c@x.io"},"#,
        r#""participants":[{".tag":"gr\u006fup","group_id":"g:1","display_name":"G"},"#,
        r#"{".tag":"us\u0065r","email":"p@x.io"}]"#
    ));
    let plain = line
        .replace(r"\u0075", "u")
        .replace(r"\u0065", "e")
        .replace(r"\u006f", "o");
    let o = run_repro(&[], format!("{line}\n{plain}\n").as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let evs = events(&o);
    assert_eq!(evs[0], evs[1]);
    assert_eq!(evs[0]["participants"][0]["group"]["group_id"], "g:1");
    assert_eq!(evs[0]["participants"][1]["user"]["email"], "p@x.io");
    assert_eq!(evs[0]["actor"]["user"]["email"], "a@x.io");
    assert_eq!(
        evs[0]["p_any_emails"],
        serde_json::json!(["a@x.io", "c@x.io", "p@x.io"])
    );
}
