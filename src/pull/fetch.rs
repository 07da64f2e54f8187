//! The pull loop: `get_events`, then `continue` until `has_more` is false (and, with
//! `--follow`, forever), writing each page through an [`EventSink`] and
//! checkpointing after it, under the state's lock, with the alarm watching.
//!
//! Per page, in this order: drop events already in the dedup window; write the
//! rest; flush and sync the output and the rejects file; only then save the cursor,
//! the dedup window, both files' lengths and the alarm's record to `--state`. A
//! crash before the save repeats the page on the next run (at least once); for file
//! outputs the rerun first cuts both files back to the saved lengths, so they end
//! up exactly as an uninterrupted run leaves them.
//!
//! A watchdog thread checks the drop-off alarm while the loop waits (a retry, a
//! long `Retry-After`, a slow request, a `--follow` pause); it and the loop share
//! the state behind one mutex, and the loop changes the state only in the same
//! locked step that saves it, so the watchdog never saves a half-made checkpoint.

use crate::sinks::stream::io_is_stdout_closed;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::alarm::{Alarm, AlarmConfig};
use super::api::{
    ApiError, Client, ClientCredentials, RetryPolicy, ROUTE_CONTINUE, ROUTE_GET_EVENTS,
};
use super::lock::{LockError, StateLock};
use super::output::{compact_json, EventSink, Output};
use super::state::{event_hash, window_secs, Dedup, Filters, State, StateError, TimeArg};
use super::util::{api_time, format_duration, sanitize, state_time};

/// Everything a pull needs, resolved from flags, environment and files.
#[derive(Clone, Debug)]
pub struct PullConfig {
    /// API host, like `https://api.dropboxapi.com`.
    pub api_base: String,
    /// App key, secret and refresh token.
    pub creds: ClientCredentials,
    /// `--start`: `time.start_time` of the first `get_events`.
    pub start: Option<TimeArg>,
    /// `--end`: `time.end_time`.
    pub end: Option<TimeArg>,
    /// Category, event type, account.
    pub filters: Filters,
    /// Events per page, 1..=1000.
    pub limit: u32,
    /// The checkpoint file.
    pub state_path: Option<PathBuf>,
    /// Ignore the saved cursor and start again from `start`.
    pub restart: bool,
    /// Wait for another run's lock on the state instead of failing.
    pub wait: bool,
    /// Keep polling after the last page.
    pub follow: bool,
    /// Pause between polls in follow mode.
    pub interval: Duration,
    /// Event time the dedup window spans (zero: off).
    pub dedup_window: Duration,
    /// The alarm.
    pub alarm: Option<AlarmConfig>,
    /// Retries, backoff and timeouts.
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
    /// Events rejected by `--normalize` (recorded in `--rejects` when given).
    pub rejected: u64,
    /// Of those, records written to the `--rejects` file.
    pub rejects_recorded: u64,
    /// Events skipped as already seen (the dedup window).
    pub duplicates_skipped: u64,
    /// Cursor resets recovered from.
    pub resets: u64,
    /// `bad_cursor` errors recovered from.
    pub recoveries: u64,
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
    /// Bytes cut from the rejects file at start, for the same reason.
    pub rewound_reject_bytes: u64,
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
    /// The state's lock.
    #[error(transparent)]
    Lock(#[from] LockError),
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
    #[error("cannot write events to {what}: {}", crate::atomic::reason(source))]
    Output {
        /// The output's name.
        what: String,
        /// Why.
        source: io::Error,
    },
}

impl PullError {
    /// The alarm kind of an error that means Dropbox refuses teamlog's access
    /// (nothing will be collected until a person acts), else `None`.
    pub fn access_kind(&self) -> Option<&'static str> {
        match self {
            PullError::Api(ApiError::RefreshRejected { .. }) => Some("access-revoked"),
            PullError::Api(ApiError::Unauthorized { .. }) => Some("access-invalid"),
            PullError::Api(ApiError::MissingScope { .. }) => Some("missing-scope"),
            PullError::Api(ApiError::ClientRejected { .. }) => Some("app-credentials"),
            PullError::Credentials(_) => Some("credentials"),
            _ => None,
        }
    }
}

/// A page as both routes return it; events stay unparsed.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
    cursor: String,
    has_more: bool,
}

/// The one field of an event the loop reads: its time.
#[derive(Deserialize)]
struct EventTime<'a> {
    #[serde(borrow, default)]
    timestamp: Option<std::borrow::Cow<'a, str>>,
}

fn event_time(text: &str) -> Option<DateTime<Utc>> {
    let t = serde_json::from_str::<EventTime<'_>>(text)
        .ok()?
        .timestamp?;
    DateTime::parse_from_rfc3339(&t)
        .ok()
        .map(|d| d.with_timezone(&Utc))
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

/// Gives up on a server that answers `reset` (or `bad_cursor` after a recovery)
/// again and again.
const MAX_CONSECUTIVE_RESETS: u32 = 5;

/// A writer that many threads share; each write takes the lock.
struct SharedLog<'a, 'b>(&'a Mutex<&'b mut (dyn Write + Send)>);

impl Write for SharedLog<'_, '_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        g.write_all(b)?;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// The state with its file and the alarm: what the loop and the watchdog share.
struct Ledger {
    state: State,
    path: Option<PathBuf>,
    alarm: Option<Alarm>,
}

impl Ledger {
    fn save(&mut self) -> Result<(), StateError> {
        match &self.path {
            Some(p) => self.state.save(p),
            None => Ok(()),
        }
    }

    /// Checks the silence; saves when the alarm was raised. A save that fails here
    /// is reported and left to the next checkpoint.
    fn watch(&mut self, log: &mut dyn Write) {
        let Some(a) = self.alarm.as_mut() else {
            return;
        };
        if a.check(&mut self.state, Utc::now(), log) {
            if let Err(e) = self.save() {
                let _ = writeln!(log, "teamlog: warning: {e}");
            }
        }
    }
}

fn state_name(cfg: &PullConfig) -> String {
    sanitize(
        &cfg.state_path
            .as_deref()
            .unwrap_or_else(|| "?".as_ref())
            .display()
            .to_string(),
        300,
    )
}

fn describe_query(start: Option<&TimeArg>, end: Option<&TimeArg>) -> String {
    let one = |flag: &str, t: Option<&TimeArg>| match t {
        Some(t) => format!("--{flag} {} ({})", sanitize(&t.given, 40), t.sent),
        None => format!("no --{flag}"),
    };
    format!("{}, {}", one("start", start), one("end", end))
}

/// Refuses flags that do not fit the saved cursor.
fn check_query(cfg: &PullConfig, st: &State) -> Result<(), PullError> {
    if st.cursor.is_none() || cfg.restart {
        return Ok(());
    }
    if st.filters != cfg.filters {
        return Err(PullError::Usage(format!(
            "--state {} holds a cursor made with other filters ({}), and a cursor only works \
             with its own: use the same filters, another --state file, or --restart to \
             start again with these",
            state_name(cfg),
            describe_filters(&st.filters)
        )));
    }
    // Version 1 states did not record the time range.
    if st.version < 2 {
        return Ok(());
    }
    let differs = |given: &Option<TimeArg>, saved: &Option<TimeArg>| match (given, saved) {
        (Some(g), Some(s)) => !g.same_as(s),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if differs(&cfg.start, &st.query.start) || differs(&cfg.end, &st.query.end) {
        return Err(PullError::Usage(format!(
            "--state {} holds a cursor for the query with {}, and this run asks for {}: a \
             saved cursor only continues its own query. Give the same --start/--end (or \
             none), use another --state file, or add --restart to start a new query with \
             these (the dedup window skips events already written)",
            state_name(cfg),
            describe_query(st.query.start.as_ref(), st.query.end.as_ref()),
            describe_query(cfg.start.as_ref(), cfg.end.as_ref()),
        )));
    }
    Ok(())
}

/// Runs the loop; `out_name` names the output in error messages.
pub fn pull(
    cfg: &PullConfig,
    sink: &mut dyn EventSink,
    out: &mut Output,
    out_name: &str,
    log: &mut (dyn Write + Send),
) -> Result<PullSummary, PullError> {
    let _lock = match &cfg.state_path {
        Some(p) => Some(StateLock::acquire(p, cfg.wait, &cfg.stop, &mut |holder| {
            let _ = writeln!(
                log,
                "teamlog: waiting for the other teamlog pull ({holder}) to finish with --state {}",
                state_name(cfg)
            );
        })?),
        None => None,
    };
    let state = match &cfg.state_path {
        Some(p) => State::load(p)?,
        None => State::default(),
    };
    let ledger = Mutex::new(Ledger {
        state,
        path: cfg.state_path.clone(),
        alarm: None,
    });
    let logm: Mutex<&mut (dyn Write + Send)> = Mutex::new(log);
    let done = AtomicBool::new(false);
    let watch_every = cfg
        .alarm
        .as_ref()
        .and_then(|a| a.after)
        .map(|a| (a / 8).clamp(Duration::from_millis(10), Duration::from_secs(1)));
    std::thread::scope(|scope| {
        if let Some(tick) = watch_every {
            let (ledger, logm, done) = (&ledger, &logm, &done);
            scope.spawn(move || {
                let mut next = Instant::now() + tick;
                while !done.load(Ordering::Relaxed) {
                    if Instant::now() >= next {
                        ledger
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .watch(&mut SharedLog(logm));
                        next = Instant::now() + tick;
                    }
                    std::thread::sleep(Duration::from_millis(10).min(tick));
                }
            });
        }
        let r = run(cfg, sink, out, out_name, &ledger, &logm);
        done.store(true, Ordering::Relaxed);
        // On the way out, also after a fatal error: raise what the error means, and
        // check the silence once more.
        let mut log = SharedLog(&logm);
        let mut guard = ledger.lock().unwrap_or_else(|e| e.into_inner());
        let l = &mut *guard;
        if let Some(a) = l.alarm.as_mut() {
            let mut changed = false;
            if let Err(e) = &r {
                if let Some(kind) = e.access_kind() {
                    changed |= a.failed(&mut l.state, kind, &e.to_string(), Utc::now(), &mut log);
                }
            }
            changed |= a.check(&mut l.state, Utc::now(), &mut log);
            if changed {
                if let Err(e) = l.save() {
                    let _ = writeln!(log, "teamlog: warning: {e}");
                }
            }
            if let Some(a) = l.alarm.as_mut() {
                a.finish(Duration::from_secs(2), &mut log);
            }
        }
        r
    })
}

/// For a run that fails before it can pull (its credentials cannot be read): raises
/// the alarm of `kind` and checks the silence in the state at `path`, when the
/// state is free and readable (a running collector owns it otherwise).
pub fn alarm_before_start(
    path: &std::path::Path,
    cfg: AlarmConfig,
    kind: &str,
    err: &PullError,
    log: &mut dyn Write,
) {
    let never = AtomicBool::new(false);
    let Ok(_lock) = StateLock::acquire(path, false, &never, &mut |_| {}) else {
        return;
    };
    let Ok(mut st) = State::load(path) else {
        return;
    };
    let now = Utc::now();
    let mut a = Alarm::new(cfg, &mut st, now);
    let raised = a.failed(&mut st, kind, &err.to_string(), now, log);
    if raised | a.check(&mut st, now, log) {
        if let Err(e) = st.save(path) {
            let _ = writeln!(log, "teamlog: warning: {e}");
        }
    }
    a.finish(Duration::from_secs(2), log);
}

/// Locks the ledger (a poisoned lock is still usable: the state is only changed
/// in whole steps).
fn lock(l: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(
    cfg: &PullConfig,
    sink: &mut dyn EventSink,
    out: &mut Output,
    out_name: &str,
    ledger: &Mutex<Ledger>,
    logm: &Mutex<&mut (dyn Write + Send)>,
) -> Result<PullSummary, PullError> {
    let started = Instant::now();
    let mut log = SharedLog(logm);
    let mut sum = PullSummary {
        ended: "done",
        all_written: true,
        ..PullSummary::default()
    };
    let out_err = |what: &str, source: io::Error| PullError::Output {
        what: what.to_owned(),
        source,
    };
    let mut quiet_sink = io::sink();
    let mut dedup = Dedup::new(cfg.dedup_window);
    let mut newest: Option<DateTime<Utc>>;
    let query_start: Option<String>;
    let query_end: Option<String>;
    let mut next;
    {
        let mut l = lock(ledger);
        let l = &mut *l;
        if let Some(a) = cfg.alarm.clone() {
            l.alarm = Some(Alarm::new(a, &mut l.state, Utc::now()));
        }
        // The silence is checked before anything else can fail.
        l.watch(&mut log);
        let st = &mut l.state;
        check_query(cfg, st)?;
        // A new query records its range; a version 1 state, which did not record
        // it, adopts this run's.
        if cfg.restart {
            st.cursor = None;
        }
        if st.cursor.is_none() || st.version < 2 {
            st.query.start = cfg.start.clone();
            st.query.end = cfg.end.clone();
        }
        st.filters = cfg.filters.clone();
        dedup
            .restore(&st.dedup_events)
            .map_err(|detail| StateError::Invalid {
                path: cfg.state_path.clone().unwrap_or_default(),
                detail,
            })?;
        newest = st
            .last_event_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|d| d.with_timezone(&Utc));
        query_start = st.query.start.as_ref().map(|t| t.sent.clone());
        query_end = st.query.end.as_ref().map(|t| t.sent.clone());

        // Back to the last checkpoint: a page written after it will be fetched again.
        if cfg.state_path.is_some() {
            sum.rewound_bytes = out.rewind_to(st.output).map_err(|e| out_err(out_name, e))?;
            if let Some((r, name)) = sink.rejects() {
                sum.rewound_reject_bytes = r.rewind_to(st.rejects).map_err(|e| out_err(name, e))?;
            }
            for (n, name) in [
                (sum.rewound_bytes, out_name.to_owned()),
                (
                    sum.rewound_reject_bytes,
                    sink.rejects().map(|r| r.1.to_owned()).unwrap_or_default(),
                ),
            ] {
                if n > 0 && !cfg.quiet {
                    let _ = writeln!(
                        log,
                        "teamlog: removed the last {n} bytes of {}: they were written after \
                         the last checkpoint and are fetched again now",
                        sanitize(&name, 200)
                    );
                }
            }
        }
        st.output = out.position().map_err(|e| out_err(out_name, e))?;
        st.rejects = match sink.rejects() {
            Some((r, name)) => r.position().map_err(|e| out_err(name, e))?,
            None => None,
        };
        next = match (&st.cursor, cfg.restart) {
            (Some(c), false) => Next::Continue(c.clone()),
            _ => Next::Start(query_start.clone()),
        };
        // Record where the outputs start before writing anything, so even a crash in
        // the first page can be rolled back; this also proves the state writable
        // before the first request.
        l.save()?;
    }

    let mut client = Client::new(
        &cfg.api_base,
        cfg.creds.clone(),
        cfg.retry.clone(),
        cfg.stop.clone(),
    );
    let mut resets = 0u32;
    let mut recoveries = 0u32;

    let result: Result<(), PullError> = 'run: loop {
        if cfg.stop.load(Ordering::Relaxed) {
            sum.ended = "stopped";
            break Ok(());
        }
        let (route, body) = match &next {
            Next::Start(start) => (
                ROUTE_GET_EVENTS,
                get_events_body(cfg, start.as_deref(), query_end.as_deref()),
            ),
            Next::Continue(c) => (
                ROUTE_CONTINUE,
                serde_json::json!({ "cursor": c }).to_string(),
            ),
        };
        // Retry notes are notes: -q silences them (errors still come back).
        let notes: &mut dyn Write = if cfg.quiet { &mut quiet_sink } else { &mut log };
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
                    "teamlog: Dropbox reset the cursor; starting again from {time}{}",
                    replay_note(&dedup, &time)
                );
                next = Next::Start(Some(time));
                continue;
            }
            Err(ApiError::Route { tag, .. })
                if tag == "bad_cursor"
                    && route == ROUTE_CONTINUE
                    && recoveries < MAX_CONSECUTIVE_RESETS =>
            {
                recoveries += 1;
                sum.recoveries += 1;
                let from = recovery_start(&dedup, newest, query_start.as_deref());
                let _ = writeln!(
                    log,
                    "teamlog: Dropbox no longer knows the saved cursor (bad_cursor); starting \
                     the query again from {}{}",
                    from.as_deref().unwrap_or("its start"),
                    match (&newest, dedup.enabled()) {
                        (Some(n), true) => format!(
                            " (the newest event had {}; the dedup window skips what was \
                             already written)",
                            api_time(*n)
                        ),
                        (Some(n), false) => format!(
                            " (the newest event had {}; with --dedup-window 0 events of that \
                             second may come twice)",
                            api_time(*n)
                        ),
                        (None, _) => String::new(),
                    }
                );
                next = Next::Start(from);
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
        let squeezed = dedup.squeezed;
        for ev in &page.events {
            let text = ev.get();
            let compact = if text.contains(['\n', '\r']) {
                RawValue::from_string(compact_json(text)).ok()
            } else {
                None
            };
            let t = compact.as_deref().map_or(text, RawValue::get);
            let when = event_time(t);
            if let Some(w) = when {
                newest = Some(newest.map_or(w, |n| n.max(w)));
            }
            // An event without a readable time counts as the newest one.
            let ts = when.or(newest).map(window_secs).unwrap_or(0);
            let fresh = dedup.insert(ts, event_hash(t));
            if !fresh {
                sum.duplicates_skipped += 1;
            }
            keep.push(fresh);
            owned.push(compact);
        }
        if dedup.squeezed > squeezed && squeezed == 0 && !cfg.quiet {
            let _ = writeln!(
                log,
                "teamlog: note: the dedup window holds at most {} events, fewer than the \
                 last {} of event time; it now covers less",
                super::state::MAX_DEDUP_EVENTS,
                format_duration(cfg.dedup_window)
            );
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
            match sink.write_page(&fresh, out) {
                Ok(w) => {
                    sum.events_written += w.events;
                    sum.rejected += w.rejected;
                    if sink.rejects().is_some() {
                        sum.rejects_recorded += w.rejected;
                    }
                }
                Err(e) if io_is_stdout_closed(&e) => {
                    sum.ended = "closed output";
                    return Ok(finish_summary(sum, &client, started));
                }
                Err(e) => break Err(out_err(out_name, e)),
            }
        }
        if let Err(e) = out.commit() {
            if io_is_stdout_closed(&e) {
                sum.ended = "closed output";
                return Ok(finish_summary(sum, &client, started));
            }
            break Err(out_err(out_name, e));
        }
        let rejects_pos = match sink.rejects() {
            Some((r, name)) => match r.commit().and_then(|_| r.position()) {
                Ok(p) => p,
                Err(e) => break Err(out_err(name, e)),
            },
            None => None,
        };
        let out_pos = match out.position() {
            Ok(p) => p,
            Err(e) => break Err(out_err(out_name, e)),
        };

        // The checkpoint: one locked step that changes the state and saves it.
        let cursor = page.cursor.clone();
        {
            let mut l = lock(ledger);
            let l = &mut *l;
            let now = Utc::now();
            let st = &mut l.state;
            st.cursor = Some(cursor.clone());
            st.dedup_events = dedup.encode();
            st.output = out_pos;
            st.rejects = rejects_pos;
            st.last_event_time = newest.map(api_time);
            st.last_success_at = Some(state_time(now));
            match l.alarm.as_mut() {
                Some(a) => {
                    a.events_arrived(st, fresh.len() as u64, now, &mut log);
                    // Also between pages: a long run of empty `has_more` pages is
                    // silence too.
                    a.check(st, now, &mut log);
                }
                None if !fresh.is_empty() => st.last_event_at = Some(state_time(now)),
                None => {}
            }
            if let Err(e) = l.save() {
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
        // Idle until the next poll (the watchdog keeps checking the alarm).
        let deadline = Instant::now() + cfg.interval;
        loop {
            if cfg.stop.load(Ordering::Relaxed) {
                sum.ended = "stopped";
                break 'run Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
        }
        next = Next::Continue(cursor);
    };
    result?;

    match sink.finish(out, &mut log) {
        Ok(all) => sum.all_written = all,
        Err(e) if io_is_stdout_closed(&e) => sum.ended = "closed output",
        Err(e) => return Err(out_err(out_name, e)),
    }
    match out.commit() {
        Ok(()) => {}
        Err(e) if io_is_stdout_closed(&e) => sum.ended = "closed output",
        Err(e) => return Err(out_err(out_name, e)),
    }
    Ok(finish_summary(sum, &client, started))
}

/// Where a query starts again after `bad_cursor`: the newest event's time, less
/// the dedup window (late events within it are fetched again and the window skips
/// what was written), never before the query's own start.
fn recovery_start(
    dedup: &Dedup,
    newest: Option<DateTime<Utc>>,
    query_start: Option<&str>,
) -> Option<String> {
    let Some(n) = newest else {
        return query_start.map(str::to_owned);
    };
    let from = if dedup.enabled() {
        let cutoff = i64::from(dedup.cutoff());
        DateTime::from_timestamp(cutoff, 0).unwrap_or(n).min(n)
    } else {
        n
    };
    let from = api_time(from);
    Some(match query_start {
        Some(q) if q > from.as_str() => q.to_owned(),
        _ => from,
    })
}

/// What a reset to `time` replays that the dedup window cannot skip.
fn replay_note(dedup: &Dedup, time: &str) -> String {
    if !dedup.enabled() {
        return " (events since then may come again: --dedup-window 0 turned off \
                 skipping them)"
            .into();
    }
    let reset = DateTime::parse_from_rfc3339(time)
        .map(|t| window_secs(t.with_timezone(&Utc)))
        .unwrap_or(0);
    if !dedup.is_empty() && reset < dedup.cutoff() {
        let cutoff = DateTime::from_timestamp(i64::from(dedup.cutoff()), 0)
            .map(api_time)
            .unwrap_or_default();
        return format!(
            " (events from then to {cutoff} are older than the dedup window and may come \
             twice)"
        );
    }
    " (the dedup window skips events already written)".into()
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
    let rejected = match (s.rejected, s.rejects_recorded) {
        (0, _) => String::new(),
        (r, k) if k == r => format!("{r} rejected (recorded in --rejects), "),
        (r, _) => format!("{r} rejected (not recorded: no --rejects), "),
    };
    let mut line = format!(
        "teamlog pull: {} pages, {} events received, {} written, {rejected}{} duplicates \
         skipped, {} retries, {} resets, {}",
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

fn get_events_body(cfg: &PullConfig, start: Option<&str>, end: Option<&str>) -> String {
    let mut b = serde_json::Map::new();
    b.insert("limit".into(), cfg.limit.into());
    let mut time = serde_json::Map::new();
    if let Some(s) = start {
        time.insert("start_time".into(), s.into());
    }
    if let Some(e) = end {
        time.insert("end_time".into(), e.into());
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
