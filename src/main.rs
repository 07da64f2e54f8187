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
                sanitize(&message(&e))
            );
            Exit::Fatal.into()
        }
    }
}

/// An error and its causes, each said once (a cause already in the text
/// before it is left out) and without Rust's `(os error N)`.
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    while let Some(i) = text.find(" (os error ") {
        match text[i..].find(')') {
            Some(j) => text.replace_range(i..i + j + 1, ""),
            None => break,
        }
    }
    text
}
