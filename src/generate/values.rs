//! Values as JSON text, each drawn from the stream: [`Frag`] (a text prepared
//! both with UTF-8 and with ASCII-only escaping), strings, numbers, tokens,
//! timestamps in the forms real exports use, and IPv4/IPv6 addresses.

use super::rng::Rng;

/// A JSON text prepared twice: with non-ASCII as UTF-8 (minimal escaping) and
/// with every non-ASCII character as `\uXXXX`, as Python's `json.dumps` (and
/// so Dropbox's own SDK) writes by default.
#[derive(Debug, Clone)]
pub(super) struct Frag {
    utf8: Box<[u8]>,
    ascii: Box<[u8]>,
}

impl Frag {
    pub(super) fn build(f: impl Fn(&mut Vec<u8>, bool)) -> Frag {
        let mut utf8 = Vec::new();
        f(&mut utf8, false);
        let mut ascii = Vec::new();
        f(&mut ascii, true);
        Frag {
            utf8: utf8.into(),
            ascii: ascii.into(),
        }
    }

    /// A quoted JSON string.
    pub(super) fn string(s: &str) -> Frag {
        Frag::build(|out, ascii| push_str(out, s, ascii))
    }

    /// JSON text given verbatim (ASCII, already escaped), the same in both forms.
    pub(super) fn raw(json: &str) -> Frag {
        Frag {
            utf8: json.as_bytes().into(),
            ascii: json.as_bytes().into(),
        }
    }

    pub(super) fn get(&self, ascii: bool) -> &[u8] {
        if ascii {
            &self.ascii
        } else {
            &self.utf8
        }
    }
}

/// Appends `s` as a quoted JSON string.
pub(super) fn push_str(out: &mut Vec<u8>, s: &str, ascii: bool) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 || (ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.extend_from_slice(b"\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(HEX[usize::from((*u >> shift) & 0xf)]);
                    }
                }
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

pub(super) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Appends `n` zero-padded to `width` digits.
fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut n = n;
    for slot in tmp[20 - width..].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&tmp[20 - width..]);
}

/// Lowercase hexadecimal digits, for ids and escapes.
pub(super) const HEX: &[u8; 16] = b"0123456789abcdef";

pub(super) const B64URL: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Appends `len` characters of `alphabet` (length a power of two, at most 64).
pub(super) fn push_token(out: &mut Vec<u8>, rng: &mut Rng, len: usize, alphabet: &[u8]) {
    debug_assert!(alphabet.len().is_power_of_two() && alphabet.len() <= 64);
    let bits = alphabet.len().trailing_zeros();
    let mask = alphabet.len() as u64 - 1;
    let mut word = rng.next_u64();
    let mut left = 64 / bits;
    for _ in 0..len {
        if left == 0 {
            word = rng.next_u64();
            left = 64 / bits;
        }
        out.push(alphabet[(word & mask) as usize]);
        word >>= bits;
        left -= 1;
    }
}

pub(super) fn token(rng: &mut Rng, prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut v = prefix.as_bytes().to_vec();
    push_token(&mut v, rng, len, alphabet);
    String::from_utf8(v).expect("ASCII alphabet")
}

pub(super) fn push_digits(out: &mut Vec<u8>, rng: &mut Rng, len: usize) {
    for _ in 0..len {
        out.push(b'0' + rng.below(10) as u8);
    }
}

// ---------------------------------------------------------------------------
// Time

pub(super) const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn civil_from_days(z: i64) -> (i64, u64, u64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Events fall between the team log's launch and the catalogue's last date.
pub(super) const T_START: i64 = days_from_civil(2017, 1, 1) * 86_400;
const T_END: i64 = days_from_civil(2026, 8, 1) * 86_400;

/// UTC offsets seen in real exports, in minutes.
const OFFSETS: [i64; 10] = [330, -480, 0, 540, -210, 345, 840, -720, 60, -300];

fn push_datetime(out: &mut Vec<u8>, secs: i64, sep: u8) {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u64;
    push_padded(out, y as u64, 4);
    out.push(b'-');
    push_padded(out, m, 2);
    out.push(b'-');
    push_padded(out, d, 2);
    out.push(sep);
    push_padded(out, sod / 3600, 2);
    out.push(b':');
    push_padded(out, sod / 60 % 60, 2);
    out.push(b':');
    push_padded(out, sod % 60, 2);
}

fn push_fraction(out: &mut Vec<u8>, rng: &mut Rng) {
    out.push(b'.');
    let digits = rng.range(1, 9) as usize;
    push_digits(out, rng, digits);
}

/// A valid timestamp, quoted: mostly the API's `2017-01-25T15:51:30Z`, some
/// with 1–9 fraction digits, UTC offsets, or Panther's `2017-01-25 15:51:30`.
pub(super) fn push_timestamp(out: &mut Vec<u8>, rng: &mut Rng) {
    let mut t = T_START + rng.below((T_END - T_START) as u64) as i64;
    match rng.below(1000) {
        0 => t = days_from_civil(2020, 2, 29) * 86_400 + rng.below(86_400) as i64,
        1 => t = days_from_civil(2024, 2, 29) * 86_400 + rng.below(86_400) as i64,
        2 => t = days_from_civil(2017 + rng.below(9) as i64, 12, 31) * 86_400 + 86_399,
        _ => {}
    }
    out.push(b'"');
    match rng.below(100) {
        0..=87 => {
            push_datetime(out, t, b'T');
            out.push(b'Z');
        }
        88..=92 => {
            push_datetime(out, t, b'T');
            push_fraction(out, rng);
            out.push(b'Z');
        }
        93..=96 => {
            let off = *rng.pick(&OFFSETS);
            push_datetime(out, t + off * 60, b'T');
            if rng.below(2) == 0 {
                push_fraction(out, rng);
            }
            out.push(if off < 0 { b'-' } else { b'+' });
            push_padded(out, off.unsigned_abs() / 60, 2);
            out.push(b':');
            push_padded(out, off.unsigned_abs() % 60, 2);
        }
        _ => {
            push_datetime(out, t, b' ');
            if rng.below(2) == 0 {
                push_fraction(out, rng);
            }
        }
    }
    out.push(b'"');
}

// ---------------------------------------------------------------------------
// Addresses

fn push_hex16(out: &mut Vec<u8>, v: u64, upper: bool) {
    let hex: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { HEX };
    let mut started = false;
    for shift in [12, 8, 4, 0] {
        let nib = (v >> shift) & 0xf;
        if nib != 0 || started || shift == 0 {
            out.push(hex[nib as usize]);
            started = true;
        }
    }
}

fn push_ipv4(out: &mut Vec<u8>, rng: &mut Rng) {
    push_u64(out, rng.range(1, 223));
    for _ in 0..3 {
        out.push(b'.');
        push_u64(out, rng.below(256));
    }
}

/// A quoted IP address: IPv4 mostly, IPv6 in its compressed, full,
/// IPv4-mapped and uppercase spellings.
pub(super) fn push_ip(out: &mut Vec<u8>, rng: &mut Rng) {
    out.push(b'"');
    match rng.below(100) {
        0..=74 => push_ipv4(out, rng),
        75..=89 => {
            let prefixes: [&[u8]; 4] = [b"2001:db8:", b"2a02:6b8:", b"2600:1f18:", b"fe80:"];
            out.extend_from_slice(rng.pick::<&[u8]>(&prefixes));
            push_hex16(out, rng.below(0x10000), false);
            out.extend_from_slice(b"::");
            push_hex16(out, rng.below(0x10000), false);
            out.push(b':');
            push_hex16(out, rng.below(0x10000), false);
        }
        90..=95 => {
            for i in 0..8 {
                if i > 0 {
                    out.push(b':');
                }
                push_hex16(out, rng.below(0x10000), false);
            }
        }
        96..=98 => {
            out.extend_from_slice(b"::ffff:");
            push_ipv4(out, rng);
        }
        _ => {
            out.extend_from_slice(b"2A02:6B8::");
            push_hex16(out, rng.below(0x10000), true);
            out.push(b':');
            push_hex16(out, rng.below(0x10000), true);
        }
    }
    out.push(b'"');
}
