//! Framing: sources in, numbered chunks of whole lines out (SPEC §2).
//!
//! This module owns opening inputs (files, stdin, directories with `-r`),
//! detecting compression by magic bytes (gzip with all members, zstd), the
//! byte order mark, and cutting each decompressed stream into chunks that end
//! at a newline, in the manner of ripgrep's line buffer. A line longer than
//! `--max-line-bytes` is never held whole: its first bytes are kept for the
//! reject record and the rest is read past in small blocks.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

/// Gzip's magic bytes.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Zstandard's magic bytes.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One input as the user named it.
#[derive(Clone, Debug)]
pub struct Source {
    /// `-` for stdin, else the path as given.
    pub name: Arc<str>,
    pub path: Option<PathBuf>,
}

impl Source {
    pub fn stdin() -> Source {
        Source {
            name: Arc::from("-"),
            path: None,
        }
    }

    pub fn file(path: PathBuf) -> Source {
        Source {
            name: Arc::from(path.display().to_string()),
            path: Some(path),
        }
    }
}

/// A usage problem with the inputs, found before anything is read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}: is a directory (use -r/--recursive to read the files under it)")]
    Directory(String),
    #[error("{path}: cannot list directory: {err}")]
    Walk { path: String, err: String },
}

/// Turns FILE arguments into sources: none or `-` is stdin; directories are an
/// error unless `recursive`, in which case their files come sorted by path.
pub fn expand(args: &[PathBuf], recursive: bool) -> Result<Vec<Source>, InputError> {
    if args.is_empty() {
        return Ok(vec![Source::stdin()]);
    }
    let mut out = Vec::new();
    for a in args {
        if a.as_os_str() == "-" {
            out.push(Source::stdin());
        } else if a.is_dir() {
            if !recursive {
                return Err(InputError::Directory(a.display().to_string()));
            }
            for entry in walkdir::WalkDir::new(a).sort_by_file_name() {
                let entry = entry.map_err(|e| InputError::Walk {
                    path: a.display().to_string(),
                    err: e.to_string(),
                })?;
                if entry.file_type().is_file() {
                    out.push(Source::file(entry.into_path()));
                }
            }
        } else {
            out.push(Source::file(a.clone()));
        }
    }
    Ok(out)
}

/// The compression a stream was found to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Picks the decoder from the first bytes, never from the file name.
pub fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
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
pub fn open(src: &Source) -> io::Result<Opened> {
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
            (Box::new(io::stdin()), meta)
        }
    };
    let is_file = meta.as_ref().is_some_and(|m| m.is_file());
    let size = meta.filter(|m| m.is_file()).map(|m| m.len());
    decode(raw, is_file, size)
}

/// Wraps a raw byte stream in the decoder its magic bytes call for. `is_file`
/// says reads return full blocks (not a pipe or terminal).
pub fn decode(
    mut raw: Box<dyn Read + Send>,
    is_file: bool,
    size: Option<u64>,
) -> io::Result<Opened> {
    // A pipe may hand over fewer bytes than a magic number in its first read
    // (a slow producer): read on while what came so far could still start
    // one, so that detection never depends on the timing of the writes.
    let mut head = [0u8; ZSTD_MAGIC.len()];
    let mut got = 0;
    while got < GZIP_MAGIC.len() && GZIP_MAGIC.starts_with(&head[..got])
        || got < ZSTD_MAGIC.len() && ZSTD_MAGIC.starts_with(&head[..got])
    {
        match read_some(&mut raw, &mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    let compression = detect(&head[..got]);
    let chained = io::Cursor::new(head[..got].to_vec()).chain(raw);
    let br = BufReader::with_capacity(128 * 1024, chained);
    let reader: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
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

/// A run of whole lines from one source.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Position in the run, from 0; the writer restores this order.
    pub seq: u64,
    /// Index into the run's sources.
    pub source: usize,
    /// 1-based number of the first line.
    pub first_line: u64,
    /// The lines, each ending in `\n` except perhaps the source's last.
    pub data: Vec<u8>,
    /// Set when `data` is only the kept prefix of one over-long line, whose
    /// full length (without line ending) this is.
    pub too_long: Option<u64>,
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

/// A source that could not be read to its end.
#[derive(Clone, Debug)]
pub struct SourceFailure {
    pub source: usize,
    pub message: String,
}

/// Per-source facts the reader learns (for `--stats` and progress).
#[derive(Clone, Debug, Default)]
pub struct SourceInfo {
    pub compression: Option<Compression>,
    pub size: Option<u64>,
}

/// Cuts every source in turn into chunks.
pub struct ChunkReader {
    sources: Vec<Source>,
    next_source: usize,
    current: Option<(usize, Opened)>,
    at_start: bool,
    carry: Vec<u8>,
    line: u64,
    seq: u64,
    chunk_size: usize,
    max_line: usize,
    /// Sources that failed to open or to read to the end.
    pub failures: Vec<SourceFailure>,
    pub info: Vec<SourceInfo>,
}

impl ChunkReader {
    pub fn new(sources: Vec<Source>, chunk_size: usize, max_line: usize) -> ChunkReader {
        let info = vec![SourceInfo::default(); sources.len()];
        ChunkReader {
            sources,
            next_source: 0,
            current: None,
            at_start: true,
            carry: Vec::new(),
            line: 1,
            seq: 0,
            chunk_size: chunk_size.max(1),
            max_line,
            failures: Vec::new(),
            info,
        }
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
    ) -> io::Result<ChunkReader> {
        let opened = decode(reader, !interactive, None)?;
        let mut r = ChunkReader::new(
            vec![Source {
                name: Arc::from(name),
                path: None,
            }],
            chunk_size,
            max_line,
        );
        r.next_source = 1;
        r.info[0].compression = Some(opened.compression);
        r.current = Some((0, opened));
        Ok(r)
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    #[cold]
    fn fail(&mut self, source: usize, err: &io::Error, what: &str) {
        let name = &self.sources[source].name;
        let message = match what {
            "open" => format!("{name}: cannot open: {err}"),
            _ => format!("{name}: read failed after line {}: {err}", self.line - 1),
        };
        self.failures.push(SourceFailure { source, message });
    }

    /// Opens the next source that can be opened; false when none is left.
    fn advance(&mut self) -> bool {
        while self.next_source < self.sources.len() {
            let i = self.next_source;
            self.next_source += 1;
            match open(&self.sources[i]) {
                Ok(o) => {
                    self.info[i] = SourceInfo {
                        compression: Some(o.compression),
                        size: o.size,
                    };
                    self.current = Some((i, o));
                    self.at_start = true;
                    self.carry.clear();
                    self.line = 1;
                    return true;
                }
                Err(e) => self.fail(i, &e, "open"),
            }
        }
        false
    }

    fn make_chunk(&mut self, source: usize, data: Vec<u8>, too_long: Option<u64>) -> Chunk {
        let lines = if too_long.is_some() {
            1
        } else {
            memchr::memchr_iter(b'\n', &data).count() as u64
                + u64::from(data.last().is_some_and(|&b| b != b'\n'))
        };
        let c = Chunk {
            seq: self.seq,
            source,
            first_line: self.line,
            data,
            too_long,
        };
        self.seq += 1;
        self.line += lines;
        c
    }

    /// The next chunk, filling `buf` (a recycled buffer); `None` at the end of
    /// the last source.
    pub fn next_chunk(&mut self, mut buf: Vec<u8>) -> Option<Chunk> {
        loop {
            if self.current.is_none() && !self.advance() {
                return None;
            }
            let (src, _) = self.current.as_ref().expect("a source is open");
            let src = *src;
            buf.clear();
            buf.extend_from_slice(&self.carry);
            self.carry.clear();
            let mut filled = buf.len();
            let mut cap = self.chunk_size.max(filled + 1);
            buf.resize(cap, 0);
            let mut scan_from = 0;
            loop {
                if filled == cap {
                    if let Some(i) = memchr::memrchr(b'\n', &buf[scan_from..filled]) {
                        let cut = scan_from + i + 1;
                        self.carry.extend_from_slice(&buf[cut..filled]);
                        buf.truncate(cut);
                        return Some(self.make_chunk(src, buf, None));
                    }
                    scan_from = filled;
                    // A line longer than a chunk: allow it to grow to the limit
                    // (plus `\r\n`), no further.
                    let limit = self.max_line.saturating_add(2);
                    if filled >= limit {
                        return Some(self.skip_long_line(src, buf, filled));
                    }
                    cap = cap.saturating_mul(2).min(limit).max(filled + 1);
                    buf.resize(cap, 0);
                }
                let opened = &mut self.current.as_mut().expect("open").1;
                let interactive = opened.interactive;
                let n = match read_some(&mut opened.reader, &mut buf[filled..cap]) {
                    Ok(n) => n,
                    Err(e) => {
                        self.fail(src, &e, "read");
                        0
                    }
                };
                let mut start = filled;
                filled += n;
                // Decide as soon as the bytes so far cannot be a BOM: an
                // interactive source may deliver a whole short first line
                // before three bytes, and a BOM on line 2 is not at the start.
                if self.at_start
                    && (filled >= BOM.len() || n == 0 || !BOM.starts_with(&buf[..filled]))
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
                    self.current = None;
                    if filled == 0 {
                        break;
                    }
                    buf.truncate(filled);
                    return Some(self.make_chunk(src, buf, None));
                }
                if interactive {
                    if let Some(i) = memchr::memrchr(b'\n', &buf[start..filled]) {
                        let cut = start + i + 1;
                        self.carry.extend_from_slice(&buf[cut..filled]);
                        buf.truncate(cut);
                        return Some(self.make_chunk(src, buf, None));
                    }
                }
            }
        }
    }

    /// Keeps the start of an over-long line and reads past the rest of it.
    #[cold]
    fn skip_long_line(&mut self, src: usize, mut buf: Vec<u8>, filled: usize) -> Chunk {
        let mut total = filled as u64;
        buf.truncate(crate::output::TRUNCATED_RAW_BYTES.min(filled));
        let mut block = vec![0u8; 64 * 1024];
        loop {
            let opened = &mut self.current.as_mut().expect("open").1;
            let n = match read_some(&mut opened.reader, &mut block) {
                Ok(n) => n,
                Err(e) => {
                    self.fail(src, &e, "read");
                    0
                }
            };
            if n == 0 {
                self.current = None;
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &block[..n]) {
                total += i as u64;
                self.carry.extend_from_slice(&block[i + 1..n]);
                break;
            }
            total += n as u64;
        }
        self.make_chunk(src, buf, Some(total))
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
        let mut r = ChunkReader::from_reader("-", Box::new(src), interactive, chunk, 1 << 20)
            .expect("open");
        let mut out = Vec::new();
        while let Some(c) = r.next_chunk(Vec::new()) {
            for (n, l) in (c.first_line..).zip(lines(&c.data)) {
                out.push((n, l.to_vec()));
            }
        }
        assert!(r.failures.is_empty());
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

    #[test]
    fn magic_bytes() {
        assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(detect(b"{\"a\""), Compression::None);
        assert_eq!(detect(&[0x1f]), Compression::None);
    }
}
