//! Hints for a newcomer's first mistakes with the filter: a terminal on stdin
//! (teamlog would seem to hang), and a command written after flags or files
//! (`teamlog -q schema` reads a file named "schema").

use crate::cli::filter::FilterArgs;
use clap::CommandFactory;
use std::io::IsTerminal;

/// Refuses a missing FILE named like a command, saying that commands come
/// first; says on stderr that teamlog is reading a terminal when no FILE is
/// given and stdin is one (unless `-q`), and reads on.
pub fn check_invocation(args: &FilterArgs) -> anyhow::Result<()> {
    let mut cli = super::Cli::command();
    cli.build();
    for file in &args.files {
        let Some(name) = file.to_str() else { continue };
        if cli.find_subcommand(name).is_some() && !file.exists() {
            anyhow::bail!(
                "no file named {name:?}; to run the {name} command, put it first: \
                 `teamlog {name} ...` (flags and files go after it)"
            );
        }
    }
    if args.files.is_empty() && !args.quiet && std::io::stdin().is_terminal() {
        crate::report::note(
            "teamlog: reading events from stdin (a terminal); type or paste NDJSON and end with Ctrl-D, or give a FILE (teamlog --help)",
        );
    }
    Ok(())
}
