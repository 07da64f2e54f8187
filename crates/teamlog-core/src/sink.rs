//! The output side of a run: the one [`Sink`] trait every destination of
//! events implements (a byte stream, a file per source, a columnar table,
//! `pull`'s checkpointed output), [`Stream`], the sink for one
//! `io::Write`, and [`Encoder`], the part of a sink's work that the
//! pipeline's workers do for it.
//!
//! The ordered writer hands a sink whole events only: each call's `lines` is
//! one or more complete NDJSON events, each ending in `\n`, in input order,
//! with their row ids filled in. Output JSON never holds a raw newline inside
//! an event, so a sink that needs single events (Parquet, say) splits on `\n`.

use crate::pipeline::SourceTotals;
use std::any::Any;
use std::io::{self, Write};
use std::sync::Arc;

/// What a sink's [`Encoder`] made of some events; only that sink knows the
/// type inside.
pub type Encoded = Box<dyn Any + Send>;

/// A sink's per-part work on the events, done in the pipeline's workers
/// (so it runs on every thread) instead of on the ordered writer: a
/// columnar sink turns a part's lines into column fragments there, and the
/// writer only appends them. The result reaches [`Sink::encoded_events`]
/// with the same lines.
pub trait Encoder: Send + Sync {
    /// Encodes one part's `events` (whole lines). `row_id_slots` are the
    /// offsets where the writer will insert sequential row ids (so the
    /// encoder sees them empty); `reuse` is an earlier result of this
    /// encoder whose buffers may be reused.
    fn encode(&self, events: &[u8], row_id_slots: &[usize], reuse: Option<Encoded>) -> Encoded;
}

/// A destination for a run's normalized events.
pub trait Sink {
    /// Writes whole events of source number `source` (an index into the run's
    /// sources). Sources arrive in order: all of source 0, then source 1, …
    fn events(&mut self, source: usize, lines: &[u8]) -> io::Result<()>;

    /// The encoder the pipeline's workers run on each part of the events
    /// for this sink, if it has one; asked once, when the run starts.
    fn encoder(&self) -> Option<Arc<dyn Encoder>> {
        None
    }

    /// [`Sink::events`] with what this sink's [`Encoder`] made of them
    /// (before the writer filled in row ids; `lines` has them).
    fn encoded_events(
        &mut self,
        source: usize,
        lines: &[u8],
        _encoded: &Encoded,
    ) -> io::Result<()> {
        self.events(source, lines)
    }

    /// Source `source` has been read to its end (`complete`) or has failed
    /// part way (`!complete`); called once per source, after its events.
    fn end_source(&mut self, _source: usize, _complete: bool) -> io::Result<()> {
        Ok(())
    }

    /// The reject records of source `source` (whole NDJSON lines), after
    /// that chunk's events. A sink that keeps per-source bookkeeping (the
    /// rejects sidecar of an output directory) keeps them; others ignore them
    /// (the run's rejects stream gets them as well).
    fn rejects(&mut self, _source: usize, _records: &[u8]) -> io::Result<()> {
        Ok(())
    }

    /// Source `source` has ended, with what the writer counted for it
    /// (`totals.error` is set when it failed part way). Called once per
    /// source instead of [`Sink::end_source`], which it calls by default.
    fn source_done(&mut self, source: usize, totals: &SourceTotals) -> io::Result<()> {
        self.end_source(source, totals.error.is_none())
    }

    /// Flushes whatever is buffered.
    fn flush(&mut self) -> io::Result<()>;

    /// Every source has been read to its end: completes what can only be
    /// written last (a Parquet file's footer), before the output is put in
    /// place. Not called when the run's output is to be discarded.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Every event to one `io::Write`, source after source.
pub struct Stream<W>(pub W);

impl<W: Write> Sink for Stream<W> {
    fn events(&mut self, _source: usize, lines: &[u8]) -> io::Result<()> {
        self.0.write_all(lines)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
