//! What a run tells its user afterwards: the one-line stderr summary and the
//! `--stats` JSON document (SPEC §6), with per-source breakdowns (those of
//! inputs an earlier run did come from their `--output-dir` records).

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use teamlog_core::pipeline::Tally;
use teamlog_core::terminal::sanitize as terminal_safe;
use teamlog_core::transform::Counts;

/// Everything `--stats` writes: the whole batch, so that a rerun that skips
/// inputs done by an earlier run (`--output-dir`) reports what one
/// uninterrupted run would. Throughput is this run's.
#[derive(Serialize)]
pub struct Stats {
    #[serde(flatten)]
    pub totals: Counts,
    /// Events in committed outputs (`events` less those of a failed input's
    /// discarded output, or of a `-o FILE` not put in place).
    pub written: u64,
    pub seconds: f64,
    pub mb_per_s: f64,
    pub events_per_s: f64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Inputs that could not be opened or read to the end.
    pub failed_sources: u64,
    /// Inputs an earlier run had done (`--output-dir`), not read again; their
    /// entries in `sources` are that run's.
    pub skipped_sources: Vec<String>,
    /// One entry per input, in input order.
    pub sources: Vec<serde_json::Value>,
    /// What this run itself read (the summary line).
    #[serde(skip)]
    this_run: Counts,
    #[serde(skip)]
    this_written: u64,
    /// This run's inputs with rejects, and how many.
    #[serde(skip)]
    with_rejects: Vec<(String, u64)>,
    #[serde(skip)]
    skipped_rejected: u64,
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// One per-source entry: of a source this run read (its index in the tally),
/// or the stored entry of a source an earlier run did.
pub enum Entry<'a> {
    Ran(usize),
    Earlier(&'a serde_json::Value),
}

impl Stats {
    /// The batch's stats: `entries` in input order, indexes into
    /// `tally.per_source` for the sources this run read.
    pub fn new(
        tally: &Tally,
        entries: &[Entry<'_>],
        skipped: Vec<String>,
        elapsed: Duration,
    ) -> Stats {
        let secs = elapsed.as_secs_f64();
        let this_written = tally.per_source.iter().map(|s| s.written).sum();
        let mut st = Stats {
            totals: tally.totals,
            written: this_written,
            seconds: secs,
            mb_per_s: rate(tally.totals.bytes_in, secs) / 1e6,
            events_per_s: rate(tally.totals.events, secs),
            rejected_by_reason: tally.by_reason.clone(),
            failed_sources: tally.failed_sources,
            skipped_sources: skipped,
            sources: Vec::with_capacity(entries.len()),
            this_run: tally.totals,
            this_written,
            with_rejects: tally
                .per_source
                .iter()
                .filter(|s| s.counts.rejected > 0)
                .map(|s| (s.source.clone(), s.counts.rejected))
                .collect(),
            skipped_rejected: 0,
        };
        for e in entries {
            match e {
                Entry::Ran(i) => st
                    .sources
                    .push(serde_json::to_value(&tally.per_source[*i]).unwrap_or_default()),
                Entry::Earlier(v) => st.add_earlier(v),
            }
        }
        st
    }

    /// Adds the stored entry of a source an earlier run did to the totals.
    fn add_earlier(&mut self, v: &serde_json::Value) {
        let c: Counts = serde_json::from_value(v.clone()).unwrap_or_default();
        self.totals.add(&c);
        self.skipped_rejected += c.rejected;
        self.written += v["written"].as_u64().unwrap_or(c.events);
        if let Some(m) = v["rejected_by_reason"].as_object() {
            for (reason, n) in m {
                *self.rejected_by_reason.entry(reason.clone()).or_default() +=
                    n.as_u64().unwrap_or(0);
            }
        }
        self.sources.push(v.clone());
    }

    /// The one-line summary of this run (SPEC §6), plus a line naming the
    /// files with rejects when there were several inputs, and one for the
    /// inputs skipped.
    pub fn summary(&self) -> String {
        let t = &self.this_run;
        let envelopes = if t.envelopes > 0 {
            format!(
                " ({} API responses holding {} events)",
                t.envelopes, t.envelope_events
            )
        } else {
            String::new()
        };
        let unwritten = if self.this_written < t.events {
            format!(
                " ({} valid events not written, as an input failed)",
                t.events - self.this_written
            )
        } else {
            String::new()
        };
        let mut s = format!(
            "teamlog: {} lines{envelopes}: {} events written{unwritten}, {} rejected, {} blank; {} in {:.2} s ({:.1} MB/s, {:.0} events/s)",
            t.lines,
            self.this_written,
            t.rejected,
            t.blank,
            human_bytes(t.bytes_in),
            self.seconds,
            self.mb_per_s,
            self.events_per_s
        );
        if self.sources.len() > 1 && !self.with_rejects.is_empty() {
            let with: Vec<String> = self
                .with_rejects
                .iter()
                .map(|(name, n)| format!("{} ({n})", terminal_safe(name)))
                .collect();
            s.push_str(&format!("\nteamlog: rejects in {}", with.join(", ")));
        }
        if !self.skipped_sources.is_empty() {
            let rejected = if self.skipped_rejected > 0 {
                format!(", with {} rejected lines", self.skipped_rejected)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "\nteamlog: skipped {} inputs done by an earlier run{rejected} (--stats and --rejects include them; --force redoes them)",
                self.skipped_sources.len()
            ));
        }
        s
    }
}

/// `1234567` as `1.2 MB` (decimal units, as throughput is reported).
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} KB", n / 1e3)
    } else {
        format!("{n} B")
    }
}
