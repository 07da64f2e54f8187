//! The progress display on stderr, in the summary's units: decompressed bytes
//! processed and their MB/s, events, rejected so far, and (when every input
//! is a file, so the total on disk is known) how far through the inputs'
//! compressed bytes the readers are, as a percentage, with an ETA. On a
//! terminal it is a bar that fits an 80-column line; `--progress` forces one
//! plain line per second onto a pipe or log; `-q` hides it.

use crate::report::human_bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use teamlog_core::pipeline::Tally;

/// Width of the drawn bar, in columns.
const BAR_WIDTH: usize = 8;

/// A progress display fed by the writer after each chunk: an indicatif bar on
/// a terminal, or (forced with `--progress` onto a pipe or log file) one plain
/// line per second, since cursor movement would garble a log.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: Option<u64>,
    read: Arc<AtomicU64>,
    started: Instant,
    last: Instant,
    every: Duration,
}

/// What the display shows at one moment.
#[derive(Clone, Copy, Debug)]
struct Snapshot {
    /// Decompressed bytes processed (the summary's bytes).
    bytes: u64,
    /// Bytes read from the inputs as they are on disk (compressed).
    read: u64,
    /// The inputs' size on disk, when known.
    total: Option<u64>,
    events: u64,
    rejected: u64,
    secs: f64,
}

impl Snapshot {
    /// The status text after the bar: `42% 1.23 GB 115.6 MB/s 12.3M events
    /// 12 rejected ETA 1m05s` (percentage and ETA only with a known total),
    /// bytes and MB/s as the summary writes them.
    fn text(&self) -> String {
        let mut s = String::new();
        if let Some(total) = self.total {
            let pct = if total == 0 {
                100
            } else {
                (self.read.min(total) as u128 * 100 / total as u128) as u64
            };
            s.push_str(&format!("{pct}% "));
        }
        s.push_str(&format!(
            "{} {:.1} MB/s {} events {} rejected",
            human_bytes(self.bytes),
            self.bytes as f64 / self.secs / 1e6,
            human_count(self.events),
            human_count(self.rejected),
        ));
        if let Some(total) = self.total.filter(|&t| self.read > 0 && t > self.read) {
            let left = (total - self.read) as f64 * self.secs / self.read as f64;
            s.push_str(&format!(" ETA {}", eta(left)));
        }
        s
    }
}

/// `1234567` as `1.2M`: at most 6 characters below 10^15.
fn human_count(n: u64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")];
    if n < 10_000 {
        return n.to_string();
    }
    let x = n as f64;
    let (scale, unit) = UNITS
        .iter()
        .copied()
        .find(|&(scale, _)| x >= scale)
        .expect("n >= 10000");
    format!("{:.1}{unit}", x / scale)
}

/// Seconds left as `45s`, `12m05s`, `3h20m`, at most `99h59m`.
fn eta(secs: f64) -> String {
    let s = secs.round().min(99.0 * 3600.0 + 59.0 * 60.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

impl Progress {
    /// `total`: bytes on disk of all inputs, when known; `read`: bytes read so
    /// far. `force` reports even when stderr is not a terminal.
    pub fn new(total: Option<u64>, read: Arc<AtomicU64>, force: bool) -> Option<Progress> {
        let term = std::io::IsTerminal::is_terminal(&std::io::stderr());
        if !term && !force {
            return None;
        }
        let bar = term.then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr_with_hz(10));
            let template = if total.is_some() {
                format!("{{bar:{BAR_WIDTH}}} {{msg}}")
            } else {
                "{spinner} {msg}".to_string()
            };
            bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
            bar
        });
        let every = Duration::from_millis(if term { 100 } else { 1000 });
        Some(Progress {
            bar,
            total,
            read,
            started: Instant::now(),
            // The first chunk draws at once.
            last: Instant::now() - every,
            every,
        })
    }

    /// Updates the display (rate-limited).
    pub fn update(&mut self, tally: &Tally) {
        let now = Instant::now();
        if now - self.last < self.every {
            return;
        }
        self.last = now;
        let read = self.read.load(Ordering::Relaxed);
        let snap = Snapshot {
            bytes: tally.totals.bytes_in,
            read,
            total: self.total,
            events: tally.totals.events,
            rejected: tally.totals.rejected,
            secs: (now - self.started).as_secs_f64().max(1e-3),
        };
        match &self.bar {
            Some(bar) => {
                bar.set_position(read);
                bar.set_message(snap.text());
            }
            None => crate::report::note(&format!("teamlog: progress: {}", snap.text())),
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_line_fits_80_columns() {
        // The widest of each field below 10 TB, 10 GB/s and 10^12 events,
        // and the smallest run.
        let widest = Snapshot {
            bytes: 9_999_000_000_000,
            read: 1,
            total: Some(u64::MAX),
            events: 999_900_000_000,
            rejected: 999_900_000_000,
            secs: 1000.0,
        };
        let done = Snapshot {
            read: u64::MAX,
            ..widest
        };
        let tiny = Snapshot {
            bytes: 1,
            read: 1,
            total: Some(2),
            events: 0,
            rejected: 0,
            secs: 0.001,
        };
        for s in [widest, done, tiny] {
            let width = BAR_WIDTH + 1 + s.text().chars().count();
            assert!(width < 80, "{width} columns: {}", s.text());
        }
        assert!(widest.text().ends_with("ETA 99h59m"), "{}", widest.text());
    }

    #[test]
    fn it_reports_the_summarys_units_and_the_compressed_position() {
        // 50 MB decompressed from the first 10 MB of a 40 MB gzip file, in 2 s.
        let s = Snapshot {
            bytes: 50_000_000,
            read: 10_000_000,
            total: Some(40_000_000),
            events: 123_456,
            rejected: 7,
            secs: 2.0,
        };
        assert_eq!(
            s.text(),
            "25% 50.0 MB 25.0 MB/s 123.5K events 7 rejected ETA 6s"
        );
        let stdin = Snapshot { total: None, ..s };
        assert_eq!(stdin.text(), "50.0 MB 25.0 MB/s 123.5K events 7 rejected");
    }

    #[test]
    fn counts_and_etas_stay_short() {
        assert_eq!(human_count(9_999), "9999");
        assert_eq!(human_count(12_345_678), "12.3M");
        assert_eq!(human_count(u64::MAX), "18446744.1T");
        assert_eq!(eta(59.4), "59s");
        assert_eq!(eta(605.0), "10m05s");
        assert_eq!(eta(1e9), "99h59m");
    }
}
