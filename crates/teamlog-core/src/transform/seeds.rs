//! The serde seeds that walk one line against the plan: keys, objects (with
//! the Dropbox wire adapters and the envelope), the root, and declared values.
//! Nothing is built: declared values are written straight into the scratch
//! arena; undeclared ones are skipped.

use super::*;

// ---------------------------------------------------------------------------
// Keys

pub(super) enum Key<'de> {
    Declared(usize),
    /// `.tag`/`_tag` where the object does not declare one.
    Tag,
    Other(Cow<'de, str>),
}

pub(super) struct KeySeed<'p> {
    pub(super) plan: &'p ObjectPlan,
    /// The field tried first (see [`ObjectPlan::lookup_from`]).
    pub(super) hint: usize,
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
pub(super) struct Level {
    pub(super) root: bool,
    pub(super) envelope_ok: bool,
    pub(super) wire: bool,
}

pub(super) enum Special<'de> {
    None,
    Envelope(&'de RawValue),
}

/// Fixed bitset over an object's declared fields.
#[derive(Default)]
pub(super) struct Bits([u64; 4]);

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
pub(super) fn object_body<'de, A: MapAccess<'de>>(
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
    // At the top of a line: an undeclared key that no API envelope has (the
    // declared ones are in `seen`), which with an `events` array makes the
    // object ambiguous.
    let mut other_keys = false;

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
                    continue;
                }
                other_keys |= level.root && k != "cursor" && k != "has_more";
                if level.root && (k == "error_summary" || k == "error") {
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
        // An envelope has no keys but `events`, `cursor` and `has_more`.
        let event_field = (0..plan.fields.len())
            .any(|i| seen.get(i) && !matches!(plan.fields[i].name.as_str(), "cursor" | "has_more"));
        if other_keys || undeclared_tag.is_some() || event_field {
            return Err(sc.fail(InvalidKind::AmbiguousEnvelope));
        }
        sc.arena.truncate(start);
        sc.pieces.truncate(base);
        return Ok(Special::Envelope(raw));
    }
    if api_error {
        return Err(sc.fail(InvalidKind::ApiError));
    }

    // Inlined union member (docs/CONTRACT.md §3): the tag names a declared object field that
    // is absent, so the undeclared keys are that member's fields.
    if !deferred.is_empty() {
        let member = {
            let tag: Option<Cow<'_, str>> = match (tag_piece, undeclared_tag) {
                (Some(p), _) => {
                    let pc = sc.pieces[p];
                    let f = &plan.fields[pc.field as usize];
                    let v = &sc.arena[pc.start as usize + f.key_prefix.len()..pc.end as usize];
                    std::str::from_utf8(v).ok().and_then(tag_text)
                }
                (None, Some(raw)) => tag_text(raw.get()),
                (None, None) => None,
            };
            tag.and_then(|t| plan.lookup(&t)).filter(|&j| {
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
pub(super) fn finish_object(sc: &mut Scratch, start: usize, base: usize) {
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

/// A tag's value: the content of a JSON string literal, unescaped (so
/// `"gr\u006fup"` names `group` as `"group"` does), else `None`.
pub(super) fn tag_text(s: &str) -> Option<Cow<'_, str>> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    if !has_backslash(inner.as_bytes()) {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(s).ok().map(Cow::Owned)
}

/// The undeclared keys of an object, replayed as the fields of an inlined
/// union member: a `MapAccess` over pairs already split out of the line.
pub(super) struct DeferredMap<'de> {
    pub(super) items: std::vec::IntoIter<(Cow<'de, str>, &'de RawValue)>,
    pub(super) value: Option<&'de RawValue>,
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

pub(super) struct RootSeed<'p, 's> {
    pub(super) plan: &'p Plan,
    pub(super) sc: &'s mut Scratch,
    pub(super) envelope_ok: bool,
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

pub(super) struct ValueSeed<'p, 's> {
    pub(super) v: &'p ValuePlan,
    pub(super) sc: &'s mut Scratch,
    pub(super) wire: bool,
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
        if self.v.embedded_json {
            return self.embedded(s);
        }
        // Stone's compact union: "logins" means {".tag": "logins"}.
        if let FieldType::Object(plan) = &self.v.ty {
            if plan.compact_union && self.wire {
                let f = &plan.fields[plan.tag_field.expect("compact unions have a tag")];
                if let Some(rule) = &f.value.validate {
                    validate(rule, s, self.sc)?;
                }
                let start = self.sc.arena.len();
                self.sc.arena.extend_from_slice(&f.key_prefix);
                write_json_str(&mut self.sc.arena, s);
                if !f.value.indicators.is_empty() {
                    self.sc.indicators.add(&f.value.indicators, s);
                }
                self.sc.capture(&f.value, s);
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
    /// An `isEmbeddedJSON` object or array given as a string: the string is
    /// read as JSON against the same plan. It must hold an object or array
    /// (not another string), so a value is unwrapped once, never in a loop.
    #[cold]
    fn embedded<E: de::Error>(self, s: &str) -> Result<Presence, E> {
        let expected = match self.v.ty {
            FieldType::Array(_) => "array",
            _ => "object",
        };
        let opens = match self.v.ty {
            FieldType::Array(_) => b'[',
            _ => b'{',
        };
        let first = s
            .bytes()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if first != Some(opens) {
            let got = format!("a string holding {}", type_name(s.trim_start()));
            return Err(type_error(self.sc, expected, got));
        }
        let sc = self.sc;
        let mut de = serde_json::Deserializer::from_str(s);
        let seed = ValueSeed {
            v: self.v,
            sc: &mut *sc,
            wire: self.wire,
        };
        match seed.deserialize(&mut de).and_then(|p| de.end().map(|()| p)) {
            Ok(p) => Ok(p),
            // A reason of ours (a field inside failed) travels on as it is.
            Err(e) if sc.error.is_some() => Err(E::custom(e)),
            Err(e) => Err(embedded_error(&e, sc)),
        }
    }

    #[cold]
    fn mismatch<E: de::Error>(self, got: String) -> E {
        let expected = match self.v.ty {
            FieldType::Array(_) => "array",
            _ => "object",
        };
        type_error(self.sc, expected, got)
    }
}
