//! `teamlog [FILE]...`: the normalizing filter's flags, and its run in named
//! stages: resolve the inputs, plan and check the outputs (before any input
//! is read), open them, run the pipeline, commit, report.

use crate::atomic::{self, AtomicFile};
use crate::cli::heading;
use crate::cli::values::{parse_chunk, parse_max_line, parse_page, parse_rows, parse_threads};
use crate::exit::Exit;
use crate::normalize::NormalizeArgs;
use crate::paths;
use crate::progress::Progress;
use crate::report::{note, Batch, Kept, Stats};
use crate::sinks::manifest::{self, Manifest, Recorded};
use crate::sinks::output_dir::{self, Compress, OutputDir};
use crate::sinks::parquet::writer::{self as parquet_writer, ParquetOut};
use crate::sinks::parquet::{self, ParquetCompression};
use crate::sinks::stream::{check_stdout, Labelled};
use crate::spill::{Records, Spill};
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use teamlog_core::framing::{self, Source};
use teamlog_core::pipeline::{self, Settings, Tally, Targets, Writer};
use teamlog_core::schema::Plan;
use teamlog_core::sink::{Sink, Stream};
use teamlog_core::terminal::sanitize;
use teamlog_core::transform::Transformer;

/// The normalizing filter's flags.
#[derive(Args, Debug, Clone)]
pub struct FilterArgs {
    /// Input files, read in order; `-` or none reads stdin (`-` may be
    /// given once: naming it twice is a usage error). A FIFO or device named
    /// here is read. Formats are told by their first bytes, never the name:
    /// plain UTF-8 (a leading byte order mark dropped), gzip (every member;
    /// zero padding after the last is ignored) and zstd (skippable frames
    /// too, as pzstd writes). xz, bzip2, lz4, zip, 7z and UTF-16/UTF-32
    /// text are recognised and fail that input with the command that
    /// converts it (exit 2); the other inputs are still read.
    #[arg(value_name = "FILE", help_heading = heading::INPUT)]
    pub files: Vec<PathBuf>,

    /// Read the regular files under directory arguments, sorted by path.
    /// FIFOs, sockets and devices under them are reported and skipped
    /// without being opened; symlinks too, unless -L.
    #[arg(short = 'r', long, help_heading = heading::INPUT)]
    pub recursive: bool,

    /// With -r: follow symlinks under directory arguments (a symlink loop is
    /// reported and not entered).
    #[arg(short = 'L', long, requires = "recursive", help_heading = heading::INPUT)]
    pub follow: bool,

    /// Reject lines longer than this (without the line ending), 1 byte to 1G;
    /// K, M, G are powers of 1024. Such a line is never held in memory whole;
    /// its reject record keeps the first 4 KiB.
    #[arg(long, value_name = "BYTES", default_value = "16M", value_parser = parse_max_line, help_heading = heading::INPUT)]
    pub max_line_bytes: usize,

    /// Write events to FILE instead of stdout. The file is written beside FILE
    /// under a temporary name and renamed when every input was read to its
    /// end, so a failed or interrupted run leaves FILE as it was. (A device or
    /// FIFO is written through; a symlink's target is replaced.)
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "output_dir", help_heading = heading::OUTPUT)]
    pub output: Option<PathBuf>,

    /// Write one output file per input under DIR, at the input's relative path
    /// (below its directory argument), named .ndjson (.ndjson.gz/.zst with
    /// --compress). Each is written atomically, then a record of it under
    /// DIR/_teamlog/; inputs with a record are skipped unless --force (stdin
    /// never is), and still reported in --stats and --rejects, so an
    /// interrupted run can simply be started again.
    #[arg(long, value_name = "DIR", help_heading = heading::OUTPUT)]
    pub output_dir: Option<PathBuf>,

    /// With --output-dir: place each input's output at its path below DIR
    /// (not below its directory argument), so `--relative-to T T/a/b.gz`
    /// writes what `-r T` writes for that file. Every input must be under DIR.
    #[arg(long, value_name = "DIR", requires = "output_dir", help_heading = heading::OUTPUT)]
    pub relative_to: Option<PathBuf>,

    /// Compression of the files --output-dir writes.
    #[arg(long, value_enum, default_value_t = Compress::None, value_name = "KIND", requires = "output_dir", help_heading = heading::OUTPUT)]
    pub compress: Compress,

    /// Output format. `parquet` needs -o FILE (one file, rows in input order)
    /// or --output-dir DIR (a table partitioned by event day:
    /// DIR/p_event_date=YYYY-MM-DD/<input>.parquet); it rejects timestamps
    /// outside 1677-09-21 to 2262-04-11, which Parquet's TIMESTAMP(NANOS)
    /// cannot hold. Parquet costs about 3x the CPU of NDJSON (columns are
    /// built and compressed): about half the speed of writing NDJSON to a file.
    #[arg(long, value_enum, default_value_t = Format::Ndjson, value_name = "FORMAT", help_heading = heading::OUTPUT)]
    pub format: Format,

    #[command(flatten)]
    pub parquet: ParquetArgs,

    /// With --output-dir: process inputs again even when an earlier run did
    /// them (their record in DIR/_teamlog/ exists).
    #[arg(long, requires = "output_dir", help_heading = heading::OUTPUT)]
    pub force: bool,

    #[command(flatten)]
    pub normalize: NormalizeArgs,

    /// Worker threads, 1 to 1024 [default: all cores]. 1 runs everything on
    /// one thread. Events come out in input order for any value; with
    /// --row-id content and --parse-time the output is byte-identical for any
    /// value.
    #[arg(long, value_name = "N", value_parser = parse_threads, help_heading = heading::PERFORMANCE)]
    pub threads: Option<usize>,

    /// Bytes handed to a worker at a time (4K to 256M). Memory is bounded
    /// by the settings whatever the input (file count, name length, reject
    /// density, envelope size): input chunks in flight number 2 x threads
    /// (4 to 32) plus one per reader (at most 8), each a chunk or the
    /// longest line; results reach the outputs in parts of about a chunk,
    /// at most two per worker and one per chunk in flight.
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_chunk, help_heading = heading::PERFORMANCE)]
    pub chunk_size: usize,

    /// Show progress on stderr even when it is not a terminal (one line per
    /// second); on a terminal a progress bar is shown anyway, unless -q.
    #[arg(long, help_heading = heading::REPORTING)]
    pub progress: bool,

    /// Write the run's counts as JSON to FILE: totals, rejects by reason, and
    /// a breakdown per input file.
    #[arg(long, value_name = "FILE", help_heading = heading::REPORTING)]
    pub stats: Option<PathBuf>,

    /// No summary and no reject messages on stderr (the exit status still tells).
    #[arg(short = 'q', long, help_heading = heading::REPORTING)]
    pub quiet: bool,

    /// How many rejects to describe on stderr when --rejects is not given.
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = heading::REPORTING)]
    pub show_rejects: usize,

    /// Warn about events that drift from Dropbox's catalogue: unknown event
    /// type or category, retired category, a type under another category,
    /// a details tag other than <event_type>_details, a description other
    /// than the catalogue's. Warnings are counted in the summary and
    /// --stats; events are written unchanged and the exit status does not
    /// change. Costs a few catalogue lookups per event (about 4% more CPU).
    #[arg(long, help_heading = heading::REPORTING)]
    pub lint: bool,

    /// Write one JSON record per catalogue warning to FILE (source, line,
    /// index, kind, event_type, category, got, expected). Implies --lint.
    #[arg(long, value_name = "FILE", help_heading = heading::REPORTING)]
    pub warnings: Option<PathBuf>,
}

/// What the filter writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Parquet,
}

/// The flags of `--format parquet` (refused with NDJSON).
#[derive(Args, Debug, Clone, Default)]
pub struct ParquetArgs {
    /// With --format parquet: compression of Parquet pages [default: zstd].
    #[arg(long, value_enum, value_name = "KIND", help_heading = heading::OUTPUT)]
    pub parquet_compression: Option<ParquetCompression>,

    /// With --format parquet: rows per row group (the unit DuckDB and Athena
    /// skip by statistics), 1024 to 16777216 [default: 131072]; a row group
    /// also ends at 32 MiB of events, since it is held in memory until
    /// written. A file with fewer rows has one.
    #[arg(long, value_name = "ROWS", value_parser = parse_rows, help_heading = heading::OUTPUT)]
    pub parquet_row_group_rows: Option<usize>,

    /// With --format parquet: target size of a data page before
    /// compression, 4K to 64M [default: 1M].
    #[arg(long, value_name = "BYTES", value_parser = parse_page, help_heading = heading::OUTPUT)]
    pub parquet_page_bytes: Option<usize>,

    /// With --format parquet --output-dir: events held in memory across all
    /// days of an input (at most 32 MiB of them), 1024 to 16777216
    /// [default: 131072], before the day holding the most is moved to a
    /// spill file under DIR/_teamlog/; each day's file is written when the
    /// input is complete, so it has full row groups however days interleave.
    #[arg(long, value_name = "ROWS", value_parser = parse_rows, help_heading = heading::OUTPUT)]
    pub parquet_buffer_rows: Option<usize>,
}

impl ParquetArgs {
    /// The flags given, by name (for refusing them without --format parquet).
    fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--parquet-compression", self.parquet_compression.is_some()),
            (
                "--parquet-row-group-rows",
                self.parquet_row_group_rows.is_some(),
            ),
            ("--parquet-page-bytes", self.parquet_page_bytes.is_some()),
            ("--parquet-buffer-rows", self.parquet_buffer_rows.is_some()),
        ];
        flags.iter().filter(|f| f.1).map(|f| f.0).collect()
    }

    /// The writer's settings: the flags given, defaults for the rest.
    pub fn settings(&self) -> parquet::Settings {
        let d = parquet::Settings::default();
        parquet::Settings {
            compression: self.parquet_compression.unwrap_or(d.compression),
            row_group_rows: self.parquet_row_group_rows.unwrap_or(d.row_group_rows),
            page_bytes: self.parquet_page_bytes.unwrap_or(d.page_bytes),
            buffer_rows: self.parquet_buffer_rows.unwrap_or(d.buffer_rows),
        }
    }
}

impl FilterArgs {
    fn parquet(&self) -> bool {
        self.format == Format::Parquet
    }

    /// Refuses flag combinations clap cannot express: the Parquet flags
    /// without `--format parquet`, and Parquet without a file to write.
    fn check_format(&self) -> anyhow::Result<()> {
        if !self.parquet() {
            if let Some(flag) = self.parquet.given().first() {
                anyhow::bail!(
                    "{flag} is for --format parquet, and this run writes NDJSON; add --format parquet or drop {flag}"
                );
            }
            return Ok(());
        }
        if self.output.is_none() && self.output_dir.is_none() {
            anyhow::bail!(
                "--format parquet writes files: give -o FILE (one file) or --output-dir DIR (a table partitioned by day)"
            );
        }
        if self.compress != Compress::None {
            anyhow::bail!(
                "--compress is for NDJSON; with --format parquet use --parquet-compression"
            );
        }
        if self.parquet.parquet_buffer_rows.is_some() && self.output_dir.is_none() {
            anyhow::bail!(
                "--parquet-buffer-rows is for --output-dir (a table by day); -o FILE writes rows as they come"
            );
        }
        let parse_time = self
            .normalize
            .parse_time
            .map(|t| t.to_formatted())
            .filter(|t| parquet::check_nanos_range(t.as_bytes()).is_err());
        if let Some(t) = parse_time {
            anyhow::bail!(
                "--parse-time {t} is outside {}; pick a parse time in that range",
                parquet::NANOS_RANGE
            );
        }
        Ok(())
    }

    /// Reject reasons described on stderr (none with -q or --rejects).
    fn reject_notes(&self) -> usize {
        if self.quiet || self.normalize.rejects.is_some() {
            0
        } else {
            self.show_rejects
        }
    }

    /// Whether events are checked against the catalogue.
    fn lint(&self) -> bool {
        self.lint || self.warnings.is_some()
    }

    /// How the work is spread.
    fn settings(&self) -> Settings {
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let mut settings = Settings::new(threads);
        settings.chunk_size = self.chunk_size;
        settings
    }
}

/// `--output-dir`'s view of the run: every source's output path and key,
/// the bookkeeping, and what an earlier run already did.
struct DirPlan {
    dir: PathBuf,
    manifest: Manifest,
    /// Per source: whether an earlier run did it (skipped now). A source's
    /// output path and key are made from it when needed ([`DirPlan::target`],
    /// [`manifest::key`]): a batch holds no path per input beyond its own.
    done: Vec<bool>,
    parquet: bool,
    compress: Compress,
}

impl DirPlan {
    /// A source's output file (with --format parquet the pattern
    /// `DIR/p_event_date=*/NAME` of its files, one per event day).
    fn target(&self, s: &Source) -> PathBuf {
        if self.parquet {
            let days = format!("{}=*", parquet::PARTITION_COLUMN);
            self.dir.join(days).join(parquet_writer::file_name(&s.rel))
        } else {
            output_dir::output_path(&self.dir, s, self.compress)
        }
    }
}

/// The run's outputs, open before the first line is read.
struct Outputs<'a> {
    /// `-o FILE`, committed when every input was read to its end.
    target: Option<AtomicFile>,
    events: Box<dyn Sink + 'a>,
    /// `--rejects FILE`: committed at the end (written through when a FIFO
    /// or device). Under `--output-dir` it is filled at the end from the
    /// sidecars instead of during the run.
    rejects: Option<(AtomicFile, Labelled<BufWriter<File>>)>,
    /// `--warnings FILE`, one record per catalogue warning (committed at the end).
    warnings: Option<(AtomicFile, Labelled<BufWriter<File>>)>,
}

/// `teamlog [FILE]...`: the normalizing filter.
pub fn run(args: &FilterArgs) -> anyhow::Result<Exit> {
    crate::signals::exit_on_signals();
    let started = Instant::now();
    args.check_format()?;
    let mut opts = args
        .normalize
        .options(args.max_line_bytes, args.reject_notes());
    // An output directory keeps every source's rejects in its sidecar.
    opts.keep_reject_records |= args.output_dir.is_some();
    // The one difference of a Parquet run: times TIMESTAMP(NANOS) holds.
    opts.nanos_range = args.parquet();
    opts.lint = args.lint();
    let transformer = Transformer::new(args.normalize.plan()?, opts);
    let inputs = framing::expand_with(
        &args.files,
        framing::WalkOptions {
            recursive: args.recursive,
            follow: args.follow,
            relative_to: args.relative_to.as_deref(),
        },
    )?;
    if !args.quiet {
        for s in &inputs.skipped {
            note(&format!("teamlog: {}", sanitize(s)));
        }
    }
    let all: Arc<[Source]> = inputs.sources.into();
    let (dir, earlier) = match args.output_dir.as_deref() {
        Some(d) => {
            let (plan, earlier) = plan_output_dir(d, args, &all)?;
            (Some(plan), Some(earlier.read()?))
        }
        None => (None, None),
    };
    check_outputs(args, &all, dir.as_ref())?;
    // The inputs to read now: all of them, or (a rerun) those not done.
    let todo: Arc<[Source]> = match &dir {
        Some(d) if d.done.iter().any(|&done| done) => all
            .iter()
            .zip(&d.done)
            .filter(|(_, done)| !**done)
            .map(|(s, _)| s.clone())
            .collect(),
        _ => all.clone(),
    };
    let mut outputs = open_outputs(args, dir.as_ref(), &todo, transformer.plan())?;
    let (tally, ran) = run_pipeline(args, &transformer, &todo, &mut outputs)?;
    let kept = commit(outputs, &all, dir.as_ref(), &tally)?;
    let batch = Batch {
        sources: &all,
        done: dir.as_ref().map(|d| &d.done[..]),
        earlier,
        ran,
        kept,
    };
    report(args, &tally, batch, started)
}

/// Refuses outputs that are inputs, inside an input tree, or each other,
/// and checks each can be written, before any input is read.
fn check_outputs(args: &FilterArgs, all: &[Source], dir: Option<&DirPlan>) -> anyhow::Result<()> {
    if args.output.is_none() && dir.is_none() {
        check_stdout()?;
    }
    let trees: Vec<PathBuf> = if args.recursive {
        args.files.iter().filter(|f| f.is_dir()).cloned().collect()
    } else {
        Vec::new()
    };
    let mut outs = Vec::new();
    let named = [
        ("-o", &args.output),
        ("--rejects", &args.normalize.rejects),
        ("--stats", &args.stats),
        ("--warnings", &args.warnings),
    ];
    for (flag, p) in named {
        if let Some(path) = p {
            outs.push(paths::Output { flag, path });
        }
    }
    // A Parquet table's files are known only as each source ends (one per
    // event day); the directory itself is still checked.
    let tree = dir.map(|d| paths::OutputTree {
        dir: &d.dir,
        targets: if d.parquet {
            Box::new(std::iter::empty())
        } else {
            Box::new(all.iter().map(|s| d.target(s)))
        },
    });
    paths::check(
        &paths::Inputs {
            sources: all,
            trees: &trees,
        },
        &outs,
        tree,
    )?;
    if let Some(d) = dir {
        d.manifest.prepare()?;
    }
    Ok(())
}

/// Opens where events and rejects go: stdout, `-o FILE`, or a file per input
/// under `--output-dir`.
fn open_outputs<'a>(
    args: &FilterArgs,
    dir: Option<&DirPlan>,
    todo: &Arc<[Source]>,
    plan: &'a Plan,
) -> anyhow::Result<Outputs<'a>> {
    let target = args
        .output
        .as_deref()
        .map(|p| AtomicFile::create(p).map_err(|e| atomic::with_path(e, "cannot write -o to", p)))
        .transpose()?;
    let events: Box<dyn Sink + 'a> = match (&target, dir) {
        (Some(t), _) if args.parquet() => Box::new(ParquetOut::single(
            plan,
            &args.parquet.settings(),
            t.file().try_clone()?,
            t.shown(),
        )),
        (Some(t), _) => Box::new(Stream(Labelled::new(
            BufWriter::with_capacity(1 << 16, t.file().try_clone()?),
            t.shown().display().to_string(),
        ))),
        (None, Some(d)) if args.parquet() => {
            let names = todo
                .iter()
                .map(|s| parquet_writer::file_name(&s.rel))
                .collect();
            Box::new(Recorded::new(
                ParquetOut::partitioned(plan, &args.parquet.settings(), &d.dir, names),
                d.manifest.clone(),
                todo.clone(),
            ))
        }
        (None, Some(d)) => Box::new(Recorded::new(
            OutputDir::new(&d.dir, todo.clone(), args.compress),
            d.manifest.clone(),
            todo.clone(),
        )),
        // Line-buffered: each chunk's events reach a reader as soon as they
        // are written (`tail -f | teamlog | ...` streams).
        (None, None) => Box::new(Stream(Labelled::stdout(io::stdout()))),
    };
    let rejects = args
        .normalize
        .rejects
        .as_deref()
        .map(|p| open_record_file(p, "--rejects"))
        .transpose()?;
    let warnings = args
        .warnings
        .as_deref()
        .map(|p| open_record_file(p, "--warnings"))
        .transpose()?;
    Ok(Outputs {
        target,
        events,
        rejects,
        warnings,
    })
}

/// A file of records (`--rejects`, `--warnings`): written atomically and
/// committed at the end (through, when it is a FIFO or device).
fn open_record_file(
    p: &Path,
    flag: &str,
) -> anyhow::Result<(AtomicFile, Labelled<BufWriter<File>>)> {
    let what = format!("cannot write {flag} to");
    let f = AtomicFile::create(p).map_err(|e| atomic::with_path(e, &what, p))?;
    let w = f
        .file()
        .try_clone()
        .map_err(|e| atomic::with_path(e, &what, p))?;
    let w = Labelled::new(
        BufWriter::with_capacity(1 << 16, w),
        p.display().to_string(),
    );
    Ok((f, w))
}

/// Runs the engine over `sources` into `outputs`, with the progress display;
/// gives the tally and the sources' entries, in order.
fn run_pipeline(
    args: &FilterArgs,
    transformer: &Transformer,
    sources: &[Source],
    outputs: &mut Outputs,
) -> anyhow::Result<(Tally, Records)> {
    let notes = transformer.options().reject_notes;
    let read_bytes = Arc::new(AtomicU64::new(0));
    let mut writer = Writer::new(args.normalize.row_ids(transformer.options()), notes);
    let progress = (!args.quiet)
        .then(|| Progress::new(total_size(sources), read_bytes.clone(), args.progress))
        .flatten()
        .map(|p| Arc::new(Mutex::new(p)));
    if let Some(p) = &progress {
        let p = p.clone();
        writer.on_chunk = Some(Box::new(move |t| p.lock().expect("not poisoned").update(t)));
    }
    let mut stderr = io::stderr();
    // Under --output-dir the rejects go to each source's sidecar, and
    // --rejects is filled from the sidecars at the end.
    let streamed = args.output_dir.is_none();
    let mut entries = Spill::default();
    let mut to = Targets {
        out: &mut *outputs.events,
        sources: Some(&mut entries),
        rejects: outputs
            .rejects
            .as_mut()
            .filter(|_| streamed)
            .map(|(_, w)| w as &mut dyn Write),
        messages: (notes > 0).then_some(&mut stderr as &mut dyn Write),
        warnings: outputs.warnings.as_mut().map(|(_, w)| w as &mut dyn Write),
    };
    let ran = pipeline::run(
        transformer,
        sources,
        &args.settings(),
        &mut writer,
        &mut to,
        &read_bytes,
    )
    .and_then(|()| to.flush());
    if let Some(p) = &progress {
        p.lock().expect("not poisoned").finish();
    }
    ran?;
    Ok((writer.tally, entries.read()?))
}

/// The inputs' total size on disk, when every one is a file (for progress).
fn total_size(sources: &[Source]) -> Option<u64> {
    sources
        .iter()
        .map(|s| {
            s.path
                .as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
        })
        .sum()
}

/// Puts the outputs in place and marks what was written: `-o FILE` only
/// when every input was read to its end (else it is left as it was and
/// nothing counts as written); under `--output-dir` each complete source's
/// file was committed as it ended. `--rejects` is committed last (under
/// `--output-dir` rebuilt from every source's sidecar, in input order).
/// Says which events count as written.
fn commit(
    outputs: Outputs,
    all: &[Source],
    dir: Option<&DirPlan>,
    tally: &Tally,
) -> anyhow::Result<Kept> {
    let Outputs {
        target,
        mut events,
        rejects,
        warnings,
    } = outputs;
    if let Some((f, mut w)) = warnings {
        w.flush()?;
        drop(w);
        f.commit()?;
    }
    let complete = tally.failed_sources == 0;
    if complete {
        events.finish()?;
    }
    drop(events);
    // A device or FIFO `-o` was written through: like stdout.
    let one_file = target.as_ref().is_some_and(|t| !t.is_direct());
    if let Some(t) = target {
        if complete || t.is_direct() {
            t.commit()?;
        } else {
            note(&format!(
                "teamlog: -o {} left unchanged: an input failed, so the output would not be complete",
                sanitize(&t.shown().display().to_string())
            ));
        }
    }
    let kept = match (one_file, dir) {
        (true, _) => Kept::AllOrNothing {
            committed: complete,
        },
        (false, Some(_)) => Kept::UnlessFailed,
        (false, None) => Kept::Streamed,
    };
    if let Some((f, mut w)) = rejects {
        if let Some(d) = dir {
            for s in all {
                d.manifest.copy_rejects(&manifest::key(&s.rel), &mut w)?;
            }
        }
        w.flush()?;
        drop(w);
        f.commit()?;
    }
    Ok(kept)
}

/// Writes `--stats`, names failed inputs, prints the summary, and decides
/// the exit status (of the whole batch, so a rerun ends as the run did).
fn report(
    args: &FilterArgs,
    tally: &Tally,
    batch: Batch<'_>,
    started: Instant,
) -> anyhow::Result<Exit> {
    let stats = Stats::new(tally, batch, started.elapsed())?.with_lint(tally, args.lint());
    if let Some(p) = &args.stats {
        atomic::write_as_with(p, "--stats", |w| {
            serde_json::to_writer_pretty(&mut *w, &stats)?;
            w.write_all(b"\n")
        })?;
    }
    if !args.quiet {
        let unshown = tally.unshown_rejects();
        if args.reject_notes() > 0 && unshown > 0 {
            note(&format!("teamlog: {unshown} more rejected lines not shown (use --rejects FILE to keep them all)"));
        }
        note(&stats.summary());
    }
    Ok(if tally.failed_sources > 0 {
        Exit::Fatal
    } else {
        Exit::from_rejects(stats.totals.rejected)
    })
}

/// Decides `--output-dir`'s work: which inputs an earlier run did (with
/// their stored entries, spilled). Two inputs that would write the same
/// output (or record) are a usage error: the claims are compared by a
/// 128-bit hash of their bytes (exact paths, so names that are not UTF-8
/// stay distinct), and a hit is confirmed on the paths themselves.
fn plan_output_dir(
    dir: &Path,
    args: &FilterArgs,
    sources: &[Source],
) -> anyhow::Result<(DirPlan, Spill)> {
    use std::os::unix::ffi::OsStringExt;
    let manifest = Manifest::new(dir);
    let mut plan = DirPlan {
        dir: dir.to_path_buf(),
        manifest,
        done: Vec::new(),
        parquet: args.parquet(),
        compress: args.compress,
    };
    // An input's two claims: its output file and its record's key.
    let claims = |s: &Source| {
        let mut record = b"\0record ".to_vec();
        record.extend_from_slice(manifest::key(&s.rel).as_bytes());
        [plan.target(s).into_os_string().into_vec(), record]
    };
    let mut seen = std::collections::HashMap::with_capacity(2 * sources.len());
    for (i, s) in sources.iter().enumerate() {
        for (n, claim) in claims(s).into_iter().enumerate() {
            let h = xxhash_rust::xxh3::xxh3_128(&claim);
            let Some(other) = seen.insert(h, i) else {
                continue;
            };
            if claims(&sources[other])[n] == claim {
                anyhow::bail!(
                    "{} and {} would both write {} under --output-dir; rename one or run them separately",
                    sanitize(&sources[other].name),
                    sanitize(&s.name),
                    sanitize(&plan.target(s).display().to_string())
                );
            }
        }
    }
    drop(seen);
    let (done, earlier) = manifest::plan(&plan.manifest, sources, args.force)?;
    plan.done = done;
    Ok((plan, earlier))
}
