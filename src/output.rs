//! Serialization helpers shared by the transform and the writer: JSON strings
//! with minimal escaping, row ids, reject records, and the escaping of text
//! bound for a terminal (SPEC §5, §6).

use base64::Engine as _;

/// `ESCAPE[b]` is non-zero when byte `b` cannot appear raw inside a JSON string.
static ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Appends `s` as a JSON string: `"` and `\` escaped, control characters as
/// `\n`-style or `\u00XX` escapes, everything else (non-ASCII included) as is.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let clean = clean_words(bytes);
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(clean) {
        if !ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// How many leading bytes of `b`, in whole 8-byte words, need no escaping:
/// most strings need none, and a word at a time beats a table lookup a byte.
#[inline]
fn clean_words(b: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut n = 0;
    for w in b.chunks_exact(8) {
        let x = u64::from_ne_bytes(w.try_into().expect("8 bytes"));
        // A byte below 0x20 (no high bit, and below 0x20 after subtracting).
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if control
            || zero_byte(x ^ (ONES * u64::from(b'"')))
            || zero_byte(x ^ (ONES * u64::from(b'\\')))
        {
            break;
        }
        n += 8;
    }
    n
}

/// Appends the lowercase hex of `bytes`.
pub fn write_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 0xf) as usize]);
    }
}

/// Appends `v` as an unsigned LEB128 varint (Go's `binary.PutUvarint`).
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Panther's run-unique row id: 6 node bytes, uvarint of the run's start
/// (microseconds since 2020-01-01 UTC), uvarint of the event's ordinal from 1.
#[derive(Clone, Debug)]
pub struct RowIdGen {
    prefix: Vec<u8>,
    next: u64,
    scratch: Vec<u8>,
}

impl RowIdGen {
    pub fn new(node: [u8; 6], run_start_micros: u64) -> RowIdGen {
        let mut prefix = node.to_vec();
        put_uvarint(&mut prefix, run_start_micros);
        RowIdGen {
            prefix,
            next: 1,
            scratch: Vec::with_capacity(32),
        }
    }

    /// A node id that differs between runs and machines (random, from the
    /// standard library's per-process hash keys and the clock).
    pub fn random_node() -> [u8; 6] {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        let v = h.finish().to_le_bytes();
        [v[0], v[1], v[2], v[3], v[4], v[5]]
    }

    /// Appends the hex of the next row id.
    pub fn write_next(&mut self, out: &mut Vec<u8>) {
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.prefix);
        put_uvarint(&mut self.scratch, self.next);
        self.next += 1;
        write_hex(out, &self.scratch);
    }
}

/// The content-derived row id of a normalized event (`--row-id content`):
/// the 128-bit XXH3 of its bytes, so equal events share one id.
pub fn content_row_id(normalized: &[u8]) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(normalized).to_be_bytes()
}

/// Where a rejected record came from.
#[derive(Clone, Copy, Debug)]
pub struct Location<'a> {
    pub source: &'a str,
    pub line: u64,
    /// Element index inside an API response envelope.
    pub index: Option<usize>,
}

/// How many bytes of an over-long line a reject record keeps.
pub const TRUNCATED_RAW_BYTES: usize = 4096;

/// Appends one reject record line (SPEC §6) to `out`.
pub fn write_reject_record(
    out: &mut Vec<u8>,
    loc: Location<'_>,
    reason: &str,
    raw: &[u8],
    truncated: bool,
) {
    out.extend_from_slice(b"{\"source\":");
    write_json_str(out, loc.source);
    out.extend_from_slice(b",\"line\":");
    out.extend_from_slice(loc.line.to_string().as_bytes());
    if let Some(i) = loc.index {
        out.extend_from_slice(b",\"index\":");
        out.extend_from_slice(i.to_string().as_bytes());
    }
    out.extend_from_slice(b",\"error\":");
    write_json_str(out, reason);
    match std::str::from_utf8(raw) {
        Ok(s) => {
            out.extend_from_slice(b",\"raw\":");
            write_json_str(out, s);
        }
        Err(_) => {
            out.extend_from_slice(b",\"raw_base64\":\"");
            out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(raw)
                    .as_bytes(),
            );
            out.push(b'"');
        }
    }
    if truncated {
        out.extend_from_slice(b",\"raw_truncated\":true");
    }
    out.extend_from_slice(b"}\n");
}

/// Makes attacker-controlled text safe for a terminal: control characters
/// (C0, DEL, C1) and bidirectional overrides become visible escapes.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A short, quoted, terminal-safe rendering of a bad value for error messages.
pub fn quote_value(s: &str) -> String {
    const MAX: usize = 64;
    let mut end = s.len().min(MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut q = Vec::new();
    write_json_str(&mut q, &s[..end]);
    let mut q = String::from_utf8(q).expect("escaped UTF-8 stays UTF-8");
    if end < s.len() {
        q.push('…');
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn js(s: &str) -> String {
        let mut v = Vec::new();
        write_json_str(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn minimal_escaping_round_trips() {
        for s in [
            "plain",
            "é 日本 🦀",
            "q\"b\\s",
            "\n\r\t\u{8}\u{c}\u{1}\u{1f}",
            "\u{7f}/",
        ] {
            let enc = js(s);
            assert_eq!(serde_json::from_str::<String>(&enc).unwrap(), s);
            assert_eq!(serde_json::to_string(s).unwrap(), enc, "same as serde_json");
        }
    }

    #[test]
    fn escapes_found_in_every_position() {
        for len in 0..40 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
                    let mut s: Vec<char> = "abcdefghij€klmnopqrstuvwxyz0123456789ABCDEF"
                        .chars()
                        .take(len)
                        .collect();
                    s[at] = special;
                    let s: String = s.into_iter().collect();
                    assert_eq!(js(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn uvarint_matches_go() {
        let mut v = Vec::new();
        put_uvarint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        v.clear();
        put_uvarint(&mut v, 1);
        assert_eq!(v, [1]);
    }

    #[test]
    fn row_ids_are_unique_and_ordered() {
        let mut g = RowIdGen::new([1, 2, 3, 4, 5, 6], 300);
        let mut a = Vec::new();
        g.write_next(&mut a);
        let mut b = Vec::new();
        g.write_next(&mut b);
        assert_eq!(a, b"010203040506ac0201");
        assert_eq!(b, b"010203040506ac0202");
    }

    #[test]
    fn terminal_safe_escapes_controls_and_bidi() {
        assert_eq!(terminal_safe("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(terminal_safe("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(terminal_safe("日本"), "日本");
    }

    #[test]
    fn reject_record_uses_base64_for_invalid_utf8() {
        let mut v = Vec::new();
        let loc = Location {
            source: "-",
            line: 3,
            index: None,
        };
        write_reject_record(&mut v, loc, "invalid UTF-8 at byte 1", b"a\xffb", false);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "{\"source\":\"-\",\"line\":3,\"error\":\"invalid UTF-8 at byte 1\",\"raw_base64\":\"Yf9i\"}\n"
        );
    }
}
