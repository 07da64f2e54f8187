//! The one terminal sanitizer: text from outside (log values in reject
//! reasons, file names, a server's error body) is made safe to print on a
//! terminal or in a line-oriented log before anything writes it to stderr.
//!
//! Every character that can move the cursor, break a line or reorder text is
//! written as a visible escape: C0 and C1 controls and DEL (`\n`, `\t`, `\r`
//! as those two-character escapes, the rest as `\u{1b}`), the Unicode line and
//! paragraph separators U+2028/U+2029, the bidi embeddings, overrides,
//! isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C),
//! the zero-width characters (U+200B–U+200D, U+2060) and U+FEFF. Everything
//! else, non-ASCII text included, is kept as it is.

/// Whether `c` must be escaped before it reaches a terminal.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'
                | '\u{061C}'
                | '\u{FEFF}'
        )
}

/// `s` with every unsafe character escaped.
pub fn sanitize(s: &str) -> String {
    sanitize_cut(s, usize::MAX)
}

/// Like [`sanitize`], keeping at most `max` characters of `s` (then `...`).
pub fn sanitize_cut(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max.saturating_add(8)));
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push_str("...");
            break;
        }
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_bidi_separators_and_zero_width() {
        assert_eq!(sanitize("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(sanitize("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(sanitize("l1\nl2\r\t"), "l1\\nl2\\r\\t");
        assert_eq!(sanitize("a\u{2028}b\u{2029}c"), "a\\u{2028}b\\u{2029}c");
        assert_eq!(sanitize("z\u{200b}w\u{feff}"), "z\\u{200b}w\\u{feff}");
        assert_eq!(sanitize("\u{7f}\u{85}\u{9b}"), "\\u{7f}\\u{85}\\u{9b}");
        assert_eq!(sanitize("\u{2066}i\u{2069}"), "\\u{2066}i\\u{2069}");
        assert_eq!(sanitize("日本 é 🦀"), "日本 é 🦀");
    }

    #[test]
    fn cuts_after_max_characters() {
        assert_eq!(sanitize_cut("abcdef", 3), "abc...");
        assert_eq!(sanitize_cut("abc", 3), "abc");
        assert_eq!(sanitize_cut("日本語です", 2), "日本...");
    }

    #[test]
    fn nothing_unsafe_survives_on_any_code_point_below_u3000() {
        for cp in 0u32..0x3000 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let out = sanitize(&c.to_string());
            assert!(
                out.chars().all(|o| !is_unsafe(o)),
                "U+{cp:04X} came out as {out:?}"
            );
        }
    }
}
