//! Framing: sources in, numbered chunks of whole lines out (docs/CONTRACT.md §2).
//!
//! This module owns reading one source: opening it, choosing the decoder by
//! its first bytes (`detect`), the UTF-8 byte order mark, and cutting the
//! decompressed stream into chunks that end at a newline, in the manner of
//! ripgrep's line buffer. Which sources a run reads is `walk`'s.
//!
//! Memory per reader is bounded by the settings, not the input: a chunk
//! buffer grows from 64 KiB only as far as `--chunk-size` (so a small file
//! costs a small buffer), or, for one line longer than a chunk, to
//! `--max-line-bytes`. A longer line is never held whole: its first bytes
//! are kept for the reject record and the rest is read past in small blocks.
//!
//! A read that fails (a truncated gzip file, an I/O error) ends the source.
//! Every line before the failure is delivered; the torn end of the line the
//! failure cut is not a line: it is named, with its byte count, in the
//! failure, which gives the number of the last complete line.

mod detect;
mod walk;

pub use detect::{
    detect, identify, needs_more, shell_word, Compression, Format, GzipMembers, Unsupported,
    UnsupportedFormat, GZIP_MAGIC, MAGIC_MAX, ZSTD_MAGIC,
};
pub use walk::{expand, expand_with, InputError, Inputs, WalkOptions};

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The first size a chunk buffer is given; it doubles up to the chunk size
/// only while a source has more to give.
const FIRST_FILL: usize = 64 << 10;

/// One input as the user named it.
#[derive(Clone, Debug)]
pub struct Source {
    /// `-` for stdin, else the path as given ([`Source::display_name`]: bytes
    /// that are not UTF-8 written `\xNN`, so distinct names stay distinct).
    pub name: Arc<str>,
    pub path: Option<PathBuf>,
    /// The path below the directory argument it was found under (the file
    /// name for a file argument): where `--output-dir` puts its output.
    pub rel: PathBuf,
}

impl Source {
    pub fn stdin() -> Source {
        Source {
            name: Arc::from("-"),
            path: None,
            rel: PathBuf::from("stdin"),
        }
    }

    pub fn file(path: PathBuf) -> Source {
        Source {
            name: Arc::from(Source::display_name(&path)),
            rel: path.file_name().map(PathBuf::from).unwrap_or_default(),
            path: Some(path),
        }
    }

    /// A path as text: as is when it is UTF-8, else with each byte that is
    /// not UTF-8 written `\xNN` (as `ls -b` and Rust's debug form do), so
    /// two names that differ only there still differ.
    pub fn display_name(path: &Path) -> String {
        let bytes = path.as_os_str().as_bytes();
        let mut s = String::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            s.push_str(chunk.valid());
            for b in chunk.invalid() {
                s.push_str(&format!("\\x{b:02X}"));
            }
        }
        s
    }

    /// The path's exact bytes in base64, when it is not UTF-8 (so
    /// [`Source::name`] is not the path itself).
    pub fn name_base64(&self) -> Option<String> {
        use base64::Engine;
        let p = self.path.as_ref()?;
        let bytes = p.as_os_str().as_bytes();
        std::str::from_utf8(bytes)
            .is_err()
            .then(|| base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

/// An opened source: a decompressed byte stream.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub compression: Compression,
    /// Reads may return early (a pipe or terminal): emit complete lines as soon
    /// as they arrive instead of waiting for a full chunk.
    pub interactive: bool,
    /// Size on disk, when known.
    pub size: Option<u64>,
}

/// Opens a source and wraps it in the decoder its magic bytes call for.
pub fn open(src: &Source, read_bytes: Arc<AtomicU64>) -> io::Result<Opened> {
    let (raw, meta): (Box<dyn Read + Send>, Option<std::fs::Metadata>) = match &src.path {
        Some(p) => {
            let f = File::open(p)?;
            let m = f.metadata()?;
            if m.is_dir() {
                return Err(io::Error::other("is a directory"));
            }
            (Box::new(f), Some(m))
        }
        None => {
            use std::os::fd::AsFd;
            let meta = io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .ok()
                .and_then(|fd| File::from(fd).metadata().ok());
            let is_pipe = meta.as_ref().is_some_and(|m| m.file_type().is_fifo());
            if is_pipe {
                widen_pipe();
            }
            (Box::new(io::stdin()), meta)
        }
    };
    let is_file = meta.as_ref().is_some_and(|m| m.is_file());
    let raw: Box<dyn Read + Send> = Box::new(Counting {
        inner: raw,
        counter: read_bytes,
    });
    let size = meta.filter(|m| m.is_file()).map(|m| m.len());
    decode(raw, is_file, size).map_err(|e| name_unsupported(e, &src.name))
}

/// Puts the source's name into the hint of an unsupported-format error.
fn name_unsupported(e: io::Error, name: &str) -> io::Error {
    match e.downcast::<UnsupportedFormat>() {
        Ok(mut u) => {
            u.shown = shell_word(name);
            io::Error::new(io::ErrorKind::InvalidData, u)
        }
        Err(e) => e,
    }
}

/// Wraps a raw byte stream in the decoder its magic bytes call for. `is_file`
/// says reads return full blocks (not a pipe or terminal). A format that is
/// recognised but not read is an error of kind `InvalidData` holding an
/// [`UnsupportedFormat`].
pub fn decode(
    mut raw: Box<dyn Read + Send>,
    is_file: bool,
    size: Option<u64>,
) -> io::Result<Opened> {
    // A pipe may hand over fewer bytes than a magic number in its first read
    // (a slow producer): read on while what came so far could still start
    // one, so that detection never depends on the timing of the writes.
    let mut head = [0u8; MAGIC_MAX];
    let mut got = 0;
    while needs_more(&head[..got]) {
        match read_some(&mut raw, &mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    let compression = match identify(&head[..got]) {
        Format::Read(c) => c,
        Format::Unsupported(format) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                UnsupportedFormat {
                    format,
                    shown: "FILE".into(),
                },
            ))
        }
    };
    let chained = io::Cursor::new(head[..got].to_vec()).chain(raw);
    let br = BufReader::with_capacity(128 * 1024, chained);
    let reader: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(GzipMembers::new(br)),
        Compression::Zstd => Box::new(zstd::Decoder::with_buffer(br)?),
        Compression::None => Box::new(br),
    };
    Ok(Opened {
        reader,
        compression,
        interactive: !is_file && compression == Compression::None,
        size,
    })
}

/// Asks for a 1 MiB stdin pipe (Linux's default is 64 KiB, and the
/// most a read returns is what the pipe holds). Each read on a pipe makes a
/// chunk, so a small pipe made 64 KiB chunks, and the per-chunk hand-offs
/// between threads cost more than the work on them. Best effort: a limit
/// (`/proc/sys/fs/pipe-max-size`) or another kernel leaves the pipe as it is.
fn widen_pipe() {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::pipe::fcntl_setpipe_size(io::stdin(), PIPE_BYTES);
    }
}

/// The stdin pipe size [`open`] asks for.
pub const PIPE_BYTES: usize = 1 << 20;

/// A run of whole lines from one source.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Index into the run's sources.
    pub source: usize,
    /// 1-based number of the first line.
    pub first_line: u64,
    /// The lines, each ending in `\n` except perhaps the source's last.
    pub data: Vec<u8>,
    /// Set when `data` is only the kept prefix of one over-long line: the
    /// line's full length in the input, its line ending included (what it
    /// adds to `bytes_in`, as a line inside a chunk adds its length).
    pub too_long: Option<u64>,
    /// Set on the empty chunk that follows a source's last one: what the reader
    /// learned about the source. It travels in order like any chunk, so the
    /// writer knows when a source is complete.
    pub end: Option<SourceEnd>,
}

/// How a source ended.
#[derive(Clone, Debug, Default)]
pub struct SourceEnd {
    pub compression: Option<Compression>,
    /// Size on disk (compressed), when the source is a file.
    pub size: Option<u64>,
    /// Why the source could not be opened or read to its end.
    pub failure: Option<String>,
}

/// Iterates the lines of a chunk, without their `\n` or `\r\n`.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut rest = (!data.is_empty()).then_some(body);
    std::iter::from_fn(move || {
        let r = rest?;
        let line = match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                &r[..i]
            }
            None => {
                rest = None;
                r
            }
        };
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// Counts the bytes read from disk or stdin (before decompression), for progress.
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Cuts one source into chunks.
pub struct SourceReader {
    source: usize,
    name: Arc<str>,
    opened: Option<Opened>,
    at_start: bool,
    carry: Vec<u8>,
    line: u64,
    chunk_size: usize,
    max_line: usize,
    end: SourceEnd,
    /// Bytes read from the decoder so far.
    consumed: u64,
}

impl SourceReader {
    /// Opens source number `index`; `read_bytes` counts the raw bytes read.
    /// A source that cannot be opened yields no chunks and reports why.
    pub fn new(
        src: &Source,
        index: usize,
        chunk_size: usize,
        max_line: usize,
        read_bytes: Arc<AtomicU64>,
    ) -> SourceReader {
        let mut r = SourceReader {
            source: index,
            name: src.name.clone(),
            opened: None,
            at_start: true,
            carry: Vec::new(),
            line: 1,
            chunk_size: chunk_size.max(1),
            max_line,
            end: SourceEnd::default(),
            consumed: 0,
        };
        match open(src, read_bytes) {
            Ok(o) => {
                r.end.compression = Some(o.compression);
                r.end.size = o.size;
                r.opened = Some(o);
            }
            Err(e) if e.get_ref().is_some_and(|i| i.is::<UnsupportedFormat>()) => {
                r.end.failure = Some(format!("{}: {e}", r.name));
            }
            Err(e) => r.end.failure = Some(format!("{}: cannot open: {e}", r.name)),
        }
        r
    }

    /// Cuts one stream that is already open (stdin-like; compression is
    /// detected as for files). `interactive` emits complete lines as soon as a
    /// read returns them, as for pipes. Used by the fuzz target and tests.
    pub fn from_reader(
        name: &str,
        reader: Box<dyn Read + Send>,
        interactive: bool,
        chunk_size: usize,
        max_line: usize,
    ) -> io::Result<SourceReader> {
        let opened = decode(reader, !interactive, None)?;
        Ok(SourceReader {
            source: 0,
            name: Arc::from(name),
            end: SourceEnd {
                compression: Some(opened.compression),
                ..SourceEnd::default()
            },
            opened: Some(opened),
            at_start: true,
            carry: Vec::new(),
            line: 1,
            chunk_size: chunk_size.max(1),
            max_line,
            consumed: 0,
        })
    }

    /// Ends the source on a read error. `torn` bytes of the next line had
    /// been read when it came: they are dropped, and said so here, once.
    #[cold]
    fn fail(&mut self, err: &io::Error, torn: u64) {
        self.opened = None;
        self.carry.clear();
        let last = self.line - 1;
        let msg = if torn == 0 {
            format!("{}: read failed after line {last}: {err}", self.name)
        } else {
            format!(
                "{}: read failed after line {last}, {torn} bytes into line {} (that partial line is dropped): {err}",
                self.name,
                last + 1
            )
        };
        self.end.failure.get_or_insert(msg);
    }

    /// The marker that follows the source's last chunk.
    pub fn end_marker(&self) -> Chunk {
        Chunk {
            source: self.source,
            first_line: self.line,
            end: Some(self.end.clone()),
            ..Chunk::default()
        }
    }

    fn make_chunk(&mut self, data: Vec<u8>, too_long: Option<u64>) -> Chunk {
        let lines = if too_long.is_some() {
            1
        } else {
            memchr::memchr_iter(b'\n', &data).count() as u64
                + u64::from(data.last().is_some_and(|&b| b != b'\n'))
        };
        let c = Chunk {
            source: self.source,
            first_line: self.line,
            data,
            too_long,
            end: None,
        };
        self.line += lines;
        c
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.opened.as_mut() {
            Some(o) => read_some(&mut o.reader, buf)?,
            None => 0,
        };
        self.consumed += n as u64;
        Ok(n)
    }

    /// A read failed with `buf[..filled]` read: the whole lines in it are the
    /// source's last chunk, the rest is the torn line.
    #[cold]
    fn torn(&mut self, mut buf: Vec<u8>, filled: usize, err: &io::Error) -> Option<Chunk> {
        let cut = memchr::memrchr(b'\n', &buf[..filled]).map_or(0, |i| i + 1);
        buf.truncate(cut);
        let chunk = (cut > 0).then(|| self.make_chunk(buf, None));
        self.fail(err, (filled - cut) as u64);
        chunk
    }

    /// The next chunk, filling `buf` (a recycled buffer); `None` once the source
    /// is done (then [`SourceReader::end_marker`] tells how it ended).
    pub fn next_chunk(&mut self, mut buf: Vec<u8>) -> Option<Chunk> {
        self.opened.as_ref()?;
        let interactive = self.opened.as_ref().is_some_and(|o| o.interactive);
        buf.clear();
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        let mut filled = buf.len();
        let mut cap = self.chunk_size.min(FIRST_FILL);
        if let Some(o) = self
            .opened
            .as_ref()
            .filter(|o| o.compression == Compression::None)
        {
            // A small plain file gets a buffer its size (one more byte
            // shows its end): 20,000 one-line files cost 20,000 small reads.
            let rest = o.size.map_or(u64::MAX, |s| s.saturating_sub(self.consumed));
            cap = cap.min(
                usize::try_from(rest)
                    .unwrap_or(usize::MAX)
                    .saturating_add(1),
            );
        }
        let mut cap = cap.max(filled + 1);
        buf.resize(cap, 0);
        let mut scan_from = 0;
        loop {
            if filled == cap {
                if cap < self.chunk_size {
                    // Grow toward a full chunk only as the source delivers.
                    cap = cap.saturating_mul(2).min(self.chunk_size).max(filled + 1);
                } else {
                    if let Some(i) = memchr::memrchr(b'\n', &buf[scan_from..filled]) {
                        let cut = scan_from + i + 1;
                        self.carry.extend_from_slice(&buf[cut..filled]);
                        buf.truncate(cut);
                        return Some(self.make_chunk(buf, None));
                    }
                    scan_from = filled;
                    // A line longer than a chunk: allow it to grow to the limit
                    // (plus `\r\n`), no further.
                    let limit = self.max_line.saturating_add(2);
                    if filled >= limit {
                        return self.skip_long_line(buf, filled);
                    }
                    cap = cap.saturating_mul(2).min(limit).max(filled + 1);
                }
                buf.resize(cap, 0);
            }
            let n = match self.read(&mut buf[filled..cap]) {
                Ok(n) => n,
                Err(e) => return self.torn(buf, filled, &e),
            };
            let mut start = filled;
            filled += n;
            // Decide as soon as the bytes so far cannot be a BOM: an
            // interactive source may deliver a whole short first line
            // before three bytes, and a BOM on line 2 is not at the start.
            if self.at_start && (filled >= BOM.len() || n == 0 || !BOM.starts_with(&buf[..filled]))
            {
                self.at_start = false;
                if buf[..filled].starts_with(BOM) {
                    buf.drain(..BOM.len());
                    filled -= BOM.len();
                    cap -= BOM.len();
                    // The BOM may have come in earlier reads than this one,
                    // or filled an earlier (tiny) buffer.
                    start = start.saturating_sub(BOM.len());
                    scan_from = scan_from.saturating_sub(BOM.len());
                }
            }
            if n == 0 {
                // End of this source: the last line may lack its newline.
                self.opened = None;
                if filled == 0 {
                    return None;
                }
                buf.truncate(filled);
                return Some(self.make_chunk(buf, None));
            }
            if interactive {
                if let Some(i) = memchr::memrchr(b'\n', &buf[start..filled]) {
                    let cut = start + i + 1;
                    self.carry.extend_from_slice(&buf[cut..filled]);
                    buf.truncate(cut);
                    return Some(self.make_chunk(buf, None));
                }
            }
        }
    }

    /// Keeps the start of an over-long line (as much of it as a reject record
    /// shows, whatever the chunk size) and reads past the rest of it. `None`
    /// when a read fails before the line ends (the line is torn, not a line).
    #[cold]
    fn skip_long_line(&mut self, mut buf: Vec<u8>, filled: usize) -> Option<Chunk> {
        let keep = crate::json::TRUNCATED_RAW_BYTES;
        let mut total = filled as u64;
        buf.truncate(keep.min(filled));
        let mut block = vec![0u8; 64 * 1024];
        let mut ended = false;
        loop {
            let n = match self.read(&mut block) {
                Ok(n) => n,
                Err(e) => {
                    self.fail(&e, total);
                    return None;
                }
            };
            if n == 0 {
                self.opened = None;
                break;
            }
            let (line, rest) = match memchr::memchr(b'\n', &block[..n]) {
                Some(i) => (&block[..i], Some(&block[i + 1..n])),
                None => (&block[..n], None),
            };
            let room = keep.saturating_sub(buf.len()).min(line.len());
            buf.extend_from_slice(&line[..room]);
            total += line.len() as u64;
            if let Some(rest) = rest {
                total += 1;
                ended = true;
                self.carry.extend_from_slice(rest);
                break;
            }
        }
        // Kept whole (a limit under the kept size): without its `\r`, as a
        // line inside a chunk is seen.
        if ended && buf.len() as u64 + 1 == total && buf.ends_with(b"\r") {
            buf.pop();
        }
        Some(self.make_chunk(buf, Some(total)))
    }
}

fn read_some(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_lf_and_crlf() {
        let got: Vec<&[u8]> = lines(b"a\r\nb\n\nc").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"", b"c"]);
        let got: Vec<&[u8]> = lines(b"a\n").collect();
        assert_eq!(got, [&b"a"[..]]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 1);
    }

    /// A pipe whose reads return at most `step` bytes.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn all_lines(data: &[u8], step: usize, interactive: bool) -> Vec<(u64, Vec<u8>)> {
        all_lines_in(data, step, interactive, 4096)
    }

    fn all_lines_in(
        data: &[u8],
        step: usize,
        interactive: bool,
        chunk: usize,
    ) -> Vec<(u64, Vec<u8>)> {
        let src = Trickle {
            data: data.to_vec(),
            at: 0,
            step,
        };
        let mut r = SourceReader::from_reader("-", Box::new(src), interactive, chunk, 1 << 20)
            .expect("open");
        let mut out = Vec::new();
        while let Some(c) = r.next_chunk(Vec::new()) {
            for (n, l) in (c.first_line..).zip(lines(&c.data)) {
                out.push((n, l.to_vec()));
            }
        }
        assert!(r.end_marker().end.unwrap().failure.is_none());
        out
    }

    #[test]
    fn bom_only_at_the_start_however_the_reads_fall() {
        // Regression: a short first line delivered before three bytes had come
        // left the reader "at the start", so a BOM on line 2 was dropped.
        let data = b"a\n\xEF\xBB\xBFb\n";
        for step in 1..=data.len() {
            for interactive in [false, true] {
                let got = all_lines(data, step, interactive);
                assert_eq!(
                    got,
                    [(1, b"a".to_vec()), (2, b"\xEF\xBB\xBFb".to_vec())],
                    "step {step} interactive {interactive}"
                );
            }
        }
        let got = all_lines(b"\xEF\xBB\xBFa\n", 1, true);
        assert_eq!(got, [(1, b"a".to_vec())]);
        // Fuzz crash (framing): a BOM filling chunks smaller than itself.
        for chunk in 1..=4 {
            let got = all_lines_in(b"\xEF\xBB\xBFx\ny\n", 1, false, chunk);
            assert_eq!(
                got,
                [(1, b"x".to_vec()), (2, b"y".to_vec())],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn compression_is_detected_when_the_magic_arrives_a_byte_at_a_time() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, b"x\ny\n").unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&b"x\ny\n"[..], 1).unwrap();
        for data in [gz, zst] {
            let got = all_lines(&data, 1, true);
            assert_eq!(got, [(1, b"x".to_vec()), (2, b"y".to_vec())]);
        }
        // Plain text that starts like a magic number is still plain text.
        assert_eq!(all_lines(b"\x1f\n", 1, true), [(1, b"\x1f".to_vec())]);
        assert_eq!(all_lines(b"(\xb5", 1, true), [(1, b"(\xb5".to_vec())]);
    }
}
