//! What `--deep-indicators` and `--lint` cost the transform, measured so that
//! a noisy machine still gives a usable figure: the three transforms (plain,
//! with the option, with the other) run in turn on the same ~4 MB sample, one
//! pass each per round, their order rotating from round to round, and each
//! option's cost is the ratio of its pass to the plain pass of the same
//! round. Whatever slows the machine for a while slows the passes of a round
//! alike, so the ratios keep still where the times do not.
//!
//! Run with `cargo bench --bench option_cost` (about a minute); pass the
//! number of rounds after `--` (default 60). It prints, for each option, the
//! median ratio with its quartiles, and the ratio of the fastest passes.

use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;
use common::{options, sample};
use teamlog_core::framing;
use teamlog_core::schema::Plan;
use teamlog_core::transform::{ChunkOutput, Scratch, TransformOptions, Transformer};

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(60);
    let data = sample();
    let lines: Vec<&[u8]> = framing::lines(&data).collect();
    let variants: [(&str, TransformOptions); 3] = [
        ("plain", options()),
        (
            "--deep-indicators",
            TransformOptions {
                deep_indicators: true,
                ..options()
            },
        ),
        (
            "--lint",
            TransformOptions {
                lint: true,
                ..options()
            },
        ),
    ];
    let transformers: Vec<Transformer> = variants
        .iter()
        .map(|(_, o)| Transformer::new(Plan::dropbox(), o.clone()))
        .collect();
    let mut sc = Scratch::default();
    let mut out = ChunkOutput::default();
    let mut pass = |t: &Transformer| {
        out.clear();
        let start = Instant::now();
        for (n, line) in (1..).zip(&lines) {
            t.process_line(line, "-", n, &mut sc, &mut out);
        }
        let took = start.elapsed();
        assert_eq!(out.counts.rejected, 0);
        black_box(out.events.len());
        took
    };
    // Warm up: caches, allocations, the branch predictors.
    for t in &transformers {
        for _ in 0..3 {
            pass(t);
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); variants.len()];
    for round in 0..rounds {
        for k in 0..variants.len() {
            let v = (round + k) % variants.len();
            times[v].push(pass(&transformers[v]));
        }
    }
    let mb = data.len() as f64 / 1e6;
    let fastest = |t: &[Duration]| t.iter().min().copied().unwrap_or_default();
    println!(
        "{rounds} rounds of {mb:.1} MB, {} events, one thread; ratios against plain in the same round",
        lines.len()
    );
    let plain = &times[0];
    println!(
        "{:<20} fastest pass {:>7.2} ms ({:.0} MB/s)",
        variants[0].0,
        fastest(plain).as_secs_f64() * 1e3,
        mb / fastest(plain).as_secs_f64()
    );
    for (v, (name, _)) in variants.iter().enumerate().skip(1) {
        let mut ratios: Vec<f64> = times[v]
            .iter()
            .zip(plain)
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let q = |f: f64| ratios[((ratios.len() - 1) as f64 * f).round() as usize];
        println!(
            "{name:<20} fastest pass {:>7.2} ms ({:.0} MB/s); ratio median {:.3} (quartiles {:.3}-{:.3}), fastest/fastest {:.3}",
            fastest(&times[v]).as_secs_f64() * 1e3,
            mb / fastest(&times[v]).as_secs_f64(),
            q(0.5),
            q(0.25),
            q(0.75),
            fastest(&times[v]).as_secs_f64() / fastest(plain).as_secs_f64()
        );
    }
}
