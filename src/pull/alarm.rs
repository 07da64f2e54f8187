//! The alarm: collection broke, or the log went silent.
//!
//! It watches the data, not the process. The state records when new events last
//! arrived, when the watch began, and the alarm raised and not yet recovered; every
//! run checks the silence against `--drop-off-alarm` (at start, between pages,
//! while waiting out a retry or a hung request, and on its way out after a fatal
//! error), so a collector that crash-loops under `Restart=on-failure`, or a cron
//! job that fails every time, still raises the alarm, and raises it once: the raised
//! alarm is kept in the state. An access failure (a revoked or invalid token, a
//! missing scope, wrong app credentials) raises an alarm of its own kind at once,
//! without waiting for the silence. Either way, one `teamlog: ALARM` line goes to
//! stderr and `--alarm-command` runs; when events flow again, one `RECOVERED` line
//! and the command with `TEAMLOG_ALARM=recovered`.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::state::{Raised, State};
use super::util::{api_time, format_duration, sanitize, state_time};

/// What the alarm watches for and what it runs.
#[derive(Clone, Debug)]
pub struct AlarmConfig {
    /// Silence that raises the drop-off alarm (`None`: access failures only).
    pub after: Option<Duration>,
    /// Shell command (`sh -c`) run on alarm and on recovery.
    pub command: Option<String>,
}

/// The kind of drop-off alarms.
pub const DROP_OFF: &str = "drop-off";

fn parse(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// The alarm while a pull runs: its config and the commands it started. What it
/// must remember across runs lives in the [`State`] it is given.
pub struct Alarm {
    cfg: AlarmConfig,
    /// Commands still running; reaped without waiting.
    children: Vec<Child>,
}

impl Alarm {
    /// An alarm with `cfg`; starts the watch in `st` at `now` when it has none.
    pub fn new(cfg: AlarmConfig, st: &mut State, now: DateTime<Utc>) -> Self {
        if parse(st.watching_since.as_deref()).is_none() {
            st.watching_since = Some(state_time(now));
        }
        Alarm {
            cfg,
            children: Vec::new(),
        }
    }

    /// Raises the drop-off alarm when the silence recorded in `st` reached the
    /// threshold and no alarm is raised; returns true when `st` changed.
    pub fn check(&mut self, st: &mut State, now: DateTime<Utc>, log: &mut dyn Write) -> bool {
        self.reap(log);
        let Some(after) = self.cfg.after else {
            return false;
        };
        if st.alarm.is_some() {
            return false;
        }
        let last = parse(st.last_event_at.as_deref()).filter(|t| *t <= now);
        let quiet_since = last
            .or_else(|| parse(st.watching_since.as_deref()))
            .unwrap_or(now)
            .min(now);
        let silent = (now - quiet_since).to_std().unwrap_or_default();
        if silent < after {
            return false;
        }
        let since = match last {
            Some(t) => format!("the last ones arrived at {}", api_time(t)),
            None => format!(
                "none since teamlog started watching at {}",
                api_time(quiet_since)
            ),
        };
        let ok = match parse(st.last_success_at.as_deref()) {
            Some(t) => format!("the last successful request was at {}", api_time(t)),
            None => "no request has succeeded yet".into(),
        };
        let msg = format!(
            "no new Dropbox events for {} ({since}; {ok}; --drop-off-alarm {}): check the \
             app's access and the collector",
            format_duration(round_secs(silent)),
            format_duration(after)
        );
        st.alarm = Some(Raised {
            kind: DROP_OFF.into(),
            since: api_time(now),
        });
        let _ = writeln!(log, "teamlog: ALARM: {msg}");
        self.run_command(DROP_OFF, &msg, silent, last, log);
        true
    }

    /// Raises an alarm of `kind` for a failure that stops collection (like
    /// `access-revoked`), unless one of that kind is raised already; `detail` is
    /// the error, which the caller reports too. Returns true when `st` changed.
    pub fn failed(
        &mut self,
        st: &mut State,
        kind: &str,
        detail: &str,
        now: DateTime<Utc>,
        log: &mut dyn Write,
    ) -> bool {
        self.reap(log);
        if st.alarm.as_ref().is_some_and(|a| a.kind == kind) {
            return false;
        }
        st.alarm = Some(Raised {
            kind: kind.into(),
            since: api_time(now),
        });
        let last = parse(st.last_event_at.as_deref());
        let silent = last
            .and_then(|t| (now - t).to_std().ok())
            .unwrap_or_default();
        let _ = writeln!(
            log,
            "teamlog: ALARM: {kind}: collection stopped; events are not being collected \
             until this is fixed (the error follows)"
        );
        self.run_command(kind, &sanitize(detail, 1000), silent, last, log);
        true
    }

    /// Records that `n` new events arrived at `now`; ends a raised alarm with a
    /// recovery line. Returns true when `st` changed.
    pub fn events_arrived(
        &mut self,
        st: &mut State,
        n: u64,
        now: DateTime<Utc>,
        log: &mut dyn Write,
    ) -> bool {
        if n == 0 {
            return false;
        }
        let last = parse(st.last_event_at.as_deref())
            .or_else(|| parse(st.watching_since.as_deref()))
            .unwrap_or(now);
        st.last_event_at = Some(state_time(now));
        let Some(raised) = st.alarm.take() else {
            return true;
        };
        let silent = (now - last).to_std().unwrap_or_default();
        let msg = format!(
            "Dropbox events resumed after {} of silence ({n} new; the {} alarm was raised \
             at {})",
            format_duration(round_secs(silent)),
            sanitize(&raised.kind, 40),
            sanitize(&raised.since, 40)
        );
        let _ = writeln!(log, "teamlog: RECOVERED: {msg}");
        self.run_command("recovered", &msg, silent, Some(last), log);
        true
    }

    fn run_command(
        &mut self,
        kind: &str,
        msg: &str,
        silent: Duration,
        last: Option<DateTime<Utc>>,
        log: &mut dyn Write,
    ) {
        let Some(cmd) = &self.cfg.command else {
            return;
        };
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(cmd)
            .env("TEAMLOG_ALARM", kind)
            .env("TEAMLOG_ALARM_MESSAGE", msg)
            .env(
                "TEAMLOG_ALARM_SILENCE_SECONDS",
                silent.as_secs().to_string(),
            )
            .env(
                "TEAMLOG_ALARM_THRESHOLD_SECONDS",
                self.cfg
                    .after
                    .map(|a| a.as_secs().to_string())
                    .unwrap_or_default(),
            )
            .env(
                "TEAMLOG_ALARM_LAST_EVENT_AT",
                last.map(api_time).unwrap_or_default(),
            )
            .stdin(Stdio::null());
        // The command's output must never land in the event stream: send its stdout
        // to our stderr.
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            match std::io::stderr().as_fd().try_clone_to_owned() {
                Ok(fd) => {
                    c.stdout(Stdio::from(fd));
                }
                Err(_) => {
                    c.stdout(Stdio::null());
                }
            }
        }
        #[cfg(not(unix))]
        c.stdout(Stdio::null());
        match c.spawn() {
            Ok(child) => self.children.push(child),
            Err(e) => {
                let _ = writeln!(log, "teamlog: cannot run --alarm-command: {e}");
            }
        }
    }

    /// Collects finished commands and reports failures.
    fn reap(&mut self, log: &mut dyn Write) {
        self.children.retain_mut(|c| match c.try_wait() {
            Ok(Some(st)) => {
                if !st.success() {
                    let _ = writeln!(
                        log,
                        "teamlog: --alarm-command failed: {}",
                        sanitize(&st.to_string(), 80)
                    );
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
    }

    /// Waits up to `grace` for commands still running (at the end of a run), so an
    /// alarm raised just before the run ends still gets delivered.
    pub fn finish(&mut self, grace: Duration, log: &mut dyn Write) {
        let end = std::time::Instant::now() + grace;
        while !self.children.is_empty() && std::time::Instant::now() < end {
            self.reap(log);
            std::thread::sleep(Duration::from_millis(20));
        }
        self.reap(log);
    }
}

fn round_secs(d: Duration) -> Duration {
    if d >= Duration::from_secs(1) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(d.as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn alarm(st: &mut State, now: &str) -> Alarm {
        let cfg = AlarmConfig {
            after: Some(Duration::from_secs(60)),
            command: None,
        };
        Alarm::new(cfg, st, t(now))
    }

    #[test]
    fn fires_once_per_silence_and_recovers() {
        let mut st = State::default();
        let mut a = alarm(&mut st, "2024-01-01T00:00:00Z");
        let mut log = Vec::new();
        assert!(!a.check(&mut st, t("2024-01-01T00:00:30Z"), &mut log));
        assert!(log.is_empty());
        assert!(a.check(&mut st, t("2024-01-01T00:01:00Z"), &mut log));
        assert!(!a.check(&mut st, t("2024-01-01T00:05:00Z"), &mut log));
        let text = String::from_utf8(log.clone()).unwrap();
        assert_eq!(text.matches("ALARM").count(), 1, "{text}");
        assert!(text.contains("no new Dropbox events for 1m"), "{text}");
        assert!(text.contains("no request has succeeded yet"), "{text}");
        a.events_arrived(&mut st, 3, t("2024-01-01T00:06:00Z"), &mut log);
        let text = String::from_utf8(log.clone()).unwrap();
        assert!(
            text.contains("RECOVERED: Dropbox events resumed after 6m of silence (3 new"),
            "{text}"
        );
        // A second silence fires again.
        a.check(&mut st, t("2024-01-01T00:07:00Z"), &mut log);
        let text = String::from_utf8(log).unwrap();
        assert_eq!(text.matches("ALARM").count(), 2, "{text}");
    }

    #[test]
    fn the_state_carries_the_silence_and_the_raised_alarm_across_runs() {
        let mut st = State::default();
        st.last_event_at = Some("2024-01-01T00:00:00Z".into());
        let mut log = Vec::new();
        // Silent long enough before this run, not raised yet: raised at once.
        let mut a = alarm(&mut st, "2024-01-01T01:00:00Z");
        assert!(a.check(&mut st, t("2024-01-01T01:00:00Z"), &mut log));
        assert!(String::from_utf8(log.clone())
            .unwrap()
            .contains("for 1h (the last ones arrived at 2024-01-01T00:00:00Z"));
        // The next run, same state: not again.
        let mut a = alarm(&mut st, "2024-01-01T01:00:05Z");
        assert!(!a.check(&mut st, t("2024-01-01T01:00:05Z"), &mut log));
        assert_eq!(String::from_utf8(log).unwrap().matches("ALARM").count(), 1);
    }

    #[test]
    fn an_access_failure_is_raised_once_per_kind() {
        let mut st = State::default();
        let mut a = alarm(&mut st, "2024-01-01T00:00:00Z");
        let mut log = Vec::new();
        let now = t("2024-01-01T00:00:01Z");
        assert!(a.failed(&mut st, "access-revoked", "refused", now, &mut log));
        assert!(!a.failed(&mut st, "access-revoked", "refused", now, &mut log));
        // The silence that follows is the same incident: no drop-off alarm on top.
        assert!(!a.check(&mut st, t("2024-01-01T02:00:00Z"), &mut log));
        let text = String::from_utf8(log).unwrap();
        assert_eq!(text.matches("ALARM").count(), 1, "{text}");
        assert!(text.contains("ALARM: access-revoked"), "{text}");
    }
}
