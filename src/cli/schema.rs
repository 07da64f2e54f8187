//! `teamlog schema`: prints the embedded Dropbox.TeamEvent schema.

use crate::exit::Exit;

/// `teamlog schema`: the embedded schema, verbatim.
pub fn run() -> anyhow::Result<Exit> {
    super::print(teamlog_core::schema::DROPBOX_TEAM_EVENT_YAML.as_bytes())
}
