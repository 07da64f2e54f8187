//! The one atomic-file writer, for every file teamlog replaces: `-o`, the
//! files under `--output-dir`, `--stats`, `pull`'s `--state` and the
//! credentials file.
//!
//! A file is written under a hidden temporary name (`.teamlog-*.tmp`) in the
//! target's directory, then, on [`AtomicFile::commit`], flushed to disk
//! (fsync), renamed over the target, and the directory is fsynced, so after a
//! crash or power cut the target is either the old file or the whole new one.
//! Until then nothing is visible; a dropped (failed) file removes its
//! temporary, and so does the signal handler (see [`remove_pending`]).
//!
//! Permissions: a file that replaces an existing one keeps its permission
//! bits; a new file gets the process umask (0666 masked, like `>`), or the
//! mode asked for ([`AtomicFile::create_with_mode`], 0600 for secrets).
//!
//! What is not replaced but written through: a device or FIFO target
//! (`-o /dev/null`, `-o >(gzip)`), since a rename would replace the device
//! node itself. A symlink target is resolved first, and its final target is
//! replaced atomically, so the link stays a link.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files of unfinished outputs, removed if the run is interrupted.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every unfinished output's temporary file (for the signal handler).
pub fn remove_pending() {
    if let Ok(mut p) = PENDING.lock() {
        for path in p.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn forget_pending(tmp: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.retain(|x| x != tmp);
    }
}

/// A file being written, invisible until committed.
pub struct AtomicFile {
    /// Where it goes (a symlink resolved to its final target).
    path: PathBuf,
    /// What the user named, for messages.
    shown: PathBuf,
    tmp: Option<tempfile::NamedTempFile>,
    direct: Option<File>,
}

/// The path a write to `path` really replaces: a symlink's final target.
pub fn resolve(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// The directory a path's temporary file goes in.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

impl AtomicFile {
    /// Starts writing `path`; new files get the umask's permissions.
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        AtomicFile::open(path, None)
    }

    /// Starts writing `path` with exactly `mode` (e.g. 0o600 for a secret).
    pub fn create_with_mode(path: &Path, mode: u32) -> io::Result<AtomicFile> {
        AtomicFile::open(path, Some(mode))
    }

    fn open(shown: &Path, mode: Option<u32>) -> io::Result<AtomicFile> {
        let path = resolve(shown);
        let existing = std::fs::metadata(&path).ok();
        if let Some(m) = &existing {
            if m.is_dir() {
                return Err(with_path(
                    io::Error::from(io::ErrorKind::IsADirectory),
                    "cannot write",
                    shown,
                ));
            }
            if !m.is_file() {
                // A device or FIFO: written through.
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| with_path(e, "cannot open", shown))?;
                return Ok(AtomicFile {
                    path,
                    shown: shown.to_path_buf(),
                    tmp: None,
                    direct: Some(f),
                });
            }
        }
        let dir = parent_dir(&path);
        let mut b = tempfile::Builder::new();
        b.prefix(".teamlog-").suffix(".tmp");
        // Applied at open(2), so the kernel masks it with the umask.
        b.permissions(std::fs::Permissions::from_mode(mode.unwrap_or(0o666)));
        let tmp = b
            .tempfile_in(dir)
            .map_err(|e| with_path(e, "cannot create", shown))?;
        let keep = match (mode, &existing) {
            (Some(m), _) => Some(m),
            (None, Some(m)) => Some(m.permissions().mode() & 0o7777),
            (None, None) => None,
        };
        if let Some(m) = keep {
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(m))?;
        }
        if let Ok(mut p) = PENDING.lock() {
            p.push(tmp.path().to_path_buf());
        }
        Ok(AtomicFile {
            path,
            shown: shown.to_path_buf(),
            tmp: Some(tmp),
            direct: None,
        })
    }

    /// The file to write into.
    pub fn file(&self) -> &File {
        match (&self.tmp, &self.direct) {
            (Some(t), _) => t.as_file(),
            (None, Some(f)) => f,
            (None, None) => unreachable!("one of them is set"),
        }
    }

    /// Whether this is a device or FIFO written through (nothing to commit:
    /// what was written is out).
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// The path as the user gave it (for messages).
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// Flushes the file to disk and puts it in place.
    pub fn commit(mut self) -> io::Result<()> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(());
        };
        tmp.as_file()
            .sync_all()
            .map_err(|e| with_path(e, "cannot write", &self.shown))?;
        let tmp_path = tmp.path().to_path_buf();
        tmp.persist(&self.path).map_err(|e| {
            with_path(
                e.error,
                "cannot rename the finished file into place at",
                &self.shown,
            )
        })?;
        forget_pending(&tmp_path);
        // Best effort: not every filesystem lets a directory be opened.
        if let Ok(d) = File::open(parent_dir(&self.path)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(t) = &self.tmp {
            forget_pending(t.path());
        }
    }
}

/// A hidden scratch file (`.teamlog-*.tmp` in a given directory) that is
/// never put in place: removed when dropped, and by the signal handler. It
/// keeps no descriptor open, so a sink may hold thousands (one per day of a
/// Parquet table's spilled rows).
pub struct ScratchFile(Option<tempfile::TempPath>);

impl ScratchFile {
    /// Creates an empty one in `dir`.
    pub fn create_in(dir: &Path) -> io::Result<ScratchFile> {
        let tmp = tempfile::Builder::new()
            .prefix(".teamlog-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| with_path(e, "cannot create a temporary file in", dir))?
            .into_temp_path();
        if let Ok(mut p) = PENDING.lock() {
            p.push(tmp.to_path_buf());
        }
        Ok(ScratchFile(Some(tmp)))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.0.as_deref().expect("until dropped")
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            forget_pending(&t);
            // Dropping the TempPath removes the file.
        }
    }
}

/// Writes `bytes` as the whole new content of `path`, atomically.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let f = AtomicFile::create(path)?;
    write_commit(f, bytes)
}

/// Like [`write()`], with exactly `mode` (0o600 for secrets and state).
pub fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let f = AtomicFile::create_with_mode(path, mode)?;
    write_commit(f, bytes)
}

fn write_commit(f: AtomicFile, bytes: &[u8]) -> io::Result<()> {
    let shown = f.shown.clone();
    f.file()
        .write_all(bytes)
        .map_err(|e| with_path(e, "cannot write", &shown))?;
    f.commit()
}

/// Like [`write()`], for an output a flag names: errors say
/// `cannot write --stats to PATH: reason`.
pub fn write_as(path: &Path, bytes: &[u8], flag: &str) -> io::Result<()> {
    write_as_with(path, flag, |w| w.write_all(bytes))
}

/// Like [`write_as`], for content made as it is written (through a buffer):
/// a large document is never held whole.
pub fn write_as_with(
    path: &Path,
    flag: &str,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let what = format!("cannot write {flag} to");
    let f = AtomicFile::create(path).map_err(|e| with_path(e, &what, path))?;
    let mut w = io::BufWriter::with_capacity(1 << 16, f.file());
    fill(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| with_path(e, &what, path))?;
    drop(w);
    f.commit().map_err(|e| with_path(e, &what, path))
}

/// Checks, before any work, that `path` can be created or replaced: its
/// directory exists and is writable (a temporary file is made and removed),
/// and it is not a directory.
pub fn check_writable(path: &Path) -> io::Result<()> {
    AtomicFile::create(path).map(drop)
}

/// An I/O error with what was done and to which file in its message, once
/// (the OS reason without Rust's "(os error N)").
pub fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    labelled(e, &format!("{what} {}", path.display()))
}

/// An error labelled `what: reason`: what failed, once. Relabelling one of
/// ours replaces its label instead of adding a second.
pub fn labelled(e: io::Error, what: &str) -> io::Error {
    let reason = reason(&e);
    io::Error::new(
        e.kind(),
        Described {
            text: format!("{what}: {reason}"),
            reason,
        },
    )
}

/// The bare reason of an I/O error (`No space left on device`), without
/// any label: for a caller that names the failure itself.
pub fn reason(e: &io::Error) -> String {
    match e.get_ref().and_then(|i| i.downcast_ref::<Described>()) {
        Some(d) => d.reason.clone(),
        None => plain(e),
    }
}

/// A message made by [`labelled`], keeping the bare reason.
#[derive(Debug)]
struct Described {
    text: String,
    reason: String,
}

impl std::fmt::Display for Described {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Described {}

/// An I/O error's text without the `(os error N)` suffix, and without the
/// temporary file's name that `tempfile` adds (`... at path ".teamlog-x.tmp"`).
pub fn plain(e: &io::Error) -> String {
    let mut s = e.to_string();
    if let Some(i) = s.find(" at path \"") {
        s.truncate(i);
    }
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

/// Opens `path` for appending (creating it with the umask's permissions):
/// for logs that must never lose what an earlier run wrote.
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o666)
        .open(path)
        .map_err(|e| with_path(e, "cannot open", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn replacing_keeps_permission_bits_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(mode(&p), 0o600);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_uncommitted_file_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out");
        std::fs::write(&p, "old").unwrap();
        let f = AtomicFile::create(&p).unwrap();
        f.file().write_all(b"half").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_replaced() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        let link = d.path().join("link");
        std::fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn secrets_get_exactly_their_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cred");
        write_with_mode(&p, b"s", 0o600).unwrap();
        assert_eq!(mode(&p), 0o600);
    }

    #[test]
    fn errors_name_the_file_once() {
        let e = check_writable(Path::new("/nonexistent-dir/x/out.ndjson")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("/nonexistent-dir/x/out.ndjson"), "{msg}");
        assert!(!msg.contains("os error"), "{msg}");
        assert_eq!(msg.matches("No such file").count(), 1, "{msg}");
    }
}
