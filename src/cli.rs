//! The command line: flags defined once, their doc comments are `--help`
//! (SPEC §2–§9), and one function per mode.

use crate::batch::{self, Compress, OutputDir};
use crate::framing;
use crate::framing::Source;
use crate::outfile::OutFile;
use crate::output::{terminal_safe, RowIdGen};
use crate::pipeline::{self, EventOut, Settings, Single, Targets, Writer};
use crate::progress::Progress;
use crate::report::Stats;
use crate::schema::Plan;
use crate::timestamp::{self, Timestamp};
use crate::transform::{RowIdMode, TransformOptions};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Exit statuses (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Every line was valid or blank (also: the reader of our output went away).
    Ok = 0,
    /// The run completed and some lines were rejected.
    Rejects = 1,
    /// Usage error, unreadable input, write failure, bad schema.
    Fatal = 2,
    /// Interrupted by SIGINT (128 + 2).
    Interrupted = 130,
}

impl Exit {
    /// Maps `pull`'s status (0, 1 rejects, 2 fatal) onto ours.
    pub fn from_pull(code: u8) -> Exit {
        match code {
            0 => Exit::Ok,
            1 => Exit::Rejects,
            _ => Exit::Fatal,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

const EXAMPLES: &str = "\
Examples:
  zcat events.gz | teamlog > clean.ndjson
  teamlog --rejects rejects.ndjson -o clean.ndjson dump-2024-*.ndjson.zst
  teamlog -r archive/ --row-id content --parse-time 2024-01-01T00:00:00Z --stats stats.json
  teamlog schema > dropbox.yml

Exit status: 0 all lines valid or blank; 1 some lines rejected (all valid events
were written); 2 fatal error (usage, unreadable input, write failure); 130 interrupted.";

/// Turn Dropbox team-log events into validated, normalized, indicator-enriched
/// NDJSON in Panther's Dropbox.TeamEvent form.
///
/// Reads raw events as the Dropbox API returns them (one JSON object per line,
/// or whole API responses), from files or stdin, plain, gzip or zstd (detected
/// from the bytes). Writes one normalized event per line in input order; every
/// other line is accounted for as rejected (with a reason) or blank.
#[derive(Parser, Debug)]
#[command(name = "teamlog", version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the embedded Dropbox.TeamEvent schema (Panther YAML).
    Schema,
    /// Write realistic raw Dropbox team-log events (NDJSON), deterministic per
    /// seed, for tests and benchmarks.
    Generate(crate::generate::GenerateArgs),
    /// Authorize teamlog to read your team's activity log (OAuth 2 with PKCE).
    Auth(Box<crate::pull::AuthArgs>),
    /// Fetch team events from the Dropbox API (raw, or normalized with --normalize).
    Pull(Box<crate::pull::PullArgs>),
}

/// Parses sizes such as `16777216`, `64K`, `1M`, `16MiB`, `1G`, `2T` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 1048576, 64K, 16M or 1G)"))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use K, M, G or T)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    timestamp::parse_rfc3339(s)
        .ok_or_else(|| format!("{s:?} is not a timestamp like 2024-01-31T12:00:00Z"))
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: expected a number of threads from 1 to 1024"
        )),
    }
}

fn parse_max_line(s: &str) -> Result<usize, String> {
    let n = parse_size(s)? as usize;
    if !(1..=1 << 30).contains(&n) {
        return Err(format!("{s:?}: expected 1 byte to 1G"));
    }
    Ok(n)
}

fn parse_chunk(s: &str) -> Result<usize, String> {
    let n = parse_size(s)? as usize;
    if !(4096..=256 << 20).contains(&n) {
        return Err(format!("{s:?}: expected 4K to 256M"));
    }
    Ok(n)
}

/// How events are normalized: shared by the filter and `pull --normalize`.
#[derive(Args, Debug, Clone)]
pub struct NormalizeArgs {
    /// Use this Panther-style YAML schema instead of the embedded
    /// Dropbox.TeamEvent one (see `teamlog schema` for the format).
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// How p_row_id is made: `sequential` is unique within the run (Panther's
    /// layout); `content` is a hash of the normalized event, so reruns agree and
    /// exact duplicates share one id.
    #[arg(long, value_enum, default_value_t = RowIdMode::Sequential, value_name = "MODE")]
    pub row_id: RowIdMode,

    /// Pin p_parse_time (RFC 3339, e.g. 2024-01-01T00:00:00Z) instead of the
    /// run's start. With --row-id content the output is then reproducible.
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_timestamp)]
    pub parse_time: Option<Timestamp>,

    /// Set p_source_id on every event.
    #[arg(long, value_name = "ID")]
    pub source_id: Option<String>,

    /// Set p_source_label on every event.
    #[arg(long, value_name = "LABEL")]
    pub source_label: Option<String>,

    /// Set p_source_label to each event's input path (`-` for stdin), so mixed
    /// archives stay traceable.
    #[arg(long, conflicts_with = "source_label")]
    pub source_label_from_path: bool,

    /// Write one JSON record per rejected line (or envelope element) to FILE:
    /// source, line, index, error, and the exact raw text (raw_base64 when it
    /// is not UTF-8).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
}

impl NormalizeArgs {
    /// The schema to normalize with: `--schema FILE` or the embedded one.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        Ok(match &self.schema {
            Some(p) => Plan::from_file(p)?,
            None => Plan::dropbox(),
        })
    }

    /// The transform's options; `reject_notes` is how many rejects to describe on stderr.
    pub fn options(&self, max_line_bytes: usize, reject_notes: usize) -> TransformOptions {
        TransformOptions {
            row_id: self.row_id,
            parse_time: self
                .parse_time
                .unwrap_or_else(|| Timestamp::from_system(std::time::SystemTime::now())),
            source_id: self.source_id.clone(),
            source_label: self.source_label.clone(),
            source_label_from_path: self.source_label_from_path,
            max_line_bytes,
            keep_reject_records: self.rejects.is_some(),
            reject_notes,
        }
    }

    /// The sequential row-id numbering, when that mode is chosen.
    pub fn row_ids(&self, opts: &TransformOptions) -> Option<RowIdGen> {
        (self.row_id == RowIdMode::Sequential)
            .then(|| RowIdGen::new(RowIdGen::random_node(), opts.parse_time.micros_since_2020()))
    }

    /// Opens the `--rejects` file, if asked for.
    pub fn open_rejects(&self) -> anyhow::Result<Option<impl Write>> {
        self.rejects
            .as_ref()
            .map(|p| {
                let f = File::create(p)
                    .with_context(|| format!("cannot create --rejects file {}", p.display()))?;
                Ok(Named {
                    inner: BufWriter::with_capacity(1 << 16, f),
                    name: p.display().to_string(),
                })
            })
            .transpose()
    }
}

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
}

/// On SIGINT/SIGTERM: remove unfinished outputs' temporary files and exit
/// 130, so a target file is never touched by an interrupted run.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        crate::outfile::remove_pending();
        std::process::exit(Exit::Interrupted as i32);
    });
}

/// Whether an error is a closed pipe downstream (`teamlog | head`): success.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Writes labelled with what is being written, keeping the error kind (so a
/// broken pipe is still recognised).
struct Named<W> {
    inner: W,
    name: String,
}

impl<W: Write> Named<W> {
    fn wrap(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("cannot write to {}: {e}", self.name))
    }
}

impl<W: Write> Write for Named<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.wrap(e))
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| self.wrap(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.wrap(e))
    }
}

/// `teamlog [FILE]...`: the normalizing filter.
pub fn run_filter(args: &FilterArgs) -> anyhow::Result<Exit> {
    install_interrupt_handler();
    let started = Instant::now();
    let norm = &args.normalize;
    let plan = norm.plan()?;
    let mut sources = framing::expand(&args.files, args.recursive, args.relative_to.as_deref())?;
    let notes = if args.quiet || norm.rejects.is_some() {
        0
    } else {
        args.show_rejects
    };
    let opts = norm.options(args.max_line_bytes, notes);
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let mut settings = Settings::new(threads);
    settings.chunk_size = args.chunk_size;

    // Where events go: stdout, -o FILE, or a file per input under --output-dir.
    let mut skipped = Vec::new();
    let target = args.output.as_deref().map(OutFile::create).transpose()?;
    let stdout = io::stdout();
    let mut out: Box<dyn EventOut + '_> = match (&target, &args.output_dir) {
        (Some(t), _) => Box::new(Single(Named {
            inner: t.file(),
            name: t.path().display().to_string(),
        })),
        (None, Some(dir)) => {
            let (todo, targets) =
                plan_output_dir(dir, args.compress, args.force, sources, &mut skipped)?;
            sources = todo;
            Box::new(OutputDir::new(targets, args.compress))
        }
        (None, None) => Box::new(Single(Named {
            inner: stdout.lock(),
            name: "stdout".into(),
        })),
    };
    let mut rejects = norm.open_rejects()?;
    let mut stderr = io::stderr();
    let read_bytes = Arc::new(AtomicU64::new(0));
    let mut writer = Writer::new(norm.row_ids(&opts), opts.reject_notes);
    let progress = if args.quiet {
        None
    } else {
        let total = sources
            .iter()
            .map(|s| {
                s.path
                    .as_ref()
                    .and_then(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
            })
            .sum::<Option<u64>>();
        Progress::new(total, read_bytes.clone(), args.progress)
    };
    let progress = progress.map(|p| Arc::new(Mutex::new(p)));
    if let Some(p) = &progress {
        let p = p.clone();
        writer.on_chunk = Some(Box::new(move |t| p.lock().expect("not poisoned").update(t)));
    }
    let mut to = Targets {
        out: &mut *out,
        rejects: rejects.as_mut().map(|r| r as &mut dyn Write),
        messages: (opts.reject_notes > 0).then_some(&mut stderr as &mut dyn Write),
    };
    let ran = pipeline::run(
        &plan,
        &opts,
        &sources,
        &settings,
        &mut writer,
        &mut to,
        &read_bytes,
    )
    .and_then(|()| to.flush());
    if let Some(p) = &progress {
        p.lock().expect("not poisoned").finish();
    }
    ran?;
    let tally = writer.tally;
    drop(out);
    if let Some(t) = target {
        t.commit()?;
    }

    let stats = Stats::new(&tally, &skipped, started.elapsed());
    if let Some(p) = &args.stats {
        let mut json = serde_json::to_vec_pretty(&stats)?;
        json.push(b'\n');
        std::fs::write(p, json)
            .with_context(|| format!("cannot write --stats to {}", p.display()))?;
    }
    for s in &tally.per_source {
        if let Some(e) = &s.error {
            eprintln!("teamlog: error: {}", terminal_safe(e));
        }
    }
    if !args.quiet {
        let unshown = tally.unshown_rejects();
        if opts.reject_notes > 0 && unshown > 0 {
            eprintln!("teamlog: {unshown} more rejected lines not shown (use --rejects FILE to keep them all)");
        }
        eprintln!("{}", stats.summary());
    }
    Ok(if tally.failed_sources > 0 {
        Exit::Fatal
    } else if tally.totals.rejected > 0 {
        Exit::Rejects
    } else {
        Exit::Ok
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
        let t = batch::output_path(dir, &s, compress);
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

/// `teamlog schema`: the embedded schema, verbatim.
pub fn run_schema() -> anyhow::Result<Exit> {
    io::stdout().write_all(crate::schema::DROPBOX_TEAM_EVENT_YAML.as_bytes())?;
    Ok(Exit::Ok)
}

/// Parses the command line and runs the chosen mode.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Some(Command::Schema) => run_schema(),
        Some(Command::Generate(a)) => crate::generate::run(&a).map(|()| Exit::Ok),
        Some(Command::Auth(a)) => crate::pull::run_auth(&a).map(|_| Exit::Ok),
        Some(Command::Pull(a)) => crate::pull::run_pull(&a).map(Exit::from_pull),
        None => run_filter(&cli.filter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("1.5G").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
