//! What a run tells its user afterwards: the one-line stderr summary and the
//! `--stats` JSON document (docs/CONTRACT.md §6), with per-source breakdowns (those of
//! inputs an earlier run did come from their `--output-dir` records).

use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::time::Duration;
use teamlog_core::pipeline::{Tally, WarningTally};
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
    /// One entry per input, in input order, kept as compact JSON text (a
    /// few hundred bytes per input, not a tree of allocations: a batch of
    /// 100,000 small files stays small).
    pub sources: Vec<Box<RawValue>>,
    /// Valid events by category and by event type (of the whole batch, as
    /// the totals: inputs an earlier run did count with their stored entry).
    pub events_by_category: BTreeMap<String, u64>,
    pub events_by_type: BTreeMap<String, u64>,
    /// Catalogue warnings by kind and by event type (with `--lint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<WarningTally>,
}

/// Writes one line to stderr. A closed stderr is ignored, never a panic:
/// the work goes on and the exit status still tells.
pub fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// One per-source entry as compact JSON text.
fn compact<T: Serialize + ?Sized>(v: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("stats entries serialize")
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
        let mut st = Stats {
            totals: tally.totals,
            written: tally.per_source.iter().map(|s| s.written).sum(),
            seconds: secs,
            mb_per_s: rate(tally.totals.bytes_in, secs) / 1e6,
            events_per_s: rate(tally.totals.events, secs),
            rejected_by_reason: tally.by_reason.clone(),
            failed_sources: tally.failed_sources,
            skipped_sources: skipped,
            sources: Vec::with_capacity(entries.len()),
            events_by_category: BTreeMap::new(),
            events_by_type: BTreeMap::new(),
            warnings: None,
        };
        for e in entries {
            match e {
                Entry::Ran(i) => {
                    let ps = &tally.per_source[*i];
                    st.add_by_type(&ps.events_by_category, &ps.events_by_type);
                    st.sources.push(compact(ps));
                }
                Entry::Earlier(v) => st.add_earlier(v),
            }
        }
        st
    }

    /// Reports the catalogue warnings too (the run had `--lint`).
    pub fn with_lint(mut self, tally: &Tally, lint: bool) -> Stats {
        if lint {
            self.warnings = Some(tally.warnings.clone());
        }
        self
    }

    /// Adds one source's counts by category and type to the batch's.
    fn add_by_type(&mut self, categories: &BTreeMap<String, u64>, types: &BTreeMap<String, u64>) {
        for (sum, part) in [
            (&mut self.events_by_category, categories),
            (&mut self.events_by_type, types),
        ] {
            for (k, n) in part {
                *sum.entry(k.clone()).or_default() += n;
            }
        }
    }

    /// Adds the stored entry of a source an earlier run did to the totals.
    fn add_earlier(&mut self, v: &serde_json::Value) {
        let counts = |key: &str| -> BTreeMap<String, u64> {
            serde_json::from_value(v[key].clone()).unwrap_or_default()
        };
        self.add_by_type(&counts("events_by_category"), &counts("events_by_type"));
        let c: Counts = serde_json::from_value(v.clone()).unwrap_or_default();
        self.totals.add(&c);
        self.written += v["written"].as_u64().unwrap_or(c.events);
        if let Some(m) = v["rejected_by_reason"].as_object() {
            for (reason, n) in m {
                *self.rejected_by_reason.entry(reason.clone()).or_default() +=
                    n.as_u64().unwrap_or(0);
            }
        }
        self.sources.push(compact(v));
    }

    /// The one-line summary (docs/CONTRACT.md §6) of the batch, like `--stats`, plus a
    /// line naming the files with rejects when there were several inputs,
    /// and one for the inputs an earlier run did.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let envelopes = if t.envelopes > 0 {
            format!(
                " ({} API responses holding {} events)",
                t.envelopes, t.envelope_events
            )
        } else {
            String::new()
        };
        let unwritten = if self.written < t.events {
            format!(
                " ({} valid events not written, as an input failed)",
                t.events - self.written
            )
        } else {
            String::new()
        };
        let mut s = format!(
            "teamlog: {} lines{envelopes}: {} events written{unwritten}, {} rejected, {} blank; {} in {:.2} s ({:.1} MB/s, {:.0} events/s)",
            t.lines,
            self.written,
            t.rejected,
            t.blank,
            human_bytes(t.bytes_in),
            self.seconds,
            self.mb_per_s,
            self.events_per_s
        );
        if let Some(w) = &self.warnings {
            s.push_str(&warnings_summary(w));
        }
        #[derive(serde::Deserialize)]
        struct Named {
            source: String,
            #[serde(default)]
            rejected: u64,
        }
        let with: Vec<String> = self
            .sources
            .iter()
            .filter_map(|raw| serde_json::from_str::<Named>(raw.get()).ok())
            .filter(|n| n.rejected > 0)
            .map(|n| format!("{} ({})", terminal_safe(&n.source), n.rejected))
            .collect();
        if self.sources.len() > 1 && !with.is_empty() {
            s.push_str(&format!("\nteamlog: rejects in {}", with.join(", ")));
        }
        if !self.skipped_sources.is_empty() {
            // Their counts are in the line above, as in --stats.
            s.push_str(&format!(
                "\nteamlog: skipped {} inputs whose output already exists (--force redoes them)",
                self.skipped_sources.len()
            ));
        }
        s
    }
}

/// `; 3 catalogue warnings (2 unknown_event_type, 1 retired_category)`: what
/// `--lint` adds to the summary line.
fn warnings_summary(w: &WarningTally) -> String {
    let mut kinds: Vec<(&&str, &u64)> = w.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    match w.total {
        0 => "; no catalogue warnings".to_string(),
        n => format!("; {n} catalogue warnings ({})", kinds.join(", ")),
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
