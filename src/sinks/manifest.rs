//! The bookkeeping of an output directory, which makes reruns whole:
//! `DIR/_teamlog/sources/<key>.json`, one *record* per finished source, and
//! `DIR/_teamlog/sources/<key>.rejects.ndjson`, its *rejects sidecar*. (The
//! leading `_` keeps `_teamlog/` out of the table for Hive, Spark, DuckDB and
//! Athena.)
//!
//! The order of commits for one source: its output file(s), then its
//! sidecar (when it had rejects; a stale one is removed otherwise), then its
//! record, each atomically ([`crate::atomic`]). A source is *done* iff its
//! record exists, reads back, its listed files exist and (when it counted
//! rejects) its sidecar exists; a kill at any point leaves the source not
//! done, and a rerun does it again. A rerun skips done sources but still
//! reports them: `--stats` takes their per-source entry from the record, and
//! `--rejects FILE` is rebuilt from every source's sidecar in path order, so
//! a resumed or repeated batch reports what one uninterrupted run would.
//!
//! A source that fails part way commits no output and no record (its events
//! are not counted as written); its sidecar is committed, so its rejects are
//! still reported, and a rerun does the source again.
//!
//! [`Recorded`] wraps any sink that writes files per source (it tells which
//! through [`SourceFiles`]) and does all of the above around it.

use crate::atomic::{self, AtomicFile};
use crate::spill::Spill;
use serde::{Deserialize, Serialize};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use teamlog_core::framing::Source;
use teamlog_core::pipeline::SourceTotals;
use teamlog_core::sink::Sink;

/// The bookkeeping directory's name inside an output directory.
pub const BOOK_DIR: &str = "_teamlog";

/// The key of a source: its relative path, each component's bytes outside
/// `[A-Za-z0-9._-]` (and a leading `.`) written `%XX`, components joined by
/// `/`. Distinct paths (non-UTF-8 ones included) get distinct keys, and no
/// key component is hidden, `.` or `..`.
pub fn key(rel: &Path) -> String {
    let mut out = String::new();
    for (n, part) in rel.iter().enumerate() {
        if n > 0 {
            out.push('/');
        }
        for (i, &b) in part.as_bytes().iter().enumerate() {
            let plain = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
            if plain {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// A file's path relative to the output directory as a record lists it:
/// the path as text, with `%` and any bytes that are not UTF-8 written
/// `%XX`, so every name (non-UTF-8 ones included) reads back exactly.
pub fn file_entry(rel: &Path) -> String {
    let mut out = String::new();
    for chunk in rel.as_os_str().as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path a record's file entry names (the inverse of [`file_entry`]).
pub fn entry_path(entry: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = entry.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// What the record of a finished source holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The source's per-source stats entry, exactly as `--stats` writes it
    /// in `sources[]`.
    pub stats: serde_json::Value,
    /// The files it wrote, relative to the output directory, sorted, as
    /// [`file_entry`] writes them.
    pub files: Vec<String>,
}

impl Record {
    /// The rejects the record counts.
    fn rejected(&self) -> u64 {
        self.stats["rejected"].as_u64().unwrap_or(0)
    }
}

/// One output directory's bookkeeping.
#[derive(Debug, Clone)]
pub struct Manifest {
    dir: PathBuf,
}

impl Manifest {
    pub fn new(dir: &Path) -> Manifest {
        Manifest {
            dir: dir.to_path_buf(),
        }
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/_teamlog/sources`.
    pub fn sources_dir(&self) -> PathBuf {
        self.dir.join(BOOK_DIR).join("sources")
    }

    /// Where the record of `key` goes.
    pub fn record_path(&self, key: &str) -> PathBuf {
        self.sources_dir().join(format!("{key}.json"))
    }

    /// Where the rejects sidecar of `key` goes.
    pub fn rejects_path(&self, key: &str) -> PathBuf {
        self.sources_dir().join(format!("{key}.rejects.ndjson"))
    }

    /// Creates the bookkeeping directory (before any work, so that a
    /// directory that cannot be written is found at once).
    pub fn prepare(&self) -> io::Result<()> {
        let d = self.sources_dir();
        std::fs::create_dir_all(&d).map_err(|e| atomic::with_path(e, "cannot create", &d))?;
        atomic::check_writable(&d.join("check"))
    }

    /// The record of `key` if the source is done: the record reads back, its
    /// files exist, and its sidecar exists when it counted rejects.
    pub fn done(&self, key: &str) -> Option<Record> {
        let bytes = std::fs::read(self.record_path(key)).ok()?;
        let rec: Record = serde_json::from_slice(&bytes).ok()?;
        let files_there = rec
            .files
            .iter()
            .all(|f| self.dir.join(entry_path(f)).is_file());
        let rejects_there = rec.rejected() == 0 || self.rejects_path(key).is_file();
        (files_there && rejects_there).then_some(rec)
    }

    /// Starts the bookkeeping of one source being done now.
    pub fn begin(&self, key: &str) -> SourceBook {
        SourceBook {
            manifest: self.clone(),
            key: key.to_string(),
            rejects: None,
        }
    }

    /// Appends the sidecar of `key` (if any) to `to`.
    pub fn copy_rejects(&self, key: &str, to: &mut dyn Write) -> io::Result<()> {
        let p = self.rejects_path(key);
        match std::fs::File::open(&p) {
            Ok(mut f) => io::copy(&mut f, to)
                .map(drop)
                .map_err(|e| relabel(e, "cannot read", &p)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(atomic::with_path(e, "cannot read", &p)),
        }
    }
}

/// An error that may already name a file (a labelled writer's) kept as is;
/// otherwise given `what` and `path`.
fn relabel(e: io::Error, what: &str, path: &Path) -> io::Error {
    if e.get_ref().is_some() {
        e
    } else {
        atomic::with_path(e, what, path)
    }
}

fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => {
            std::fs::create_dir_all(d).map_err(|e| atomic::with_path(e, "cannot create", d))
        }
        _ => Ok(()),
    }
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(atomic::with_path(e, "cannot remove", path))
        }
        _ => Ok(()),
    }
}

/// The bookkeeping of one source while it is processed.
pub struct SourceBook {
    manifest: Manifest,
    key: String,
    rejects: Option<(AtomicFile, BufWriter<std::fs::File>)>,
}

impl SourceBook {
    /// Keeps reject records for the sidecar.
    pub fn rejects(&mut self, records: &[u8]) -> io::Result<()> {
        if self.rejects.is_none() {
            let p = self.manifest.rejects_path(&self.key);
            create_parent(&p)?;
            let f = AtomicFile::create(&p)?;
            let w = BufWriter::with_capacity(1 << 16, f.file().try_clone()?);
            self.rejects = Some((f, w));
        }
        let (f, w) = self.rejects.as_mut().expect("opened");
        w.write_all(records)
            .map_err(|e| atomic::with_path(e, "cannot write", f.shown()))
    }

    /// Commits the sidecar (or removes a stale one); the record is removed
    /// first, so the source is not done until [`SourceBook::commit`].
    fn commit_rejects(&mut self) -> io::Result<()> {
        remove_if_there(&self.manifest.record_path(&self.key))?;
        match self.rejects.take() {
            Some((f, mut w)) => {
                w.flush()
                    .map_err(|e| atomic::with_path(e, "cannot write", f.shown()))?;
                drop(w);
                f.commit()
            }
            None => remove_if_there(&self.manifest.rejects_path(&self.key)),
        }
    }

    /// The source failed: its rejects are kept, it has no record.
    pub fn failed(mut self) -> io::Result<()> {
        self.commit_rejects()
    }

    /// The source's files are committed: commits its sidecar, then its
    /// record (last). Files the previous record listed that this run did not
    /// write again (a changed input under `--force`) are removed.
    pub fn commit(mut self, stats: &SourceTotals, files: Vec<String>) -> io::Result<()> {
        let old = std::fs::read(self.manifest.record_path(&self.key))
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok());
        self.commit_rejects()?;
        if let Some(old) = old {
            for f in old.files.iter().filter(|f| !files.contains(f)) {
                if !f.split('/').any(|c| c == ".." || c.is_empty()) {
                    remove_if_there(&self.manifest.dir.join(entry_path(f)))?;
                }
            }
        }
        let rec = Record {
            stats: serde_json::to_value(stats).map_err(io::Error::other)?,
            files,
        };
        let mut json = serde_json::to_vec_pretty(&rec).map_err(io::Error::other)?;
        json.push(b'\n');
        let p = self.manifest.record_path(&self.key);
        create_parent(&p)?;
        atomic::write(&p, &json)?;
        test_abort::after_record();
        Ok(())
    }
}

/// A sink that writes files per source and says which it committed.
pub trait SourceFiles: Sink {
    /// The files committed for the source that just ended (after
    /// [`Sink::source_done`] returned), relative to the output directory.
    fn committed(&mut self) -> Vec<String>;
}

/// A per-source sink with the bookkeeping around it: the sidecar of each
/// source's rejects, and its record once its files are committed.
pub struct Recorded<S> {
    inner: S,
    manifest: Manifest,
    /// The sources of the run, by index (each one's [`key`] is made when
    /// it starts: none are held).
    sources: Arc<[Source]>,
    current: Option<(usize, SourceBook)>,
}

impl<S: SourceFiles> Recorded<S> {
    pub fn new(inner: S, manifest: Manifest, sources: Arc<[Source]>) -> Recorded<S> {
        Recorded {
            inner,
            manifest,
            sources,
            current: None,
        }
    }

    fn book(&mut self, source: usize) -> &mut SourceBook {
        if self.current.as_ref().is_none_or(|c| c.0 != source) {
            let key = key(&self.sources[source].rel);
            self.current = Some((source, self.manifest.begin(&key)));
        }
        &mut self.current.as_mut().expect("set").1
    }
}

impl<S: SourceFiles> Sink for Recorded<S> {
    fn events(&mut self, source: usize, lines: &[u8]) -> io::Result<()> {
        self.inner.events(source, lines)
    }

    fn encoder(&self) -> Option<std::sync::Arc<dyn teamlog_core::sink::Encoder>> {
        self.inner.encoder()
    }

    fn encoded_events(
        &mut self,
        source: usize,
        lines: &[u8],
        encoded: &teamlog_core::sink::Encoded,
    ) -> io::Result<()> {
        self.inner.encoded_events(source, lines, encoded)
    }

    fn rejects(&mut self, source: usize, records: &[u8]) -> io::Result<()> {
        self.book(source).rejects(records)
    }

    fn source_done(&mut self, source: usize, totals: &SourceTotals) -> io::Result<()> {
        self.inner.source_done(source, totals)?;
        self.book(source);
        let (_, book) = self.current.take().expect("set");
        if totals.error.is_some() {
            return book.failed();
        }
        let files = self.inner.committed();
        test_abort::after_output();
        let mut entry = totals.clone();
        entry.written = entry.counts.events;
        book.commit(&entry, files)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

/// Decides the work: per source (with its key), whether an earlier run did
/// it, and those runs' `--stats` entries in order, spilled to disk (a rerun
/// over a million done files keeps none of them in memory). Stdin is always
/// done again (it is never the same stream twice); so is everything with
/// `force`.
pub fn plan(
    manifest: &Manifest,
    sources: &[Source],
    force: bool,
) -> io::Result<(Vec<bool>, Spill)> {
    let mut done = Vec::with_capacity(sources.len());
    let mut earlier = Spill::default();
    for s in sources {
        let rec = (!force && s.path.is_some())
            .then(|| manifest.done(&key(&s.rel)))
            .flatten();
        if let Some(rec) = &rec {
            earlier.push(&rec.stats)?;
        }
        done.push(rec.is_some());
    }
    Ok((done, earlier))
}

/// A hidden switch for tests of interrupted runs: `TEAMLOG_TEST_ABORT` set to
/// `output:N` aborts the process (like SIGKILL: nothing cleaned up) once the
/// Nth source's files are committed but before its record; `record:N` right
/// after the Nth record. Not for users; it is read once.
mod test_abort {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    static COUNT: AtomicU64 = AtomicU64::new(0);

    fn wanted() -> Option<(&'static str, u64)> {
        static W: OnceLock<Option<(String, u64)>> = OnceLock::new();
        W.get_or_init(|| {
            let v = std::env::var("TEAMLOG_TEST_ABORT").ok()?;
            let (at, n) = v.split_once(':')?;
            Some((at.to_string(), n.parse().ok()?))
        })
        .as_ref()
        .map(|(a, n)| (a.as_str(), *n))
    }

    fn check(at: &str, bump: bool) {
        let Some((want, n)) = wanted() else { return };
        let done = if bump {
            COUNT.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            COUNT.load(Ordering::SeqCst) + 1
        };
        if want == at && done == n {
            std::process::abort();
        }
    }

    pub fn after_output() {
        check("output", false);
    }

    pub fn after_record() {
        check("record", true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn keys_keep_distinct_paths_distinct() {
        assert_eq!(key(Path::new("2024/01/a.json.gz")), "2024/01/a.json.gz");
        assert_eq!(key(Path::new("a b/.x")), "a%20b/%2Ex");
        assert_eq!(key(Path::new("a%20b")), "a%2520b");
        let bad = Path::new(OsStr::from_bytes(b"\xff.json"));
        let lossy = Path::new("\u{fffd}.json");
        assert_ne!(key(bad), key(lossy));
        assert_eq!(key(bad), "%FF.json");
    }

    #[test]
    fn file_entries_read_back_exactly() {
        for raw in [&b"2024/a.ndjson"[..], b"100%/x\xff.ndjson", b"%41"] {
            let p = Path::new(OsStr::from_bytes(raw));
            assert_eq!(entry_path(&file_entry(p)), p, "{raw:?}");
        }
        assert_eq!(file_entry(Path::new("a/b.ndjson")), "a/b.ndjson");
    }

    fn totals(rejected: u64) -> SourceTotals {
        let mut t = SourceTotals {
            source: "in/a".into(),
            ..SourceTotals::default()
        };
        t.counts.rejected = rejected;
        t
    }

    #[test]
    fn a_source_is_done_only_once_its_record_and_everything_it_lists_exist() {
        let d = tempfile::tempdir().unwrap();
        let m = Manifest::new(d.path());
        assert!(m.done("x/a").is_none());
        std::fs::write(d.path().join("a.ndjson"), "{}\n").unwrap();
        let mut b = m.begin("x/a");
        b.rejects(b"{\"r\":1}\n").unwrap();
        b.commit(&totals(1), vec!["a.ndjson".into()]).unwrap();
        let rec = m.done("x/a").expect("done");
        assert_eq!(rec.stats["source"], "in/a");
        let mut back = Vec::new();
        m.copy_rejects("x/a", &mut back).unwrap();
        assert_eq!(back, b"{\"r\":1}\n");
        // A lost sidecar or output makes it not done.
        std::fs::remove_file(m.rejects_path("x/a")).unwrap();
        assert!(m.done("x/a").is_none());
    }

    #[test]
    fn a_failed_source_keeps_its_rejects_and_loses_its_record() {
        let d = tempfile::tempdir().unwrap();
        let m = Manifest::new(d.path());
        m.begin("a").commit(&totals(0), vec![]).unwrap();
        assert!(m.done("a").is_some());
        let mut b = m.begin("a");
        b.rejects(b"r\n").unwrap();
        b.failed().unwrap();
        assert!(m.done("a").is_none());
        assert_eq!(std::fs::read(m.rejects_path("a")).unwrap(), b"r\n");
    }
}
