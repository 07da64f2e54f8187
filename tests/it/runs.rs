//! Whole runs (docs/CONTRACT.md §7): exit status, pipes, atomic -o, threads, signals.

use crate::common::*;
use std::io::Write;
use std::process::Stdio;

fn spec_examples() -> String {
    crate::common::spec_examples().to_str().unwrap().to_string()
}

#[test]
fn exit_status_0_1_2() {
    assert_eq!(
        code(&run(&["-q"], format!("{}\n\n", event_with("")).as_bytes())),
        0
    );
    assert_eq!(code(&run(&["-q"], b"nope\n")), 1);
    assert_eq!(code(&run(&["-q", "--threads", "0"], b"")), 2);
    assert_eq!(code(&run(&["-q", "--no-such-flag"], b"")), 2);
    assert_eq!(code(&run(&["-q", "/no/such/file"], b"")), 2);
    assert_eq!(code(&run(&["-q"], b"")), 0, "empty input is fine");
}

#[test]
fn write_failure_is_fatal_with_a_clear_message() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = bin()
        .arg(spec_examples())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write to stdout") && err.contains("No space left"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempdir();
    let target = dir.path().join("out.ndjson");
    let o = run_repro(&["-o", target.to_str().unwrap(), &spec_examples()], b"");
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "");
    let lines = std::fs::read_to_string(&target).unwrap().lines().count();
    assert_eq!(lines, 631);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}

/// SIGINT and SIGTERM (ctrlc cannot tell them apart: both exit 130).
#[test]
fn interrupted_run_leaves_the_output_file_untouched() {
    for sig in ["-INT", "-TERM"] {
        let dir = tempdir();
        let target = dir.path().join("out.ndjson");
        std::fs::write(&target, "old\n").unwrap();
        let mut child = bin()
            .args(["-o", target.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut sin = child.stdin.take().unwrap();
        for _ in 0..200 {
            sin.write_all(format!("{}\n", event_with("")).as_bytes())
                .unwrap();
        }
        sin.flush().unwrap();
        // Wait until the temp file exists, so the handler is installed and running.
        for _ in 0..200 {
            if std::fs::read_dir(dir.path()).unwrap().count() > 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let pid = child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success());
        let status = child.wait().unwrap();
        drop(sin);
        assert_eq!(status.code(), Some(130), "{sig}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n", "{sig}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "{sig}: temp file removed"
        );
    }
}

#[test]
fn thread_counts_give_identical_bytes() {
    let input = std::fs::read(spec_examples()).unwrap();
    let mut mixed = Vec::new();
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        mixed.extend_from_slice(line);
        mixed.push(b'\n');
        if i % 7 == 0 {
            mixed.extend_from_slice(b"oops\n\n");
        }
    }
    let base = run_repro(&["-q", "--threads", "1", "--chunk-size", "4K"], &mixed);
    assert_eq!(code(&base), 1);
    for t in ["2", "3", "8"] {
        let o = run_repro(&["-q", "--threads", t, "--chunk-size", "4K"], &mixed);
        assert_eq!(o.stdout, base.stdout, "--threads {t}");
    }
}

#[test]
fn help_teaches_each_flag_with_defaults() {
    let o = run(&["--help"], b"");
    assert_eq!(code(&o), 0);
    let h = stdout(&o);
    for needle in [
        "--rejects",
        "--stats",
        "--threads",
        "--row-id",
        "--parse-time",
        "--source-id",
        "--source-label",
        "--max-line-bytes",
        "[default: 16M]",
        "--chunk-size",
        "[default: 1M]",
        "--schema",
        "-o, --output",
        "Exit status",
        "gzip",
    ] {
        assert!(h.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn output_to_a_symlink_or_device_writes_through_it() {
    let dir = tempdir();
    let real = dir.path().join("real.ndjson");
    std::fs::write(&real, "").unwrap();
    let link = dir.path().join("link.ndjson");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = run_repro(
        &["-o", link.to_str().unwrap()],
        format!("{}\n", event_with("")).as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "link kept"
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap().lines().count(), 1);
    let o = run(
        &["-q", "-o", "/dev/null"],
        format!("{}\n", event_with("")).as_bytes(),
    );
    assert_eq!(code(&o), 0);
    assert!(
        !std::fs::metadata("/dev/null").unwrap().is_file(),
        "/dev/null is still a device"
    );
}
