//! The Parquet files of a run, fed with the ordered writer's event lines.
//!
//! `-o FILE`: one unpartitioned file, rows in input order, written into the
//! filter's `-o` file and finished by [`Sink::finish`] (the filter then
//! commits it, as for NDJSON); the workers shred its events
//! ([`Shredder`]), and its row groups are encoded on a thread of their own
//! while the next is gathered. `--output-dir DIR`: per source, one file per
//! event day at `DIR/p_event_date=YYYY-MM-DD/<name>.parquet` ([`file_name`],
//! flat and made from the source's relative path). A source's lines are
//! gathered by day while it is read; when it is complete each day's file is
//! written whole (full row groups, rows in input order) as an
//! [`AtomicFile`] in its partition directory, and [`SourceFiles::committed`]
//! names them for the source's record ([`crate::sinks::manifest::Recorded`]
//! wraps this sink). A failed source commits nothing.
//!
//! Memory: the lines held across all days are capped (`--parquet-buffer-rows`,
//! and [`MAX_HELD_BYTES`]); at the cap the day holding the most is appended
//! to its spill file under `DIR/_teamlog/spill/` (read back when its file is
//! written; the directory is removed once empty). A row group is buffered
//! whole (the column writers take one column after another), so it also ends
//! at [`ROW_GROUP_BYTES`] of lines, or [`OVERLAPPED_ROW_GROUP_BYTES`] for
//! `-o`, which holds two.

use super::rows::{self, Fragment, Rows, Shredder};
use super::Settings;
use crate::atomic::{with_path, AtomicFile, ScratchFile};
use crate::sinks::manifest::{self, SourceFiles};
use ::parquet::file::properties::WriterPropertiesPtr;
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::types::TypePtr;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use teamlog_core::schema::Plan;
use teamlog_core::sink::{Encoded, Encoder, Sink};

/// The file name (in every partition directory) of the source at `rel`:
/// its relative path with every byte outside `[A-Za-z0-9._-]` (and a
/// leading `.` or `_`, which readers take for hidden files) written as
/// `%XX`, then `.parquet`, so different paths never share a name and the
/// files sit directly in the partition directories. Stdin is
/// `stdin.parquet`.
pub fn file_name(rel: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut key = String::new();
    for (i, &b) in rel.as_os_str().as_bytes().iter().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'-' || (i > 0 && (b == b'.' || b == b'_'));
        if plain {
            key.push(b as char);
        } else {
            key.push_str(&format!("%{b:02X}"));
        }
    }
    key.push_str(".parquet");
    key
}

/// Bytes of event lines held across all days of a source before the
/// largest day is spilled (besides `--parquet-buffer-rows`).
pub const MAX_HELD_BYTES: usize = 32 << 20;

/// Bytes of event lines after which a row group ends even if it has fewer
/// than `--parquet-row-group-rows` rows.
pub const ROW_GROUP_BYTES: usize = 32 << 20;

/// [`ROW_GROUP_BYTES`] for a file encoded on its own thread, which holds
/// two row groups (one gathering, one encoding): smaller, so that `-o`
/// stays under 100 MiB.
pub const OVERLAPPED_ROW_GROUP_BYTES: usize = 22 << 20;

/// A writer error naming the file once: an I/O failure as every output
/// says it (`cannot write PATH: No space left on device`), else the
/// Parquet writer's reason.
fn parquet_err(path: &Path, e: ::parquet::errors::ParquetError) -> io::Error {
    use ::parquet::errors::ParquetError;
    let e = match e {
        ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => return with_path(*io, "cannot write", path),
            Err(other) => other.to_string(),
        },
        e => e.to_string(),
    };
    io::Error::other(format!("cannot write Parquet file {}: {e}", path.display()))
}

/// What every file of a run shares.
struct Shape<'p> {
    plan: &'p Plan,
    schema: TypePtr,
    props: WriterPropertiesPtr,
    row_group: usize,
}

/// A Parquet file being written: rows go in, row groups come out.
struct FileWriter {
    rows: Rows,
    encoding: Encoding,
    row_group: usize,
    /// Bytes of lines that end a row group.
    group_bytes: usize,
    path: PathBuf,
}

/// Where a file's row groups are encoded and written.
enum Encoding {
    /// Here, as each fills (the files of `--output-dir`: thousands of small
    /// ones, where a handoff per file costs more than it saves).
    Inline(SerializedFileWriter<File>),
    /// On the file's own thread, while the next one is gathered (the one
    /// file of `-o`; at most two row groups are buffered): the thread hands
    /// each emptied buffer back for the one after.
    Thread {
        /// `None` once finishing.
        full: Option<crossbeam_channel::Sender<Rows>>,
        emptied: crossbeam_channel::Receiver<Rows>,
        /// Whether a row group is with the thread (its buffer not yet back).
        lent: bool,
        thread: Option<std::thread::JoinHandle<EncodeResult>>,
    },
}

/// What the encoding thread ends with: the writer to finish the file with.
type EncodeResult = ::parquet::errors::Result<SerializedFileWriter<File>>;

impl FileWriter {
    /// A file written with `shape`; `overlap`: encoded on its own thread.
    fn new(file: File, path: &Path, shape: &Shape<'_>, overlap: bool) -> io::Result<FileWriter> {
        let mut writer = SerializedFileWriter::new(file, shape.schema.clone(), shape.props.clone())
            .map_err(|e| parquet_err(path, e))?;
        let encoding = if overlap {
            let (full, rx) = crossbeam_channel::bounded::<Rows>(1);
            let (tx, emptied) = crossbeam_channel::bounded(1);
            let thread = std::thread::Builder::new()
                .name("parquet".into())
                .spawn(move || {
                    for mut rows in rx {
                        rows.write_row_group(&mut writer)?;
                        // Gone: the file is being abandoned.
                        let _ = tx.send(rows);
                    }
                    Ok(writer)
                })
                .map_err(|e| with_path(e, "cannot write", path))?;
            Encoding::Thread {
                full: Some(full),
                emptied,
                lent: false,
                thread: Some(thread),
            }
        } else {
            Encoding::Inline(writer)
        };
        Ok(FileWriter {
            rows: Rows::new(shape.plan),
            encoding,
            row_group: shape.row_group,
            group_bytes: if overlap {
                OVERLAPPED_ROW_GROUP_BYTES
            } else {
                ROW_GROUP_BYTES
            },
            path: path.to_path_buf(),
        })
    }

    /// The encoding thread's end: its writer, or why it stopped.
    fn join(
        path: &Path,
        thread: &mut Option<std::thread::JoinHandle<EncodeResult>>,
    ) -> io::Result<SerializedFileWriter<File>> {
        let thread = thread.take().expect("joined once");
        match thread.join() {
            Ok(r) => r.map_err(|e| parquet_err(path, e)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn push(&mut self, line: &[u8]) -> io::Result<()> {
        self.rows.push(line).map_err(io::Error::other)?;
        if self.rows.len() >= self.row_group || self.rows.bytes() >= self.group_bytes {
            self.row_group()?;
        }
        Ok(())
    }

    fn push_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        rows::check_utf8(lines).map_err(io::Error::other)?;
        rows::lines(lines).try_for_each(|line| self.push(line))
    }

    /// What [`FileWriter::push_lines`] does with `lines`, from the fragment
    /// a worker made of them: the same rows, cut into the same row groups.
    fn push_fragment(&mut self, lines: &[u8], f: &Fragment) -> io::Result<()> {
        if let Some(e) = f.error() {
            return Err(io::Error::other(e.clone()));
        }
        let mut at = f.cursor();
        let (mut rows, mut bytes, mut seen) = (0, 0, 0);
        for (k, line) in rows::lines(lines).enumerate() {
            seen = k + 1;
            if k >= f.len() {
                break;
            }
            if f.row_ids_pending() {
                self.rows
                    .push_row_id(f.row_id(k, line).map_err(io::Error::other)?);
            }
            (rows, bytes) = (rows + 1, bytes + line.len());
            if self.rows.len() + rows >= self.row_group
                || self.rows.bytes() + bytes >= self.group_bytes
            {
                self.rows.append(f, &mut at, rows, bytes);
                (rows, bytes) = (0, 0);
                self.row_group()?;
            }
        }
        if rows > 0 {
            self.rows.append(f, &mut at, rows, bytes);
        }
        if seen != f.len() {
            return Err(io::Error::other(format!(
                "cannot convert output events to Parquet: {} rows for {seen} lines",
                f.len()
            )));
        }
        Ok(())
    }

    /// Encodes the gathered rows as a row group, here or on the thread
    /// (gathering on in the buffer it gave back, or a new one the first time).
    fn row_group(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let (full, emptied, lent, thread) = match &mut self.encoding {
            Encoding::Inline(w) => {
                let r = self.rows.write_row_group(w);
                return r.map_err(|e| parquet_err(&self.path, e));
            }
            Encoding::Thread {
                full,
                emptied,
                lent,
                thread,
            } => (full, emptied, lent, thread),
        };
        // The thread has stopped only on an error: its reason.
        let stopped = |full: &mut Option<_>, thread: &mut Option<_>| {
            *full = None;
            match Self::join(&self.path, thread) {
                Err(e) => e,
                Ok(_) => io::Error::other("the Parquet writer thread stopped"),
            }
        };
        let next = if *lent {
            match emptied.recv() {
                Ok(r) => r,
                Err(_) => return Err(stopped(full, thread)),
            }
        } else {
            self.rows.empty_like()
        };
        let rows = std::mem::replace(&mut self.rows, next);
        if full.as_ref().expect("until finished").send(rows).is_err() {
            return Err(stopped(full, thread));
        }
        *lent = true;
        Ok(())
    }

    /// Writes the last row group and the footer (the caller's
    /// [`AtomicFile::commit`] flushes it to disk).
    fn finish(mut self) -> io::Result<()> {
        self.row_group()?;
        let writer = match self.encoding {
            Encoding::Inline(w) => w,
            Encoding::Thread {
                full, mut thread, ..
            } => {
                // Closing the queue ends the thread's loop.
                drop(full);
                Self::join(&self.path, &mut thread)?
            }
        };
        writer
            .close()
            .map(drop)
            .map_err(|e| parquet_err(&self.path, e))
    }
}

/// One day's lines of the current source.
#[derive(Default)]
struct Day {
    /// Lines held in memory (after those in `spill`), each `\n`-terminated.
    lines: Vec<u8>,
    rows: usize,
    /// Earlier lines, appended at each spill (no descriptor kept open: a
    /// source may have thousands of days).
    spill: Option<ScratchFile>,
}

/// Where the files go.
enum Layout {
    /// `-o FILE`: one file, written as rows come; finished by `finish`.
    Single {
        /// The `-o` file's descriptor and its name, until the writer opens.
        file: Option<(File, PathBuf)>,
        writer: Option<Box<FileWriter>>,
    },
    /// `--output-dir DIR`: each source's file name, by index.
    Partitioned {
        dir: PathBuf,
        names: Vec<String>,
        days: BTreeMap<i32, Day>,
        /// Rows and bytes held across `days`.
        held: (usize, usize),
        /// The files the last complete source committed (record entries).
        committed: Vec<String>,
    },
}

/// The Parquet output of a run, as a [`Sink`].
pub struct ParquetOut<'p> {
    shape: Shape<'p>,
    cap: usize,
    layout: Layout,
}

impl<'p> ParquetOut<'p> {
    /// `-o FILE`: writes into `file` (the filter's `-o` file, committed by
    /// the filter after [`Sink::finish`]); `shown` names it in errors.
    pub fn single(plan: &'p Plan, settings: &Settings, file: File, shown: &Path) -> ParquetOut<'p> {
        let layout = Layout::Single {
            file: Some((file, shown.to_path_buf())),
            writer: None,
        };
        Self::new(plan, settings, layout)
    }

    /// `--output-dir DIR`, for sources whose [`file_name`]s are `names`
    /// (by index).
    pub fn partitioned(
        plan: &'p Plan,
        settings: &Settings,
        dir: &Path,
        names: Vec<String>,
    ) -> ParquetOut<'p> {
        let layout = Layout::Partitioned {
            dir: dir.to_path_buf(),
            names,
            days: BTreeMap::new(),
            held: (0, 0),
            committed: Vec::new(),
        };
        Self::new(plan, settings, layout)
    }

    fn new(plan: &'p Plan, settings: &Settings, layout: Layout) -> ParquetOut<'p> {
        ParquetOut {
            shape: Shape {
                plan,
                schema: super::schema::parquet_schema(plan),
                props: Arc::new(settings.properties(plan)),
                row_group: settings.row_group_rows,
            },
            cap: settings.buffer_rows,
            layout,
        }
    }

    fn single_writer(&mut self) -> io::Result<&mut FileWriter> {
        let Layout::Single { file, writer } = &mut self.layout else {
            unreachable!("only for -o")
        };
        if writer.is_none() {
            let (f, shown) = file.take().expect("until the writer opens");
            *writer = Some(Box::new(FileWriter::new(f, &shown, &self.shape, true)?));
        }
        Ok(writer.as_mut().expect("opened"))
    }

    /// Holds one line of `--output-dir`'s current source in its day.
    fn push_line(&mut self, line: &[u8]) -> io::Result<()> {
        let Layout::Partitioned {
            dir, days, held, ..
        } = &mut self.layout
        else {
            unreachable!("only for --output-dir")
        };
        let day = event_day(line).ok_or_else(|| {
            io::Error::other(format!(
                "an output event has no p_event_time: {}",
                String::from_utf8_lossy(line)
            ))
        })?;
        let d = days.entry(day).or_default();
        d.lines.extend_from_slice(line);
        d.lines.push(b'\n');
        d.rows += 1;
        held.0 += 1;
        held.1 += line.len() + 1;
        if held.0 > self.cap || held.1 > MAX_HELD_BYTES {
            let largest = days
                .values_mut()
                .max_by_key(|d| d.lines.len())
                .expect("lines are held");
            held.0 -= largest.rows;
            held.1 -= largest.lines.len();
            spill(dir, largest)?;
        }
        Ok(())
    }
}

/// `DIR/_teamlog/spill`.
fn spill_dir(dir: &Path) -> PathBuf {
    dir.join(manifest::BOOK_DIR).join("spill")
}

/// Appends a day's held lines to its spill file.
fn spill(dir: &Path, day: &mut Day) -> io::Result<()> {
    let path = match &day.spill {
        Some(p) => p.path(),
        None => {
            let at = spill_dir(dir);
            std::fs::create_dir_all(&at).map_err(|e| with_path(e, "cannot create", &at))?;
            day.spill.insert(ScratchFile::create_in(&at)?).path()
        }
    };
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(&day.lines))
        .map_err(|e| with_path(e, "cannot write", path))?;
    day.lines = Vec::new();
    day.rows = 0;
    Ok(())
}

/// Writes one day's file of a source (its spilled lines, then those held)
/// and puts it in place at `path`.
fn write_day(path: &Path, mut day: Day, shape: &Shape<'_>) -> io::Result<()> {
    let pdir = path.parent().expect("in a partition directory");
    std::fs::create_dir_all(pdir).map_err(|e| with_path(e, "cannot create", pdir))?;
    let out = AtomicFile::create(path)?;
    let file = out
        .file()
        .try_clone()
        .map_err(|e| with_path(e, "cannot write", path))?;
    let mut w = FileWriter::new(file, path, shape, false)?;
    if let Some(spilled) = day.spill.take() {
        use std::io::BufRead;
        let f =
            File::open(spilled.path()).map_err(|e| with_path(e, "cannot read", spilled.path()))?;
        let mut r = io::BufReader::with_capacity(1 << 20, f);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = r
                .read_until(b'\n', &mut line)
                .map_err(|e| with_path(e, "cannot read", spilled.path()))?;
            if n == 0 {
                break;
            }
            w.push_lines(&line)?;
        }
    }
    w.push_lines(&day.lines)?;
    w.finish()?;
    out.commit()
}

/// The partition directory of a day: `p_event_date=YYYY-MM-DD`.
pub fn partition_dir(day: i32) -> String {
    format!("{}={}", super::PARTITION_COLUMN, super::format_day(day))
}

/// The event day of an output line: the date of its top-level `p_event_time`.
/// The last `,"p_event_time":"` of the line is that one: it follows the
/// declared fields (where a nested key could spell the same), and the `p_`
/// fields after it are strings, whose quotes are escaped.
fn event_day(line: &[u8]) -> Option<i32> {
    const KEY: &[u8] = b",\"p_event_time\":\"";
    let at = memchr::memmem::rfind(line, KEY)? + KEY.len();
    super::output_days(line.get(at..at + 10)?)
}

impl Sink for ParquetOut<'_> {
    fn events(&mut self, _source: usize, lines: &[u8]) -> io::Result<()> {
        match self.layout {
            Layout::Single { .. } => self.single_writer()?.push_lines(lines),
            Layout::Partitioned { .. } => {
                rows::lines(lines).try_for_each(|line| self.push_line(line))
            }
        }
    }

    /// `-o FILE` has the workers shred the events; `--output-dir` holds
    /// lines (and spills them) until a source is complete, so it reads them
    /// itself.
    fn encoder(&self) -> Option<Arc<dyn Encoder>> {
        match self.layout {
            Layout::Single { .. } => Some(Arc::new(Shredder::new(self.shape.plan))),
            Layout::Partitioned { .. } => None,
        }
    }

    fn encoded_events(&mut self, source: usize, lines: &[u8], encoded: &Encoded) -> io::Result<()> {
        match (&self.layout, encoded.downcast_ref::<Fragment>()) {
            (Layout::Single { .. }, Some(f)) => self.single_writer()?.push_fragment(lines, f),
            _ => self.events(source, lines),
        }
    }

    fn end_source(&mut self, source: usize, complete: bool) -> io::Result<()> {
        let Layout::Partitioned {
            dir,
            names,
            days,
            held,
            committed,
        } = &mut self.layout
        else {
            return Ok(());
        };
        committed.clear();
        *held = (0, 0);
        // Incomplete: dropping the days removes their spill files, and no
        // file of this source is written; a rerun does it again.
        let days = std::mem::take(days);
        let spilled = days.values().any(|d| d.spill.is_some());
        let wrote = if complete {
            let mut files = Vec::with_capacity(days.len());
            let r = days.into_iter().try_for_each(|(day, lines)| {
                let rel = Path::new(&partition_dir(day)).join(&names[source]);
                write_day(&dir.join(&rel), lines, &self.shape)?;
                files.push(manifest::file_entry(&rel));
                Ok(())
            });
            *committed = files;
            r
        } else {
            drop(days);
            Ok(())
        };
        if spilled {
            // Empty now (every spill file is gone): nothing but the table and
            // its records stays under DIR. Another run's spill keeps it.
            let _ = std::fs::remove_dir(spill_dir(dir));
        }
        wrote
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Layout::Single { .. } = self.layout {
            // No events: still a valid, empty table.
            self.single_writer()?;
            let Layout::Single { writer, .. } = &mut self.layout else {
                unreachable!()
            };
            if let Some(w) = writer.take() {
                (*w).finish()?;
            }
        }
        Ok(())
    }
}

impl SourceFiles for ParquetOut<'_> {
    fn committed(&mut self) -> Vec<String> {
        match &mut self.layout {
            Layout::Partitioned { committed, .. } => std::mem::take(committed),
            Layout::Single { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamlog_core::transform::ChunkOutput;

    fn name(rel: &str) -> String {
        file_name(Path::new(rel))
    }

    #[test]
    fn file_names_are_flat_distinct_and_never_hidden() {
        assert_eq!(name("2024/01/a.json.gz"), "2024%2F01%2Fa.json.gz.parquet");
        assert_eq!(name(".x_y"), "%2Ex_y.parquet");
        assert_eq!(name("_x"), "%5Fx.parquet");
        assert_eq!(name("a%2Fb"), "a%252Fb.parquet");
        let stdin = teamlog_core::framing::Source::stdin();
        assert_eq!(file_name(&stdin.rel), "stdin.parquet");
    }

    /// The parts of a run's output, as the writer hands them on: each
    /// part's events as the workers made them, and its lines with the row
    /// ids filled in.
    fn parts(mode: teamlog_core::transform::RowIdMode) -> Vec<(ChunkOutput, Vec<u8>)> {
        use teamlog_core::transform::{Scratch, TransformOptions, Transformer};
        let opts = TransformOptions {
            row_id: mode,
            parse_time: teamlog_core::timestamp::parse_rfc3339("2024-01-01T00:00:00Z").unwrap(),
            source_id: None,
            source_label: None,
            source_label_from_path: false,
            max_line_bytes: 1 << 20,
            keep_reject_records: false,
            reject_notes: 0,
            nanos_range: true,
            deep_indicators: false,
            lint: false,
        };
        let t = Transformer::new(Plan::dropbox(), opts);
        let mut ids = teamlog_core::rowid::RowIdGen::new([7; 6], 42);
        let input = [
            &include_bytes!("../../../fixtures/golden/wire_shapes.ndjson")[..],
            include_bytes!("../../../fixtures/dropbox/real_events.ndjson"),
        ]
        .concat();
        let lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        let mut sc = Scratch::default();
        let mut parts = Vec::new();
        for group in lines.chunks(7) {
            let mut out = ChunkOutput::default();
            for (n, line) in group.iter().enumerate() {
                t.process_line(line, "-", n as u64 + 1, &mut sc, &mut out);
            }
            let mut composed = Vec::new();
            let mut from = 0;
            for &at in &out.row_id_slots {
                composed.extend_from_slice(&out.events[from..at]);
                ids.write_next(&mut composed);
                from = at;
            }
            composed.extend_from_slice(&out.events[from..]);
            parts.push((out, composed));
        }
        parts
    }

    /// A file of `parts` with row groups of 5 rows, from the lines (by the
    /// writer) or from the fragments the workers would have made.
    fn file_of(parts: &[(ChunkOutput, Vec<u8>)], fragments: bool) -> Vec<u8> {
        let plan = Plan::dropbox();
        let settings = Settings {
            row_group_rows: 5,
            ..Settings::default()
        };
        let shape = Shape {
            plan: &plan,
            schema: super::super::schema::parquet_schema(&plan),
            props: Arc::new(settings.properties(&plan)),
            row_group: settings.row_group_rows,
        };
        let shredder = Shredder::new(&plan);
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.parquet");
        let file = File::create(&path).unwrap();
        let mut w = FileWriter::new(file, &path, &shape, fragments).unwrap();
        let mut reuse = None;
        for (out, lines) in parts {
            if fragments {
                let f = shredder.encode(&out.events, &out.row_id_slots, reuse.take());
                w.push_fragment(lines, f.downcast_ref().unwrap()).unwrap();
                reuse = Some(f);
            } else {
                w.push_lines(lines).unwrap();
            }
        }
        w.finish().unwrap();
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn fragments_made_in_the_workers_give_the_same_file_as_the_lines() {
        use teamlog_core::transform::RowIdMode;
        for mode in [RowIdMode::Sequential, RowIdMode::Content] {
            let parts = parts(mode);
            let rows: usize = parts.iter().map(|(o, _)| o.counts.events as usize).sum();
            assert!(rows > 40, "{rows} rows");
            let from_lines = file_of(&parts, false);
            assert_eq!(from_lines, file_of(&parts, true), "{mode:?}");
        }
    }

    #[test]
    fn the_event_day_is_the_top_level_p_event_time() {
        let line = br#"{"details":{"x":1,"p_event_time":"1999-01-01 00:00:00.000000000"},"p_row_id":"1","p_event_time":"2024-03-05 10:00:00.000000000","p_parse_time":"2024-01-01 00:00:00.000000000"}"#;
        assert_eq!(
            partition_dir(event_day(line).unwrap()),
            "p_event_date=2024-03-05"
        );
    }
}
