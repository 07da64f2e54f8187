//! teamlog's engine: Dropbox team-log events in, Panther-form events or
//! rejects out. No command line, no printing, no process globals: the
//! `teamlog` binary, `pull --normalize` and any embedder (a batch engine's
//! task) drive the same code.
//!
//! The data's way through the modules: [`framing`] (sources, decompression,
//! chunks of whole lines) -> [`transform`] (parse, validate, normalize, driven
//! by the [`schema`] plan; [`timestamp`] and [`indicators`] on the way;
//! [`json`] and [`rowid`] write the output) -> [`pipeline`] (workers and the
//! ordered writer) -> a [`sink::Sink`] (the caller's: a stream, files per
//! source, a columnar writer). [`catalogue`] is the Dropbox event catalogue as
//! data, which [`lint`] checks events against; [`deep`] finds indicators
//! inside `json` fields; [`terminal`] makes outside text safe to print.
//!
//! The engine works on bytes, not files, so it can be embedded:
//!
//! ```
//! use teamlog_core::schema::Plan;
//! use teamlog_core::timestamp::parse_rfc3339;
//! use teamlog_core::transform::{ChunkOutput, RowIdMode, Scratch, TransformOptions, Transformer};
//!
//! let opts = TransformOptions {
//!     row_id: RowIdMode::Content,
//!     parse_time: parse_rfc3339("2024-01-01T00:00:00Z").unwrap(),
//!     source_id: None,
//!     source_label: None,
//!     source_label_from_path: false,
//!     max_line_bytes: 1 << 20,
//!     keep_reject_records: false,
//!     reject_notes: 0,
//!     nanos_range: false,
//!     deep_indicators: false,
//!     lint: false,
//! };
//! let t = Transformer::new(Plan::dropbox(), opts);
//! let (mut scratch, mut out) = (Scratch::default(), ChunkOutput::default());
//! let line = br#"{"timestamp":"2017-01-25T15:51:30Z","event_category":"logins","event_type":{".tag":"login_success"},"details":{}}"#;
//! t.process_line(line, "-", 1, &mut scratch, &mut out);
//! let event = String::from_utf8(out.events).unwrap();
//! assert!(event.starts_with(r#"{"timestamp":"2017-01-25 15:51:30.000000000","event_category":{"_tag":"logins"}"#));
//! assert_eq!(out.counts.events, 1);
//! ```

pub mod catalogue;
pub mod deep;
pub mod framing;
pub mod indicators;
pub mod json;
pub mod lint;
pub mod pipeline;
pub mod rowid;
pub mod schema;
pub mod sink;
pub mod terminal;
pub mod timestamp;
pub mod transform;
