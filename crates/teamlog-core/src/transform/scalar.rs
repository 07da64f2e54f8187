//! Scalar coercion: one declared scalar's raw JSON text checked against its
//! type (string, boolean, integers, float, timestamp, json) and written in
//! output form, with its indicators collected.

use super::*;
use crate::schema::Validate;

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

/// What a `json` field's raw text (validated by serde_json as it was read)
/// adds: with `deep_indicators` the indicators inside it, and when the lint
/// watches it, its top-level `.tag`.
#[inline]
fn json_field(raw: &str, v: &ValuePlan, sc: &mut Scratch) {
    if sc.deep {
        crate::deep::scan(raw, &mut sc.indicators, &mut sc.deep_scratch);
    }
    if Captured::is_details(&sc.roles, v) {
        let tag = crate::deep::top_tag(raw, &mut sc.deep_scratch);
        sc.captured.details_tag(tag);
    }
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
        FieldType::Json if v.embedded_json && first == b'"' => {
            embedded_json(raw, sc)?;
            json_field(raw, v, sc);
        }
        FieldType::Json => {
            sc.arena.extend_from_slice(raw.as_bytes());
            json_field(raw, v, sc);
        }
        FieldType::String => match first {
            b'"' => {
                let s = string_content(raw, sc)?;
                if let Some(rule) = &v.validate {
                    validate(rule, &s, sc)?;
                }
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
                sc.capture(v, &s);
            }
            b'{' | b'[' => return Err(type_error(sc, "string", type_name(raw))),
            _ => {
                // A number or boolean keeps its literal text (`1.50` stays "1.50").
                if let Some(rule) = &v.validate {
                    validate(rule, raw, sc)?;
                }
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
        FieldType::Timestamp(formats) => {
            let ts = match &formats[..] {
                [one] => one_timestamp(raw, *one, sc)?,
                many => any_timestamp(raw, many, sc)?,
            };
            sc.arena.push(b'"');
            ts.write(&mut sc.arena);
            if sc.nanos_range {
                let text = &sc.arena[sc.arena.len() - timestamp::FORMATTED_LEN..];
                if let Err(range) = timestamp::check_nanos_range(text) {
                    let got = quote_value(&String::from_utf8_lossy(text));
                    return Err(sc.fail(InvalidKind::Timestamp {
                        expected: Cow::Borrowed(range),
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

/// A timestamp in its one `timeFormat`.
fn one_timestamp<E: de::Error>(
    raw: &str,
    format: TimeFormat,
    sc: &mut Scratch,
) -> Result<Timestamp, E> {
    let quoted = raw.as_bytes()[0] == b'"';
    if matches!(format, TimeFormat::Rfc3339 | TimeFormat::Strftime(_)) && !quoted {
        return Err(sc.fail(InvalidKind::Timestamp {
            expected: format_like(format),
            got: type_name(raw),
        }));
    }
    let text = if quoted {
        string_content(raw, sc)?
    } else {
        Cow::Borrowed(raw)
    };
    match parse_as(format, &text, quoted) {
        Some(t) => Ok(t),
        None => Err(sc.fail(InvalidKind::Timestamp {
            expected: format_like(format),
            got: quote_value(&text),
        })),
    }
}

/// A timestamp in the first of its `timeFormats` that reads it.
#[cold]
fn any_timestamp<E: de::Error>(
    raw: &str,
    formats: &[TimeFormat],
    sc: &mut Scratch,
) -> Result<Timestamp, E> {
    let quoted = raw.as_bytes()[0] == b'"';
    let text = if quoted {
        string_content(raw, sc)?
    } else {
        Cow::Borrowed(raw)
    };
    if let Some(t) = formats.iter().find_map(|f| parse_as(*f, &text, quoted)) {
        return Ok(t);
    }
    let names: Vec<Cow<str>> = formats.iter().map(|f| format_like(*f)).collect();
    Err(sc.fail(InvalidKind::Timestamp {
        expected: Cow::Owned(format!("one of its timeFormats ({})", names.join("; "))),
        got: if quoted {
            quote_value(&text)
        } else {
            type_name(raw)
        },
    }))
}

/// `text` read as `format`; RFC 3339 only from a JSON string.
fn parse_as(format: TimeFormat, text: &str, quoted: bool) -> Option<Timestamp> {
    match format {
        TimeFormat::Rfc3339 => quoted.then(|| timestamp::parse_rfc3339(text)).flatten(),
        TimeFormat::Strftime(layout) => quoted
            .then(|| timestamp::parse_strftime(text, layout))
            .flatten(),
        unix => timestamp::parse_unix(text, unix),
    }
}

/// What a format looks like, for reject reasons.
fn format_like(format: TimeFormat) -> Cow<'static, str> {
    Cow::Borrowed(match format {
        TimeFormat::Strftime(layout) => {
            return Cow::Owned(format!("a string in the layout {layout:?}"))
        }
        TimeFormat::Rfc3339 => "RFC 3339 like 2017-01-25T15:51:30Z",
        TimeFormat::Unix => "a number of seconds since 1970",
        TimeFormat::UnixMs => "a number of milliseconds since 1970",
        TimeFormat::UnixUs => "a number of microseconds since 1970",
        TimeFormat::UnixNs => "a number of nanoseconds since 1970",
    })
}

/// Checks a string against its field's `validate:` lists.
#[inline]
pub(super) fn validate<E: de::Error>(rule: &Validate, v: &str, sc: &mut Scratch) -> Result<(), E> {
    match rule.refuses(v) {
        None => Ok(()),
        Some(list) => Err(sc.fail(InvalidKind::NotAllowed {
            list,
            got: quote_value(v),
        })),
    }
}

/// A `json` field with `isEmbeddedJSON` given as a string: the JSON the
/// string holds, checked and written without its insignificant white space
/// (a raw newline in it would break the output line).
#[cold]
fn embedded_json<E: de::Error>(raw: &str, sc: &mut Scratch) -> Result<(), E> {
    let text = string_content(raw, sc)?;
    if let Err(e) = serde_json::from_str::<&RawValue>(&text) {
        return Err(embedded_error(&e, sc));
    }
    let mut in_string = false;
    let mut escaped = false;
    for &b in text.as_bytes() {
        if in_string {
            in_string = escaped || b != b'"';
            escaped = !escaped && b == b'\\';
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        sc.arena.push(b);
    }
    Ok(())
}

/// The reject for an `isEmbeddedJSON` string that is not JSON.
#[cold]
pub(super) fn embedded_error<E: de::Error>(e: &serde_json::Error, sc: &mut Scratch) -> E {
    let msg = e.to_string();
    let msg = msg
        .split(" at line ")
        .next()
        .unwrap_or_default()
        .to_string();
    sc.fail(InvalidKind::Embedded(msg))
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
