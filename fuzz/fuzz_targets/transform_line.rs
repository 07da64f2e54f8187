//! Fuzz target: the per-line transform (`Transformer::process_line`).
//!
//! The input's lines (split as the framing splits them) go through the
//! Dropbox plan with reproducible options; `invariants::check_input` panics
//! unless every output line is a JSON object with the required fields in
//! schema order, the counts add up, malformed JSON is rejected, reject
//! records are JSON, and re-normalizing the output gives the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use teamlog_core::schema::Plan;
use teamlog_core::transform::{TransformOptions, Transformer};

#[path = "../../tests/it/invariants.rs"]
mod invariants;

struct Setup {
    t: Transformer,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        Setup {
            t: Transformer::new(Plan::dropbox(), invariants::reproducible_options()),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    invariants::check_input(s.t.plan(), &s.t, data);
});
