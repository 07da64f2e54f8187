//! Hostile input (issue 4): each item of the adversarial corpus with the
//! behaviour teamlog promises for it. Small inputs live in
//! `fixtures/adversarial/`; large ones are generated here (see its README).

use crate::common::*;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

/// Feeds `parts` to teamlog's stdin as separate writes with a pause between
/// them, so that its reads see them one by one (a slow producer on a pipe).
fn run_trickled(args: &[&str], parts: &[&[u8]]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn teamlog");
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
