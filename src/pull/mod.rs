//! `teamlog auth` and `teamlog pull`: collecting team events from the Dropbox API.
//!
//! This module owns everything that talks to Dropbox (the API behaviour relied on,
//! the state file and the deployment rules are in `docs/pull.md`): the OAuth flow
//! and the credentials file ([`auth`]), the HTTP client with its retries, timeouts
//! and error mapping ([`api`]), the cursor checkpoint and dedup window ([`state`]),
//! the one-collector-per-state lock ([`lock`]), the alarm ([`alarm`]), the page loop
//! ([`fetch`]) and the boundary to the output ([`output`]: raw events, or the
//! normalizing engine ([`normalize`]) behind the same [`EventSink`] trait).
//!
//! The CLI enters through [`run_auth`] and [`run_pull`]; tests and other front ends
//! use [`run_auth_with`] and [`run_pull_with`], which take their environment,
//! standard streams and stop flag as arguments.

pub mod alarm;
pub mod api;
pub mod auth;
pub mod fetch;
pub mod lock;
pub mod normalize;
pub mod output;
pub mod secret;
pub mod state;
pub mod util;

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

pub use alarm::AlarmConfig;
pub use api::{ApiError, RetryPolicy, DEFAULT_API_BASE};
pub use auth::{Credentials, DEFAULT_AUTHORIZE_BASE};
pub use fetch::{PullConfig, PullError, PullSummary};
pub use output::{EventSink, Output, RawSink};
pub use secret::Secret;

use util::{parse_positive_duration, sanitize};

/// Environment variable with the App key.
pub const ENV_APP_KEY: &str = "TEAMLOG_APP_KEY";
/// Environment variable with the App secret.
pub const ENV_APP_SECRET: &str = "TEAMLOG_APP_SECRET";
/// Environment variable with a refresh token (instead of the credentials file).
pub const ENV_REFRESH_TOKEN: &str = "TEAMLOG_REFRESH_TOKEN";

/// Exit status: success.
pub const EXIT_OK: u8 = crate::exit::Exit::Ok as u8;
/// Exit status: the run completed but the sink could not write some events as asked
/// (with `--normalize`: some events were rejected).
pub const EXIT_REJECTS: u8 = crate::exit::Exit::Rejects as u8;
/// Exit status: a fatal error; the message says what and what to do.
pub const EXIT_FATAL: u8 = crate::exit::Exit::Fatal as u8;

fn secret_arg(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s))
}

/// `--dedup-window`: a duration, or `0` for off.
fn parse_dedup_window(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    util::parse_duration(s)
}

/// Authorize teamlog to read your team's activity log (OAuth 2 with PKCE).
///
/// Prints a URL to open as a Dropbox team admin. With a loopback --redirect-uri,
/// teamlog catches the redirect itself; otherwise paste the code Dropbox shows. The
/// refresh token is stored in the credentials file (mode 0600) for `teamlog pull`.
#[derive(clap::Args, Debug, Clone)]
pub struct AuthArgs {
    /// The app's App key (OAuth client id, on the App Console's Settings tab).
    /// Default: $TEAMLOG_APP_KEY, then the existing credentials file.
    #[arg(long, value_name = "KEY")]
    pub app_key: Option<String>,

    /// The App secret. Not needed: PKCE works without it. Prefer $TEAMLOG_APP_SECRET
    /// or --app-secret-file: command lines are visible to other users in `ps`.
    #[arg(long, value_name = "SECRET", value_parser = secret_arg, conflicts_with = "app_secret_file")]
    pub app_secret: Option<Secret>,

    /// Read the App secret from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub app_secret_file: Option<PathBuf>,

    /// The redirect URI registered for the app. For http://127.0.0.1:PORT/PATH or
    /// http://localhost:PORT/PATH teamlog listens there and catches the code; for any
    /// other URI, or none, paste the code (or the redirected URL) on stdin.
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,

    /// Where to store the credentials (created with mode 0600).
    /// Default: $XDG_CONFIG_HOME/teamlog/credentials.json, else
    /// ~/.config/teamlog/credentials.json.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,

    /// How long to wait for the browser's redirect (loopback redirect URI only).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_positive_duration)]
    pub timeout: Duration,

    /// API host (for tests).
    #[arg(long, value_name = "URL", default_value = DEFAULT_API_BASE, hide = true)]
    pub api_base: String,

    /// Host of the authorize page (for tests).
    #[arg(long, value_name = "URL", default_value = DEFAULT_AUTHORIZE_BASE, hide = true)]
    pub authorize_base: String,
}

/// Fetch team events from the Dropbox API and write them as NDJSON.
///
/// Reads events with team_log/get_events and /continue until no more are pending,
/// one event per line, exactly as Dropbox sent it. With --state, a rerun continues
/// where the last run stopped (one run per state file at a time); with --follow it
/// keeps polling.
#[derive(clap::Args, Debug, Clone)]
#[command(group(
    clap::ArgGroup::new("normalize_flags")
        .args(["schema", "row_id", "parse_time", "source_id", "source_label",
               "source_label_from_path", "rejects"])
        .multiple(true)
        .requires("normalize")
))]
pub struct PullArgs {
    /// Append events to FILE instead of writing to stdout. With --state, a rerun
    /// continues the file, first cutting off any page written after the last
    /// checkpoint, so the file never holds an event twice.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Normalize events to Panther's Dropbox.TeamEvent form in-process (the
    /// filter's engine) instead of writing them raw. --schema, --row-id,
    /// --parse-time, --source-id, --source-label(-from-path) and --rejects need it.
    /// --rejects is appended to, never truncated, and with --state checkpointed
    /// like -o.
    #[arg(long)]
    pub normalize: bool,

    #[command(flatten)]
    pub norm: crate::normalize::NormalizeArgs,

    /// Earliest event time (inclusive): RFC 3339 (2024-05-01T00:00:00Z), a date
    /// (2024-05-01) or a duration back from now (7d). Used when there is no saved
    /// cursor. Default: as far back as Dropbox keeps. A saved cursor's query keeps
    /// its range: another --start is refused (--restart starts a new query).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,

    /// Latest event time (exclusive), same forms as --start. Not with --follow.
    #[arg(long, value_name = "TIME", conflicts_with = "follow")]
    pub end: Option<String>,

    /// Only events of this category (like logins, sharing, file_operations).
    #[arg(long, value_name = "CATEGORY", conflicts_with = "event_type")]
    pub category: Option<String>,

    /// Only events of this type (like login_fail, shared_content_download).
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,

    /// Only events of this team member (a dbid:... account id).
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// Events per API page, 1 to 1000.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,

    /// Checkpoint file: the cursor, the dedup window, the output's and the
    /// rejects' lengths and the alarm's record, saved atomically after each page is
    /// written and flushed. A rerun with the same file continues after the last
    /// saved page. One run at a time: the run holds a lock on FILE.lock, and a
    /// second run exits with status 2 naming the holder (see --wait).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Ignore the cursor saved in --state and start a new query from --start (keeps
    /// the dedup window). A bad_cursor needs no --restart: the query starts again
    /// by itself from the newest event's time in the state.
    #[arg(long, requires = "state")]
    pub restart: bool,

    /// When another run holds the --state lock, wait for it to finish instead of
    /// exiting with status 2.
    #[arg(long, requires = "state")]
    pub wait: bool,

    /// Keep polling for new events after the last page, until interrupted
    /// (Ctrl-C or SIGTERM end it after the current page).
    #[arg(long)]
    pub follow: bool,

    /// Pause between polls with --follow, like 30s, 5m, 1h.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_positive_duration)]
    pub interval: Duration,

    /// Skip events whose exact content was already written, among the events
    /// whose timestamp is within DURATION of the newest one (covers what a cursor
    /// reset or a bad_cursor recovery replays, and Dropbox's late events). Kept in
    /// --state (16 bytes per event, at most 200000 events: about 3.2 MB), so reruns
    /// skip them too. 0 turns it off.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_dedup_window)]
    pub dedup_window: Duration,

    /// When no new events arrived for DURATION (like 30m, 2h), print one ALARM line
    /// on stderr and run --alarm-command, once per silence (the silence and the
    /// raised alarm are kept in --state, so restarts and cron runs neither forget
    /// nor repeat it), and a RECOVERED line when events come back. Checked by every
    /// run, also while waiting out retries and on the way out of a failed run.
    /// Without --follow it needs --state.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub drop_off_alarm: Option<Duration>,

    /// Shell command run (sh -c) when an alarm is raised and when it recovers, with
    /// TEAMLOG_ALARM (drop-off; access-revoked, access-invalid, missing-scope,
    /// app-credentials or credentials when Dropbox refuses access, raised at once;
    /// recovered), TEAMLOG_ALARM_MESSAGE, TEAMLOG_ALARM_SILENCE_SECONDS,
    /// TEAMLOG_ALARM_THRESHOLD_SECONDS and TEAMLOG_ALARM_LAST_EVENT_AT in its
    /// environment; its output goes to stderr.
    #[arg(long, value_name = "CMD")]
    pub alarm_command: Option<String>,

    /// Retries for a failing request (HTTP 429, 5xx, connection errors) before
    /// giving up, 0 to 100; waits double from 1s up to 60s, with jitter, or last
    /// what Dropbox asks (Retry-After).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: u32,

    /// Longest wait for a connection to Dropbox.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_positive_duration)]
    pub connect_timeout: Duration,

    /// Longest time one request may take once connected (sending it and reading
    /// the whole answer).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_positive_duration)]
    pub read_timeout: Duration,

    /// Stop retrying a failing request after DURATION from its first failure (a
    /// wait that would end later, also one Dropbox asks for, is not made). A
    /// request thus fails within --give-up-after plus one request's timeouts:
    /// about 11 minutes by default.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_positive_duration)]
    pub give_up_after: Duration,

    /// The credentials file written by `teamlog auth`. Default:
    /// $XDG_CONFIG_HOME/teamlog/credentials.json, else ~/.config/teamlog/credentials.json.
    /// $TEAMLOG_APP_KEY, $TEAMLOG_APP_SECRET and $TEAMLOG_REFRESH_TOKEN override it.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,

    /// Write the run's counts as JSON to FILE at the end.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,

    /// No notes or summary on stderr (errors and alarms still appear).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// API host (for tests).
    #[arg(long, value_name = "URL", default_value = DEFAULT_API_BASE, hide = true)]
    pub api_base: String,

    /// Multiplies every retry wait (for tests).
    #[arg(long, value_name = "X", default_value_t = 1.0, hide = true)]
    pub retry_wait_scale: f64,
}

/// The outside world of a run, passed in so tests can supply their own.
pub struct Io<'a> {
    /// Environment lookup.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Standard input (for a pasted authorization code).
    pub stdin: &'a mut dyn BufRead,
    /// Where events go when there is no `-o`.
    pub stdout: Output,
    /// Notes, warnings, alarms, the summary (shared with the alarm's watchdog
    /// thread, hence `Send`).
    pub stderr: &'a mut (dyn Write + Send),
    /// Set to end the run at the next page boundary or wait.
    pub stop: Arc<AtomicBool>,
}

fn real_env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// `teamlog auth` with the real environment and streams.
pub fn run_auth(args: &AuthArgs) -> anyhow::Result<ExitCode> {
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    let mut stderr = io::stderr();
    let io = Io {
        env: &real_env,
        stdin: &mut stdin,
        stdout: Output::stream(Box::new(io::sink())),
        stderr: &mut stderr,
        stop: crate::signals::stop_on_signals(),
    };
    run_auth_with(args, io)?;
    Ok(ExitCode::SUCCESS)
}

/// `teamlog pull` with the real environment and streams, writing raw events.
pub fn run_pull(args: &PullArgs) -> anyhow::Result<u8> {
    let mut normalizer = match args.normalize {
        true => Some(normalize::NormalizeSink::new(&args.norm, args.quiet)?),
        false => None,
    };
    let sink: &mut dyn EventSink = match &mut normalizer {
        Some(n) => n,
        None => &mut RawSink,
    };
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    let mut stderr = io::stderr();
    let io = Io {
        env: &real_env,
        stdin: &mut stdin,
        stdout: Output::stdout(),
        stderr: &mut stderr,
        stop: crate::signals::stop_on_signals(),
    };
    let code = run_pull_with(args, io, sink)?;
    Ok(code)
}

/// Resolves the App key and secret for `teamlog auth`: flags, then environment,
/// then an existing credentials file.
fn auth_app_credentials(
    args: &AuthArgs,
    env: &dyn Fn(&str) -> Option<String>,
    existing: Option<&Credentials>,
) -> Result<(String, Option<Secret>), PullError> {
    let key = args
        .app_key
        .clone()
        .or_else(|| env(ENV_APP_KEY).filter(|s| !s.is_empty()))
        .or_else(|| existing.map(|c| c.app_key.clone()))
        .ok_or_else(|| {
            PullError::Usage(format!(
                "no App key: pass --app-key KEY or set {ENV_APP_KEY} (the App key is on the \
                 app's Settings tab in the Dropbox App Console)"
            ))
        })?;
    let secret = match (&args.app_secret, &args.app_secret_file) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f).map_err(|e| {
                PullError::Usage(format!(
                    "cannot read --app-secret-file {}: {e}",
                    sanitize(&f.display().to_string(), 200)
                ))
            })?;
            let line = text.lines().next().unwrap_or("").trim().to_owned();
            if line.is_empty() {
                return Err(PullError::Usage(format!(
                    "--app-secret-file {} is empty",
                    sanitize(&f.display().to_string(), 200)
                )));
            }
            Some(Secret::new(line))
        }
        (None, None) => env(ENV_APP_SECRET)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .or_else(|| existing.and_then(|c| c.app_secret.clone())),
    };
    Ok((key, secret))
}

fn credentials_path(
    flag: Option<&PathBuf>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf, PullError> {
    flag.cloned()
        .or_else(|| auth::default_credentials_path(env))
        .ok_or_else(|| {
            PullError::Usage(
                "no place for the credentials: neither HOME nor XDG_CONFIG_HOME is set; pass \
                 --credentials FILE"
                    .into(),
            )
        })
}

/// `teamlog auth` with the given environment and streams; returns the saved
/// credentials.
pub fn run_auth_with(args: &AuthArgs, io: Io<'_>) -> Result<Credentials, PullError> {
    let Io {
        env,
        stdin,
        stderr: log,
        stop,
        ..
    } = io;
    let path = credentials_path(args.credentials.as_ref(), env)?;
    let existing = match auth::load_credentials(&path) {
        Ok((c, _)) => Some(c),
        Err(_) => None,
    };
    let (app_key, app_secret) = auth_app_credentials(args, env, existing.as_ref())?;

    let pkce = auth::Pkce::generate().map_err(|e| PullError::Usage(e.to_string()))?;
    let csrf = auth::random_state().map_err(|e| PullError::Usage(e.to_string()))?;
    let redirect = args.redirect_uri.as_deref();
    let url = auth::authorize_url(
        &args.authorize_base,
        &app_key,
        &pkce.challenge,
        redirect,
        redirect.map(|_| csrf.as_str()),
    );
    let _ = writeln!(
        log,
        "teamlog: open this URL in a browser where a Dropbox team admin is signed in, and \
         allow access:\n\n  {url}\n"
    );
    let code = match redirect.and_then(auth::loopback) {
        Some(lb) => {
            let uri = redirect.unwrap_or_default();
            auth::catch_redirect(&lb, &csrf, args.timeout, &stop, &mut || {
                let _ = writeln!(
                    log,
                    "teamlog: waiting for the redirect to {} (up to {})...",
                    sanitize(uri, 200),
                    util::format_duration(args.timeout)
                );
                let _ = log.flush();
            })?
        }
        None => {
            let _ = writeln!(
                log,
                "teamlog: then paste the code Dropbox shows{} and press Enter:",
                if redirect.is_some() {
                    " (or the whole URL the browser was sent to)"
                } else {
                    ""
                }
            );
            let _ = log.flush();
            auth::read_pasted_code(stdin, redirect.map(|_| csrf.as_str()))?
        }
    };

    let mut http = api::Http::new(&args.api_base, RetryPolicy::default(), stop);
    let tok = http.exchange_code(
        &code,
        &pkce.verifier,
        &app_key,
        app_secret.as_ref(),
        redirect,
        log,
    )?;
    let refresh_token = tok.refresh_token.ok_or_else(|| {
        PullError::Usage(
            "Dropbox returned no refresh token (the authorize URL asks for \
             token_access_type=offline; was it changed?); run `teamlog auth` again"
                .into(),
        )
    })?;
    if let Some(scope) = &tok.scope {
        if !scope.split_whitespace().any(|s| s == "events.read") {
            let _ = writeln!(
                log,
                "teamlog: warning: the grant lacks the scope events.read ({}); enable it on the \
                 app's Permissions tab, then run `teamlog auth` again",
                sanitize(scope, 200)
            );
        }
    }
    let creds = Credentials {
        app_key,
        app_secret,
        refresh_token,
        team_id: tok.team_id,
        scope: tok.scope,
        created_at: util::api_time(chrono::Utc::now()),
    };
    auth::save_credentials(&path, &creds)?;
    let _ = writeln!(
        log,
        "teamlog: authorized{}; credentials saved to {} (mode 0600). Next: teamlog pull --state FILE",
        creds
            .team_id
            .as_deref()
            .map(|t| format!(" for team {}", sanitize(t, 80)))
            .unwrap_or_default(),
        sanitize(&path.display().to_string(), 300)
    );
    Ok(creds)
}

/// Resolves the pull's credentials: environment over the credentials file.
fn pull_credentials(
    args: &PullArgs,
    env: &dyn Fn(&str) -> Option<String>,
    log: &mut dyn Write,
) -> Result<api::ClientCredentials, PullError> {
    let get = |k| env(k).filter(|s: &String| !s.is_empty());
    let (key, secret, token) = (
        get(ENV_APP_KEY),
        get(ENV_APP_SECRET),
        get(ENV_REFRESH_TOKEN),
    );
    if let (Some(k), Some(t)) = (&key, &token) {
        return Ok(api::ClientCredentials {
            app_key: k.clone(),
            app_secret: secret.map(Secret::new),
            refresh_token: Secret::new(t.clone()),
        });
    }
    let path = credentials_path(args.credentials.as_ref(), env)?;
    let (c, warning) = auth::load_credentials(&path)?;
    if let Some(w) = warning {
        let _ = writeln!(log, "teamlog: warning: {}", sanitize(&w, 400));
    }
    Ok(api::ClientCredentials {
        app_key: key.unwrap_or(c.app_key),
        app_secret: secret.map(Secret::new).or(c.app_secret),
        refresh_token: token.map(Secret::new).unwrap_or(c.refresh_token),
    })
}

fn alarm_config(args: &PullArgs) -> Option<AlarmConfig> {
    (args.drop_off_alarm.is_some() || args.alarm_command.is_some()).then(|| AlarmConfig {
        after: args.drop_off_alarm,
        command: args.alarm_command.clone(),
    })
}

impl PullConfig {
    /// Resolves `args` with the environment `env` into a config.
    pub fn from_args(
        args: &PullArgs,
        env: &dyn Fn(&str) -> Option<String>,
        stop: Arc<AtomicBool>,
        log: &mut dyn Write,
    ) -> Result<PullConfig, PullError> {
        let now = chrono::Utc::now();
        let time = |flag: &str, v: &Option<String>| -> Result<Option<state::TimeArg>, PullError> {
            v.as_deref()
                .map(|s| {
                    util::parse_time_arg(s, now)
                        .map(|t| state::TimeArg {
                            given: s.to_owned(),
                            sent: util::api_time(t),
                        })
                        .map_err(|e| PullError::Usage(format!("--{flag}: {e}")))
                })
                .transpose()
        };
        let start = time("start", &args.start)?;
        let end = time("end", &args.end)?;
        if let (Some(s), Some(e)) = (&start, &end) {
            if s.sent >= e.sent {
                return Err(PullError::Usage(format!(
                    "--start {} is not before --end {}; the range is empty",
                    s.sent, e.sent
                )));
            }
        }
        if args.drop_off_alarm.is_some() && !args.follow && args.state.is_none() {
            return Err(PullError::Usage(
                "--drop-off-alarm without --follow needs --state FILE: each run measures the \
                 silence from what the state recorded, and remembers the alarm there"
                    .into(),
            ));
        }
        let creds = pull_credentials(args, env, log)?;
        Ok(PullConfig {
            api_base: args.api_base.clone(),
            creds,
            start,
            end,
            filters: state::Filters {
                category: args.category.clone(),
                event_type: args.event_type.clone(),
                account_id: args.account_id.clone(),
            },
            limit: args.limit,
            state_path: args.state.clone(),
            restart: args.restart,
            wait: args.wait,
            follow: args.follow,
            interval: args.interval,
            dedup_window: args.dedup_window,
            alarm: alarm_config(args),
            retry: RetryPolicy {
                retries: args.retries,
                wait_scale: args.retry_wait_scale,
                connect_timeout: args.connect_timeout,
                read_timeout: args.read_timeout,
                give_up_after: args.give_up_after,
                ..RetryPolicy::default()
            },
            quiet: args.quiet,
            stop,
        })
    }
}

/// `teamlog pull` with the given environment, streams and sink; returns the exit
/// status ([`EXIT_OK`], or [`EXIT_REJECTS`] when the sink reported rejects). The
/// summary goes to `io.stderr` unless `--quiet`; errors are returned, not printed.
pub fn run_pull_with(
    args: &PullArgs,
    io: Io<'_>,
    sink: &mut dyn EventSink,
) -> Result<u8, PullError> {
    let Io {
        env,
        stdout,
        stderr: log,
        stop,
        ..
    } = io;
    let cfg = match PullConfig::from_args(args, env, stop.clone(), log) {
        Ok(c) => c,
        Err(e) => {
            // Credentials that cannot be read stop collection like revoked access.
            if let (Some(p), Some(a)) = (&args.state, alarm_config(args)) {
                if let Some(kind) = e.access_kind() {
                    fetch::alarm_before_start(p, a, kind, &e, log);
                }
            }
            return Err(e);
        }
    };
    // Every path is checked writable before the first request: -o and --rejects
    // are open by now, --state is locked and saved before it, --stats is tried here.
    if let Some(p) = &args.stats {
        crate::atomic::check_writable(p).map_err(|source| PullError::Output {
            what: format!("--stats {}", sanitize(&p.display().to_string(), 300)),
            source,
        })?;
    }
    let (mut out, name) = match &args.output {
        Some(p) => (
            Output::append_file(p).map_err(|source| PullError::Output {
                what: p.display().to_string(),
                source,
            })?,
            p.display().to_string(),
        ),
        None => (stdout, "stdout".to_owned()),
    };
    let sum = fetch::pull(&cfg, sink, &mut out, &name, log)?;
    if !args.quiet {
        let _ = writeln!(log, "{}", fetch::summary_line(&sum));
    }
    if let Some(p) = &args.stats {
        let mut text = serde_json::to_vec_pretty(&sum).expect("summary serializes");
        text.push(b'\n');
        crate::atomic::write(p, &text).map_err(|source| PullError::Output {
            what: p.display().to_string(),
            source,
        })?;
    }
    Ok(if sum.all_written {
        EXIT_OK
    } else {
        EXIT_REJECTS
    })
}
