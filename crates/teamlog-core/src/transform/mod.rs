//! The per-line transform: one input line in, one normalized event (or an
//! envelope's worth of them) or one reject out (docs/CONTRACT.md §2–§5).
//!
//! There is no DOM. serde_json's streaming deserializer is driven by the compiled
//! [`Plan`] through `DeserializeSeed`s: declared keys are matched as they come,
//! scalars are taken as `&RawValue` slices of the line (so numbers keep their
//! literal text and `json` fields their exact bytes), undeclared keys are skipped
//! without being built, and each declared value is written at once as
//! `,"column":value` into a scratch arena. At the end of each nested object its
//! pieces are put into schema order (a no-op when the input already was); the
//! top level's pieces are ordered as they are copied to the output.
//!
//! Validation errors travel up through serde as an opaque error while the real
//! reason waits in [`Scratch`]; each object level on the way up adds its field
//! name, so the reason names the full path (`actor.user.email`).

mod chunk;
mod reasons;
mod scalar;
mod seeds;

use crate::deep::DeepScratch;
use crate::indicators::{Bucket, Collector};
use crate::json::{quote_value, write_hex, write_json_str};
use crate::lint::{Captured, Roles};
use crate::rowid::content_row_id;
use crate::schema::{FieldType, IntWidth, ObjectPlan, Plan, ValuePlan};
use crate::timestamp::{self, TimeFormat, Timestamp};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

pub use chunk::{ChunkOutput, Counts, RejectNote};
pub use reasons::Invalid;
use reasons::InvalidKind;
use scalar::*;
use seeds::*;

/// How `p_row_id` is made (docs/CONTRACT.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowIdMode {
    /// Unique within the run: node, run start, ordinal (Panther's layout).
    Sequential,
    /// Derived from the normalized event, so reruns agree and duplicates share one.
    Content,
}

/// The per-run settings of the transform.
#[derive(Clone, Debug)]
pub struct TransformOptions {
    pub row_id: RowIdMode,
    pub parse_time: Timestamp,
    pub source_id: Option<String>,
    pub source_label: Option<String>,
    /// Set p_source_label to each event's input path instead.
    pub source_label_from_path: bool,
    /// Longest line accepted, in bytes, without its line ending.
    pub max_line_bytes: usize,
    /// Serialize reject records (only when `--rejects` asks for them).
    pub keep_reject_records: bool,
    /// At most this many reject reasons per chunk are kept for stderr.
    pub reject_notes: usize,
    /// Reject timestamps outside Parquet's TIMESTAMP(NANOS)
    /// ([`crate::timestamp::check_nanos_range`]), for a columnar sink.
    pub nanos_range: bool,
    /// Also collect indicators found inside `json` fields ([`crate::deep`]).
    pub deep_indicators: bool,
    /// Check each valid event against the catalogue ([`crate::lint`]).
    pub lint: bool,
}

/// Reusable per-worker buffers; cleared per event, never shrunk.
#[derive(Default)]
pub struct Scratch {
    arena: Vec<u8>,
    pieces: Vec<Piece>,
    tmp: Vec<u8>,
    indicators: Collector,
    event_time: Option<(u16, Timestamp)>,
    error: Option<Invalid>,
    /// [`TransformOptions::nanos_range`], for the scalar checks.
    nanos_range: bool,
    /// This run's `deep_indicators` and [`Roles`], set per event.
    deep: bool,
    roles: Roles,
    captured: Captured,
    deep_scratch: DeepScratch,
}

#[derive(Clone, Copy, Debug)]
struct Piece {
    field: u16,
    start: u32,
    end: u32,
}

impl Scratch {
    fn reset(&mut self) {
        self.arena.clear();
        self.pieces.clear();
        self.indicators.clear();
        self.event_time = None;
        self.error = None;
        self.captured.clear();
    }

    /// Keeps a string value the lint or the type counts watch.
    #[inline(always)]
    fn capture(&mut self, v: &ValuePlan, s: &str) {
        if self.roles.watches_string(v) {
            self.captured.string(&self.roles, v, s);
        }
    }

    /// Records a validation failure and returns the opaque serde error that
    /// carries it up.
    #[cold]
    fn fail<E: de::Error>(&mut self, kind: InvalidKind) -> E {
        self.error = Some(Invalid::new(kind));
        E::custom("invalid event")
    }

    /// Adds a path segment to the pending failure (if it is ours, not a syntax error).
    #[cold]
    fn locate<E>(&mut self, e: E, seg: impl Into<String>) -> E {
        if let Some(inv) = &mut self.error {
            inv.segs.push(seg.into());
        }
        e
    }
}

/// The compiled schema plus the run's options: everything a worker needs.
/// Built once per run (or per `pull`), shared by reference between workers.
pub struct Transformer {
    plan: Plan,
    opts: TransformOptions,
    /// `,"p_log_type":"…","p_row_id":"`
    head: Vec<u8>,
    /// `","p_parse_time":"…","p_schema_version":N` plus source id and label.
    tail: Vec<u8>,
    parse_time: Vec<u8>,
    roles: Roles,
}

enum Outcome<'de> {
    Event,
    Envelope(&'de RawValue),
}

impl Transformer {
    pub fn new(mut plan: Plan, opts: TransformOptions) -> Transformer {
        if opts.deep_indicators {
            // What the deep rules can fill joins the columns the schema can.
            for b in [Bucket::IpAddresses, Bucket::Emails, Bucket::Usernames] {
                if !plan.buckets.contains(&b) {
                    plan.buckets.push(b);
                }
            }
            plan.buckets.sort();
        }
        let roles = Roles::find(&plan, opts.lint);
        let mut head = b",\"p_log_type\":".to_vec();
        write_json_str(&mut head, &plan.name);
        head.extend_from_slice(b",\"p_row_id\":\"");
        let mut parse_time = Vec::new();
        opts.parse_time.write(&mut parse_time);
        let mut tail = b"\",\"p_parse_time\":\"".to_vec();
        tail.extend_from_slice(&parse_time);
        tail.extend_from_slice(b"\",\"p_schema_version\":");
        tail.extend_from_slice(plan.version.to_string().as_bytes());
        if let Some(id) = &opts.source_id {
            tail.extend_from_slice(b",\"p_source_id\":");
            write_json_str(&mut tail, id);
        }
        if let Some(label) = &opts.source_label {
            tail.extend_from_slice(b",\"p_source_label\":");
            write_json_str(&mut tail, label);
        }
        Transformer {
            plan,
            opts,
            head,
            tail,
            parse_time,
            roles,
        }
    }

    pub fn options(&self) -> &TransformOptions {
        &self.opts
    }

    /// The compiled schema this transformer normalizes with.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Processes one line (without its line ending) from `source` at 1-based `line`.
    pub fn process_line(
        &self,
        line: &[u8],
        source: &str,
        line_no: u64,
        sc: &mut Scratch,
        out: &mut ChunkOutput,
    ) {
        self.process_line_parts(line, source, line_no, sc, out, &mut |_| {});
    }

    /// [`Transformer::process_line`], calling `spill` after each element of
    /// an envelope, where `out` holds whole results: the caller may hand
    /// what `out` holds on and clear it (every count is additive), so one
    /// line of a million elements never holds a million results.
    pub fn process_line_parts(
        &self,
        line: &[u8],
        source: &str,
        line_no: u64,
        sc: &mut Scratch,
        out: &mut ChunkOutput,
        spill: &mut dyn FnMut(&mut ChunkOutput),
    ) {
        out.counts.lines += 1;
        let at = |index| crate::json::Location {
            source,
            source_base64: None,
            line: line_no,
            index,
        };
        // The limit first, on every line: the reader cuts an over-long line
        // short without seeing all of it, and the verdict must not depend
        // on whether the line fitted in a chunk.
        if line.len() > self.opts.max_line_bytes {
            let inv = Invalid::new(InvalidKind::TooLong {
                limit: self.opts.max_line_bytes,
            });
            let cut = &line[..line.len().min(crate::json::TRUNCATED_RAW_BYTES)];
            return self.reject(out, at(None), &inv, cut, true);
        }
        if line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r')) {
            out.counts.blank += 1;
            return;
        }
        // SIMD validation: the scalar one in `std` was a tenth of the run time.
        let text = match simdutf8::compat::from_utf8(line) {
            Ok(t) => t,
            Err(e) => {
                let inv = Invalid::new(InvalidKind::Utf8 {
                    at: e.valid_up_to(),
                });
                return self.reject(out, at(None), &inv, line, false);
            }
        };
        match self.event(text, sc, true) {
            Ok(Outcome::Event) => {
                self.observe(sc, out, line_no, None);
                self.emit(sc, out, source)
            }
            Ok(Outcome::Envelope(events)) => {
                out.counts.envelopes += 1;
                // The array was validated when it was skipped; this cannot fail.
                let elems: Vec<&RawValue> = serde_json::from_str(events.get()).unwrap_or_default();
                out.counts.envelope_events += elems.len() as u64;
                for (i, elem) in elems.into_iter().enumerate() {
                    match self.event(elem.get(), sc, false) {
                        Ok(_) => {
                            self.observe(sc, out, line_no, Some(i));
                            self.emit(sc, out, source)
                        }
                        Err(inv) => {
                            self.reject(out, at(Some(i)), &inv, elem.get().as_bytes(), false)
                        }
                    }
                    spill(out);
                }
            }
            Err(inv) => self.reject(out, at(None), &inv, line, false),
        }
    }

    /// Records an over-long line that the reader cut short without buffering it.
    pub fn reject_too_long(
        &self,
        prefix: &[u8],
        source: &str,
        line_no: u64,
        total: u64,
        out: &mut ChunkOutput,
    ) {
        out.counts.lines += 1;
        out.counts.bytes_in += total;
        let inv = Invalid::new(InvalidKind::TooLong {
            limit: self.opts.max_line_bytes,
        });
        let loc = crate::json::Location {
            source,
            source_base64: None,
            line: line_no,
            index: None,
        };
        self.reject(out, loc, &inv, prefix, true);
    }

    #[cold]
    fn reject(
        &self,
        out: &mut ChunkOutput,
        loc: crate::json::Location<'_>,
        inv: &Invalid,
        raw: &[u8],
        truncated: bool,
    ) {
        out.counts.rejected += 1;
        let reason = inv.to_string();
        if self.opts.keep_reject_records {
            let raw = if truncated { utf8_prefix(raw) } else { raw };
            let loc = crate::json::Location {
                source_base64: out.source_base64.as_deref(),
                ..loc
            };
            crate::json::write_reject_record(&mut out.rejects, loc, &reason, raw, truncated);
        }
        let class = inv.class();
        match out.by_reason.iter_mut().find(|(c, _)| *c == class) {
            Some((_, n)) => *n += 1,
            None => out.by_reason.push((class, 1)),
        }
        if out.notes.len() < self.opts.reject_notes {
            out.notes.push(RejectNote {
                line: loc.line,
                index: loc.index,
                reason,
            });
        }
    }

    /// Counts a valid event by type and, with `lint`, checks it.
    fn observe(&self, sc: &Scratch, out: &mut ChunkOutput, line: u64, index: Option<usize>) {
        let c = &sc.captured;
        if c.event_type().is_some() || c.category().is_some() {
            out.by_type.add(c.category(), c.event_type());
        }
        if self.opts.lint {
            crate::lint::check(c, line, index, &mut out.warnings);
        }
    }

    /// Parses one event (or, at the top of a line, an envelope) into `sc.arena`.
    fn event<'de>(
        &self,
        text: &'de str,
        sc: &mut Scratch,
        envelope_ok: bool,
    ) -> Result<Outcome<'de>, Invalid> {
        sc.reset();
        sc.nanos_range = self.opts.nanos_range;
        sc.deep = self.opts.deep_indicators;
        sc.roles = self.roles;
        let mut de = serde_json::Deserializer::from_str(text);
        let seed = RootSeed {
            plan: &self.plan,
            sc: &mut *sc,
            envelope_ok,
        };
        let r = seed.deserialize(&mut de).and_then(|o| de.end().map(|_| o));
        r.map_err(|e| sc.error.take().unwrap_or_else(|| syntax_error(&e)))
    }

    /// Appends the event plus its `p_*` fields to the output. The top-level
    /// fields are still pieces of `sc.arena` (see [`object_body`]): they are
    /// copied here once, in schema order, straight into the output.
    fn emit(&self, sc: &mut Scratch, out: &mut ChunkOutput, source: &str) {
        let ev = &mut out.events;
        let start = ev.len();
        let pieces = &mut sc.pieces;
        if !in_field_order(pieces) {
            pieces.sort_unstable_by_key(|p| p.field);
        }
        for p in pieces.iter() {
            ev.extend_from_slice(&sc.arena[p.start as usize..p.end as usize]);
        }
        // Each piece is `,"column":value`; the first comma opens the object.
        // An event with no declared field is `{}`: no comma before `p_log_type`.
        let head = if pieces.is_empty() {
            ev.push(b'{');
            &self.head[1..]
        } else {
            ev[start] = b'{';
            &self.head[..]
        };
        match self.opts.row_id {
            RowIdMode::Content => {
                ev.push(b'}');
                let id = content_row_id(&ev[start..]);
                ev.pop();
                ev.extend_from_slice(head);
                write_hex(ev, &id);
            }
            RowIdMode::Sequential => {
                ev.extend_from_slice(head);
                out.row_id_slots.push(ev.len());
            }
        }
        ev.extend_from_slice(b"\",\"p_event_time\":\"");
        match sc.event_time {
            Some((_, t)) => t.write(ev),
            None => ev.extend_from_slice(&self.parse_time),
        }
        ev.extend_from_slice(&self.tail);
        if self.opts.source_label_from_path {
            ev.extend_from_slice(b",\"p_source_label\":");
            write_json_str(ev, source);
        }
        sc.indicators.write(ev);
        ev.extend_from_slice(b"}\n");
        out.counts.events += 1;
        out.counts.bytes_out += (ev.len() - start) as u64;
    }
}

/// Whether pieces are already in schema order (no two share a field).
#[inline]
fn in_field_order(pieces: &[Piece]) -> bool {
    pieces.windows(2).all(|w| w[0].field < w[1].field)
}

/// The longest prefix of `raw` that does not end inside a UTF-8 sequence.
fn utf8_prefix(raw: &[u8]) -> &[u8] {
    match std::str::from_utf8(raw) {
        Ok(_) => raw,
        Err(e) if e.error_len().is_none() => &raw[..e.valid_up_to()],
        Err(_) => raw,
    }
}

#[cold]
fn syntax_error(e: &serde_json::Error) -> Invalid {
    let full = e.to_string();
    let msg = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    Invalid::new(InvalidKind::Syntax {
        at: e.column().saturating_sub(1),
        msg,
    })
}

/// What a declared value turned out to be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// Absent or null.
    Null,
    /// Present but nothing written (an empty array).
    Empty,
    /// Written into the arena.
    Written,
}
