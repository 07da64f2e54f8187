//! `teamlog generate`: a corpus of realistic raw Dropbox team-log events, and of
//! the bad lines teamlog must reject, for tests and benchmarks (docs/CONTRACT.md §9).
//!
//! What it makes, and which module owns each part:
//! - `catalogue`: drawing from the engine's event catalogue
//!   (`teamlog_core::catalogue`: the current categories and their types), with
//!   one `details` template per event type (`templates`) compiled from the
//!   catalogue's example of it: `.tag` values stay, other strings, numbers and
//!   booleans become holes filled with varied values;
//! - `shapes`: every actor, context, participant, access-method and asset
//!   shape of `fixtures/dropbox/wire_shapes.json`, as tables with varied
//!   values (inlined union members included), over the people, groups, apps
//!   and files of `pools`;
//! - `values`: the realistic noise of real archives: IPv4 and IPv6,
//!   non-ASCII and bidi text, JSON escapes, ASCII-only escaping as Python's
//!   SDK writes it, timestamps with fractions, offsets and Panther's own form;
//!   `event` adds compact unions, other key orders and a tail of very large
//!   events;
//! - `bad_lines`: one entry per way a line gets rejected (docs/CONTRACT.md
//!   §6), cycled through when `invalid_rate` asks for bad lines;
//! - `rng`: the seeded stream every draw comes from.
//!
//! This file holds the options and the block loop. It never validates: that
//! is the engine's job. The bytes depend only on the options, never on the
//! thread count: lines are made in blocks of [`BLOCK_LINES`], each with its
//! own PRNG seeded from (seed, block index), and written in block order.

mod bad_lines;
mod catalogue;
mod event;
mod pools;
mod rng;
mod shapes;
mod templates;
mod values;

use bad_lines::{Mutation, BAD_LINES};
use catalogue::{catalogue, Catalogue};
use pools::Pools;
use rng::{mix64, Rng};
use std::io::{self, Write};

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

/// Whitespace-only lines: valid, counted as blank.
const BLANKS: &[&[u8]] = &[b"", b"   ", b"\t", b" \t \r"];

/// What a line is, for [`GenerateStats`].
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

/// What every block of one corpus shares: the options, the catalogue, the
/// seed's order of event types and its pools.
struct Ctx {
    seed: u64,
    invalid_rate: f64,
    cat: &'static Catalogue,
    /// Round-robin order of event types for this seed.
    order: Vec<u32>,
    pools: Pools,
}

impl Ctx {
    /// The shared state of the corpus of `seed`, drawn from its own stream.
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

    /// Makes block number `block` (`lines` lines) into `out`, from the
    /// block's own stream: each line an event, a bad line or a blank one.
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
}

#[cfg(test)]
mod tests;
