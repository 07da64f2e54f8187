//! `--output-dir`: one output file per input, at the input's relative path,
//! each written atomically when its input is complete (an unfinished or
//! failed input's output never exists). Which inputs are done, and what
//! they reported, is kept by [`super::manifest`] around this sink.

use super::manifest::SourceFiles;
use crate::atomic::{with_path, AtomicFile};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use teamlog_core::framing::Source;
use teamlog_core::sink::Sink;

/// Compression of the files `--output-dir` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Compress {
    None,
    Gzip,
    Zstd,
}

impl Compress {
    fn extension(self) -> &'static str {
        match self {
            Compress::None => "ndjson",
            Compress::Gzip => "ndjson.gz",
            Compress::Zstd => "ndjson.zst",
        }
    }
}

/// The output path of `src` under `dir`: its relative path with compression and
/// JSON extensions replaced (`2024/01/a.json.gz` -> `2024/01/a.ndjson[.gz|.zst]`).
pub fn output_path(dir: &Path, src: &Source, compress: Compress) -> PathBuf {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let rel = &src.rel;
    // Bytes, not text: a name that is not UTF-8 keeps its bytes.
    let mut name: &[u8] = rel.file_name().map(|n| n.as_bytes()).unwrap_or(b"stdin");
    for ext in [".gz", ".gzip", ".zst", ".zstd"] {
        if let Some(n) = name.strip_suffix(ext.as_bytes()) {
            name = n;
            break;
        }
    }
    for ext in [".ndjson", ".jsonl", ".json", ".log", ".txt"] {
        if let Some(n) = name.strip_suffix(ext.as_bytes()) {
            name = n;
            break;
        }
    }
    let mut name = name.to_vec();
    name.push(b'.');
    name.extend_from_slice(compress.extension().as_bytes());
    let name = std::ffi::OsString::from_vec(name);
    match rel.parent() {
        Some(p) => dir.join(p).join(name),
        None => dir.join(name),
    }
}

enum Encoder {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::Encoder<'static, BufWriter<File>>),
}

impl Encoder {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Encoder::Plain(w) => w,
            Encoder::Gzip(w) => w,
            Encoder::Zstd(w) => w,
        }
    }

    fn finish(self) -> io::Result<()> {
        let mut w = match self {
            Encoder::Plain(w) => w,
            Encoder::Gzip(w) => w.finish()?,
            Encoder::Zstd(w) => w.finish()?,
        };
        // AtomicFile::commit flushes the file to disk.
        w.flush()
    }
}

/// One output file per source, opened when the source's first bytes arrive
/// and put in place when the source is complete.
pub struct OutputDir {
    dir: PathBuf,
    /// The sources of the run, by index (each one's path under `dir` is
    /// [`output_path`], made when it is written: none are held).
    sources: Arc<[Source]>,
    compress: Compress,
    current: Option<(usize, AtomicFile, Encoder)>,
    /// The file the last finished source committed, relative to `dir`.
    committed: Option<String>,
}

impl OutputDir {
    pub fn new(dir: &Path, sources: Arc<[Source]>, compress: Compress) -> OutputDir {
        OutputDir {
            dir: dir.to_path_buf(),
            sources,
            compress,
            current: None,
            committed: None,
        }
    }

    fn open(&mut self, source: usize) -> io::Result<()> {
        if self.current.as_ref().is_some_and(|c| c.0 == source) {
            return Ok(());
        }
        let path = &output_path(&self.dir, &self.sources[source], self.compress);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| with_path(e, "cannot create", dir))?;
        }
        let out = AtomicFile::create(path)?;
        let file = BufWriter::with_capacity(
            1 << 20,
            out.file()
                .try_clone()
                .map_err(|e| with_path(e, "cannot write", path))?,
        );
        let enc = match self.compress {
            Compress::None => Encoder::Plain(file),
            Compress::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            )),
            Compress::Zstd => Encoder::Zstd(
                zstd::Encoder::new(file, 3).map_err(|e| with_path(e, "cannot write", path))?,
            ),
        };
        // A source's output is finished before the next source's starts.
        self.current = Some((source, out, enc));
        Ok(())
    }
}

impl Sink for OutputDir {
    fn events(&mut self, source: usize, lines: &[u8]) -> io::Result<()> {
        self.open(source)?;
        let (_, out, enc) = self.current.as_mut().expect("opened");
        enc.writer()
            .write_all(lines)
            .map_err(|e| with_path(e, "cannot write", out.shown()))
    }

    fn end_source(&mut self, source: usize, complete: bool) -> io::Result<()> {
        self.committed = None;
        if !complete {
            // Dropping the file removes its temporary file: nothing of a
            // failed source is committed, and a rerun does it again.
            self.current = None;
            return Ok(());
        }
        self.open(source)?;
        let (_, out, enc) = self.current.take().expect("opened");
        enc.finish()
            .map_err(|e| with_path(e, "cannot write", out.shown()))?;
        out.commit()?;
        let path = output_path(&self.dir, &self.sources[source], self.compress);
        let rel = path.strip_prefix(&self.dir).unwrap_or(&path);
        self.committed = Some(super::manifest::file_entry(rel));
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SourceFiles for OutputDir {
    fn committed(&mut self) -> Vec<String> {
        self.committed.take().into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(rel: &str) -> Source {
        let mut s = Source::file(PathBuf::from("/in").join(rel));
        s.rel = PathBuf::from(rel);
        s
    }

    #[test]
    fn output_paths_keep_the_tree_and_swap_extensions() {
        let d = Path::new("/out");
        assert_eq!(
            output_path(d, &src("2024/01/a.json.gz"), Compress::None),
            Path::new("/out/2024/01/a.ndjson")
        );
        assert_eq!(
            output_path(d, &src("b.ndjson.zst"), Compress::Gzip),
            Path::new("/out/b.ndjson.gz")
        );
        assert_eq!(
            output_path(d, &src("c"), Compress::Zstd),
            Path::new("/out/c.ndjson.zst")
        );
    }
}
