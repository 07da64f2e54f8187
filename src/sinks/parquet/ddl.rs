//! `teamlog schema --table duckdb|athena [--location URI]`: the statement
//! that registers what `--format parquet --output-dir` writes, so a lake is
//! one copy-paste away from being queried. DuckDB's view casts top-level
//! `json` fields to JSON (those inside structs and lists stay VARCHAR, for
//! `::JSON` where needed); Athena keeps them as strings for `json_extract`.

use super::schema::{columns, Column, Kind, Scalar};
use teamlog_core::schema::{column_name, Plan};

/// Which engine to write the statement for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// A view over `read_parquet(..., hive_partitioning = true)`.
    Duckdb,
    /// An external table with the partition column, partition projection by day.
    Athena,
}

/// The table's name: the log type in lower case, `.` as `_` (`dropbox_teamevent`).
pub fn table_name(plan: &Plan) -> String {
    column_name(&plan.name).to_ascii_lowercase()
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn duckdb_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// DuckDB: a view; `json` columns at the top level are cast to JSON.
pub fn duckdb(plan: &Plan, location: &str) -> String {
    let base = location.trim_end_matches('/');
    let glob = if base.is_empty() {
        "/**/*.parquet".to_string()
    } else {
        format!("{base}/**/*.parquet")
    };
    let json: Vec<String> = columns(plan)
        .iter()
        .filter(|c| c.kind == Kind::Scalar(Scalar::Json))
        .map(|c| {
            let id = duckdb_ident(&c.name);
            format!("{id}::JSON AS {id}")
        })
        .collect();
    let select = if json.is_empty() {
        "*".to_string()
    } else {
        format!("* REPLACE ({})", json.join(", "))
    };
    format!(
        "CREATE OR REPLACE VIEW {} AS\nSELECT {select}\nFROM read_parquet({}, hive_partitioning = true);\n",
        duckdb_ident(&table_name(plan)),
        sql_str(&glob)
    )
}

fn athena_type(kind: &Kind) -> String {
    match kind {
        Kind::Scalar(Scalar::Bool) => "boolean".into(),
        Kind::Scalar(Scalar::I16) => "smallint".into(),
        Kind::Scalar(Scalar::I32) => "int".into(),
        Kind::Scalar(Scalar::I64) => "bigint".into(),
        Kind::Scalar(Scalar::Double) => "double".into(),
        Kind::Scalar(Scalar::Utf8 | Scalar::Json) => "string".into(),
        Kind::Scalar(Scalar::Timestamp) => "timestamp".into(),
        Kind::Struct(cols) => {
            let members: Vec<String> = cols
                .iter()
                .map(|c| format!("`{}`:{}", c.name, athena_type(&c.kind)))
                .collect();
            format!("struct<{}>", members.join(","))
        }
        Kind::List(e) => format!("array<{}>", athena_type(e)),
    }
}

/// Athena: an external Parquet table partitioned by `p_event_date`, found
/// by partition projection (no `MSCK REPAIR TABLE` needed).
pub fn athena(plan: &Plan, location: &str) -> String {
    let base = location.trim_end_matches('/');
    let cols: Vec<String> = columns(plan)
        .iter()
        .map(|Column { name, kind }| format!("  `{name}` {}", athena_type(kind)))
        .collect();
    let p = super::PARTITION_COLUMN;
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (\n{cols}\n)\n\
         PARTITIONED BY (`{p}` date)\n\
         STORED AS PARQUET\n\
         LOCATION {loc}\n\
         TBLPROPERTIES (\n\
         \x20 'projection.enabled' = 'true',\n\
         \x20 'projection.{p}.type' = 'date',\n\
         \x20 'projection.{p}.format' = 'yyyy-MM-dd',\n\
         \x20 'projection.{p}.range' = '1970-01-01,NOW',\n\
         \x20 'projection.{p}.interval' = '1',\n\
         \x20 'projection.{p}.interval.unit' = 'DAYS',\n\
         \x20 'storage.location.template' = {template}\n\
         );\n",
        table = table_name(plan),
        cols = cols.join(",\n"),
        loc = sql_str(&format!("{base}/")),
        template = sql_str(&format!("{base}/{p}=${{{p}}}/")),
    )
}

/// `teamlog schema --table ENGINE [--location URI]`: the statement for
/// `plan`'s table, or a usage error.
pub fn statement(plan: &Plan, engine: Engine, location: Option<&str>) -> anyhow::Result<String> {
    Ok(match engine {
        Engine::Duckdb => duckdb(plan, location.unwrap_or(".")),
        Engine::Athena => {
            let Some(loc) = location else {
                anyhow::bail!(
                    "--table athena needs --location s3://bucket/prefix (where --output-dir was copied to)"
                );
            };
            athena(plan, loc)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn athena_table_names_every_column_with_its_type() {
        let sql = athena(&Plan::dropbox(), "s3://lake/dropbox/");
        assert!(sql.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `dropbox_teamevent` (\n  `timestamp` timestamp,\n  `event_category` struct<`_tag`:string>,"), "{sql}");
        assert!(sql.contains("  `details` string,\n"), "{sql}");
        assert!(
            sql.contains("  `p_any_usernames` array<string>\n)"),
            "{sql}"
        );
        assert!(
            sql.contains("PARTITIONED BY (`p_event_date` date)"),
            "{sql}"
        );
        assert!(sql.contains("LOCATION 's3://lake/dropbox/'"), "{sql}");
        assert!(
            sql.contains("'s3://lake/dropbox/p_event_date=${p_event_date}/'"),
            "{sql}"
        );
    }

    #[test]
    fn duckdb_view_reads_the_partitioned_files() {
        let sql = duckdb(&Plan::dropbox(), "lake/it's");
        assert_eq!(
            sql,
            "CREATE OR REPLACE VIEW \"dropbox_teamevent\" AS\nSELECT * REPLACE (\"details\"::JSON AS \"details\")\nFROM read_parquet('lake/it''s/**/*.parquet', hive_partitioning = true);\n"
        );
    }
}
