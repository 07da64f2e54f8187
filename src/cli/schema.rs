//! `teamlog schema`: prints the embedded Dropbox.TeamEvent schema, or with
//! `--table` the CREATE statement of the table `--format parquet` writes.

use crate::exit::Exit;
use crate::sinks::parquet::ddl::{self, Engine};
use std::path::PathBuf;
use teamlog_core::schema::Plan;

/// `teamlog schema`'s flags.
#[derive(clap::Args, Debug, Clone)]
pub struct SchemaArgs {
    /// Print the CREATE statement for the Parquet table `--format parquet
    /// --output-dir` writes, instead of the YAML schema.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub table: Option<Engine>,

    /// Where the table's directory is (`s3://bucket/prefix` for Athena; a
    /// path for DuckDB) [default: `.` for DuckDB; required for Athena].
    #[arg(long, value_name = "URI", requires = "table")]
    pub location: Option<String>,

    /// The log schema of the table (`--schema FILE` of the run) instead of the
    /// embedded Dropbox.TeamEvent one.
    #[arg(long, value_name = "FILE", requires = "table")]
    pub schema: Option<PathBuf>,
}

/// `teamlog schema`: the embedded schema verbatim, or `--table`'s statement.
pub fn run(args: &SchemaArgs) -> anyhow::Result<Exit> {
    let Some(engine) = args.table else {
        return super::print(teamlog_core::schema::DROPBOX_TEAM_EVENT_YAML.as_bytes());
    };
    let plan = match &args.schema {
        Some(p) => Plan::from_file(p)?,
        None => Plan::dropbox(),
    };
    let sql = ddl::statement(&plan, engine, args.location.as_deref())?;
    super::print(sql.as_bytes())
}
