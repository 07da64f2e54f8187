//! What the benches share: the sample they run on and the transform's
//! options.

use teamlog::generate::{generate, GenerateOptions};
use teamlog_core::timestamp::parse_rfc3339;
use teamlog_core::transform::{RowIdMode, TransformOptions};

const SAMPLE_BYTES: u64 = 4 << 20;

/// ~4 MB of valid raw API events, the same bytes on every run.
pub fn sample() -> Vec<u8> {
    let opts = GenerateOptions {
        bytes: Some(SAMPLE_BYTES),
        seed: 1,
        ..GenerateOptions::default()
    };
    let mut out = Vec::with_capacity(SAMPLE_BYTES as usize + (64 << 10));
    generate(&opts, &mut out).expect("generating into memory cannot fail");
    out
}

/// `--row-id content --parse-time 2024-01-01T00:00:00Z`, every option off.
pub fn options() -> TransformOptions {
    TransformOptions {
        row_id: RowIdMode::Content,
        parse_time: parse_rfc3339("2024-01-01T00:00:00Z").expect("valid"),
        source_id: None,
        source_label: None,
        source_label_from_path: false,
        max_line_bytes: 16 << 20,
        keep_reject_records: false,
        reject_notes: 0,
        nanos_range: false,
        deep_indicators: false,
        lint: false,
    }
}
