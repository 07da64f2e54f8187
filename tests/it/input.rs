//! Reading (docs/CONTRACT.md §2, §3): sources, compression, framing, envelopes, wire forms.

use crate::common::*;

fn two_events() -> String {
    format!(
        "{}\n{}\n",
        event_with(r#""involve_non_team_member":true"#),
        event_with("")
    )
}

#[test]
fn gzip_zstd_and_plain_give_the_same_output() {
    let plain = two_events();
    let dir = tempdir();
    let p = dir.path().join("a.ndjson");
    // File names lie on purpose: detection is by magic bytes only.
    let g = dir.path().join("b.ndjson");
    let z = dir.path().join("c.txt.gz");
    std::fs::write(&p, &plain).unwrap();
    std::fs::write(&g, gzip(plain.as_bytes())).unwrap();
    std::fs::write(&z, zstd(plain.as_bytes())).unwrap();
    let want = stdout(&run_repro(&[p.to_str().unwrap()], b""));
    assert_eq!(want.lines().count(), 2);
    for f in [&g, &z] {
        let o = run_repro(&[f.to_str().unwrap()], b"");
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(stdout(&o), want, "{}", f.display());
    }
    // Compressed stdin too.
    assert_eq!(stdout(&run_repro(&[], &gzip(plain.as_bytes()))), want);
    assert_eq!(stdout(&run_repro(&["-"], &zstd(plain.as_bytes()))), want);
}

#[test]
fn every_gzip_member_is_read() {
    let e = event_with("");
    let mut data = gzip(format!("{e}\n").as_bytes());
    data.extend(gzip(format!("{e}\n{e}\n").as_bytes()));
    let o = run_repro(&[], &data);
    assert_eq!(events(&o).len(), 3);
}

#[test]
fn files_are_read_in_argument_order_and_dash_is_stdin() {
    let dir = tempdir();
    let a = dir.path().join("a");
    std::fs::write(
        &a,
        format!(
            "{}\n",
            event_with(r#""context":{".tag":"team","display_name":"A"}"#)
        ),
    )
    .unwrap();
    let stdin_event = event_with(r#""context":{".tag":"team","display_name":"S"}"#);
    let o = run_repro(
        &[a.to_str().unwrap(), "-", a.to_str().unwrap()],
        format!("{stdin_event}\n").as_bytes(),
    );
    let names: Vec<_> = events(&o)
        .iter()
        .map(|e| e["context"]["display_name"].clone())
        .collect();
    assert_eq!(names, ["A", "S", "A"]);
}

#[test]
fn crlf_bom_blank_lines_and_missing_final_newline() {
    let e = event_with("");
    let input = format!("\u{feff}{e}\r\n\r\n   \t\n{e}\n\n{e}");
    let dir = tempdir();
    let stats = dir.path().join("s.json");
    let o = run_repro(&["--stats", stats.to_str().unwrap()], input.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(events(&o).len(), 3);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["lines"], 6);
    assert_eq!(s["blank"], 3);
    assert_eq!(s["events"], 3);
}

#[test]
fn bom_in_the_middle_of_a_stream_is_rejected() {
    let e = event_with("");
    let (o, r) = run_with_rejects(&[], format!("{e}\n\u{feff}{e}\n").as_bytes());
    assert_eq!(code(&o), 1);
    assert_eq!(r[0]["line"], 2);
    assert!(
        r[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON at byte 0"),
        "{}",
        r[0]
    );
}

#[test]
fn envelope_elements_are_events_in_order_and_errors_keep_their_index() {
    let a = event_with(r#""context":{".tag":"team","display_name":"first"}"#);
    let b = event_with(r#""context":{".tag":"team","display_name":"second"}"#);
    let bad = r#"{"timestamp":"nope","event_category":"x","event_type":"y","details":{}}"#;
    let line = format!(r#"{{"events":[{a}, {bad},{b}],"cursor":"AAA","has_more":true}}"#);
    let (o, r) = run_with_rejects(&[], format!("{line}\n").as_bytes());
    assert_eq!(code(&o), 1);
    let names: Vec<_> = events(&o)
        .iter()
        .map(|e| e["context"]["display_name"].clone())
        .collect();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["line"], 1);
    assert_eq!(r[0]["index"], 1);
    assert_eq!(r[0]["raw"], bad, "raw is the element's exact text");
}

#[test]
fn empty_envelope_writes_nothing_and_is_not_an_error() {
    let o = run_repro(&[], b"{\"events\":[],\"cursor\":\"c\",\"has_more\":true}\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn api_error_body_is_rejected() {
    let reason = reject_reason(
        r#"{"error_summary":"expired_access_token/..","error":{".tag":"expired_access_token"}}"#,
    );
    assert_eq!(reason, "API error object, not an event");
}

#[test]
fn keys_in_any_order_and_unknown_tags_are_fine() {
    let line = r#"{"details":{".tag":"brand_new_details"},"event_type":{".tag":"brand_new_type_2031"},"event_category":{".tag":"brand_new_category"},"timestamp":"2031-01-01T00:00:00Z"}"#;
    let o = run_repro(&[], format!("{line}\n").as_bytes());
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.starts_with(r#"{"timestamp":"2031-01-01 00:00:00.000000000","event_category":{"_tag":"brand_new_category"},"event_type":{"_tag":"brand_new_type_2031"},"details":{".tag":"brand_new_details"},"p_log_type""#), "{out}");
}

#[test]
fn compact_unions_read_as_tags() {
    let line = r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":"logins","event_type":"login_success","details":{}}"#;
    let o = run_repro(&[], format!("{line}\n").as_bytes());
    let e = &events(&o)[0];
    assert_eq!(e["event_category"], serde_json::json!({"_tag": "logins"}));
    assert_eq!(
        e["event_type"],
        serde_json::json!({"_tag": "login_success"})
    );
}

#[test]
fn underscore_tag_reads_like_dot_tag() {
    let dot =
        event_with(r#""actor":{".tag":"user","user":{".tag":"team_member","email":"a@b.c"}}"#);
    let underscore =
        event_with(r#""actor":{"_tag":"user","user":{"_tag":"team_member","email":"a@b.c"}}"#);
    assert_eq!(
        stdout(&run_repro(&[], format!("{dot}\n").as_bytes())),
        stdout(&run_repro(&[], format!("{underscore}\n").as_bytes()))
    );
}

#[test]
fn json_fields_are_kept_byte_for_byte() {
    let details = r#"{ ".tag" : "x",  "big": 123456789012345678901234567890, "f": 1.50e+3, "s": "\u00e9\/", "n": [ ] }"#;
    let asset = r#"{"id":18446744073709551617}"#;
    let line = format!(
        r#"{{"timestamp":"2017-01-25T15:51:30Z","event_category":"logins","event_type":"x","details":{details},"assets":[{asset}]}}"#
    );
    let o = run_repro(&[], format!("{line}\n").as_bytes());
    let out = stdout(&o);
    assert!(out.contains(&format!(r#""details":{details},"#)), "{out}");
    assert!(out.contains(&format!(r#""assets":[{asset}]"#)), "{out}");
}

#[test]
fn directory_needs_recursive() {
    let dir = tempdir();
    let o = run(&[dir.path().to_str().unwrap()], b"");
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("is a directory (use -r/--recursive"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn recursive_reads_files_sorted_by_path() {
    let dir = tempdir();
    let mk = |rel: &str, name: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let body = format!(
            "{}\n",
            event_with(&format!(
                r#""context":{{".tag":"team","display_name":"{name}"}}"#
            ))
        );
        std::fs::write(p, body).unwrap();
    };
    mk("b/2.ndjson", "b2");
    mk("a.ndjson", "a");
    mk("b/1.ndjson", "b1");
    mk("c/z/9.ndjson", "c9");
    let o = run_repro(&["-r", dir.path().to_str().unwrap()], b"");
    let names: Vec<_> = events(&o)
        .iter()
        .map(|e| e["context"]["display_name"].clone())
        .collect();
    assert_eq!(names, ["a", "b1", "b2", "c9"]);
}

#[test]
fn unreadable_file_among_several_is_reported_and_the_rest_is_processed() {
    let dir = tempdir();
    let good = dir.path().join("good.ndjson");
    std::fs::write(&good, format!("{}\n", event_with(""))).unwrap();
    let missing = dir.path().join("missing.ndjson");
    let o = run_repro(&[missing.to_str().unwrap(), good.to_str().unwrap()], b"");
    assert_eq!(code(&o), 2);
    assert_eq!(events(&o).len(), 1, "nothing readable is lost");
    let err = stderr(&o);
    assert!(err.contains("missing.ndjson: cannot open"), "{err}");
}

#[test]
fn truncated_gzip_names_the_last_whole_line_and_drops_the_torn_one() {
    let e = event_with("");
    let body: String = (0..2000).map(|_| format!("{e}\n")).collect();
    let gz = gzip(body.as_bytes());
    let dir = tempdir();
    let f = dir.path().join("trunc.gz");
    std::fs::write(&f, &gz[..gz.len() / 2]).unwrap();
    let stats = dir.path().join("s.json");
    for threads in ["1", "3"] {
        let o = run_repro(
            &[
                "--threads",
                threads,
                "--stats",
                stats.to_str().unwrap(),
                f.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        let written = events(&o).len();
        assert!(written > 0, "what was decoded is kept");
        let err = stderr(&o);
        // The failure names the last line written and the torn one, once.
        let want = format!("read failed after line {written}, ");
        assert_eq!(err.matches(&want).count(), 1, "{err}");
        assert!(
            err.contains(&format!(
                "bytes into line {} (that partial line is dropped)",
                written + 1
            )),
            "{err}"
        );
        assert_eq!(err.matches("read failed").count(), 1, "{err}");
        // The torn fragment is not a line, so not a reject.
        assert!(!err.contains("EOF while parsing"), "{err}");
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
        assert_eq!(s["lines"], written as u64, "{s}");
        assert_eq!(s["rejected"], 0, "{s}");
    }
}

/// Lines at and over `--max-line-bytes`, some longer than the smallest chunk,
/// one of them only whitespace, with LF and CRLF endings, the last
/// unterminated.
fn long_lines() -> Vec<u8> {
    let e = event_with("");
    let mut s = Vec::new();
    s.extend(format!("{e}\n").bytes());
    s.extend(vec![b' '; 9000]);
    s.extend(b"\n");
    s.extend(vec![b'x'; 300]);
    s.extend(b"\r\n");
    s.extend(format!("{e}\r\n").bytes());
    s.extend(vec![b'\t'; 300]);
    s.extend(b"\n");
    s.extend(vec![b'y'; 20_000]);
    s.extend(b"\r\n");
    s.extend(b"   \n");
    s.extend(vec![b'z'; 9000]);
    s
}

#[test]
fn the_line_limit_is_judged_on_the_line_whatever_the_chunk_size() {
    let input = long_lines();
    let dir = tempdir();
    let mut seen = Vec::new();
    for chunk in ["4K", "8K", "64K", "1M"] {
        let stats = dir.path().join(format!("s{chunk}.json"));
        let rej = dir.path().join(format!("r{chunk}.ndjson"));
        let o = run_repro(
            &[
                "--max-line-bytes",
                "1K",
                "--chunk-size",
                chunk,
                "--stats",
                stats.to_str().unwrap(),
                "--rejects",
                rej.to_str().unwrap(),
            ],
            &input,
        );
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
        let counts: Vec<_> = ["lines", "events", "rejected", "blank", "bytes_in"]
            .iter()
            .map(|k| s[k].clone())
            .collect();
        let rejects = std::fs::read(&rej).unwrap();
        seen.push((chunk, counts, stdout(&o), rejects));
    }
    let (_, counts, out, rejects) = &seen[0];
    // 2 events; the 9000 spaces, the 300 x (not JSON), the 20000 y and
    // 9000 z rejected; the 300 tabs and 3 spaces blank; every byte counted.
    assert_eq!(
        counts,
        &[8, 2, 4, 2, input.len()].map(|n| serde_json::json!(n)),
        "{counts:?}"
    );
    for (chunk, c, o, r) in &seen[1..] {
        assert_eq!(c, counts, "--chunk-size {chunk}");
        assert_eq!(o, out, "--chunk-size {chunk}");
        assert_eq!(r, rejects, "--chunk-size {chunk}: the same reject records");
    }
}

#[test]
fn non_utf8_file_names_stay_distinct_in_output_dir_stats_and_rejects() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for b in [0xffu8, 0xfe] {
        let name = [b'a', b, b'.', b'n', b'd', b'j', b's', b'o', b'n'];
        let body = format!("{}\nnot json\n", event_with(""));
        std::fs::write(input.join(OsStr::from_bytes(&name)), body).unwrap();
    }
    let out = dir.path().join("out");
    let stats = dir.path().join("s.json");
    let rej = dir.path().join("r.ndjson");
    let o = run_repro(
        &[
            "-r",
            input.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
            "--stats",
            stats.to_str().unwrap(),
            "--rejects",
            rej.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let mut written: Vec<Vec<u8>> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .filter(|n| n.ends_with(b".ndjson"))
        .collect();
    written.sort();
    assert_eq!(written, [&b"a\xfe.ndjson"[..], b"a\xff.ndjson"]);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let per: Vec<(String, String)> = s["sources"]
        .as_array()
        .unwrap_or_else(|| panic!("per-source stats: {s}"))
        .iter()
        .map(|p| {
            (
                p["source"].as_str().unwrap().to_string(),
                p["source_base64"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let root = input.to_str().unwrap();
    assert_eq!(
        per,
        [
            (format!("{root}/a\\xFE.ndjson"), b64(&input, 0xfe)),
            (format!("{root}/a\\xFF.ndjson"), b64(&input, 0xff)),
        ]
    );
    let sources: Vec<_> = read_rejects(&rej)
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_string(),
                r["source_base64"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(sources, per, "reject records name them as --stats does");
}

/// The base64 of the path `dir/a<b>.ndjson`, as the test computes it.
fn b64(dir: &std::path::Path, b: u8) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = dir.as_os_str().as_bytes().to_vec();
    bytes.extend([b'/', b'a', b]);
    bytes.extend(b".ndjson");
    // RFC 4648 base64, written out so the test does not share the code under test.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
