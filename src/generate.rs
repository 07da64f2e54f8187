//! `teamlog generate`: a corpus of realistic raw Dropbox team-log events, and of
//! the bad lines teamlog must reject, for tests and benchmarks (docs/CONTRACT.md §9).
//!
//! What this module owns:
//! - drawing from the engine's event catalogue (`teamlog_core::catalogue`:
//!   the current categories and their types), with one `details` template
//!   per event type compiled from the catalogue's example of it: `.tag`
//!   values stay, other strings, numbers and booleans become holes filled
//!   with varied values;
//! - every actor, context, participant, access-method and asset shape of
//!   `fixtures/dropbox/wire_shapes.json`, written by hand with varied values
//!   (inlined union members included), and the realistic noise of real
//!   archives: IPv4 and IPv6, non-ASCII and bidi text, JSON escapes, ASCII-only
//!   escaping as Python's SDK writes it, timestamps with fractions, offsets and
//!   Panther's own form, compact unions, a tail of very large events;
//! - `BAD_LINES`, one entry per way a line gets rejected (docs/CONTRACT.md §6), cycled
//!   through when `invalid_rate` asks for bad lines.
//!
//! It never validates: that is the engine's job. The bytes depend only on the
//! options, never on the thread count: lines are made in blocks of
//! [`BLOCK_LINES`], each with its own PRNG seeded from (seed, block index), and
//! written in block order.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::OnceLock;
use teamlog_core::catalogue::CategoryStatus;

/// Lines written when neither a count nor a size is given.
pub const DEFAULT_COUNT: u64 = 1000;

/// Lines per block: the unit of parallel work and of PRNG seeding. Changing it
/// changes every corpus, so it is fixed, not a flag.
pub const BLOCK_LINES: u64 = 2048;

/// What to generate. `count` and `bytes` both limit the output (the first one
/// reached wins); with neither, [`DEFAULT_COUNT`] lines are written.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Lines to write: events, bad lines and blank lines together.
    pub count: Option<u64>,
    /// Stop at the first line end at or past this many bytes.
    pub bytes: Option<u64>,
    /// Seed of the pseudo-random stream.
    pub seed: u64,
    /// Fraction of lines (0..=1) that teamlog must reject.
    pub invalid_rate: f64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            count: None,
            bytes: None,
            seed: 1,
            invalid_rate: 0.0,
        }
    }
}

/// What was written. `lines == valid + invalid + blank`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerateStats {
    /// Lines written; each ends with `\n` (a few with `\r\n`, as Windows
    /// exports do).
    pub lines: u64,
    /// Event lines teamlog accepts.
    pub valid: u64,
    /// Lines teamlog rejects.
    pub invalid: u64,
    /// Empty or whitespace-only lines (valid, counted as blank by teamlog).
    pub blank: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Writes the corpus described by `opts` to `out` and flushes it.
///
/// Fails only when `out` fails or `invalid_rate` is outside `0..=1`.
pub fn generate<W: Write>(opts: &GenerateOptions, out: W) -> io::Result<GenerateStats> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    generate_with_workers(opts, out, workers)
}

/// [`generate`] on `workers` threads (the calling one included); the bytes
/// do not depend on it.
fn generate_with_workers<W: Write>(
    opts: &GenerateOptions,
    mut out: W,
    workers: usize,
) -> io::Result<GenerateStats> {
    let workers = workers.max(1);
    if !(0.0..=1.0).contains(&opts.invalid_rate) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid rate {} is outside 0..1", opts.invalid_rate),
        ));
    }
    let max_lines = match (opts.count, opts.bytes) {
        (Some(n), _) => n,
        (None, Some(_)) => u64::MAX,
        (None, None) => DEFAULT_COUNT,
    };
    let max_bytes = opts.bytes.unwrap_or(u64::MAX);
    let ctx = Ctx::new(opts.seed, opts.invalid_rate);
    let mut blocks: Vec<Block> = (0..workers).map(|_| Block::default()).collect();
    let mut stats = GenerateStats::default();
    let mut next_block: u64 = 0;
    let lines_in = |block: u64| BLOCK_LINES.min(max_lines - block * BLOCK_LINES);

    'blocks: loop {
        let first_line = next_block.saturating_mul(BLOCK_LINES);
        if first_line >= max_lines || stats.bytes >= max_bytes {
            break;
        }
        let wanted = (max_lines - first_line).div_ceil(BLOCK_LINES);
        let batch = usize::try_from(wanted).map_or(workers, |w| w.min(workers));
        std::thread::scope(|s| {
            let (head, rest) = blocks[..batch].split_first_mut().expect("batch >= 1");
            for (k, block) in rest.iter_mut().enumerate() {
                let index = next_block + 1 + k as u64;
                let ctx = &ctx;
                s.spawn(move || ctx.fill_block(index, lines_in(index), block));
            }
            ctx.fill_block(next_block, lines_in(next_block), head);
        });
        next_block += batch as u64;

        for block in &blocks[..batch] {
            let mut cut = block.ends.len();
            let last = stats.bytes + block.buf.len() as u64 >= max_bytes;
            if last {
                let need = max_bytes - stats.bytes;
                cut = block
                    .ends
                    .iter()
                    .position(|&end| end as u64 >= need)
                    .map_or(cut, |p| p + 1);
            }
            let end = if cut == 0 { 0 } else { block.ends[cut - 1] };
            out.write_all(&block.buf[..end])?;
            for kind in &block.kinds[..cut] {
                match kind {
                    LineKind::Valid => stats.valid += 1,
                    LineKind::Invalid => stats.invalid += 1,
                    LineKind::Blank => stats.blank += 1,
                }
            }
            stats.lines += cut as u64;
            stats.bytes += end as u64;
            if last {
                break 'blocks;
            }
        }
    }
    out.flush()?;
    Ok(stats)
}

// ---------------------------------------------------------------------------
// PRNG

/// SplitMix64 (Steele, Lea and Flood, 2014). In-house rather than the `rand`
/// crate so that a seed names the same corpus across crate upgrades: tests and
/// benchmark results quote seeds.
#[derive(Debug, Clone)]
struct Rng(u64);

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(mix64(seed ^ 0x7EA1_106E_u64))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-40
    /// for the small `n` used here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive - lo + 1)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Index drawn with the given weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if r < u64::from(w) {
                return i;
            }
            r -= u64::from(w);
        }
        weights.len() - 1
    }
}

// ---------------------------------------------------------------------------
// JSON text

/// A JSON text prepared twice: with non-ASCII as UTF-8 (minimal escaping) and
/// with every non-ASCII character as `\uXXXX`, as Python's `json.dumps` (and
/// so Dropbox's own SDK) writes by default.
#[derive(Debug, Clone)]
struct Frag {
    utf8: Box<[u8]>,
    ascii: Box<[u8]>,
}

impl Frag {
    fn build(f: impl Fn(&mut Vec<u8>, bool)) -> Frag {
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
    fn string(s: &str) -> Frag {
        Frag::build(|out, ascii| push_str(out, s, ascii))
    }

    /// JSON text given verbatim (ASCII, already escaped), the same in both forms.
    fn raw(json: &str) -> Frag {
        Frag {
            utf8: json.as_bytes().into(),
            ascii: json.as_bytes().into(),
        }
    }

    fn get(&self, ascii: bool) -> &[u8] {
        if ascii {
            &self.ascii
        } else {
            &self.utf8
        }
    }
}

/// Appends `s` as a quoted JSON string.
fn push_str(out: &mut Vec<u8>, s: &str, ascii: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
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

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
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

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Appends `len` characters of `alphabet` (length a power of two, at most 64).
fn push_token(out: &mut Vec<u8>, rng: &mut Rng, len: usize, alphabet: &[u8]) {
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

fn token(rng: &mut Rng, prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut v = prefix.as_bytes().to_vec();
    push_token(&mut v, rng, len, alphabet);
    String::from_utf8(v).expect("ASCII alphabet")
}

fn push_digits(out: &mut Vec<u8>, rng: &mut Rng, len: usize) {
    for _ in 0..len {
        out.push(b'0' + rng.below(10) as u8);
    }
}

// ---------------------------------------------------------------------------
// Time

const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u64, u64) {
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
const T_START: i64 = days_from_civil(2017, 1, 1) * 86_400;
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
fn push_timestamp(out: &mut Vec<u8>, rng: &mut Rng) {
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
    let hex: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
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
fn push_ip(out: &mut Vec<u8>, rng: &mut Rng) {
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

// ---------------------------------------------------------------------------
// Names and other text

const LATIN_FIRST: &[&str] = &[
    "John",
    "Jane",
    "Alice",
    "Bob",
    "Carol",
    "David",
    "Emma",
    "Frank",
    "Grace",
    "Hiro",
    "Ivan",
    "Julia",
    "Karl",
    "Laura",
    "Mohammed",
    "Nina",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wei",
    "Xavier",
    "Yuki",
    "Zoë",
    "José",
    "François",
    "Søren",
    "Łukasz",
    "Ayşe",
    "Renée",
    "Björn",
    "Chloé",
    "Dana",
    "Ngozi",
    "Olga",
    "Pedro",
];

const LATIN_LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Müller",
    "García",
    "Núñez",
    "O'Brien",
    "Kowalski",
    "Nakamura",
    "Rossi",
    "Dubois",
    "Jensen",
    "Novák",
    "Silva",
    "Schmidt",
    "Lefèvre",
    "Eriksson",
    "Papadopoulos",
    "Nguyen",
    "Kim",
    "Patel",
    "van der Berg",
    "D'Arcy",
    "Smith-Jones",
    "Okafor",
    "Ivanova",
];

/// Display names from other scripts and with awkward characters, each with an
/// email handle.
const INTL_NAMES: &[(&str, &str)] = &[
    ("山田 太郎", "taro.yamada"),
    ("佐藤 花子", "hanako.sato"),
    ("李小龙", "xiaolong.li"),
    ("王芳", "fang.wang"),
    ("김민수", "minsu.kim"),
    ("이서연", "seoyeon.lee"),
    ("محمد علي", "m.ali"),
    ("فاطمة الزهراء", "fatima.z"),
    ("דוד כהן", "david.cohen"),
    ("שרה לוי", "sarah.levi"),
    ("Иван Петров", "ivan.petrov"),
    ("Ελένη Παπαδοπούλου", "eleni.p"),
    ("राहुल शर्मा", "rahul.sharma"),
    ("Nguyễn Văn An", "an.nguyen"),
    ("Alex 🦀 Chen", "alex.chen"),
    ("Sam 👩‍💻 Lee", "sam.lee"),
    ("🎉 Party Bot", "party.bot"),
    ("Jimmy \"JJ\" O'Neil", "jj.oneil"),
    ("ACME\\svc-backup", "svc-backup"),
    ("  Padded Name  ", "padded"),
    ("Tab\tName", "tab.name"),
    ("Ünïcödé Ŭser", "unicode.user"),
    ("𝔉𝔯𝔞𝔨𝔱𝔲𝔯 Font", "fraktur"),
    ("Zoë \u{202e}desreveR", "zoe.r"),
    ("Σωκράτης", "socrates"),
    ("Ngũgĩ wa Thiong'o", "ngugi"),
];

const TEAM_NAMES: &[&str] = &[
    "A Team",
    "Acme Corp",
    "Acme Corp (EU)",
    "株式会社サンプル",
    "فريق العمل",
    "צוות הפיתוח",
    "Team \"Alpha\"",
    "Ünïcödé GmbH",
];

const TEAM_DOMAINS: &[&str] = &["acmecorp.com", "acme.example", "acme-eu.example"];

const OUTSIDE_DOMAINS: &[&str] = &[
    "gmail.example",
    "partner.example",
    "outlook.example",
    "contractor.example",
    "müller.example",
    "例え.jp",
];

const GROUP_NAMES: &[&str] = &[
    "Finance",
    "IT Department",
    "Engineering",
    "営業部",
    "Marketing 🚀",
    "Legal \"Core\"",
    "الموارد البشرية",
    "צוות פיתוח",
    "R&D <EU>",
    "Support\\Tier2",
    "Sales — EMEA",
    "Design/UX",
    "All Employees",
];

const APP_NAMES: &[&str] = &[
    "Slack",
    "Zoom",
    "Microsoft Teams",
    "Salesforce",
    "Okta",
    "Backup Bot 🤖",
    "社内ツール",
    "Zapier",
    "Custom \"Sync\" App",
    "DocuSign",
];

const RESELLERS: &[(&str, &str)] = &[
    ("Reseller Inc", "ops@reseller.example"),
    ("Partner GmbH & Co. KG", "support@partner-gmbh.example"),
    ("リセラー株式会社", "sales@reseller-jp.example"),
];

const ORG_TEAMS: &[&str] = &[
    "Org Team",
    "Acme Holdings",
    "株式会社サンプル",
    "Ünïcödé GmbH",
];

const DOC_TITLES: &[&str] = &[
    "Meeting notes",
    "Q3 Planning",
    "会議メモ 2024",
    "Roadmap 🚀",
    "ملاحظات الاجتماع",
    "פרוטוקול ישיבה",
    "Budget \"final\" v2",
    "Notes\\drafts",
    "Résumé review",
    "Line one\nLine two",
    "Onboarding checklist",
];

/// (city, region, country code)
const PLACES: &[(&str, &str, &str)] = &[
    ("San Francisco", "California", "US"),
    ("New York", "New York", "US"),
    ("São Paulo", "São Paulo", "BR"),
    ("東京", "東京都", "JP"),
    ("Zürich", "Zurich", "CH"),
    ("القاهرة", "محافظة القاهرة", "EG"),
    ("תל אביב-יפו", "מחוז תל אביב", "IL"),
    ("München", "Bayern", "DE"),
    ("Montréal", "Québec", "CA"),
    ("Mumbai", "Maharashtra", "IN"),
    ("London", "England", "GB"),
    ("Kraków", "Lesser Poland", "PL"),
    ("Reykjavík", "Capital Region", "IS"),
    ("Seoul", "서울특별시", "KR"),
    ("Москва", "Москва", "RU"),
    ("Dublin", "Leinster", "IE"),
];

const DIRS: &[&str] = &[
    "/Projects",
    "/Team Folder",
    "/Finance/2024",
    "/Contract Work/Draft",
    "/レポート",
    "/Фото",
    "/مشاريع",
    "/פרויקטים",
    "/Marketing/Campaign 🚀",
    "/Legal/\"Confidential\"",
    "/Shared/C:\\temp",
    "/Home/Ünïcödé",
];

const FILES: &[&str] = &[
    "reports.xls",
    "Budget Q3.xlsx",
    "會議記錄.docx",
    "résumé.pdf",
    "photo 😀.png",
    "invoice\u{202e}fdp.exe",
    "notes.txt",
    "ملف.pdf",
    "קובץ.docx",
    "archive.tar.gz",
    "Draft (1).docx",
    "naïve café.md",
];

/// Free text for details values. The entries starting with `"` are JSON
/// already, to carry escapes a writer chose (`\u00e9` for é, `\u0000`).
const WORDS: &[&str] = &[
    "Quarterly report",
    "Please review 🙏",
    "LGTM",
    "He said \"ship it\"",
    "C:\\Users\\admin",
    "\"Caf\\u00e9 menu\"",
    "\"nul\\u0000byte\"",
    "تقرير ربع سنوي",
    "会議メモ",
    "Line one\nLine two",
    "Tab\tseparated",
    "emoji 😀 outside the BMP",
    "Ω≈ç√∫",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "50% done",
    "über",
    "mañana",
    "abc",
    "ok",
];

/// An ASCII email handle from a Latin name: accents folded, the rest dropped.
fn fold_ascii(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let folded = match c {
            'a'..='z' | '0'..='9' | '-' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'á' | 'à' | 'ä' | 'å' | 'ã' => Some('a'),
            'é' | 'è' | 'ë' | 'ê' => Some('e'),
            'í' | 'ï' => Some('i'),
            'ó' | 'ö' | 'ø' | 'ô' => Some('o'),
            'ú' | 'ü' => Some('u'),
            'ç' => Some('c'),
            'ñ' => Some('n'),
            'ł' | 'Ł' => Some('l'),
            'ş' => Some('s'),
            _ => None,
        };
        out.extend(folded);
    }
    out
}

// ---------------------------------------------------------------------------
// Pools: the team's people, groups, apps and files, made once per seed

/// Prebuilt fragments, picked by events. A real team log names the same
/// people again and again, and copying prebuilt bytes keeps generation fast.
struct Pools {
    /// `{".tag":"team_member",...}` user objects.
    members: Vec<Frag>,
    /// `{".tag":"non_team_member",...}` user objects.
    outsiders: Vec<Frag>,
    /// `{".tag":"trusted_non_team_member",...}` user objects.
    trusted: Vec<Frag>,
    /// Inlined participant groups `{".tag":"group","group_id":..}`.
    groups: Vec<Frag>,
    /// `{".tag":"team_linked_app"|"user_linked_app",...}` app objects.
    apps: Vec<Frag>,
    /// Inlined reseller actors.
    resellers: Vec<Frag>,
    /// `{".tag":"organization_team",...}` contexts.
    org_teams: Vec<Frag>,
    /// Any of the five asset shapes.
    assets: Vec<Frag>,
    /// `,"city":..,"region":..,"country":..` tails of geo_location.
    places: Vec<Frag>,
    /// Quoted strings for details holes.
    emails: Vec<Frag>,
    names: Vec<Frag>,
    words: Vec<Frag>,
    paths: Vec<Frag>,
}

fn person_name(rng: &mut Rng) -> (String, String) {
    if rng.below(10) < 6 {
        let first = *rng.pick(LATIN_FIRST);
        let last = *rng.pick(LATIN_LAST);
        let mut handle = format!("{}.{}", fold_ascii(first), fold_ascii(last));
        if rng.below(4) == 0 {
            let _ = write!(handle, "{}", rng.below(100));
        }
        (format!("{first} {last}"), handle)
    } else {
        let (display, handle) = *rng.pick(INTL_NAMES);
        (display.to_owned(), handle.to_owned())
    }
}

fn email(rng: &mut Rng, handle: &str, domain: &str) -> String {
    match rng.below(100) {
        0..=2 => format!("{handle}@{domain}").to_uppercase(),
        3..=5 => format!("{handle}+dropbox@{domain}"),
        6 => format!(" {handle}@{domain} "),
        _ => format!("{handle}@{domain}"),
    }
}

fn external_id(rng: &mut Rng) -> Option<String> {
    match rng.below(10) {
        0..=1 => Some(format!(
            "ADSYNC S-1-5-21-{}-{}-{}-{}",
            rng.range(1_000_000_000, 4_294_967_295),
            rng.range(1_000_000_000, 4_294_967_295),
            rng.range(100_000_000, 999_999_999),
            rng.range(1000, 99_999)
        )),
        2..=3 => Some(format!("ext-{}", rng.below(100_000))),
        _ => None,
    }
}

struct User {
    tag: &'static str,
    account_id: Option<String>,
    display_name: String,
    email: String,
    team_member_id: Option<String>,
    external_id: Option<String>,
    trusted_type: Option<&'static str>,
    team: Option<&'static str>,
}

impl User {
    fn frag(&self) -> Frag {
        Frag::build(|o, ascii| {
            o.extend_from_slice(b"{\".tag\":\"");
            o.extend_from_slice(self.tag.as_bytes());
            o.push(b'"');
            if let Some(id) = &self.account_id {
                o.extend_from_slice(b",\"account_id\":");
                push_str(o, id, ascii);
            }
            o.extend_from_slice(b",\"display_name\":");
            push_str(o, &self.display_name, ascii);
            o.extend_from_slice(b",\"email\":");
            push_str(o, &self.email, ascii);
            if let Some(id) = &self.team_member_id {
                o.extend_from_slice(b",\"team_member_id\":");
                push_str(o, id, ascii);
            }
            if let Some(id) = &self.external_id {
                o.extend_from_slice(b",\"member_external_id\":");
                push_str(o, id, ascii);
            }
            if let Some(t) = self.trusted_type {
                o.extend_from_slice(b",\"trusted_non_team_member_type\":{\".tag\":\"");
                o.extend_from_slice(t.as_bytes());
                o.extend_from_slice(b"\"}");
            }
            if let Some(team) = self.team {
                o.extend_from_slice(b",\"team\":{\"display_name\":");
                push_str(o, team, ascii);
                o.push(b'}');
            }
            o.push(b'}');
        })
    }
}

fn path_string(rng: &mut Rng) -> String {
    let mut p = (*rng.pick(DIRS)).to_owned();
    if rng.below(3) == 0 {
        p.push('/');
        p.push_str(rng.pick(DOC_TITLES).trim());
    }
    p.push('/');
    p.push_str(rng.pick::<&str>(FILES));
    p
}

fn asset(rng: &mut Rng) -> Frag {
    let shape = rng.weighted(&[50, 20, 12, 8, 5]);
    match shape {
        0 | 1 => {
            let path = path_string(rng);
            let ns_id = rng.range(1000, 9_999_999_999);
            let shared = rng.below(3) == 0;
            let display = if shape == 0 {
                path.rsplit('/').next().unwrap_or("").to_owned()
            } else {
                path.rsplit('/').nth(1).unwrap_or("").to_owned()
            };
            let file_id = token(rng, "id:", 22, B64URL);
            // Now and then above 2^53: integers in `assets` must survive.
            let size = if rng.chance(5) {
                (1u64 << 53) + 1 + rng.below(1 << 20)
            } else if shape == 0 {
                rng.below(50_000_000)
            } else {
                rng.below(5000)
            };
            let with_contextual = rng.below(10) != 0;
            Frag::build(|o, ascii| {
                o.extend_from_slice(if shape == 0 {
                    b"{\".tag\":\"file\",\"path\":{"
                } else {
                    b"{\".tag\":\"folder\",\"path\":{"
                });
                if with_contextual {
                    o.extend_from_slice(b"\"contextual\":");
                    push_str(o, &path, ascii);
                    o.push(b',');
                }
                o.extend_from_slice(b"\"namespace_relative\":{\"ns_id\":\"");
                push_u64(o, ns_id);
                o.extend_from_slice(b"\",\"relative_path\":");
                push_str(o, &path, ascii);
                o.extend_from_slice(if shared {
                    b",\"is_shared_namespace\":true}},\"display_name\":"
                } else {
                    b",\"is_shared_namespace\":false}},\"display_name\":"
                });
                push_str(o, &display, ascii);
                o.extend_from_slice(b",\"file_id\":\"");
                o.extend_from_slice(file_id.as_bytes());
                o.extend_from_slice(if shape == 0 {
                    b"\",\"file_size\":"
                } else {
                    b"\",\"file_count\":"
                });
                push_u64(o, size);
                o.push(b'}');
            })
        }
        2 => {
            let id = token(rng, "", 21, B64URL);
            let title = *rng.pick(DOC_TITLES);
            Frag::build(|o, ascii| {
                o.extend_from_slice(b"{\".tag\":\"paper_document\",\"doc_id\":\"");
                o.extend_from_slice(id.as_bytes());
                o.extend_from_slice(b"\",\"doc_title\":");
                push_str(o, title, ascii);
                o.push(b'}');
            })
        }
        3 => {
            let id = token(rng, "e.", 40, B64URL);
            let name = *rng.pick(GROUP_NAMES);
            Frag::build(|o, ascii| {
                o.extend_from_slice(b"{\".tag\":\"paper_folder\",\"folder_id\":\"");
                o.extend_from_slice(id.as_bytes());
                o.extend_from_slice(b"\",\"folder_name\":");
                push_str(o, name, ascii);
                o.push(b'}');
            })
        }
        _ => {
            let id = token(rng, "", 21, B64URL);
            let title = *rng.pick(DOC_TITLES);
            Frag::build(|o, ascii| {
                o.extend_from_slice(b"{\".tag\":\"showcase_document\",\"showcase_id\":\"");
                o.extend_from_slice(id.as_bytes());
                o.extend_from_slice(b"\",\"showcase_title\":");
                push_str(o, title, ascii);
                o.push(b'}');
            })
        }
    }
}

impl Pools {
    fn new(rng: &mut Rng) -> Pools {
        let home_team = *rng.pick(TEAM_NAMES);
        let mut emails = Vec::new();
        let mut names = Vec::new();

        let members = (0..1500)
            .map(|_| {
                let (display_name, handle) = person_name(rng);
                let domain = *rng.pick(TEAM_DOMAINS);
                let email = email(rng, &handle, domain);
                let user = User {
                    tag: "team_member",
                    account_id: Some(token(rng, "dbid:AA", 36, B64URL)),
                    email,
                    display_name,
                    team_member_id: Some(token(rng, "dbmid:AA", 36, B64URL)),
                    external_id: external_id(rng),
                    trusted_type: None,
                    team: Some(if rng.below(10) == 0 {
                        *rng.pick(TEAM_NAMES)
                    } else {
                        home_team
                    }),
                };
                emails.push(Frag::string(&user.email));
                names.push(Frag::string(&user.display_name));
                user.frag()
            })
            .collect();
        let outsiders = (0..800)
            .map(|_| {
                let (display_name, handle) = person_name(rng);
                let domain = *rng.pick(OUTSIDE_DOMAINS);
                let user = User {
                    tag: "non_team_member",
                    account_id: Some(token(rng, "dbid:AA", 36, B64URL)),
                    email: email(rng, &handle, domain),
                    display_name,
                    team_member_id: None,
                    external_id: None,
                    trusted_type: None,
                    team: None,
                };
                emails.push(Frag::string(&user.email));
                user.frag()
            })
            .collect();
        let trusted = (0..40)
            .map(|_| {
                let (display_name, handle) = person_name(rng);
                User {
                    tag: "trusted_non_team_member",
                    account_id: Some(token(rng, "dbid:AA", 36, B64URL)),
                    email: email(rng, &handle, "partner.example"),
                    display_name,
                    team_member_id: None,
                    external_id: None,
                    trusted_type: Some(if rng.below(4) == 0 {
                        "other"
                    } else {
                        "multi_instance_admin"
                    }),
                    team: Some(*rng.pick(ORG_TEAMS)),
                }
                .frag()
            })
            .collect();
        let groups = (0..60)
            .map(|_| {
                let id = token(rng, "g:", 32, b"0123456789abcdef");
                let name = *rng.pick(GROUP_NAMES);
                let ext = external_id(rng);
                names.push(Frag::string(name));
                Frag::build(|o, ascii| {
                    o.extend_from_slice(b"{\".tag\":\"group\",\"group_id\":\"");
                    o.extend_from_slice(id.as_bytes());
                    o.extend_from_slice(b"\",\"display_name\":");
                    push_str(o, name, ascii);
                    if let Some(e) = &ext {
                        o.extend_from_slice(b",\"external_id\":");
                        push_str(o, e, ascii);
                    }
                    o.push(b'}');
                })
            })
            .collect();
        let apps = (0..30)
            .map(|_| {
                let tag = if rng.below(3) == 0 {
                    "user_linked_app"
                } else {
                    "team_linked_app"
                };
                let id = token(rng, "dbaid:AA", 36, B64URL);
                let name = *rng.pick(APP_NAMES);
                Frag::build(|o, ascii| {
                    o.extend_from_slice(b"{\".tag\":\"");
                    o.extend_from_slice(tag.as_bytes());
                    o.extend_from_slice(b"\",\"app_id\":\"");
                    o.extend_from_slice(id.as_bytes());
                    o.extend_from_slice(b"\",\"display_name\":");
                    push_str(o, name, ascii);
                    o.push(b'}');
                })
            })
            .collect();
        let resellers = RESELLERS
            .iter()
            .map(|&(name, mail)| {
                Frag::build(|o, ascii| {
                    o.extend_from_slice(b"{\".tag\":\"reseller\",\"reseller_name\":");
                    push_str(o, name, ascii);
                    o.extend_from_slice(b",\"reseller_email\":");
                    push_str(o, mail, ascii);
                    o.push(b'}');
                })
            })
            .collect();
        let org_teams = ORG_TEAMS
            .iter()
            .map(|&name| {
                Frag::build(|o, ascii| {
                    o.extend_from_slice(b"{\".tag\":\"organization_team\",\"display_name\":");
                    push_str(o, name, ascii);
                    o.push(b'}');
                })
            })
            .collect();
        let assets = (0..3000).map(|_| asset(rng)).collect();
        let places = PLACES
            .iter()
            .map(|&(city, region, country)| {
                Frag::build(|o, ascii| {
                    o.extend_from_slice(b",\"city\":");
                    push_str(o, city, ascii);
                    o.extend_from_slice(b",\"region\":");
                    push_str(o, region, ascii);
                    o.extend_from_slice(b",\"country\":");
                    push_str(o, country, ascii);
                })
            })
            .collect();
        names.extend(DOC_TITLES.iter().map(|t| Frag::string(t)));
        names.extend(APP_NAMES.iter().map(|t| Frag::string(t)));
        let words = WORDS
            .iter()
            .map(|w| {
                if w.starts_with('"') {
                    Frag::raw(w)
                } else {
                    Frag::string(w)
                }
            })
            .collect();
        let paths = (0..500).map(|_| Frag::string(&path_string(rng))).collect();
        Pools {
            members,
            outsiders,
            trusted,
            groups,
            apps,
            resellers,
            org_teams,
            assets,
            places,
            emails,
            names,
            words,
            paths,
        }
    }
}

// ---------------------------------------------------------------------------
// Catalogue and details templates

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
struct Template {
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
    fn compile(raw: &str) -> Template {
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
}

struct EventType {
    #[cfg_attr(not(test), allow(dead_code))] // read by the coverage tests
    tag: &'static str,
    category: usize,
    /// `{".tag":"t","description":"(category) Description"}`
    frag: Frag,
    details: Template,
}

struct Category {
    tag: &'static str,
    /// `{".tag":"c"}`
    object: Box<[u8]>,
    /// `"c"`, Stone's compact form of a void union member.
    compact: Box<[u8]>,
    types: Vec<usize>,
    /// How common the category is in real team logs (for the half of the
    /// events not drawn round-robin).
    weight: u32,
}

struct Catalogue {
    types: Vec<EventType>,
    categories: Vec<Category>,
    weights: Vec<u32>,
}

fn category_weight(tag: &str) -> u32 {
    match tag {
        "logins" => 20,
        "file_operations" | "sharing" => 18,
        "members" => 6,
        "devices" | "paper" => 5,
        "team_policies" => 4,
        "passwords" => 3,
        "apps" | "comments" | "groups" | "sso" | "tfa" => 2,
        _ => 1,
    }
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::load)
}

impl Catalogue {
    /// The engine's catalogue (`teamlog_core::catalogue`), prepared for
    /// drawing: current categories only, each type's fragments and template.
    fn load() -> Catalogue {
        let data = teamlog_core::catalogue::Catalogue::get();
        let mut categories: Vec<Category> = data
            .categories
            .iter()
            .filter(|c| c.status == CategoryStatus::Current)
            .map(|c| {
                let tag = c.tag;
                Category {
                    tag,
                    object: format!("{{\".tag\":\"{tag}\"}}").into_bytes().into(),
                    compact: format!("\"{tag}\"").into_bytes().into(),
                    types: Vec::new(),
                    weight: category_weight(tag),
                }
            })
            .collect();
        let mut types = Vec::new();
        for t in &data.types {
            let (tag, cat, desc) = (t.tag, t.category, t.description);
            let category = categories
                .iter()
                .position(|c| c.tag == cat)
                .unwrap_or_else(|| {
                    panic!("the catalogue files {tag} under {cat}, not a current category")
                });
            let description = format!("({cat}) {desc}");
            let frag = Frag::build(|o, ascii| {
                o.extend_from_slice(b"{\".tag\":\"");
                o.extend_from_slice(tag.as_bytes());
                o.extend_from_slice(b"\",\"description\":");
                push_str(o, &description, ascii);
                o.push(b'}');
            });
            let details = match data.example_details(tag) {
                Some(raw) => Template::compile(raw),
                None => Template::compile(&format!("{{\".tag\":\"{tag}_details\"}}")),
            };
            categories[category].types.push(types.len());
            types.push(EventType {
                tag,
                category,
                frag,
                details,
            });
        }
        categories.retain(|c| !c.types.is_empty());
        for (ci, c) in categories.iter().enumerate() {
            for &t in &c.types {
                types[t].category = ci;
            }
        }
        let weights = categories.iter().map(|c| c.weight).collect();
        Catalogue {
            types,
            categories,
            weights,
        }
    }
}

// ---------------------------------------------------------------------------
// Bad lines

/// A top-level field of an event, in the API's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Timestamp,
    EventCategory,
    Actor,
    Origin,
    InvolveNonTeamMember,
    Context,
    Participants,
    Assets,
    EventType,
    Details,
}

impl Field {
    fn key(self) -> &'static [u8] {
        match self {
            Field::Timestamp => b"\"timestamp\":",
            Field::EventCategory => b"\"event_category\":",
            Field::Actor => b"\"actor\":",
            Field::Origin => b"\"origin\":",
            Field::InvolveNonTeamMember => b"\"involve_non_team_member\":",
            Field::Context => b"\"context\":",
            Field::Participants => b"\"participants\":",
            Field::Assets => b"\"assets\":",
            Field::EventType => b"\"event_type\":",
            Field::Details => b"\"details\":",
        }
    }
}

use Field as F;

/// The order Stone serializes `TeamEvent` in.
const API_ORDER: [Field; 10] = [
    F::Timestamp,
    F::EventCategory,
    F::Actor,
    F::Origin,
    F::InvolveNonTeamMember,
    F::Context,
    F::Participants,
    F::Assets,
    F::EventType,
    F::Details,
];
/// Sorted keys, as `jq -S` or Python's `sort_keys=True` leave them.
const SORTED_ORDER: [Field; 10] = [
    F::Actor,
    F::Assets,
    F::Context,
    F::Details,
    F::EventCategory,
    F::EventType,
    F::InvolveNonTeamMember,
    F::Origin,
    F::Participants,
    F::Timestamp,
];
const REVERSED_ORDER: [Field; 10] = [
    F::Details,
    F::EventType,
    F::Assets,
    F::Participants,
    F::Context,
    F::InvolveNonTeamMember,
    F::Origin,
    F::Actor,
    F::EventCategory,
    F::Timestamp,
];

/// How an otherwise realistic event is spoiled.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    None,
    Omit(Field),
    /// The field's value is this JSON text (or these bytes).
    Replace(Field, &'static [u8]),
    /// The field appears twice.
    Duplicate(Field),
}

#[derive(Debug, Clone, Copy)]
enum BadKind {
    /// A realistic event cut short.
    Truncated,
    /// A whole line of text.
    Text(&'static [u8]),
    Event(Mutation),
}

/// One kind of line teamlog rejects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BadLine {
    #[cfg_attr(not(test), allow(dead_code))] // documents the entry; tests check uniqueness
    pub(crate) name: &'static str,
    kind: BadKind,
}

const fn text(name: &'static str, line: &'static [u8]) -> BadLine {
    BadLine {
        name,
        kind: BadKind::Text(line),
    }
}

const fn mutate(name: &'static str, m: Mutation) -> BadLine {
    BadLine {
        name,
        kind: BadKind::Event(m),
    }
}

const fn bad_time(name: &'static str, quoted: &'static [u8]) -> BadLine {
    mutate(name, Mutation::Replace(F::Timestamp, quoted))
}

const fn bad_actor(name: &'static str, actor: &'static [u8]) -> BadLine {
    mutate(name, Mutation::Replace(F::Actor, actor))
}

/// Every kind of bad line, cycled through in this order (docs/CONTRACT.md §2, §3, §4, §6).
pub(crate) const BAD_LINES: &[BadLine] = &[
    BadLine {
        name: "truncated JSON",
        kind: BadKind::Truncated,
    },
    text("garbage text", b"this is not json at all"),
    text(
        "HTML error page",
        b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    ),
    text(
        "Python repr",
        b"{'timestamp': '2017-01-25T15:51:30Z', 'event_type': 'login_success'}",
    ),
    text(
        "terminal escapes",
        b"\x1b[31mALERT\x1b[0m \x1b]0;pwned\x07 \xe2\x80\xaeevil",
    ),
    text("JSON null", b"null"),
    text("JSON number", b"42"),
    text("JSON string", b"\"2017-01-25T15:51:30Z\""),
    text(
        "JSON array of events",
        b"[{\"timestamp\":\"2017-01-25T15:51:30Z\",\"event_category\":{\".tag\":\"logins\"}}]",
    ),
    text(
        "two objects on one line",
        b"{\"timestamp\":\"2017-01-25T15:51:30Z\"} {\"timestamp\":\"2017-01-25T15:51:31Z\"}",
    ),
    text("empty object", b"{}"),
    mutate("missing timestamp", Mutation::Omit(F::Timestamp)),
    mutate("missing event_type", Mutation::Omit(F::EventType)),
    mutate("missing event_category", Mutation::Omit(F::EventCategory)),
    mutate("missing details", Mutation::Omit(F::Details)),
    bad_time("null timestamp", b"null"),
    mutate("null details", Mutation::Replace(F::Details, b"null")),
    mutate("event_type as number", Mutation::Replace(F::EventType, b"42")),
    mutate(
        "event_type as array",
        Mutation::Replace(F::EventType, b"[\"login_success\"]"),
    ),
    mutate(
        "event_type without .tag",
        Mutation::Replace(F::EventType, b"{\"description\":\"(logins) Signed in\"}"),
    ),
    mutate(
        "event_category .tag as object",
        Mutation::Replace(F::EventCategory, b"{\".tag\":{\"name\":\"logins\"}}"),
    ),
    mutate(
        "event_category .tag null",
        Mutation::Replace(F::EventCategory, b"{\".tag\":null}"),
    ),
    bad_time("timestamp as number", b"1485359490"),
    bad_actor(
        "actor.user.email as object",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"John Smith\",\"email\":{\"address\":\"john_smith@acmecorp.com\"}}}",
    ),
    mutate(
        "context.display_name as array",
        Mutation::Replace(
            F::Context,
            b"{\".tag\":\"team_member\",\"display_name\":[\"John\",\"Smith\"],\"email\":\"john_smith@acmecorp.com\"}",
        ),
    ),
    mutate(
        "involve_non_team_member not a boolean",
        Mutation::Replace(F::InvolveNonTeamMember, b"\"maybe\""),
    ),
    mutate(
        "participants as object",
        Mutation::Replace(F::Participants, b"{\".tag\":\"user\"}"),
    ),
    mutate(
        "origin.geo_location.ip_address as object",
        Mutation::Replace(
            F::Origin,
            b"{\"geo_location\":{\"ip_address\":{\"v4\":\"45.56.78.100\"}}}",
        ),
    ),
    bad_time("timestamp month 13", b"\"2017-13-01T00:00:00Z\""),
    bad_time("timestamp lowercase t", b"\"2017-01-25t15:51:30Z\""),
    bad_time("timestamp lowercase z", b"\"2017-01-25T15:51:30z\""),
    bad_time("timestamp offset +0000", b"\"2017-01-25T15:51:30+0000\""),
    bad_time("timestamp hour 24", b"\"2017-01-25T24:00:00Z\""),
    bad_time("timestamp second 60", b"\"2016-12-31T23:59:60Z\""),
    bad_time("timestamp February 30", b"\"2017-02-30T10:00:00Z\""),
    bad_time("timestamp February 29 of 2019", b"\"2019-02-29T12:00:00Z\""),
    bad_time("timestamp with surrounding spaces", b"\" 2017-01-25T15:51:30Z \""),
    bad_time("timestamp 10 fraction digits", b"\"2017-01-25T15:51:30.1234567890Z\""),
    bad_time("timestamp empty fraction", b"\"2017-01-25T15:51:30.Z\""),
    bad_time("timestamp without zone", b"\"2017-01-25T15:51:30\""),
    bad_time("timestamp one-digit month", b"\"2017-1-25T15:51:30Z\""),
    bad_time("timestamp empty", b"\"\""),
    bad_time("timestamp day first", b"\"25/01/2017 15:51:30\""),
    bad_actor(
        "invalid UTF-8: 0xff",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"J\xffrg\",\"email\":\"jorg@acmecorp.com\"}}",
    ),
    bad_actor(
        "invalid UTF-8: lone continuation byte",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"Ren\x80e\",\"email\":\"renee@acmecorp.com\"}}",
    ),
    bad_actor(
        "invalid UTF-8: truncated sequence",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"\xe6\x97\",\"email\":\"hi@acmecorp.com\"}}",
    ),
    bad_actor(
        "invalid UTF-8: overlong encoding",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"..\xc0\xaf..\",\"email\":\"x@acmecorp.com\"}}",
    ),
    bad_actor(
        "invalid UTF-8: encoded surrogate",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"\xed\xa0\x80\",\"email\":\"s@acmecorp.com\"}}",
    ),
    mutate(
        "invalid UTF-8: Latin-1 in details",
        Mutation::Replace(
            F::Details,
            b"{\".tag\":\"login_success_details\",\"note\":\"caf\xe9\"}",
        ),
    ),
    text(
        "API error: invalid_cursor",
        b"{\"error_summary\":\"invalid_cursor/..\",\"error\":{\".tag\":\"invalid_cursor\"}}",
    ),
    text(
        "API error: expired_access_token",
        b"{\"error_summary\":\"expired_access_token/\",\"error\":{\".tag\":\"expired_access_token\"}}",
    ),
    text(
        "API error: too_many_requests",
        b"{\"error_summary\":\"too_many_requests/...\",\"error\":{\"reason\":{\".tag\":\"too_many_requests\"},\"retry_after\":300}}",
    ),
    text(
        "API error: missing_scope",
        b"{\"error_summary\":\"missing_scope/.\",\"error\":{\".tag\":\"missing_scope\",\"required_scope\":\"events.read\"}}",
    ),
    mutate("duplicate key timestamp", Mutation::Duplicate(F::Timestamp)),
    mutate("duplicate key details", Mutation::Duplicate(F::Details)),
    mutate("duplicate key event_type", Mutation::Duplicate(F::EventType)),
    mutate(
        "duplicate key event_type.tag",
        Mutation::Replace(
            F::EventType,
            b"{\".tag\":\"login_success\",\".tag\":\"logout\",\"description\":\"(logins) Signed in\"}",
        ),
    ),
    mutate(
        "both .tag and _tag",
        Mutation::Replace(F::EventCategory, b"{\".tag\":\"logins\",\"_tag\":\"logins\"}"),
    ),
    bad_actor(
        "duplicate key actor.user.email",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"Mallory\",\"email\":\"mallory@acmecorp.com\",\"email\":\"ceo@acmecorp.com\"}}",
    ),
];

/// Whitespace-only lines: valid, counted as blank.
const BLANKS: &[&[u8]] = &[b"", b"   ", b"\t", b" \t \r"];

// ---------------------------------------------------------------------------
// Events

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Valid,
    Invalid,
    Blank,
}

/// One block of lines: the bytes, where each line ends (after its newline),
/// and what each line is.
#[derive(Debug, Default)]
struct Block {
    buf: Vec<u8>,
    ends: Vec<usize>,
    kinds: Vec<LineKind>,
}

/// Large events: the ~2% tail of real logs.
#[derive(Debug, Clone, Copy, Default)]
struct Tail {
    big_details: bool,
    many_participants: bool,
}

struct Ctx {
    seed: u64,
    invalid_rate: f64,
    cat: &'static Catalogue,
    /// Round-robin order of event types for this seed.
    order: Vec<u32>,
    pools: Pools,
}

impl Ctx {
    fn new(seed: u64, invalid_rate: f64) -> Ctx {
        let cat = catalogue();
        let mut rng = Rng::new(seed);
        let mut order: Vec<u32> = (0..cat.types.len() as u32).collect();
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let pools = Pools::new(&mut rng);
        Ctx {
            seed,
            invalid_rate,
            cat,
            order,
            pools,
        }
    }

    fn fill_block(&self, block: u64, lines: u64, out: &mut Block) {
        out.buf.clear();
        out.ends.clear();
        out.kinds.clear();
        let mut rng = Rng::new(mix64(self.seed) ^ mix64(block.wrapping_add(1) << 20));
        let mut bad = (mix64(self.seed ^ block) % BAD_LINES.len() as u64) as usize;
        let rate = self.invalid_rate;
        for j in 0..lines {
            let line = block * BLOCK_LINES + j;
            let r = rng.unit();
            let kind = if r < rate {
                LineKind::Invalid
            } else if r < rate * 1.05 {
                LineKind::Blank
            } else {
                LineKind::Valid
            };
            match kind {
                LineKind::Valid => self.event(&mut rng, line, Mutation::None, &mut out.buf),
                LineKind::Blank => out.buf.extend_from_slice(rng.pick::<&[u8]>(BLANKS)),
                LineKind::Invalid => {
                    self.bad_line(&mut rng, line, &BAD_LINES[bad], &mut out.buf);
                    bad = (bad + 1) % BAD_LINES.len();
                }
            }
            // Windows exports end some lines with CRLF.
            if rng.chance(5) {
                out.buf.push(b'\r');
            }
            out.buf.push(b'\n');
            out.ends.push(out.buf.len());
            out.kinds.push(kind);
        }
    }

    fn bad_line(&self, rng: &mut Rng, line: u64, bad: &BadLine, out: &mut Vec<u8>) {
        match bad.kind {
            BadKind::Text(t) => out.extend_from_slice(t),
            BadKind::Event(m) => self.event(rng, line, m, out),
            BadKind::Truncated => {
                let start = out.len();
                self.event(rng, line, Mutation::None, out);
                let len = out.len() - start;
                let mut cut = start + 1 + rng.below(len as u64 - 2) as usize;
                // Cut at a character boundary: a truncated line is bad JSON,
                // not also bad UTF-8.
                while out[cut] & 0xC0 == 0x80 {
                    cut -= 1;
                }
                out.truncate(cut.max(start + 1));
            }
        }
    }

    fn pick_type(&self, rng: &mut Rng, line: u64) -> &EventType {
        let cat = self.cat;
        // Even lines walk the whole catalogue so that every type shows up in
        // any sample of 2x its size; odd lines follow real-world frequencies.
        if line % 2 == 0 {
            let i = (line / 2 % self.order.len() as u64) as usize;
            &cat.types[self.order[i] as usize]
        } else {
            let c = &cat.categories[rng.weighted(&cat.weights)];
            &cat.types[*rng.pick(&c.types)]
        }
    }

    /// Writes one event object (no newline).
    fn event(&self, rng: &mut Rng, line: u64, m: Mutation, out: &mut Vec<u8>) {
        let ascii = rng.below(10) == 0;
        let ty = self.pick_type(rng, line);
        let tail = if rng.below(50) == 0 {
            match rng.below(20) {
                0..=9 => Tail {
                    big_details: true,
                    many_participants: false,
                },
                10..=16 => Tail {
                    big_details: false,
                    many_participants: true,
                },
                _ => Tail {
                    big_details: true,
                    many_participants: true,
                },
            }
        } else {
            Tail::default()
        };
        let order: &[Field] = match rng.below(100) {
            0..=89 => &API_ORDER,
            90..=97 => &SORTED_ORDER,
            _ => &REVERSED_ORDER,
        };
        out.push(b'{');
        let mut first = true;
        for &f in order {
            let present = match m {
                Mutation::Omit(g) if g == f => false,
                Mutation::Replace(g, _) if g == f => true,
                _ => self.present(rng, f, tail),
            };
            if !present {
                continue;
            }
            let copies = match m {
                Mutation::Duplicate(g) if g == f => 2,
                _ => 1,
            };
            for _ in 0..copies {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(f.key());
                match m {
                    Mutation::Replace(g, raw) if g == f => out.extend_from_slice(raw),
                    _ => self.value(rng, f, ty, tail, ascii, out),
                }
            }
        }
        out.push(b'}');
    }

    fn present(&self, rng: &mut Rng, f: Field, tail: Tail) -> bool {
        match f {
            F::Timestamp | F::EventCategory | F::EventType | F::Details => true,
            F::Actor => !rng.chance(10),
            F::Origin => !rng.chance(80),
            F::InvolveNonTeamMember => !rng.chance(30),
            F::Context => !rng.chance(50),
            F::Participants => tail.many_participants || !rng.chance(350),
            F::Assets => !rng.chance(300),
        }
    }

    fn value(
        &self,
        rng: &mut Rng,
        f: Field,
        ty: &EventType,
        tail: Tail,
        ascii: bool,
        out: &mut Vec<u8>,
    ) {
        let p = &self.pools;
        match f {
            F::Timestamp => push_timestamp(out, rng),
            F::EventCategory => {
                let c = &self.cat.categories[ty.category];
                out.extend_from_slice(if rng.chance(20) {
                    &c.compact
                } else {
                    &c.object
                });
            }
            F::EventType => out.extend_from_slice(ty.frag.get(ascii)),
            F::Details => {
                self.details(rng, ty, ascii, out);
                if tail.big_details {
                    out.pop(); // the closing brace
                    self.big_details(rng, ascii, out);
                    out.push(b'}');
                }
            }
            F::Actor => match rng.weighted(&[55, 8, 15, 8, 2, 7, 5]) {
                0 => {
                    out.extend_from_slice(b"{\".tag\":\"user\",\"user\":");
                    out.extend_from_slice(rng.pick(&p.members).get(ascii));
                    out.push(b'}');
                }
                1 => {
                    out.extend_from_slice(b"{\".tag\":\"user\",\"user\":");
                    let pool = if rng.below(5) == 0 {
                        &p.trusted
                    } else {
                        &p.outsiders
                    };
                    out.extend_from_slice(rng.pick(pool).get(ascii));
                    out.push(b'}');
                }
                2 => {
                    out.extend_from_slice(b"{\".tag\":\"admin\",\"admin\":");
                    out.extend_from_slice(rng.pick(&p.members).get(ascii));
                    out.push(b'}');
                }
                3 => {
                    out.extend_from_slice(b"{\".tag\":\"app\",\"app\":");
                    out.extend_from_slice(rng.pick(&p.apps).get(ascii));
                    out.push(b'}');
                }
                4 => out.extend_from_slice(rng.pick(&p.resellers).get(ascii)),
                5 => out.extend_from_slice(b"{\".tag\":\"dropbox\"}"),
                _ => out.extend_from_slice(b"{\".tag\":\"anonymous\"}"),
            },
            F::Origin => {
                out.extend_from_slice(b"{\"access_method\":");
                self.access_method(rng, out);
                if !rng.chance(100) {
                    out.extend_from_slice(b",\"geo_location\":{\"ip_address\":");
                    if rng.chance(3) {
                        // Padded: indicators must trim it.
                        out.extend_from_slice(b"\" 45.56.78.100 \"");
                    } else {
                        push_ip(out, rng);
                    }
                    if !rng.chance(100) {
                        out.extend_from_slice(rng.pick(&p.places).get(ascii));
                    }
                    out.push(b'}');
                }
                out.push(b'}');
            }
            F::InvolveNonTeamMember => {
                out.extend_from_slice(if rng.below(5) == 0 { b"true" } else { b"false" })
            }
            F::Context => match rng.weighted(&[60, 10, 4, 3, 20, 3]) {
                0 => out.extend_from_slice(rng.pick(&p.members).get(ascii)),
                1 => out.extend_from_slice(rng.pick(&p.outsiders).get(ascii)),
                2 => out.extend_from_slice(rng.pick(&p.trusted).get(ascii)),
                3 => out.extend_from_slice(rng.pick(&p.org_teams).get(ascii)),
                4 => out.extend_from_slice(b"{\".tag\":\"team\"}"),
                _ => out.extend_from_slice(b"{\".tag\":\"anonymous\"}"),
            },
            F::Participants => {
                let n = if tail.many_participants {
                    rng.range(20, 200)
                } else {
                    [0, 0, 1, 1, 1, 1, 2, 3, 4, 5][rng.below(10) as usize]
                };
                out.push(b'[');
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    match rng.weighted(&[40, 30, 30]) {
                        0 => {
                            out.extend_from_slice(b"{\".tag\":\"user\",\"user\":");
                            out.extend_from_slice(rng.pick(&p.members).get(ascii));
                            out.push(b'}');
                        }
                        1 => {
                            out.extend_from_slice(b"{\".tag\":\"user\",\"user\":");
                            out.extend_from_slice(rng.pick(&p.outsiders).get(ascii));
                            out.push(b'}');
                        }
                        _ => out.extend_from_slice(rng.pick(&p.groups).get(ascii)),
                    }
                }
                out.push(b']');
            }
            F::Assets => {
                let n = [0, 0, 1, 1, 1, 1, 1, 2, 3, 4][rng.below(10) as usize];
                out.push(b'[');
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(rng.pick(&p.assets).get(ascii));
                }
                out.push(b']');
            }
        }
    }

    fn access_method(&self, rng: &mut Rng, out: &mut Vec<u8>) {
        let session = |out: &mut Vec<u8>, rng: &mut Rng, prefix: &[u8]| {
            out.extend_from_slice(b"\"session_id\":\"");
            out.extend_from_slice(prefix);
            push_digits(out, rng, 39);
            out.push(b'"');
        };
        match rng.weighted(&[35, 25, 12, 3, 12, 3, 3, 7]) {
            0 => {
                out.extend_from_slice(b"{\".tag\":\"end_user\",\"end_user\":{\".tag\":\"web\",");
                session(out, rng, b"dbwsid:");
                out.extend_from_slice(b"}}");
            }
            1 => {
                out.extend_from_slice(
                    b"{\".tag\":\"end_user\",\"end_user\":{\".tag\":\"desktop\",",
                );
                session(out, rng, b"dbdsid:");
                out.extend_from_slice(b"}}");
            }
            2 => {
                out.extend_from_slice(b"{\".tag\":\"end_user\",\"end_user\":{\".tag\":\"mobile\"}}")
            }
            3 => {
                out.extend_from_slice(b"{\".tag\":\"sign_in_as\",");
                session(out, rng, b"dbwsid:");
                out.push(b'}');
            }
            4 => {
                out.extend_from_slice(b"{\".tag\":\"admin_console\",");
                session(out, rng, b"dbwsid:");
                out.push(b'}');
            }
            5 => {
                out.extend_from_slice(b"{\".tag\":\"content_manager\",");
                session(out, rng, b"dbwsid:");
                out.push(b'}');
            }
            6 => {
                out.extend_from_slice(b"{\".tag\":\"enterprise_console\",");
                session(out, rng, b"dbwsid:");
                out.push(b'}');
            }
            _ => {
                out.extend_from_slice(b"{\".tag\":\"api\",\"request_id\":\"dbarid:");
                push_token(out, rng, 32, b"0123456789abcdef");
                out.extend_from_slice(b"\"}");
            }
        }
    }

    fn details(&self, rng: &mut Rng, ty: &EventType, ascii: bool, out: &mut Vec<u8>) {
        let p = &self.pools;
        let t = &ty.details;
        for seg in &t.segs {
            match *seg {
                Seg::Lit(a, b) => out.extend_from_slice(&t.lits[a as usize..b as usize]),
                Seg::Hole(h) => match h {
                    Hole::Email => out.extend_from_slice(rng.pick(&p.emails).get(ascii)),
                    Hole::Name => out.extend_from_slice(rng.pick(&p.names).get(ascii)),
                    Hole::Word => out.extend_from_slice(rng.pick(&p.words).get(ascii)),
                    Hole::Path => out.extend_from_slice(rng.pick(&p.paths).get(ascii)),
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

    /// Appends to an open `details` object a list of affected files bringing
    /// it to 10–60 KB, as bulk operations produce.
    fn big_details(&self, rng: &mut Rng, ascii: bool, out: &mut Vec<u8>) {
        let target = out.len() + rng.range(10_000, 60_000) as usize;
        out.extend_from_slice(b",\"affected_files\":[");
        let mut first = true;
        while out.len() < target {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(b"{\"path\":");
            out.extend_from_slice(rng.pick(&self.pools.paths).get(ascii));
            out.extend_from_slice(b",\"file_id\":\"id:");
            push_token(out, rng, 22, B64URL);
            out.extend_from_slice(b"\",\"size\":");
            push_u64(out, rng.below(1 << 30));
            out.extend_from_slice(b",\"rev\":\"");
            push_token(out, rng, 16, b"0123456789abcdef");
            out.extend_from_slice(b"\"}");
        }
        out.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;
    use std::collections::HashSet;

    fn gen(count: u64, seed: u64, invalid_rate: f64) -> (Vec<u8>, GenerateStats) {
        let opts = GenerateOptions {
            count: Some(count),
            bytes: None,
            seed,
            invalid_rate,
        };
        let mut out = Vec::new();
        let stats = generate(&opts, &mut out).unwrap();
        (out, stats)
    }

    fn lines(buf: &[u8]) -> Vec<&[u8]> {
        let mut v: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        assert_eq!(v.pop(), Some(&b""[..]), "output ends with a newline");
        v.into_iter()
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .collect()
    }

    fn is_blank(line: &[u8]) -> bool {
        line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
    }

    /// Rejects any object with a key twice (`.tag` and `_tag` count as one).
    struct NoDuplicates;

    impl<'de> serde::Deserialize<'de> for NoDuplicates {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NoDupVisitor)
        }
    }

    struct NoDupVisitor;

    impl<'de> Visitor<'de> for NoDupVisitor {
        type Value = NoDuplicates;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
            Ok(NoDuplicates)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<NoDuplicates, A::Error> {
            while a.next_element::<NoDuplicates>()?.is_some() {}
            Ok(NoDuplicates)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<NoDuplicates, A::Error> {
            let mut seen = HashSet::new();
            while let Some(k) = a.next_key::<String>()? {
                let k = if k == "_tag" { ".tag".to_owned() } else { k };
                if !seen.insert(k.clone()) {
                    return Err(de::Error::custom(format!("duplicate key {k}")));
                }
                a.next_value::<NoDuplicates>()?;
            }
            Ok(NoDuplicates)
        }
    }

    fn days_in_month(y: u32, m: u32) -> u32 {
        match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// docs/CONTRACT.md §4's timestamp rule, written independently of the generator.
    fn check_timestamp(s: &str) -> Result<(), String> {
        let b = s.as_bytes();
        let err = || Err(format!("bad timestamp {s:?}"));
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return err();
        }
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (
            num(0..4),
            num(5..7),
            num(8..10),
            num(11..13),
            num(14..16),
            num(17..19),
        ) else {
            return err();
        };
        if !(1..=12).contains(&mo)
            || d == 0
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || se > 59
        {
            return err();
        }
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return err();
            }
            i += 1 + digits;
        }
        let rest = &b[i..];
        match b[10] {
            b' ' if rest.is_empty() => Ok(()),
            b'T' if rest == b"Z" => Ok(()),
            b'T' if rest.len() == 6 && matches!(rest[0], b'+' | b'-') && rest[3] == b':' => {
                match (num(i + 1..i + 3), num(i + 4..i + 6)) {
                    (Some(oh), Some(om)) if oh < 24 && om < 60 => Ok(()),
                    _ => err(),
                }
            }
            _ => err(),
        }
    }

    fn check_user_like(v: &Value, at: &str) -> Result<(), String> {
        let Some(o) = v.as_object() else {
            return Err(format!("{at}: not an object"));
        };
        for k in ["account_id", "display_name", "email", ".tag"] {
            if let Some(x) = o.get(k) {
                if x.is_object() || x.is_array() {
                    return Err(format!("{at}.{k}: object or array"));
                }
            }
        }
        Ok(())
    }

    /// Whether teamlog would accept the line as one event: an independent,
    /// deliberately simple reading of docs/CONTRACT.md §2–§4, enough to tell the
    /// generator's good lines from its bad ones.
    fn check_event(line: &[u8]) -> Result<Value, String> {
        let s = std::str::from_utf8(line).map_err(|e| e.to_string())?;
        serde_json::from_str::<NoDuplicates>(s).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(s).map_err(|e| e.to_string())?;
        let o = v.as_object().ok_or("not an object")?;
        if o.contains_key("error_summary") {
            return Err("API error".into());
        }
        let ts = o
            .get("timestamp")
            .and_then(Value::as_str)
            .ok_or("timestamp")?;
        check_timestamp(ts)?;
        match o.get("event_category") {
            Some(Value::String(_)) => {}
            Some(Value::Object(c)) if c.get(".tag").is_some_and(Value::is_string) => {}
            _ => return Err("event_category".into()),
        }
        match o.get("event_type") {
            Some(Value::Object(t)) if t.get(".tag").is_some_and(Value::is_string) => {}
            _ => return Err("event_type".into()),
        }
        if o.get("details").is_none_or(Value::is_null) {
            return Err("details".into());
        }
        if let Some(a) = o.get("actor") {
            let a = a.as_object().ok_or("actor")?;
            for k in ["user", "admin", "app"] {
                if let Some(u) = a.get(k) {
                    check_user_like(u, k)?;
                }
            }
        }
        if let Some(c) = o.get("context") {
            check_user_like(c, "context")?;
        }
        if let Some(b) = o.get("involve_non_team_member") {
            if !b.is_boolean() {
                return Err("involve_non_team_member".into());
            }
        }
        if let Some(p) = o.get("participants") {
            for e in p.as_array().ok_or("participants")? {
                if let Some(u) = e.get("user") {
                    check_user_like(u, "participants[].user")?;
                }
            }
        }
        if let Some(g) = o.get("origin").and_then(|x| x.get("geo_location")) {
            if let Some(ip) = g.get("ip_address") {
                if !ip.is_string() {
                    return Err("ip_address".into());
                }
            }
        }
        Ok(v)
    }

    fn catalogue_size() -> u64 {
        catalogue().types.len() as u64
    }

    #[test]
    fn catalogue_has_every_type_and_current_category() {
        let cat = catalogue();
        assert_eq!(cat.types.len(), 643);
        assert_eq!(cat.categories.len(), 26);
        let ctx = Ctx::new(1, 0.0);
        let rng = &mut Rng::new(1);
        for t in &cat.types {
            let mut out = Vec::new();
            ctx.details(rng, t, false, &mut out);
            let v: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v[".tag"], format!("{}_details", t.tag));
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(gen(5000, 7, 0.05).0, gen(5000, 7, 0.05).0);
    }

    #[test]
    fn thread_count_does_not_change_the_bytes() {
        let opts = GenerateOptions {
            count: Some(5 * BLOCK_LINES + 17),
            invalid_rate: 0.03,
            ..GenerateOptions::default()
        };
        let run = |workers| {
            let mut out = Vec::new();
            let stats = generate_with_workers(&opts, &mut out, workers).unwrap();
            (out, stats)
        };
        let one = run(1);
        assert_eq!(run(2), one);
        assert_eq!(run(3), one);
        let opts = GenerateOptions {
            bytes: Some(7_654_321),
            ..GenerateOptions::default()
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        generate_with_workers(&opts, &mut a, 1).unwrap();
        generate_with_workers(&opts, &mut b, 4).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_differ() {
        assert_ne!(gen(100, 1, 0.0).0, gen(100, 2, 0.0).0);
    }

    #[test]
    fn a_shorter_run_is_a_prefix_of_a_longer_one() {
        let (short, _) = gen(3000, 3, 0.1);
        let (long, _) = gen(9000, 3, 0.1);
        assert!(long.starts_with(&short));
    }

    #[test]
    fn every_line_is_a_valid_event_without_invalid_rate() {
        let (buf, stats) = gen(3 * catalogue_size(), 11, 0.0);
        let lines = lines(&buf);
        assert_eq!(lines.len() as u64, stats.lines);
        assert_eq!(stats.valid, stats.lines);
        assert_eq!(stats.bytes, buf.len() as u64);
        for line in lines {
            if let Err(e) = check_event(line) {
                panic!("{e}: {}", String::from_utf8_lossy(line));
            }
        }
    }

    #[test]
    fn every_category_event_type_and_wire_shape_appears() {
        let cat = catalogue();
        let (buf, _) = gen(3 * catalogue_size(), 5, 0.0);
        let mut types = HashSet::new();
        let mut categories = HashSet::new();
        let mut shapes = HashSet::new();
        let tag = |v: &Value| v[".tag"].as_str().unwrap_or("").to_owned();
        for line in lines(&buf) {
            let v: Value = serde_json::from_slice(line).unwrap();
            let t = tag(&v["event_type"]);
            let c = match &v["event_category"] {
                Value::String(s) => s.clone(),
                other => tag(other),
            };
            let ty = cat.types.iter().find(|x| x.tag == t).expect("known type");
            assert_eq!(cat.categories[ty.category].tag, c, "category of {t}");
            let desc = v["event_type"]["description"].as_str().unwrap();
            assert!(desc.starts_with(&format!("({c}) ")), "{desc}");
            assert_eq!(tag(&v["details"]), format!("{t}_details"));
            types.insert(t);
            categories.insert(c);
            let actor = &v["actor"];
            let inner = tag(&actor[tag(actor)]);
            shapes.insert(format!("actor {}({inner})", tag(actor)));
            shapes.insert(format!("context {}", tag(&v["context"])));
            let am = &v["origin"]["access_method"];
            shapes.insert(format!("access {}({})", tag(am), tag(&am["end_user"])));
            for p in v["participants"].as_array().into_iter().flatten() {
                shapes.insert(format!("participant {}({})", tag(p), tag(&p["user"])));
            }
            for a in v["assets"].as_array().into_iter().flatten() {
                shapes.insert(format!("asset {}", tag(a)));
            }
            if let Some(ip) = v["origin"]["geo_location"]["ip_address"].as_str() {
                let ip: std::net::IpAddr = ip.trim().parse().unwrap();
                shapes.insert(format!("ip v{}", if ip.is_ipv4() { 4 } else { 6 }));
            }
        }
        assert_eq!(types.len(), cat.types.len());
        assert_eq!(categories.len(), 26);
        for want in [
            "actor user(team_member)",
            "actor user(non_team_member)",
            "actor user(trusted_non_team_member)",
            "actor admin(team_member)",
            "actor app(team_linked_app)",
            "actor app(user_linked_app)",
            "actor reseller()",
            "actor dropbox()",
            "actor anonymous()",
            "context team_member",
            "context non_team_member",
            "context trusted_non_team_member",
            "context organization_team",
            "context team",
            "context anonymous",
            "participant user(team_member)",
            "participant user(non_team_member)",
            "participant group()",
            "access end_user(web)",
            "access end_user(desktop)",
            "access end_user(mobile)",
            "access sign_in_as()",
            "access admin_console()",
            "access content_manager()",
            "access enterprise_console()",
            "access api()",
            "asset file",
            "asset folder",
            "asset paper_document",
            "asset paper_folder",
            "asset showcase_document",
            "ip v4",
            "ip v6",
        ] {
            assert!(shapes.contains(want), "{want} never generated");
        }
    }

    #[test]
    fn texture_of_real_archives_appears() {
        let (buf, _) = gen(20_000, 9, 0.0);
        let text = String::from_utf8(buf.clone()).unwrap();
        for needle in [
            "\\\"",                  // escaped quote
            "\\\\",                  // escaped backslash
            "\\n",                   // escaped newline
            "\\u00e9",               // é written as an escape
            "\\ud83e\\udd80",        // 🦀 as a surrogate pair (ASCII-only events)
            "🦀",                    // outside the BMP, raw
            "山田",                  // CJK
            "محمد",                  // Arabic
            "דוד",                   // Hebrew
            "\"event_category\":\"", // compact union
            "+05:30\"",
            "-08:00\"",
            "\r\n",
        ] {
            assert!(text.contains(needle), "{needle:?} never generated");
        }
        let mut fractions = HashSet::new();
        let mut panther_form = false;
        let mut missing_involve = false;
        let mut sizes = Vec::new();
        let mut max_participants = 0;
        for line in lines(&buf) {
            sizes.push(line.len());
            let v: Value = serde_json::from_slice(line).unwrap();
            let ts = v["timestamp"].as_str().unwrap();
            if let Some(dot) = ts.find('.') {
                let digits = ts[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
                fractions.insert(digits);
            }
            panther_form |= ts.as_bytes()[10] == b' ';
            missing_involve |= v.get("involve_non_team_member").is_none();
            max_participants =
                max_participants.max(v["participants"].as_array().map_or(0, Vec::len));
        }
        assert_eq!(
            fractions.len(),
            9,
            "fractions of 1..=9 digits: {fractions:?}"
        );
        assert!(panther_form && missing_involve);
        assert!(max_participants >= 100, "{max_participants}");
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        assert!((700..=2000).contains(&median), "median event size {median}");
        let big = sizes.iter().filter(|&&s| s >= 10_000).count();
        let share = big as f64 / sizes.len() as f64;
        assert!(
            (0.01..0.03).contains(&share),
            "share of large events {share}"
        );
        assert!(*sizes.last().unwrap() <= 100_000);
    }

    #[test]
    fn invalid_rate_is_honoured() {
        let (buf, stats) = gen(20_000, 4, 0.1);
        assert_eq!(stats.lines, stats.valid + stats.invalid + stats.blank);
        let share = stats.invalid as f64 / stats.lines as f64;
        assert!((0.09..0.11).contains(&share), "invalid share {share}");
        assert!(stats.blank > 0);
        let (mut valid, mut invalid, mut blank) = (0, 0, 0);
        for line in lines(&buf) {
            if is_blank(line) {
                blank += 1;
            } else if check_event(line).is_ok() {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert_eq!(
            (valid, invalid, blank),
            (stats.valid, stats.invalid, stats.blank)
        );
    }

    #[test]
    fn every_bad_line_is_bad() {
        let n = BAD_LINES.len() as u64;
        let (buf, stats) = gen(3 * n, 2, 1.0);
        assert_eq!(stats.invalid, 3 * n);
        for line in lines(&buf) {
            assert!(
                check_event(line).is_err(),
                "accepted: {}",
                String::from_utf8_lossy(line)
            );
            assert!(!is_blank(line));
        }
        let names: HashSet<_> = BAD_LINES.iter().map(|b| b.name).collect();
        assert_eq!(names.len(), BAD_LINES.len(), "names are unique");
    }

    #[test]
    fn bytes_limit_stops_at_a_line_end() {
        for limit in [0, 1, 5000, 3_000_000, 9_000_000] {
            let opts = GenerateOptions {
                bytes: Some(limit),
                ..GenerateOptions::default()
            };
            let mut out = Vec::new();
            let stats = generate(&opts, &mut out).unwrap();
            assert_eq!(stats.bytes, out.len() as u64);
            if limit == 0 {
                assert!(out.is_empty());
                continue;
            }
            assert!(out.len() as u64 >= limit && out.ends_with(b"\n"));
            let without_last = out[..out.len() - 1].iter().rposition(|&b| b == b'\n');
            assert!(without_last.map_or(0, |p| p + 1) < limit as usize);
        }
    }

    #[test]
    fn count_and_bytes_together_stop_at_the_first_limit() {
        let opts = GenerateOptions {
            count: Some(10),
            bytes: Some(1 << 30),
            ..GenerateOptions::default()
        };
        assert_eq!(generate(&opts, Vec::new()).unwrap().lines, 10);
        let opts = GenerateOptions {
            count: Some(1_000_000),
            bytes: Some(100_000),
            ..GenerateOptions::default()
        };
        assert!(generate(&opts, Vec::new()).unwrap().lines < 1000);
        assert_eq!(
            generate(&GenerateOptions::default(), Vec::new())
                .unwrap()
                .lines,
            DEFAULT_COUNT
        );
    }

    #[test]
    fn rejects_rates_outside_zero_to_one() {
        for rate in [-0.1, 1.5, f64::NAN] {
            let opts = GenerateOptions {
                invalid_rate: rate,
                ..GenerateOptions::default()
            };
            assert!(generate(&opts, Vec::new()).is_err());
        }
    }

    #[test]
    fn timestamps_stay_in_range_and_calendar_helpers_agree() {
        for days in [-1, 0, 59, 60, 365, 17_167, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m as i64, d as i64), days);
        }
        assert_eq!(T_START, 1_483_228_800);
        let mut rng = Rng::new(3);
        let mut out = Vec::new();
        for _ in 0..10_000 {
            out.clear();
            push_timestamp(&mut out, &mut rng);
            let s = std::str::from_utf8(&out[1..out.len() - 1]).unwrap();
            check_timestamp(s).unwrap();
        }
    }

    #[test]
    fn ascii_escaping_matches_python() {
        let mut out = Vec::new();
        push_str(&mut out, "é🦀\"\\\n\u{1}", true);
        assert_eq!(out, b"\"\\u00e9\\ud83e\\udd80\\\"\\\\\\n\\u0001\"");
        out.clear();
        push_str(&mut out, "é🦀", false);
        assert_eq!(out, "\"é🦀\"".as_bytes());
    }

    #[test]
    fn prng_stream_is_stable() {
        // Pinned: changing these numbers changes every corpus ever quoted by seed.
        let mut rng = Rng::new(1);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                0xdf22_4094_142b_4b65,
                0x2c4a_6c52_df8d_f139,
                0x0e07_980a_8cf7_1b3a
            ]
        );
    }
}
