//! Integration tests: the real `teamlog` binary on real fixtures.
//!
//! One test binary (ripgrep's layout) with a module per concern.

mod adversarial;
mod batch;
mod cli;
mod common;
mod deep;
mod differential;
mod faults;
mod golden;
mod input;
mod invariants;
mod lint;
mod output;
mod outputs;
mod parquet;
mod properties;
mod pull;
mod rejects;
mod resources;
mod runs;
mod schema;
mod sources;
