//! The one exit-status vocabulary, shared by every command (docs/CONTRACT.md,
//! "Exit status").

use std::process::ExitCode;

/// How a run ended, as its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Every line was valid or blank (also: the reader of our stdout went away).
    Ok = 0,
    /// The run completed and some lines were rejected (all valid events written).
    Rejects = 1,
    /// Usage error, unreadable input, write failure, bad schema, API failure.
    Fatal = 2,
    /// Interrupted by SIGINT or SIGTERM (128 + 2).
    Interrupted = 130,
}

impl Exit {
    /// The status of a run that may have rejected lines.
    pub fn from_rejects(rejected: u64) -> Exit {
        if rejected > 0 {
            Exit::Rejects
        } else {
            Exit::Ok
        }
    }

    /// Maps a numeric status (0, 1, anything else fatal) onto ours.
    pub fn from_code(code: u8) -> Exit {
        match code {
            0 => Exit::Ok,
            1 => Exit::Rejects,
            130 => Exit::Interrupted,
            _ => Exit::Fatal,
        }
    }

    /// The numeric status.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}
