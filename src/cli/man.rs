//! `teamlog man [COMMAND]`: the manual page (roff) of teamlog or of one of its
//! commands (`teamlog-pull(1)`), generated from the same clap definition as
//! `--help`.

use crate::exit::Exit;
use clap::CommandFactory;

/// Print teamlog's manual page (roff), or one command's.
#[derive(Debug, Clone, clap::Args)]
pub struct ManArgs {
    /// The command whose page to print (schema, generate, auth, pull,
    /// completions, man) [default: teamlog's own page].
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// The clap definition the pages are made from: teamlog's, without the
/// `help` pseudo-command, built so that subcommands know their full names.
pub fn command() -> clap::Command {
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The page of `teamlog`, or of `teamlog <command>`.
pub fn page(name: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let root = command();
    let cmd = match name {
        None => root,
        Some(name) => match root.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let names: Vec<&str> = root.get_subcommands().map(|c| c.get_name()).collect();
                anyhow::bail!(
                    "no command named {:?}; `teamlog man` takes one of: {}",
                    teamlog_core::terminal::sanitize(name),
                    names.join(", ")
                );
            }
        },
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(out)
}

/// Runs `teamlog man`.
pub fn run(args: &ManArgs) -> anyhow::Result<Exit> {
    super::print(&page(args.command.as_deref())?)
}
