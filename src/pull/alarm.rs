//! The log drop-off alarm (`--drop-off-alarm DURATION`, follow mode).
//!
//! A team's activity log never goes quiet for long; when it does, collection is
//! probably broken (app access revoked, a filter that matches nothing, an outage).
//! When no new events arrived for the threshold, one alarm line goes to stderr and
//! `--alarm-command` runs, once per silence; when events come back, one recovery
//! line goes to stderr and the command runs again with `TEAMLOG_ALARM=recovered`.
//! The silence is measured from the last arrival recorded in `--state`, so a
//! restarted collector neither forgets a silence nor fires twice for it.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::util::{api_time, format_duration, sanitize};

/// What the alarm watches for and what it runs.
#[derive(Clone, Debug)]
pub struct AlarmConfig {
    /// Silence that triggers the alarm.
    pub after: Duration,
    /// Shell command (`sh -c`) run on alarm and on recovery.
    pub command: Option<String>,
}

/// The alarm's state while a pull runs.
pub struct Alarm {
    cfg: AlarmConfig,
    /// When events last arrived, or when watching began.
    quiet_since: DateTime<Utc>,
    /// Whether events ever arrived (for the message).
    had_events: bool,
    /// When the alarm fired, while the silence lasts.
    firing_since: Option<DateTime<Utc>>,
    /// Commands still running; reaped without waiting.
    children: Vec<Child>,
}

impl Alarm {
    /// Starts watching at `now`, continuing a silence recorded in the state
    /// (`last_event_at`, `alarm_since`, both RFC 3339) when there is one.
    pub fn new(
        cfg: AlarmConfig,
        now: DateTime<Utc>,
        last_event_at: Option<&str>,
        alarm_since: Option<&str>,
    ) -> Self {
        let parse = |s: Option<&str>| {
            s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc))
        };
        let last = parse(last_event_at).filter(|t| *t <= now);
        Alarm {
            cfg,
            quiet_since: last.unwrap_or(now),
            had_events: last.is_some(),
            firing_since: parse(alarm_since),
            children: Vec::new(),
        }
    }

    /// When the alarm fired and has not recovered, for the checkpoint.
    pub fn firing_since(&self) -> Option<DateTime<Utc>> {
        self.firing_since
    }

    /// Fires the alarm when the silence reached the threshold and it has not fired
    /// for this silence yet.
    pub fn check(&mut self, now: DateTime<Utc>, log: &mut dyn Write) {
        self.reap(log);
        if self.firing_since.is_some() {
            return;
        }
        let silent = (now - self.quiet_since).to_std().unwrap_or_default();
        if silent < self.cfg.after {
            return;
        }
        self.firing_since = Some(now);
        let since = if self.had_events {
            format!("the last ones arrived at {}", api_time(self.quiet_since))
        } else {
            format!(
                "none since teamlog started watching at {}",
                api_time(self.quiet_since)
            )
        };
        let msg = format!(
            "no new Dropbox events for {} ({since}; --drop-off-alarm {}): check the app's \
             access and the collector",
            format_duration(round_secs(silent)),
            format_duration(self.cfg.after)
        );
        let _ = writeln!(log, "teamlog: ALARM: {msg}");
        self.run_command("drop-off", &msg, silent, log);
    }

    /// Records that `n` new events arrived at `now`; ends a silence with a recovery
    /// line when the alarm had fired.
    pub fn events_arrived(&mut self, n: usize, now: DateTime<Utc>, log: &mut dyn Write) {
        if n == 0 {
            return;
        }
        let silent = (now - self.quiet_since).to_std().unwrap_or_default();
        self.quiet_since = now;
        self.had_events = true;
        if self.firing_since.take().is_some() {
            let msg = format!(
                "Dropbox events resumed after {} of silence ({n} new)",
                format_duration(round_secs(silent))
            );
            let _ = writeln!(log, "teamlog: RECOVERED: {msg}");
            self.run_command("recovered", &msg, silent, log);
        }
    }

    fn run_command(&mut self, kind: &str, msg: &str, silent: Duration, log: &mut dyn Write) {
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
                self.cfg.after.as_secs().to_string(),
            )
            .env(
                "TEAMLOG_ALARM_LAST_EVENT_AT",
                if self.had_events {
                    api_time(self.quiet_since)
                } else {
                    String::new()
                },
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
    /// alarm that fired just before a stop still gets delivered.
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

    #[test]
    fn fires_once_per_silence_and_recovers() {
        let cfg = AlarmConfig {
            after: Duration::from_secs(60),
            command: None,
        };
        let mut a = Alarm::new(cfg, t("2024-01-01T00:00:00Z"), None, None);
        let mut log = Vec::new();
        a.check(t("2024-01-01T00:00:30Z"), &mut log);
        assert!(log.is_empty());
        a.check(t("2024-01-01T00:01:00Z"), &mut log);
        a.check(t("2024-01-01T00:05:00Z"), &mut log);
        let text = String::from_utf8(log.clone()).unwrap();
        assert_eq!(text.matches("ALARM").count(), 1, "{text}");
        assert!(text.contains("no new Dropbox events for 1m"), "{text}");
        a.events_arrived(3, t("2024-01-01T00:06:00Z"), &mut log);
        let text = String::from_utf8(log.clone()).unwrap();
        assert!(text.contains("RECOVERED: Dropbox events resumed after 6m of silence (3 new)"));
        // A second silence fires again.
        a.check(t("2024-01-01T00:07:00Z"), &mut log);
        let text = String::from_utf8(log).unwrap();
        assert_eq!(text.matches("ALARM").count(), 2, "{text}");
    }

    #[test]
    fn a_restart_continues_the_recorded_silence() {
        let cfg = AlarmConfig {
            after: Duration::from_secs(60),
            command: None,
        };
        let mut log = Vec::new();
        // Already fired before the restart: not again.
        let mut a = Alarm::new(
            cfg.clone(),
            t("2024-01-01T01:00:00Z"),
            Some("2024-01-01T00:00:00Z"),
            Some("2024-01-01T00:01:00Z"),
        );
        a.check(t("2024-01-01T01:00:01Z"), &mut log);
        assert!(log.is_empty());
        // Silent long enough before the restart, not fired yet: fires at once.
        let mut a = Alarm::new(
            cfg,
            t("2024-01-01T01:00:00Z"),
            Some("2024-01-01T00:00:00Z"),
            None,
        );
        a.check(t("2024-01-01T01:00:00Z"), &mut log);
        assert!(String::from_utf8(log)
            .unwrap()
            .contains("for 1h (the last ones arrived at 2024-01-01T00:00:00Z"));
    }
}
