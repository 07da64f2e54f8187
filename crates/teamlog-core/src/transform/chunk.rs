//! The chunk contract: what transforming one chunk of lines produces (events,
//! reject records, notes, counts, events by type, catalogue warnings). The pipeline's writer, the reports and
//! `pull --normalize` all read it.

use crate::lint::{TypeCounts, Warning};

/// Counters of one chunk (or a whole run, once merged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Counts {
    pub lines: u64,
    pub events: u64,
    pub rejected: u64,
    pub blank: u64,
    pub envelopes: u64,
    pub envelope_events: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.lines += o.lines;
        self.events += o.events;
        self.rejected += o.rejected;
        self.blank += o.blank;
        self.envelopes += o.envelopes;
        self.envelope_events += o.envelope_events;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }
}

/// One reject, kept for stderr and for counting by reason.
#[derive(Clone, Debug)]
pub struct RejectNote {
    pub line: u64,
    pub index: Option<usize>,
    pub reason: String,
}

/// What one chunk produced. Buffers are recycled between chunks.
#[derive(Default, Debug)]
pub struct ChunkOutput {
    /// Normalized events, one per line.
    pub events: Vec<u8>,
    /// Offsets in `events` where the writer inserts a sequential row id.
    pub row_id_slots: Vec<usize>,
    /// Reject records (when kept), one per line.
    pub rejects: Vec<u8>,
    /// The first rejects' reasons, for stderr.
    pub notes: Vec<RejectNote>,
    /// Rejects counted by reason class.
    pub by_reason: Vec<(String, u64)>,
    pub counts: Counts,
    /// Set by the caller: the source's exact name in base64 when it is not
    /// UTF-8, for the reject records (kept by [`ChunkOutput::clear`]).
    pub source_base64: Option<std::sync::Arc<str>>,
    /// Written events by category and event type (when the schema has them).
    pub by_type: TypeCounts,
    /// Catalogue warnings about written events (with `lint`), in input order.
    pub warnings: Vec<Warning>,
    /// What the sink's [`crate::sink::Encoder`] made of `events`, when it has
    /// one (set by the pipeline just before the results are handed on).
    pub encoded: Option<crate::sink::Encoded>,
    /// An earlier `encoded`, kept by [`ChunkOutput::clear`] for its buffers.
    pub spare_encoded: Option<crate::sink::Encoded>,
}

impl ChunkOutput {
    pub fn clear(&mut self) {
        self.events.clear();
        self.row_id_slots.clear();
        self.rejects.clear();
        self.notes.clear();
        self.by_reason.clear();
        self.counts = Counts::default();
        self.by_type.clear();
        self.warnings.clear();
        if let Some(e) = self.encoded.take() {
            self.spare_encoded = Some(e);
        }
    }
}
