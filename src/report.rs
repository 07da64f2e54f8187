//! What a run tells its user afterwards: the one-line stderr summary and the
//! `--stats` JSON document (SPEC §6), with per-source breakdowns.

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use teamlog_core::pipeline::{SourceTotals, Tally, WarningTally};
use teamlog_core::terminal::sanitize as terminal_safe;
use teamlog_core::transform::Counts;

/// Everything `--stats` writes.
#[derive(Serialize)]
pub struct Stats<'a> {
    #[serde(flatten)]
    pub totals: Counts,
    pub seconds: f64,
    pub mb_per_s: f64,
    pub events_per_s: f64,
    pub rejected_by_reason: &'a BTreeMap<String, u64>,
    /// Inputs that could not be opened or read to the end.
    pub failed_sources: u64,
    /// Inputs skipped because their `--output-dir` output already existed.
    pub skipped_sources: &'a [String],
    pub sources: &'a [SourceTotals],
    /// Written events by category and by event type.
    pub events_by_category: &'a BTreeMap<String, u64>,
    pub events_by_type: &'a BTreeMap<String, u64>,
    /// Catalogue warnings by kind and by event type (with `--lint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<&'a WarningTally>,
    #[serde(skip)]
    tally: &'a Tally,
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

impl<'a> Stats<'a> {
    pub fn new(tally: &'a Tally, skipped: &'a [String], elapsed: Duration) -> Stats<'a> {
        let secs = elapsed.as_secs_f64();
        Stats {
            totals: tally.totals,
            seconds: secs,
            mb_per_s: rate(tally.totals.bytes_in, secs) / 1e6,
            events_per_s: rate(tally.totals.events, secs),
            rejected_by_reason: &tally.by_reason,
            failed_sources: tally.failed_sources,
            skipped_sources: skipped,
            sources: &tally.per_source,
            events_by_category: &tally.events_by_category,
            events_by_type: &tally.events_by_type,
            warnings: None,
            tally,
        }
    }

    /// Reports the catalogue warnings too (the run had `--lint`).
    pub fn with_lint(mut self, lint: bool) -> Stats<'a> {
        if lint {
            self.warnings = Some(&self.tally.warnings);
        }
        self
    }

    /// The one-line summary (SPEC §6), plus a line naming the files with
    /// rejects when there were several inputs.
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
        let mut s = format!(
            "teamlog: {} lines{envelopes}: {} events written, {} rejected, {} blank; {} in {:.2} s ({:.1} MB/s, {:.0} events/s)",
            t.lines,
            t.events,
            t.rejected,
            t.blank,
            human_bytes(t.bytes_in),
            self.seconds,
            self.mb_per_s,
            self.events_per_s
        );
        if let Some(w) = self.warnings {
            s.push_str(&warnings_summary(w));
        }
        if self.sources.len() > 1 {
            let with: Vec<String> = self
                .sources
                .iter()
                .filter(|s| s.counts.rejected > 0)
                .map(|s| format!("{} ({})", terminal_safe(&s.source), s.counts.rejected))
                .collect();
            if !with.is_empty() {
                s.push_str(&format!("\nteamlog: rejects in {}", with.join(", ")));
            }
        }
        if !self.skipped_sources.is_empty() {
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
