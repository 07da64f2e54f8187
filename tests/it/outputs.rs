//! Outputs never destroy, drop or misreport data: outputs checked against
//! inputs and each other before anything is read, reruns of an output
//! directory that report the whole batch (kills at many points, and a
//! property over random trees), write failures that are fatal and name the
//! sink, true "written" counts, permission bits, a dead stderr.
//!
//! Interruptions use the real binary: SIGKILL at several moments, and the
//! hidden `TEAMLOG_TEST_ABORT=output:N|record:N` switch, which aborts the
//! process (nothing cleaned up, like SIGKILL) just after the Nth source's
//! output file is committed (before its record), or just after its record.

use crate::common::*;
use proptest::prelude::*;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Two valid events and one reject whose raw text names the file (`tag`).
fn content(tag: &str) -> String {
    format!(
        "{}\n{{\"broken {tag}\n{}\n",
        event_with(&format!(
            r#""ip_address":"10.0.0.1","context":{{".tag":"team","x":"{tag}"}}"#
        )),
        event_with("")
    )
}

fn assert_refused(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(code(o), 2, "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in: {err}");
    }
    assert!(!err.contains("lines:"), "no work was done: {err}");
    assert!(!err.contains(".teamlog-"), "no temporary names: {err}");
}

#[test]
fn an_output_that_is_an_input_is_refused_before_anything_is_read() {
    let d = tempdir();
    let x = d.path().join("x.ndjson");
    std::fs::write(&x, content("x")).unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&x, &link).unwrap();
    let hard = d.path().join("hard.ndjson");
    std::fs::hard_link(&x, &hard).unwrap();
    for flag in ["--rejects", "--stats", "-o"] {
        for out in [&x, &link] {
            let o = run_repro(&[flag, s(out), s(&x)], b"");
            assert_refused(&o, &[flag, s(out), "is the input", s(&x)]);
        }
    }
    // A hard link is the same file; so is a file redirected to stdin.
    let o = run_repro(&["-o", s(&hard), s(&x)], b"");
    assert_refused(&o, &["is the input"]);
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$0\" -o {} < {}", s(&x), s(&x)))
        .arg(env!("CARGO_BIN_EXE_teamlog"))
        .output()
        .unwrap();
    assert_refused(&o, &["is the input stdin"]);
    assert_eq!(std::fs::read_to_string(&x).unwrap(), content("x"));
}

#[test]
fn two_outputs_that_are_one_file_are_refused() {
    let d = tempdir();
    let x = d.path().join("x.ndjson");
    std::fs::write(&x, content("x")).unwrap();
    let out = d.path().join("out");
    for other in ["--stats", "--rejects"] {
        let o = run_repro(&["-o", s(&out), other, s(&out), s(&x)], b"");
        assert_refused(&o, &["-o", other, "are the same file"]);
    }
    std::fs::write(&out, "old").unwrap();
    let alias = d.path().join("alias");
    std::fs::hard_link(&out, &alias).unwrap();
    let o = run_repro(&["-o", s(&out), "--rejects", s(&alias), s(&x)], b"");
    assert_refused(&o, &["are the same file"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    // Character devices are never "the same output": nothing to destroy.
    let o = run_repro(&["-o", "/dev/null", "--rejects", "/dev/null", s(&x)], b"");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

/// A tree `T/a.ndjson`, `T/sub/b.ndjson` with rejects in both.
fn input_tree(d: &Path) -> PathBuf {
    let t = d.join("T");
    std::fs::create_dir_all(t.join("sub")).unwrap();
    std::fs::write(t.join("a.ndjson"), content("a")).unwrap();
    std::fs::write(t.join("sub/b.ndjson"), content("b")).unwrap();
    t
}

/// Every file under `dir` with its bytes, sorted, leaving out the temporary
/// files a killed run leaves behind (hidden `.teamlog-*`).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    if dir.exists() {
        for e in walkdir::WalkDir::new(dir) {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_file() && !name.starts_with(".teamlog-") {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                v.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn outputs_inside_an_input_tree_are_refused() {
    let d = tempdir();
    let t = input_tree(d.path());
    let before = files(&t);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--output-dir".into(), s(&t).into(), "--force".into()],
            "overlaps the input tree",
        ),
        (
            vec!["--output-dir".into(), s(&t.join("out")).into()],
            "overlaps the input tree",
        ),
        (
            vec!["-o".into(), s(&t.join("all.ndjson")).into()],
            "lies inside the input tree",
        ),
        (
            vec!["--rejects".into(), s(&t.join("sub/r.ndjson")).into()],
            "lies inside the input tree",
        ),
        (
            vec!["--stats".into(), s(&t.join("s.json")).into()],
            "lies inside the input tree",
        ),
        // The tree inside the output directory: outputs would land on inputs.
        (
            vec!["--output-dir".into(), s(d.path()).into()],
            "overlaps the input tree",
        ),
    ];
    for (extra, why) in cases {
        let mut args: Vec<&str> = vec!["-q", "-r", s(&t)];
        args.extend(extra.iter().map(String::as_str));
        let o = run_repro(&args, b"");
        assert_refused(&o, &[why, s(&t)]);
        assert_eq!(files(&t), before, "{args:?} changed the inputs");
    }
}

#[test]
fn an_output_that_cannot_be_created_is_found_before_the_work() {
    let d = tempdir();
    let x = d.path().join("x.ndjson");
    std::fs::write(&x, content("x")).unwrap();
    let o_file = d.path().join("o.ndjson");
    for flag in ["--stats", "--rejects"] {
        let bad = d.path().join("nodir").join("f.json");
        let o = run_repro(&["-o", s(&o_file), flag, s(&bad), s(&x)], b"");
        assert_refused(
            &o,
            &[
                &format!("cannot write {flag} to {}", s(&bad)),
                "No such file",
            ],
        );
        assert!(!o_file.exists(), "-o is not written either");
    }
    // An output that is a directory: named once, with no OS error number.
    let o = run_repro(&["-o", s(d.path()), s(&x)], b"");
    let err = stderr(&o);
    assert_refused(&o, &["cannot write -o to", "is a directory"]);
    assert_eq!(
        err.to_lowercase().matches("is a directory").count(),
        1,
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
}

#[test]
fn a_failed_input_leaves_o_unchanged_and_nothing_counted_as_written() {
    let d = tempdir();
    let x = d.path().join("x.ndjson");
    std::fs::write(&x, content("x")).unwrap();
    let o_file = d.path().join("o.ndjson");
    std::fs::write(&o_file, "old\n").unwrap();
    let stats = d.path().join("s.json");
    let missing = d.path().join("missing.ndjson");
    let o = run_repro(
        &["-o", s(&o_file), "--stats", s(&stats), s(&missing), s(&x)],
        b"",
    );
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert_eq!(std::fs::read_to_string(&o_file).unwrap(), "old\n");
    assert!(err.contains("left unchanged"), "{err}");
    assert!(err.contains("0 events written"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    let st: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(
        st["events"], 2,
        "the valid events are still counted as valid"
    );
    assert_eq!(st["written"], 0);
    assert_eq!(st["failed_sources"], 1);
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs teamlog under `sh` with `umask`.
fn run_umask(umask: &str, args: &[&str]) -> Output {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" {}", quoted.join(" ")))
        .arg(env!("CARGO_BIN_EXE_teamlog"))
        .output()
        .unwrap()
}

#[test]
fn replaced_outputs_keep_their_permission_bits_and_new_ones_get_the_umask() {
    let d = tempdir();
    let t = input_tree(d.path());
    let o_file = d.path().join("o.ndjson");
    let rej = d.path().join("r.ndjson");
    let stats = d.path().join("s.json");
    for p in [&o_file, &rej, &stats] {
        std::fs::write(p, "old").unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let args = [
        "-q",
        "-r",
        s(&t),
        "-o",
        s(&o_file),
        "--rejects",
        s(&rej),
        "--stats",
        s(&stats),
    ];
    assert_eq!(code(&run_umask("022", &args)), 1);
    for p in [&o_file, &rej, &stats] {
        assert_eq!(mode(p), 0o600, "{}", p.display());
        assert_ne!(std::fs::read(p).unwrap(), b"old");
    }
    // New files: the umask decides, like `>`.
    let out = d.path().join("out");
    let new_rej = d.path().join("new-r.ndjson");
    let o = run_umask(
        "027",
        &[
            "-q",
            "-r",
            s(&t),
            "--output-dir",
            s(&out),
            "--rejects",
            s(&new_rej),
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(mode(&out.join("a.ndjson")), 0o640);
    assert_eq!(mode(&new_rej), 0o640);
    // A replaced --output-dir file keeps its bits too.
    std::fs::set_permissions(out.join("a.ndjson"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = run_umask(
        "022",
        &["-q", "-r", s(&t), "--output-dir", s(&out), "--force"],
    );
    assert_eq!(code(&o), 1);
    assert_eq!(mode(&out.join("a.ndjson")), 0o600);
}

#[test]
fn a_closed_or_read_only_stdout_is_refused() {
    let d = tempdir();
    let x = d.path().join("x.ndjson");
    std::fs::write(&x, content("x")).unwrap();
    for (redirect, why) in [(">&-", "it is closed"), ("1<\"$1\"", "reading only")] {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" \"$1\" {redirect}"))
            .arg(env!("CARGO_BIN_EXE_teamlog"))
            .arg(&x)
            .output()
            .unwrap();
        assert_refused(&o, &["cannot write to stdout", why]);
    }
}

#[test]
fn a_rejects_fifo_whose_reader_goes_away_is_fatal() {
    let d = tempdir();
    let fifo = d.path().join("r.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let input = d.path().join("in.ndjson");
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("{}\nbad line {i}\n", event_with("")));
    }
    std::fs::write(&input, &text).unwrap();
    let o_file = d.path().join("o.ndjson");
    let stats = d.path().join("s.json");
    let child = bin()
        .args([
            "-o",
            s(&o_file),
            "--stats",
            s(&stats),
            "--rejects",
            s(&fifo),
            s(&input),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader takes a few bytes and goes away.
    let mut r = std::fs::File::open(&fifo).unwrap();
    let mut buf = [0u8; 100];
    r.read_exact(&mut buf).unwrap();
    drop(r);
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains(&format!("cannot write to {}", s(&fifo))),
        "{err}"
    );
    assert!(!o_file.exists(), "-o is not committed");
    assert!(!stats.exists(), "no stats of a failed run");
    assert!(
        !err.contains("events written"),
        "nothing reported written: {err}"
    );
}

#[test]
fn stdin_with_output_dir_is_always_processed() {
    let d = tempdir();
    let out = d.path().join("out");
    let first = run_repro(&["-q", "--output-dir", s(&out)], content("one").as_bytes());
    assert_eq!(code(&first), 1);
    let o = run_repro(
        &["--output-dir", s(&out)],
        format!("{}\n", event_with("")).as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("skipped"), "{}", stderr(&o));
    let got = std::fs::read_to_string(out.join("stdin.ndjson")).unwrap();
    assert_eq!(
        got.lines().count(),
        1,
        "the second stream replaced the first"
    );
}

#[test]
fn a_failed_source_under_output_dir_is_not_counted_and_is_redone() {
    let d = tempdir();
    let t = d.path().join("T");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("a.ndjson"), content("a")).unwrap();
    let gz = gzip(content("b").repeat(50).as_bytes());
    std::fs::write(t.join("b.ndjson.gz"), &gz[..gz.len() - 30]).unwrap();
    let out = d.path().join("out");
    let stats = d.path().join("s.json");
    let rej = d.path().join("r.ndjson");
    let args = [
        "-r",
        s(&t),
        "--output-dir",
        s(&out),
        "--stats",
        s(&stats),
        "--rejects",
        s(&rej),
    ];
    let o = run_repro(&args, b"");
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        !out.join("b.ndjson").exists(),
        "a failed source's output is discarded"
    );
    let st: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let b = &st["sources"][1];
    assert!(b["events"].as_u64().unwrap() > 0);
    assert_eq!(b["written"], 0);
    assert_eq!(st["sources"][0]["written"], 2);
    assert_eq!(st["written"], 2);
    let in_files: usize = files(&out)
        .iter()
        .filter(|(n, _)| !n.starts_with("_teamlog"))
        .map(|(_, b)| b.iter().filter(|&&c| c == b'\n').count())
        .sum();
    assert_eq!(
        in_files as u64,
        st["written"].as_u64().unwrap(),
        "written = in the files"
    );
    assert!(err.contains("2 events written"), "{err}");
    // Its rejects are still reported.
    let r = read_rejects(&rej);
    assert!(r
        .iter()
        .any(|x| x["source"].as_str().unwrap().ends_with("b.ndjson.gz")));

    // Fixed, the rerun does only it.
    std::fs::write(t.join("b.ndjson.gz"), &gz).unwrap();
    let o = run_repro(&args, b"");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("skipped 1 inputs"), "{}", stderr(&o));
    assert!(out.join("b.ndjson").exists());
}

/// What a batch reports, without what differs between any two runs
/// (timings) or says what this run skipped.
fn comparable_stats(p: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    let m = v.as_object_mut().unwrap();
    for k in ["seconds", "mb_per_s", "events_per_s", "skipped_sources"] {
        m.remove(k);
    }
    v
}

/// The result of a batch: output tree (bookkeeping included), rejects file,
/// stats, exit status.
#[derive(Debug, PartialEq)]
struct Batch {
    tree: Vec<(String, Vec<u8>)>,
    rejects: Vec<u8>,
    stats: serde_json::Value,
    code: i32,
}

/// The README's resume recipe, into `work` (out/, r.ndjson, s.json), with
/// `abort` (the hidden switch) or none. `None` when the run was aborted.
fn recipe(root: &Path, work: &Path, abort: Option<&str>) -> Option<Batch> {
    let out = work.join("out");
    let rej = work.join("r.ndjson");
    let stats = work.join("s.json");
    std::fs::create_dir_all(work).unwrap();
    let mut cmd = bin();
    cmd.args([
        "-q",
        "--row-id",
        "content",
        "--parse-time",
        PARSE_TIME,
        "--threads",
        "2",
    ])
    .args(["-r", s(root), "--output-dir", s(&out)])
    .args(["--rejects", s(&rej), "--stats", s(&stats)])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if let Some(a) = abort {
        cmd.env("TEAMLOG_TEST_ABORT", a);
    }
    let o = cmd.output().unwrap();
    let code = o.status.code()?;
    assert!(code <= 2, "{}", stderr(&o));
    Some(Batch {
        tree: files(&out),
        rejects: std::fs::read(&rej).unwrap(),
        stats: comparable_stats(&stats),
        code,
    })
}

/// A tree of several inputs with rejects, some compressed.
fn archive(d: &Path) -> PathBuf {
    let root = d.join("archive");
    for (rel, tag) in [
        ("2023/a.ndjson", "a"),
        ("2023/b.ndjson.gz", "b"),
        ("2024/01/c.ndjson.zst", "c"),
        ("2024/01/d.ndjson", "d"),
        ("e.ndjson", "e"),
    ] {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let text = content(tag).repeat(20);
        let bytes = if rel.ends_with(".gz") {
            gzip(text.as_bytes())
        } else if rel.ends_with(".zst") {
            zstd(text.as_bytes())
        } else {
            text.into_bytes()
        };
        std::fs::write(p, bytes).unwrap();
    }
    root
}

#[test]
fn a_resumed_or_repeated_batch_reports_what_one_run_does() {
    let d = tempdir();
    let root = archive(d.path());
    let once = recipe(&root, &d.path().join("once"), None).unwrap();
    assert_eq!(once.code, 1);
    assert_eq!(once.stats["sources"].as_array().unwrap().len(), 5);
    assert_eq!(once.rejects.iter().filter(|&&b| b == b'\n').count(), 100);
    // A repeat of the finished batch.
    let again = recipe(&root, &d.path().join("once"), None).unwrap();
    assert_eq!(again, once);
    // Killed at each point of the commit sequence, then run again.
    for (i, point) in ["output:1", "record:1", "output:3", "record:4", "output:5"]
        .iter()
        .enumerate()
    {
        let work = d.path().join(format!("w{i}"));
        assert!(
            recipe(&root, &work, Some(point)).is_none(),
            "{point} aborted"
        );
        let resumed = recipe(&root, &work, None).unwrap();
        assert_eq!(resumed, once, "killed at {point}");
    }
}

#[test]
fn sigkill_at_several_moments_then_rerun_gives_one_runs_result() {
    let d = tempdir();
    let root = archive(d.path());
    // More work per run, so that kills land in the middle.
    for i in 0..20 {
        let p = root.join(format!("bulk/{i:02}.ndjson"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content(&i.to_string()).repeat(300)).unwrap();
    }
    let once = recipe(&root, &d.path().join("once"), None).unwrap();
    for (i, ms) in [5u64, 20, 60, 150].iter().enumerate() {
        let work = d.path().join(format!("k{i}"));
        std::fs::create_dir_all(&work).unwrap();
        let out = work.join("out");
        let mut child = bin()
            .args(["-q", "--row-id", "content", "--parse-time", PARSE_TIME])
            .args(["-r", s(&root), "--output-dir", s(&out)])
            .args(["--rejects", s(&work.join("r.ndjson"))])
            .args(["--stats", s(&work.join("s.json"))])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(*ms));
        let _ = child.kill();
        child.wait().unwrap();
        let resumed = recipe(&root, &work, None).unwrap();
        assert_eq!(resumed, once, "killed after {ms} ms");
    }
}

#[test]
fn a_dead_stderr_never_panics_and_the_work_is_done() {
    let d = tempdir();
    let x = d.path().join("x.ndjson");
    std::fs::write(&x, content("x").repeat(50)).unwrap();
    let o_file = d.path().join("o.ndjson");
    // stderr is a pipe whose reader is gone before teamlog writes to it.
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let status = bin()
        .args(["-o", s(&o_file), s(&x)])
        .stdin(Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "rejects earn 1; no panic (101)");
    assert_eq!(
        std::fs::read_to_string(&o_file).unwrap().lines().count(),
        100
    );
}

/// One input file of a random tree: how many lines of each kind, and
/// whether it is gzipped.
#[derive(Debug, Clone)]
struct GenFile {
    dir: u8,
    valid: u8,
    bad: u8,
    gz: bool,
}

fn gen_file() -> impl Strategy<Value = GenFile> {
    (0u8..3, 0u8..6, 0u8..4, any::<bool>()).prop_map(|(dir, valid, bad, gz)| GenFile {
        dir,
        valid,
        bad,
        gz,
    })
}

fn write_tree(root: &Path, spec: &[GenFile]) {
    for (i, f) in spec.iter().enumerate() {
        let mut text = String::new();
        for v in 0..f.valid {
            text.push_str(&event_with(&format!(
                r#""context":{{".tag":"team","n":"{i}-{v}"}}"#
            )));
            text.push('\n');
        }
        for b in 0..f.bad {
            text.push_str(&format!("not json {i}-{b}\n"));
        }
        let name = format!("d{}/f{i:02}.ndjson{}", f.dir, if f.gz { ".gz" } else { "" });
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let bytes = if f.gz {
            gzip(text.as_bytes())
        } else {
            text.into_bytes()
        };
        let mut out = std::fs::File::create(p).unwrap();
        out.write_all(&bytes).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// For random trees of inputs with rejects and random interruption
    /// points, rerunning until done gives the outputs, rejects and stats of
    /// one run.
    #[test]
    fn rerun_until_done_equals_one_run(
        spec in prop::collection::vec(gen_file(), 1..7),
        aborts in prop::collection::vec((any::<bool>(), 1u8..7), 0..4),
    ) {
        let d = tempdir();
        let root = d.path().join("in");
        write_tree(&root, &spec);
        let once = recipe(&root, &d.path().join("once"), None).unwrap();
        let work = d.path().join("work");
        for (after_record, n) in &aborts {
            let point = format!("{}:{n}", if *after_record { "record" } else { "output" });
            // A point past the sources left finishes the run instead.
            if let Some(b) = recipe(&root, &work, Some(&point)) {
                prop_assert_eq!(&b, &once, "a run that finished at {}", point);
            }
        }
        let done = recipe(&root, &work, None).unwrap();
        prop_assert_eq!(done, once);
    }
}

#[test]
fn an_error_says_its_cause_once_without_os_error_numbers() {
    let d = tempdir();
    let schema = d.path().join("bad.yml");
    // A known key only: an unknown one would be reported first, as unknown.
    std::fs::write(&schema, "version: 1\n").unwrap();
    let o = run(&["--schema", s(&schema)], b"");
    let err = stderr(&o);
    assert_eq!(code(&o), 2);
    assert_eq!(err.matches("missing field").count(), 1, "{err}");
    let o = run(&["--schema", s(d.path())], b"");
    let err = stderr(&o);
    assert_eq!(code(&o), 2);
    assert!(err.contains(s(d.path())), "{err}");
    assert!(!err.contains("os error"), "{err}");
}

#[test]
fn names_that_are_not_utf8_keep_distinct_outputs_and_records() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempdir();
    let t = d.path().join("T");
    std::fs::create_dir_all(&t).unwrap();
    // A name with a stray byte, and the name a lossy conversion makes of it.
    let raw = std::ffi::OsStr::from_bytes(b"\xff.ndjson");
    std::fs::write(t.join(raw), content("raw")).unwrap();
    std::fs::write(t.join("\u{fffd}.ndjson"), content("lossy").repeat(2)).unwrap();
    let out = d.path().join("out");
    let args = ["-q", "-r", s(&t), "--output-dir", s(&out)];
    let o = run_repro(&args, b"");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let events = |name: &std::ffi::OsStr| {
        std::fs::read_to_string(out.join(name))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(events(raw), 2);
    assert_eq!(events("\u{fffd}.ndjson".as_ref()), 4);
    // Both are done: a rerun skips them.
    let o = run_repro(&["-r", s(&t), "--output-dir", s(&out)], b"");
    assert!(stderr(&o).contains("skipped 2 inputs"), "{}", stderr(&o));
}
