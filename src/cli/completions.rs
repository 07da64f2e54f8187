//! `teamlog completions SHELL`: shell completions for every command and flag,
//! generated from the same clap definition as `--help`.

use crate::exit::Exit;
use clap::CommandFactory;
use clap_complete::Shell;

/// Print shell completions for teamlog's commands and flags.
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "teamlog", &mut out);
    out
}

/// Runs `teamlog completions`.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    // Rendered into memory first: the generator panics on a failed write.
    super::print(&script(args.shell))
}
