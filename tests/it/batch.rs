//! Batch reprocessing: trees of mixed files, per-source accounting,
//! --output-dir with resume, --compress, --source-label-from-path, progress.

use crate::common::*;
use std::path::Path;
use std::process::Stdio;

fn named(name: &str) -> String {
    event_with(&format!(
        r#""context":{{".tag":"team","display_name":"{name}"}}"#
    ))
}

/// archive/
///   2023/a.ndjson        2 events
///   2023/b.json.gz       1 event + 1 bad line
///   2024/01/c.zst        3 events
///   2024/empty.ndjson    empty
///   junk.txt             garbage (2 lines)
fn archive(root: &Path) {
    let w = |rel: &str, data: Vec<u8>| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    w(
        "2023/a.ndjson",
        format!("{}\n{}\n", named("a1"), named("a2")).into_bytes(),
    );
    w(
        "2023/b.json.gz",
        gzip(format!("{}\nnot json\n", named("b1")).as_bytes()),
    );
    w(
        "2024/01/c.zst",
        zstd(format!("{}\n\n{}\n{}\n", named("c1"), named("c2"), named("c3")).as_bytes()),
    );
    w("2024/empty.ndjson", Vec::new());
    w("junk.txt", b"\x00\x01garbage\nmore garbage".to_vec());
}

/// A temporary directory holding [`archive`] as `archive/`.
fn archive_in_tempdir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempdir();
    let root = dir.path().join("archive");
    archive(&root);
    (dir, root)
}

fn names(o: &std::process::Output) -> Vec<String> {
    events(o)
        .iter()
        .map(|e| e["context"]["display_name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn recursive_run_is_ordered_and_accounted_per_file() {
    let (dir, root) = archive_in_tempdir();
    let stats = dir.path().join("stats.json");
    let o = run_repro(
        &[
            "-r",
            root.to_str().unwrap(),
            "--stats",
            stats.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&o), 1);
    assert_eq!(names(&o), ["a1", "a2", "b1", "c1", "c2", "c3"]);
    let err = stderr(&o);
    assert!(
        err.contains("rejects in") && err.contains("b.json.gz (1)") && err.contains("junk.txt (2)"),
        "{err}"
    );

    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let per: Vec<&serde_json::Value> = s["sources"].as_array().unwrap().iter().collect();
    let rel: Vec<String> = per
        .iter()
        .map(|p| {
            Path::new(p["source"].as_str().unwrap())
                .strip_prefix(&root)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        rel,
        [
            "2023/a.ndjson",
            "2023/b.json.gz",
            "2024/01/c.zst",
            "2024/empty.ndjson",
            "junk.txt"
        ]
    );
    let col = |k: &str| per.iter().map(|p| p[k].clone()).collect::<Vec<_>>();
    assert_eq!(col("compression"), ["none", "gzip", "zstd", "none", "none"]);
    assert_eq!(col("events"), [2, 1, 3, 0, 0]);
    assert_eq!(col("rejected"), [0, 1, 0, 0, 2]);
    assert_eq!(col("blank"), [0, 0, 1, 0, 0]);
    assert_eq!(col("lines"), [2, 2, 4, 0, 2]);
    assert_eq!(
        per[4]["rejected_by_reason"],
        serde_json::json!({"invalid JSON": 2})
    );
    assert_eq!(
        per[1]["rejected_by_reason"],
        serde_json::json!({"invalid JSON": 1})
    );
    assert!(per[1]["size"].as_u64().unwrap() > 0);
    assert!(per[2]["bytes_out"].as_u64().unwrap() > per[2]["bytes_in"].as_u64().unwrap() / 2);
    assert_eq!(s["events"], 6);
}

fn output_dir_run(root: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "-q",
        "-r",
        root.to_str().unwrap(),
        "--output-dir",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_repro(&args, b"")
}

/// The output files under `dir` with their bytes (without the `_teamlog/`
/// bookkeeping, which `outputs.rs` tests).
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree_all(dir)
        .into_iter()
        .filter(|(n, _)| !n.starts_with("_teamlog/"))
        .collect()
}

fn tree_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walk(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn output_dir_mirrors_the_tree_and_skips_what_is_done() {
    let (dir, root) = archive_in_tempdir();
    let out = dir.path().join("out");
    let o = output_dir_run(&root, &out, &[]);
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "", "events go to the files");
    let files: Vec<String> = tree(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        files,
        [
            "2023/a.ndjson",
            "2023/b.ndjson",
            "2024/01/c.ndjson",
            "2024/empty.ndjson",
            "junk.ndjson"
        ]
    );
    let (_, c) = tree(&out)
        .into_iter()
        .find(|(n, _)| n == "2024/01/c.ndjson")
        .unwrap();
    let single = run_repro(&[root.join("2024/01/c.zst").to_str().unwrap()], b"");
    assert_eq!(c, single.stdout, "same bytes as processing the file alone");

    // A second run finds everything done, and reports the batch as the
    // first run did (the same exit status, the same counts).
    let dir2 = tempdir();
    let stats = dir2.path().join("s.json");
    let again = output_dir_run(&root, &out, &["--stats", stats.to_str().unwrap()]);
    assert_eq!(code(&again), 1);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["skipped_sources"].as_array().unwrap().len(), 5);
    assert_eq!(s["lines"], 10);
    assert_eq!(s["written"], 6);
    // --force redoes them, with the same result.
    let before = tree(&out);
    assert_eq!(code(&output_dir_run(&root, &out, &["--force"])), 1);
    assert_eq!(tree(&out), before);
}

#[test]
fn killed_run_resumes_to_the_same_bytes() {
    let (dir, root) = archive_in_tempdir();
    // The uninterrupted result.
    let whole = dir.path().join("whole");
    output_dir_run(&root, &whole, &[]);

    // A run that hangs on a FIFO after the first files, then is killed.
    let fifo = root.join("2024/01/d.ndjson");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = dir.path().join("out");
    // `-r` skips FIFOs, so the tree's files are named one by one, in the
    // order `-r` reads them, placed as `-r` places them (--relative-to);
    // a FIFO named on the command line is read, so the run hangs there.
    let mut files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(&root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| !p.is_dir())
        .collect();
    files.sort_by(|a, b| a.components().cmp(b.components()));
    let mut child = bin()
        .args([
            "-q",
            "--relative-to",
            root.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ])
        .args(["--row-id", "content", "--parse-time", PARSE_TIME])
        .args(&files)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = out.join("2024/01/c.ndjson");
    for _ in 0..500 {
        if done.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(done.exists(), "files before the FIFO were finished");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join("2024/01/d.ndjson").exists());
    assert!(
        !out.join("2024/empty.ndjson").exists(),
        "nothing after the hang was written"
    );

    // Replace the FIFO by the real file and start again.
    std::fs::remove_file(&fifo).unwrap();
    std::fs::write(&fifo, format!("{}\n", named("d1"))).unwrap();
    let whole_with_d = dir.path().join("whole2");
    output_dir_run(&root, &whole_with_d, &[]);
    let resumed = output_dir_run(&root, &out, &[]);
    assert_eq!(code(&resumed), 1);
    let strip_tmp = |t: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        t.into_iter()
            .filter(|(n, _)| !n.contains(".teamlog-"))
            .collect()
    };
    assert_eq!(strip_tmp(tree_all(&out)), tree_all(&whole_with_d));
    assert!(tree(&whole_with_d).len() == tree(&whole).len() + 1);
}

/// What a distributed runner relies on: one file of a tree, run alone with
/// `--relative-to TREE`, gets the output path and bytes the whole-tree run
/// gives it; a file outside TREE is refused before anything is written.
#[test]
fn relative_to_places_one_file_as_the_tree_run_does() {
    let (dir, root) = archive_in_tempdir();
    let whole = dir.path().join("whole");
    output_dir_run(&root, &whole, &["--compress", "gzip"]);
    let expected: Vec<(String, Vec<u8>)> = tree(&whole)
        .into_iter()
        .filter(|(n, _)| n == "2024/01/c.ndjson.gz")
        .collect();
    assert_eq!(expected.len(), 1);

    let one = dir.path().join("one");
    let file = root.join("2024/01/c.zst");
    let o = run_repro(
        &[
            "-q",
            "--relative-to",
            root.to_str().unwrap(),
            "--output-dir",
            one.to_str().unwrap(),
            "--compress",
            "gzip",
            file.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(tree(&one), expected);

    let outside = dir.path().join("outside.ndjson");
    std::fs::write(&outside, format!("{}\n", named("x"))).unwrap();
    let refused = dir.path().join("refused");
    let o = run_repro(
        &[
            "--relative-to",
            root.to_str().unwrap(),
            "--output-dir",
            refused.to_str().unwrap(),
            file.to_str().unwrap(),
            outside.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}: not under --relative-to", outside.display())),
        "{err}"
    );
    assert!(!refused.exists(), "nothing written for a refused run");
}

#[test]
fn compressed_outputs_decompress_to_the_plain_ones() {
    let (dir, root) = archive_in_tempdir();
    let plain = dir.path().join("plain");
    output_dir_run(&root, &plain, &[]);
    for (kind, ext) in [("gzip", "gz"), ("zstd", "zst")] {
        let out = dir.path().join(kind);
        output_dir_run(&root, &out, &["--compress", kind]);
        for (name, bytes) in tree(&plain) {
            let packed = std::fs::read(out.join(format!("{name}.{ext}"))).unwrap();
            // teamlog reads its own compressed output back: same events.
            let back = run_repro(&["-q"], &packed);
            let again = run_repro(&["-q"], &bytes);
            assert_eq!(back.stdout, again.stdout, "{kind} {name}");
        }
    }
}

#[test]
fn source_label_from_path() {
    let (_dir, root) = archive_in_tempdir();
    let o = run_repro(
        &[
            "-q",
            "-r",
            root.to_str().unwrap(),
            "--source-label-from-path",
        ],
        b"",
    );
    let labels: Vec<String> = events(&o)
        .iter()
        .map(|e| e["p_source_label"].as_str().unwrap().to_string())
        .collect();
    assert!(labels[0].ends_with("2023/a.ndjson"), "{labels:?}");
    assert!(labels[5].ends_with("2024/01/c.zst"), "{labels:?}");
    assert_eq!(
        code(&run(
            &["--source-label", "x", "--source-label-from-path"],
            b""
        )),
        2
    );
}

#[test]
fn progress_is_forced_onto_a_pipe_and_drawn_on_a_terminal() {
    let f = spec_examples();
    let o = run(&["--progress", f.to_str().unwrap()], b"");
    assert!(stderr(&o).contains("teamlog: progress: "), "{}", stderr(&o));
    assert!(
        !stderr(&run(&[f.to_str().unwrap()], b"")).contains("progress"),
        "quiet when not a terminal"
    );
    assert!(!stderr(&run(&["-q", "--progress", f.to_str().unwrap()], b"")).contains("progress"));

    // Under a pseudo-terminal (util-linux `script`), the bar is drawn.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let cmd = format!(
        "{} {} > /dev/null",
        env!("CARGO_BIN_EXE_teamlog"),
        f.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" events ") && text.contains("rejected") && text.contains("MB/s"),
        "{text:?}"
    );
    assert!(text.contains("teamlog: 631 lines"), "{text:?}");
}

#[test]
fn many_small_compressed_files_in_parallel_keep_path_order() {
    let dir = tempdir();
    let root = dir.path().join("many");
    for i in 0..60 {
        let body = format!(
            "{}\n{}\n",
            named(&format!("{i:03}a")),
            named(&format!("{i:03}b"))
        );
        let data = if i % 2 == 0 {
            gzip(body.as_bytes())
        } else {
            zstd(body.as_bytes())
        };
        let p = root.join(format!("d{}/{i:03}.gz", i % 3));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let one = run_repro(&["-q", "-r", "--threads", "1", root.to_str().unwrap()], b"");
    let many = run_repro(&["-q", "-r", "--threads", "6", root.to_str().unwrap()], b"");
    assert_eq!(one.stdout, many.stdout);
    let n = names(&many);
    assert_eq!(n.len(), 120);
    // Path order: d0/ first (000, 003, ...), then d1/, then d2/.
    assert_eq!(&n[..4], ["000a", "000b", "003a", "003b"]);
    assert_eq!(n[40], "001a");
}

/// With several readers and a sequencer, a failing writer must stop them all
/// (no hang): /dev/full and a closed pipe over a many-file tree.
#[test]
fn write_failure_over_many_files_ends_the_run() {
    let dir = tempdir();
    let root = dir.path().join("many");
    std::fs::create_dir_all(&root).unwrap();
    let body: String = (0..2000)
        .map(|i| format!("{}\n", named(&i.to_string())))
        .collect();
    for i in 0..12 {
        std::fs::write(root.join(format!("{i:02}.gz")), gzip(body.as_bytes())).unwrap();
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = bin()
        .args([
            "-q",
            "-r",
            "--threads",
            "4",
            "--chunk-size",
            "64K",
            root.to_str().unwrap(),
        ])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut child = bin()
        .args([
            "-q",
            "-r",
            "--threads",
            "4",
            "--chunk-size",
            "64K",
            root.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn the_summary_names_the_first_20_inputs_with_rejects_and_counts_the_rest() {
    let dir = tempdir();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for i in 0..25 {
        std::fs::write(input.join(format!("f{i:02}.ndjson")), "not json\n").unwrap();
    }
    let stats = dir.path().join("stats.json");
    let o = run(
        &[
            "-r",
            input.to_str().unwrap(),
            "--stats",
            stats.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.starts_with("teamlog: rejects in "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("f00.ndjson (1)") && line.contains("f19.ndjson (1)"),
        "{line}"
    );
    assert!(!line.contains("f20.ndjson"), "{line}");
    assert!(
        line.ends_with(" and 5 more inputs (--stats lists every input)"),
        "{line}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let with: Vec<&serde_json::Value> = s["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["rejected"] == 1)
        .collect();
    assert_eq!(with.len(), 25, "--stats keeps every input");
}

#[test]
fn per_input_entries_need_a_temporary_file_only_for_a_large_batch() {
    // A few inputs' entries stay in memory: no TMPDIR is needed. Thousands
    // go to a temporary file, and a TMPDIR that cannot hold one is a fatal
    // error that says where and what to do, before the summary.
    let dir = tempdir();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let line = format!("{}\n", event_with(""));
    for i in 0..3 {
        std::fs::write(input.join(format!("{i}.ndjson")), &line).unwrap();
    }
    let stats = dir.path().join("stats.json");
    let missing = dir.path().join("no-such-tmp");
    let with_tmpdir = |input: &Path| {
        bin()
            .env("TMPDIR", &missing)
            .args([
                "-r",
                input.to_str().unwrap(),
                "--stats",
                stats.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = with_tmpdir(&input);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(events(&o).len(), 3);

    let many = dir.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..6000 {
        std::fs::write(many.join(format!("{i:04}.ndjson")), &line).unwrap();
    }
    let o = with_tmpdir(&many);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("cannot use a temporary file (set TMPDIR") && err.contains("no-such-tmp"),
        "{err}"
    );
}
