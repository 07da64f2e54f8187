//! `--format parquet`: the normalized events as a Parquet table, for DuckDB,
//! Athena and Spark.
//!
//! The sink takes exactly what the NDJSON output would hold (whole event
//! lines, row ids filled in) and reads each line back into Parquet columns,
//! so the table's values are the NDJSON values by construction. The parts:
//! [`schema`] (the log schema's Plan as a Parquet schema), [`rows`] (event
//! lines into column buffers, written with parquet's core column writers),
//! [`writer`] (the files: one with `-o FILE`, a Hive-partitioned table by
//! `p_event_date` with `--output-dir`, whose per-source records are kept by
//! [`super::manifest`]) and [`ddl`] (`teamlog schema --table`). The
//! timestamp arithmetic (nanoseconds, days) is the engine's
//! [`teamlog_core::timestamp`].

pub mod ddl;
pub mod rows;
pub mod schema;
pub mod writer;

use ::parquet::basic::{Compression, ZstdLevel};
use ::parquet::file::properties::{EnabledStatistics, WriterProperties};
use ::parquet::schema::types::ColumnPath;
use schema::{Kind, Scalar};
use teamlog_core::schema::Plan;

pub use teamlog_core::timestamp::{
    check_nanos_range, format_day, output_days, output_nanos, NANOS_RANGE,
};

/// The parquet writer's `created_by`: fixed, so files are byte-identical
/// across runs of the same build.
pub const CREATED_BY: &str = concat!("teamlog ", env!("CARGO_PKG_VERSION"));

/// The partition column `--output-dir` writes (in directory names only).
pub const PARTITION_COLUMN: &str = "p_event_date";

/// Compression of the Parquet pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ParquetCompression {
    #[default]
    Zstd,
    Snappy,
    None,
}

impl ParquetCompression {
    fn codec(self) -> Compression {
        match self {
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::None => Compression::UNCOMPRESSED,
        }
    }
}

/// How the files are cut and compressed (the `--parquet-*` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub compression: ParquetCompression,
    /// Rows per row group (a row group also ends at
    /// [`writer::ROW_GROUP_BYTES`] of events, or
    /// [`writer::OVERLAPPED_ROW_GROUP_BYTES`] with `-o`).
    pub row_group_rows: usize,
    /// Target size of a data page before compression.
    pub page_bytes: usize,
    /// With `--output-dir`: rows held across all days of a source before the
    /// largest day is spilled.
    pub buffer_rows: usize,
}

impl Settings {
    pub const DEFAULT_ROW_GROUP_ROWS: usize = 131072;
    pub const DEFAULT_PAGE_BYTES: usize = 1 << 20;
    pub const DEFAULT_BUFFER_ROWS: usize = 131072;

    /// The writer properties every file gets: no timestamps or random ids,
    /// statistics on (so readers skip row groups by time). Per column:
    /// no dictionary for the columns whose values are all but unique (the
    /// row id, and times but `p_parse_time`, one value a run), where it is
    /// hashing that the page's fallback throws away; chunk statistics, and
    /// page statistics (the column index) only for `p_event_time`.
    pub fn properties(&self, plan: &Plan) -> WriterProperties {
        let mut b = WriterProperties::builder()
            .set_created_by(CREATED_BY.to_string())
            .set_compression(self.compression.codec())
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_data_page_size_limit(self.page_bytes)
            .set_dictionary_page_size_limit(self.page_bytes)
            .set_statistics_enabled(EnabledStatistics::Chunk);
        for (path, kind) in schema::leaf_paths(plan) {
            let top = path[0].as_str();
            let unique = match kind {
                Kind::Scalar(Scalar::Timestamp) => top != "p_parse_time",
                _ => top == "p_row_id",
            };
            let by_time = top == "p_event_time";
            let path = ColumnPath::new(path);
            if unique {
                b = b.set_column_dictionary_enabled(path.clone(), false);
            }
            if by_time {
                b = b.set_column_statistics_enabled(path, EnabledStatistics::Page);
            }
        }
        b.build()
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            compression: ParquetCompression::default(),
            row_group_rows: Settings::DEFAULT_ROW_GROUP_ROWS,
            page_bytes: Settings::DEFAULT_PAGE_BYTES,
            buffer_rows: Settings::DEFAULT_BUFFER_ROWS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_columns_have_no_dictionary_and_every_column_has_statistics() {
        let props = Settings::default().properties(&Plan::dropbox());
        let col = |p: &str| ColumnPath::new(p.split('.').map(String::from).collect());
        for unique in ["p_row_id", "p_event_time", "timestamp"] {
            assert!(!props.dictionary_enabled(&col(unique)), "{unique}");
        }
        for repeated in [
            "p_parse_time",
            "event_type._tag",
            "details",
            "p_any_emails.list.element",
        ] {
            assert!(props.dictionary_enabled(&col(repeated)), "{repeated}");
        }
        assert_eq!(
            props.statistics_enabled(&col("p_event_time")),
            EnabledStatistics::Page
        );
        for chunk in [
            "timestamp",
            "p_row_id",
            "event_type._tag",
            "p_any_emails.list.element",
        ] {
            assert_eq!(
                props.statistics_enabled(&col(chunk)),
                EnabledStatistics::Chunk,
                "{chunk}"
            );
        }
    }
}
