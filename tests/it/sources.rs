//! Which inputs a run reads and how it tells their format: `-r` over odd
//! directory entries (FIFOs, sockets, devices, symlinks, loops) never hangs
//! and never fails the run; stdin is read once; formats are told by magic
//! bytes, and the ones teamlog does not read fail only their own input.

use crate::common::*;
use std::path::Path;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

/// Waits for a run that must not hang; kills it and fails after a minute.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("teamlog hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn run_files(args: &[&str]) -> Output {
    let mut all = vec!["--row-id", "content", "--parse-time", PARSE_TIME];
    all.extend_from_slice(args);
    let mut child = spawn(&all);
    drop(child.stdin.take());
    finish(child)
}

fn mkfifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok, "mkfifo {}", p.display());
}

fn write_event(p: &Path, name: &str) {
    let e = event_with(&format!(
        r#""context":{{".tag":"team","display_name":"{name}"}}"#
    ));
    std::fs::write(p, format!("{e}\n")).unwrap();
}

fn names(o: &Output) -> Vec<String> {
    events(o)
        .iter()
        .map(|e| e["context"]["display_name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn fifos_sockets_and_devices_under_recursive_are_reported_and_skipped_unopened() {
    let dir = tempdir();
    let d = dir.path();
    write_event(&d.join("a.ndjson"), "a");
    // Nobody ever writes to this FIFO: opening it would block forever.
    mkfifo(&d.join("b.fifo"));
    let _socket = std::os::unix::net::UnixListener::bind(d.join("c.sock")).unwrap();
    write_event(&d.join("d.ndjson"), "d");
    let o = run_files(&["-r", d.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{err}");
    assert_eq!(names(&o), ["a", "d"]);
    assert!(err.contains("b.fifo: a FIFO, skipped"), "{err}");
    assert!(err.contains("c.sock: a socket, skipped"), "{err}");
    assert!(err.contains("name it as an argument to read it"), "{err}");
    // A device reached through a followed symlink is skipped too.
    std::os::unix::fs::symlink("/dev/zero", d.join("e.dev")).unwrap();
    let o = run_files(&["-r", "-L", d.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{err}");
    assert_eq!(names(&o), ["a", "d"]);
    assert!(err.contains("e.dev: a character device, skipped"), "{err}");
    // -q keeps stderr quiet; the run is the same.
    let o = run_files(&["-q", "-r", d.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    assert_eq!(stderr(&o), "");
}

#[test]
fn a_fifo_named_on_the_command_line_is_read() {
    let dir = tempdir();
    let fifo = dir.path().join("live");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || write_event(&fifo, "piped"))
    };
    let o = run_files(&[fifo.to_str().unwrap()]);
    writer.join().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(names(&o), ["piped"]);
}

#[test]
fn symlinks_under_recursive_are_followed_only_with_follow() {
    let dir = tempdir();
    let (tree, other) = (dir.path().join("tree"), dir.path().join("other"));
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    write_event(&tree.join("a.ndjson"), "a");
    write_event(&other.join("o.ndjson"), "o");
    std::os::unix::fs::symlink(&other, tree.join("b-dir")).unwrap();
    std::os::unix::fs::symlink(tree.join("a.ndjson"), tree.join("c-file")).unwrap();
    std::os::unix::fs::symlink(tree.join("gone"), tree.join("d-broken")).unwrap();

    let o = run_files(&["-r", tree.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "a symlink is not a failed source: {err}");
    assert_eq!(names(&o), ["a"]);
    for l in ["b-dir", "c-file", "d-broken"] {
        assert!(
            err.contains(&format!("{l}: a symlink, not followed (use -L/--follow")),
            "{err}"
        );
    }

    let o = run_files(&["-r", "--follow", tree.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{err}");
    assert_eq!(names(&o), ["a", "o", "a"]);
    assert!(
        err.contains("d-broken: broken symlink (its target does not exist), skipped"),
        "{err}"
    );
}

#[test]
fn a_symlink_loop_with_follow_is_reported_not_followed_forever() {
    let dir = tempdir();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    write_event(&tree.join("sub/a.ndjson"), "a");
    std::os::unix::fs::symlink("..", tree.join("sub/up")).unwrap();
    let o = run_files(&["-r", "-L", tree.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{err}");
    assert_eq!(names(&o), ["a"]);
    assert!(
        err.contains("sub/up: symlink loop (it leads back to"),
        "{err}"
    );
    assert_eq!(err.matches("symlink loop").count(), 1, "{err}");
}

#[test]
fn stdin_named_twice_is_a_usage_error_before_anything_is_read() {
    let o = run(&["-", "-"], format!("{}\n", event_with("")).as_bytes());
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("`-` (stdin) is named more than once"),
        "{}",
        stderr(&o)
    );
    // The policy is in --help.
    let h = bin().arg("--help").output().unwrap();
    let help = stdout(&h).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("naming it twice is a usage error"), "{help}");
}

fn two_events() -> String {
    format!("{}\n{}\n", event_with(""), event_with(""))
}

/// A zstd skippable frame (magic 0x184D2A5?, little-endian length, payload),
/// as pzstd puts before its frames.
fn skippable(nibble: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x50 | nibble, 0x2a, 0x4d, 0x18];
    f.extend((payload.len() as u32).to_le_bytes());
    f.extend(payload);
    f
}

#[test]
fn zstd_skippable_frames_are_skipped() {
    let plain = two_events();
    let want = stdout(&run_repro(&[], plain.as_bytes()));
    let half = plain.len() / 2;
    let mut data = skippable(0, &[0; 4]);
    data.extend(zstd(&plain.as_bytes()[..half]));
    data.extend(skippable(0xf, b"index"));
    data.extend(zstd(&plain.as_bytes()[half..]));
    let o = run_repro(&[], &data);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), want);
}

#[test]
fn zero_padding_after_gzip_is_accepted_and_other_trailing_data_is_not() {
    let plain = two_events();
    let want = stdout(&run_repro(&[], plain.as_bytes()));
    let mut padded = gzip(plain.as_bytes());
    padded.extend([0u8; 512]);
    let o = run_repro(&[], &padded);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), want);

    let mut junk = gzip(plain.as_bytes());
    junk.extend(b"PADDING?");
    let o = run_repro(&[], &junk);
    assert_eq!(code(&o), 2);
    assert_eq!(stdout(&o), want, "what came before is kept");
    let err = stderr(&o);
    assert!(
        err.contains("-: read failed after line 2: data after the end of the gzip stream that is neither gzip nor zero padding"),
        "{err}"
    );
}

#[test]
fn formats_not_read_fail_their_own_input_once_and_the_run_goes_on() {
    let dir = tempdir();
    let good = dir.path().join("good.ndjson");
    write_event(&good, "good");
    let cases: &[(&str, &[u8], &str)] = &[
        ("a.xz", b"\xfd7zXZ\0\0\x04\xe6\xd6\xb4F", "xz-compressed: decompress or convert it first, e.g. `xz -dc {} | teamlog`"),
        ("a.bz2", b"BZh91AY&SY", "bzip2-compressed: decompress or convert it first, e.g. `bzip2 -dc {} | teamlog`"),
        ("a.lz4", b"\x04\x22\x4d\x18\x64\x40", "lz4-compressed: decompress or convert it first, e.g. `lz4 -dc {} | teamlog`"),
        ("a.zip", b"PK\x03\x04\x14\0\0\0", "a zip archive: decompress or convert it first, e.g. `unzip -p {} | teamlog`"),
        ("a.7z", b"7z\xbc\xaf\x27\x1c\0\x04", "a 7z archive: decompress or convert it first, e.g. `7z x -so {} | teamlog`"),
        ("u16le", b"\xff\xfe{\0\"\0", "UTF-16LE text (byte order mark FF FE): decompress or convert it first, e.g. `iconv -f UTF-16 -t UTF-8 {} | teamlog`"),
        ("u16be", b"\xfe\xff\0{\0\"", "UTF-16BE text (byte order mark FE FF)"),
        ("u32le", b"\xff\xfe\0\0{\0\0\0", "UTF-32LE text (byte order mark FF FE 00 00)"),
        ("u32be", b"\0\0\xfe\xff\0\0\0{", "UTF-32BE text (byte order mark 00 00 FE FF)"),
    ];
    for (name, bytes, want) in cases {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let path = f.to_str().unwrap();
        let o = run_files(&[path, good.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{name}: {err}");
        assert_eq!(names(&o), ["good"], "{name}: the other input is read");
        let want = format!("teamlog: error: {path}: {}", want.replace("{}", path));
        assert_eq!(err.matches(&want).count(), 1, "{name}: {err}");
        assert!(
            err.contains(" 0 rejected"),
            "{name}: no line rejected: {err}"
        );
    }
    // Stdin: the hint names no file.
    let o = run_repro(&[], b"\xfd7zXZ\0\0\x04");
    assert!(
        stderr(&o).contains("e.g. `xz -dc FILE | teamlog`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn log_data_that_could_forge_or_reorder_terminal_lines_is_escaped_in_reject_messages() {
    // A line separator, a paragraph separator, a bidi override, an isolate,
    // a zero-width space and a BOM, inside a value quoted by the reason.
    let nasty = "x\u{2028}teamlog: forged\u{2029}\u{202e}evil\u{2066}\u{200b}\u{feff}";
    let line = event_with("").replacen(
        "2017-01-25T15:51:30Z",
        &nasty.replace('\u{2028}', "\\u2028"),
        1,
    );
    // Raw characters in the JSON too, not only escapes.
    let raw_line = event_with("").replacen("2017-01-25T15:51:30Z", nasty, 1);
    let o = run(&[], format!("{line}\n{raw_line}\n").as_bytes());
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.matches("timestamp").count() >= 2, "{err}");
    for c in [
        '\u{2028}', '\u{2029}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{feff}',
    ] {
        assert!(!err.contains(c), "{:?} reached stderr raw: {err}", c);
    }
    for esc in [
        "\\u{2028}",
        "\\u{2029}",
        "\\u{202e}",
        "\\u{2066}",
        "\\u{200b}",
        "\\u{feff}",
    ] {
        assert!(err.contains(esc), "{esc} missing: {err}");
    }
    // Every stderr line starts as teamlog writes it: nothing forged a line.
    for l in err.lines() {
        assert!(
            l.starts_with("teamlog: ") || l.starts_with("teamlog "),
            "{l}"
        );
    }
}
