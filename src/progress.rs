//! The progress bar on stderr (issue 5): bytes read of the total (compressed
//! sizes are known up front), MB/s, events/s, ETA, rejected so far. Shown only
//! when stderr is a terminal (or `--progress` forces it), never with `-q`.

use crate::report::human_bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use teamlog_core::pipeline::Tally;

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
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}"
            } else {
                "{spinner} {bytes} {bytes_per_sec} {msg}"
            };
            bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
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
        let secs = (now - self.started).as_secs_f64().max(1e-3);
        let t = &tally.totals;
        let msg = format!(
            "{} events ({:.0}/s), {} rejected",
            t.events,
            t.events as f64 / secs,
            t.rejected
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(read);
                bar.set_message(msg);
            }
            None => {
                let of = self
                    .total
                    .map(|t| format!(" of {}", human_bytes(t)))
                    .unwrap_or_default();
                let eta = self
                    .total
                    .filter(|&t| read > 0 && t > read)
                    .map(|t| format!(", ETA {:.0} s", (t - read) as f64 * secs / read as f64))
                    .unwrap_or_default();
                eprintln!(
                    "teamlog: progress: {}{of} read, {:.1} MB/s{eta}, {msg}",
                    human_bytes(read),
                    read as f64 / secs / 1e6
                );
            }
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
