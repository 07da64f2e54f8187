//! A fast JSON reader for the lines teamlog sees most, tried before serde_json.
//!
//! The transform drives it through the same serde `DeserializeSeed`s as
//! serde_json. It accepts a strict subset of what serde_json accepts, and
//! declines everything else: numbers and booleans where a structure is
//! expected, escapes in keys and in the few strings it hands out decoded, and
//! anything malformed. A declined line is read again by serde_json, which thus
//! keeps the last word on what is valid and on how a reject is worded
//! (SPEC §6); this reader only has to be right about what it accepts.
//!
//! Why: serde_json's generic machinery (raw-value buffering, a state check per
//! key, error positions) cost about as much as the scanning itself on ~1 KB
//! events (callgrind, issue 3). Strings are scanned 8 bytes at a time like
//! serde_json does, and raw values are slices of the line, never copied.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The newtype name under which [`Reader`] hands out a value's exact text
/// (see `RawSeed` in the transform); serde_json has its own for `RawValue`.
pub const RAW_TOKEN: &str = "$teamlog::fast_json::Raw";

/// Nesting this reader follows before it declines (serde_json stops at 128).
const MAX_DEPTH: usize = 100;

/// The only error: "not this reader's to judge; ask serde_json".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declined;

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("declined by the fast reader")
    }
}

impl std::error::Error for Declined {}

impl de::Error for Declined {
    #[cold]
    fn custom<T: fmt::Display>(_: T) -> Declined {
        Declined
    }
}

/// Reads one JSON text from a `&str` (so it is valid UTF-8 already).
pub struct Reader<'de> {
    text: &'de str,
    at: usize,
    depth: usize,
}

impl<'de> Reader<'de> {
    pub fn new(text: &'de str) -> Reader<'de> {
        Reader {
            text,
            at: 0,
            depth: 0,
        }
    }

    /// Only white space may follow the value.
    pub fn end(&mut self) -> Result<(), Declined> {
        self.ws();
        if self.at == self.text.len() {
            Ok(())
        } else {
            Err(Declined)
        }
    }

    #[inline]
    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    /// Skips JSON white space (the four characters serde_json skips).
    #[inline(always)]
    fn ws(&mut self) {
        let b = self.bytes();
        while let Some(&c) = b.get(self.at) {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                break;
            }
            self.at += 1;
        }
    }

    /// At an opening quote: steps past the string and returns its content
    /// and whether it has escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<(&'de str, bool), Declined> {
        let start = self.at + 1;
        let (end, escaped) = string_end(self.bytes(), start)?;
        self.at = end + 1;
        // Quotes are ASCII, so both ends are character boundaries.
        Ok((&self.text[start..end], escaped))
    }

    /// At a quote: a string without escapes, else declined.
    #[inline]
    fn plain_string(&mut self) -> Result<&'de str, Declined> {
        match self.string()? {
            (s, false) => Ok(s),
            _ => Err(Declined),
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Result<(), Declined> {
        if self.bytes()[self.at..].starts_with(lit) {
            self.at += lit.len();
            Ok(())
        } else {
            Err(Declined)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as serde_json reads it.
    fn number(&mut self) -> Result<(), Declined> {
        let b = self.bytes();
        let mut i = self.at;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    return Err(Declined);
                }
            }
            Some(b'1'..=b'9') => i = digits(i + 1),
            _ => return Err(Declined),
        }
        if b.get(i) == Some(&b'.') {
            let from = i + 1;
            i = digits(from);
            if i == from {
                return Err(Declined);
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let from = i;
            i = digits(from);
            if i == from {
                return Err(Declined);
            }
        }
        self.at = i;
        Ok(())
    }

    /// Steps over one value (after white space), checking its syntax.
    fn skip_value(&mut self, depth: usize) -> Result<(), Declined> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(Declined);
                }
                self.at += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    if self.peek() != Some(b'"') {
                        return Err(Declined);
                    }
                    self.string()?;
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(Declined);
                    }
                    self.at += 1;
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.at += 1;
                            self.ws();
                        }
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return Err(Declined),
                    }
                }
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(Declined);
                }
                self.at += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.at += 1;
                            self.ws();
                        }
                        Some(b']') => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return Err(Declined),
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Declined),
        }
    }

    /// Enters an object or array, within the depth limit.
    fn enter(&mut self) -> Result<(), Declined> {
        if self.depth >= MAX_DEPTH {
            return Err(Declined);
        }
        self.depth += 1;
        self.at += 1;
        Ok(())
    }
}

/// From just after an opening quote: the index of the closing quote, and
/// whether escapes came before it. Declines a control character, an end of
/// input, and an escape that serde_json's skipping would refuse (it checks
/// the escape letter and four hex digits, as this does).
#[inline(always)]
fn string_end(b: &[u8], mut i: usize) -> Result<(usize, bool), Declined> {
    let mut escaped = false;
    loop {
        i += plain_run(&b[i..]);
        match b.get(i) {
            Some(b'"') => return Ok((i, escaped)),
            Some(b'\\') => {
                escaped = true;
                match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') => {
                        let hex = b.get(i + 2..i + 6).ok_or(Declined)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(Declined);
                        }
                        i += 6;
                    }
                    _ => return Err(Declined),
                }
            }
            _ => return Err(Declined),
        }
    }
}

/// How many leading bytes of `b` are neither `"`, `\` nor a control
/// character: 8 at a time (Mycroft's zero-byte test, as serde_json does).
#[inline(always)]
fn plain_run(b: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut n = 0;
    for w in b.chunks_exact(8) {
        let x = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        let quote = x ^ (ONES * u64::from(b'"'));
        let slash = x ^ (ONES * u64::from(b'\\'));
        let hits = (x.wrapping_sub(ONES * 0x20) & !x)
            | (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash);
        let hits = hits & HIGH;
        if hits != 0 {
            // Little-endian: the lowest set bit marks the first special byte.
            // (A borrow can only set bits above a real hit, never below.)
            return n + hits.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + b[n..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .unwrap_or(b.len() - n)
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Declined;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Declined> {
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.enter()?;
                let mut map = Map {
                    r: &mut *self,
                    first: true,
                    done: false,
                };
                let value = v.visit_map(&mut map)?;
                // A visitor that stopped early leaves the rest unchecked.
                if !map.done {
                    return Err(Declined);
                }
                self.depth -= 1;
                Ok(value)
            }
            Some(b'[') => {
                self.enter()?;
                let mut seq = Seq {
                    r: &mut *self,
                    first: true,
                    done: false,
                };
                let value = v.visit_seq(&mut seq)?;
                if !seq.done {
                    return Err(Declined);
                }
                self.depth -= 1;
                Ok(value)
            }
            Some(b'"') => v.visit_borrowed_str(self.plain_string()?),
            Some(b'n') => {
                self.literal(b"null")?;
                v.visit_unit()
            }
            // Numbers and booleans only ever reach a visitor that rejects
            // them: serde_json words those rejects.
            _ => Err(Declined),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Declined> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(Declined);
        }
        v.visit_borrowed_str(self.plain_string()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Declined> {
        self.deserialize_str(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Declined> {
        if name != RAW_TOKEN {
            return Err(Declined);
        }
        self.ws();
        let start = self.at;
        self.skip_value(self.depth)?;
        // Values start and end on ASCII, so these are character boundaries.
        v.visit_borrowed_str(&self.text[start..self.at])
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Declined> {
        self.ws();
        self.skip_value(self.depth)?;
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        option unit unit_struct seq tuple tuple_struct map struct enum identifier
    }
}

struct Map<'a, 'de> {
    r: &'a mut Reader<'de>,
    first: bool,
    done: bool,
}

impl<'de> MapAccess<'de> for Map<'_, 'de> {
    type Error = Declined;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Declined> {
        if self.done {
            return Ok(None);
        }
        let r = &mut *self.r;
        r.ws();
        match (self.first, r.peek()) {
            (_, Some(b'}')) => {
                // `{}`, or the end after a value (`,}` is declined below).
                r.at += 1;
                self.done = true;
                return Ok(None);
            }
            (false, Some(b',')) => {
                r.at += 1;
                r.ws();
            }
            (true, _) => {}
            _ => return Err(Declined),
        }
        self.first = false;
        if r.peek() != Some(b'"') {
            return Err(Declined);
        }
        seed.deserialize(&mut *r).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Declined> {
        let r = &mut *self.r;
        r.ws();
        if r.peek() != Some(b':') {
            return Err(Declined);
        }
        r.at += 1;
        seed.deserialize(&mut *r)
    }
}

struct Seq<'a, 'de> {
    r: &'a mut Reader<'de>,
    first: bool,
    done: bool,
}

impl<'de> SeqAccess<'de> for Seq<'_, 'de> {
    type Error = Declined;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Declined> {
        if self.done {
            return Ok(None);
        }
        let r = &mut *self.r;
        r.ws();
        match (self.first, r.peek()) {
            (_, Some(b']')) => {
                r.at += 1;
                self.done = true;
                return Ok(None);
            }
            (false, Some(b',')) => r.at += 1,
            (true, _) => {}
            _ => return Err(Declined),
        }
        self.first = false;
        seed.deserialize(&mut *r).map(Some)
    }
}
