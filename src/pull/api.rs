//! The HTTP side of the Dropbox API: one blocking client, retries, token refresh,
//! and the mapping of every failure to a typed error that says what to do.
//!
//! The API behaviour relied on is described in `docs/pull.md`. What this module decides:
//! - 429: wait what the server asks (`Retry-After` header, else the body's
//!   `retry_after`, else the backoff), then retry; a 5xx with `Retry-After` too.
//! - 5xx, connection errors, and a 200 whose body is not a page: exponential backoff
//!   with jitter, capped, at most [`RetryPolicy::retries`] retries and never past
//!   [`RetryPolicy::give_up_after`], then [`ApiError::GaveUp`]. Each request is
//!   bounded by the connect and read timeouts.
//! - 401 `expired_access_token`: refresh once and retry; any other 401 is fatal.
//! - The token endpoint's `invalid_client`: the App key or secret is wrong.
//! - 409: a route error, returned to the caller ([`ApiError::Reset`] carries the
//!   reset time, the rest say what to change).
//! - 400: a malformed request, reported with the server's body.
//!
//! Server text that reaches an error message is sanitized (control characters
//! escaped, cut short) and has every known secret replaced by `***`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::secret::Secret;
use super::util::{format_duration, random_below, sanitize};

/// The production API host.
pub const DEFAULT_API_BASE: &str = "https://api.dropboxapi.com";

/// Route of the first request of a query.
pub const ROUTE_GET_EVENTS: &str = "team_log/get_events";
/// Route that reads the next page with a cursor.
pub const ROUTE_CONTINUE: &str = "team_log/get_events/continue";

/// How failing requests are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt before giving up (429s, 5xx, connection errors).
    pub retries: u32,
    /// First backoff delay; doubled on every failure.
    pub base: Duration,
    /// Largest backoff delay (a server's `Retry-After` is honoured up to an hour).
    pub cap: Duration,
    /// Test hook: every wait is multiplied by this (1.0 in real use), so tests can
    /// check that a `Retry-After: 7` was honoured without waiting 7 seconds.
    pub wait_scale: f64,
    /// Longest time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest time one request may take once connected (sending it and reading
    /// the whole answer).
    pub read_timeout: Duration,
    /// Longest time one call keeps retrying, counted from its first failure: a
    /// retry whose wait would end past it is not made, so a call fails after at
    /// most this plus one request's timeouts.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 8,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            wait_scale: 1.0,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            give_up_after: DEFAULT_GIVE_UP_AFTER,
        }
    }
}

/// Default [`RetryPolicy::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default [`RetryPolicy::read_timeout`].
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`RetryPolicy::give_up_after`].
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(600);

impl RetryPolicy {
    /// The backoff before retry number `n` (1-based): half of `base * 2^(n-1)`
    /// (capped) plus a random part up to the other half, so many clients that failed
    /// together do not come back together.
    pub fn backoff(&self, n: u32) -> Duration {
        let exp = self
            .base
            .checked_mul(1u32 << (n.saturating_sub(1)).min(20))
            .unwrap_or(self.cap)
            .min(self.cap);
        let half = exp / 2;
        half + Duration::from_millis(random_below(half.as_millis() as u64 + 1))
    }
}

/// Sleeps that end early when the run is asked to stop (Ctrl-C, SIGTERM, a test).
#[derive(Clone, Debug)]
pub struct Pacer {
    stop: Arc<AtomicBool>,
    scale: f64,
}

impl Pacer {
    /// A pacer that watches `stop` and multiplies waits by `scale`.
    pub fn new(stop: Arc<AtomicBool>, scale: f64) -> Self {
        Pacer { stop, scale }
    }

    /// How long a [`sleep`](Pacer::sleep) of `d` really sleeps.
    pub fn scaled(&self, d: Duration) -> Duration {
        if (self.scale - 1.0).abs() < f64::EPSILON {
            d
        } else {
            d.mul_f64(self.scale.max(0.0))
        }
    }

    /// True once a stop was requested.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Waits `d` (scaled); returns false when interrupted by a stop.
    pub fn sleep(&self, d: Duration) -> bool {
        let d = self.scaled(d);
        let end = Instant::now() + d;
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }
}

/// Everything that can go wrong talking to Dropbox, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A 401 other than an expired token: the authorization is gone.
    #[error(
        "Dropbox rejected the access token ({summary}): the authorization is no longer \
         valid; run `teamlog auth` again"
    )]
    Unauthorized {
        /// The server's `error_summary` or body, sanitized.
        summary: String,
    },
    /// The app lacks a scope the route needs.
    #[error(
        "the Dropbox app lacks the scope {scope}: enable it on the app's Permissions tab \
         in the App Console, then run `teamlog auth` again (a token keeps the scopes it \
         was granted with)"
    )]
    MissingScope {
        /// The scope named by the server.
        scope: String,
    },
    /// The token endpoint refused the refresh token or the client credentials.
    #[error(
        "Dropbox refused to refresh the access token ({detail}): the app's access was \
         revoked or the stored credentials are wrong; run `teamlog auth` again"
    )]
    RefreshRejected {
        /// `error: error_description` from the server, sanitized.
        detail: String,
    },
    /// The token endpoint said `invalid_client`: the App key or secret is wrong.
    #[error(
        "Dropbox refused the app's credentials ({detail}): the App key or App secret is \
         wrong. Compare them with the app's Settings tab in the Dropbox App Console \
         ($TEAMLOG_APP_KEY / --app-key, $TEAMLOG_APP_SECRET / --app-secret-file), then \
         run `teamlog auth` again"
    )]
    ClientRejected {
        /// `error: error_description` from the server, sanitized.
        detail: String,
    },
    /// The token endpoint refused an authorization code.
    #[error(
        "Dropbox refused the authorization code ({detail}): codes work once and expire \
         after a few minutes, and the redirect URI must match the one used to authorize; \
         run `teamlog auth` again"
    )]
    CodeRejected {
        /// `error: error_description` from the server, sanitized.
        detail: String,
    },
    /// `continue` answered `reset`: the cursor is gone; start again from `time`.
    #[error("Dropbox reset the cursor; the query must start again from {time}")]
    Reset {
        /// The reset timestamp, as Dropbox sent it.
        time: String,
    },
    /// Another route error (HTTP 409).
    #[error("{route} failed with {tag}: {advice} (Dropbox said: {summary})")]
    Route {
        /// The route that failed.
        route: &'static str,
        /// The error's `.tag`.
        tag: String,
        /// The `error_summary`, sanitized.
        summary: String,
        /// What the user should do.
        advice: &'static str,
    },
    /// HTTP 400: the request was malformed.
    #[error(
        "Dropbox answered HTTP 400 (bad request) to {what}: {body}; check the filter \
         flags, or report this as a teamlog bug"
    )]
    BadRequest {
        /// What was being requested.
        what: &'static str,
        /// The body, sanitized.
        body: String,
    },
    /// Another status that retrying cannot fix.
    #[error("Dropbox answered HTTP {status} to {what}: {body}")]
    Http {
        /// What was being requested.
        what: &'static str,
        /// The status code.
        status: u16,
        /// The body, sanitized.
        body: String,
    },
    /// Retries ran out.
    #[error(
        "gave up on {what} after {attempts} attempts{why}; the last one failed with: \
         {last}. Dropbox or the network keeps failing: try again later (--retries and \
         --give-up-after bound the retrying)"
    )]
    GaveUp {
        /// What was being requested.
        what: &'static str,
        /// Attempts made.
        attempts: u32,
        /// Why retrying stopped before `--retries` ran out, like ` (the next wait
        /// would pass --give-up-after 10m)`; empty when the retries ran out.
        why: String,
        /// The last failure, sanitized.
        last: String,
    },
    /// A stop was requested while waiting to retry.
    #[error("interrupted")]
    Interrupted,
}

/// Counts for the run summary; no secrets here.
#[derive(Clone, Debug, Default)]
pub struct ApiStats {
    /// HTTP requests sent (all endpoints, retries included).
    pub requests: u64,
    /// Requests that were retried (429, 5xx, connection errors, bad pages).
    pub retries: u64,
    /// Of those, how many were rate limits.
    pub rate_limited: u64,
    /// Access tokens obtained with the refresh token.
    pub token_refreshes: u64,
}

/// One HTTP answer, read whole.
struct Reply {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// The longest `Retry-After` honoured; a larger one is taken as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The most bytes read from one response (a page of 1000 events is a few MB).
const MAX_BODY: u64 = 256 << 20;

/// The HTTP agent plus the retry loop; shared by `auth` and the event client.
pub struct Http {
    agent: ureq::Agent,
    base: String,
    policy: RetryPolicy,
    pacer: Pacer,
    /// Counts of what happened.
    pub stats: ApiStats,
}

fn is_loopback_base(base: &str) -> bool {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or("");
    let host = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

impl Http {
    /// A client for `base` (like [`DEFAULT_API_BASE`]). Proxies come from the
    /// environment (`HTTPS_PROXY`, `NO_PROXY`), except for a loopback base (tests).
    pub fn new(base: &str, policy: RetryPolicy, stop: Arc<AtomicBool>) -> Self {
        let pacer = Pacer::new(stop, policy.wait_scale);
        let proxy = if is_loopback_base(base) {
            None
        } else {
            ureq::Proxy::try_from_env()
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(proxy)
            .timeout_connect(Some(policy.connect_timeout))
            .timeout_global(Some(policy.connect_timeout + policy.read_timeout))
            .max_redirects(0)
            .user_agent(concat!("teamlog/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: config.into(),
            base: base.trim_end_matches('/').to_owned(),
            policy,
            pacer,
            stats: ApiStats::default(),
        }
    }

    fn read(res: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Reply, String> {
        let mut res = res.map_err(|e| format!("connection error: {e}"))?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = res
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| format!("connection error while reading the response: {e}"))?;
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }

    /// Sends with `send` until the answer is neither a 429, a 5xx, a connection
    /// error, nor (for a 200) refused by `check`; returns that answer.
    fn with_retries(
        &mut self,
        what: &'static str,
        log: &mut dyn Write,
        scrub: &dyn Fn(&str) -> String,
        send: &mut dyn FnMut(&ureq::Agent, &str) -> Result<Reply, String>,
        check: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Result<Reply, ApiError> {
        let mut failures = 0u32;
        let mut first_failure: Option<Instant> = None;
        // Waits so far, as asked and as slept (they differ only under the test
        // scale, which must not make requests count 1000 times over).
        let (mut waited, mut slept) = (Duration::ZERO, Duration::ZERO);
        loop {
            if self.pacer.stopped() {
                return Err(ApiError::Interrupted);
            }
            self.stats.requests += 1;
            let (reason, wait) = match send(&self.agent, &self.base) {
                Ok(r) if r.status == 429 => {
                    self.stats.rate_limited += 1;
                    let asked = r.retry_after.or_else(|| body_retry_after(&r.body));
                    let reason = "HTTP 429 (rate limited)".to_string();
                    (reason, asked.map(|d| d.min(MAX_RETRY_AFTER)))
                }
                Ok(r) if r.status >= 500 => {
                    // A 503 (or any 5xx) may say when to come back, like a 429.
                    let body = scrub(&sanitize(&String::from_utf8_lossy(&r.body), 200));
                    (
                        format!("HTTP {}: {}", r.status, body),
                        r.retry_after.map(|d| d.min(MAX_RETRY_AFTER)),
                    )
                }
                Ok(r) if r.status == 200 => match check(&r.body) {
                    Ok(()) => return Ok(r),
                    Err(e) => (
                        format!("malformed response: {}", scrub(&sanitize(&e, 200))),
                        None,
                    ),
                },
                Ok(r) => return Ok(r),
                Err(e) => (scrub(&sanitize(&e, 300)), None),
            };
            failures += 1;
            let since = *first_failure.get_or_insert_with(Instant::now);
            if failures > self.policy.retries {
                return Err(ApiError::GaveUp {
                    what,
                    attempts: failures,
                    why: String::new(),
                    last: reason,
                });
            }
            let (wait, why) = match wait {
                Some(w) => (w, "as Dropbox asked"),
                None => (self.policy.backoff(failures), "backoff"),
            };
            let spent = since.elapsed().saturating_sub(slept) + waited;
            if spent + wait > self.policy.give_up_after {
                return Err(ApiError::GaveUp {
                    what,
                    attempts: failures,
                    why: format!(
                        " (the next wait, {} {why}, would pass --give-up-after {})",
                        format_duration(wait),
                        format_duration(self.policy.give_up_after)
                    ),
                    last: reason,
                });
            }
            self.stats.retries += 1;
            let _ = writeln!(
                log,
                "teamlog: {what}: {reason}; retry {failures}/{} in {} ({why})",
                self.policy.retries,
                format_duration(wait)
            );
            waited += wait;
            slept += self.pacer.scaled(wait);
            if !self.pacer.sleep(wait) {
                return Err(ApiError::Interrupted);
            }
        }
    }

    /// POSTs a form to `/oauth2/token` (with retries) and returns the 200 body, or
    /// the status and body of a refusal.
    fn token_request(
        &mut self,
        what: &'static str,
        form: &[(&str, &str)],
        log: &mut dyn Write,
        scrub: &dyn Fn(&str) -> String,
    ) -> Result<Result<TokenResponse, (u16, String)>, ApiError> {
        let mut send = |agent: &ureq::Agent, base: &str| {
            Http::read(
                agent
                    .post(format!("{base}/oauth2/token"))
                    .send_form(form.iter().copied()),
            )
        };
        let check = |b: &[u8]| {
            serde_json::from_slice::<TokenResponse>(b)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let r = self.with_retries(what, log, scrub, &mut send, &check)?;
        if r.status == 200 {
            let t: TokenResponse = serde_json::from_slice(&r.body).map_err(|e| ApiError::Http {
                what,
                status: 200,
                body: e.to_string(),
            })?;
            return Ok(Ok(t));
        }
        Ok(Err((r.status, oauth_error_detail(&r.body, scrub))))
    }

    /// Exchanges an authorization code (PKCE) for tokens.
    #[allow(clippy::too_many_arguments)] // one per form field of the OAuth request
    pub fn exchange_code(
        &mut self,
        code: &Secret,
        verifier: &Secret,
        app_key: &str,
        app_secret: Option<&Secret>,
        redirect_uri: Option<&str>,
        log: &mut dyn Write,
    ) -> Result<TokenResponse, ApiError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("client_id", app_key),
            ("code_verifier", verifier.expose()),
        ];
        if let Some(s) = app_secret {
            form.push(("client_secret", s.expose()));
        }
        if let Some(r) = redirect_uri {
            form.push(("redirect_uri", r));
        }
        let secrets = [Some(code), Some(verifier), app_secret];
        let scrub = |t: &str| redact_all(t, &secrets);
        match self.token_request("the token exchange", &form, log, &scrub)? {
            Ok(t) => Ok(t),
            Err((_, detail)) if is_invalid_client(&detail) => {
                Err(ApiError::ClientRejected { detail })
            }
            Err((status, detail)) if status == 400 || status == 401 => {
                Err(ApiError::CodeRejected { detail })
            }
            Err((status, body)) => Err(ApiError::Http {
                what: "the token exchange",
                status,
                body,
            }),
        }
    }
}

/// True when the token endpoint's error (as [`oauth_error_detail`] writes it) is
/// `invalid_client`: the client id or secret is wrong, not the code or token.
fn is_invalid_client(detail: &str) -> bool {
    detail == "invalid_client" || detail.starts_with("invalid_client:")
}

/// Replaces every secret in `text` with `***`.
fn redact_all(text: &str, secrets: &[Option<&Secret>]) -> String {
    secrets
        .iter()
        .flatten()
        .fold(text.to_owned(), |t, s| s.redact(&t))
}

/// `{"error": "invalid_grant", "error_description": ".."}` as `invalid_grant: ..`.
fn oauth_error_detail(body: &[u8], scrub: &dyn Fn(&str) -> String) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: Option<serde_json::Value>,
        error_description: Option<String>,
        error_summary: Option<String>,
    }
    let text = match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => {
            let tag = match &e.error {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v
                    .get(".tag")
                    .and_then(|t| t.as_str())
                    .unwrap_or("error")
                    .to_owned(),
                None => "error".into(),
            };
            match e.error_description.or(e.error_summary) {
                Some(d) => format!("{tag}: {d}"),
                None => tag,
            }
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    scrub(&sanitize(&text, 300))
}

/// The body's `retry_after`, top level or under `error`.
fn body_retry_after(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let n = v
        .get("error")
        .and_then(|e| e.get("retry_after"))
        .or_else(|| v.get("retry_after"))?;
    n.as_u64().map(Duration::from_secs).or_else(|| {
        n.as_f64()
            .filter(|f| *f >= 0.0)
            .map(Duration::from_secs_f64)
    })
}

/// The token endpoint's answer.
#[derive(Deserialize, Debug)]
pub struct TokenResponse {
    /// A short-lived access token.
    pub access_token: Secret,
    /// Seconds until `access_token` expires.
    pub expires_in: Option<u64>,
    /// Present after an authorization-code exchange with `token_access_type=offline`.
    pub refresh_token: Option<Secret>,
    /// Space-separated scopes granted.
    pub scope: Option<String>,
    /// Team the token is for (team apps).
    pub team_id: Option<String>,
    /// Account that authorized.
    pub account_id: Option<String>,
}

/// What the event client needs to get access tokens.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    /// The App key (OAuth client id).
    pub app_key: String,
    /// The App secret, when the app was authorized with one (not needed with PKCE).
    pub app_secret: Option<Secret>,
    /// The long-lived refresh token from `teamlog auth`.
    pub refresh_token: Secret,
}

/// The team-log client: access tokens on demand, and the two routes.
pub struct Client {
    http: Http,
    creds: ClientCredentials,
    access: Option<(Secret, Option<Instant>)>,
}

/// Refresh this long before the token's stated expiry, so a request never races it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(300);

impl Client {
    /// A client for `base` with `creds`.
    pub fn new(
        base: &str,
        creds: ClientCredentials,
        policy: RetryPolicy,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Client {
            http: Http::new(base, policy, stop),
            creds,
            access: None,
        }
    }

    /// Counts of what happened so far.
    pub fn stats(&self) -> &ApiStats {
        &self.http.stats
    }

    fn scrub_with(&self, text: &str) -> String {
        let access = self.access.as_ref().map(|a| &a.0);
        redact_all(
            text,
            &[
                Some(&self.creds.refresh_token),
                self.creds.app_secret.as_ref(),
                access,
            ],
        )
    }

    /// Gets a fresh access token with the refresh token.
    fn refresh(&mut self, log: &mut dyn Write) -> Result<(), ApiError> {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", self.creds.refresh_token.expose()),
            ("client_id", self.creds.app_key.as_str()),
        ];
        if let Some(s) = &self.creds.app_secret {
            form.push(("client_secret", s.expose()));
        }
        let secrets = [
            Some(&self.creds.refresh_token),
            self.creds.app_secret.as_ref(),
        ];
        let scrub = |t: &str| redact_all(t, &secrets);
        let t = match self
            .http
            .token_request("the access-token refresh", &form, log, &scrub)?
        {
            Ok(t) => t,
            Err((_, detail)) if is_invalid_client(&detail) => {
                return Err(ApiError::ClientRejected { detail })
            }
            Err((status, detail)) if status == 400 || status == 401 => {
                return Err(ApiError::RefreshRejected { detail })
            }
            Err((status, body)) => {
                return Err(ApiError::Http {
                    what: "the access-token refresh",
                    status,
                    body,
                })
            }
        };
        self.http.stats.token_refreshes += 1;
        let expiry = t
            .expires_in
            .map(|s| Instant::now() + Duration::from_secs(s).saturating_sub(EXPIRY_MARGIN));
        self.access = Some((t.access_token, expiry));
        Ok(())
    }

    /// Calls `route` with the JSON `body`; returns the 200 body, which `check`
    /// accepted. An expired access token is refreshed once per call.
    pub fn call(
        &mut self,
        route: &'static str,
        body: &[u8],
        log: &mut dyn Write,
        check: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Result<Vec<u8>, ApiError> {
        // One refresh-and-retry per call for an expired token; a second expiry right
        // after a refresh means something else is wrong (a clock far off, say).
        let mut retried_expired = false;
        loop {
            let stale = match &self.access {
                None => true,
                Some((_, Some(exp))) => Instant::now() >= *exp,
                Some((_, None)) => false,
            };
            if stale {
                self.refresh(log)?;
            }
            let token = self
                .access
                .as_ref()
                .map(|a| a.0.clone())
                .expect("token set above");
            let auth = format!("Bearer {}", token.expose());
            let mut send = |agent: &ureq::Agent, base: &str| {
                Http::read(
                    agent
                        .post(format!("{base}/2/{route}"))
                        .header("Authorization", auth.as_str())
                        .content_type("application/json")
                        .send(body),
                )
            };
            let secrets = [
                Some(&self.creds.refresh_token),
                self.creds.app_secret.as_ref(),
                Some(&token),
            ];
            let scrub = |t: &str| redact_all(t, &secrets);
            let r = self
                .http
                .with_retries(route, log, &scrub, &mut send, check)?;
            match r.status {
                200 => return Ok(r.body),
                401 => {
                    let e = RouteErrorBody::parse(&r.body);
                    match e.tag.as_deref() {
                        Some("expired_access_token") if !retried_expired => {
                            retried_expired = true;
                            self.access = None;
                            continue;
                        }
                        Some("missing_scope") => {
                            return Err(ApiError::MissingScope {
                                scope: e.required_scope.unwrap_or_else(|| "events.read".into()),
                            })
                        }
                        _ => {
                            return Err(ApiError::Unauthorized {
                                summary: self.scrub_with(&e.summary_or(&r.body)),
                            })
                        }
                    }
                }
                409 => {
                    let e = RouteErrorBody::parse(&r.body);
                    let tag = e.tag.clone().unwrap_or_else(|| "unknown".into());
                    if tag == "reset" {
                        if let Some(time) = e.reset.clone() {
                            return Err(ApiError::Reset {
                                time: sanitize(&time, 40),
                            });
                        }
                    }
                    return Err(ApiError::Route {
                        route,
                        advice: route_advice(&tag),
                        tag: sanitize(&tag, 60),
                        summary: self.scrub_with(&e.summary_or(&r.body)),
                    });
                }
                400 => {
                    return Err(ApiError::BadRequest {
                        what: route,
                        body: self.scrub_with(&sanitize(&String::from_utf8_lossy(&r.body), 500)),
                    })
                }
                status => {
                    return Err(ApiError::Http {
                        what: route,
                        status,
                        body: self.scrub_with(&sanitize(&String::from_utf8_lossy(&r.body), 500)),
                    })
                }
            }
        }
    }
}

/// What the user should do about a route error.
fn route_advice(tag: &str) -> &'static str {
    match tag {
        "bad_cursor" => {
            "the saved cursor is not valid any more (cursors last a few days); rerun with \
             --restart --start TIME to begin again from TIME, and --dedup-window N to skip \
             events already written"
        }
        "invalid_time_range" => {
            "check --start and --end: start must come before end, and neither may be in \
             the future"
        }
        "invalid_filters" => {
            "--category or --event-type names a tag Dropbox does not know (see \
             event_categories.tsv / event_types.tsv), or both were given"
        }
        "account_id_not_found" => "--account-id names no member of this team",
        "reset" => "the cursor was reset; run again with --restart --start TIME",
        _ => "this error is not one teamlog knows; the summary may say what to change",
    }
}

/// `{"error_summary": .., "error": {".tag": .., "reset": .., "required_scope": ..}}`.
struct RouteErrorBody {
    tag: Option<String>,
    summary: Option<String>,
    reset: Option<String>,
    required_scope: Option<String>,
}

impl RouteErrorBody {
    fn parse(body: &[u8]) -> Self {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let err = v.get("error");
        let s = |x: Option<&serde_json::Value>| x.and_then(|x| x.as_str()).map(str::to_owned);
        let tag = s(err.and_then(|e| e.get(".tag"))).or_else(|| s(err));
        // `error_summary` looks like "expired_access_token/..": its first part is the
        // tag when the error object is missing.
        let summary = s(v.get("error_summary"));
        let tag = tag.or_else(|| {
            summary
                .as_deref()
                .and_then(|x| x.split('/').next())
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
        });
        RouteErrorBody {
            tag,
            summary,
            reset: s(err.and_then(|e| e.get("reset"))),
            required_scope: s(err.and_then(|e| e.get("required_scope"))),
        }
    }

    fn summary_or(&self, body: &[u8]) -> String {
        match &self.summary {
            Some(s) => sanitize(s, 300),
            None => sanitize(&String::from_utf8_lossy(body), 300),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            retries: 10,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
            ..RetryPolicy::default()
        };
        for n in 1..=10 {
            let d = p.backoff(n);
            let exp = Duration::from_secs(1u64 << (n - 1)).min(Duration::from_secs(8));
            assert!(d >= exp / 2 && d <= exp, "retry {n}: {d:?} outside {exp:?}");
        }
    }

    #[test]
    fn retry_after_from_body() {
        let b = br#"{"error_summary":"too_many_requests/..","error":{"reason":{".tag":"too_many_requests"},"retry_after":7}}"#;
        assert_eq!(body_retry_after(b), Some(Duration::from_secs(7)));
        assert_eq!(body_retry_after(b"slow down"), None);
    }

    #[test]
    fn route_error_bodies_parse() {
        let e = RouteErrorBody::parse(
            br#"{"error_summary":"reset/..","error":{".tag":"reset","reset":"2017-01-25T15:51:30Z"}}"#,
        );
        assert_eq!(e.tag.as_deref(), Some("reset"));
        assert_eq!(e.reset.as_deref(), Some("2017-01-25T15:51:30Z"));
        let e = RouteErrorBody::parse(br#"{"error_summary":"expired_access_token/"}"#);
        assert_eq!(e.tag.as_deref(), Some("expired_access_token"));
        let e = RouteErrorBody::parse(b"not json");
        assert_eq!(e.tag, None);
    }

    #[test]
    fn loopback_bases_are_recognised() {
        assert!(is_loopback_base("http://127.0.0.1:8080"));
        assert!(is_loopback_base("http://localhost:1/x"));
        assert!(is_loopback_base("http://[::1]:9"));
        assert!(!is_loopback_base("https://api.dropboxapi.com"));
    }

    #[test]
    fn oauth_errors_are_scrubbed() {
        let secret = Secret::new("refresh-abc-123");
        let scrub = |t: &str| secret.redact(t);
        let d = oauth_error_detail(
            br#"{"error":"invalid_grant","error_description":"bad token refresh-abc-123"}"#,
            &scrub,
        );
        assert_eq!(d, "invalid_grant: bad token ***");
    }
}
