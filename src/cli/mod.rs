//! The command line: the commands and their flags (doc comments are
//! `--help`), one file per command, and the dispatch.

pub mod filter;
pub mod generate;
pub mod schema;
pub mod values;

use crate::exit::Exit;
use clap::{Parser, Subcommand};

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
    pub filter: filter::FilterArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the embedded Dropbox.TeamEvent schema (Panther YAML).
    Schema,
    /// Write realistic raw Dropbox team-log events (NDJSON), deterministic per
    /// seed, for tests and benchmarks.
    Generate(generate::GenerateArgs),
    /// Authorize teamlog to read your team's activity log (OAuth 2 with PKCE).
    Auth(Box<crate::pull::AuthArgs>),
    /// Fetch team events from the Dropbox API (raw, or normalized with --normalize).
    Pull(Box<crate::pull::PullArgs>),
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Some(Command::Schema) => schema::run(),
        Some(Command::Generate(a)) => generate::run(&a).map(|()| Exit::Ok),
        Some(Command::Auth(a)) => crate::pull::run_auth(&a).map(|_| Exit::Ok),
        Some(Command::Pull(a)) => crate::pull::run_pull(&a).map(Exit::from_code),
        None => filter::run(&cli.filter),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
