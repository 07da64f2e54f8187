//! JSON writing shared by the transform and the writer: strings with minimal
//! escaping, lowercase hex, and the reject record format (docs/CONTRACT.md,
//! "Rejects").

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

/// Where a rejected record came from.
#[derive(Clone, Copy, Debug)]
pub struct Location<'a> {
    pub source: &'a str,
    /// The source's exact name in base64, when it is not UTF-8 (`source`
    /// is then a readable form of it).
    pub source_base64: Option<&'a str>,
    pub line: u64,
    /// Element index inside an API response envelope.
    pub index: Option<usize>,
}

/// How many bytes of an over-long line a reject record keeps.
pub const TRUNCATED_RAW_BYTES: usize = 4096;

/// Appends one reject record line (docs/CONTRACT.md §6) to `out`.
pub fn write_reject_record(
    out: &mut Vec<u8>,
    loc: Location<'_>,
    reason: &str,
    raw: &[u8],
    truncated: bool,
) {
    out.extend_from_slice(b"{\"source\":");
    write_json_str(out, loc.source);
    if let Some(b) = loc.source_base64 {
        out.extend_from_slice(b",\"source_base64\":");
        write_json_str(out, b);
    }
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

/// A short, quoted rendering (JSON-escaped, so terminal-safe) of a bad value for error messages.
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
    fn reject_record_uses_base64_for_invalid_utf8() {
        let mut v = Vec::new();
        let loc = Location {
            source_base64: None,
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
