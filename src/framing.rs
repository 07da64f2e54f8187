//! Framing: sources in, numbered chunks of whole lines out (SPEC §2).
//!
//! This module owns opening inputs (files, stdin, directories with `-r`),
//! detecting compression by magic bytes (gzip with all members, zstd), the
//! byte order mark, and cutting each decompressed stream into chunks that end
//! at a newline, in the manner of ripgrep's line buffer. A line longer than
//! `--max-line-bytes` is never held whole: its first bytes are kept for the
//! reject record and the rest is read past in small blocks.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileTypeExt;
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
            let is_pipe = meta.as_ref().is_some_and(|m| m.file_type().is_fifo());
            if is_pipe {
                widen_pipe();
            }
            (Box::new(io::stdin()), meta)
        }
    };
    let is_file = meta.as_ref().is_some_and(|m| m.is_file());
    let mut br = BufReader::with_capacity(128 * 1024, raw);
    let compression = detect(br.fill_buf()?);
    let reader: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
        Compression::Zstd => Box::new(zstd::Decoder::with_buffer(br)?),
        Compression::None => Box::new(br),
    };
    Ok(Opened {
        reader,
        compression,
        interactive: !is_file && compression == Compression::None,
        size: meta.filter(|m| m.is_file()).map(|m| m.len()),
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
                let start = filled;
                filled += n;
                if self.at_start && (filled >= BOM.len() || n == 0) {
                    self.at_start = false;
                    if buf[..filled].starts_with(BOM) {
                        buf.drain(..BOM.len());
                        filled -= BOM.len();
                        cap -= BOM.len();
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

    #[test]
    fn magic_bytes() {
        assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(detect(b"{\"a\""), Compression::None);
        assert_eq!(detect(&[0x1f]), Compression::None);
    }
}
