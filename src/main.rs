//! The `teamlog` binary: parse flags, run one mode, map the result to an exit status.

use clap::Parser;
use std::process::ExitCode;
use teamlog::cli::{self, Exit};

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(code) => code.into(),
        // `teamlog ... | head`: the reader has all it wanted.
        Err(e) if cli::is_broken_pipe(&e) => Exit::Ok.into(),
        Err(e) => {
            eprintln!(
                "teamlog: error: {}",
                teamlog::output::terminal_safe(&format!("{e:#}"))
            );
            Exit::Fatal.into()
        }
    }
}
