//! Where the filter's events and rejects go, as implementations of the
//! engine's [`teamlog_core::sink::Sink`]: [`stream`] owns stdout and labelled
//! byte streams (and the one rule for a closed stdout), [`output_dir`] the
//! file-per-source tree of `--output-dir`, [`manifest`] the per-source
//! records and rejects sidecars that make reruns of an output directory whole,
//! [`parquet`] the Parquet file or day-partitioned table of `--format parquet`.

pub mod manifest;
pub mod output_dir;
pub mod parquet;
pub mod stream;
