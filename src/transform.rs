//! The per-line transform: one input line in, one normalized event (or an
//! envelope's worth of them) or one reject out (SPEC §2–§5).
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

use crate::indicators::Collector;
use crate::output::{content_row_id, quote_value, write_hex, write_json_str};
use crate::schema::{FieldType, IntWidth, ObjectPlan, Plan, ValuePlan};
use crate::timestamp::{self, TimeFormat, Timestamp};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// How `p_row_id` is made (SPEC §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
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
}

/// Why a value or a line was rejected; displayed as the reject reason.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// Field path, innermost first (array indices as `[i]`).
    segs: Vec<String>,
    kind: InvalidKind,
}

#[derive(Debug, Clone)]
enum InvalidKind {
    Missing,
    Duplicate,
    Type { expected: &'static str, got: String },
    Timestamp { expected: &'static str, got: String },
    Escape(String),
    NotAnObject(&'static str),
    ApiError,
    Syntax { at: usize, msg: String },
    Utf8 { at: usize },
    TooLong { limit: usize },
}

impl Invalid {
    fn new(kind: InvalidKind) -> Invalid {
        Invalid {
            segs: Vec::new(),
            kind,
        }
    }

    fn path(&self, indices: bool) -> String {
        let mut p = String::new();
        for s in self.segs.iter().rev() {
            if s.starts_with('[') {
                p.push_str(if indices { s } else { "[]" });
            } else {
                if !p.is_empty() {
                    p.push('.');
                }
                p.push_str(s);
            }
        }
        p
    }

    /// The reason without the offending value: what `--stats` counts by.
    pub fn class(&self) -> String {
        let p = self.path(false);
        match &self.kind {
            InvalidKind::Missing => format!("missing required field {p}"),
            InvalidKind::Duplicate => format!("duplicate key {p}"),
            InvalidKind::Type { expected, .. } => format!("{p}: expected {expected}"),
            InvalidKind::Timestamp { .. } => format!("{p}: invalid timestamp"),
            InvalidKind::Escape(_) => format!("{p}: invalid string"),
            InvalidKind::NotAnObject(_) => "not a JSON object".into(),
            InvalidKind::ApiError => "API error object, not an event".into(),
            InvalidKind::Syntax { .. } => "invalid JSON".into(),
            InvalidKind::Utf8 { .. } => "invalid UTF-8".into(),
            InvalidKind::TooLong { limit } => format!("line longer than {limit} bytes"),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path(true);
        match &self.kind {
            InvalidKind::Missing => write!(f, "missing required field {p}"),
            InvalidKind::Duplicate => write!(f, "duplicate key {p}"),
            InvalidKind::Type { expected, got } => write!(f, "{p}: expected {expected}, got {got}"),
            InvalidKind::Timestamp { expected, got } => {
                write!(f, "{p}: expected {expected}, got {got}")
            }
            InvalidKind::Escape(e) => write!(f, "{p}: {e}"),
            InvalidKind::NotAnObject(got) => write!(
                f,
                "expected a JSON object (an event or an API response), got {got}"
            ),
            InvalidKind::ApiError => write!(f, "API error object, not an event"),
            InvalidKind::Syntax { at, msg } => write!(f, "invalid JSON at byte {at}: {msg}"),
            InvalidKind::Utf8 { at } => write!(f, "invalid UTF-8 at byte {at}"),
            InvalidKind::TooLong { limit } => write!(f, "line longer than {limit} bytes"),
        }
    }
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

/// Counters of one chunk (or a whole run, once merged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
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
}

impl ChunkOutput {
    pub fn clear(&mut self) {
        self.events.clear();
        self.row_id_slots.clear();
        self.rejects.clear();
        self.notes.clear();
        self.by_reason.clear();
        self.counts = Counts::default();
    }
}

/// The compiled schema plus the run's options: everything a worker needs.
pub struct Transformer<'p> {
    plan: &'p Plan,
    opts: &'p TransformOptions,
    /// `,"p_log_type":"…","p_row_id":"`
    head: Vec<u8>,
    /// `","p_parse_time":"…","p_schema_version":N` plus source id and label.
    tail: Vec<u8>,
    parse_time: Vec<u8>,
}

enum Outcome<'de> {
    Event,
    Envelope(&'de RawValue),
}

impl<'p> Transformer<'p> {
    pub fn new(plan: &'p Plan, opts: &'p TransformOptions) -> Transformer<'p> {
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
        }
    }

    pub fn options(&self) -> &TransformOptions {
        self.opts
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
        out.counts.lines += 1;
        if line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r')) {
            out.counts.blank += 1;
            return;
        }
        let at = |index| crate::output::Location {
            source,
            line: line_no,
            index,
        };
        if line.len() > self.opts.max_line_bytes {
            let inv = Invalid::new(InvalidKind::TooLong {
                limit: self.opts.max_line_bytes,
            });
            let cut = &line[..line.len().min(crate::output::TRUNCATED_RAW_BYTES)];
            return self.reject(out, at(None), &inv, cut, true);
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
            Ok(Outcome::Event) => self.emit(sc, out, source),
            Ok(Outcome::Envelope(events)) => {
                out.counts.envelopes += 1;
                // The array was validated when it was skipped; this cannot fail.
                let elems: Vec<&RawValue> = serde_json::from_str(events.get()).unwrap_or_default();
                out.counts.envelope_events += elems.len() as u64;
                for (i, elem) in elems.into_iter().enumerate() {
                    match self.event(elem.get(), sc, false) {
                        Ok(_) => self.emit(sc, out, source),
                        Err(inv) => {
                            self.reject(out, at(Some(i)), &inv, elem.get().as_bytes(), false)
                        }
                    }
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
        let loc = crate::output::Location {
            source,
            line: line_no,
            index: None,
        };
        self.reject(out, loc, &inv, prefix, true);
    }

    #[cold]
    fn reject(
        &self,
        out: &mut ChunkOutput,
        loc: crate::output::Location<'_>,
        inv: &Invalid,
        raw: &[u8],
        truncated: bool,
    ) {
        out.counts.rejected += 1;
        let reason = inv.to_string();
        if self.opts.keep_reject_records {
            let raw = if truncated { utf8_prefix(raw) } else { raw };
            crate::output::write_reject_record(&mut out.rejects, loc, &reason, raw, truncated);
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

    /// Parses one event (or, at the top of a line, an envelope) into `sc.arena`.
    fn event<'de>(
        &self,
        text: &'de str,
        sc: &mut Scratch,
        envelope_ok: bool,
    ) -> Result<Outcome<'de>, Invalid> {
        sc.reset();
        let mut de = serde_json::Deserializer::from_str(text);
        let seed = RootSeed {
            plan: self.plan,
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

// ---------------------------------------------------------------------------
// Keys

enum Key<'de> {
    Declared(usize),
    /// `.tag`/`_tag` where the object does not declare one.
    Tag,
    Other(Cow<'de, str>),
}

struct KeySeed<'p> {
    plan: &'p ObjectPlan,
    /// The field tried first (see [`ObjectPlan::lookup_from`]).
    hint: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, k: &'de str) -> Result<Key<'de>, E> {
        Ok(match self.plan.lookup_from(k, self.hint) {
            Some(i) => Key::Declared(i),
            None if k == ".tag" || k == "_tag" => Key::Tag,
            None => Key::Other(Cow::Borrowed(k)),
        })
    }
    fn visit_str<E: de::Error>(self, k: &str) -> Result<Key<'de>, E> {
        Ok(match self.plan.lookup_from(k, self.hint) {
            Some(i) => Key::Declared(i),
            None if k == ".tag" || k == "_tag" => Key::Tag,
            None => Key::Other(Cow::Owned(k.to_string())),
        })
    }
}

// ---------------------------------------------------------------------------
// Objects

/// Which special top-level keys an object level watches for.
#[derive(Clone, Copy)]
struct Level {
    root: bool,
    envelope_ok: bool,
    wire: bool,
}

enum Special<'de> {
    None,
    Envelope(&'de RawValue),
}

/// Fixed bitset over an object's declared fields.
#[derive(Default)]
struct Bits([u64; 4]);

impl Bits {
    #[inline]
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    #[inline]
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
}

/// Reads one object's keys from `map` and writes it, in schema order, at the end
/// of the arena. Shared by real JSON objects and inlined union members.
fn object_body<'de, A: MapAccess<'de>>(
    map: &mut A,
    plan: &ObjectPlan,
    sc: &mut Scratch,
    level: Level,
) -> Result<Special<'de>, A::Error> {
    let start = sc.arena.len();
    let base = sc.pieces.len();
    let mut seen = Bits::default();
    let mut present = Bits::default();
    let mut tag_piece: Option<usize> = None;
    let mut undeclared_tag: Option<&'de RawValue> = None;
    let mut deferred: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
    let mut envelope: Option<&'de RawValue> = None;
    let mut events_seen = false;
    let mut api_error = false;

    let mut hint = 0;
    while let Some(key) = map.next_key_seed(KeySeed { plan, hint })? {
        match key {
            Key::Declared(i) => {
                hint = i + 1;
                let f = &plan.fields[i];
                if seen.get(i) {
                    let e = sc.fail(InvalidKind::Duplicate);
                    return Err(sc.locate(e, f.column.as_str()));
                }
                seen.set(i);
                let piece_start = sc.arena.len();
                sc.arena.extend_from_slice(&f.key_prefix);
                let seed = ValueSeed {
                    v: &f.value,
                    sc: &mut *sc,
                    wire: level.wire,
                };
                let p = match map.next_value_seed(seed) {
                    Ok(p) => p,
                    Err(e) => return Err(sc.locate(e, f.column.as_str())),
                };
                if p == Presence::Written {
                    if Some(i) == plan.tag_field {
                        tag_piece = Some(sc.pieces.len());
                    }
                    sc.pieces.push(Piece {
                        field: i as u16,
                        start: piece_start as u32,
                        end: sc.arena.len() as u32,
                    });
                } else {
                    sc.arena.truncate(piece_start);
                }
                if p != Presence::Null {
                    present.set(i);
                }
            }
            Key::Tag => {
                if undeclared_tag.is_some() {
                    let e = sc.fail(InvalidKind::Duplicate);
                    return Err(sc.locate(e, "_tag"));
                }
                undeclared_tag = Some(map.next_value()?);
            }
            Key::Other(k) => {
                if level.root && level.envelope_ok && k == "events" {
                    // Two `events` members: whichever a reader kept, the
                    // other's events would vanish without a trace.
                    if events_seen {
                        let e = sc.fail(InvalidKind::Duplicate);
                        return Err(sc.locate(e, "events"));
                    }
                    events_seen = true;
                    let raw: &'de RawValue = map.next_value()?;
                    if raw.get().starts_with('[') {
                        envelope = Some(raw);
                    }
                } else if level.root && (k == "error_summary" || k == "error") {
                    api_error = true;
                    map.next_value::<IgnoredAny>()?;
                } else if level.wire && plan.has_object_fields {
                    deferred.push((k, map.next_value()?));
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
    }

    if let Some(raw) = envelope {
        sc.arena.truncate(start);
        sc.pieces.truncate(base);
        return Ok(Special::Envelope(raw));
    }
    if api_error {
        return Err(sc.fail(InvalidKind::ApiError));
    }

    // Inlined union member (SPEC §3): the tag names a declared object field that
    // is absent, so the undeclared keys are that member's fields.
    if !deferred.is_empty() {
        let member = {
            let tag: Option<&str> = match (tag_piece, undeclared_tag) {
                (Some(p), _) => {
                    let pc = sc.pieces[p];
                    let f = &plan.fields[pc.field as usize];
                    let v = &sc.arena[pc.start as usize + f.key_prefix.len()..pc.end as usize];
                    std::str::from_utf8(v).ok().and_then(unquote)
                }
                (None, Some(raw)) => unquote(raw.get()),
                (None, None) => None,
            };
            tag.and_then(|t| plan.lookup(t)).filter(|&j| {
                !seen.get(j) && matches!(plan.fields[j].value.ty, FieldType::Object(_))
            })
        };
        if let Some(j) = member {
            let f = &plan.fields[j];
            let FieldType::Object(member_plan) = &f.value.ty else {
                unreachable!("filtered above")
            };
            let piece_start = sc.arena.len();
            sc.arena.extend_from_slice(&f.key_prefix);
            let mut pairs = DeferredMap {
                items: deferred.into_iter(),
                value: None,
            };
            let inner = Level {
                root: false,
                envelope_ok: false,
                wire: level.wire,
            };
            if let Err(e) = object_body(&mut pairs, member_plan, sc, inner) {
                let e = de::Error::custom(e);
                return Err(sc.locate(e, f.column.as_str()));
            }
            sc.pieces.push(Piece {
                field: j as u16,
                start: piece_start as u32,
                end: sc.arena.len() as u32,
            });
            present.set(j);
        }
    }

    for (i, f) in plan.fields.iter().enumerate() {
        if f.required && !present.get(i) {
            let e = sc.fail(InvalidKind::Missing);
            return Err(sc.locate(e, f.column.as_str()));
        }
    }
    // The top level stays in pieces: `emit` orders them as it copies them
    // out, which saves moving the whole event around in the arena.
    if !level.root {
        finish_object(sc, start, base);
    }
    Ok(Special::None)
}

/// Turns the pieces written since `base` into `{...}` in schema order at `start`.
fn finish_object(sc: &mut Scratch, start: usize, base: usize) {
    let pieces = &mut sc.pieces[base..];
    if pieces.is_empty() {
        sc.arena.truncate(start);
        sc.arena.extend_from_slice(b"{}");
        return;
    }
    if !in_field_order(pieces) {
        pieces.sort_unstable_by_key(|p| p.field);
        sc.tmp.clear();
        for p in pieces.iter() {
            sc.tmp
                .extend_from_slice(&sc.arena[p.start as usize..p.end as usize]);
        }
        sc.arena.truncate(start);
        sc.arena.extend_from_slice(&sc.tmp);
    }
    sc.arena[start] = b'{';
    sc.arena.push(b'}');
    sc.pieces.truncate(base);
}

/// The content of a JSON string literal without escapes, else `None`.
fn unquote(s: &str) -> Option<&str> {
    s.strip_prefix('"')?
        .strip_suffix('"')
        .filter(|c| !c.contains('\\'))
}

/// The undeclared keys of an object, replayed as the fields of an inlined
/// union member: a `MapAccess` over pairs already split out of the line.
struct DeferredMap<'de> {
    items: std::vec::IntoIter<(Cow<'de, str>, &'de RawValue)>,
    value: Option<&'de RawValue>,
}

impl<'de> MapAccess<'de> for DeferredMap<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, serde_json::Error> {
        let Some((k, v)) = self.items.next() else {
            return Ok(None);
        };
        self.value = Some(v);
        match k {
            Cow::Borrowed(b) => seed
                .deserialize(de::value::BorrowedStrDeserializer::new(b))
                .map(Some),
            Cow::Owned(o) => seed
                .deserialize(de::value::StringDeserializer::new(o))
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, serde_json::Error> {
        let raw = self
            .value
            .take()
            .expect("serde asks for a key before its value");
        seed.deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
    }
}

// ---------------------------------------------------------------------------
// The top of a line

struct RootSeed<'p, 's> {
    plan: &'p Plan,
    sc: &'s mut Scratch,
    envelope_ok: bool,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_, '_> {
    type Value = Outcome<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Outcome<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_, '_> {
    type Value = Outcome<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outcome<'de>, A::Error> {
        let level = Level {
            root: true,
            envelope_ok: self.envelope_ok,
            wire: self.plan.dropbox_wire,
        };
        match object_body(&mut map, &self.plan.root, self.sc, level)? {
            Special::None => Ok(Outcome::Event),
            Special::Envelope(raw) => Ok(Outcome::Envelope(raw)),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Outcome<'de>, A::Error> {
        Err(self.sc.fail(InvalidKind::NotAnObject("array")))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Outcome<'de>, E> {
        Err(self.sc.fail(InvalidKind::NotAnObject("string")))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Outcome<'de>, E> {
        Err(self.sc.fail(InvalidKind::NotAnObject("boolean")))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Outcome<'de>, E> {
        Err(self.sc.fail(InvalidKind::NotAnObject("number")))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Outcome<'de>, E> {
        Err(self.sc.fail(InvalidKind::NotAnObject("number")))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Outcome<'de>, E> {
        Err(self.sc.fail(InvalidKind::NotAnObject("number")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Outcome<'de>, E> {
        Err(self.sc.fail(InvalidKind::NotAnObject("null")))
    }
}

// ---------------------------------------------------------------------------
// Declared values

struct ValueSeed<'p, 's> {
    v: &'p ValuePlan,
    sc: &'s mut Scratch,
    wire: bool,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Presence;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Presence, D::Error> {
        match &self.v.ty {
            FieldType::Object(_) | FieldType::Array(_) => d.deserialize_any(self),
            _ => {
                let raw: &'de RawValue = de::Deserialize::deserialize(d)?;
                scalar(raw.get(), self.v, self.sc)
            }
        }
    }
}

/// The JSON type of a raw value, for error messages.
fn type_name(raw: &str) -> String {
    match raw.as_bytes().first() {
        Some(b'{') => "object".into(),
        Some(b'[') => "array".into(),
        Some(b'"') => "string".into(),
        _ => quote_value(raw).trim_matches('"').to_string(),
    }
}

#[cold]
fn type_error<E: de::Error>(sc: &mut Scratch, expected: &'static str, got: String) -> E {
    sc.fail(InvalidKind::Type { expected, got })
}

/// Whether `b` holds a `\\`. Most strings are short (names, ids, tags), where
/// memchr's setup costs more than this word-at-a-time scan.
#[inline]
fn has_backslash(b: &[u8]) -> bool {
    if b.len() >= 64 {
        return memchr::memchr(b'\\', b).is_some();
    }
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const SLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_ne_bytes(w.try_into().expect("8 bytes")) ^ SLASHES;
        // A zero byte in `x` is a backslash in `w`.
        if x.wrapping_sub(ONES) & !x & HIGH != 0 {
            return true;
        }
    }
    words.remainder().contains(&b'\\')
}

/// Decodes a JSON string literal; borrowed when it has no escapes.
fn string_content<'a, E: de::Error>(raw: &'a str, sc: &mut Scratch) -> Result<Cow<'a, str>, E> {
    let inner = &raw[1..raw.len() - 1];
    if !has_backslash(inner.as_bytes()) {
        return Ok(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw)
        .map(Cow::Owned)
        .map_err(|e| {
            let msg = e.to_string();
            // The literal's syntax was checked when it was read, so a failing
            // `\u` escape here is a UTF-16 surrogate without its partner
            // (`\ud800`, `\udc00\ud800`), which serde_json calls an
            // "unexpected end of hex escape" when a quote follows it.
            let msg = if msg.contains("hex escape") {
                "unpaired UTF-16 surrogate in a \\u escape (not Unicode text)".to_string()
            } else {
                msg.split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string()
            };
            sc.fail(InvalidKind::Escape(msg))
        })
}

/// Checks and writes a scalar (`string`, `boolean`, numbers, `timestamp`, `json`).
fn scalar<E: de::Error>(raw: &str, v: &ValuePlan, sc: &mut Scratch) -> Result<Presence, E> {
    let first = raw.as_bytes()[0];
    if first == b'n' {
        return Ok(Presence::Null);
    }
    match &v.ty {
        FieldType::Json => sc.arena.extend_from_slice(raw.as_bytes()),
        FieldType::String => match first {
            b'"' => {
                let s = string_content(raw, sc)?;
                match &s {
                    Cow::Borrowed(_) => sc.arena.extend_from_slice(raw.as_bytes()),
                    Cow::Owned(o) => write_json_str(&mut sc.arena, o),
                }
                if !v.indicators.is_empty() {
                    match &s {
                        Cow::Borrowed(b) => sc.indicators.add_verbatim(&v.indicators, b),
                        Cow::Owned(o) => sc.indicators.add(&v.indicators, o),
                    }
                }
            }
            b'{' | b'[' => return Err(type_error(sc, "string", type_name(raw))),
            _ => {
                // A number or boolean keeps its literal text (`1.50` stays "1.50").
                sc.arena.push(b'"');
                sc.arena.extend_from_slice(raw.as_bytes());
                sc.arena.push(b'"');
                if !v.indicators.is_empty() {
                    sc.indicators.add_verbatim(&v.indicators, raw);
                }
            }
        },
        FieldType::Boolean => {
            let text = if first == b'"' {
                string_content(raw, sc)?
            } else {
                Cow::Borrowed(raw)
            };
            let b = match &*text {
                "true" | "1" | "t" | "T" | "TRUE" | "True" => true,
                "false" | "0" | "f" | "F" | "FALSE" | "False" => false,
                _ => return Err(type_error(sc, "boolean", type_name(raw))),
            };
            sc.arena
                .extend_from_slice(if b { b"true" } else { b"false" });
        }
        FieldType::Int(width) => {
            let text = if first == b'"' {
                string_content(raw, sc)?
            } else {
                Cow::Borrowed(raw)
            };
            let n: Option<i64> = text.parse().ok().filter(|n| match width {
                IntWidth::I16 => i16::try_from(*n).is_ok(),
                IntWidth::I32 => i32::try_from(*n).is_ok(),
                IntWidth::I64 => true,
            });
            let Some(n) = n.filter(|_| !text.starts_with('+')) else {
                return Err(type_error(sc, "integer", type_name(raw)));
            };
            let s = n.to_string();
            sc.arena.extend_from_slice(s.as_bytes());
            if !v.indicators.is_empty() {
                sc.indicators.add_verbatim(&v.indicators, &s);
            }
        }
        FieldType::Float => {
            if first == b'"' {
                let text = string_content(raw, sc)?;
                match serde_json::from_str::<serde_json::Number>(&text) {
                    Ok(n) if n.as_f64().is_some_and(f64::is_finite) => {
                        sc.arena.extend_from_slice(text.as_bytes())
                    }
                    _ => return Err(type_error(sc, "number", type_name(raw))),
                }
            } else if first == b'-' || first.is_ascii_digit() {
                sc.arena.extend_from_slice(raw.as_bytes());
            } else {
                return Err(type_error(sc, "number", type_name(raw)));
            }
        }
        FieldType::Timestamp(format) => {
            let ts = match format {
                TimeFormat::Rfc3339 => {
                    const LIKE: &str = "RFC 3339 like 2017-01-25T15:51:30Z";
                    if first != b'"' {
                        return Err(sc.fail(InvalidKind::Timestamp {
                            expected: LIKE,
                            got: type_name(raw),
                        }));
                    }
                    let text = string_content(raw, sc)?;
                    match timestamp::parse_rfc3339(&text) {
                        Some(t) => t,
                        None => {
                            return Err(sc.fail(InvalidKind::Timestamp {
                                expected: LIKE,
                                got: quote_value(&text),
                            }))
                        }
                    }
                }
                unix => {
                    let text = if first == b'"' {
                        string_content(raw, sc)?
                    } else {
                        Cow::Borrowed(raw)
                    };
                    match timestamp::parse_unix(&text, *unix) {
                        Some(t) => t,
                        None => {
                            return Err(sc.fail(InvalidKind::Timestamp {
                                expected: "a number of seconds since 1970",
                                got: quote_value(&text),
                            }))
                        }
                    }
                }
            };
            sc.arena.push(b'"');
            ts.write(&mut sc.arena);
            sc.arena.push(b'"');
            if let Some(rank) = v.event_time_rank {
                if sc.event_time.is_none_or(|(r, _)| rank < r) {
                    sc.event_time = Some((rank, ts));
                }
            }
        }
        FieldType::Object(_) | FieldType::Array(_) => unreachable!("handled by ValueSeed"),
    }
    Ok(Presence::Written)
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Presence;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a declared value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Presence, A::Error> {
        let FieldType::Object(plan) = &self.v.ty else {
            return Err(type_error(self.sc, "array", "object".into()));
        };
        let level = Level {
            root: false,
            envelope_ok: false,
            wire: self.wire,
        };
        object_body(&mut map, plan, self.sc, level)?;
        Ok(Presence::Written)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Presence, A::Error> {
        let FieldType::Array(elem) = &self.v.ty else {
            return Err(type_error(self.sc, "object", "array".into()));
        };
        let sc = self.sc;
        let start = sc.arena.len();
        sc.arena.push(b'[');
        let mut n = 0usize;
        let mut i = 0usize;
        loop {
            let at = sc.arena.len();
            if n > 0 {
                sc.arena.push(b',');
            }
            let seed = ValueSeed {
                v: elem,
                sc: &mut *sc,
                wire: self.wire,
            };
            match seq.next_element_seed(seed) {
                Ok(None) => {
                    sc.arena.truncate(at);
                    break;
                }
                Ok(Some(Presence::Written)) => n += 1,
                Ok(Some(_)) => sc.arena.truncate(at),
                Err(e) => return Err(sc.locate(e, format!("[{i}]"))),
            }
            i += 1;
        }
        if n == 0 {
            sc.arena.truncate(start);
            return Ok(Presence::Empty);
        }
        sc.arena.push(b']');
        Ok(Presence::Written)
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Presence, E> {
        self.visit_str(s)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Presence, E> {
        // Stone's compact union: "logins" means {".tag": "logins"}.
        if let FieldType::Object(plan) = &self.v.ty {
            if plan.compact_union && self.wire {
                let f = &plan.fields[plan.tag_field.expect("compact unions have a tag")];
                let start = self.sc.arena.len();
                self.sc.arena.extend_from_slice(&f.key_prefix);
                write_json_str(&mut self.sc.arena, s);
                if !f.value.indicators.is_empty() {
                    self.sc.indicators.add(&f.value.indicators, s);
                }
                self.sc.arena[start] = b'{';
                self.sc.arena.push(b'}');
                return Ok(Presence::Written);
            }
        }
        Err(self.mismatch("string".into()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Presence, E> {
        Ok(Presence::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Presence, E> {
        Err(self.mismatch(b.to_string()))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Presence, E> {
        Err(self.mismatch(n.to_string()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Presence, E> {
        Err(self.mismatch(n.to_string()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Presence, E> {
        Err(self.mismatch(n.to_string()))
    }
}

impl ValueSeed<'_, '_> {
    #[cold]
    fn mismatch<E: de::Error>(self, got: String) -> E {
        let expected = match self.v.ty {
            FieldType::Array(_) => "array",
            _ => "object",
        };
        type_error(self.sc, expected, got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_backslash_finds_it_at_every_position_and_length() {
        for len in 0..80 {
            let mut b = vec![b'a'; len];
            assert!(!has_backslash(&b), "len {len}");
            for i in 0..len {
                b[i] = b'\\';
                assert!(has_backslash(&b), "len {len} at {i}");
                // Bytes that differ from `\` in one bit are not backslashes.
                b[i] = b'\\' ^ 0x80;
                assert!(!has_backslash(&b), "len {len} near-miss at {i}");
                b[i] = b'a';
            }
        }
    }
}
