//! teamlog's engine: Dropbox team-log events in, Panther-form NDJSON out.
//!
//! The data's way through the modules: [`framing`] (sources, decompression,
//! chunks of whole lines) -> [`transform`] (parse, validate, normalize, driven
//! by the [`schema`] plan; [`timestamp`] and [`indicators`] on the way) ->
//! [`output`] (serialization helpers) -> [`pipeline`] (workers and the ordered
//! writer) -> [`report`] (summary and stats). [`cli`] is the command line.

pub mod cli;
pub mod framing;
pub mod generate;
pub mod indicators;
pub mod outfile;
pub mod output;
pub mod pipeline;
pub mod pull;
pub mod report;
pub mod schema;
pub mod timestamp;
pub mod transform;
