//! Faults around a run: full devices, inputs that end or vanish
//! early, signals, a reader that goes away. runs.rs already covers stdout on
//! /dev/full, SIGINT with -o and `| head`; input.rs an unreadable file among
//! several; adversarial.rs truncated compressed files among several.

use crate::common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

fn has_dev_full() -> bool {
    std::path::Path::new("/dev/full").exists()
}

#[test]
fn every_output_on_a_full_device_is_fatal_with_a_clear_message() {
    if !has_dev_full() {
        return;
    }
    let input = format!("{}\nbad\n", event_with(""));
    for (args, what) in [
        (vec!["--rejects", "/dev/full"], "cannot write to /dev/full"),
        (vec!["-o", "/dev/full"], "cannot write to /dev/full"),
        (
            vec!["--stats", "/dev/full"],
            "cannot write --stats to /dev/full",
        ),
    ] {
        let o = run(&args, input.as_bytes());
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{args:?}: {err}");
        assert!(
            err.contains(what) && err.contains("No space left"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn stdin_closed_in_the_middle_of_a_line() {
    // The producer dies mid-line: what came before is written, the partial
    // line is judged like any last line without a newline (here: rejected as
    // truncated JSON), and the run ends normally.
    let e = event_with("");
    let input = format!("{e}\n{e}\n{}", &e[..e.len() / 2]);
    let (o, r) = run_with_rejects(&[], input.as_bytes());
    assert_eq!(code(&o), 1);
    assert_eq!(events(&o).len(), 2);
    assert_eq!(r[0]["line"], 3);
    assert!(
        r[0]["error"]
            .as_str()
            .unwrap()
            .contains("EOF while parsing"),
        "{}",
        r[0]
    );
}

#[test]
fn stdin_not_open_at_all_reads_as_empty() {
    // `teamlog <&-`: Rust's runtime opens /dev/null on a closed standard
    // descriptor before main, so no file teamlog opens later can take fd 0.
    let dir = tempdir();
    let out = dir.path().join("out.ndjson");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$0\" -o {} <&-", out.to_str().unwrap()))
        .arg(env!("CARGO_BIN_EXE_teamlog"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"");
}

fn signal(pid: u32, sig: &str) {
    assert!(std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

#[test]
fn sigint_while_writing_to_stdout_exits_130() {
    let mut child = bin()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sin = child.stdin.take().unwrap();
    sin.write_all(format!("{}\n", event_with("")).as_bytes())
        .unwrap();
    sin.flush().unwrap();
    // The first event is out, so the handler is installed and the run is on.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('{'), "{first}");
    signal(child.id(), "-INT");
    let out = child.wait_with_output().unwrap();
    drop(sin);
    assert_eq!(out.status.code(), Some(130));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn closed_stdout_ends_quietly_with_success() {
    // Default threads, the inline path, and a run that also writes rejects.
    let big = spec_examples();
    let big = big.to_str().unwrap();
    let dir = tempdir();
    let rej = dir.path().join("r.ndjson");
    // Like `| head -1`: the reader of our output goes away after one line.
    for extra in [
        vec![],
        vec!["--threads", "1"],
        vec!["--rejects", rej.to_str().unwrap()],
    ] {
        let mut args = extra.clone();
        args.extend(std::iter::repeat_n(big, 30));
        let mut child = bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(first.starts_with('{'));
        assert_eq!(out.status.code(), Some(0), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.to_lowercase().contains("broken pipe"), "{err}");
    }
}
