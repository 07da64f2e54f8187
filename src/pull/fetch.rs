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
//! The stages, one function each: `resume` (the state read, the query
//! checked, the outputs cut back by `rewind`); then per page `Pages::fetch`
//! (one request, with resets and `bad_cursor` recovery), `dedup_page`,
//! `write_page` and `checkpoint`; `idle` between `--follow` polls; `end`.
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
use super::state::{
    event_hash, window_secs, Dedup, Filters, OutputPos, State, StateError, TimeArg,
};
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

/// The whole run, under the lock: resumes from the state, then fetches,
/// writes and checkpoints page after page until the last page (or, with
/// `--follow`, until stopped), and ends the output.
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
    let resumed = resume(cfg, sink, out, out_name, ledger, &mut log, &mut sum)?;
    let client = Client::new(
        &cfg.api_base,
        cfg.creds.clone(),
        cfg.retry.clone(),
        cfg.stop.clone(),
    );
    let mut next = resumed.next;
    let mut p = Pages {
        cfg,
        sink,
        out,
        out_name,
        ledger,
        log,
        quiet: io::sink(),
        sum,
        dedup: resumed.dedup,
        newest: resumed.newest,
        query_start: resumed.query_start,
        query_end: resumed.query_end,
        client,
        resets: 0,
        recoveries: 0,
        started,
    };
    loop {
        if cfg.stop.load(Ordering::Relaxed) {
            p.sum.ended = "stopped";
            break;
        }
        let bytes = match p.fetch(&next)? {
            Fetched::Page(bytes) => bytes,
            Fetched::Again(from) => {
                next = from;
                continue;
            }
            Fetched::Stopped => {
                p.sum.ended = "stopped";
                break;
            }
        };
        let page: Page<'_> = serde_json::from_slice(&bytes)
            .map_err(|e| PullError::Usage(format!("unreadable page: {e}")))?;
        p.sum.pages += 1;
        p.sum.events_received += page.events.len() as u64;
        let kept = p.dedup_page(&page.events);
        let fresh = kept.fresh(&page.events);
        let Some(ends) = p.write_page(&fresh)? else {
            p.sum.ended = "closed output";
            return Ok(p.summary());
        };
        p.checkpoint(&page.cursor, ends, fresh.len() as u64)?;
        if page.has_more {
            next = Next::Continue(page.cursor);
            continue;
        }
        if !cfg.follow {
            break;
        }
        if !p.idle() {
            p.sum.ended = "stopped";
            break;
        }
        next = Next::Continue(page.cursor);
    }
    p.end()
}

/// What [`resume`] found in the state: where the loop starts.
struct Resumed {
    dedup: Dedup,
    newest: Option<DateTime<Utc>>,
    query_start: Option<String>,
    query_end: Option<String>,
    next: Next,
}

/// An output failure, naming the output.
fn out_err(what: &str, source: io::Error) -> PullError {
    PullError::Output {
        what: what.to_owned(),
        source,
    }
}

/// Resumes from the state, in one locked step before the first request:
/// starts the alarm and checks the silence (before anything else can fail),
/// refuses flags that do not fit the saved cursor, records the query,
/// restores the dedup window, cuts the outputs back to the last checkpoint,
/// and saves where they start, so that even a crash in the first page can be
/// rolled back (this also proves the state writable).
fn resume(
    cfg: &PullConfig,
    sink: &mut dyn EventSink,
    out: &mut Output,
    out_name: &str,
    ledger: &Mutex<Ledger>,
    log: &mut dyn Write,
    sum: &mut PullSummary,
) -> Result<Resumed, PullError> {
    let mut dedup = Dedup::new(cfg.dedup_window);
    let mut l = lock(ledger);
    let l = &mut *l;
    if let Some(a) = cfg.alarm.clone() {
        l.alarm = Some(Alarm::new(a, &mut l.state, Utc::now()));
    }
    l.watch(log);
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
    let newest = st
        .last_event_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.with_timezone(&Utc));
    let query_start = st.query.start.as_ref().map(|t| t.sent.clone());
    let query_end = st.query.end.as_ref().map(|t| t.sent.clone());
    if cfg.state_path.is_some() {
        rewind(cfg, sink, out, out_name, st, log, sum)?;
    }
    st.output = out.position().map_err(|e| out_err(out_name, e))?;
    st.rejects = match sink.rejects() {
        Some((r, name)) => r.position().map_err(|e| out_err(name, e))?,
        None => None,
    };
    let next = match (&st.cursor, cfg.restart) {
        (Some(c), false) => Next::Continue(c.clone()),
        _ => Next::Start(query_start.clone()),
    };
    l.save()?;
    Ok(Resumed {
        dedup,
        newest,
        query_start,
        query_end,
        next,
    })
}

/// Back to the last checkpoint: cuts the output and the rejects file to the
/// lengths `st` saved (a page written after it is fetched again now), and
/// says so unless quiet.
fn rewind(
    cfg: &PullConfig,
    sink: &mut dyn EventSink,
    out: &mut Output,
    out_name: &str,
    st: &State,
    log: &mut dyn Write,
    sum: &mut PullSummary,
) -> Result<(), PullError> {
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
    Ok(())
}

/// The page loop's state from one page to the next.
struct Pages<'a, 'l> {
    cfg: &'a PullConfig,
    sink: &'a mut dyn EventSink,
    out: &'a mut Output,
    out_name: &'a str,
    ledger: &'a Mutex<Ledger>,
    log: SharedLog<'a, 'l>,
    /// Where retry notes go with `-q`.
    quiet: io::Sink,
    sum: PullSummary,
    dedup: Dedup,
    /// The newest event time seen (saved or fetched).
    newest: Option<DateTime<Utc>>,
    /// The query's range, as sent.
    query_start: Option<String>,
    query_end: Option<String>,
    client: Client,
    /// Resets since the last page.
    resets: u32,
    /// `bad_cursor` recoveries in the run.
    recoveries: u32,
    started: Instant,
}

/// What one request came to.
enum Fetched {
    /// A page's body.
    Page(Vec<u8>),
    /// Send this request instead (a reset, or a `bad_cursor` recovered from).
    Again(Next),
    /// A signal stopped the request.
    Stopped,
}

/// Which events of a page are new, with the compacted text of those the
/// server sent over several lines.
struct Kept {
    compacted: Vec<Option<Box<RawValue>>>,
    fresh: Vec<bool>,
}

impl Kept {
    /// The page's new events, as they are written.
    fn fresh<'a>(&'a self, events: &'a [&'a RawValue]) -> Vec<&'a RawValue> {
        events
            .iter()
            .zip(&self.compacted)
            .zip(&self.fresh)
            .filter(|(_, k)| **k)
            .map(|((ev, c), _)| c.as_deref().unwrap_or(ev))
            .collect()
    }
}

/// Where the output and the rejects file end after a page.
struct Ends {
    output: Option<OutputPos>,
    rejects: Option<OutputPos>,
}

impl Pages<'_, '_> {
    /// Sends the next request (`get_events` or `continue`, with the client's
    /// retries). A reset, or a `bad_cursor` the loop can recover from, is
    /// answered with the request to send instead, up to
    /// [`MAX_CONSECUTIVE_RESETS`] in a row.
    fn fetch(&mut self, next: &Next) -> Result<Fetched, PullError> {
        let (route, body) = match next {
            Next::Start(start) => (
                ROUTE_GET_EVENTS,
                get_events_body(self.cfg, start.as_deref(), self.query_end.as_deref()),
            ),
            Next::Continue(c) => (
                ROUTE_CONTINUE,
                serde_json::json!({ "cursor": c }).to_string(),
            ),
        };
        // Retry notes are notes: -q silences them (errors still come back).
        let notes: &mut dyn Write = if self.cfg.quiet {
            &mut self.quiet
        } else {
            &mut self.log
        };
        match self.client.call(route, body.as_bytes(), notes, &check_page) {
            Ok(bytes) => {
                self.resets = 0;
                Ok(Fetched::Page(bytes))
            }
            Err(ApiError::Reset { time }) => {
                self.resets += 1;
                self.sum.resets += 1;
                if self.resets > MAX_CONSECUTIVE_RESETS {
                    return Err(PullError::Api(ApiError::Route {
                        route,
                        tag: "reset".into(),
                        summary: format!("{} resets in a row", self.resets),
                        advice: "Dropbox keeps resetting the cursor; try again later",
                    }));
                }
                let _ = writeln!(
                    notes,
                    "teamlog: Dropbox reset the cursor; starting again from {time}{}",
                    replay_note(&self.dedup, &time)
                );
                Ok(Fetched::Again(Next::Start(Some(time))))
            }
            Err(ApiError::Route { tag, .. })
                if tag == "bad_cursor"
                    && route == ROUTE_CONTINUE
                    && self.recoveries < MAX_CONSECUTIVE_RESETS =>
            {
                self.recoveries += 1;
                self.sum.recoveries += 1;
                let from = recovery_start(&self.dedup, self.newest, self.query_start.as_deref());
                let _ = writeln!(
                    self.log,
                    "teamlog: Dropbox no longer knows the saved cursor (bad_cursor); starting \
                     the query again from {}{}",
                    from.as_deref().unwrap_or("its start"),
                    match (&self.newest, self.dedup.enabled()) {
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
                Ok(Fetched::Again(Next::Start(from)))
            }
            Err(ApiError::Interrupted) => Ok(Fetched::Stopped),
            Err(e) => Err(e.into()),
        }
    }

    /// Compacts the events the server sent over several lines and sorts out
    /// those the dedup window has already seen (counted as skipped); moves
    /// the newest event time on.
    fn dedup_page(&mut self, events: &[&RawValue]) -> Kept {
        let mut compacted: Vec<Option<Box<RawValue>>> = Vec::with_capacity(events.len());
        let mut fresh: Vec<bool> = Vec::with_capacity(events.len());
        let squeezed = self.dedup.squeezed;
        for ev in events {
            let text = ev.get();
            let compact = if text.contains(['\n', '\r']) {
                RawValue::from_string(compact_json(text)).ok()
            } else {
                None
            };
            let t = compact.as_deref().map_or(text, RawValue::get);
            let when = event_time(t);
            if let Some(w) = when {
                self.newest = Some(self.newest.map_or(w, |n| n.max(w)));
            }
            // An event without a readable time counts as the newest one.
            let ts = when.or(self.newest).map(window_secs).unwrap_or(0);
            let is_new = self.dedup.insert(ts, event_hash(t));
            if !is_new {
                self.sum.duplicates_skipped += 1;
            }
            fresh.push(is_new);
            compacted.push(compact);
        }
        if self.dedup.squeezed > squeezed && squeezed == 0 && !self.cfg.quiet {
            let _ = writeln!(
                self.log,
                "teamlog: note: the dedup window holds at most {} events, fewer than the \
                 last {} of event time; it now covers less",
                super::state::MAX_DEDUP_EVENTS,
                format_duration(self.cfg.dedup_window)
            );
        }
        Kept { compacted, fresh }
    }

    /// Writes a page's new events through the sink, then commits (flushes
    /// and syncs) the output and the rejects file; returns where both end,
    /// or `None` when stdout has closed (the run then ends quietly).
    fn write_page(&mut self, fresh: &[&RawValue]) -> Result<Option<Ends>, PullError> {
        if !fresh.is_empty() {
            match self.sink.write_page(fresh, &mut *self.out) {
                Ok(w) => {
                    self.sum.events_written += w.events;
                    self.sum.rejected += w.rejected;
                    if self.sink.rejects().is_some() {
                        self.sum.rejects_recorded += w.rejected;
                    }
                }
                Err(e) if io_is_stdout_closed(&e) => return Ok(None),
                Err(e) => return Err(out_err(self.out_name, e)),
            }
        }
        if let Err(e) = self.out.commit() {
            if io_is_stdout_closed(&e) {
                return Ok(None);
            }
            return Err(out_err(self.out_name, e));
        }
        let rejects = match self.sink.rejects() {
            Some((r, name)) => r
                .commit()
                .and_then(|_| r.position())
                .map_err(|e| out_err(name, e))?,
            None => None,
        };
        let output = self.out.position().map_err(|e| out_err(self.out_name, e))?;
        Ok(Some(Ends { output, rejects }))
    }

    /// The checkpoint after a page, in one locked step that changes the state
    /// and saves it: the page's cursor, the dedup window, where the outputs
    /// end, the newest event time, and what the alarm makes of the `fresh`
    /// events (an empty `has_more` page counts towards silence too).
    fn checkpoint(&mut self, cursor: &str, ends: Ends, fresh: u64) -> Result<(), PullError> {
        let mut l = lock(self.ledger);
        let l = &mut *l;
        let now = Utc::now();
        let st = &mut l.state;
        st.cursor = Some(cursor.to_owned());
        st.dedup_events = self.dedup.encode();
        st.output = ends.output;
        st.rejects = ends.rejects;
        st.last_event_time = self.newest.map(api_time);
        st.last_success_at = Some(state_time(now));
        match l.alarm.as_mut() {
            Some(a) => {
                a.events_arrived(st, fresh, now, &mut self.log);
                a.check(st, now, &mut self.log);
            }
            None if fresh > 0 => st.last_event_at = Some(state_time(now)),
            None => {}
        }
        l.save()?;
        Ok(())
    }

    /// `--follow` after the last page: waits out the interval before the
    /// next poll (the watchdog keeps checking the alarm); false when the run
    /// is stopped meanwhile.
    fn idle(&self) -> bool {
        let deadline = Instant::now() + self.cfg.interval;
        loop {
            if self.cfg.stop.load(Ordering::Relaxed) {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
        }
    }

    /// The end of a run that was not cut short: lets the sink finish
    /// (whether it wrote every event) and commits the output.
    fn end(mut self) -> Result<PullSummary, PullError> {
        match self.sink.finish(&mut *self.out, &mut self.log) {
            Ok(all) => self.sum.all_written = all,
            Err(e) if io_is_stdout_closed(&e) => self.sum.ended = "closed output",
            Err(e) => return Err(out_err(self.out_name, e)),
        }
        match self.out.commit() {
            Ok(()) => {}
            Err(e) if io_is_stdout_closed(&e) => self.sum.ended = "closed output",
            Err(e) => return Err(out_err(self.out_name, e)),
        }
        Ok(self.summary())
    }

    /// The summary, with the client's counts and the time taken.
    fn summary(self) -> PullSummary {
        finish_summary(self.sum, &self.client, self.started)
    }
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
