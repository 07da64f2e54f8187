//! The `--state` checkpoint: where to continue, what was already written, how
//! far the outputs got, and what the drop-off alarm needs to remember.
//!
//! The file is JSON, replaced atomically (temporary file beside it, fsync, rename,
//! fsync of the directory), so a crash leaves either the old or the new checkpoint,
//! never a torn one. It is saved only after a page's events and rejects were written
//! and flushed (see `fetch.rs`), which gives at-least-once delivery; the recorded
//! output and rejects lengths let a rerun cut off a page that was written after the
//! last checkpoint, which makes file outputs exactly-once. The format is described
//! for people in `docs/pull.md`.

use std::collections::{HashSet, VecDeque};

use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Format version written into the file; version 1 files are read too.
pub const STATE_VERSION: u32 = 2;

/// The most events the dedup window holds, whatever its duration: 12 bytes each,
/// 16 in the file's base64, so the window never makes the state larger than about
/// 3.2 MB.
pub const MAX_DEDUP_EVENTS: usize = 200_000;

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

/// A `--start` or `--end` as given and as sent to Dropbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeArg {
    /// The flag's text, like `7d` or `2024-05-01`.
    pub given: String,
    /// The time sent to Dropbox (`YYYY-MM-DDTHH:MM:SSZ`).
    pub sent: String,
}

impl TimeArg {
    /// True when `other` asks for the same time: the same text (a relative `7d`
    /// stays the same flag from run to run) or the same resolved time.
    pub fn same_as(&self, other: &TimeArg) -> bool {
        self.given == other.given || self.sent == other.sent
    }
}

/// The time range the saved cursor's query was started with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// `--start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<TimeArg>,
    /// `--end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<TimeArg>,
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

/// An alarm that was raised and has not recovered yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raised {
    /// What it is: `drop-off`, or an access failure (`access-revoked`,
    /// `access-invalid`, `missing-scope`, `app-credentials`).
    pub kind: String,
    /// When it was raised (RFC 3339).
    pub since: String,
}

/// The checkpoint file's contents.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Always [`STATE_VERSION`] when written.
    pub version: u32,
    /// The latest cursor; `None` before the first page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Filters the cursor belongs to.
    #[serde(default)]
    pub filters: Filters,
    /// Time range the cursor's query started with.
    #[serde(default)]
    pub query: Query,
    /// The event output at the last checkpoint (regular files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputPos>,
    /// The `--rejects` file at the last checkpoint (regular files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejects: Option<OutputPos>,
    /// `--dedup-window` entries, oldest first: per event its timestamp (u32
    /// little-endian, seconds since 1970) and its content hash (u64 little-endian
    /// xxh3-64), base64 (standard alphabet).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dedup_events: String,
    /// The newest `timestamp` of any event received (RFC 3339): where a query
    /// restarts after `bad_cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_time: Option<String>,
    /// When new events last arrived (RFC 3339, wall clock), for `--drop-off-alarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<String>,
    /// When a request to Dropbox last succeeded (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<String>,
    /// When the alarm began watching this state (RFC 3339): the silence before any
    /// event arrived is counted from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watching_since: Option<String>,
    /// The alarm raised and not recovered yet, so a restart does not raise it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm: Option<Raised>,
    /// Version 1's alarm record (read, never written).
    #[serde(default, skip_serializing)]
    alarm_since: Option<String>,
    /// Version 1's dedup hashes, without timestamps (read, never written).
    #[serde(default, skip_serializing)]
    dedup: String,
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
        let mut st: State = serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
        if st.version != STATE_VERSION && st.version != 1 {
            return Err(invalid(format!(
                "format version {}, this teamlog reads 1 and {STATE_VERSION}",
                st.version
            )));
        }
        // Version 1: the alarm had one kind; its hashes had no timestamps, so they
        // cannot join a window sized by time and are dropped (the cursor is kept).
        if let Some(since) = st.alarm_since.take() {
            st.alarm.get_or_insert(Raised {
                kind: "drop-off".into(),
                since,
            });
        }
        st.dedup.clear();
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
        crate::atomic::write_with_mode(path, &text, 0o600).map_err(werr)
    }
}

/// Content hash of one event's exact text.
pub fn event_hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// The dedup window: content hashes of the events whose `timestamp` lies within
/// `span` of the newest event timestamp seen, at most [`MAX_DEDUP_EVENTS`].
///
/// Dropbox events carry no id, so identity is content: two events with the same
/// bytes are one event (two truly separate events with identical content within
/// the window are folded into one). Sized by event time, the window covers what a
/// cursor `reset` or a `bad_cursor` recovery replays: every event from a restart
/// time on, as long as that time is within `span` of the newest event.
#[derive(Debug, Default)]
pub struct Dedup {
    span: u32,
    cap: usize,
    newest: u32,
    order: VecDeque<(u32, u64)>,
    set: HashSet<u64>,
    /// Entries dropped by the cap while still inside the span.
    pub squeezed: u64,
}

/// An event timestamp as seconds since 1970, clamped to what the window stores.
pub fn window_secs(t: chrono::DateTime<chrono::Utc>) -> u32 {
    t.timestamp().clamp(0, u32::MAX as i64) as u32
}

impl Dedup {
    /// An empty window spanning `span` of event time (zero turns deduplication off).
    pub fn new(span: std::time::Duration) -> Self {
        Self::with_cap(span, MAX_DEDUP_EVENTS)
    }

    /// Like [`Dedup::new`] with another size bound (for tests).
    pub fn with_cap(span: std::time::Duration, cap: usize) -> Self {
        Dedup {
            span: span.as_secs().min(u32::MAX as u64) as u32,
            cap,
            ..Dedup::default()
        }
    }

    /// Restores the window from a state's `dedup_events` field.
    pub fn restore(&mut self, encoded: &str) -> Result<(), String> {
        if !self.enabled() || encoded.is_empty() {
            return Ok(());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("dedup_events: {e}"))?;
        if bytes.len() % 12 != 0 {
            return Err("dedup_events: length is not a multiple of 12 bytes".into());
        }
        for c in bytes.chunks_exact(12) {
            let ts = u32::from_le_bytes(c[..4].try_into().expect("4 bytes"));
            let h = u64::from_le_bytes(c[4..].try_into().expect("8 bytes"));
            self.insert(ts, h);
        }
        Ok(())
    }

    /// Encodes the window for the state file.
    pub fn encode(&self) -> String {
        let cutoff = self.cutoff();
        let mut bytes = Vec::with_capacity(self.order.len() * 12);
        for (ts, h) in self.order.iter().filter(|(ts, _)| *ts >= cutoff) {
            bytes.extend_from_slice(&ts.to_le_bytes());
            bytes.extend_from_slice(&h.to_le_bytes());
        }
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// True when deduplication is on.
    pub fn enabled(&self) -> bool {
        self.span > 0 && self.cap > 0
    }

    /// The oldest event time the window still covers.
    pub fn cutoff(&self) -> u32 {
        self.newest.saturating_sub(self.span)
    }

    /// Records an event of time `ts` and hash `h`; returns false when it is already
    /// in the window (a duplicate). With the window off, every event is new.
    pub fn insert(&mut self, ts: u32, h: u64) -> bool {
        if !self.enabled() {
            return true;
        }
        if self.set.contains(&h) {
            return false;
        }
        self.newest = self.newest.max(ts);
        let cutoff = self.cutoff();
        if ts >= cutoff {
            self.set.insert(h);
            self.order.push_back((ts, h));
        }
        while let Some(&(front, old)) = self.order.front() {
            let over = self.order.len() > self.cap;
            if front >= cutoff && !over {
                break;
            }
            if front >= cutoff {
                self.squeezed += 1;
            }
            self.order.pop_front();
            self.set.remove(&old);
        }
        true
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when no event is held.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;

    #[test]
    fn dedup_window_is_sized_by_event_time() {
        let mut d = Dedup::new(std::time::Duration::from_secs(H));
        assert!(d.insert(10 * H as u32, 1));
        assert!(!d.insert(10 * H as u32, 1));
        assert!(d.insert(10 * H as u32 + 60, 2));
        assert!(
            !d.insert(11 * H as u32, 1),
            "an hour later, still inside the span"
        );
        assert!(d.insert(12 * H as u32, 3)); // now 1 and 2 fall out
        assert!(d.insert(10 * H as u32, 1), "forgotten, so new again");
        assert_eq!(d.len(), 1, "an event older than the span is not kept");
    }

    #[test]
    fn dedup_window_is_bounded_and_round_trips() {
        let mut d = Dedup::with_cap(std::time::Duration::from_secs(H), 3);
        for h in 1..=5 {
            d.insert(1000, h);
        }
        assert_eq!(d.len(), 3);
        assert_eq!(d.squeezed, 2);
        let enc = d.encode();
        assert_eq!(enc.len(), 48, "3 entries of 12 bytes, base64");
        let mut r = Dedup::new(std::time::Duration::from_secs(H));
        r.restore(&enc).unwrap();
        assert!(!r.insert(1000, 5));
        assert!(r.insert(1000, 1));
        assert!(r.restore("!!").is_err());
    }

    #[test]
    fn off_window_passes_everything() {
        let mut d = Dedup::new(std::time::Duration::ZERO);
        assert!(d.insert(1, 1));
        assert!(d.insert(1, 1));
        assert_eq!(d.encode(), "");
    }

    #[test]
    fn version_1_states_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(
            &p,
            br#"{"version":1,"cursor":"c","filters":{},"dedup":"AAAAAAAAAAA=","alarm_since":"2024-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let st = State::load(&p).unwrap();
        assert_eq!(st.cursor.as_deref(), Some("c"));
        assert_eq!(st.alarm.as_ref().unwrap().kind, "drop-off");
        let text = serde_json::to_string(&st).unwrap();
        assert!(
            !text.contains("alarm_since") && !text.contains("\"dedup\""),
            "{text}"
        );
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
