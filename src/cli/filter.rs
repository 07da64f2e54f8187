//! `teamlog [FILE]...`: the normalizing filter's flags, and its run in named
//! stages: resolve the inputs, open the outputs, run the pipeline, commit,
//! report.

use crate::atomic::{self, AtomicFile};
use crate::cli::values::{parse_chunk, parse_max_line, parse_threads};
use crate::exit::Exit;
use crate::normalize::NormalizeArgs;
use crate::progress::Progress;
use crate::report::Stats;
use crate::sinks::output_dir::{self, Compress, OutputDir};
use crate::sinks::stream::Labelled;
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use teamlog_core::framing::{self, Source};
use teamlog_core::pipeline::{self, Settings, Tally, Targets, Writer};
use teamlog_core::sink::{Sink, Stream};
use teamlog_core::terminal::sanitize;
use teamlog_core::transform::Transformer;

/// The normalizing filter's flags.
#[derive(Args, Debug, Clone)]
pub struct FilterArgs {
    /// Input files, read in order; `-` or none reads stdin. Plain, gzip
    /// (all members) or zstd, detected from the first bytes.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Read the files under directory arguments, sorted by path.
    #[arg(short = 'r', long)]
    pub recursive: bool,

    /// Write events to FILE instead of stdout. The file is written beside FILE
    /// under a temporary name and renamed when the run succeeds, so a failed
    /// or interrupted run never leaves a half-written FILE. (A device, FIFO or
    /// symlink is written in place instead.)
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "output_dir")]
    pub output: Option<PathBuf>,

    /// Write one output file per input under DIR, at the input's relative path
    /// (below its directory argument), named .ndjson (.ndjson.gz/.zst with
    /// --compress). Each is written atomically; inputs whose output already
    /// exists are skipped unless --force, so an interrupted run can simply be
    /// started again.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// With --output-dir: place each input's output at its path below DIR
    /// (not below its directory argument), so `--relative-to T T/a/b.gz`
    /// writes what `-r T` writes for that file. Every input must be under DIR.
    #[arg(long, value_name = "DIR", requires = "output_dir")]
    pub relative_to: Option<PathBuf>,

    /// Compression of the files --output-dir writes.
    #[arg(long, value_enum, default_value_t = Compress::None, value_name = "KIND", requires = "output_dir")]
    pub compress: Compress,

    /// With --output-dir: process inputs even when their output exists.
    #[arg(long, requires = "output_dir")]
    pub force: bool,

    /// Show progress on stderr even when it is not a terminal (one line per
    /// second); on a terminal a progress bar is shown anyway, unless -q.
    #[arg(long)]
    pub progress: bool,

    /// Write the run's counts as JSON to FILE: totals, rejects by reason, and
    /// a breakdown per input file.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,

    /// No summary and no reject messages on stderr (the exit status still tells).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// How many rejects to describe on stderr when --rejects is not given.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub show_rejects: usize,

    /// Worker threads [default: all cores]. 1 runs everything on one thread;
    /// the output is byte-identical for any value.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,

    #[command(flatten)]
    pub normalize: NormalizeArgs,

    /// Reject lines longer than this (without the line ending). Such a line is
    /// never held in memory whole; its reject record keeps the first 4 KiB.
    /// Accepts K, M, G suffixes; 1 byte to 1G.
    #[arg(long, value_name = "BYTES", default_value = "16M", value_parser = parse_max_line)]
    pub max_line_bytes: usize,

    /// Bytes handed to a worker at a time (4K to 256M). Memory in flight is
    /// about 2 x threads (at most 32) x (chunk + longest line) x 2.
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_chunk)]
    pub chunk_size: usize,

    /// Warn about events that drift from Dropbox's catalogue: unknown event
    /// type or category, retired category, a type under another category,
    /// a details tag other than <event_type>_details, a description other
    /// than the catalogue's. Warnings are counted in the summary and
    /// --stats; events are written unchanged and the exit status does not
    /// change. Costs a few catalogue lookups per event (about 4% more CPU).
    #[arg(long)]
    pub lint: bool,

    /// Write one JSON record per catalogue warning to FILE (source, line,
    /// index, kind, event_type, category, got, expected). Implies --lint.
    #[arg(long, value_name = "FILE")]
    pub warnings: Option<PathBuf>,
}

impl FilterArgs {
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

/// The run's outputs, open before the first line is read.
struct Outputs {
    /// `-o FILE`, committed on success.
    target: Option<AtomicFile>,
    events: Box<dyn Sink>,
    rejects: Option<Labelled<BufWriter<File>>>,
    warnings: Option<Labelled<BufWriter<File>>>,
    /// Inputs `--output-dir` skipped because their output exists.
    skipped: Vec<String>,
}

/// `teamlog [FILE]...`: the normalizing filter.
pub fn run(args: &FilterArgs) -> anyhow::Result<Exit> {
    crate::signals::exit_on_signals();
    let started = Instant::now();
    let mut opts = args
        .normalize
        .options(args.max_line_bytes, args.reject_notes());
    opts.lint = args.lint();
    let transformer = args.normalize.transformer_with(opts)?;
    let sources = framing::expand(&args.files, args.recursive, args.relative_to.as_deref())?;
    let (sources, mut outputs) = open_outputs(args, sources)?;
    let tally = run_pipeline(args, &transformer, &sources, &mut outputs)?;
    let skipped = commit(outputs)?;
    report(args, &tally, &skipped, started)
}

/// Opens where events and rejects go: stdout, `-o FILE`, or a file per input
/// under `--output-dir` (which also decides the inputs still to do).
fn open_outputs(args: &FilterArgs, sources: Vec<Source>) -> anyhow::Result<(Vec<Source>, Outputs)> {
    let mut skipped = Vec::new();
    let target = args.output.as_deref().map(AtomicFile::create).transpose()?;
    let (sources, events): (Vec<Source>, Box<dyn Sink>) = match (&target, &args.output_dir) {
        (Some(t), _) => {
            let f = t.file().try_clone()?;
            let name = t.shown().display().to_string();
            (
                sources,
                Box::new(Stream(Labelled::new(
                    BufWriter::with_capacity(1 << 16, f),
                    name,
                ))),
            )
        }
        (None, Some(dir)) => {
            let (todo, targets) =
                plan_output_dir(dir, args.compress, args.force, sources, &mut skipped)?;
            (todo, Box::new(OutputDir::new(targets, args.compress)))
        }
        // Line-buffered: each chunk's events reach a reader as soon as they
        // are written (`tail -f | teamlog | ...` streams).
        (None, None) => (sources, Box::new(Stream(Labelled::stdout(io::stdout())))),
    };
    let rejects = side_file(args.normalize.rejects.as_deref(), "--rejects")?;
    let warnings = side_file(args.warnings.as_deref(), "--warnings")?;
    Ok((
        sources,
        Outputs {
            target,
            events,
            rejects,
            warnings,
            skipped,
        },
    ))
}

/// Creates the file of a record flag (`--rejects`, `--warnings`), if given.
fn side_file(path: Option<&Path>, flag: &str) -> anyhow::Result<Option<Labelled<BufWriter<File>>>> {
    path.map(|p| -> anyhow::Result<_> {
        let f = File::create(p)
            .map_err(|e| atomic::with_path(e, &format!("cannot create {flag} file"), p))?;
        Ok(Labelled::new(
            BufWriter::with_capacity(1 << 16, f),
            p.display().to_string(),
        ))
    })
    .transpose()
}

/// Runs the engine over `sources` into `outputs`, with the progress display.
fn run_pipeline(
    args: &FilterArgs,
    transformer: &Transformer,
    sources: &[Source],
    outputs: &mut Outputs,
) -> anyhow::Result<Tally> {
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
    let mut to = Targets {
        out: &mut *outputs.events,
        rejects: outputs.rejects.as_mut().map(|r| r as &mut dyn Write),
        messages: (notes > 0).then_some(&mut stderr as &mut dyn Write),
        warnings: outputs.warnings.as_mut().map(|w| w as &mut dyn Write),
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
    Ok(writer.tally)
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

/// Puts `-o FILE` in place once everything was written; returns the inputs
/// `--output-dir` skipped.
fn commit(outputs: Outputs) -> anyhow::Result<Vec<String>> {
    let Outputs {
        target,
        events,
        skipped,
        ..
    } = outputs;
    drop(events);
    if let Some(t) = target {
        t.commit()?;
    }
    Ok(skipped)
}

/// Writes `--stats`, names failed inputs, prints the summary, and decides
/// the exit status.
fn report(
    args: &FilterArgs,
    tally: &Tally,
    skipped: &[String],
    started: Instant,
) -> anyhow::Result<Exit> {
    let stats = Stats::new(tally, skipped, started.elapsed()).with_lint(args.lint());
    if let Some(p) = &args.stats {
        let mut json = serde_json::to_vec_pretty(&stats)?;
        json.push(b'\n');
        atomic::write_as(p, &json, "--stats")?;
    }
    for s in &tally.per_source {
        if let Some(e) = &s.error {
            eprintln!("teamlog: error: {}", sanitize(e));
        }
    }
    if !args.quiet {
        let unshown = tally.unshown_rejects();
        if args.reject_notes() > 0 && unshown > 0 {
            eprintln!("teamlog: {unshown} more rejected lines not shown (use --rejects FILE to keep them all)");
        }
        eprintln!("{}", stats.summary());
    }
    Ok(if tally.failed_sources > 0 {
        Exit::Fatal
    } else {
        Exit::from_rejects(tally.totals.rejected)
    })
}

/// Decides `--output-dir`'s work: the sources still to do and their targets.
/// Two inputs that would write the same output are a usage error.
fn plan_output_dir(
    dir: &Path,
    compress: Compress,
    force: bool,
    sources: Vec<Source>,
    skipped: &mut Vec<String>,
) -> anyhow::Result<(Vec<Source>, Vec<PathBuf>)> {
    let mut seen = std::collections::HashMap::new();
    let mut todo = Vec::new();
    let mut targets = Vec::new();
    for s in sources {
        let t = output_dir::output_path(dir, &s, compress);
        if let Some(other) = seen.insert(t.clone(), s.name.clone()) {
            anyhow::bail!(
                "{} and {} would both write {} under --output-dir; rename one or run them separately",
                other,
                s.name,
                t.display()
            );
        }
        if !force && t.exists() {
            skipped.push(s.name.to_string());
            continue;
        }
        todo.push(s);
        targets.push(t);
    }
    Ok((todo, targets))
}
