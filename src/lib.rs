//! teamlog engine.
