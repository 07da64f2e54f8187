//! Deep indicators (`--deep-indicators`): indicator values found inside the
//! event's `json` fields (Dropbox's `details`, `assets`, `origin.access_method`,
//! or any schema's `json` fields), which Panther never looks into.
//!
//! This module owns the rules (the [`RULES`] table and the username rule) and
//! the scanner that applies them. The scanner is a small streaming tokenizer
//! over the field's raw slice, which serde_json has already validated while it
//! skipped it: no DOM, no second parse. Values go to the event's indicator
//! [`Collector`], so they are trimmed, sorted and deduplicated together with
//! the declared ones.
//!
//! The same walk also yields the field's own top-level `.tag` (what `--lint`
//! compares `details` against), see [`scan`] and [`top_tag`].

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
    /// Bit `n`: level `n` is an object (every level, tracked or not).
    objects: Vec<u64>,
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

/// The end (one past the closing quote) of the string literal starting at
/// `i`, and whether it holds an escape.
#[inline]
fn string_end(b: &[u8], i: usize) -> (usize, bool) {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        match memchr::memchr2(b'"', b'\\', &b[j..]) {
            Some(k) if b[j + k] == b'\\' => {
                escaped = true;
                j += k + 2;
            }
            Some(k) => return (j + k + 1, escaped),
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

/// What [`value_end`] saw in a string value.
struct Seen {
    end: usize,
    escaped: bool,
    /// Some rule may match: it holds `@` or an escape, or it is made of the
    /// characters of an IP address (with a `.` or `:`) and white space. A
    /// string that is neither matches no rule and is not looked at again.
    candidate: bool,
}

/// Whether `b` may be an IP address, perhaps with white space (or other
/// non-ASCII) around it.
#[inline]
fn ip_chars(b: &[u8]) -> bool {
    let mut sep = false;
    b.len() >= 2
        && b.iter().all(|&c| {
            sep |= c == b'.' || c == b':';
            c.is_ascii_hexdigit() || matches!(c, b'.' | b':' | b' ') || c >= 0x80
        })
        && sep
}

/// [`string_end`] for a value, noting on the way (one search for `"`, `\`
/// and `@`) whether a rule may match.
#[inline]
fn value_end(b: &[u8], i: usize) -> Seen {
    let (mut j, mut at, mut escaped) = (i + 1, false, false);
    loop {
        match memchr::memchr3(b'"', b'\\', b'@', &b[j..]) {
            Some(k) => match b[j + k] {
                b'"' => {
                    let end = j + k + 1;
                    return Seen {
                        end,
                        escaped,
                        candidate: at || escaped || ip_chars(&b[i + 1..end - 1]),
                    };
                }
                b'@' => {
                    at = true;
                    j += k + 1;
                }
                _ => {
                    escaped = true;
                    j += k + 2;
                }
            },
            None => {
                return Seen {
                    end: b.len(),
                    escaped,
                    candidate: false,
                }
            }
        }
    }
}

/// Applies [`RULES`] to one string value.
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

impl DeepScratch {
    /// The current level's frame, when it is tracked.
    #[inline]
    fn current(&mut self, depth: usize) -> Option<&mut Frame> {
        if depth > 0 && self.frames.len() == depth {
            self.frames.last_mut()
        } else {
            None
        }
    }

    fn is_object(&self, level: usize) -> bool {
        self.objects[level / 64] & (1 << (level % 64)) != 0
    }

    fn set_object(&mut self, level: usize, object: bool) {
        if self.objects.len() <= level / 64 {
            self.objects.push(0);
        }
        let bit = 1 << (level % 64);
        if object {
            self.objects[level / 64] |= bit;
        } else {
            self.objects[level / 64] &= !bit;
        }
    }
}

/// Scans one `json` field's raw text (already validated JSON), adding what
/// the rules find to `c` when `indicators` is set. Returns the field's own
/// top-level `.tag` string literal (with quotes), when it is an object with one.
pub fn scan<'a>(
    raw: &'a str,
    c: &mut Collector,
    ds: &mut DeepScratch,
    indicators: bool,
) -> Option<&'a str> {
    let b = raw.as_bytes();
    let mut tag = None;
    ds.frames.clear();
    let (mut depth, mut expect_key) = (0usize, false);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            open @ (b'{' | b'[') => {
                if let Some(f) = ds.current(depth) {
                    f.identity |= f.key == KeyRole::Identity;
                    f.key = KeyRole::Other;
                }
                ds.set_object(depth, open == b'{');
                depth += 1;
                if depth <= TRACKED_DEPTH {
                    ds.frames.push(Frame {
                        key: KeyRole::Other,
                        display_name: None,
                        identity: false,
                    });
                }
                expect_key = open == b'{';
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
                expect_key = false;
                i += 1;
            }
            b',' => {
                expect_key = depth > 0 && ds.is_object(depth - 1);
                i += 1;
            }
            b'"' if !expect_key => {
                let seen = value_end(b, i);
                let (e, lit) = (seen.end, &raw[i..seen.end]);
                if let Some(f) = ds.current(depth) {
                    match f.key {
                        KeyRole::DisplayName => f.display_name = Some((i, e)),
                        KeyRole::Identity => f.identity = true,
                        KeyRole::Tag if depth == 1 => tag = Some(lit),
                        _ => {}
                    }
                    f.key = KeyRole::Other;
                }
                if indicators && seen.candidate {
                    check_string(c, lit, seen.escaped, &mut ds.decoded);
                }
                i = e;
            }
            b'"' => {
                let (e, escaped) = string_end(b, i);
                // A key.
                expect_key = false;
                if ds.frames.len() == depth {
                    let role = match content(&raw[i..e], escaped, &mut ds.decoded) {
                        Some(k) => key_role(k),
                        None => KeyRole::Other,
                    };
                    if let Some(f) = ds.frames.last_mut() {
                        f.key = role;
                    }
                }
                i = e;
            }
            b' ' | b'\t' | b'\n' | b'\r' | b':' => i += 1,
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

/// The top-level `.tag` string literal of a `json` field, without looking
/// for indicators. Dropbox writes `.tag` first, which is checked at once.
pub fn top_tag<'a>(raw: &'a str, ds: &mut DeepScratch) -> Option<&'a str> {
    if let Some(rest) = raw.strip_prefix("{\".tag\":\"") {
        if let Some(k) = memchr::memchr2(b'"', b'\\', rest.as_bytes()) {
            if rest.as_bytes()[k] == b'"' {
                return Some(&raw[8..9 + k + 1]);
            }
        }
    }
    scan(raw, &mut Collector::default(), ds, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(raw: &str) -> String {
        let mut c = Collector::default();
        scan(raw, &mut c, &mut DeepScratch::default(), true);
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
        scan(&raw, &mut c, &mut ds, true);
        assert!(ds.frames.capacity() <= TRACKED_DEPTH);
        assert!(ds.objects.len() <= 2 * n / 64 + 1);
        let mut out = Vec::new();
        c.write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#","p_any_ip_addresses":["10.0.0.1"]"#
        );
        // A key deep down is still a key, not a value.
        let raw = format!("{}{{\"10.0.0.2\":1}}{}", "[".repeat(200), "]".repeat(200));
        let mut c = Collector::default();
        scan(&raw, &mut c, &mut ds, true);
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
}
