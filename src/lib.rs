//! The `teamlog` application: the command line and everything at the edge
//! of a run (files, streams, signals, exit status, reports, progress, the
//! `generate` corpus, and `pull` from the Dropbox API). The engine itself is
//! the `teamlog-core` crate ([`teamlog_core`]).
//!
//! Modules and what each owns:
//! - [`cli`]: the commands and their flags, one file per command.
//! - [`normalize`]: the normalization flags shared by the filter and `pull`.
//! - [`sinks`]: where events go (streams, `--output-dir`), and the one rule
//!   for a closed stdout.
//! - [`atomic`]: the one atomic-file writer. [`signals`]: the one signal
//!   handler. [`exit`]: the one exit-status vocabulary.
//! - [`report`] and [`progress`]: the summary, `--stats`, the progress bar.
//! - [`generate`]: the test and benchmark corpus. [`pull`]: the Dropbox API.

pub mod atomic;
pub mod cli;
pub mod exit;
pub mod generate;
pub mod normalize;
pub mod paths;
pub mod progress;
pub mod pull;
pub mod report;
pub mod signals;
pub mod sinks;
pub mod spill;
