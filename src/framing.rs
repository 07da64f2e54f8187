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
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
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
            name: Arc::from(path.display().to_string()),
            rel: path.file_name().map(PathBuf::from).unwrap_or_default(),
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
/// error unless `recursive`, in which case everything under them that is not
/// a directory comes sorted by path (component by component).
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
                // Everything but directories: a symlink, FIFO or device that
                // cannot be read shows up as a failed source, never skipped.
                if !entry.file_type().is_dir() {
                    let path = entry.into_path();
                    let rel = path.strip_prefix(a).unwrap_or(&path).to_path_buf();
                    out.push(Source {
                        rel,
                        ..Source::file(path)
                    });
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
            (Box::new(io::stdin()), meta)
        }
    };
    let is_file = meta.as_ref().is_some_and(|m| m.is_file());
    let raw = Counting {
        inner: raw,
        counter: read_bytes,
    };
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

/// A run of whole lines from one source.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Index into the run's sources.
    pub source: usize,
    /// 1-based number of the first line.
    pub first_line: u64,
    /// The lines, each ending in `\n` except perhaps the source's last.
    pub data: Vec<u8>,
    /// Set when `data` is only the kept prefix of one over-long line, whose
    /// full length (without line ending) this is.
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
        };
        match open(src, read_bytes) {
            Ok(o) => {
                r.end.compression = Some(o.compression);
                r.end.size = o.size;
                r.opened = Some(o);
            }
            Err(e) => r.end.failure = Some(format!("{}: cannot open: {e}", r.name)),
        }
        r
    }

    #[cold]
    fn fail(&mut self, err: &io::Error) {
        self.opened = None;
        let msg = format!(
            "{}: read failed after line {}: {err}",
            self.name,
            self.line - 1
        );
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

    fn read(&mut self, buf: &mut [u8]) -> usize {
        let Some(o) = self.opened.as_mut() else {
            return 0;
        };
        match read_some(&mut o.reader, buf) {
            Ok(n) => n,
            Err(e) => {
                self.fail(&e);
                0
            }
        }
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
        let mut cap = self.chunk_size.max(filled + 1);
        buf.resize(cap, 0);
        let mut scan_from = 0;
        loop {
            if filled == cap {
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
                    return Some(self.skip_long_line(buf, filled));
                }
                cap = cap.saturating_mul(2).min(limit).max(filled + 1);
                buf.resize(cap, 0);
            }
            let n = self.read(&mut buf[filled..cap]);
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

    /// Keeps the start of an over-long line and reads past the rest of it.
    #[cold]
    fn skip_long_line(&mut self, mut buf: Vec<u8>, filled: usize) -> Chunk {
        let mut total = filled as u64;
        buf.truncate(crate::output::TRUNCATED_RAW_BYTES.min(filled));
        let mut block = vec![0u8; 64 * 1024];
        loop {
            let n = self.read(&mut block);
            if n == 0 {
                self.opened = None;
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &block[..n]) {
                total += i as u64;
                self.carry.extend_from_slice(&block[i + 1..n]);
                break;
            }
            total += n as u64;
        }
        self.make_chunk(buf, Some(total))
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
