//! Hostile input: each item of the adversarial corpus with the
//! behaviour teamlog promises for it. Small inputs live in
//! `fixtures/adversarial/`; large ones are generated here (see its README).

use crate::common::*;
use std::io::Write;
use std::process::Output;
use std::time::Duration;

/// Feeds `parts` to teamlog's stdin as separate writes with a pause between
/// them, so that its reads see them one by one (a slow producer on a pipe).
fn run_trickled(args: &[&str], parts: &[&[u8]]) -> Output {
    let mut child = spawn(args);
    let mut sin = child.stdin.take().expect("stdin");
    for p in parts {
        sin.write_all(p).unwrap();
        sin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
    drop(sin);
    child.wait_with_output().expect("wait")
}

#[test]
fn bom_split_across_pipe_reads_is_skipped_not_a_panic() {
    // Regression: a BOM arriving in two reads made the reader slice out of
    // bounds (it panicked on `buf[start..filled]` after dropping the BOM).
    let e = event_with("");
    for threads in ["1", "2"] {
        let o = run_trickled(
            &["-q", "--threads", threads],
            &[b"\xEF\xBB", b"\xBF", format!("{e}\n").as_bytes()],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(events(&o).len(), 1);
    }
}

#[test]
fn bom_on_line_two_is_rejected_however_the_reads_fall() {
    // Regression: a first line shorter than a BOM, delivered alone, left the
    // reader "at the start", so a BOM opening line 2 was silently dropped.
    let e = event_with("");
    let o = run_trickled(&["-q"], &[b"\n", format!("\u{feff}{e}\n").as_bytes()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(events(&o).len(), 0);
}

#[test]
fn compressed_stdin_is_detected_when_the_magic_comes_a_byte_at_a_time() {
    // Regression: detection looked only at the first read, so a gzip stream
    // whose first write was one byte was read as (invalid) plain text.
    let body = format!("{}\n", event_with(""));
    for data in [gzip(body.as_bytes()), zstd(body.as_bytes())] {
        let (a, rest) = data.split_at(1);
        let (b, c) = rest.split_at(1);
        let o = run_trickled(&["-q"], &[a, b, c]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(events(&o).len(), 1);
    }
}

/// What became of each line of an input: `Ok(())` written, `Err(reason)` rejected.
fn verdicts(args: &[&str], input: &[u8]) -> (Output, Vec<Result<(), String>>) {
    let (o, recs) = run_with_rejects(args, input);
    let mut by_line: Vec<Result<(), String>> = Vec::new();
    let lines = input.split(|&b| b == b'\n').count() - usize::from(input.ends_with(b"\n"));
    let mut rejected = std::collections::BTreeMap::new();
    for r in &recs {
        rejected.insert(
            r["line"].as_u64().unwrap() as usize,
            r["error"].as_str().unwrap().to_string(),
        );
    }
    for n in 1..=lines {
        by_line.push(rejected.get(&n).cloned().map_or(Ok(()), Err));
    }
    (o, by_line)
}

fn fixture_verdicts(name: &str) -> (Output, Vec<Result<(), String>>) {
    verdicts(
        &[],
        &std::fs::read(fixture(&format!("adversarial/{name}"))).unwrap(),
    )
}

fn rejected(reason: &str) -> Result<(), String> {
    Err(reason.to_string())
}

/// `n` levels of `open`, then `close` `n` times.
fn nested(open: &str, n: usize, inner: &str, close: &str) -> String {
    let mut s = String::with_capacity(n * (open.len() + close.len()) + inner.len());
    for _ in 0..n {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..n {
        s.push_str(close);
    }
    s
}

#[test]
fn nesting_100000_deep_inside_details_is_kept_verbatim() {
    // `details` is a `json` field: kept byte for byte, skipped over without
    // recursion (serde_json's ignore_value is iterative), so depth costs
    // nothing but its bytes.
    let deep_arr = nested("[", 100_000, "1", "]");
    let deep_obj = nested(r#"{"a":"#, 100_000, "null", "}");
    for deep in [deep_arr, deep_obj] {
        let line = event_with("").replace(r#"{".tag":"login_success_details"}"#, &deep);
        let o = run_repro(&["-q"], format!("{line}\n").as_bytes());
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains(&format!(r#""details":{deep},"#)),
            "kept verbatim"
        );
    }
}

#[test]
fn nesting_100000_deep_at_top_level_is_rejected_without_recursing() {
    let e = event_with("");
    let cases = [
        (
            nested("[", 100_000, "", "]"),
            "expected a JSON object (an event or an API response), got array",
        ),
        // Under an undeclared key the value is skipped (iteratively); the
        // line is then judged as an event: its required fields are missing.
        (
            format!("{{\"x\":{}}}", nested(r#"{"a":"#, 100_000, "1", "}")),
            "missing required field timestamp",
        ),
        // Under a declared object field the schema's depth is the limit:
        // the first level that is not what the schema says is a type error.
        (
            e.replacen(
                '}',
                &format!(
                    r#"}},"actor":{{".tag":"user","user":{{"team":{}}}}}"#,
                    nested("[", 100_000, "", "]")
                ),
                1,
            ),
            "",
        ),
        // Inside an envelope, each element is judged alone.
        (
            format!(r#"{{"events":[{}]}}"#, nested("[", 100_000, "", "]")),
            "expected a JSON object (an event or an API response), got array",
        ),
    ];
    for (line, want) in cases {
        let (o, r) = run_with_rejects(&[], format!("{line}\n{e}\n").as_bytes());
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert_eq!(events(&o).len(), 1, "the next line is still read");
        assert_eq!(r.len(), 1);
        if !want.is_empty() {
            assert_eq!(r[0]["error"], want);
        }
    }
}

/// A valid event whose line is exactly `len` bytes (padding in an undeclared key).
fn event_of_len(len: usize) -> String {
    let base = event_with(r#""zz":"""#);
    assert!(len >= base.len());
    event_with(&format!(r#""zz":"{}""#, "x".repeat(len - base.len())))
}

#[test]
fn fifty_megabyte_line_with_and_without_final_newline() {
    // Generated here, not committed: over the default 16 MiB limit, rejected
    // with the first 4 KiB kept; the next line is still read.
    let e = event_with("");
    let big = event_of_len(50 << 20);
    for tail in ["\n", ""] {
        let input = format!("{e}\n{big}{tail}");
        let (o, r) = run_with_rejects(&[], input.as_bytes());
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert_eq!(events(&o).len(), 1);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["line"], 2);
        assert_eq!(r[0]["error"], "line longer than 16777216 bytes");
        assert_eq!(r[0]["raw_truncated"], true);
        assert_eq!(r[0]["raw"].as_str().unwrap(), &big[..4096]);
    }
    // Raised limit: the same line is a valid event, written whole.
    let o = run_repro(
        &["-q", "--max-line-bytes", "64M"],
        format!("{big}\n{e}").as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2);
}

#[test]
fn max_line_bytes_at_its_edges() {
    // Extends rejects::max_line_bytes_edges: lines longer than a chunk (so the
    // reader's growing and cutting paths are used), one byte either side of
    // the limit, with LF, CRLF and no line ending, and the flag's own bounds.
    let limit = 10_000;
    let lim = limit.to_string();
    for chunk in ["4K", "1M"] {
        for len in [limit - 1, limit, limit + 1, limit + 2, limit + 3] {
            // With no line ending the line is the last one.
            for ending in ["\n", "\r\n", ""] {
                let line = event_of_len(len);
                let next = if ending.is_empty() {
                    String::new()
                } else {
                    format!("{}\n", event_with(""))
                };
                let written = usize::from(!next.is_empty());
                let input = format!("{line}{ending}{next}");
                let (o, r) = run_with_rejects(
                    &["--max-line-bytes", &lim, "--chunk-size", chunk],
                    input.as_bytes(),
                );
                let ctx = format!("len {len} ending {ending:?} chunk {chunk}");
                if len <= limit {
                    assert_eq!(code(&o), 0, "{ctx}: {}", stderr(&o));
                    assert_eq!(events(&o).len(), 1 + written, "{ctx}");
                } else {
                    assert_eq!(code(&o), 1, "{ctx}");
                    assert_eq!(events(&o).len(), written, "{ctx}");
                    assert_eq!(r[0]["line"], 1, "{ctx}");
                    assert_eq!(r[0]["error"], "line longer than 10000 bytes", "{ctx}");
                    assert_eq!(r[0]["raw_truncated"], true, "{ctx}");
                    assert_eq!(r[0]["raw"].as_str().unwrap(), &line[..4096], "{ctx}");
                }
            }
        }
    }
    // The last line, without its newline, exactly at and one over the limit.
    for (len, ok) in [(limit, true), (limit + 1, false)] {
        let o = run_repro(
            &["-q", "--max-line-bytes", &lim, "--chunk-size", "4K"],
            event_of_len(len).as_bytes(),
        );
        assert_eq!(code(&o) == 0, ok, "last line of {len}");
    }
    // A 1-byte limit rejects every non-blank line; blank lines stay blank.
    let o = run(&["-q", "--max-line-bytes", "1"], b"{}\n\n \n");
    assert_eq!(code(&o), 1);
    for bad in ["0", "1025M", "2G", "-1", "1.5K"] {
        let o = run(&[&format!("--max-line-bytes={bad}")], b"");
        assert_eq!(code(&o), 2, "--max-line-bytes {bad}");
        assert!(stderr(&o).contains("--max-line-bytes"), "{}", stderr(&o));
    }
}

#[test]
fn invalid_utf8_in_keys_and_values_rejects_the_line() {
    // Any byte sequence that is not UTF-8, wherever it is (key, string field,
    // `json` field), rejects the whole line; the record keeps it as base64.
    // (rejects::invalid_utf8_is_reported_and_kept_as_base64 checks the record.)
    let (o, v) = fixture_verdicts("invalid_utf8.ndjson");
    assert_eq!(code(&o), 1);
    assert_eq!(
        v,
        [
            rejected("invalid UTF-8 at byte 48"),
            rejected("invalid UTF-8 at byte 181"),
            rejected("invalid UTF-8 at byte 128"),
        ]
    );
}

#[test]
fn overlong_and_out_of_range_utf8_is_invalid() {
    let (o, v) = fixture_verdicts("overlong_utf8.ndjson");
    assert_eq!(code(&o), 1);
    assert_eq!(v.len(), 6);
    for r in v {
        let reason = r.unwrap_err();
        assert!(reason.starts_with("invalid UTF-8 at byte "), "{reason}");
    }
}

#[test]
fn lone_and_swapped_surrogate_escapes() {
    // In a declared string field they cannot become text: rejected, naming
    // the field. In a key: invalid JSON. A proper pair is one character. In
    // a `json` field the bytes are kept as they are (docs/CONTRACT.md §3).
    let (o, v) = fixture_verdicts("surrogates.ndjson");
    assert_eq!(code(&o), 1);
    assert_eq!(v.len(), 5);
    let unpaired = "unpaired UTF-16 surrogate in a \\u escape (not Unicode text)";
    assert_eq!(v[0], rejected(&format!("context.display_name: {unpaired}")));
    assert_eq!(v[1], rejected(&format!("context.display_name: {unpaired}")));
    let r2 = v[2].clone().unwrap_err();
    assert!(r2.starts_with("invalid JSON at byte "), "{r2}");
    assert_eq!(v[3], Ok(()));
    assert_eq!(v[4], Ok(()));
    let out = stdout(&o);
    assert!(out.contains(r#""display_name":"🦀""#), "{out}");
    assert!(
        out.contains(r#""details":{"note":"\udc00\ud800"}"#),
        "{out}"
    );
}

#[test]
fn nul_bytes_raw_and_escaped() {
    // A raw NUL is a control character JSON forbids, inside a string or not;
    // an escaped one is text, written back escaped.
    let (o, v) = fixture_verdicts("nul.ndjson");
    assert_eq!(code(&o), 1);
    let r0 = v[0].clone().unwrap_err();
    assert!(
        r0.starts_with("invalid JSON at byte ") && r0.contains("control character"),
        "{r0}"
    );
    let r1 = v[1].clone().unwrap_err();
    assert!(r1.starts_with("invalid JSON at byte 1"), "{r1}");
    assert_eq!(v[2..], [Ok(()), Ok(())]);
    let out = stdout(&o);
    assert!(out.contains(r#""display_name":"a\u0000b""#), "{out}");
    assert!(out.contains(r#""details":{"note":"\u0000"}"#), "{out}");
    // The reject record escapes the raw NUL; stderr shows it escaped.
    let o = run(
        &[],
        &std::fs::read(fixture("adversarial/nul.ndjson")).unwrap(),
    );
    assert!(!o.stderr.contains(&0), "raw NUL on stderr");
}

#[test]
fn numbers_with_400_digits_and_above_u64() {
    // A number in a string field keeps its literal text; in a `json` field
    // its bytes; in an undeclared key it is dropped. Where the schema wants
    // a boolean or a timestamp it is rejected, with the value cut short.
    let (o, v) = fixture_verdicts("big_numbers.ndjson");
    let n400 = "9".repeat(400);
    assert_eq!(v[..4], [Ok(()), Ok(()), Ok(()), Ok(())]);
    let r4 = v[4].clone().unwrap_err();
    assert!(
        r4.starts_with("involve_non_team_member: expected boolean, got 9999"),
        "{r4}"
    );
    assert!(r4.ends_with('…') && r4.len() < 200, "{r4}");
    let r5 = v[5].clone().unwrap_err();
    assert!(r5.starts_with("timestamp: expected RFC 3339"), "{r5}");
    assert!(r5.len() < 200, "{r5}");
    assert_eq!(v[6], Ok(()));
    // (serde_json's Value cannot hold 9e399: parse the other lines only.)
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5);
    let ev: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_default())
        .collect();
    assert_eq!(ev[0]["context"]["display_name"], n400);
    assert!(lines[1].contains(&format!(r#""details":{{"n":{n400},"m":-{n400}.5e-99999}}"#)));
    assert_eq!(ev[2]["context"]["display_name"], "18446744073709551616");
    assert_eq!(ev[3]["context"]["display_name"], "-1e400");
    assert!(ev[4].get("zz").is_none());
}

#[test]
fn numbers_above_the_declared_integer_width_are_rejected() {
    let dir = tempdir();
    let schema = dir.path().join("s.yml");
    std::fs::write(
        &schema,
        "schema: T.Int\nversion: 1\nfields:\n  - name: n\n    type: bigint\n  - name: s\n    type: smallint\n",
    )
    .unwrap();
    let n = "9".repeat(400);
    let input = format!(
        "{{\"n\":9223372036854775807}}\n{{\"n\":9223372036854775808}}\n{{\"n\":18446744073709551616}}\n{{\"n\":{n}}}\n{{\"s\":32768}}\n{{\"n\":1e3}}\n"
    );
    let (o, v) = verdicts(&["--schema", schema.to_str().unwrap()], input.as_bytes());
    assert_eq!(code(&o), 1);
    assert_eq!(v[0], Ok(()));
    for r in &v[1..] {
        let reason = r.clone().unwrap_err();
        assert!(reason.contains(": expected integer, got "), "{reason}");
    }
    assert_eq!(events(&o)[0]["n"], 9223372036854775807u64);
}

#[test]
fn duplicate_keys_at_the_remaining_levels() {
    // rejects::duplicate_declared_keys_at_every_level covers the event,
    // actor, user, participants, origin, reseller levels and an escaped
    // timestamp; these are the other declared levels, escapes inside them,
    // an envelope element, and the envelope's own `events`.
    let base = event_with("");
    for (line, key) in [
        (
            base.replace(r#"{".tag":"logins"}"#, r#"{".tag":"logins","_tag":"x"}"#),
            "event_category._tag",
        ),
        (
            base.replace(r#"{".tag":"logins"}"#, r#"{"\u002etag":"a",".tag":"b"}"#),
            "event_category._tag",
        ),
        (
            base.replace(
                r#""description":"Signed in""#,
                r#""description":"a","description":"b""#,
            ),
            "event_type.description",
        ),
        (
            base.replacen(r#""details":"#, r#""details":{},"details":"#, 1),
            "details",
        ),
        (
            event_with(r#""actor":{".tag":"user","user":{"email":"a@b","em\u0061il":"c@d"}}"#),
            "actor.user.email",
        ),
        (
            event_with(
                r#""actor":{".tag":"user","user":{"team":{"display_name":"a","display_name":"b"}}}"#,
            ),
            "actor.user.team.display_name",
        ),
        (
            event_with(
                r#""context":{".tag":"a","trusted_non_team_member_type":{".tag":"x",".tag":"y"}}"#,
            ),
            "context.trusted_non_team_member_type._tag",
        ),
        (
            event_with(r#""origin":{"access_method":1,"access_method":2}"#),
            "origin.access_method",
        ),
        (
            event_with(r#""involve_non_team_member":true,"involve_non_team_member":false"#),
            "involve_non_team_member",
        ),
        (format!(r#"{{"events":[{base}],"events":[]}}"#), "events"),
    ] {
        let (o, r) = run_with_rejects(&[], format!("{line}\n").as_bytes());
        assert_eq!(code(&o), 1, "{line}");
        assert_eq!(r[0]["error"], format!("duplicate key {key}"), "{line}");
    }
    // Inside an envelope, the duplicate rejects its element only.
    let dup = format!(
        r#"{{{},{}"#,
        r#""timestamp":"2017-01-25T15:51:30Z""#,
        &base[1..]
    );
    let (o, r) = run_with_rejects(
        &[],
        format!(r#"{{"events":[{base},{dup}],"has_more":false}}"#).as_bytes(),
    );
    assert_eq!(code(&o), 1);
    assert_eq!(events(&o).len(), 1);
    assert_eq!(r[0]["index"], 1);
    assert_eq!(r[0]["error"], "duplicate key timestamp");
}

#[test]
fn keys_differing_only_by_escapes_are_the_same_key() {
    // A key is its decoded text: "time\u0073tamp" is timestamp, "\u002etag"
    // is .tag. Alone they are read as such; next to their plain spelling they
    // are duplicates (an event must not hide from a reader that compares raw
    // bytes).
    let (o, v) = fixture_verdicts("escaped_keys.ndjson");
    assert_eq!(v[0], Ok(()));
    assert_eq!(v[1], Ok(()));
    assert_eq!(v[2], rejected("duplicate key actor.user.email"));
    assert_eq!(v[3], rejected("duplicate key actor"));
    let ev = events(&o);
    assert_eq!(ev[0]["timestamp"], "2017-01-25 15:51:30.000000000");
    assert_eq!(ev[1]["event_category"]["_tag"], "logins");
}

#[test]
fn bom_mid_stream_and_at_the_start_of_each_file() {
    // input::bom_in_the_middle_of_a_stream_is_rejected covers stdin; a BOM
    // opens each file, not only the first.
    let (o, v) = fixture_verdicts("bom_mid_stream.ndjson");
    assert_eq!(code(&o), 1);
    assert_eq!(v[0], Ok(()));
    assert!(v[1]
        .clone()
        .unwrap_err()
        .starts_with("invalid JSON at byte 0"));
    assert_eq!(v[2], Ok(()));
    let f = fixture("adversarial/bom_start.ndjson");
    let f = f.to_str().unwrap();
    let o = run_repro(&["-q", f, f], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(events(&o).len(), 2);
}

/// `--stats` of a run over `files` (no stdin).
fn stats_of(files: &[&str]) -> (Output, serde_json::Value) {
    let dir = tempdir();
    let p = dir.path().join("s.json");
    let mut args = vec!["-q", "--stats", p.to_str().unwrap()];
    args.extend_from_slice(files);
    let o = run_repro(&args, b"");
    let s = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    (o, s)
}

#[test]
fn empty_inputs() {
    // A file of only newlines: every line blank, exit 0. An empty file, a
    // 0-byte `.gz` (plain by its bytes: empty) and a gzip with an empty
    // member: no lines, exit 0. Only the gzip magic: a truncated stream,
    // fatal (exit 2), and the next file is still read.
    let f = |n: &str| {
        fixture(&format!("adversarial/{n}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let (o, s) = stats_of(&[&f("only_newlines.ndjson")]);
    assert_eq!(code(&o), 0);
    assert_eq!(
        (s["lines"].as_u64(), s["blank"].as_u64()),
        (Some(1011), Some(1011))
    );
    assert_eq!(stdout(&o), "");
    for name in ["empty.ndjson", "empty.gz", "empty_member.gz"] {
        let (o, s) = stats_of(&[&f(name)]);
        assert_eq!(code(&o), 0, "{name}: {}", stderr(&o));
        assert_eq!(s["lines"], 0, "{name}");
        assert_eq!(stdout(&o), "", "{name}");
    }
    let (_, s) = stats_of(&[&f("empty.gz"), &f("empty_member.gz")]);
    assert_eq!(s["sources"][0]["compression"], "none");
    assert_eq!(s["sources"][1]["compression"], "gzip");
    let (o, s) = stats_of(&[&f("gzip_magic_only.gz"), &f("bom_start.ndjson")]);
    assert_eq!(code(&o), 2);
    assert_eq!(events(&o).len(), 1, "the next file is read");
    assert!(
        s["sources"][0]["error"]
            .as_str()
            .unwrap()
            .contains("gzip_magic_only.gz: read failed after line 0"),
        "{s}"
    );
}

#[test]
fn truncated_and_corrupt_compressed_streams() {
    // input::truncated_gzip_keeps_what_was_decoded_and_fails covers gzip on
    // stdin; here zstd too, cut at several points, among other files, and
    // gzip with garbage after its last member.
    let e = event_with("");
    let body: String = (0..3000).map(|_| format!("{e}\n")).collect();
    let dir = tempdir();
    let good = dir.path().join("good.ndjson");
    std::fs::write(&good, format!("{e}\n")).unwrap();
    let good = good.to_str().unwrap();
    for (kind, full) in [
        ("gz", gzip(body.as_bytes())),
        ("zst", zstd(body.as_bytes())),
    ] {
        for cut in [5, full.len() / 3, full.len() - 3] {
            let p = dir.path().join(format!("cut.{kind}"));
            std::fs::write(&p, &full[..cut]).unwrap();
            let (o, s) = stats_of(&[p.to_str().unwrap(), good]);
            let ctx = format!("{kind} cut at {cut}");
            assert_eq!(code(&o), 2, "{ctx}");
            let n = events(&o).len() as u64;
            assert!((1..=3001).contains(&n), "{ctx}: {n}");
            assert_eq!(s["sources"][1]["events"], 1, "{ctx}: the next file is read");
            let err = s["sources"][0]["error"].as_str().unwrap();
            // -q silences the summary, never a fatal error.
            assert!(
                stderr(&o).starts_with(&format!("teamlog: error: {err}")),
                "{}",
                stderr(&o)
            );
            assert!(
                err.contains(&format!("cut.{kind}: read failed after line")),
                "{err}"
            );
            // Nothing half-decoded is written as an event: every line whole.
            assert_eq!(s["sources"][0]["events"].as_u64().unwrap() + 1, n);
        }
    }
    let mut trailing = gzip(body.as_bytes());
    trailing.extend_from_slice(b"garbage after the last member");
    let o = run_repro(&["-q"], &trailing);
    assert_eq!(code(&o), 2, "trailing garbage is an error");
    assert_eq!(
        events(&o).len(),
        3000,
        "but every event before it is written"
    );
}

#[test]
fn terminal_escapes_and_bidi_overrides_never_reach_stderr_raw() {
    // Extends rejects::stderr_shows_first_rejects_escaped_then_a_count to
    // every attacker-shaped text teamlog prints: values in reasons (OSC,
    // CSI, C1 CSI, DEL, CR/LF that would forge a line, bidi and direction
    // marks), file names (in reject lines, the per-file summary and the
    // failure message), and the --rejects path in an error.
    let dir = tempdir();
    let evil_name = "e\u{1b}[2Jvil\u{202e}txt.\u{2067}\n\u{9b}x";
    let bad = dir.path().join(evil_name);
    std::fs::copy(fixture("adversarial/terminal_escapes.ndjson"), &bad).unwrap();
    let missing = dir.path().join(format!("{evil_name}.missing"));
    let o = run(
        &[
            bad.to_str().unwrap(),
            bad.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    for c in [
        '\u{1b}', '\u{9b}', '\u{7f}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{200f}', '\u{61c}',
        '\r', '\0',
    ] {
        assert!(!err.contains(c), "raw {c:?} on stderr: {err:?}");
    }
    // Only teamlog's own lines: 4 rejects, the summary, the files with
    // rejects, and the open failure; no forged "teamlog:" line.
    assert_eq!(err.lines().count(), 7, "{err}");
    assert!(err.lines().all(|l| l.starts_with("teamlog: ")), "{err}");
    assert!(!err.contains("\nteamlog: forged line"), "{err}");
    let o = run(&["--rejects", &format!("/nonexistent/{evil_name}")], b"");
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
}
