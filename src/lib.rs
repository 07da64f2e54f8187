//! teamlog engine.
pub mod pull;
