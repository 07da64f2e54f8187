//! Deep indicators (`--deep-indicators`): indicator values found inside the
//! event's `json` fields (Dropbox's `details`, `assets`, `origin.access_method`,
//! or any schema's `json` fields), which Panther never looks into.
//!
//! This module owns the rules (the [`RULES`] table and the username rule) and
//! the scanner that applies them to the field's raw slice, which serde_json
//! has already validated while it skipped it (no DOM, no second parse).
//!
//! Most fields are read at their anchors only (`anchored`): the bytes
//! where a rule can match (an `@`, a `.` or `:` of an address, an escape of
//! white space), found 16 bytes at a time, and the string literal around
//! each. A field that may hold a username (a `"display_name"` key and an
//! identity key), or that spells a letter, digit or `_` with a `\u` escape, is
//! read by the full walk (`walk`) from string literal to string literal,
//! tracking object keys. Values go to the event's indicator [`Collector`],
//! so they are trimmed, sorted and deduplicated together with the declared
//! ones.
//!
//! The walk also yields the field's own top-level `.tag` (what `--lint`
//! compares `details` against), see [`top_tag`].

use crate::indicators::{trim, Collector, IndicatorKind};

/// One rule for string values found inside a `json` field: a value (trimmed)
/// that passes `shape` is added as `kind`, which then applies its own check
/// as for a declared field of that kind.
pub struct Rule {
    /// The rule's name, as documented.
    pub name: &'static str,
    pub kind: IndicatorKind,
    /// What the shape check accepts, in words (for documentation).
    pub shape_text: &'static str,
    pub shape: fn(&str) -> bool,
}

/// The rules for string values, in the order they are tried; a value may
/// match several.
pub const RULES: &[Rule] = &[
    Rule {
        name: "email",
        kind: IndicatorKind::Email,
        shape_text: "exactly one `@`; a non-empty local part without white space; \
                     a domain of at least two non-empty dot-separated labels",
        shape: is_email,
    },
    Rule {
        name: "ip",
        kind: IndicatorKind::Ip,
        shape_text: "parses as an IPv4 or IPv6 address (as the declared `ip` kind)",
        shape: maybe_ip,
    },
];

/// The username rule: the `display_name` string of an object that also holds
/// a non-null value under one of [`IDENTITY_KEYS`].
pub const USERNAME_KEY: &str = "display_name";
/// Keys whose non-null presence makes an object's `display_name` a username.
pub const IDENTITY_KEYS: &[&str] = &["account_id", "email", "team_member_id"];

/// The email shape: exactly one `@`, a non-empty local part without white
/// space, a domain of at least two non-empty labels separated by dots.
pub fn is_email(v: &str) -> bool {
    let b = v.as_bytes();
    let Some(at) = memchr::memchr(b'@', b) else {
        return false;
    };
    let (local, domain) = (&v[..at], &b[at + 1..]);
    !local.is_empty()
        && !local.chars().any(char::is_whitespace)
        && !domain.contains(&b'@')
        && domain.contains(&b'.')
        && domain.split(|&c| c == b'.').all(|l| !l.is_empty())
}

/// A cheap filter before the real parse: an IP address holds only hex
/// digits, dots and colons, 2 to 45 of them.
fn maybe_ip(v: &str) -> bool {
    let ok = |b: u8| b.is_ascii_hexdigit() || b == b'.' || b == b':';
    (2..=45).contains(&v.len()) && v.bytes().all(ok)
}

/// Levels of nesting whose keys the scanner tracks (for the username rule and
/// the field's own `.tag`). Deeper values are still checked against [`RULES`];
/// a deeper level costs one bit, so a line of 16 MiB of `[` stays small.
pub const TRACKED_DEPTH: usize = 64;

/// Reusable state of the scanner (one per worker).
#[derive(Default, Debug)]
pub struct DeepScratch {
    /// The tracked levels, outermost first.
    frames: Vec<Frame>,
    /// Decoded text of strings with escapes.
    decoded: String,
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    /// What the last key was.
    key: KeyRole,
    /// Range in the slice of a `display_name` string value (with quotes).
    display_name: Option<(usize, usize)>,
    identity: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyRole {
    Other,
    DisplayName,
    Identity,
    Tag,
}

fn key_role(k: &str) -> KeyRole {
    if k == USERNAME_KEY {
        KeyRole::DisplayName
    } else if IDENTITY_KEYS.contains(&k) {
        KeyRole::Identity
    } else if k == ".tag" || k == "_tag" {
        KeyRole::Tag
    } else {
        KeyRole::Other
    }
}

/// A mask with the high bit set in each byte of `w` that equals `c`, and
/// perhaps in bytes above the first such (the lowest set bit is exact).
#[inline]
fn bytes_equal(w: u64, c: u8) -> u64 {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & HIGH
}

/// The first `"` or `\\` at or after `j`, or `b.len()`. Most strings in
/// `json` fields are short (keys, tags, ids), where memchr's setup costs
/// more than the string: the first 32 bytes are searched 8 at a time.
#[inline]
fn quote_or_backslash(b: &[u8], mut j: usize) -> usize {
    let stop = b.len().min(j + 32);
    while j + 8 <= stop {
        let w = u64::from_le_bytes(b[j..j + 8].try_into().expect("8 bytes"));
        let m = bytes_equal(w, b'"') | bytes_equal(w, b'\\');
        if m != 0 {
            return j + (m.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    match memchr::memchr2(b'"', b'\\', &b[j..]) {
        Some(k) => j + k,
        None => b.len(),
    }
}

/// The end (one past the closing quote) of the string literal starting at
/// `i`, and whether it holds an escape.
#[inline]
fn string_end(b: &[u8], i: usize) -> (usize, bool) {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        j = quote_or_backslash(b, j);
        match b.get(j) {
            Some(b'\\') => {
                escaped = true;
                j += 2;
            }
            Some(_) => return (j + 1, escaped),
            // Validated input always closes its strings.
            None => return (b.len(), escaped),
        }
    }
}

/// Decodes a string literal (with its quotes) into `out`; `false` when it
/// is not text (a lone UTF-16 surrogate escape).
fn unescape(lit: &str, out: &mut String) -> bool {
    out.clear();
    let inner = &lit[1..lit.len() - 1];
    let mut rest = inner;
    while let Some(k) = rest.find('\\') {
        out.push_str(&rest[..k]);
        let b = rest.as_bytes();
        let (ch, used) = match b.get(k + 1) {
            Some(b'u') => {
                let hex = |at: usize| {
                    rest.get(at..at + 4)
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                };
                let Some(hi) = hex(k + 2) else { return false };
                if (0xD800..0xDC00).contains(&hi) {
                    let lo = (rest.get(k + 6..k + 8) == Some("\\u"))
                        .then(|| hex(k + 8))
                        .flatten();
                    match lo {
                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                            (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), 12)
                        }
                        _ => return false,
                    }
                } else {
                    (hi, 6)
                }
            }
            Some(b'n') => (0x0A, 2),
            Some(b't') => (0x09, 2),
            Some(b'r') => (0x0D, 2),
            Some(b'b') => (0x08, 2),
            Some(b'f') => (0x0C, 2),
            Some(&c) => (u32::from(c), 2),
            None => return false,
        };
        match char::from_u32(ch) {
            Some(c) => out.push(c),
            None => return false,
        }
        rest = &rest[k + used..];
    }
    out.push_str(rest);
    true
}

/// A string literal's text: borrowed without escapes, else decoded into `decoded`.
#[inline]
fn content<'a>(lit: &'a str, escaped: bool, decoded: &'a mut String) -> Option<&'a str> {
    if !escaped {
        return Some(&lit[1..lit.len() - 1]);
    }
    unescape(lit, decoded).then_some(decoded.as_str())
}

fn add_value(c: &mut Collector, kinds: &[IndicatorKind], v: &str, escaped: bool) {
    if escaped {
        c.add(kinds, v);
    } else {
        c.add_verbatim(kinds, v);
    }
}

/// Whether `b` may be an IP address, perhaps with white space around it
/// (see [`IP_CHARS`]).
#[inline]
fn ip_chars(b: &[u8]) -> bool {
    let mut seen = 0;
    for &c in b {
        match IP_CHARS[usize::from(c)] {
            0 => return false,
            t => seen |= t,
        }
    }
    b.len() >= 2 && seen & IP_SEPARATOR != 0
}

/// [`ip_chars`]' classes of a byte: 0 for a byte it rules out, else
/// [`IP_CHAR`], with [`IP_TEXT`] for the characters of an address itself
/// (not white space) and [`IP_SEPARATOR`] for `.` and `:`.
///
/// Of the bytes above ASCII, it keeps those that UTF-8 writes white space
/// with (U+0085, U+00A0, U+1680, U+2000 to U+3000 start with `C2`, `E1`,
/// `E2` or `E3`, and go on with bytes from `80` to `BF`): most other text,
/// Cyrillic or Hebrew, starts its characters with bytes it rules out.
const IP_CHARS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_hexdigit() {
            t[c] = IP_CHAR | IP_TEXT;
        } else if b == b' ' || matches!(b, 0x80..=0xBF | 0xC2 | 0xE1..=0xE3) {
            t[c] = IP_CHAR;
        } else if b == b'.' || b == b':' {
            t[c] = IP_CHAR | IP_TEXT | IP_SEPARATOR;
        }
        c += 1;
    }
    t
};
const IP_CHAR: u8 = 1;
const IP_SEPARATOR: u8 = 2;
const IP_TEXT: u8 = 4;

/// The code of a `\\u` escape's hex digits.
fn hex_code(h: &[u8]) -> Option<u32> {
    h.iter()
        .try_fold(0, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

/// [`ip_chars`] or `@` for a string with escapes, read without decoding it:
/// whether its text may hold `@`, or be made of the characters of an IP
/// address and white space. What an escape stands for is checked as a
/// character of the text; a literal character as [`ip_chars`] checks it.
#[inline(never)]
fn escaped_may_match(inner: &[u8]) -> bool {
    if memchr::memchr(b'@', inner).is_some() {
        return true;
    }
    let mut ip = true;
    let mut k = 0;
    while k < inner.len() {
        if inner[k] != b'\\' {
            ip &= IP_CHARS[usize::from(inner[k])] != 0;
            k += 1;
            if !ip {
                // Only an escaped `@` is left to look for.
                k += memchr::memchr(b'\\', &inner[k..]).unwrap_or(inner.len() - k);
            }
            continue;
        }
        let e = inner.get(k + 1).copied();
        if e == Some(b'u') {
            let hex = inner.get(k + 2..k + 6);
            if hex == Some(b"0040") {
                return true;
            }
            if ip {
                let ip_char =
                    |c: char| c.is_ascii_hexdigit() || matches!(c, '.' | ':') || c.is_whitespace();
                ip = hex
                    .and_then(hex_code)
                    .and_then(char::from_u32)
                    .is_some_and(ip_char);
            }
            k += 6;
        } else {
            // `\n`, `\r`, `\t` and `\f` are white space; `\"`, `\\`, `\/` and `\b` rule an IP out.
            ip &= matches!(e, Some(b'n' | b'r' | b't' | b'f'));
            k += 2;
        }
    }
    ip
}

/// Whether some rule may match the string value `inner` (without quotes):
/// it holds `@` (looked for only when the field has one), or it is made of
/// the characters of an IP address (with a `.` or `:`) and white space; with
/// escapes, see [`escaped_may_match`]. A string that is neither matches no
/// rule and is not looked at again.
#[inline(always)]
fn candidate(inner: &[u8], escaped: bool, field_has_at: bool) -> bool {
    if escaped {
        return escaped_may_match(inner);
    }
    ip_chars(inner) || (field_has_at && memchr::memchr(b'@', inner).is_some())
}

/// Applies [`RULES`] to one string value.
#[inline(never)]
fn check_string(c: &mut Collector, lit: &str, escaped: bool, decoded: &mut String) {
    let Some(v) = content(lit, escaped, decoded) else {
        return;
    };
    let t = trim(v);
    for r in RULES {
        if (r.shape)(t) {
            add_value(c, &[r.kind], t, escaped);
        }
    }
}

/// One string literal of a walk.
struct Literal {
    /// One past its closing quote.
    end: usize,
    escaped: bool,
    /// A `:` follows it: it is a key.
    key: bool,
    /// Where the walk goes on: past the `:` of a key, else at the first
    /// byte after the literal that is not white space.
    next: usize,
}

/// Reads the string literal starting at `i`.
#[inline]
fn literal(b: &[u8], i: usize) -> Literal {
    let (end, escaped) = string_end(b, i);
    let mut j = end;
    while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\n' | b'\r') {
        j += 1;
    }
    let key = b.get(j) == Some(&b':');
    Literal {
        end,
        escaped,
        key,
        next: j + usize::from(key),
    }
}

/// Applies [`RULES`] to the string value `lit` when it may match one.
#[inline(always)]
fn value(c: &mut Collector, lit: &str, escaped: bool, field_has_at: bool, decoded: &mut String) {
    let inner = &lit.as_bytes()[1..lit.len() - 1];
    if candidate(inner, escaped, field_has_at) {
        check_string(c, lit, escaped, decoded);
    }
}

/// Adds what the rules find in one `json` field's raw text (already
/// validated JSON) to `c`. The field's top-level `.tag` is [`top_tag`]'s.
///
/// Most fields are read by `anchored`, which looks only at the few places
/// where a rule can match; the rest by the full `walk`.
pub fn scan(raw: &str, c: &mut Collector, ds: &mut DeepScratch) {
    let mark = c.mark();
    if let Err(Walk) = anchored(raw, c, ds) {
        c.truncate(mark);
        walk(raw, c, ds, true, TRACKED_DEPTH);
    }
}

/// [`anchored`] cannot read this field: it goes to the full [`walk`].
struct Walk;

/// The identity keys as they appear, quoted, in JSON text without escapes.
static IDENTITY_FINDERS: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
    std::sync::LazyLock::new(|| {
        IDENTITY_KEYS
            .iter()
            .map(|k| memchr::memmem::Finder::new(&format!("\"{k}\"")).into_owned())
            .collect()
    });

/// The rules read at their anchors, the only places where one can match:
///
/// - an email holds an `@`, which JSON writes only inside strings;
/// - an IP address is a string made of hex digits, `.`, `:` and white space,
///   around a `.` or a `:`;
/// - an escape that stands for white space (`\n`, `\u3000`, ...) may trim
///   down to an address, and one may stand for an `@`, `.` or `:`;
/// - the username rule needs a `"display_name"` key (found at its
///   [`NAME_BYTE`]).
///
/// At each anchor it finds the string literal around it and applies the
/// rules to it as the walk would (a key is skipped), then goes on past it,
/// so no byte is read more than a few times. Two kinds of field are left
/// to the walk: one that holds both a `"display_name"` key and an identity
/// key (the username rule needs the object structure), and one with a `\u`
/// escape of a letter, digit or `_` (a key or an address may be spelled with
/// it), which JSON writers have no reason to write.
fn anchored(raw: &str, c: &mut Collector, ds: &mut DeepScratch) -> Result<(), Walk> {
    let b = raw.as_bytes();
    // Whether the field holds an identity key, once a `"display_name"` asks.
    let mut identity: Option<bool> = None;
    // One pass from anchor to anchor. It keeps to escape boundaries: it
    // starts outside any string and goes on past each escape, literal or
    // run it reads, so a `\\` it meets begins an escape.
    let mut failed = usize::MAX;
    let mut base = 0;
    while base < b.len() {
        let mut bits = anchor_bits(b, base);
        while bits != 0 {
            let at = base + bits.trailing_zeros() as usize;
            let next = match b[at] {
                b'\\' => escape(raw, at, c, ds)?,
                b'@' => around(raw, at, c, ds),
                NAME_BYTE => {
                    if username_key_at(b, at)
                        && *identity.get_or_insert_with(|| {
                            IDENTITY_FINDERS.iter().any(|f| f.find(b).is_some())
                        })
                    {
                        return Err(Walk);
                    }
                    at + 1
                }
                _ => ip_run(raw, at, &mut failed, c, ds),
            };
            if next >= base + 16 {
                // Read on from where that left off.
                base = next - 16;
                break;
            }
            bits &= u32::MAX << (next - base);
        }
        base += 16;
    }
    Ok(())
}

/// The byte of [`USERNAME_KEY`] the anchors include, one that JSON text
/// seldom holds (`y`), and its place in the key.
const NAME_BYTE: u8 = b'y';
const NAME_AT: usize = {
    let k = USERNAME_KEY.as_bytes();
    let mut i = 0;
    while k[i] != NAME_BYTE {
        i += 1;
    }
    i
};

/// Whether the [`NAME_BYTE`] at `b[at]` is in a quoted [`USERNAME_KEY`].
fn username_key_at(b: &[u8], at: usize) -> bool {
    let key = USERNAME_KEY.as_bytes();
    at.checked_sub(NAME_AT + 1)
        .and_then(|s| b.get(s..s + key.len() + 2))
        .is_some_and(|q| q[0] == b'"' && &q[1..=key.len()] == key && q[key.len() + 1] == b'"')
}

/// One bit for each anchor byte among the 16 bytes of `b` from `k` on: an
/// `@`, `.` or `\\`, a [`NAME_BYTE`], or a `:` that does not follow a quote. (A `:` after a
/// quote is the one between a key and its value, or the first of an
/// address's `::`, whose second `:` is an anchor.)
#[inline]
fn anchor_bits(b: &[u8], k: usize) -> u32 {
    use wide::u8x16;
    let v = match b.get(k..k + 16) {
        Some(c) => u8x16::new(c.try_into().expect("16 bytes")),
        None => {
            let mut chunk = [0u8; 16];
            chunk[..b.len() - k].copy_from_slice(&b[k..]);
            u8x16::new(chunk)
        }
    };
    let is = |c: u8| v.cmp_eq(u8x16::splat(c));
    let others = (is(b'@') | is(b'.')) | (is(b'\\') | is(NAME_BYTE));
    let [others, colons, quotes] = [others, is(b':'), is(b'"')].map(|m| m.move_mask() as u32);
    let after_quote = (quotes << 1) | u32::from(k > 0 && b[k - 1] == b'"');
    others | (colons & !after_quote)
}

/// Reads the escape at `b[at]`: one that stands for white space, `@`, `.`
/// or `:` is an anchor (the literal around it is read); one that stands for
/// a letter, a digit or `_` hands the field to the walk (it may spell a key
/// of the username rule, or a digit of an address); any other (`\"`, or
/// the `\u003c` for `<` that some writers use) is skipped. Returns where
/// the scan goes on.
#[inline]
fn escape(raw: &str, at: usize, c: &mut Collector, ds: &mut DeepScratch) -> Result<usize, Walk> {
    let b = raw.as_bytes();
    let (anchor, len) = match b.get(at + 1) {
        Some(b'u') => {
            let code = b.get(at + 2..at + 6).and_then(hex_code).ok_or(Walk)?;
            match char::from_u32(code) {
                Some(ch) if ch.is_ascii_alphanumeric() || ch == '_' => return Err(Walk),
                Some(ch) => (ch.is_whitespace() || matches!(ch, '@' | '.' | ':'), 6),
                // Half of a surrogate pair: not text an address or `@` is made of.
                None => (false, 6),
            }
        }
        Some(b'n' | b'r' | b't' | b'f') => (true, 2),
        _ => (false, 2),
    };
    Ok(if anchor {
        around(raw, at, c, ds)
    } else {
        at + len
    })
}

/// The number of `\\` just before `b[i]`: odd when it escapes `b[i]`.
fn backslashes_before(b: &[u8], i: usize) -> usize {
    b[..i].iter().rev().take_while(|&&c| c == b'\\').count()
}

/// Applies the rules to the string literal around `b[at]`, a byte that is
/// inside a string (an `@` or an escape), and returns where the literal ends.
fn around(raw: &str, at: usize, c: &mut Collector, ds: &mut DeepScratch) -> usize {
    let b = raw.as_bytes();
    // The opening quote is the nearest quote before `at` that is not escaped.
    let mut end = at;
    let start = loop {
        match memchr::memrchr(b'"', &b[..end]) {
            Some(q) if backslashes_before(b, q) % 2 == 1 => end = q,
            Some(q) => break q,
            // Validated input has one.
            None => return at + 1,
        }
    };
    let l = literal(b, start);
    if !l.key {
        value(c, &raw[start..l.end], l.escaped, true, &mut ds.decoded);
    }
    l.end
}

/// Applies the rules to the string around `b[at]` (a `.` or a `:`) when the
/// run of [`ip_chars`] characters around it is a whole string literal's
/// text, and returns where the scan goes on.
///
/// A run with a quote on each side is a string's whole text, or it lies
/// between two strings, where JSON has only a `:` and white space of those
/// characters (then it is not looked at). A string with escapes is not a
/// whole run: its escapes of white space are anchors of their own, and any
/// other escape makes it no address.
///
/// The run's start is found first, and most runs end there (`dbid:AA`). So
/// that a long run is not read again from each of its separators, `failed`
/// is the last separator whose run did not start at a quote: a run that
/// reaches back to it does not either.
fn ip_run(
    raw: &str,
    at: usize,
    failed: &mut usize,
    c: &mut Collector,
    ds: &mut DeepScratch,
) -> usize {
    let b = raw.as_bytes();
    // In an address a `.` is between two decimal digits, and a `:` has a
    // neighbour that is a hex digit or a `:`: the `.` of most names and the
    // `:` of most ids are ruled out here.
    let (before, after) = (at.checked_sub(1).and_then(|i| b.get(i)), b.get(at + 1));
    let near = if b[at] == b'.' {
        let digit = |c: Option<&u8>| c.is_some_and(u8::is_ascii_digit);
        digit(before) && digit(after)
    } else {
        let text = |c: Option<&u8>| c.is_some_and(|&c| IP_CHARS[usize::from(c)] & IP_TEXT != 0);
        text(before) || text(after)
    };
    if !near {
        return at + 1;
    }
    let ip = |i: usize| IP_CHARS[usize::from(b[i])] != 0;
    let mut s = at;
    while s > 0 && ip(s - 1) && s - 1 != *failed {
        s -= 1;
    }
    if s == 0 || b[s - 1] != b'"' || backslashes_before(b, s - 1) % 2 == 1 {
        *failed = at;
        return at + 1;
    }
    let mut e = at + 1;
    while e < b.len() && ip(e) {
        e += 1;
    }
    if e == b.len() || b[e] != b'"' || b[s..e].iter().filter(|&&c| c != b' ').count() < 2 {
        return e;
    }
    let l = literal(b, s - 1);
    if !l.key {
        // The run is the candidate `value` would look for.
        check_string(c, &raw[s - 1..l.end], false, &mut ds.decoded);
    }
    l.end
}

impl DeepScratch {
    /// Whether the current level is tracked.
    #[inline]
    fn tracked(&self, depth: usize) -> bool {
        depth > 0 && self.frames.len() == depth
    }

    /// The current level's frame, when it is tracked.
    #[inline]
    fn current(&mut self, depth: usize) -> Option<&mut Frame> {
        if self.tracked(depth) {
            self.frames.last_mut()
        } else {
            None
        }
    }
}

/// The full walk: every string literal of the field in turn, tracking the
/// keys of the outermost `levels` levels (at most [`TRACKED_DEPTH`]) for the
/// username rule and the top-level `.tag`, which it returns. With
/// `indicators` it applies the rules as it goes.
///
/// It goes from string literal to string literal: in valid JSON a string is
/// a key exactly when a `:` follows it, so no parser state beyond the
/// tracked levels is kept. The bytes between strings are structure, numbers
/// and literals.
fn walk<'a>(
    raw: &'a str,
    c: &mut Collector,
    ds: &mut DeepScratch,
    indicators: bool,
    levels: usize,
) -> Option<&'a str> {
    let b = raw.as_bytes();
    let field_has_at = indicators && memchr::memchr(b'@', b).is_some();
    let mut tag = None;
    ds.frames.clear();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let l = literal(b, i);
                let lit = &raw[i..l.end];
                if l.key {
                    if ds.tracked(depth) {
                        let role = match content(lit, l.escaped, &mut ds.decoded) {
                            Some(k) => key_role(k),
                            None => KeyRole::Other,
                        };
                        if let Some(f) = ds.frames.last_mut() {
                            f.key = role;
                        }
                    }
                } else {
                    if let Some(f) = ds.current(depth) {
                        match f.key {
                            KeyRole::DisplayName => f.display_name = Some((i, l.end)),
                            KeyRole::Identity => f.identity = true,
                            KeyRole::Tag if depth == 1 && tag.is_none() => tag = Some(lit),
                            _ => {}
                        }
                        f.key = KeyRole::Other;
                    }
                    if indicators {
                        value(c, lit, l.escaped, field_has_at, &mut ds.decoded);
                    }
                }
                i = l.next;
            }
            b'{' | b'[' => {
                if let Some(f) = ds.current(depth) {
                    f.identity |= f.key == KeyRole::Identity;
                    f.key = KeyRole::Other;
                }
                depth += 1;
                if depth <= levels {
                    ds.frames.push(Frame {
                        key: KeyRole::Other,
                        display_name: None,
                        identity: false,
                    });
                }
                i += 1;
            }
            b'}' | b']' => {
                if ds.frames.len() == depth {
                    if let Some(Frame {
                        identity: true,
                        display_name: Some((s, e)),
                        ..
                    }) = ds.frames.pop()
                    {
                        let lit = &raw[s..e];
                        let escaped = lit.contains('\\');
                        if let Some(v) = content(lit, escaped, &mut ds.decoded) {
                            add_value(c, &[IndicatorKind::Username], trim(v), escaped);
                        }
                    }
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b' ' | b'\t' | b'\n' | b'\r' | b':' | b',' => i += 1,
            first => {
                // A number, true, false or null.
                while i < b.len()
                    && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    i += 1;
                }
                if let Some(f) = ds.current(depth) {
                    f.identity |= f.key == KeyRole::Identity && first != b'n';
                    f.key = KeyRole::Other;
                }
            }
        }
    }
    tag
}

/// The top-level `.tag` string literal of a `json` field (the first, when
/// the object repeats the key). Dropbox writes `.tag` first, which is
/// checked at once; elsewhere the walk finds it.
pub fn top_tag<'a>(raw: &'a str, ds: &mut DeepScratch) -> Option<&'a str> {
    if let Some(rest) = raw.strip_prefix("{\".tag\":\"") {
        if let Some(k) = memchr::memchr2(b'"', b'\\', rest.as_bytes()) {
            if rest.as_bytes()[k] == b'"' {
                return Some(&raw[8..9 + k + 1]);
            }
        }
    }
    walk(raw, &mut Collector::default(), ds, false, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(raw: &str) -> String {
        let mut c = Collector::default();
        scan(raw, &mut c, &mut DeepScratch::default());
        let mut out = Vec::new();
        c.write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn email_shape() {
        for ok in ["a@b.c", "first.last+x@sub.example.org", "ü@ex.de"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "@b.c", "a@b", "a@@b.c", "a@b@c.d", "a b@c.d", "a@b..c", "a@.b", "a@b.", "plain",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn finds_emails_ips_and_usernames_at_any_depth() {
        let got = deep(
            r#"{".tag":"x","invitees":[" bob@ex.com ",{"email":"c@ex.com","display_name":"Carol"}],
                "session":{"ip_address":"10.1.2.3","v6":"2001:db8::1","n":5,"bad":"999.1.1.1"},
                "who":{"display_name":"Nobody","account_id":null},"k@ex.com":"key not value"}"#,
        );
        assert_eq!(
            got,
            r#","p_any_ip_addresses":["10.1.2.3","2001:db8::1"],"p_any_emails":["bob@ex.com","c@ex.com"],"p_any_usernames":["Carol"]"#
        );
    }

    #[test]
    fn display_name_before_or_after_the_identity_key_and_escapes() {
        let got = deep(
            r#"[{"display_name":"A\u00e9","team_member_id":"dbmid:1"},{"account_id":1,"display_name":" Z "},"x\u0040ex.com"]"#,
        );
        assert_eq!(
            got,
            r#","p_any_emails":["x@ex.com"],"p_any_usernames":["Aé","Z"]"#
        );
    }

    #[test]
    fn deep_nesting_keeps_checking_values_in_bounded_state() {
        let n = 100_000;
        let raw = format!("{}\"10.0.0.1\"{}", "[{\"k\":".repeat(n), "}]".repeat(n));
        let mut ds = DeepScratch::default();
        let mut c = Collector::default();
        scan(&raw, &mut c, &mut ds);
        assert!(ds.frames.capacity() <= TRACKED_DEPTH);
        let mut out = Vec::new();
        c.write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#","p_any_ip_addresses":["10.0.0.1"]"#
        );
        // A key deep down is still a key, not a value.
        let raw = format!("{}{{\"10.0.0.2\":1}}{}", "[".repeat(200), "]".repeat(200));
        let mut c = Collector::default();
        scan(&raw, &mut c, &mut ds);
        let mut out = Vec::new();
        c.write(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn unescape_agrees_with_serde_json() {
        let mut out = String::new();
        for lit in [
            r#""plain""#,
            r#""a\"b\\c\/d\n\t\r\b\f""#,
            r#""\u00e9\u0040x\ud83d\ude00z""#,
            r#""\u0000""#,
        ] {
            assert!(unescape(lit, &mut out), "{lit}");
            assert_eq!(out, serde_json::from_str::<String>(lit).unwrap(), "{lit}");
        }
        for lone in [r#""\ud800""#, r#""\udc00\ud800""#, r#""\ud800\u0041""#] {
            assert!(!unescape(lone, &mut out), "{lone}");
        }
    }

    #[test]
    fn anchor_bits_are_the_anchor_bytes_at_every_offset() {
        let alphabet = b":\"@.\\ya ";
        let mut seed = 1u64;
        for _ in 0..2000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 33) as usize % 40;
            let b: Vec<u8> = (0..len)
                .map(|i| alphabet[((seed >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            for k in 0..len {
                let want = (0..16)
                    .filter(|&i| {
                        let Some(&c) = b.get(k + i) else { return false };
                        let after_quote = (k + i).checked_sub(1).is_some_and(|p| b[p] == b'"');
                        matches!(c, b'@' | b'.' | b'\\' | NAME_BYTE) || (c == b':' && !after_quote)
                    })
                    .fold(0u32, |m, i| m | 1 << i);
                assert_eq!(
                    anchor_bits(&b, k),
                    want,
                    "{:?} at {k}",
                    String::from_utf8_lossy(&b)
                );
            }
        }
    }

    #[test]
    fn every_byte_of_unicode_white_space_may_be_around_an_address() {
        let mut buf = [0u8; 4];
        for ch in (0..=0x10FFFF).filter_map(char::from_u32) {
            if ch.is_whitespace() && !ch.is_ascii() {
                for &b in ch.encode_utf8(&mut buf).as_bytes() {
                    assert_ne!(IP_CHARS[usize::from(b)], 0, "{ch:?}");
                }
            }
        }
        assert_eq!(IP_CHARS[0xD0], 0, "Cyrillic");
    }

    #[test]
    fn a_bare_string_field_is_checked() {
        assert_eq!(
            deep(r#""10.0.0.1""#),
            r#","p_any_ip_addresses":["10.0.0.1"]"#
        );
        assert_eq!(deep("42"), "");
    }

    #[test]
    fn top_tag_fast_and_slow_paths() {
        let mut ds = DeepScratch::default();
        assert_eq!(
            top_tag(r#"{".tag":"a_details","x":1}"#, &mut ds),
            Some(r#""a_details""#)
        );
        assert_eq!(
            top_tag(r#"{"x":{".tag":"inner"}, ".tag" : "b_details"}"#, &mut ds),
            Some(r#""b_details""#)
        );
        assert_eq!(top_tag(r#"{"x":{".tag":"inner"}}"#, &mut ds), None);
        assert_eq!(top_tag(r#"[{".tag":"inner"}]"#, &mut ds), None);
    }

    /// The rules applied straightforwardly to a parsed value: every string,
    /// and each object's username; no prefilter, no skipped levels.
    fn oracle(v: &serde_json::Value, c: &mut Collector) {
        use serde_json::Value;
        match v {
            Value::String(s) => {
                let t = trim(s);
                for r in RULES {
                    if (r.shape)(t) {
                        c.add(&[r.kind], t);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|e| oracle(e, c)),
            Value::Object(o) => {
                let identity = IDENTITY_KEYS
                    .iter()
                    .any(|k| o.get(*k).is_some_and(|v| !v.is_null()));
                if let (true, Some(Value::String(n))) = (identity, o.get(USERNAME_KEY)) {
                    c.add(&[IndicatorKind::Username], trim(n));
                }
                o.values().for_each(|e| oracle(e, c));
            }
            _ => {}
        }
    }

    fn written(c: &mut Collector) -> String {
        let mut out = Vec::new();
        c.write(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// `scan` finds what [`oracle`] finds, as the full walk does, and so
    /// does [`anchored`] when it reads the field, which it reports;
    /// [`top_tag`] finds the walk's first top-level tag.
    fn check_equivalent(raw: &str) -> bool {
        let mut want = Collector::default();
        oracle(&serde_json::from_str(raw).unwrap(), &mut want);
        let want = written(&mut want);
        let mut ds = DeepScratch::default();
        let mut c = Collector::default();
        let full_tag = walk(raw, &mut c, &mut ds, true, TRACKED_DEPTH);
        assert_eq!(written(&mut c), want, "full walk: {raw}");
        let mut c = Collector::default();
        let anchors = anchored(raw, &mut c, &mut ds).is_ok();
        if anchors {
            assert_eq!(written(&mut c), want, "anchored: {raw}");
        }
        let mut c = Collector::default();
        scan(raw, &mut c, &mut ds);
        assert_eq!(written(&mut c), want, "scan: {raw}");
        assert_eq!(top_tag(raw, &mut ds), full_tag, "{raw}");
        anchors
    }

    #[test]
    fn anchors_and_the_walk_agree_on_escapes_keys_and_numbers() {
        // Read at anchors.
        for raw in [
            // Escaped values: white space around addresses, ruled-out escapes.
            r#"["\n 10.0.0.2\t","\u00a010.0.0.3\u3000","\u2003::1","\r\n","\f1.1.1.1"]"#,
            r#"["10.0.0.4\b","10.0.0.5\/","\"10.0.0.6\"","\\10.0.0.7","10.0.0.8\\"]"#,
            r#"["\ud83d\ude00 1.2.3.4","\u0418\u0432@ex.com","a\\b@ex.com","a\"b@ex.com"]"#,
            r#"["tab\there@ex.com","x@y.z\n","\"q\"@ex.com"," \"1.2.3.4"]"#,
            // Escaped `@`, `.`, `:`, white space and other punctuation.
            r#"["x\u0040ex.com","1\u002e2.3.4","\u003a:1","\u002010.0.0.2","\u0040"]"#,
            r#"["a\u0026b@ex.com","\u003c10.0.0.3\u003e","\u003c\u003e","10.0.0.4\u0026"]"#,
            // Keys are not values; numbers and structure are not strings.
            r#"{"10.0.0.9":1,"k@ex.com":"v","::1" : [1.5, 2.5e3, -0.5],"n":1.25}"#,
            r#"{"a":"b","c" : "d", "e":{"f":"1.2.3.4" },"g":[":",":: ","a:b"]}"#,
            r#"{"x\n10.0.0.1":"y","z\t": "\t10.0.0.2","w":"  10.0.0.3  "}"#,
            // A username key without an identity key, and the reverse.
            r#"{"a":{"display_name":"NoId","other":1},"b":["display_name"]}"#,
            r#"{"b":[{"email":"e@ex.io","account_id":"dbid:1"}]}"#,
            // Addresses among other text.
            r#"["photo 1.2.png","v1.2.3.4","1.2.3.4x","acme.example","a.b.c.d","ab:cd","::","1::"]"#,
            // Top-level tags: first, last, not first, repeated.
            r#"{"x":{".tag":"inner"},".tag":"outer","y":"10.1.1.1"}"#,
            r#"{".tag":"a",".tag":"b"}"#,
            r#" { ".tag" : "spaced" , "ip" : " 10.2.2.2 " } "#,
            r#""10.0.0.7""#,
            r#""\t10.0.0.8""#,
            "42",
        ] {
            assert!(check_equivalent(raw), "not read at anchors: {raw}");
        }
        // Left to the walk.
        for raw in [
            // Escaped keys the username rule reads, below the first level.
            r#"{"a":{"display\u005fname":"Esc","account_id":"x"}}"#,
            r#"{"a":{"display_name":"Esc","\u0065mail":"x@ex.io"}}"#,
            r#"{"a":[{"team_member_\u0069d":"t","d\u0069splay_name":" Both "}]}"#,
            r#"{"a":{"display_name":"NullId","email":null}}"#,
            r#"[{"display_name":"A","account_id":1},{"display_name":"B"},{"email":"x"}]"#,
            // Both keys, in different objects.
            r#"{"a":{"display_name":"NoId","other":1},"b":[{"email":"e@ex.io"}]}"#,
            // Escaped letters and digits in values.
            r#"["x\u0065@ex.com","\u0031\u0030.0.0.1","10.0.0.\u0032"]"#,
            r#"{"_t\u0061g":"esc","z":[".tag"]}"#,
        ] {
            assert!(!check_equivalent(raw), "read at anchors: {raw}");
        }
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;
        use serde_json::Value;

        /// Keys the rules read and others; values that match a rule and others.
        const KEYS: &[&str] = &[
            "display_name",
            "account_id",
            "email",
            "team_member_id",
            ".tag",
            "_tag",
            "x",
            "ip",
            "10.0.0.2",
            "k@ex.com",
        ];
        /// [`KEYS`] but the identity keys: fields [`anchored`] reads.
        const ANCHORED_KEYS: &[&str] = &["display_name", ".tag", "x", "10.0.0.2", "k@ex.com"];
        const TEXTS: &[&str] = &[
            "10.0.0.1",
            " 192.168.1.1 ",
            "2001:db8::1",
            "::1",
            "1.2.3",
            "cafe",
            "a@b.co",
            " Ann@Ex.org ",
            "a@b",
            "dbid:AAwt",
            "Carol",
            "",
            "9712811243",
            "x \"y\" \\ z",
            "\u{a0}10.9.9.9\n",
            "\u{1F600}",
            "\t10.0.0.9",
            "\u{3000}::1\u{85}",
            "a.b",
            "x:y",
            "photo 1.2.png",
            "a\\b@ex.com",
            " \"1.2.3.4\" ",
            "\u{418}@ex.com",
        ];

        fn value(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (0u32..1000).prop_map(Value::from),
                (-100i32..100).prop_map(|n| Value::from(f64::from(n) / 8.0)),
                proptest::sample::select(TEXTS).prop_map(Value::from),
            ];
            leaf.prop_recursive(5, 48, 6, move |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    proptest::collection::btree_map(proptest::sample::select(keys), inner, 0..6)
                        .prop_map(|m| Value::Object(
                            m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                        )),
                ]
            })
        }

        /// One bit of choice (escape this character, put white space here).
        fn pick(bits: &mut dyn Iterator<Item = bool>) -> bool {
            bits.next().unwrap_or(false)
        }

        /// A string literal of `s`; `ascii` lets a `\\u` escape stand for a
        /// letter, digit or `_` (other characters may be escaped either way).
        fn string(s: &str, ascii: bool, bits: &mut dyn Iterator<Item = bool>, out: &mut String) {
            out.push('"');
            for ch in s.chars() {
                match ch {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    _ if (ascii || !(ch.is_ascii_alphanumeric() || ch == '_')) && pick(bits) => {
                        let mut units = [0u16; 2];
                        for u in ch.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                    _ => out.push(ch),
                }
            }
            out.push('"');
        }

        /// JSON text of `v` with some characters escaped and some white
        /// space between tokens, as `bits` chooses.
        fn write(v: &Value, ascii: bool, bits: &mut dyn Iterator<Item = bool>, out: &mut String) {
            if pick(bits) {
                out.push(' ');
            }
            match v {
                Value::String(s) => string(s, ascii, bits, out),
                Value::Array(a) => {
                    out.push('[');
                    for (n, e) in a.iter().enumerate() {
                        if n > 0 {
                            out.push(',');
                        }
                        write(e, ascii, bits, out);
                    }
                    out.push(']');
                }
                Value::Object(o) => {
                    out.push('{');
                    for (n, (k, e)) in o.iter().enumerate() {
                        if n > 0 {
                            out.push(',');
                        }
                        string(k, ascii, bits, out);
                        if pick(bits) {
                            out.push('\t');
                        }
                        out.push(':');
                        write(e, ascii, bits, out);
                    }
                    out.push('}');
                }
                other => out.push_str(&other.to_string()),
            }
            if pick(bits) {
                out.push('\n');
            }
        }

        proptest! {
            #[test]
            fn scan_agrees_with_the_oracle(
                v in value(KEYS),
                bits in proptest::collection::vec(proptest::bool::weighted(0.15), 0..600),
            ) {
                let mut raw = String::new();
                write(&v, true, &mut bits.into_iter(), &mut raw);
                check_equivalent(&raw);
            }

            /// Without identity keys and escaped letters, digits and `_`,
            /// every field is read at its anchors.
            #[test]
            fn anchors_agree_with_the_oracle(
                v in value(ANCHORED_KEYS),
                bits in proptest::collection::vec(proptest::bool::weighted(0.15), 0..600),
            ) {
                let mut raw = String::new();
                write(&v, false, &mut bits.into_iter(), &mut raw);
                prop_assert!(check_equivalent(&raw), "not read at anchors: {}", raw);
            }
        }
    }
}
