//! `teamlog schema`: prints the embedded Dropbox.TeamEvent schema.

use crate::exit::Exit;
use crate::sinks::stream::stdout_error;
use std::io::{self, Write};

/// `teamlog schema`: the embedded schema, verbatim.
pub fn run() -> anyhow::Result<Exit> {
    let mut out = io::stdout().lock();
    out.write_all(teamlog_core::schema::DROPBOX_TEAM_EVENT_YAML.as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_error)?;
    Ok(Exit::Ok)
}
