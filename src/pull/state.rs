//! The `--state` checkpoint: where to continue, what was already written, and how
//! far the output file got.
//!
//! The file is JSON, replaced atomically (temporary file beside it, fsync, rename,
//! fsync of the directory), so a crash leaves either the old or the new checkpoint,
//! never a torn one. It is saved only after a page's events were written and flushed
//! (see `fetch.rs`), which gives at-least-once delivery; the recorded output length
//! lets a rerun cut off a page that was written after the last checkpoint, which
//! makes a file output exactly-once.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Format version written into the file; a different one is refused.
pub const STATE_VERSION: u32 = 1;

/// The filters a cursor was made with; a cursor only means something with them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// `--category`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `--event-type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// `--account-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// Identity and committed length of a regular output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputPos {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Length after the last checkpointed page.
    pub len: u64,
}

/// The checkpoint file's contents.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Always [`STATE_VERSION`].
    pub version: u32,
    /// The latest cursor; `None` before the first page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Filters the cursor belongs to.
    #[serde(default)]
    pub filters: Filters,
    /// The output file at the last checkpoint (regular files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputPos>,
    /// `--dedup-window` content hashes, oldest first: little-endian xxh3-64 values,
    /// base64 (standard alphabet).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dedup: String,
    /// When new events last arrived (RFC 3339), for `--drop-off-alarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<String>,
    /// When the drop-off alarm fired and has not recovered yet (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_since: Option<String>,
    /// When this checkpoint was written (RFC 3339), for people reading the file.
    #[serde(default)]
    pub updated_at: String,
}

/// Errors reading or writing the checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read.
    #[error("cannot read --state {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not a teamlog checkpoint.
    #[error(
        "--state {path} is not a teamlog pull checkpoint ({detail}); point --state at \
         another file, or remove this one to start over"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The checkpoint could not be saved.
    #[error("cannot save --state {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl State {
    /// Reads `path`; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(State {
                    version: STATE_VERSION,
                    ..State::default()
                })
            }
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let invalid = |detail: String| StateError::Invalid {
            path: path.to_owned(),
            detail,
        };
        let st: State = serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
        if st.version != STATE_VERSION {
            return Err(invalid(format!(
                "format version {}, this teamlog reads {STATE_VERSION}",
                st.version
            )));
        }
        Ok(st)
    }

    /// Replaces `path` atomically with this state.
    pub fn save(&mut self, path: &Path) -> Result<(), StateError> {
        self.version = STATE_VERSION;
        self.updated_at = super::util::api_time(chrono::Utc::now());
        let werr = |source| StateError::Write {
            path: path.to_owned(),
            source,
        };
        let mut text = serde_json::to_vec_pretty(self).map_err(|e| werr(io::Error::other(e)))?;
        text.push(b'\n');
        write_atomic(path, &text).map_err(werr)
    }
}

/// Writes `bytes` to a temporary file beside `path` (mode 0600), fsyncs it, renames
/// it over `path`, and fsyncs the directory so the rename survives a power cut.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".teamlog-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Directory fsync: best effort (not every filesystem allows opening a directory).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Content hash of one event's exact text.
pub fn event_hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// The last `window` event hashes, for `--dedup-window`.
///
/// Dropbox events carry no id, so identity is content: two events with the same
/// bytes are one event. (Two truly separate events with identical content within
/// the window are folded into one; DROPBOX_API.md: "deduplicate by content".)
#[derive(Debug, Default)]
pub struct Dedup {
    window: usize,
    order: VecDeque<u64>,
    set: HashSet<u64>,
}

impl Dedup {
    /// An empty window of `window` hashes (0 turns deduplication off).
    pub fn new(window: usize) -> Self {
        Dedup {
            window,
            order: VecDeque::with_capacity(window.min(1 << 16)),
            set: HashSet::with_capacity(window.min(1 << 16)),
        }
    }

    /// Restores the window from a state's `dedup` field, keeping the newest `window`.
    pub fn restore(window: usize, encoded: &str) -> Result<Self, String> {
        let mut d = Dedup::new(window);
        if window == 0 || encoded.is_empty() {
            return Ok(d);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("dedup hashes: {e}"))?;
        if bytes.len() % 8 != 0 {
            return Err("dedup hashes: length is not a multiple of 8 bytes".into());
        }
        for c in bytes.chunks_exact(8) {
            d.insert(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        Ok(d)
    }

    /// Encodes the window for the state file.
    pub fn encode(&self) -> String {
        if self.window == 0 {
            return String::new();
        }
        let mut bytes = Vec::with_capacity(self.order.len() * 8);
        for h in &self.order {
            bytes.extend_from_slice(&h.to_le_bytes());
        }
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// True when deduplication is on.
    pub fn enabled(&self) -> bool {
        self.window > 0
    }

    /// Records `h`; returns false when it is already in the window (a duplicate).
    /// With the window off, every event is new.
    pub fn insert(&mut self, h: u64) -> bool {
        if self.window == 0 {
            return true;
        }
        if !self.set.insert(h) {
            return false;
        }
        self.order.push_back(h);
        while self.order.len() > self.window {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    /// Number of hashes held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when no hash is held.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_window_forgets_the_oldest() {
        let mut d = Dedup::new(2);
        assert!(d.insert(1));
        assert!(!d.insert(1));
        assert!(d.insert(2));
        assert!(d.insert(3)); // 1 falls out
        assert!(d.insert(1));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn dedup_round_trips_and_shrinks() {
        let mut d = Dedup::new(10);
        for h in 1..=5 {
            d.insert(h);
        }
        let enc = d.encode();
        let mut r = Dedup::restore(10, &enc).unwrap();
        assert!(!r.insert(3));
        let mut small = Dedup::restore(2, &enc).unwrap();
        assert_eq!(small.len(), 2);
        assert!(!small.insert(5));
        assert!(small.insert(1));
        assert!(Dedup::restore(10, "!!").is_err());
    }

    #[test]
    fn off_window_passes_everything() {
        let mut d = Dedup::new(0);
        assert!(d.insert(1));
        assert!(d.insert(1));
        assert_eq!(d.encode(), "");
    }

    #[test]
    fn state_saves_atomically_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let mut st = State::load(&p).unwrap();
        assert_eq!(st.cursor, None);
        st.cursor = Some("c1".into());
        st.filters.category = Some("logins".into());
        st.save(&p).unwrap();
        let back = State::load(&p).unwrap();
        assert_eq!(back.cursor.as_deref(), Some("c1"));
        assert_eq!(back.filters.category.as_deref(), Some("logins"));
        // Only the state file remains: the temporary was renamed over it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        std::fs::write(&p, b"{\"version\": 9}").unwrap();
        assert!(State::load(&p)
            .unwrap_err()
            .to_string()
            .contains("version 9"));
        std::fs::write(&p, b"garbage").unwrap();
        assert!(State::load(&p).is_err());
    }
}
