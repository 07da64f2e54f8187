//! `--format parquet`, checked with a real client: DuckDB (the Python
//! package, in the venv `.ci/setup-python` makes) reads what teamlog wrote,
//! and every row must equal the NDJSON output of the same run flags. The
//! interpreter is $TEAMLOG_PYTHON, else `.venv/bin/python`; without DuckDB
//! these tests say so and pass, except under CI (env CI set), where they fail.

use crate::common::*;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use teamlog::sinks::parquet::schema::{columns, Kind, Scalar};
use teamlog_core::schema::Plan;

/// The Python with DuckDB, or `None` (after saying so) when there is none.
fn duckdb_python() -> Option<PathBuf> {
    let py = std::env::var_os("TEAMLOG_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let ok = Command::new(&py)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} cannot import duckdb; run .ci/setup-python",
        py.display()
    );
    eprintln!(
        "skipped: {} cannot import duckdb (run .ci/setup-python)",
        py.display()
    );
    None
}

const QUERY_PY: &str = r#"
import sys, json, duckdb
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
for stmt in sys.argv[2:]:
    con.execute(stmt)
print(json.dumps([row for (row,) in con.execute(sys.argv[1]).fetchall()]))
"#;

/// Runs `query` (after `setup` statements) in DuckDB; its one column, one
/// string per row.
fn duckdb(py: &Path, query: &str, setup: &[&str]) -> Vec<String> {
    let o = Command::new(py)
        .args(["-c", QUERY_PY, query])
        .args(setup)
        .output()
        .expect("run python");
    assert!(
        o.status.success(),
        "duckdb failed on {query}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&o.stdout);
        panic!(
            "{query}: not a JSON list of rows ({e}): {}",
            &text[..text.len().min(2000)]
        )
    })
}

/// Every row of `from` (a `read_parquet(...)` expression) as JSON objects.
fn table_rows(py: &Path, from: &str) -> Vec<Value> {
    duckdb(
        py,
        &format!("SELECT to_json(t)::VARCHAR FROM {from} t"),
        &[],
    )
    .iter()
    .map(|l| serde_json::from_str(l).expect("DuckDB writes JSON"))
    .collect()
}

fn lake(dir: &Path) -> String {
    format!(
        "read_parquet('{}/**/*.parquet', hive_partitioning = true)",
        dir.display()
    )
}

/// Microseconds of an output timestamp (`2024-01-01 00:00:00.123456789`) or
/// of DuckDB's TIMESTAMPTZ text (`2024-01-01 00:00:00.123456+00`): DuckDB
/// reads TIMESTAMP(NANOS, UTC) at microsecond precision.
fn micros(text: &str) -> i64 {
    let t = text.strip_suffix("+00").unwrap_or(text);
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let dt = chrono::NaiveDateTime::parse_from_str(whole, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    let frac: String = frac.chars().chain("000000".chars()).take(6).collect();
    dt.and_utc().timestamp() * 1_000_000 + frac.parse::<i64>().expect("digits")
}

/// The value the table must hold for an NDJSON value of this kind.
fn expected(kind: &Kind, raw: Option<&RawValue>) -> Value {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Value::Null;
    };
    match kind {
        Kind::Scalar(Scalar::Json) => Value::String(raw.get().to_string()),
        Kind::Scalar(Scalar::Timestamp) => {
            let s: String = serde_json::from_str(raw.get()).expect("a timestamp string");
            micros(&s).into()
        }
        Kind::Scalar(Scalar::Double) => serde_json::from_str::<f64>(raw.get())
            .expect("a number")
            .into(),
        Kind::Struct(cols) => {
            let members: BTreeMap<String, &RawValue> =
                serde_json::from_str(raw.get()).expect("an object");
            for k in members.keys() {
                assert!(cols.iter().any(|c| &c.name == k), "undeclared key {k}");
            }
            Value::Object(
                cols.iter()
                    .map(|c| {
                        (
                            c.name.clone(),
                            expected(&c.kind, members.get(&c.name).copied()),
                        )
                    })
                    .collect(),
            )
        }
        Kind::List(e) => {
            let items: Vec<&RawValue> = serde_json::from_str(raw.get()).expect("an array");
            if items.is_empty() {
                Value::Null
            } else {
                items.into_iter().map(|i| expected(e, Some(i))).collect()
            }
        }
        _ => serde_json::from_str(raw.get()).expect("JSON"),
    }
}

/// A DuckDB row value in the same form as [`expected`]'s.
fn actual(kind: &Kind, v: &Value) -> Value {
    match (kind, v) {
        (_, Value::Null) => Value::Null,
        (Kind::Scalar(Scalar::Timestamp), Value::String(s)) => micros(s).into(),
        (Kind::Scalar(Scalar::Double), v) => v.as_f64().expect("a number").into(),
        (Kind::Struct(cols), Value::Object(m)) => {
            assert_eq!(m.len(), cols.len(), "members of {v}");
            Value::Object(
                cols.iter()
                    .map(|c| (c.name.clone(), actual(&c.kind, &m[&c.name])))
                    .collect(),
            )
        }
        (Kind::List(e), Value::Array(items)) => items.iter().map(|i| actual(e, i)).collect(),
        _ => v.clone(),
    }
}

fn root(plan: &Plan) -> Kind {
    Kind::Struct(columns(plan))
}

/// The NDJSON lines of a file, as the table must hold them, with each one's
/// event date.
fn expected_rows(plan: &Plan, ndjson: &Path) -> Vec<(Value, String)> {
    let text = std::fs::read_to_string(ndjson).unwrap();
    text.lines()
        .map(|l| {
            let raw: &RawValue = serde_json::from_str(l).unwrap();
            let v = expected(&root(plan), Some(raw));
            let day = v_event_date(l);
            (v, day)
        })
        .collect()
}

fn v_event_date(line: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap();
    v["p_event_time"].as_str().expect("p_event_time")[..10].to_string()
}

/// Runs teamlog with the reproducible flags; returns stderr after checking the exit code.
fn teamlog(args: &[&str], want: i32) -> String {
    let o = run_repro(args, b"");
    assert_eq!(code(&o), want, "teamlog {args:?}: {}", stderr(&o));
    stderr(&o)
}

/// Counts of `--stats`, without the timing fields.
fn stats_counts(p: &Path) -> Value {
    let mut v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    for k in ["seconds", "mb_per_s", "events_per_s"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A generated corpus spanning many days, with bad lines among the events.
fn generated(dir: &Path, count: u32) -> PathBuf {
    let p = dir.join("generated.ndjson");
    let o = bin()
        .args([
            "generate",
            "--count",
            &count.to_string(),
            "--invalid-rate",
            "0.02",
            "-o",
        ])
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    p
}

/// Runs NDJSON and both Parquet layouts on `inputs` with `extra` flags and
/// checks that DuckDB reads every NDJSON row back from each; returns the
/// number of partitions.
fn check_equal(py: &Path, plan: &Plan, inputs: &[&Path], extra: &[&str]) -> usize {
    let d = tempdir();
    let (nd, one, lakedir) = (
        d.path().join("out.ndjson"),
        d.path().join("one.parquet"),
        d.path().join("lake"),
    );
    let ins: Vec<&str> = inputs.iter().map(|p| s(p)).collect();
    let run_with = |out: &[&str], name: &str| -> (String, Value, Vec<u8>) {
        let (st, rj) = (
            d.path().join(format!("{name}.stats")),
            d.path().join(format!("{name}.rejects")),
        );
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(out);
        args.extend(["--stats", s(&st), "--rejects", s(&rj)]);
        args.extend(&ins);
        let rc = run_repro(&args, b"");
        let (c, e) = (code(&rc), stderr(&rc));
        assert!(c == 0 || c == 1, "teamlog {args:?}: {e}");
        (e, stats_counts(&st), std::fs::read(&rj).unwrap())
    };
    let (_, nd_stats, nd_rejects) = run_with(&["-o", s(&nd)], "ndjson");
    let (_, one_stats, one_rejects) = run_with(&["--format", "parquet", "-o", s(&one)], "one");
    let (_, lake_stats, lake_rejects) = run_with(
        &["--format", "parquet", "--output-dir", s(&lakedir)],
        "lake",
    );
    assert_eq!(one_stats, nd_stats, "-o FILE stats");
    assert_eq!(one_rejects, nd_rejects, "-o FILE rejects");
    assert_eq!(lake_stats, nd_stats, "--output-dir stats");
    assert_eq!(lake_rejects, nd_rejects, "--output-dir rejects");

    let want = expected_rows(plan, &nd);
    assert!(!want.is_empty());
    assert_eq!(
        nd_stats["events"].as_u64(),
        Some(want.len() as u64),
        "rows = events written"
    );
    let kind = root(plan);

    // -o FILE: the rows in input order.
    let got: Vec<Value> = table_rows(py, &format!("read_parquet('{}')", s(&one)))
        .iter()
        .map(|r| actual(&kind, r))
        .collect();
    assert_eq!(got.len(), want.len(), "-o FILE rows");
    for (i, (g, (w, _))) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "-o FILE row {i}");
    }

    // --output-dir: the same rows (in partition order), each in the
    // partition of its p_event_time's date.
    let mut got: Vec<String> = table_rows(py, &lake(&lakedir))
        .into_iter()
        .map(|mut r| {
            let day = r
                .as_object_mut()
                .unwrap()
                .remove("p_event_date")
                .expect("the partition column");
            let row = actual(&kind, &r);
            format!("{} {row}", day.as_str().unwrap())
        })
        .collect();
    let mut want: Vec<String> = want.iter().map(|(w, day)| format!("{day} {w}")).collect();
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len(), "--output-dir rows");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    assert_only_table_files(&lakedir);
    std::fs::read_dir(&lakedir).unwrap().count() - 1
}

/// Nothing but partition directories with `.parquet` files, and `_` bookkeeping.
fn assert_only_table_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name.starts_with('_') {
            continue;
        }
        assert!(
            name.starts_with("p_event_date=") && e.path().is_dir(),
            "{name} in {}",
            dir.display()
        );
        for f in std::fs::read_dir(e.path()).unwrap() {
            let f = f.unwrap().file_name().into_string().unwrap();
            assert!(f.ends_with(".parquet") && !f.starts_with('.'), "{name}/{f}");
        }
    }
}

#[test]
fn duckdb_reads_back_every_ndjson_row_of_the_corpus_and_fixtures() {
    let Some(py) = duckdb_python() else { return };
    let d = tempdir();
    let gen = generated(d.path(), 1500);
    let (spec, real) = (spec_examples(), fixture("dropbox/real_events.ndjson"));
    let days = check_equal(
        &py,
        &Plan::dropbox(),
        &[&gen, &spec, &real],
        &["--threads", "2"],
    );
    assert!(days > 365, "the corpus covers {days} days");
}

#[test]
fn a_custom_schema_round_trips_nested_objects_arrays_and_scalars() {
    let Some(py) = duckdb_python() else { return };
    let d = tempdir();
    let schema = d.path().join("custom.yml");
    std::fs::write(&schema, CUSTOM_SCHEMA).unwrap();
    let input = d.path().join("in.ndjson");
    std::fs::write(&input, CUSTOM_EVENTS).unwrap();
    let plan = Plan::from_file(&schema).unwrap();
    let days = check_equal(&py, &plan, &[&input], &["--schema", s(&schema)]);
    assert_eq!(days, 3);
}

const CUSTOM_SCHEMA: &str = r#"schema: Custom.Nested
version: 3
fields:
  - name: time
    required: true
    type: timestamp
    timeFormat: rfc3339
    isEventTime: true
  - name: seen_at
    type: timestamp
    timeFormat: unix_ms
  - name: small
    type: smallint
  - name: count
    type: int
  - name: big
    type: bigint
  - name: ratio
    type: float
  - name: ok
    type: boolean
  - name: who
    type: object
    fields:
      - name: name
        type: string
        indicators: [username]
      - name: addr
        type: object
        fields:
          - name: ip
            type: string
            indicators: [ip]
          - name: ports
            type: array
            element:
              type: int
  - name: items
    type: array
    element:
      type: object
      fields:
        - name: id
          type: bigint
        - name: tags
          type: array
          element:
            type: string
        - name: raw
          type: json
  - name: extra
    type: json
"#;

const CUSTOM_EVENTS: &str = concat!(
    r#"{"time":"2024-02-29T23:59:59.123456789Z","seen_at":1709251199123,"small":-32768,"count":2147483647,"big":-9223372036854775808,"ratio":0.1,"ok":true,"who":{"name":"ann","addr":{"ip":"10.0.0.1","ports":[22,443]}},"items":[{"id":1,"tags":["a","b\"c"],"raw":{"k":[1,2,{"z":null}]}},{"id":2,"tags":[],"raw":"\ud83d\ude00"}],"extra":{"s":"\u00e9\n","n":1e3}}"#,
    "\n",
    r#"{"time":"2024-03-01T00:00:00Z","who":{},"items":[],"extra":null,"ratio":-1.5e-7,"ok":false}"#,
    "\n",
    r#"{"time":"1999-12-31T23:59:59Z","who":{"addr":{"ports":[]}},"items":[{}],"extra":[1,"x"]}"#,
    "\n",
    r#"{"time":"2024-03-01T00:00:00Z","small":70000}"#,
    "\n",
);

#[test]
fn timestamps_parquet_cannot_hold_are_rejected_naming_field_and_range() {
    let d = tempdir();
    let input = d.path().join("in.ndjson");
    std::fs::write(
        &input,
        concat!(
            r#"{"timestamp":"1500-01-25T15:51:30Z","event_category":"logins","event_type":{".tag":"login_success"},"details":{}}"#,
            "\n",
            r#"{"timestamp":"2017-01-25T15:51:30Z","event_category":"logins","event_type":{".tag":"login_success"},"details":{}}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = d.path().join("o.parquet");
    let e = teamlog(&["--format", "parquet", "-o", s(&out), s(&input)], 1);
    assert!(
        e.contains("timestamp: expected a time Parquet's TIMESTAMP(NANOS) holds (1677-09-21")
            && e.contains("2262-04-11")
            && e.contains("1500-01-25 15:51:30.000000000"),
        "{e}"
    );
    assert!(e.contains("1 events written, 1 rejected"), "{e}");
    // NDJSON has no such limit.
    let e = teamlog(&["-o", s(&d.path().join("o.ndjson")), s(&input)], 0);
    assert!(e.contains("2 events written"), "{e}");
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir(dir) {
        let rel = e.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        out.insert(rel, std::fs::read(&e).unwrap());
    }
    out
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files
}

#[test]
fn files_are_byte_identical_across_runs_and_reruns_write_nothing() {
    let d = tempdir();
    let gen = generated(d.path(), 400);
    let spec = spec_examples();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    for (dir, threads) in [(&a, "1"), (&b, "2")] {
        teamlog(
            &[
                "--format",
                "parquet",
                "--threads",
                threads,
                "--output-dir",
                s(dir),
                s(&gen),
                s(&spec),
            ],
            1,
        );
    }
    let first = tree(&a);
    assert!(first.keys().any(|k| k.ends_with(".parquet")));
    assert!(
        first.contains_key("_teamlog/sources/generated.ndjson.json"),
        "{:?}",
        first.keys()
    );
    assert_eq!(first, tree(&b), "two runs, different thread counts");

    // A rerun skips both sources and changes nothing (it reports the batch,
    // rejects and all, as the first run did).
    let e = teamlog(
        &[
            "--format",
            "parquet",
            "--output-dir",
            s(&a),
            s(&gen),
            s(&spec),
        ],
        1,
    );
    assert!(e.contains("skipped 2 inputs"), "{e}");
    assert_eq!(tree(&a), first);
    // --force redoes them, to the same bytes.
    teamlog(
        &[
            "--format",
            "parquet",
            "--force",
            "--output-dir",
            s(&a),
            s(&gen),
            s(&spec),
        ],
        1,
    );
    assert_eq!(tree(&a), first);
    // -o FILE too.
    let (x, y) = (d.path().join("x.parquet"), d.path().join("y.parquet"));
    teamlog(
        &[
            "--format",
            "parquet",
            "--threads",
            "2",
            "-o",
            s(&x),
            s(&gen),
        ],
        1,
    );
    teamlog(
        &[
            "--format",
            "parquet",
            "--threads",
            "1",
            "-o",
            s(&y),
            s(&gen),
        ],
        1,
    );
    assert_eq!(std::fs::read(&x).unwrap(), std::fs::read(&y).unwrap());
}

#[test]
fn a_failed_source_commits_nothing_and_a_rerun_completes_the_table() {
    let d = tempdir();
    let input = d.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let spec = std::fs::read(spec_examples()).unwrap();
    let half = spec[..spec.len() / 2]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    std::fs::write(input.join("a.ndjson"), &spec[..half]).unwrap();
    // A gzip file cut short: its events up to the cut are read, then it fails.
    let gz = gzip(&spec);
    std::fs::write(input.join("b.ndjson.gz"), &gz[..gz.len() / 2]).unwrap();
    let (broken, whole) = (d.path().join("broken"), d.path().join("whole"));
    let e = teamlog(
        &[
            "--format",
            "parquet",
            "-r",
            "--output-dir",
            s(&broken),
            s(&input),
        ],
        2,
    );
    assert!(e.contains("b.ndjson.gz"), "{e}");
    // No table file and no record: only its rejects sidecar, which reports
    // the rejects it had.
    let files = tree(&broken);
    assert!(
        files
            .keys()
            .filter(|k| k.contains("b.ndjson.gz"))
            .all(|k| k == "_teamlog/sources/b.ndjson.gz.rejects.ndjson"),
        "the failed source left {:?}",
        files.keys()
    );
    assert!(files.contains_key("_teamlog/sources/a.ndjson.json"));
    // Repaired, a rerun does only the failed source; the result is one run's.
    std::fs::write(input.join("b.ndjson.gz"), &gz).unwrap();
    let stats = d.path().join("stats.json");
    teamlog(
        &[
            "--format",
            "parquet",
            "-r",
            "--stats",
            s(&stats),
            "--output-dir",
            s(&broken),
            s(&input),
        ],
        0,
    );
    let stats: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(
        stats["skipped_sources"].as_array().map(Vec::len),
        Some(1),
        "{stats}"
    );
    teamlog(
        &[
            "--format",
            "parquet",
            "-r",
            "--output-dir",
            s(&whole),
            s(&input),
        ],
        0,
    );
    assert_eq!(tree(&broken), tree(&whole));
}

#[test]
fn schema_table_statements_register_the_lake() {
    let d = tempdir();
    let lakedir = d.path().join("lake");
    let gen = generated(d.path(), 300);
    teamlog(
        &["--format", "parquet", "--output-dir", s(&lakedir), s(&gen)],
        1,
    );
    let o = bin()
        .args([
            "schema",
            "--table",
            "athena",
            "--location",
            "s3://lake/dropbox",
        ])
        .output()
        .unwrap();
    let athena = stdout(&o);
    assert!(
        athena.contains("PARTITIONED BY (`p_event_date` date)"),
        "{athena}"
    );
    assert!(athena.contains("  `p_event_time` timestamp,"), "{athena}");
    let o = bin()
        .args(["schema", "--table", "athena"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--location"), "{}", stderr(&o));

    let Some(py) = duckdb_python() else { return };
    let o = bin()
        .args(["schema", "--table", "duckdb", "--location", s(&lakedir)])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    let view = stdout(&o);
    let rows = duckdb(
        &py,
        "SELECT count(*) || ' ' || count(DISTINCT p_event_date) || ' ' || \
         count(*) FILTER (WHERE json_type(details) = 'OBJECT') \
         FROM dropbox_teamevent",
        &[&view],
    );
    let nd = run_repro(&[s(&gen)], b"");
    let events = stdout(&nd).lines().count();
    let r: Vec<&str> = rows[0].split(' ').collect();
    assert_eq!(r[0], events.to_string(), "{rows:?}");
    assert!(r[1].parse::<u32>().unwrap() > 1, "{rows:?}");
    assert_eq!(
        r[2],
        events.to_string(),
        "details readable as JSON: {rows:?}"
    );
}

#[test]
fn memory_stays_bounded_over_thousands_of_days() {
    use crate::resources::run_measured;
    use std::io::Write;
    const BOUND_MIB: u64 = 150;
    let d = tempdir();
    let lakedir = d.path().join("lake");
    let m = run_measured(
        &[
            "-q",
            "--format",
            "parquet",
            "--output-dir",
            s(&lakedir),
            "--row-id",
            "content",
        ],
        |mut sin| {
            let mut gen = bin()
                .args(["generate", "--bytes", "48M"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = gen.stdout.take().unwrap();
            let _ = std::io::copy(&mut out, &mut sin);
            let _ = sin.flush();
            gen.wait().unwrap();
        },
    );
    assert_eq!(m.code, 0, "{}", m.stderr);
    let days = std::fs::read_dir(&lakedir).unwrap().count() - 1;
    assert!(days > 1000, "{days} days");
    // It spilled (the days outgrow the buffer), and left no spill directory.
    let book: Vec<_> = std::fs::read_dir(lakedir.join("_teamlog"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(book, ["sources"], "only the records stay under _teamlog/");
    eprintln!("peak RSS {} MiB over {days} days", m.max_rss_kib >> 10);
    assert!(
        m.max_rss_kib < BOUND_MIB << 10,
        "peak RSS {} KiB over {BOUND_MIB} MiB",
        m.max_rss_kib
    );
}

#[test]
fn one_file_stays_under_the_memory_bound_with_two_row_groups_held() {
    use crate::resources::run_measured;
    const BOUND_MIB: u64 = 100;
    let d = tempdir();
    // Enough for several row groups at the byte cap, each held twice (one
    // gathering while the one before is encoded); read from a file, so the
    // workers are never starved and fill the queues.
    let input = d.path().join("in.ndjson");
    let gen = bin()
        .args(["generate", "--bytes", "200M", "--seed", "1"])
        .stdout(std::fs::File::create(&input).unwrap())
        .status()
        .unwrap();
    assert!(gen.success());
    let out = d.path().join("t.parquet");
    // Two threads: each further one holds its parts in flight too.
    let args = [
        "-q",
        "--threads",
        "2",
        "--format",
        "parquet",
        "-o",
        s(&out),
        "--row-id",
        "content",
        s(&input),
    ];
    let m = run_measured(&args, drop);
    assert_eq!(m.code, 0, "{}", m.stderr);
    eprintln!("peak RSS {} MiB", m.max_rss_kib >> 10);
    assert!(
        m.max_rss_kib < BOUND_MIB << 10,
        "peak RSS {} KiB over {BOUND_MIB} MiB",
        m.max_rss_kib
    );
}

/// The table's files (`.parquet` and the records), without temporary files
/// a killed run may leave.
fn table(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(dir)
        .into_iter()
        .filter(|(k, _)| !k.rsplit('/').next().unwrap().starts_with('.'))
        .collect()
}

#[test]
fn a_run_killed_at_several_points_and_resumed_gives_one_runs_table() {
    let d = tempdir();
    let input = d.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let spec = std::fs::read_to_string(spec_examples()).unwrap();
    let lines: Vec<&str> = spec.lines().collect();
    for (i, part) in lines.chunks(lines.len() / 4 + 1).enumerate() {
        std::fs::write(input.join(format!("{i}.ndjson")), part.join("\n") + "\n").unwrap();
    }
    let whole = d.path().join("whole");
    teamlog(
        &[
            "--format",
            "parquet",
            "-r",
            "--output-dir",
            s(&whole),
            s(&input),
        ],
        0,
    );
    let want = table(&whole);
    for kill_after in 1..=3 {
        let lakedir = d.path().join(format!("killed{kill_after}"));
        let args = [
            "--row-id",
            "content",
            "--parse-time",
            PARSE_TIME,
            "--threads",
            "1",
            "--format",
            "parquet",
            "-r",
            "--output-dir",
            s(&lakedir),
            s(&input),
        ];
        let mut child = spawn(&args);
        let records = lakedir.join("_teamlog/sources");
        // Killed once `kill_after` sources are recorded (or when it ended).
        while child.try_wait().unwrap().is_none()
            && std::fs::read_dir(&records).map_or(0, |r| r.count()) < kill_after
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let _ = child.kill();
        let _ = child.wait();
        teamlog(
            &[
                "--format",
                "parquet",
                "-r",
                "--output-dir",
                s(&lakedir),
                s(&input),
            ],
            0,
        );
        assert_eq!(table(&lakedir), want, "killed after {kill_after} sources");
    }
}

#[test]
fn parquet_flags_need_format_parquet_and_a_file_to_write() {
    let d = tempdir();
    let out = d.path().join("x.ndjson");
    let refused = |args: &[&str], says: &str| {
        let o = run(args, b"");
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(says), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "one line: {e}");
    };
    refused(
        &["--parquet-compression", "snappy", "-o", s(&out)],
        "--parquet-compression is for --format parquet, and this run writes NDJSON; add --format parquet or drop --parquet-compression",
    );
    refused(
        &[
            "--format",
            "ndjson",
            "--parquet-row-group-rows",
            "4096",
            "-o",
            s(&out),
        ],
        "--parquet-row-group-rows is for --format parquet",
    );
    assert!(!out.exists(), "a refused run writes nothing");
    refused(
        &["--format", "parquet"],
        "give -o FILE (one file) or --output-dir DIR",
    );
    refused(
        &[
            "--format",
            "parquet",
            "--output-dir",
            s(d.path()),
            "--compress",
            "gzip",
        ],
        "with --format parquet use --parquet-compression",
    );
    refused(
        &[
            "--format",
            "parquet",
            "-o",
            s(&out),
            "--parquet-buffer-rows",
            "2048",
        ],
        "--parquet-buffer-rows is for --output-dir",
    );
    // The defaults are in the help.
    let h = stdout(&run(&["--help"], b"")).replace('\n', " ");
    for needle in [
        "[default: zstd]",
        "[default: 131072]",
        "4K to 64M [default: 1M]",
    ] {
        let h = h.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(h.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn a_full_disk_is_reported_once_naming_the_file() {
    let o = run(&["--format", "parquet", "-o", "/dev/full"], b"");
    let e = stderr(&o);
    assert_eq!(code(&o), 2, "{e}");
    assert!(
        e.contains("cannot write /dev/full: No space left on device"),
        "{e}"
    );
    assert!(
        !e.contains("os error") && e.matches("/dev/full").count() == 1,
        "{e}"
    );
}
