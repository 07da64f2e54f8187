//! teamlog engine.

pub mod generate;
