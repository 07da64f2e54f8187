//! The hot path, piece by piece, in bytes per second.
//!
//! - `event`: the per-line transform on a realistic ~4 MB sample (as it runs
//!   by default, with `--deep-indicators` and with `--lint`)
//!   (`teamlog generate --seed 1`), next to the parse-only ceiling of the same
//!   parser on the same lines: serde_json skipping every value into
//!   `IgnoredAny`, once from bytes (`from_slice`) and once after the same UTF-8
//!   check the transform does (`from_utf8` + `from_str`).
//! - `timestamp`: `parse_rfc3339` on the forms real data has.
//! - `indicators`: collecting, sorting and writing one event's `p_any_*` values.
//! - `pipeline`: `process_chunk` over 1 MiB chunks of the same sample, one thread.
//!
//! Run with `cargo bench --bench hot_path` (a few minutes); pass a group name
//! after `--` to run one group. Sample sizes are kept small on purpose: these
//! are for comparing changes on one machine, not for publishing.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde::de::IgnoredAny;
use std::time::Duration;

mod common;
use common::{options, sample};
use teamlog_core::framing::{self, Chunk};
use teamlog_core::indicators::{Collector, IndicatorKind};
use teamlog_core::pipeline::process_chunk;
use teamlog_core::schema::Plan;
use teamlog_core::timestamp::{parse_rfc3339, Timestamp};
use teamlog_core::transform::{ChunkOutput, Scratch, TransformOptions, Transformer};

const CHUNK_BYTES: usize = 1 << 20;

fn configure() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

fn event(c: &mut Criterion) {
    let data = sample();
    let lines: Vec<&[u8]> = framing::lines(&data).collect();
    let plain = options();
    let deep = TransformOptions {
        deep_indicators: true,
        ..options()
    };
    let lint = TransformOptions {
        lint: true,
        ..options()
    };

    let mut g = c.benchmark_group("event");
    g.throughput(Throughput::Bytes(data.len() as u64));
    // The transform as it runs by default, with --deep-indicators, with --lint.
    for (name, opts) in [
        ("transform", plain),
        ("transform_deep_indicators", deep),
        ("transform_lint", lint),
    ] {
        let t = Transformer::new(Plan::dropbox(), opts);
        g.bench_function(name, |b| {
            let mut sc = Scratch::default();
            let mut out = ChunkOutput::default();
            b.iter(|| {
                out.clear();
                for (n, line) in (1..).zip(&lines) {
                    t.process_line(line, "-", n, &mut sc, &mut out);
                }
                assert_eq!(out.counts.rejected, 0);
                black_box(out.events.len())
            })
        });
    }
    g.bench_function("parse_only_from_slice", |b| {
        b.iter(|| {
            for line in &lines {
                let _: IgnoredAny = serde_json::from_slice(black_box(line)).expect("valid JSON");
            }
        })
    });
    g.bench_function("parse_only_utf8_from_str", |b| {
        b.iter(|| {
            for line in &lines {
                let s = std::str::from_utf8(black_box(line)).expect("UTF-8");
                let _: IgnoredAny = serde_json::from_str(s).expect("valid JSON");
            }
        })
    });
    g.finish();
}

fn timestamp(c: &mut Criterion) {
    let forms = [
        "2017-01-25T15:51:30Z",
        "2017-01-25T15:51:30.123Z",
        "2021-06-01T23:59:59.123456789Z",
        "2019-12-31T22:30:00-05:30",
        "2020-02-29T00:00:00+01:00",
        "2017-01-25 15:51:30.000000000",
    ];
    let bytes: usize = forms.iter().map(|s| s.len()).sum();
    let mut g = c.benchmark_group("timestamp");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("parse_rfc3339", |b| {
        b.iter(|| {
            for s in forms {
                black_box(parse_rfc3339(black_box(s)).expect("valid"));
            }
        })
    });
    let parsed: Vec<Timestamp> = forms.iter().filter_map(|s| parse_rfc3339(s)).collect();
    g.throughput(Throughput::Bytes(
        (parsed.len() * teamlog_core::timestamp::FORMATTED_LEN) as u64,
    ));
    g.bench_function("write", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            for t in &parsed {
                t.write(&mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn indicators(c: &mut Criterion) {
    use IndicatorKind::{Email, Ip, Username};
    // One busy event's worth: actor, context, origin and two participants.
    let values: [(&[IndicatorKind], &str); 10] = [
        (&[Email], "dana.whitfield@example.com"),
        (&[Username], "Dana Whitfield"),
        (&[Ip], "203.0.113.47"),
        (&[Email], "ops-team@example.org"),
        (&[Username], "田中 太郎"),
        (&[Ip], "2001:db8:85a3::8a2e:370:7334"),
        (&[Email], "dana.whitfield@example.com"),
        (&[Username], " Dana Whitfield "),
        (&[Email], "no-at-sign"),
        (&[Ip], "not-an-ip"),
    ];
    let bytes: usize = values.iter().map(|(_, v)| v.len()).sum();
    let mut g = c.benchmark_group("indicators");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("collect_and_write", |b| {
        let mut col = Collector::default();
        let mut out = Vec::with_capacity(1024);
        b.iter(|| {
            col.clear();
            out.clear();
            for (kinds, v) in values {
                col.add(kinds, black_box(v));
            }
            col.write(&mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let data = sample();
    // Cut like the reader does: about CHUNK_BYTES, ending after a newline.
    let mut chunks = Vec::new();
    let (mut at, mut line) = (0, 1u64);
    while at < data.len() {
        let end = (at + CHUNK_BYTES).min(data.len());
        let end = match memchr::memrchr(b'\n', &data[at..end]) {
            Some(i) if end < data.len() => at + i + 1,
            _ => end,
        };
        let piece = data[at..end].to_vec();
        let n = memchr::memchr_iter(b'\n', &piece).count() as u64;
        chunks.push(Chunk {
            source: 0,
            first_line: line,
            data: piece,
            too_long: None,
            end: None,
        });
        line += n;
        at = end;
    }
    let t = Transformer::new(Plan::dropbox(), options());
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("process_chunk_1MiB", |b| {
        let mut sc = Scratch::default();
        let mut out = ChunkOutput::default();
        b.iter(|| {
            let mut written = 0;
            for chunk in &chunks {
                process_chunk(&t, chunk, "-", &mut sc, &mut out);
                written += out.events.len();
            }
            black_box(written)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = configure();
    targets = event, timestamp, indicators, pipeline
}
criterion_main!(benches);
