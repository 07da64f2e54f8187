//! `details` templates: the catalogue's example of each event type compiled
//! into literal text with holes (`.tag` values stay; other strings, numbers
//! and booleans become holes), and filled with varied values per event.

use super::pools::Pools;
use super::rng::Rng;
use super::values::{push_ip, push_timestamp, push_token, push_u64, B64URL};

#[derive(Debug, Clone, Copy)]
enum Hole {
    Email,
    Name,
    Word,
    Path,
    Time,
    Ip,
    /// Random characters of the original's length between a kept prefix
    /// (`"dbid:`) and the closing quote.
    Token(u8),
    SmallInt,
    BigInt,
    Bool,
}

#[derive(Debug, Clone, Copy)]
enum Seg {
    Lit(u32, u32),
    Hole(Hole),
}

/// A `details` object with holes for its values.
#[derive(Debug, Default)]
pub(super) struct Template {
    lits: Vec<u8>,
    segs: Vec<Seg>,
}

enum Class {
    Keep,
    Hole(Hole),
    /// Keep the first `prefix` bytes, then `len` random characters.
    Token {
        prefix: usize,
        len: usize,
    },
}

fn looks_like_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[b.len() - 1] == b'Z'
}

fn classify(key: &str, v: &str) -> Class {
    if key == ".tag" {
        return Class::Keep;
    }
    if v.contains('@') {
        return Class::Hole(Hole::Email);
    }
    if looks_like_timestamp(v) {
        return Class::Hole(Hole::Time);
    }
    if v.starts_with('/') {
        return Class::Hole(Hole::Path);
    }
    if v.parse::<std::net::IpAddr>().is_ok() {
        return Class::Hole(Hole::Ip);
    }
    if v.starts_with("http") || v.contains(' ') {
        return if key.contains("name") || key.contains("title") {
            Class::Hole(Hole::Name)
        } else {
            Class::Keep
        };
    }
    let id_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if let Some((prefix, rest)) = v.split_once(':') {
        if !prefix.is_empty()
            && prefix.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && rest.len() >= 8
            && rest.chars().all(id_char)
        {
            return Class::Token {
                prefix: prefix.len() + 1,
                len: rest.len().min(64),
            };
        }
    }
    if key.ends_with("_id") && v.len() >= 8 && v.chars().all(id_char) {
        return Class::Token {
            prefix: 0,
            len: v.len().min(64),
        };
    }
    if key.contains("name") || key.contains("title") {
        return Class::Hole(Hole::Name);
    }
    if v == "abc" {
        return Class::Hole(Hole::Word);
    }
    Class::Keep
}

/// End of the JSON string starting at `b[start] == b'"'`: the index of its
/// closing quote.
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    b.len() - 1
}

impl Template {
    fn flush(&mut self, lit_start: &mut usize) {
        if self.lits.len() > *lit_start {
            self.segs
                .push(Seg::Lit(*lit_start as u32, self.lits.len() as u32));
            *lit_start = self.lits.len();
        }
    }

    fn hole(&mut self, lit_start: &mut usize, h: Hole) {
        self.flush(lit_start);
        self.segs.push(Seg::Hole(h));
    }

    /// Compiles the raw JSON text of an example's `details`.
    pub(super) fn compile(raw: &str) -> Template {
        let b = raw.as_bytes();
        let mut t = Template::default();
        let mut lit_start = 0;
        let mut last_key = "";
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    let end = string_end(b, i);
                    let inner = &raw[i + 1..end];
                    let mut k = end + 1;
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if b.get(k) == Some(&b':') {
                        last_key = inner;
                        t.lits.extend_from_slice(&b[i..=end]);
                    } else {
                        match classify(last_key, inner) {
                            Class::Keep => t.lits.extend_from_slice(&b[i..=end]),
                            Class::Hole(h) => t.hole(&mut lit_start, h),
                            Class::Token { prefix, len } => {
                                t.lits.extend_from_slice(&b[i..=i + prefix]);
                                t.hole(&mut lit_start, Hole::Token(len as u8));
                                t.lits.push(b'"');
                            }
                        }
                    }
                    i = end + 1;
                }
                b'-' | b'0'..=b'9' => {
                    let end = b[i + 1..]
                        .iter()
                        .position(|c| !matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                        .map_or(b.len(), |p| i + 1 + p);
                    match raw[i..end].parse::<u64>() {
                        Ok(v) if v > 1 << 32 => t.hole(&mut lit_start, Hole::BigInt),
                        Ok(_) => t.hole(&mut lit_start, Hole::SmallInt),
                        Err(_) => t.lits.extend_from_slice(&b[i..end]),
                    }
                    i = end;
                }
                b't' if raw[i..].starts_with("true") => {
                    t.hole(&mut lit_start, Hole::Bool);
                    i += 4;
                }
                b'f' if raw[i..].starts_with("false") => {
                    t.hole(&mut lit_start, Hole::Bool);
                    i += 5;
                }
                c => {
                    t.lits.push(c);
                    i += 1;
                }
            }
        }
        t.flush(&mut lit_start);
        t
    }

    /// Appends one `details` object: the literal text with every hole filled.
    pub(super) fn fill(&self, rng: &mut Rng, pools: &Pools, ascii: bool, out: &mut Vec<u8>) {
        for seg in &self.segs {
            match *seg {
                Seg::Lit(a, b) => out.extend_from_slice(&self.lits[a as usize..b as usize]),
                Seg::Hole(h) => match h {
                    Hole::Email => out.extend_from_slice(rng.pick(&pools.emails).get(ascii)),
                    Hole::Name => out.extend_from_slice(rng.pick(&pools.names).get(ascii)),
                    Hole::Word => out.extend_from_slice(rng.pick(&pools.words).get(ascii)),
                    Hole::Path => out.extend_from_slice(rng.pick(&pools.paths).get(ascii)),
                    Hole::Time => push_timestamp(out, rng),
                    Hole::Ip => push_ip(out, rng),
                    Hole::Token(len) => push_token(out, rng, usize::from(len), B64URL),
                    Hole::SmallInt => push_u64(out, rng.below(500)),
                    Hole::BigInt => push_u64(out, rng.below(1 << 42)),
                    Hole::Bool => {
                        out.extend_from_slice(if rng.below(2) == 0 { b"true" } else { b"false" })
                    }
                },
            }
        }
    }
}
