//! How events are normalized, as flags shared by the filter and
//! `pull --normalize`: the schema, row ids, parse time, source id and label,
//! and the rejects file; turned here into the engine's [`Transformer`].

use crate::cli::heading;
use crate::cli::values::parse_timestamp;
use clap::Args;
use std::path::PathBuf;
use teamlog_core::rowid::RowIdGen;
use teamlog_core::schema::Plan;
use teamlog_core::timestamp::Timestamp;
use teamlog_core::transform::{RowIdMode, TransformOptions, Transformer};

/// `--row-id`'s values (the engine's [`RowIdMode`], spelled for the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RowIdArg {
    /// Unique within the run: node, run start, ordinal (Panther's layout).
    Sequential,
    /// Derived from the normalized event, so reruns agree and duplicates share one.
    Content,
}

impl From<RowIdArg> for RowIdMode {
    fn from(a: RowIdArg) -> RowIdMode {
        match a {
            RowIdArg::Sequential => RowIdMode::Sequential,
            RowIdArg::Content => RowIdMode::Content,
        }
    }
}

/// How events are normalized: shared by the filter and `pull --normalize`.
#[derive(Args, Debug, Clone)]
pub struct NormalizeArgs {
    /// Use this Panther-style YAML schema instead of the embedded
    /// Dropbox.TeamEvent one (see `teamlog schema` for the format). Read
    /// strictly: an unknown key is an error. Keys supported: name, type,
    /// required, description, fields, element, timeFormat, timeFormats,
    /// isEventTime, indicators, validate (allow/deny), isEmbeddedJSON.
    #[arg(long, value_name = "FILE", help_heading = heading::NORMALIZATION)]
    pub schema: Option<PathBuf>,

    /// How p_row_id is made: `sequential` is unique within the run (Panther's
    /// layout); `content` is a hash of the normalized event, so reruns agree and
    /// exact duplicates share one id.
    #[arg(long, value_enum, default_value_t = RowIdArg::Sequential, value_name = "MODE", help_heading = heading::NORMALIZATION)]
    pub row_id: RowIdArg,

    /// Pin p_parse_time [default: the run's start]: RFC 3339
    /// (2024-01-01T00:00:00Z), a date (2024-01-01, midnight UTC) or a duration
    /// back from now (7d), as `pull --start` takes them. With --row-id content
    /// the output is then reproducible.
    #[arg(long, value_name = "TIME", value_parser = parse_timestamp, help_heading = heading::NORMALIZATION)]
    pub parse_time: Option<Timestamp>,

    /// Set p_source_id on every event.
    #[arg(long, value_name = "ID", help_heading = heading::NORMALIZATION)]
    pub source_id: Option<String>,

    /// Set p_source_label on every event.
    #[arg(long, value_name = "LABEL", help_heading = heading::NORMALIZATION)]
    pub source_label: Option<String>,

    /// Set p_source_label to each event's input path (`-` for stdin), so mixed
    /// archives stay traceable.
    #[arg(long, conflicts_with = "source_label", help_heading = heading::NORMALIZATION)]
    pub source_label_from_path: bool,

    /// Write one JSON record per rejected line (or envelope element) to FILE:
    /// source, line, index, error, and the exact raw text (raw_base64 when it
    /// is not UTF-8).
    #[arg(long, value_name = "FILE", help_heading = heading::OUTPUT)]
    pub rejects: Option<PathBuf>,

    /// Also fill p_any_emails, p_any_ip_addresses and p_any_usernames from
    /// inside the events' json fields (details, assets,
    /// origin.access_method): email- and IP-shaped strings, and the
    /// display_name of an object holding an account_id, email or
    /// team_member_id. Costs a look at those fields' bytes where a rule can
    /// match: about 10% more time on generated Dropbox data. Off, the output
    /// is unchanged.
    #[arg(long, help_heading = heading::NORMALIZATION)]
    pub deep_indicators: bool,
}

impl NormalizeArgs {
    /// The schema to normalize with: `--schema FILE` or the embedded one.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        Ok(match &self.schema {
            Some(p) => Plan::from_file(p)?,
            None => Plan::dropbox(),
        })
    }

    /// The transform's options; `reject_notes` is how many rejects to describe on stderr.
    pub fn options(&self, max_line_bytes: usize, reject_notes: usize) -> TransformOptions {
        TransformOptions {
            row_id: self.row_id.into(),
            parse_time: self
                .parse_time
                .unwrap_or_else(|| Timestamp::from_system(std::time::SystemTime::now())),
            source_id: self.source_id.clone(),
            source_label: self.source_label.clone(),
            source_label_from_path: self.source_label_from_path,
            max_line_bytes,
            keep_reject_records: self.rejects.is_some(),
            reject_notes,
            nanos_range: false,
            deep_indicators: self.deep_indicators,
            lint: false,
        }
    }

    /// The engine for these flags: the schema compiled once, with the options.
    pub fn transformer(
        &self,
        max_line_bytes: usize,
        reject_notes: usize,
    ) -> anyhow::Result<Transformer> {
        Ok(Transformer::new(
            self.plan()?,
            self.options(max_line_bytes, reject_notes),
        ))
    }

    /// The sequential row-id numbering, when that mode is chosen.
    pub fn row_ids(&self, opts: &TransformOptions) -> Option<RowIdGen> {
        (opts.row_id == RowIdMode::Sequential)
            .then(|| RowIdGen::new(RowIdGen::random_node(), opts.parse_time.micros_since_2020()))
    }
}
