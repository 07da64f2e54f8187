//! `teamlog generate`: its flags and the mapping onto the generator.

use crate::atomic::{self, AtomicFile};
use crate::generate;
use crate::sinks::stream::stdout_error;
use std::io::{self, BufWriter};
use std::path::PathBuf;

/// Write realistic raw Dropbox team-log events as NDJSON, deterministic per
/// seed.
///
/// Covers every current event category and the whole event-type catalogue,
/// every actor, context, participant, access-method and asset wire shape,
/// IPv4 and IPv6 addresses, non-ASCII and right-to-left text, JSON escapes,
/// timestamps with fractions and offsets, and a tail of large events. With
/// --invalid-rate, cycles through every kind of line teamlog rejects. Without
/// --count or --bytes, writes 1000 lines; with both, stops at whichever limit
/// is reached first. Uses all cores; the output does not depend on their
/// number.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Number of lines to write (events, bad lines and blank lines together)
    /// [default: 1000 when --bytes is not given]. With --bytes too, the first
    /// limit reached ends the output
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Stop at the first line end at or past SIZE bytes; K, M, G, T are powers
    /// of 1024 (200M, 1G, 64KiB)
    #[arg(long, value_name = "SIZE", value_parser = super::values::parse_size)]
    pub bytes: Option<u64>,

    /// Seed of the pseudo-random stream: the same seed and options give the
    /// same bytes on every machine and thread count
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,

    /// Fraction of lines, 0 to 1, that teamlog must reject, cycling through
    /// every kind of bad line (a few blank lines come with them)
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = super::values::parse_rate)]
    pub invalid_rate: f64,

    /// Write to FILE (through a temporary file beside it, renamed on success)
    /// instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `teamlog generate`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let opts = generate::GenerateOptions {
        count: args.count,
        bytes: args.bytes,
        seed: args.seed,
        invalid_rate: args.invalid_rate,
    };
    match args.output.as_deref() {
        None => write_stdout(&opts),
        Some(p) if p.as_os_str() == "-" => write_stdout(&opts),
        Some(path) => {
            let out = AtomicFile::create(path)?;
            generate::generate(&opts, BufWriter::with_capacity(1 << 20, out.file()))
                .map_err(|e| atomic::with_path(e, "cannot write", path))?;
            Ok(out.commit()?)
        }
    }
}

fn write_stdout(opts: &generate::GenerateOptions) -> anyhow::Result<()> {
    let stdout = io::stdout().lock();
    generate::generate(opts, BufWriter::with_capacity(1 << 20, stdout)).map_err(stdout_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_writes_the_file_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("corpus.ndjson");
        let args = GenerateArgs {
            count: Some(50),
            bytes: None,
            seed: 3,
            invalid_rate: 0.0,
            output: Some(out.clone()),
        };
        run(&args).unwrap();
        let opts = generate::GenerateOptions {
            count: Some(50),
            bytes: None,
            seed: 3,
            invalid_rate: 0.0,
        };
        let mut want = Vec::new();
        generate::generate(&opts, &mut want).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), want);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }
}
