//! The `teamlog` binary: parse flags, run one command, map the result to an
//! exit status.

use clap::Parser;
use std::process::ExitCode;
use teamlog::cli;
use teamlog::exit::Exit;
use teamlog::sinks::stream::is_stdout_closed;
use teamlog_core::terminal::sanitize;

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(code) => code.into(),
        // `teamlog ... | head`: the reader has all it wanted.
        Err(e) if is_stdout_closed(&e) => Exit::Ok.into(),
        Err(e) => {
            // Best effort: a closed stderr must not turn into a panic.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "teamlog: error: {}",
                sanitize(&format!("{e:#}"))
            );
            Exit::Fatal.into()
        }
    }
}
