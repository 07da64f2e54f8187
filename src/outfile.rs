//! `-o FILE` for every command: written under a temporary name beside FILE and
//! renamed into place on success, so a failed or interrupted run never leaves
//! a half-written FILE (SPEC §7). Only a missing or regular file is replaced
//! that way; a device, FIFO or symlink (`-o /dev/null`) is written through,
//! since a rename would replace the device or the link itself.

use anyhow::Context;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files of unfinished outputs, removed if the run is interrupted.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every unfinished output's temporary file (for the SIGINT handler).
pub fn remove_pending() {
    if let Ok(mut p) = PENDING.lock() {
        for path in p.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// An output file being written.
pub struct OutFile {
    path: PathBuf,
    tmp: Option<tempfile::NamedTempFile>,
    direct: Option<File>,
}

impl OutFile {
    pub fn create(path: &Path) -> anyhow::Result<OutFile> {
        if !replaceable(path) {
            let f = File::create(path)
                .with_context(|| format!("cannot open {} for writing", path.display()))?;
            return Ok(OutFile {
                path: path.to_path_buf(),
                tmp: None,
                direct: Some(f),
            });
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut b = tempfile::Builder::new();
        b.prefix(".teamlog-").suffix(".tmp");
        // Output is data to share, not a secret: not tempfile's 0600.
        b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let tmp = b.tempfile_in(dir).with_context(|| {
            format!(
                "cannot create a temporary file in {} for {}",
                dir.display(),
                path.display()
            )
        })?;
        PENDING
            .lock()
            .expect("not poisoned")
            .push(tmp.path().to_path_buf());
        Ok(OutFile {
            path: path.to_path_buf(),
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

    /// The temporary file to remove if the run is interrupted.
    pub fn temp_path(&self) -> Option<&Path> {
        self.tmp.as_ref().map(|t| t.path())
    }

    /// The target path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the finished file in place.
    pub fn commit(self) -> anyhow::Result<()> {
        if let Some(t) = self.tmp {
            t.persist(&self.path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot rename the output into place at {}: {}",
                    self.path.display(),
                    e.error
                )
            })?;
        }
        Ok(())
    }
}

/// Whether PATH may be replaced by renaming a temporary file over it: only when
/// it is missing or a plain file (not a device, FIFO, directory or symlink).
fn replaceable(path: &Path) -> bool {
    std::fs::symlink_metadata(path).map_or(true, |m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards a real accident: `-o /dev/null` as root once renamed a regular
    /// file over the device.
    #[test]
    fn devices_and_links_are_written_through_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("corpus.ndjson");
        assert!(replaceable(&file));
        std::fs::write(&file, b"old").unwrap();
        assert!(replaceable(&file));
        assert!(!replaceable(dir.path()));
        assert!(!replaceable(Path::new("/dev/null")));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(!replaceable(&link));
    }
}
