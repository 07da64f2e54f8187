//! `pull --normalize`: each API page goes through the core engine in-process,
//! as one chunk through the same transform and ordered writer as the filter
//! (no second parse, no second process).
//!
//! Its `--rejects` file is opened for appending (a rerun with the same `--state`
//! continues it, never truncates it) and is checkpointed like the event output:
//! flushed and synced before the cursor moves past its records, cut back to the
//! checkpoint on a rerun after a crash.

use super::output::{EventSink, Output, Written};
use crate::normalize::NormalizeArgs;
use serde_json::value::RawValue;
use std::io::{self, Write};
use teamlog_core::pipeline::{Targets, Writer};
use teamlog_core::sink::Stream;
use teamlog_core::transform::{ChunkOutput, Scratch, Transformer};

/// The name rejects carry as their source.
pub const SOURCE: &str = "dropbox-api";

/// Reject messages described on stderr before only a count is kept.
const NOTES: usize = 10;

/// Normalizes pages of raw events.
pub struct NormalizeSink {
    transformer: Transformer,
    writer: Writer,
    scratch: Scratch,
    chunk: ChunkOutput,
    rejects: Option<(Output, String)>,
    quiet: bool,
    /// Ordinal of the next event in this run: the `line` of its reject record.
    next: u64,
}

impl NormalizeSink {
    pub fn new(args: &NormalizeArgs, quiet: bool) -> anyhow::Result<NormalizeSink> {
        let notes = if quiet || args.rejects.is_some() {
            0
        } else {
            NOTES
        };
        let transformer = args.transformer(usize::MAX, notes)?;
        let rejects = match &args.rejects {
            Some(p) => {
                let name = p.display().to_string();
                let o = Output::append_file(p)
                    .map_err(|e| crate::atomic::with_path(e, "cannot open --rejects file", p))?;
                Some((o, name))
            }
            None => None,
        };
        Ok(NormalizeSink {
            writer: Writer::new(args.row_ids(transformer.options()), notes),
            transformer,
            scratch: Scratch::default(),
            chunk: ChunkOutput::default(),
            rejects,
            quiet,
            next: 1,
        })
    }
}

impl EventSink for NormalizeSink {
    fn write_page(&mut self, events: &[&RawValue], out: &mut dyn Write) -> io::Result<Written> {
        let before = (
            self.writer.tally.totals.events,
            self.writer.tally.totals.rejected,
        );
        let t = &self.transformer;
        self.chunk.clear();
        for e in events {
            t.process_line(
                e.get().as_bytes(),
                SOURCE,
                self.next,
                &mut self.scratch,
                &mut self.chunk,
            );
            self.next += 1;
        }
        let mut stderr = io::stderr();
        let mut single = Stream(out);
        let mut to = Targets {
            out: &mut single,
            sources: None,
            rejects: self.rejects.as_mut().map(|r| &mut r.0 as &mut dyn Write),
            messages: (!self.quiet).then_some(&mut stderr as &mut dyn Write),
            warnings: None,
        };
        self.writer.write(&mut to, 0, SOURCE, &self.chunk)?;
        // The pull loop commits the rejects with the output before the checkpoint.
        let t = &self.writer.tally.totals;
        Ok(Written {
            events: t.events - before.0,
            rejected: t.rejected - before.1,
        })
    }

    fn rejects(&mut self) -> Option<(&mut Output, &str)> {
        self.rejects.as_mut().map(|(o, n)| (o, n.as_str()))
    }

    fn finish(&mut self, _out: &mut dyn Write, stderr: &mut dyn Write) -> io::Result<bool> {
        let t = &self.writer.tally.totals;
        if !self.quiet && t.rejected > 0 {
            let _ = writeln!(
                stderr,
                "teamlog: normalized {} events, rejected {} (see --rejects for the records)",
                t.events, t.rejected
            );
        }
        Ok(t.rejected == 0)
    }
}
