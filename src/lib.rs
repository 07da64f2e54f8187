//! teamlog's engine: Dropbox team-log events in, Panther-form NDJSON out.
//!
//! The data's way through the modules: [`framing`] (sources, decompression,
//! chunks of whole lines) -> [`transform`] (parse, validate, normalize, driven
//! by the [`schema`] plan; [`timestamp`] and [`indicators`] on the way) ->
//! [`output`] (serialization helpers) -> [`pipeline`] (workers and the ordered
//! writer) -> [`report`] (summary and stats). [`cli`] is the command line.
//!
//! The engine works on bytes, not files, so it can be embedded (a batch
//! engine's map task, `pull --normalize`):
//!
//! ```
//! use teamlog::schema::Plan;
//! use teamlog::timestamp::parse_rfc3339;
//! use teamlog::transform::{ChunkOutput, RowIdMode, Scratch, TransformOptions, Transformer};
//!
//! let plan = Plan::dropbox();
//! let opts = TransformOptions {
//!     row_id: RowIdMode::Content,
//!     parse_time: parse_rfc3339("2024-01-01T00:00:00Z").unwrap(),
//!     source_id: None,
//!     source_label: None,
//!     source_label_from_path: false,
//!     max_line_bytes: 1 << 20,
//!     keep_reject_records: false,
//!     reject_notes: 0,
//! };
//! let t = Transformer::new(&plan, &opts);
//! let (mut scratch, mut out) = (Scratch::default(), ChunkOutput::default());
//! let line = br#"{"timestamp":"2017-01-25T15:51:30Z","event_category":"logins","event_type":{".tag":"login_success"},"details":{}}"#;
//! t.process_line(line, "-", 1, &mut scratch, &mut out);
//! let event = String::from_utf8(out.events).unwrap();
//! assert!(event.starts_with(r#"{"timestamp":"2017-01-25 15:51:30.000000000","event_category":{"_tag":"logins"}"#));
//! assert_eq!(out.counts.events, 1);
//! ```

pub mod batch;
pub mod cli;
pub mod framing;
pub mod generate;
pub mod indicators;
pub mod outfile;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod pull;
pub mod report;
pub mod schema;
pub mod timestamp;
pub mod transform;
