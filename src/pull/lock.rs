//! One collector per state file: an exclusive `flock` on `STATE.lock`, held for
//! the whole run.
//!
//! The lock is on a file beside the state, not on the state itself, because the
//! state is replaced by rename at every checkpoint (a lock on it would stay on the
//! old inode). The kernel releases a `flock` when its holder dies, however it dies,
//! so a stale lock never blocks. The lock file is left in place (removing it would
//! let a waiting run and a new run lock two different inodes); while held it says
//! who holds it: `pid 1234 started 2024-05-01T12:00:00Z`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::util::{api_time, sanitize};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error(
        "another teamlog pull ({holder}) is using --state {state}: only one collector may \
         use a state file at a time. Let it finish or stop it, or pass --wait to wait for \
         it (the lock is {lock})"
    )]
    Held {
        /// The state file.
        state: String,
        /// The lock file.
        lock: String,
        /// `pid N, started T`, or what is known.
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error(
        "cannot lock --state {state} (lock file {lock}): {source}; the state's directory \
         must exist and be writable"
    )]
    Io {
        /// The state file.
        state: String,
        /// The lock file.
        lock: String,
        /// Why.
        source: io::Error,
    },
    /// A stop was requested while waiting with `--wait`.
    #[error("interrupted while waiting for the lock on --state {state}")]
    Interrupted {
        /// The state file.
        state: String,
    },
}

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    /// The lock file.
    pub path: PathBuf,
}

/// The lock file of `state`: `STATE.lock` beside it.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state.with_file_name(name)
}

fn try_flock(f: &File) -> io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    match flock(f, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) if e == rustix::io::Errno::INTR => Ok(false),
        Err(e) => Err(e.into()),
    }
}

impl StateLock {
    /// Takes the lock of `state`. When another run holds it: fails at once, or with
    /// `wait`, polls until it is free or `stop` is set (`on_wait` is called once,
    /// with the holder, before waiting).
    pub fn acquire(
        state: &Path,
        wait: bool,
        stop: &AtomicBool,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<StateLock, LockError> {
        let path = lock_path(state);
        let names = || {
            (
                sanitize(&state.display().to_string(), 300),
                sanitize(&path.display().to_string(), 300),
            )
        };
        let io_err = |source| {
            let (state, lock) = names();
            LockError::Io {
                state,
                lock,
                source,
            }
        };
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        let mut told = false;
        while !try_flock(&f).map_err(io_err)? {
            let holder = holder(&mut f);
            if !wait {
                let (state, lock) = names();
                return Err(LockError::Held {
                    state,
                    lock,
                    holder,
                });
            }
            if !told {
                on_wait(&holder);
                told = true;
            }
            if stop.load(Ordering::Relaxed) {
                return Err(LockError::Interrupted { state: names().0 });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let me = format!(
            "pid {} started {}\n",
            std::process::id(),
            api_time(chrono::Utc::now())
        );
        // Best effort: the lock works without the note.
        let _ = f
            .set_len(0)
            .and_then(|_| f.seek(SeekFrom::Start(0)))
            .and_then(|_| f.write_all(me.as_bytes()))
            .and_then(|_| f.flush());
        Ok(StateLock { _file: f, path })
    }
}

/// What the lock file says about its holder.
fn holder(f: &mut File) -> String {
    let mut text = String::new();
    let _ = f
        .seek(SeekFrom::Start(0))
        .and_then(|_| f.take(200).read_to_string(&mut text));
    let line = text.lines().next().unwrap_or("").trim();
    match line.strip_prefix("pid ") {
        Some(rest) => {
            let (pid, started) = rest.split_once(" started ").unwrap_or((rest, "?"));
            format!(
                "pid {}, started {}",
                sanitize(pid, 20),
                sanitize(started, 40)
            )
        }
        None => "pid unknown: it has not written the lock file yet".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let st = dir.path().join("state.json");
        let stop = AtomicBool::new(false);
        let first = StateLock::acquire(&st, false, &stop, &mut |_| {}).unwrap();
        assert_eq!(first.path, dir.path().join("state.json.lock"));
        let e = StateLock::acquire(&st, false, &stop, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("pid {}, started 20", std::process::id())),
            "{e}"
        );
        assert!(e.contains("--wait"), "{e}");
        drop(first);
        StateLock::acquire(&st, false, &stop, &mut |_| {}).expect("free again");
    }

    #[test]
    fn waiting_ends_on_stop() {
        let dir = tempfile::tempdir().unwrap();
        let st = dir.path().join("state.json");
        let stop = AtomicBool::new(false);
        let _held = StateLock::acquire(&st, false, &stop, &mut |_| {}).unwrap();
        let mut waited = String::new();
        let e = StateLock::acquire(&st, true, &stop, &mut |h| {
            waited = h.to_owned();
            stop.store(true, Ordering::Relaxed);
        })
        .unwrap_err();
        assert!(matches!(e, LockError::Interrupted { .. }));
        assert!(waited.starts_with("pid "), "{waited}");
    }

    #[test]
    fn a_missing_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let st = dir.path().join("missing/state.json");
        let e = StateLock::acquire(&st, false, &AtomicBool::new(false), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("must exist and be writable"), "{e}");
    }
}
