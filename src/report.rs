//! What a run tells its user afterwards: the one-line stderr summary and the
//! `--stats` JSON document (docs/CONTRACT.md §6), with per-source breakdowns (those of
//! inputs an earlier run did come from their `--output-dir` records). The
//! per-source entries wait in [`crate::spill`]s, not in memory, and are
//! streamed into `--stats`.

use crate::spill::{Records, Spill};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;
use teamlog_core::framing::Source;
use teamlog_core::pipeline::{bump, SourceLog, SourceTotals, Tally, WarningTally};
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
    /// entries in `sources` are that run's. Kept on disk until written.
    skipped_sources: Streamed,
    /// One entry per input, in input order, kept on disk until written:
    /// a batch of a million small files holds none of them in memory.
    sources: Streamed,
    /// Valid events by category and by event type (of the whole batch, as
    /// the totals: inputs an earlier run did count with their stored entry).
    pub events_by_category: BTreeMap<String, u64>,
    pub events_by_type: BTreeMap<String, u64>,
    /// Catalogue warnings by kind and by event type (with `--lint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<WarningTally>,
    /// What the summary line says of the inputs.
    #[serde(skip)]
    inputs: InputsSeen,
}

/// The inputs, as the summary names them: how many, and the first few with
/// rejects (a batch of many files gets a line, not a page).
#[derive(Default)]
struct InputsSeen {
    count: usize,
    skipped: usize,
    with_rejects: Vec<String>,
    more_with_rejects: usize,
}

/// Inputs with rejects named in the summary line; `--stats` has them all.
const NAMED_WITH_REJECTS: usize = 20;

impl InputsSeen {
    fn saw(&mut self, name: &str, rejected: u64) {
        self.count += 1;
        if rejected > 0 && self.with_rejects.len() < NAMED_WITH_REJECTS {
            self.with_rejects
                .push(format!("{} ({rejected})", terminal_safe(name)));
        } else if rejected > 0 {
            self.more_with_rejects += 1;
        }
    }
}

/// A JSON array read from a spill as it is written out, once.
struct Streamed(RefCell<Option<Records>>);

impl Streamed {
    fn new(records: Records) -> Streamed {
        Streamed(RefCell::new(Some(records)))
    }
}

impl Serialize for Streamed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut records = self
            .0
            .borrow_mut()
            .take()
            .ok_or_else(|| S::Error::custom("a streamed array is written once"))?;
        let mut seq = s.serialize_seq(Some(records.len()))?;
        while let Some(text) = records.next_text().map_err(S::Error::custom)? {
            let raw: &RawValue = serde_json::from_str(text).map_err(S::Error::custom)?;
            seq.serialize_element(raw)?;
        }
        seq.end()
    }
}

/// Writes one line to stderr. A closed stderr is ignored, never a panic:
/// the work goes on and the exit status still tells.
pub fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// An OS error text without Rust's `(os error N)` suffix.
fn without_os_error(s: &str) -> &str {
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => &s[..i],
        _ => s,
    }
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// The writer hands each ended source's totals to the batch's spill.
impl SourceLog for Spill {
    fn ended(&mut self, _index: usize, totals: SourceTotals) -> io::Result<()> {
        self.push(&totals)
    }
}

/// Which events of a source this run read count as written (its entry's
/// `written`), by where they went.
#[derive(Clone, Copy, Debug)]
pub enum Kept {
    /// Stdout: what was streamed is out.
    Streamed,
    /// `-o FILE`: all or nothing, as the file was put in place or not.
    AllOrNothing { committed: bool },
    /// `--output-dir`: a failed source's file is discarded.
    UnlessFailed,
}

impl Kept {
    fn written(self, t: &SourceTotals) -> u64 {
        let kept = match self {
            Kept::Streamed => true,
            Kept::AllOrNothing { committed } => committed,
            Kept::UnlessFailed => t.error.is_none(),
        };
        if kept {
            t.counts.events
        } else {
            0
        }
    }
}

/// What the batch's report is made from besides the tally: its sources in
/// input order, which of them an earlier run did (with those runs' entries,
/// in order), and this run's entries for the others (in order).
pub struct Batch<'a> {
    pub sources: &'a [Source],
    pub done: Option<&'a [bool]>,
    pub earlier: Option<Records>,
    pub ran: Records,
    pub kept: Kept,
}

impl Stats {
    /// The batch's stats, in one pass over the per-source entries (which
    /// go on to a spill of their own, in input order, to be written by
    /// `--stats`). Each failed input is named on stderr as it is met.
    pub fn new(tally: &Tally, batch: Batch<'_>, elapsed: Duration) -> io::Result<Stats> {
        let secs = elapsed.as_secs_f64();
        let mut st = Stats {
            totals: tally.totals,
            written: 0,
            seconds: secs,
            mb_per_s: rate(tally.totals.bytes_in, secs) / 1e6,
            events_per_s: rate(tally.totals.events, secs),
            rejected_by_reason: tally.by_reason.clone(),
            failed_sources: tally.failed_sources,
            skipped_sources: Streamed(RefCell::new(None)),
            sources: Streamed(RefCell::new(None)),
            events_by_category: BTreeMap::new(),
            events_by_type: BTreeMap::new(),
            warnings: None,
            inputs: InputsSeen::default(),
        };
        let (mut entries, mut skipped) = (Spill::default(), Spill::default());
        let (mut ran, mut earlier) = (batch.ran, batch.earlier);
        let lost = || io::Error::other("the per-source entries of the run are incomplete");
        for (i, s) in batch.sources.iter().enumerate() {
            if batch.done.is_some_and(|d| d[i]) {
                let records = earlier.as_mut().ok_or_else(lost)?;
                let v: serde_json::Value = records.next_record()?.ok_or_else(lost)?;
                st.add_earlier(&v);
                st.inputs.saw(&s.name, v["rejected"].as_u64().unwrap_or(0));
                st.inputs.skipped += 1;
                skipped.push(&*s.name)?;
                entries.push(&v)?;
            } else {
                let mut t: SourceTotals = ran.next_record()?.ok_or_else(lost)?;
                t.written = batch.kept.written(&t);
                st.written += t.written;
                st.add_by_type(&t.events_by_category, &t.events_by_type);
                st.inputs.saw(&t.source, t.counts.rejected);
                if let Some(e) = &t.error {
                    note(&format!(
                        "teamlog: error: {}",
                        terminal_safe(without_os_error(e))
                    ));
                }
                entries.push(&t)?;
            }
        }
        st.sources = Streamed::new(entries.read()?);
        st.skipped_sources = Streamed::new(skipped.read()?);
        Ok(st)
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
                bump(sum, k, *n);
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
                bump(
                    &mut self.rejected_by_reason,
                    reason,
                    n.as_u64().unwrap_or(0),
                );
            }
        }
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
        let inputs = &self.inputs;
        if inputs.count > 1 && !inputs.with_rejects.is_empty() {
            s.push_str(&format!(
                "\nteamlog: rejects in {}",
                inputs.with_rejects.join(", ")
            ));
            if inputs.more_with_rejects > 0 {
                s.push_str(&format!(
                    " and {} more inputs (--stats lists every input)",
                    inputs.more_with_rejects
                ));
            }
        }
        if inputs.skipped > 0 {
            // Their counts are in the line above, as in --stats.
            s.push_str(&format!(
                "\nteamlog: skipped {} inputs whose output already exists (--force redoes them)",
                inputs.skipped
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
