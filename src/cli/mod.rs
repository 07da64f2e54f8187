//! The command line: the commands and their flags (doc comments are
//! `--help`), one file per command, and the dispatch.

pub mod completions;
pub mod filter;
pub mod generate;
pub mod hints;
pub mod man;
pub mod schema;
pub mod values;

use crate::exit::Exit;
use clap::{Parser, Subcommand};

/// The help headings of the filter's flags, in the order `--help` shows them.
pub mod heading {
    pub const INPUT: &str = "Input";
    pub const OUTPUT: &str = "Output";
    pub const NORMALIZATION: &str = "Normalization";
    pub const PERFORMANCE: &str = "Performance";
    pub const REPORTING: &str = "Reporting";
    pub const ALL: [&str; 5] = [INPUT, OUTPUT, NORMALIZATION, PERFORMANCE, REPORTING];
}

const EXAMPLES: &str = "\
Examples:
  zcat events.gz | teamlog > clean.ndjson
  teamlog --rejects rejects.ndjson -o clean.ndjson dump-2024-*.ndjson.zst
  teamlog -r archive/ --row-id content --parse-time 2024-01-01 --stats stats.json
  teamlog schema > dropbox.yml

Commands come before any flag or file: `teamlog generate --count 10`, not
`teamlog --count 10 generate`. `teamlog COMMAND --help` describes each.

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
#[command(
    name = "teamlog",
    version,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub filter: filter::FilterArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the embedded Dropbox.TeamEvent schema (Panther YAML), or with
    /// --table the CREATE statement of the Parquet table.
    #[command(after_help = SCHEMA_EXAMPLES)]
    Schema(schema::SchemaArgs),
    /// Write realistic raw Dropbox team-log events (NDJSON), deterministic per
    /// seed, for tests and benchmarks.
    #[command(after_help = GENERATE_EXAMPLES)]
    Generate(generate::GenerateArgs),
    /// Authorize teamlog to read your team's activity log (OAuth 2 with PKCE).
    #[command(after_help = AUTH_EXAMPLES)]
    Auth(Box<crate::pull::AuthArgs>),
    /// Fetch team events from the Dropbox API (raw, or normalized with --normalize).
    #[command(after_help = PULL_EXAMPLES)]
    Pull(Box<crate::pull::PullArgs>),
    /// Print shell completions for teamlog's commands and flags.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(completions::CompletionsArgs),
    /// Print teamlog's manual page (roff), or one command's.
    #[command(after_help = MAN_EXAMPLES)]
    Man(man::ManArgs),
}

const SCHEMA_EXAMPLES: &str = "\
Examples:
  teamlog schema > Dropbox.TeamEvent.yml     # edit it, then:
  teamlog --schema Dropbox.TeamEvent.yml events.ndjson
  teamlog schema --table duckdb --location lake > lake.sql   # after --format parquet --output-dir lake
  teamlog schema --table athena --location s3://bucket/dropbox";

const GENERATE_EXAMPLES: &str = "\
Examples:
  teamlog generate --count 10                       # 10 lines on stdout
  teamlog generate --bytes 200M --seed 7 -o corpus.ndjson
  teamlog generate --count 5000 --invalid-rate 0.1 | teamlog --rejects rejects.ndjson > /dev/null";

const AUTH_EXAMPLES: &str = "\
Examples:
  TEAMLOG_APP_KEY=your-app-key teamlog auth --redirect-uri http://127.0.0.1:53682/callback
  teamlog auth --app-key your-app-key        # no redirect URI: paste the code Dropbox shows";

const PULL_EXAMPLES: &str = "\
Examples:
  teamlog pull --start 7d --category logins > logins.ndjson
  teamlog pull --state pull-state.json -o events.ndjson        # rerun to continue
  teamlog pull --follow --normalize --state state.json --drop-off-alarm 2h -o events.ndjson";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  teamlog completions bash > ~/.local/share/bash-completion/completions/teamlog
  teamlog completions zsh > ~/.zfunc/_teamlog      # with fpath+=~/.zfunc in ~/.zshrc
  teamlog completions fish > ~/.config/fish/completions/teamlog.fish";

const MAN_EXAMPLES: &str = "\
Examples:
  teamlog man | man -l -
  teamlog man > ~/.local/share/man/man1/teamlog.1
  teamlog man pull > ~/.local/share/man/man1/teamlog-pull.1";

/// Writes a command's whole output to stdout; a failure says "cannot write to
/// stdout" (a closed stdout stays quiet, as everywhere).
fn print(bytes: &[u8]) -> anyhow::Result<Exit> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(crate::sinks::stream::stdout_error)?;
    Ok(Exit::Ok)
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Some(Command::Schema(a)) => schema::run(&a),
        Some(Command::Generate(a)) => generate::run(&a).map(|()| Exit::Ok),
        Some(Command::Auth(a)) => crate::pull::run_auth(&a).map(|_| Exit::Ok),
        Some(Command::Pull(a)) => crate::pull::run_pull(&a).map(Exit::from_code),
        Some(Command::Completions(a)) => completions::run(&a),
        Some(Command::Man(a)) => man::run(&a),
        None => {
            hints::check_invocation(&cli.filter)?;
            filter::run(&cli.filter)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    /// Every `teamlog ...` in the help's examples is a command line clap accepts.
    #[test]
    fn every_example_parses() {
        use clap::Parser;
        let all = [
            super::EXAMPLES,
            super::SCHEMA_EXAMPLES,
            super::GENERATE_EXAMPLES,
            super::AUTH_EXAMPLES,
            super::PULL_EXAMPLES,
            super::COMPLETIONS_EXAMPLES,
            super::MAN_EXAMPLES,
        ];
        let mut seen = 0;
        for line in all
            .iter()
            .flat_map(|e| e.lines())
            .filter(|l| l.starts_with("  "))
        {
            let line = line.split('#').next().unwrap();
            for part in line.split('|') {
                let words: Vec<&str> = part
                    .split('>')
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                    .collect();
                if words.first() != Some(&"teamlog") {
                    continue;
                }
                seen += 1;
                if let Err(e) = super::Cli::try_parse_from(&words) {
                    panic!("example {part:?} does not parse: {e}");
                }
            }
        }
        assert!(seen >= 20, "{seen} examples");
    }
}
