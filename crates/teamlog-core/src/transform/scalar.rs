//! Scalar coercion: one declared scalar's raw JSON text checked against its
//! type (string, boolean, integers, float, timestamp, json) and written in
//! output form, with its indicators collected.

use super::*;

/// The JSON type of a raw value, for error messages.
pub(super) fn type_name(raw: &str) -> String {
    match raw.as_bytes().first() {
        Some(b'{') => "object".into(),
        Some(b'[') => "array".into(),
        Some(b'"') => "string".into(),
        _ => quote_value(raw).trim_matches('"').to_string(),
    }
}

#[cold]
pub(super) fn type_error<E: de::Error>(sc: &mut Scratch, expected: &'static str, got: String) -> E {
    sc.fail(InvalidKind::Type { expected, got })
}

/// Whether `b` holds a `\\`. Most strings are short (names, ids, tags), where
/// memchr's setup costs more than this word-at-a-time scan.
#[inline]
pub(super) fn has_backslash(b: &[u8]) -> bool {
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
pub(super) fn string_content<'a, E: de::Error>(
    raw: &'a str,
    sc: &mut Scratch,
) -> Result<Cow<'a, str>, E> {
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
pub(super) fn scalar<E: de::Error>(
    raw: &str,
    v: &ValuePlan,
    sc: &mut Scratch,
) -> Result<Presence, E> {
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
            if sc.nanos_range {
                let text = &sc.arena[sc.arena.len() - timestamp::FORMATTED_LEN..];
                if let Err(range) = timestamp::check_nanos_range(text) {
                    let got = quote_value(&String::from_utf8_lossy(text));
                    return Err(sc.fail(InvalidKind::Timestamp {
                        expected: range,
                        got,
                    }));
                }
            }
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
