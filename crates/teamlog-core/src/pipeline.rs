//! The pipeline: readers, N workers, one ordered writer.
//!
//! A reader thread cuts sources into chunks and sends each to the work queue
//! and a one-shot receiver for its result to the order queue. With several
//! sources, up to `readers` threads each take the next source (so many
//! compressed files decompress in parallel) and a sequencer thread forwards
//! their chunks source by source instead. The writer (the calling thread) drains the
//! order queue, so output follows input order whatever the threads' timing.
//! With one thread the same functions run inline, so `--threads 1` and
//! `--threads N` write the same bytes.
//!
//! A sink with an [`Encoder`] (Parquet's column shredding) has it run in the
//! worker on each part of a chunk's events, so that work scales with the
//! threads; the writer hands the sink the lines and what was made of them.
//!
//! The stages are methods of `Run`: `inline` (`--threads 1`), and for the
//! threaded run `read_alone` (one reader, no sequencer) or `read_some` and
//! `sequence` (several readers), `work` (a worker) and `write_in_order` (the
//! writer loop).
//!
//! Memory is bounded by the settings, never by the input:
//! - chunks: the work and order queues hold `in_flight` chunks; readers
//!   working ahead of the source being written hold at most
//!   [`Settings::read_ahead`] bytes of chunk buffers between them (a
//!   `Budget` the writer pays back), however many small files there are;
//! - results: a worker hands a chunk's events and reject records to the
//!   writer in parts of about a chunk's size ([`part_limit`]), between
//!   lines and between the elements of an envelope, and waits while the
//!   writer is behind, so reject records stream to their sink instead of
//!   piling up per chunk (dense rejects, long source names, envelopes of a
//!   million elements);
//! - recycled buffers go back to be reused only when not oversized;
//! - per-source totals: the writer keeps the current source's only, and
//!   hands each ended source's to the [`SourceLog`] target.

use crate::framing::{self, Chunk, Source, SourceReader};
use crate::lint::TypeCounts;
use crate::rowid::RowIdGen;
use crate::sink::{Encoder, Sink};
use crate::terminal::sanitize as terminal_safe;
use crate::transform::{ChunkOutput, Counts, Scratch, Transformer};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// How the work is spread (the performance trade-offs of `--help`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Worker threads; 1 runs everything on the calling thread.
    pub threads: usize,
    /// Target chunk size in bytes.
    pub chunk_size: usize,
    /// Chunks alive at once (read, queued, being processed or written).
    pub in_flight: usize,
    /// Sources read (and decompressed) at once.
    pub readers: usize,
}

/// The most bytes of results a worker builds before handing them to the
/// writer: a chunk's worth, at least 64 KiB.
pub fn part_limit(settings: &Settings) -> usize {
    settings.chunk_size.max(64 << 10)
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
            readers: threads.min(8),
        }
    }

    /// Bytes of chunk buffers that readers may hold ahead of the source the
    /// sequencer is on: a chunk per reader (at least two).
    pub fn read_ahead(&self) -> usize {
        self.readers.max(2).saturating_mul(self.chunk_size)
    }
}

/// Totals for one source: its `--stats` entry (read back by whoever keeps
/// them, see [`SourceLog`]).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SourceTotals {
    pub source: String,
    /// The path's exact bytes in base64 when they are not UTF-8 (`source`
    /// then writes those bytes `\xNN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_base64: Option<String>,
    /// `none`, `gzip` or `zstd`; absent when the source could not be opened.
    pub compression: Option<Cow<'static, str>>,
    /// Size on disk (compressed), when the source is a file.
    pub size: Option<u64>,
    #[serde(flatten)]
    pub counts: Counts,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Why the source could not be opened or read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Events of this source that are in a committed output. The writer
    /// leaves it 0: only the application knows what it committed (a failed
    /// source's events, or a whole `-o FILE` not put in place, are not).
    pub written: u64,
    /// Its valid events by category and by event type.
    pub events_by_category: BTreeMap<String, u64>,
    pub events_by_type: BTreeMap<String, u64>,
}

/// Receives each source's totals once the source has ended, in input
/// order. The writer keeps only the source it is on, so a batch of a
/// million small files does not hold a million sets of totals: whoever
/// wants them all keeps them (the application spills them to disk).
pub trait SourceLog {
    fn ended(&mut self, index: usize, totals: SourceTotals) -> io::Result<()>;
}

/// Where the ordered writer sends things.
pub struct Targets<'a> {
    pub out: &'a mut dyn Sink,
    /// Each ended source's totals (dropped when `None`).
    pub sources: Option<&'a mut dyn SourceLog>,
    pub rejects: Option<&'a mut dyn Write>,
    /// Reject messages go here (stderr) unless quiet.
    pub messages: Option<&'a mut dyn Write>,
    /// One JSON record per catalogue warning (`--warnings`).
    pub warnings: Option<&'a mut dyn Write>,
}

/// Called by the writer after each chunk, with the counts so far.
pub type ChunkHook = Box<dyn FnMut(&Tally)>;

/// The ordered writer's state: row-id numbering and what it has counted.
pub struct Writer {
    row_ids: Option<RowIdGen>,
    compose: Vec<u8>,
    notes_limit: usize,
    pub tally: Tally,
    /// Called after each chunk is written (progress display).
    pub on_chunk: Option<ChunkHook>,
}

/// What the writer counted: totals, rejects by reason, and the totals of
/// the source being written (each ended source's go to [`SourceLog`]).
#[derive(Debug, Default)]
pub struct Tally {
    pub totals: Counts,
    pub by_reason: BTreeMap<String, u64>,
    /// The source being written: its index and its totals so far (its
    /// counts by category and type are in `current_types` until it ends).
    pub current: Option<(usize, SourceTotals)>,
    current_types: TypeCounts,
    /// Rejects described on stderr.
    pub notes_shown: u64,
    /// Sources that could not be opened or read to the end.
    pub failed_sources: u64,
    /// Catalogue warnings (with `lint`). (Counts by category and type are
    /// kept per source only; the report sums them with earlier runs' ones.)
    pub warnings: WarningTally,
}

/// Catalogue warnings counted.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct WarningTally {
    pub total: u64,
    pub by_kind: BTreeMap<&'static str, u64>,
    pub by_event_type: BTreeMap<String, u64>,
}

/// The event type a warning is counted under when the event has none.
pub const NO_EVENT_TYPE: &str = "(none)";

impl Tally {
    /// The totals of source `index`, started (named `name`) at its first chunk.
    fn source(&mut self, index: usize, name: &str, res: &ChunkOutput) -> &mut SourceTotals {
        if self.current.as_ref().map(|c| c.0) != Some(index) {
            let totals = SourceTotals {
                source: name.to_string(),
                source_base64: res.source_base64.as_deref().map(str::to_string),
                ..SourceTotals::default()
            };
            self.current = Some((index, totals));
            self.current_types.clear();
        }
        &mut self.current.as_mut().expect("just set").1
    }

    /// Adds one chunk's counts, rejects by reason, events by type and
    /// warnings to the batch's and to source `index`'s.
    fn add(&mut self, index: usize, name: &str, res: &ChunkOutput) {
        self.totals.add(&res.counts);
        for (class, n) in &res.by_reason {
            bump(&mut self.by_reason, class, *n);
        }
        add_warnings(&mut self.warnings, res);
        let ps = self.source(index, name, res);
        ps.counts.add(&res.counts);
        for (class, n) in &res.by_reason {
            bump(&mut ps.rejected_by_reason, class, *n);
        }
        self.current_types.merge(&res.by_type);
    }

    /// Writes the ended source's counts by category and type into its totals.
    fn close_types(&mut self, ps: &mut SourceTotals) {
        self.current_types.for_each(|category, ty, n| {
            if let Some(c) = category {
                bump(&mut ps.events_by_category, c, n);
            }
            if let Some(t) = ty {
                bump(&mut ps.events_by_type, t, n);
            }
        });
        self.current_types.clear();
    }
}

/// Counts one chunk's catalogue warnings.
fn add_warnings(w: &mut WarningTally, res: &ChunkOutput) {
    for warning in &res.warnings {
        w.total += 1;
        *w.by_kind.entry(warning.kind.as_str()).or_default() += 1;
        let ty = warning.event_type.as_deref().unwrap_or(NO_EVENT_TYPE);
        bump(&mut w.by_event_type, ty, 1);
    }
}

/// Adds `n` to `key`'s count, copying the key only the first time.
pub fn bump(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    match map.get_mut(key) {
        Some(c) => *c += n,
        None => {
            map.insert(key.to_string(), n);
        }
    }
}

/// One `--warnings` record: the warning and its source.
#[derive(serde::Serialize)]
struct WarningRecord<'a> {
    source: &'a str,
    #[serde(flatten)]
    warning: &'a crate::lint::Warning,
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
            on_chunk: None,
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
                deliver(to.out, source, &self.compose, res)?;
            }
            _ if res.events.is_empty() => {}
            _ => deliver(to.out, source, &res.events, res)?,
        }
        if !res.rejects.is_empty() {
            to.out.rejects(source, &res.rejects)?;
        }
        if let Some(r) = &mut to.rejects {
            r.write_all(&res.rejects)?;
        }
        if let Some(w) = &mut to.warnings {
            for warning in &res.warnings {
                let rec = WarningRecord {
                    source: name,
                    warning,
                };
                serde_json::to_writer(&mut *w, &rec).map_err(io::Error::other)?;
                w.write_all(b"\n")?;
            }
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
        tally.add(source, name, res);
        if let Some(f) = &mut self.on_chunk {
            f(tally);
        }
        Ok(())
    }

    /// Records how a source ended, lets the output finish it and hands its
    /// totals on. Its last chunk was written just before, so they exist.
    fn end_source(&mut self, to: &mut Targets<'_>, chunk: &Chunk) -> io::Result<()> {
        let Some(end) = &chunk.end else {
            return Ok(());
        };
        let (index, mut ps) = match self.tally.current.take() {
            Some((i, ps)) if i == chunk.source => (i, ps),
            _ => unreachable!("a source ends after its last chunk is written"),
        };
        self.tally.close_types(&mut ps);
        ps.compression = end.compression.map(|c| Cow::Borrowed(c.name()));
        ps.size = end.size;
        ps.error = end.failure.clone();
        self.tally.failed_sources += u64::from(end.failure.is_some());
        to.out.source_done(index, &ps)?;
        match &mut to.sources {
            Some(log) => log.ended(index, ps),
            None => Ok(()),
        }
    }
}

/// Hands `lines` (`res`'s events, row ids filled in) to the sink, with what
/// its encoder made of them when it has one.
fn deliver(out: &mut dyn Sink, source: usize, lines: &[u8], res: &ChunkOutput) -> io::Result<()> {
    match &res.encoded {
        Some(e) => out.encoded_events(source, lines, e),
        None => out.events(source, lines),
    }
}

impl Targets<'_> {
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some(r) = &mut self.rejects {
            r.flush()?;
        }
        if let Some(w) = &mut self.warnings {
            w.flush()?;
        }
        Ok(())
    }
}

/// Transforms one chunk into `out` (cleared first).
pub fn process_chunk(
    t: &Transformer,
    chunk: &Chunk,
    source: &str,
    sc: &mut Scratch,
    out: &mut ChunkOutput,
) {
    process_chunk_parts(t, chunk, source, sc, out, &mut |_| {});
}

/// [`process_chunk`], calling `spill` between lines and between envelope
/// elements (see [`Transformer::process_line_parts`]): where the caller may
/// hand `out`'s results on and clear it.
pub fn process_chunk_parts(
    t: &Transformer,
    chunk: &Chunk,
    source: &str,
    sc: &mut Scratch,
    out: &mut ChunkOutput,
    spill: &mut dyn FnMut(&mut ChunkOutput),
) {
    out.clear();
    if let Some(total) = chunk.too_long {
        t.reject_too_long(&chunk.data, source, chunk.first_line, total, out);
        return;
    }
    out.counts.bytes_in = chunk.data.len() as u64;
    for (n, line) in (chunk.first_line..).zip(framing::lines(&chunk.data)) {
        t.process_line_parts(line, source, n, sc, out, spill);
        spill(out);
    }
}

/// Whether results have grown to a part worth handing on.
fn part_full(out: &ChunkOutput, limit: usize) -> bool {
    out.events.len() + out.rejects.len() >= limit
}

/// Whether a recycled result buffer is small enough to keep in the pool.
fn keep_output(out: &ChunkOutput, limit: usize) -> bool {
    out.events.capacity() + out.rejects.capacity() <= 4 * limit
}

/// The bytes of chunk buffers readers hold ahead of the writer. The reader
/// of the source the sequencer is on never waits (so the run always moves);
/// others wait while the budget is spent.
struct Budget {
    limit: usize,
    /// (bytes held, the source the sequencer is on)
    state: Mutex<(usize, usize)>,
    changed: Condvar,
}

impl Budget {
    fn new(limit: usize) -> Budget {
        Budget {
            limit,
            state: Mutex::new((0, 0)),
            changed: Condvar::new(),
        }
    }

    /// Takes `n` bytes for a chunk of `source`; false when the run stops.
    fn take(&self, source: usize, n: usize, stop: &AtomicBool) -> bool {
        let ready = |st: &mut (usize, usize)| source == st.1 || st.0 == 0 || st.0 + n <= self.limit;
        match wait_until(&self.state, &self.changed, stop, ready) {
            Some(mut st) => {
                st.0 += n;
                true
            }
            None => false,
        }
    }

    fn give_back(&self, n: usize) {
        if n > 0 {
            let mut st = self.state.lock().expect("budget lock");
            st.0 = st.0.saturating_sub(n);
            self.changed.notify_all();
        }
    }

    /// The sequencer has moved on to `source`.
    fn now_on(&self, source: usize) {
        self.state.lock().expect("budget lock").1 = source;
        self.changed.notify_all();
    }
}

/// The queues of the sources being read, from their readers to the
/// sequencer: as many as there are readers, however many sources.
#[derive(Default)]
struct Handoff {
    queues: Mutex<std::collections::HashMap<usize, Receiver<Chunk>>>,
    added: Condvar,
}

impl Handoff {
    fn put(&self, source: usize, rx: Receiver<Chunk>) {
        self.queues.lock().expect("handoff lock").insert(source, rx);
        self.added.notify_all();
    }

    /// The queue of `source`, once its reader has started; `None` when the
    /// run stops first.
    fn take(&self, source: usize, stop: &AtomicBool) -> Option<Receiver<Chunk>> {
        let has =
            |q: &mut std::collections::HashMap<usize, Receiver<Chunk>>| q.contains_key(&source);
        wait_until(&self.queues, &self.added, stop, has)?.remove(&source)
    }
}

/// Waits on `changed` until `ready` holds for the state in `m`, and gives
/// the locked state; `None` once `stop` is set (checked every 50 ms, so a
/// stopped run never waits on a notification that will not come).
fn wait_until<'m, T>(
    m: &'m Mutex<T>,
    changed: &Condvar,
    stop: &AtomicBool,
    mut ready: impl FnMut(&mut T) -> bool,
) -> Option<std::sync::MutexGuard<'m, T>> {
    let mut st = m.lock().expect("pipeline lock");
    while !ready(&mut st) {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        st = changed
            .wait_timeout(st, std::time::Duration::from_millis(50))
            .expect("pipeline lock")
            .0;
    }
    Some(st)
}

/// What a worker hands the writer for one chunk: parts of its results, then
/// the chunk back with the rest.
enum Part {
    More(usize, ChunkOutput),
    Last(Chunk, ChunkOutput),
}

/// Runs the whole pipeline over `sources`, writing in order to `to`: inline
/// on the calling thread with one thread, else with reader, worker and
/// sequencer threads around the writer.
pub fn run(
    t: &Transformer,
    sources: &[Source],
    settings: &Settings,
    writer: &mut Writer,
    to: &mut Targets<'_>,
    read_bytes: &Arc<AtomicU64>,
) -> io::Result<()> {
    let run = Run {
        t,
        sources,
        settings,
        read_bytes,
        names: sources.iter().map(|s| s.name.clone()).collect(),
        exact: sources
            .iter()
            .map(|s| s.name_base64().map(Arc::from))
            .collect(),
        limit: part_limit(settings),
        encoder: to.out.encoder(),
    };
    if settings.threads <= 1 {
        run.inline(writer, to)
    } else {
        run.threaded(writer, to)
    }
}

/// What every stage of one run reads.
struct Run<'a> {
    t: &'a Transformer,
    sources: &'a [Source],
    settings: &'a Settings,
    read_bytes: &'a Arc<AtomicU64>,
    /// The sources' names, as reject records and messages give them.
    names: Vec<Arc<str>>,
    /// Exact names of sources whose path is not UTF-8, for reject records.
    exact: Vec<Option<Arc<str>>>,
    /// The size of the parts a chunk's results are handed on in.
    limit: usize,
    /// The sink's per-part work, done where the part is made.
    encoder: Option<Arc<dyn Encoder>>,
}

/// The queues a chunk enters together: the chunk to the workers and the
/// slot of its results to the writer, in input order. Dropping it (when the
/// thread that owns it ends) ends the workers and then the writer's loop.
struct Forward {
    order: Sender<Receiver<Part>>,
    work: Sender<(Chunk, Sender<Part>)>,
}

impl Forward {
    /// Hands `chunk` on; false once the writer has gone.
    fn send(&self, chunk: Chunk) -> bool {
        let (tx, done) = bounded(1);
        self.order.send(done).is_ok() && self.work.send((chunk, tx)).is_ok()
    }
}

/// How several readers share out the sources and hand them, in order, to
/// the sequencer; and the flag that stops them when the writer fails.
struct Feed {
    /// One small queue per source being read; readers take sources in
    /// order, so the sequencer always waits on a source that a reader is
    /// working on.
    handoff: Handoff,
    next_source: AtomicUsize,
    stop: AtomicBool,
    budget: Budget,
}

/// The buffers the writer sends back to be reused: chunk data to the
/// readers, result buffers to the workers.
struct Recycle {
    chunks: Sender<Vec<u8>>,
    outputs: Sender<ChunkOutput>,
}

/// The bytes a chunk read ahead is charged to the budget.
fn charged(c: &Chunk) -> usize {
    c.data.capacity()
}

impl Run<'_> {
    /// The reader of source `i`.
    fn open(&self, i: usize) -> SourceReader {
        SourceReader::new(
            &self.sources[i],
            i,
            self.settings.chunk_size,
            self.t.options().max_line_bytes,
            self.read_bytes.clone(),
        )
    }

    /// Runs the sink's encoder on a part about to be handed to the writer.
    fn encode(&self, out: &mut ChunkOutput) {
        if let Some(e) = &self.encoder {
            if !out.events.is_empty() {
                let reuse = out.spare_encoded.take();
                out.encoded = Some(e.encode(&out.events, &out.row_id_slots, reuse));
            }
        }
    }

    /// Whether a chunk buffer is small enough to reuse.
    fn keep(&self, buf: &Vec<u8>) -> bool {
        buf.capacity() <= 4 * self.settings.chunk_size
    }

    /// Writes the last part of a chunk's results and, at a source's end
    /// marker, ends the source.
    fn finish(
        &self,
        writer: &mut Writer,
        to: &mut Targets<'_>,
        chunk: &Chunk,
        out: &ChunkOutput,
    ) -> io::Result<()> {
        writer.write(to, chunk.source, &self.names[chunk.source], out)?;
        writer.end_source(to, chunk)
    }

    /// `--threads 1`: reads, transforms and writes each chunk in turn on the
    /// calling thread, with the same stages as the threaded run (so the
    /// bytes are the same), parts written as they fill.
    fn inline(&self, writer: &mut Writer, to: &mut Targets<'_>) -> io::Result<()> {
        let mut sc = Scratch::default();
        let mut out = ChunkOutput::default();
        let mut buf = Vec::new();
        for i in 0..self.sources.len() {
            let mut r = self.open(i);
            loop {
                let chunk = match r.next_chunk(std::mem::take(&mut buf)) {
                    Some(c) => c,
                    None => r.end_marker(),
                };
                let name = &self.names[chunk.source];
                out.source_base64.clone_from(&self.exact[chunk.source]);
                let mut failed = None;
                let mut spill = |o: &mut ChunkOutput| {
                    if failed.is_none() && part_full(o, self.limit) {
                        self.encode(o);
                        failed = writer.write(to, chunk.source, name, o).err();
                        o.clear();
                    }
                };
                process_chunk_parts(self.t, &chunk, name, &mut sc, &mut out, &mut spill);
                if let Some(e) = failed {
                    return Err(e);
                }
                self.encode(&mut out);
                self.finish(writer, to, &chunk, &out)?;
                let done = chunk.end.is_some();
                if self.keep(&chunk.data) {
                    buf = chunk.data;
                }
                if !keep_output(&out, self.limit) {
                    out = ChunkOutput::default();
                }
                if done {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Several threads: the readers (one reading every source in turn, or
    /// several with a sequencer), the workers, and the writer loop on the
    /// calling thread. When writing fails, the readers are stopped.
    fn threaded(&self, writer: &mut Writer, to: &mut Targets<'_>) -> io::Result<()> {
        let settings = self.settings;
        let (work_tx, work_rx) = bounded::<(Chunk, Sender<Part>)>(settings.in_flight);
        let (order_tx, order_rx) = bounded::<Receiver<Part>>(settings.in_flight);
        let (buf_tx, buf_rx) = unbounded::<Vec<u8>>();
        let (res_tx, res_rx) = unbounded::<ChunkOutput>();
        let forward = Forward {
            order: order_tx,
            work: work_tx,
        };
        let feed = Feed {
            handoff: Handoff::default(),
            next_source: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            budget: Budget::new(settings.read_ahead()),
        };
        let recycle = Recycle {
            chunks: buf_tx,
            outputs: res_tx,
        };
        let readers = settings.readers.clamp(1, self.sources.len().max(1));

        std::thread::scope(|s| {
            let feed = &feed;
            if readers == 1 {
                let buf_rx = buf_rx.clone();
                s.spawn(move || self.read_alone(forward, &buf_rx));
            } else {
                for _ in 0..readers {
                    let buf_rx = buf_rx.clone();
                    s.spawn(move || self.read_some(feed, &buf_rx));
                }
                s.spawn(move || self.sequence(feed, forward));
            }
            for _ in 0..settings.threads {
                let (work_rx, res_rx) = (work_rx.clone(), res_rx.clone());
                s.spawn(move || self.work(&work_rx, &res_rx));
            }
            drop(work_rx);

            let budget = (readers > 1).then_some(&feed.budget);
            let written = self.write_in_order(writer, to, &order_rx, &recycle, budget);
            // On error, closing the queues stops the sequencer, then the readers.
            drop(order_rx);
            if written.is_err() {
                feed.stop.store(true, Ordering::Relaxed);
                feed.next_source.store(usize::MAX / 2, Ordering::Relaxed);
            }
            written
        })
    }

    /// The only reader: reads every source in order and hands each chunk on
    /// itself (no sequencer), until the writer goes.
    fn read_alone(&self, forward: Forward, buf_rx: &Receiver<Vec<u8>>) {
        for i in 0..self.sources.len() {
            let mut r = self.open(i);
            while let Some(chunk) = r.next_chunk(buf_rx.try_recv().unwrap_or_default()) {
                if !forward.send(chunk) {
                    return;
                }
            }
            if !forward.send(r.end_marker()) {
                return;
            }
        }
    }

    /// One of several readers: takes the next source not yet taken, puts its
    /// queue in the handoff and fills it, paying for the chunks it reads
    /// ahead from the budget; until the sources run out or the run stops.
    fn read_some(&self, feed: &Feed, buf_rx: &Receiver<Vec<u8>>) {
        loop {
            let i = feed.next_source.fetch_add(1, Ordering::Relaxed);
            if i >= self.sources.len() {
                break;
            }
            let (tx, rx) = bounded(2);
            feed.handoff.put(i, rx);
            let mut r = self.open(i);
            while let Some(chunk) = r.next_chunk(buf_rx.try_recv().unwrap_or_default()) {
                if !feed.budget.take(i, charged(&chunk), &feed.stop)
                    || !send_unless_stopped(&tx, chunk, &feed.stop)
                {
                    return;
                }
            }
            if !send_unless_stopped(&tx, r.end_marker(), &feed.stop) {
                return;
            }
        }
    }

    /// The sequencer: takes the sources' queues in order and hands each
    /// source's chunks on, to its end marker, before the next source's.
    fn sequence(&self, feed: &Feed, forward: Forward) {
        for i in 0..self.sources.len() {
            let Some(rx) = feed.handoff.take(i, &feed.stop) else {
                return;
            };
            feed.budget.now_on(i);
            for chunk in rx {
                let end = chunk.end.is_some();
                if !forward.send(chunk) {
                    return;
                }
                if end {
                    break;
                }
            }
        }
    }

    /// A worker: transforms the chunks of the work queue, handing each
    /// chunk's results to its slot in parts (a part whenever they fill one,
    /// then the chunk back with the rest), in reused result buffers.
    fn work(&self, work_rx: &Receiver<(Chunk, Sender<Part>)>, res_rx: &Receiver<ChunkOutput>) {
        let mut sc = Scratch::default();
        for (chunk, done) in work_rx {
            let mut out = res_rx.try_recv().unwrap_or_default();
            let source = chunk.source;
            out.source_base64.clone_from(&self.exact[source]);
            // The writer may have gone (an error); nothing to do then.
            let mut spill = |o: &mut ChunkOutput| {
                if part_full(o, self.limit) {
                    self.encode(o);
                    let mut fresh = res_rx.try_recv().unwrap_or_default();
                    fresh.clear();
                    fresh.source_base64.clone_from(&o.source_base64);
                    let part = std::mem::replace(o, fresh);
                    let _ = done.send(Part::More(source, part));
                }
            };
            let name = &self.names[source];
            process_chunk_parts(self.t, &chunk, name, &mut sc, &mut out, &mut spill);
            self.encode(&mut out);
            let _ = done.send(Part::Last(chunk, out));
        }
    }

    /// The writer loop, on the calling thread: takes the chunks' result
    /// slots in input order and writes each part as it comes; at a chunk's
    /// last part pays back what it was charged (`budget`, with several
    /// readers) and sends its buffers back to be reused.
    fn write_in_order(
        &self,
        writer: &mut Writer,
        to: &mut Targets<'_>,
        order_rx: &Receiver<Receiver<Part>>,
        recycle: &Recycle,
        budget: Option<&Budget>,
    ) -> io::Result<()> {
        let lost = || io::Error::other("a worker thread stopped unexpectedly");
        for rx in order_rx {
            loop {
                let out = match rx.recv().map_err(|_| lost())? {
                    Part::More(source, out) => {
                        writer.write(to, source, &self.names[source], &out)?;
                        out
                    }
                    Part::Last(chunk, out) => {
                        self.finish(writer, to, &chunk, &out)?;
                        if let Some(budget) = budget {
                            budget.give_back(charged(&chunk));
                        }
                        if self.keep(&chunk.data) {
                            let _ = recycle.chunks.send(chunk.data);
                        }
                        if keep_output(&out, self.limit) {
                            let _ = recycle.outputs.send(out);
                        }
                        break;
                    }
                };
                if keep_output(&out, self.limit) {
                    let _ = recycle.outputs.send(out);
                }
            }
        }
        Ok(())
    }
}

/// Sends to a sequencer's queue, giving up when the run is stopping (the
/// writer failed, so nobody will drain the queue).
fn send_unless_stopped(tx: &Sender<Chunk>, mut chunk: Chunk, stop: &AtomicBool) -> bool {
    loop {
        match tx.send_timeout(chunk, std::time::Duration::from_millis(50)) {
            Ok(()) => return true,
            Err(crossbeam_channel::SendTimeoutError::Timeout(c))
                if !stop.load(Ordering::Relaxed) =>
            {
                chunk = c
            }
            Err(_) => return false,
        }
    }
}
