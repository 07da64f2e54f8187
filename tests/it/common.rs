//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The `--parse-time` every reproducible test pins.
pub const PARSE_TIME: &str = "2024-01-01T00:00:00Z";

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// The catalogue's example of every Dropbox event type (631 events), which
/// the engine crate owns as data.
pub fn spec_examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/teamlog-core/data/spec_examples.ndjson")
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_teamlog"))
}

/// Starts teamlog with `args` and stdin, stdout and stderr all piped.
pub fn spawn(args: &[&str]) -> Child {
    bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn teamlog")
}

/// Runs teamlog with `args`, feeding `stdin`.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    let mut sin = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    feeder.join().expect("feeder");
    out
}

/// Runs with `--row-id content --parse-time PARSE_TIME` so output is reproducible.
pub fn run_repro(extra: &[&str], stdin: &[u8]) -> Output {
    let mut args = vec!["--row-id", "content", "--parse-time", PARSE_TIME];
    args.extend_from_slice(extra);
    run(&args, stdin)
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Output lines parsed as JSON objects.
pub fn events(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("output line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// A minimal valid raw event, with `extra` JSON members spliced in (e.g. `"actor":{...}`).
pub fn event_with(extra: &str) -> String {
    let mut s = String::from(
        r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":{".tag":"logins"},"event_type":{".tag":"login_success","description":"Signed in"},"details":{".tag":"login_success_details"}"#,
    );
    if !extra.is_empty() {
        s.push(',');
        s.push_str(extra);
    }
    s.push('}');
    s
}

/// A temporary directory for a test's files.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 1).unwrap()
}

/// The reject records written with `--rejects`.
pub fn read_rejects(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs on stdin with `--rejects` and returns (output, reject records).
pub fn run_with_rejects(extra: &[&str], stdin: &[u8]) -> (Output, Vec<serde_json::Value>) {
    let dir = tempdir();
    let rej = dir.path().join("rejects.ndjson");
    let mut args = vec!["--rejects", rej.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run_repro(&args, stdin);
    let r = read_rejects(&rej);
    (o, r)
}

/// The reason teamlog gives for rejecting `line`.
pub fn reject_reason(line: &str) -> String {
    let (o, r) = run_with_rejects(&[], format!("{line}\n").as_bytes());
    assert_eq!(code(&o), 1, "expected a reject for {line}: {}", stderr(&o));
    assert_eq!(r.len(), 1, "one record for one line");
    r[0]["error"].as_str().unwrap().to_string()
}
