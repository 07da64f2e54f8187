//! The pipeline: one reader, N workers, one ordered writer (SPEC §7, STYLE "The hot path").
//!
//! The reader cuts sources into chunks and, for each, sends the chunk to the
//! work queue and a one-shot receiver for its result to the order queue; the
//! writer (the calling thread) drains the order queue, so output follows input
//! order whatever the workers' timing. Both queues are bounded, which bounds
//! memory: at most `in_flight` chunks exist at once, and their buffers go back
//! to the reader and workers to be reused. With one thread the same functions
//! run inline, so `--threads 1` and `--threads N` write the same bytes.

use crate::framing::{self, Chunk, ChunkReader, Source, SourceFailure, SourceInfo};
use crate::output::{terminal_safe, RowIdGen};
use crate::schema::Plan;
use crate::transform::{ChunkOutput, Counts, Scratch, TransformOptions, Transformer};
use crossbeam_channel::{bounded, unbounded, Receiver};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

/// How the work is spread (the performance trade-offs of `--help`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Worker threads; 1 runs everything on the calling thread.
    pub threads: usize,
    /// Target chunk size in bytes.
    pub chunk_size: usize,
    /// Chunks alive at once (read, queued, being processed or written).
    pub in_flight: usize,
}

impl Settings {
    /// Defaults for `threads` workers: 1 MiB chunks, two per worker in flight,
    /// capped so that memory stays bounded on machines with many cores.
    pub fn new(threads: usize) -> Settings {
        let threads = threads.max(1);
        Settings {
            threads,
            chunk_size: 1 << 20,
            in_flight: (2 * threads).clamp(4, 32),
        }
    }
}

/// Totals for one source.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SourceTotals {
    #[serde(flatten)]
    pub counts: Counts,
    pub rejected_by_reason: BTreeMap<String, u64>,
}

/// Where the ordered writer sends things.
pub struct Targets<'a> {
    pub out: &'a mut dyn Write,
    pub rejects: Option<&'a mut dyn Write>,
    /// Reject messages go here (stderr) unless quiet.
    pub messages: Option<&'a mut dyn Write>,
}

/// The ordered writer's state: row-id numbering and what it has counted.
pub struct Writer {
    row_ids: Option<RowIdGen>,
    compose: Vec<u8>,
    notes_limit: usize,
    pub tally: Tally,
}

/// What the writer counted: totals, rejects by reason, per-source totals.
#[derive(Debug, Default)]
pub struct Tally {
    pub totals: Counts,
    pub by_reason: BTreeMap<String, u64>,
    pub per_source: Vec<SourceTotals>,
    /// Rejects described on stderr.
    pub notes_shown: u64,
}

impl Tally {
    /// Rejects that were counted but not described on stderr.
    pub fn unshown_rejects(&self) -> u64 {
        self.totals.rejected.saturating_sub(self.notes_shown)
    }
}

impl Writer {
    /// `row_ids` is `Some` for sequential row ids, which only the writer can
    /// number; `notes_limit` caps the reject messages written to stderr.
    pub fn new(row_ids: Option<RowIdGen>, notes_limit: usize) -> Writer {
        Writer {
            row_ids,
            compose: Vec::new(),
            notes_limit,
            tally: Tally::default(),
        }
    }

    /// Writes one chunk's results, in order; `source` indexes the run's sources.
    pub fn write(
        &mut self,
        to: &mut Targets<'_>,
        source: usize,
        name: &str,
        res: &ChunkOutput,
    ) -> io::Result<()> {
        match &mut self.row_ids {
            Some(gen) if !res.row_id_slots.is_empty() => {
                self.compose.clear();
                let mut from = 0;
                for &at in &res.row_id_slots {
                    self.compose.extend_from_slice(&res.events[from..at]);
                    gen.write_next(&mut self.compose);
                    from = at;
                }
                self.compose.extend_from_slice(&res.events[from..]);
                to.out.write_all(&self.compose)?;
            }
            _ => to.out.write_all(&res.events)?,
        }
        if let Some(r) = &mut to.rejects {
            r.write_all(&res.rejects)?;
        }
        let tally = &mut self.tally;
        if let Some(m) = &mut to.messages {
            for n in &res.notes {
                if tally.notes_shown as usize >= self.notes_limit {
                    break;
                }
                tally.notes_shown += 1;
                let at = match n.index {
                    Some(i) => format!("{}:{} (element {i})", terminal_safe(name), n.line),
                    None => format!("{}:{}", terminal_safe(name), n.line),
                };
                // Best effort: a closed stderr must not stop the run.
                let _ = writeln!(m, "teamlog: {at}: {}", terminal_safe(&n.reason));
            }
        }
        tally.totals.add(&res.counts);
        if tally.per_source.len() <= source {
            tally
                .per_source
                .resize_with(source + 1, SourceTotals::default);
        }
        let ps = &mut tally.per_source[source];
        ps.counts.add(&res.counts);
        for (class, n) in &res.by_reason {
            *tally.by_reason.entry(class.clone()).or_default() += n;
            *ps.rejected_by_reason.entry(class.clone()).or_default() += n;
        }
        Ok(())
    }
}

impl Targets<'_> {
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some(r) = &mut self.rejects {
            r.flush()?;
        }
        Ok(())
    }
}

/// What the reader learned about the sources.
#[derive(Debug, Default)]
pub struct ReaderReport {
    pub sources: Vec<Source>,
    pub failures: Vec<SourceFailure>,
    pub info: Vec<SourceInfo>,
}

/// Transforms one chunk into `out` (cleared first).
pub fn process_chunk(
    t: &Transformer<'_>,
    chunk: &Chunk,
    source: &str,
    sc: &mut Scratch,
    out: &mut ChunkOutput,
) {
    out.clear();
    if let Some(total) = chunk.too_long {
        t.reject_too_long(&chunk.data, source, chunk.first_line, total, out);
        return;
    }
    out.counts.bytes_in = chunk.data.len() as u64;
    for (n, line) in (chunk.first_line..).zip(framing::lines(&chunk.data)) {
        t.process_line(line, source, n, sc, out);
    }
}

/// Runs the whole pipeline over `sources`, writing in order to `to`.
pub fn run(
    plan: &Plan,
    opts: &TransformOptions,
    sources: Vec<Source>,
    settings: &Settings,
    writer: &mut Writer,
    to: &mut Targets<'_>,
) -> io::Result<ReaderReport> {
    let names: Arc<[Arc<str>]> = sources.iter().map(|s| s.name.clone()).collect();
    // Every source gets a row in the per-source totals, read or not.
    writer
        .tally
        .per_source
        .resize_with(sources.len(), SourceTotals::default);
    let t = Transformer::new(plan, opts);
    let mut reader = ChunkReader::new(sources, settings.chunk_size, opts.max_line_bytes);
    let keep = |buf: &Vec<u8>| buf.capacity() <= 4 * settings.chunk_size;

    if settings.threads <= 1 {
        let mut sc = Scratch::default();
        let mut out = ChunkOutput::default();
        let mut buf = Vec::new();
        while let Some(chunk) = reader.next_chunk(std::mem::take(&mut buf)) {
            process_chunk(&t, &chunk, &names[chunk.source], &mut sc, &mut out);
            writer.write(to, chunk.source, &names[chunk.source], &out)?;
            if keep(&chunk.data) {
                buf = chunk.data;
            }
        }
        return Ok(finish(reader));
    }

    type Done = (Chunk, ChunkOutput);
    let (work_tx, work_rx) =
        bounded::<(Chunk, crossbeam_channel::Sender<Done>)>(settings.in_flight);
    let (order_tx, order_rx) = bounded::<Receiver<Done>>(settings.in_flight);
    let (buf_tx, buf_rx) = unbounded::<Vec<u8>>();
    let (res_tx, res_rx) = unbounded::<ChunkOutput>();

    std::thread::scope(|s| {
        let reader_thread = s.spawn(move || {
            loop {
                let buf = buf_rx.try_recv().unwrap_or_default();
                let Some(chunk) = reader.next_chunk(buf) else {
                    break;
                };
                let (tx, rx) = bounded(1);
                if order_tx.send(rx).is_err() || work_tx.send((chunk, tx)).is_err() {
                    break;
                }
            }
            reader
        });
        for _ in 0..settings.threads {
            let work_rx = work_rx.clone();
            let res_rx = res_rx.clone();
            let (t, names) = (&t, names.clone());
            s.spawn(move || {
                let mut sc = Scratch::default();
                for (chunk, done) in work_rx {
                    let mut out = res_rx.try_recv().unwrap_or_default();
                    process_chunk(t, &chunk, &names[chunk.source], &mut sc, &mut out);
                    // The writer may have gone (an error); nothing to do then.
                    let _ = done.send((chunk, out));
                }
            });
        }
        drop(work_rx);

        let written: io::Result<()> = (|| {
            for rx in &order_rx {
                let (chunk, out) = rx
                    .recv()
                    .map_err(|_| io::Error::other("a worker thread stopped unexpectedly"))?;
                writer.write(to, chunk.source, &names[chunk.source], &out)?;
                if keep(&chunk.data) {
                    let _ = buf_tx.send(chunk.data);
                }
                let _ = res_tx.send(out);
            }
            Ok(())
        })();
        // Dropping the order queue tells the reader to stop early on error.
        drop(order_rx);
        let reader = reader_thread
            .join()
            .map_err(|_| io::Error::other("the reader thread panicked"))?;
        written.map(|_| finish(reader))
    })
}

fn finish(reader: ChunkReader) -> ReaderReport {
    ReaderReport {
        sources: reader.sources().to_vec(),
        failures: reader.failures,
        info: reader.info,
    }
}
