//! The pull loop: `get_events`, then `continue` until `has_more` is false (and, with
//! `--follow`, forever), writing each page through an [`EventSink`] and
//! checkpointing after it.
//!
//! Per page, in this order: drop events already in the dedup window; write the
//! rest; flush and sync the output; only then save the cursor, the dedup window and
//! the output length to `--state`. A crash before the save repeats the page on the
//! next run (at least once); for a file output the rerun first cuts the file back to
//! the saved length, so the file ends up exactly as an uninterrupted run leaves it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::alarm::{Alarm, AlarmConfig};
use super::api::{
    ApiError, Client, ClientCredentials, RetryPolicy, ROUTE_CONTINUE, ROUTE_GET_EVENTS,
};
use super::output::{compact_json, EventSink, Output};
use super::state::{event_hash, Dedup, Filters, State, StateError};
use super::util::{api_time, format_duration, sanitize};

/// Everything a pull needs, resolved from flags, environment and files.
#[derive(Clone, Debug)]
pub struct PullConfig {
    /// API host, like `https://api.dropboxapi.com`.
    pub api_base: String,
    /// App key, secret and refresh token.
    pub creds: ClientCredentials,
    /// `time.start_time` of the first `get_events` (API format).
    pub start: Option<String>,
    /// `time.end_time` (API format).
    pub end: Option<String>,
    /// Category, event type, account.
    pub filters: Filters,
    /// Events per page, 1..=1000.
    pub limit: u32,
    /// The checkpoint file.
    pub state_path: Option<PathBuf>,
    /// Ignore the saved cursor and start again from `start`.
    pub restart: bool,
    /// Keep polling after the last page.
    pub follow: bool,
    /// Pause between polls in follow mode.
    pub interval: Duration,
    /// Content hashes kept for deduplication (0: off).
    pub dedup_window: usize,
    /// The drop-off alarm (follow mode).
    pub alarm: Option<AlarmConfig>,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// No notes on stderr (warnings, alarms and errors still appear).
    pub quiet: bool,
    /// Set to end the run at the next page boundary or wait.
    pub stop: Arc<AtomicBool>,
}

/// What a run did; printed as the summary and written by `--stats`. No secrets.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PullSummary {
    /// Pages received (empty ones included).
    pub pages: u64,
    /// Events in those pages.
    pub events_received: u64,
    /// Events written to the output.
    pub events_written: u64,
    /// Events skipped as already seen (`--dedup-window`).
    pub duplicates_skipped: u64,
    /// Cursor resets recovered from.
    pub resets: u64,
    /// HTTP requests sent.
    pub requests: u64,
    /// Requests retried.
    pub retries: u64,
    /// Of those, rate limits.
    pub rate_limited: u64,
    /// Access tokens obtained.
    pub token_refreshes: u64,
    /// Bytes cut from the output file at start (a page written after the last checkpoint).
    pub rewound_bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Why the run ended: `done`, `stopped` (signal) or `closed output`.
    pub ended: &'static str,
    /// Whether the sink wrote every event as asked (false: exit status 1).
    pub all_written: bool,
}

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The API said no, or kept failing.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The checkpoint file.
    #[error(transparent)]
    State(#[from] StateError),
    /// The credentials file.
    #[error(transparent)]
    Credentials(#[from] super::auth::CredentialsError),
    /// Waiting for the authorization code.
    #[error(transparent)]
    Code(#[from] super::auth::CodeError),
    /// A flag or a combination of flags that cannot work.
    #[error("{0}")]
    Usage(String),
    /// Writing events failed.
    #[error("cannot write events to {what}: {source}")]
    Output {
        /// The output's name.
        what: String,
        /// Why.
        source: io::Error,
    },
}

/// A page as both routes return it; events stay unparsed.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
    cursor: String,
    has_more: bool,
}

fn check_page(body: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<Page<'_>>(body)
        .map(|_| ())
        .map_err(|e| format!("not a team-log page: {e}"))
}

/// The next request.
enum Next {
    Start(Option<String>),
    Continue(String),
}

/// Gives up on a server that answers `reset` again and again.
const MAX_CONSECUTIVE_RESETS: u32 = 5;

/// Runs the loop; `out_name` names the output in error messages.
pub fn pull(
    cfg: &PullConfig,
    sink: &mut dyn EventSink,
    out: &mut Output,
    out_name: &str,
    log: &mut dyn Write,
) -> Result<PullSummary, PullError> {
    let started = Instant::now();
    let mut sum = PullSummary {
        ended: "done",
        all_written: true,
        ..PullSummary::default()
    };
    let out_err = |source: io::Error| PullError::Output {
        what: out_name.to_owned(),
        source,
    };

    let mut state = match &cfg.state_path {
        Some(p) => State::load(p)?,
        None => State {
            version: super::state::STATE_VERSION,
            ..State::default()
        },
    };
    if state.cursor.is_some() && !cfg.restart && state.filters != cfg.filters {
        return Err(PullError::Usage(format!(
            "--state {} holds a cursor made with other filters ({}), and a cursor only works \
             with its own: use the same filters, another --state file, or --restart to \
             start again with these",
            cfg.state_path
                .as_deref()
                .unwrap_or_else(|| "?".as_ref())
                .display(),
            describe_filters(&state.filters)
        )));
    }
    if cfg.restart {
        state.cursor = None;
    }
    state.filters = cfg.filters.clone();
    let mut dedup =
        Dedup::restore(cfg.dedup_window, &state.dedup).map_err(|detail| StateError::Invalid {
            path: cfg.state_path.clone().unwrap_or_default(),
            detail,
        })?;

    // Back to the last checkpoint: a page written after it will be fetched again.
    if cfg.state_path.is_some() {
        sum.rewound_bytes = out.rewind_to(state.output).map_err(out_err)?;
        if sum.rewound_bytes > 0 && !cfg.quiet {
            let _ = writeln!(
                log,
                "teamlog: removed the last {} bytes of {}: they were written after the last \
                 checkpoint and are fetched again now",
                sum.rewound_bytes,
                sanitize(out_name, 200)
            );
        }
    }
    state.output = out.position().map_err(out_err)?;
    if let Some(p) = &cfg.state_path {
        // Record where the output starts before writing anything, so even a crash in
        // the first page can be rolled back.
        state.save(p)?;
    }

    let mut alarm = cfg.alarm.clone().map(|a| {
        Alarm::new(
            a,
            Utc::now(),
            state.last_event_at.as_deref(),
            state.alarm_since.as_deref(),
        )
    });
    let mut client = Client::new(
        &cfg.api_base,
        cfg.creds.clone(),
        cfg.retry.clone(),
        cfg.stop.clone(),
    );
    let mut next = match state.cursor.clone() {
        Some(c) => Next::Continue(c),
        None => Next::Start(cfg.start.clone()),
    };
    let mut resets = 0u32;

    let result: Result<(), PullError> = 'run: loop {
        if cfg.stop.load(Ordering::Relaxed) {
            sum.ended = "stopped";
            break Ok(());
        }
        let (route, body) = match &next {
            Next::Start(start) => (ROUTE_GET_EVENTS, get_events_body(cfg, start.as_deref())),
            Next::Continue(c) => (
                ROUTE_CONTINUE,
                serde_json::json!({ "cursor": c }).to_string(),
            ),
        };
        // Retry notes are notes: -q silences them (errors still come back).
        let mut quiet_sink = io::sink();
        let notes: &mut dyn Write = if cfg.quiet {
            &mut quiet_sink
        } else {
            &mut *log
        };
        let bytes = match client.call(route, body.as_bytes(), notes, &check_page) {
            Ok(b) => b,
            Err(ApiError::Reset { time }) => {
                resets += 1;
                sum.resets += 1;
                if resets > MAX_CONSECUTIVE_RESETS {
                    break Err(PullError::Api(ApiError::Route {
                        route,
                        tag: "reset".into(),
                        summary: format!("{resets} resets in a row"),
                        advice: "Dropbox keeps resetting the cursor; try again later",
                    }));
                }
                let _ = writeln!(
                    notes,
                    "teamlog: Dropbox reset the cursor; starting again from {time} (events \
                     since then may come again; --dedup-window skips them)"
                );
                next = Next::Start(Some(time));
                continue;
            }
            Err(ApiError::Interrupted) => {
                sum.ended = "stopped";
                break Ok(());
            }
            Err(e) => break Err(e.into()),
        };
        resets = 0;
        let page: Page<'_> = match serde_json::from_slice(&bytes) {
            Ok(p) => p,
            Err(e) => break Err(PullError::Usage(format!("unreadable page: {e}"))),
        };
        sum.pages += 1;
        sum.events_received += page.events.len() as u64;

        // Compact events the server sent over several lines; dedup by content.
        let mut owned: Vec<Option<Box<RawValue>>> = Vec::with_capacity(page.events.len());
        let mut keep: Vec<bool> = Vec::with_capacity(page.events.len());
        for ev in &page.events {
            let text = ev.get();
            let compact = if text.contains(['\n', '\r']) {
                RawValue::from_string(compact_json(text)).ok()
            } else {
                None
            };
            let t = compact.as_deref().map_or(text, RawValue::get);
            let fresh = dedup.insert(event_hash(t));
            if !fresh {
                sum.duplicates_skipped += 1;
            }
            keep.push(fresh);
            owned.push(compact);
        }
        let fresh: Vec<&RawValue> = page
            .events
            .iter()
            .zip(&owned)
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|((ev, c), _)| c.as_deref().unwrap_or(ev))
            .collect();

        if !fresh.is_empty() {
            if let Err(e) = sink.write_page(&fresh, out) {
                if is_broken_pipe(&e) {
                    sum.ended = "closed output";
                    return Ok(finish_summary(sum, &client, started));
                }
                break Err(out_err(e));
            }
        }
        if let Err(e) = out.commit() {
            if is_broken_pipe(&e) {
                sum.ended = "closed output";
                return Ok(finish_summary(sum, &client, started));
            }
            break Err(out_err(e));
        }
        sum.events_written += fresh.len() as u64;

        let now = Utc::now();
        if !fresh.is_empty() {
            state.last_event_at = Some(api_time(now));
        }
        if let Some(a) = alarm.as_mut() {
            a.events_arrived(fresh.len(), now, log);
            // Also between pages: a long run of empty `has_more` pages is silence too.
            a.check(now, log);
            state.alarm_since = a.firing_since().map(api_time);
        }
        let cursor = page.cursor.clone();
        state.cursor = Some(cursor.clone());
        state.dedup = dedup.encode();
        state.output = match out.position() {
            Ok(p) => p,
            Err(e) => break Err(out_err(e)),
        };
        if let Some(p) = &cfg.state_path {
            if let Err(e) = state.save(p) {
                break Err(e.into());
            }
        }

        if page.has_more {
            next = Next::Continue(cursor);
            continue;
        }
        if !cfg.follow {
            break Ok(());
        }
        // Idle until the next poll, watching the alarm and the stop flag.
        let deadline = Instant::now() + cfg.interval;
        loop {
            if cfg.stop.load(Ordering::Relaxed) {
                sum.ended = "stopped";
                break 'run Ok(());
            }
            if let Some(a) = alarm.as_mut() {
                let before = a.firing_since();
                a.check(Utc::now(), log);
                if a.firing_since() != before {
                    state.alarm_since = a.firing_since().map(api_time);
                    if let Some(p) = &cfg.state_path {
                        if let Err(e) = state.save(p) {
                            break 'run Err(e.into());
                        }
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
        }
        next = Next::Continue(cursor);
    };
    if let Some(a) = alarm.as_mut() {
        a.finish(Duration::from_secs(2), log);
    }
    result?;

    match sink.finish(out, log) {
        Ok(all) => sum.all_written = all,
        Err(e) if is_broken_pipe(&e) => sum.ended = "closed output",
        Err(e) => return Err(out_err(e)),
    }
    match out.commit() {
        Ok(()) => {}
        Err(e) if is_broken_pipe(&e) => sum.ended = "closed output",
        Err(e) => return Err(out_err(e)),
    }
    Ok(finish_summary(sum, &client, started))
}

fn finish_summary(mut sum: PullSummary, client: &Client, started: Instant) -> PullSummary {
    let s = client.stats();
    sum.requests = s.requests;
    sum.retries = s.retries;
    sum.rate_limited = s.rate_limited;
    sum.token_refreshes = s.token_refreshes;
    sum.seconds = started.elapsed().as_secs_f64();
    sum
}

/// The one-line summary for stderr.
pub fn summary_line(s: &PullSummary) -> String {
    let mut line = format!(
        "teamlog pull: {} pages, {} events received, {} written, {} duplicates skipped, \
         {} retries, {} resets, {}",
        s.pages,
        s.events_received,
        s.events_written,
        s.duplicates_skipped,
        s.retries,
        s.resets,
        format_duration(Duration::from_millis((s.seconds * 1000.0) as u64))
    );
    if s.ended != "done" {
        line.push_str(&format!(" ({})", s.ended));
    }
    line
}

fn get_events_body(cfg: &PullConfig, start: Option<&str>) -> String {
    let mut b = serde_json::Map::new();
    b.insert("limit".into(), cfg.limit.into());
    let mut time = serde_json::Map::new();
    if let Some(s) = start {
        time.insert("start_time".into(), s.into());
    }
    if let Some(e) = &cfg.end {
        time.insert("end_time".into(), e.as_str().into());
    }
    if !time.is_empty() {
        b.insert("time".into(), time.into());
    }
    if let Some(c) = &cfg.filters.category {
        b.insert("category".into(), c.as_str().into());
    }
    if let Some(t) = &cfg.filters.event_type {
        b.insert("event_type".into(), t.as_str().into());
    }
    if let Some(a) = &cfg.filters.account_id {
        b.insert("account_id".into(), a.as_str().into());
    }
    serde_json::Value::Object(b).to_string()
}

fn describe_filters(f: &Filters) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &f.category {
        parts.push(format!("--category {}", sanitize(c, 60)));
    }
    if let Some(t) = &f.event_type {
        parts.push(format!("--event-type {}", sanitize(t, 60)));
    }
    if let Some(a) = &f.account_id {
        parts.push(format!("--account-id {}", sanitize(a, 60)));
    }
    if parts.is_empty() {
        "no filters".into()
    } else {
        parts.join(" ")
    }
}

/// True when `e` (or what it wraps) is a closed pipe.
pub fn is_broken_pipe(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return true;
    }
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        src = s.source();
    }
    false
}
