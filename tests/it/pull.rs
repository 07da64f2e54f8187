//! `teamlog auth` and `teamlog pull` against a fake Dropbox on 127.0.0.1.
//!
//! The fake implements the API as docs/pull.md describes it: the token endpoint
//! (authorization code with PKCE, refresh token), the authorize page (redirects with
//! the code), `get_events` and `continue` with a cursor that changes on every
//! response, empty pages with `has_more`, filters and time ranges, and injected
//! faults (429, 5xx, 401, 409 reset/bad_cursor, 400). Each test starts its own fake
//! on port 0; the fake's thread stops when the test drops it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use teamlog::pull::{self, EventSink, Io, Output, PullArgs, PullError, RawSink};

// ---------------------------------------------------------------- the fake Dropbox

const APP_KEY: &str = "appkey-123";
const APP_SECRET: &str = "APPSECRET-zz9q";
const SEED_REFRESH: &str = "rt-SECRET-seed-0001";
/// Every token the fake issues contains this, so one grep finds any leak.
const SECRET_MARK: &str = "SECRET";

#[derive(Clone, Debug)]
enum Fault {
    Status(u16, &'static str),
    RateLimitHeader(u64),
    RateLimitBody(u64),
    ExpireTokens,
    InvalidToken,
    Reset(String),
    BadRequestEchoingToken,
    /// HTTP 503 with a `Retry-After` header.
    Unavailable(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum On {
    Events,
    Token,
}

struct Inner {
    /// (timestamp, category, compact JSON), in time order.
    events: Vec<(String, String, String)>,
    refresh_tokens: HashSet<String>,
    access_tokens: HashMap<String, bool>, // token -> expired
    issued: u64,
    /// code -> (challenge, redirect_uri)
    codes: HashMap<String, (String, Option<String>)>,
    faults: VecDeque<(On, Fault)>,
    responses: u64,
    /// Every n-th page is an empty `has_more: true` page (0: never).
    empty_every: u64,
    pretty: bool,
    last_cursor: Option<String>,
    stale_cursor_uses: u64,
    token_requests: u64,
    event_requests: Vec<(String, Value)>,
    /// While true, event requests wait (the fake serves nothing else meanwhile).
    hold: bool,
    /// Sleep before answering each event request.
    delay: Duration,
}

struct Fake {
    base: String,
    inner: Arc<Mutex<Inner>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn event(i: usize) -> (String, String, String) {
    let ts = format!("2024-01-01T{:02}:{:02}:00Z", i / 60, i % 60);
    let (cat, ty) = if i % 2 == 0 {
        ("logins", "login_success")
    } else {
        ("sharing", "shared_content_download")
    };
    // Exact bytes matter: spacing, key order, a big integer and non-ASCII text must
    // all come out untouched.
    let text = format!(
        r#"{{"timestamp":"{ts}","event_category":{{".tag":"{cat}"}},"actor":{{".tag":"user","user":{{".tag":"team_member","account_id":"dbid:AAH{i}","display_name":"Zoë {i}","email":"user{i}@example.com"}}}},"event_type":{{".tag":"{ty}","description":"x"}},"details":{{".tag":"{ty}_details"}},"big":123456789012345678901234567890,"n":{i}, "price": 1.50}}"#
    );
    (ts, cat.to_string(), text)
}

impl Fake {
    fn new(n_events: usize) -> Fake {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind fake server");
        let port = server.server_addr().to_ip().expect("ip").port();
        let inner = Arc::new(Mutex::new(Inner {
            events: (0..n_events).map(event).collect(),
            refresh_tokens: [SEED_REFRESH.to_string()].into(),
            access_tokens: HashMap::new(),
            issued: 0,
            codes: HashMap::new(),
            faults: VecDeque::new(),
            responses: 0,
            empty_every: 0,
            pretty: false,
            last_cursor: None,
            stale_cursor_uses: 0,
            token_requests: 0,
            event_requests: Vec::new(),
            hold: false,
            delay: Duration::ZERO,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (i2, s2) = (inner.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: stops when the test drops the fake, or after 60 s at most.
            let end = Instant::now() + Duration::from_secs(60);
            while !s2.load(Ordering::Relaxed) && Instant::now() < end {
                if let Ok(Some(req)) = server.recv_timeout(Duration::from_millis(20)) {
                    handle(&i2, req);
                }
            }
        });
        Fake {
            base: format!("http://127.0.0.1:{port}"),
            inner,
            stop,
            thread: Some(thread),
        }
    }

    fn fault(&self, on: On, f: Fault) -> &Self {
        self.inner.lock().unwrap().faults.push_back((on, f));
        self
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap())
    }

    fn push_events(&self, range: std::ops::Range<usize>) {
        self.with(|i| i.events.extend(range.map(event)));
    }

    fn all_lines(&self, range: std::ops::Range<usize>) -> String {
        range.map(|i| event(i).2 + "\n").collect()
    }
}

fn respond(req: tiny_http::Request, status: u16, body: String, extra: &[(&str, String)]) {
    let mut r = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap());
    for (k, v) in extra {
        r = r.with_header(tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap());
    }
    let _ = req.respond(r);
}

fn route_error(tag: &str, extra: Value) -> String {
    let mut e = json!({ ".tag": tag });
    if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    json!({ "error_summary": format!("{tag}/..."), "error": e }).to_string()
}

fn form(body: &str) -> HashMap<String, String> {
    teamlog::pull::util::parse_query(body).into_iter().collect()
}

fn handle(inner: &Mutex<Inner>, mut req: tiny_http::Request) {
    let mut body = String::new();
    let _ = req.as_reader().read_to_string(&mut body);
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let auth = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_string());
    let mut st = inner.lock().unwrap();
    match path {
        "/oauth2/authorize" => {
            let q = form(query);
            assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
            assert_eq!(
                q.get("token_access_type").map(String::as_str),
                Some("offline")
            );
            assert_eq!(
                q.get("code_challenge_method").map(String::as_str),
                Some("S256")
            );
            assert_eq!(q.get("client_id").map(String::as_str), Some(APP_KEY));
            let code = format!("code-{}", st.codes.len() + 1);
            st.codes.insert(
                code.clone(),
                (q["code_challenge"].clone(), q.get("redirect_uri").cloned()),
            );
            drop(st);
            match q.get("redirect_uri") {
                Some(r) => {
                    let loc = format!(
                        "{r}?code={code}&state={}",
                        pull::util::url_encode(q.get("state").map(String::as_str).unwrap_or(""))
                    );
                    let resp = tiny_http::Response::from_string("")
                        .with_status_code(302)
                        .with_header(
                            tiny_http::Header::from_bytes("Location", loc.as_bytes()).unwrap(),
                        );
                    let _ = req.respond(resp);
                }
                None => respond(
                    req,
                    200,
                    format!("Enter this code into the app: {code}"),
                    &[],
                ),
            }
        }
        "/oauth2/token" => {
            st.token_requests += 1;
            if let Some(k) = st.faults.iter().position(|(on, _)| *on == On::Token) {
                let (_, f) = st.faults.remove(k).unwrap();
                drop(st);
                return serve_fault(req, f);
            }
            let f = form(&body);
            let bad = |req, d: &str| {
                respond(
                    req,
                    400,
                    json!({"error": "invalid_grant", "error_description": d}).to_string(),
                    &[],
                )
            };
            if f.get("client_id").map(String::as_str) != Some(APP_KEY) {
                return bad(req, "unknown client");
            }
            if let Some(s) = f.get("client_secret") {
                if s != APP_SECRET {
                    drop(st);
                    return respond(
                        req,
                        401,
                        json!({"error": "invalid_client"}).to_string(),
                        &[],
                    );
                }
            }
            let mut refresh = None;
            match f.get("grant_type").map(String::as_str) {
                Some("authorization_code") => {
                    let Some((challenge, redirect)) =
                        f.get("code").and_then(|c| st.codes.remove(c))
                    else {
                        return bad(req, "code doesn't exist or has expired");
                    };
                    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
                    if teamlog::pull::auth::s256(&verifier) != challenge {
                        return bad(req, "invalid code verifier");
                    }
                    if f.get("redirect_uri") != redirect.as_ref() {
                        return bad(req, "redirect_uri mismatch");
                    }
                    st.issued += 1;
                    let rt = format!("rt-{SECRET_MARK}-{}", st.issued);
                    st.refresh_tokens.insert(rt.clone());
                    refresh = Some(rt);
                }
                Some("refresh_token") => {
                    let ok = f
                        .get("refresh_token")
                        .is_some_and(|t| st.refresh_tokens.contains(t));
                    if !ok {
                        return bad(req, "refresh token is invalid or revoked");
                    }
                }
                _ => return bad(req, "unsupported grant_type"),
            }
            st.issued += 1;
            let at = format!("at-{SECRET_MARK}-{}", st.issued);
            st.access_tokens.insert(at.clone(), false);
            let mut r = json!({
                "access_token": at, "token_type": "bearer", "expires_in": 14400,
                "scope": "events.read team_data.member", "team_id": "dbtid:TEAM1",
            });
            if let Some(rt) = refresh {
                r["refresh_token"] = rt.into();
            }
            drop(st);
            respond(req, 200, r.to_string(), &[]);
        }
        "/2/team_log/get_events" | "/2/team_log/get_events/continue" => {
            let b: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            st.event_requests.push((path.to_string(), b.clone()));
            let end = Instant::now() + Duration::from_secs(20);
            while st.hold && Instant::now() < end {
                drop(st);
                std::thread::sleep(Duration::from_millis(5));
                st = inner.lock().unwrap();
            }
            if !st.delay.is_zero() {
                let d = st.delay;
                drop(st);
                std::thread::sleep(d);
                st = inner.lock().unwrap();
            }
            let token = auth
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "))
                .unwrap_or("");
            if let Some(k) = st.faults.iter().position(|(on, _)| *on == On::Events) {
                let (_, f) = st.faults.remove(k).unwrap();
                if let Fault::ExpireTokens = f {
                    for v in st.access_tokens.values_mut() {
                        *v = true;
                    }
                } else {
                    drop(st);
                    return serve_fault_with_token(req, f, token);
                }
            }
            match st.access_tokens.get(token) {
                None => {
                    drop(st);
                    return respond(
                        req,
                        401,
                        route_error("invalid_access_token", json!({})),
                        &[],
                    );
                }
                Some(true) => {
                    drop(st);
                    return respond(
                        req,
                        401,
                        route_error("expired_access_token", json!({})),
                        &[],
                    );
                }
                Some(false) => {}
            }
            let page = if path.ends_with("continue") {
                let c = b["cursor"].as_str().unwrap_or("").to_string();
                if st.last_cursor.as_deref().is_some_and(|l| l != c) {
                    st.stale_cursor_uses += 1;
                }
                match parse_cursor(&c) {
                    Some((pos, end, cat)) => page(&mut st, pos, end, cat),
                    None => {
                        drop(st);
                        return respond(req, 409, route_error("bad_cursor", json!({})), &[]);
                    }
                }
            } else {
                let start = b["time"]["start_time"].as_str();
                let end = b["time"]["end_time"].as_str();
                let pos = start.map_or(0, |s| {
                    st.events.iter().take_while(|e| e.0.as_str() < s).count()
                });
                let end = end.map(|e| st.events.iter().take_while(|x| x.0.as_str() < e).count());
                let cat = b["category"].as_str().map(str::to_string);
                let limit = b["limit"].as_u64().unwrap_or(1000) as usize;
                st.event_requests.last_mut().unwrap().1["_limit"] = limit.into();
                page(&mut st, pos, end, cat)
            };
            drop(st);
            respond(req, 200, page, &[]);
        }
        _ => {
            drop(st);
            respond(req, 404, "not found".into(), &[])
        }
    }
}

/// Cursor: `cur.<response no>.<next index>.<end index or ->.<category or ->`.
fn parse_cursor(c: &str) -> Option<(usize, Option<usize>, Option<String>)> {
    let p: Vec<&str> = c.split('.').collect();
    if p.len() != 5 || p[0] != "cur" {
        return None;
    }
    let pos = p[2].parse().ok()?;
    let end = if p[3] == "-" {
        None
    } else {
        Some(p[3].parse().ok()?)
    };
    let cat = (p[4] != "-").then(|| p[4].to_string());
    Some((pos, end, cat))
}

fn page(st: &mut Inner, mut pos: usize, end: Option<usize>, cat: Option<String>) -> String {
    st.responses += 1;
    // The limit of the query's first request applies to the whole query (as the
    // cursor carries it at Dropbox); here pages are at most 4 events.
    let limit = st
        .event_requests
        .iter()
        .rev()
        .find_map(|(_, b)| b["_limit"].as_u64())
        .unwrap_or(4)
        .min(4) as usize;
    let stop = end.unwrap_or(st.events.len()).min(st.events.len());
    let matches = |e: &(String, String, String)| cat.as_deref().is_none_or(|c| c == e.1);
    let mut evs = Vec::new();
    let empty = st.empty_every > 0 && st.responses % st.empty_every == 0;
    if !empty {
        while pos < stop && evs.len() < limit {
            if matches(&st.events[pos]) {
                evs.push(st.events[pos].2.clone());
            }
            pos += 1;
        }
    }
    let has_more = st.events[pos.min(st.events.len())..stop]
        .iter()
        .any(matches);
    let cursor = format!(
        "cur.{}.{pos}.{}.{}",
        st.responses,
        end.map_or("-".to_string(), |e| e.to_string()),
        cat.as_deref().unwrap_or("-")
    );
    st.last_cursor = Some(cursor.clone());
    let sep = if st.pretty { ",\n  " } else { "," };
    let evs: Vec<String> = if st.pretty {
        evs.iter()
            .map(|e| e.replacen('{', "{\n    ", 1).replace(",\"", ",\n    \""))
            .collect()
    } else {
        evs
    };
    format!(
        r#"{{"events":[{}],"cursor":"{cursor}","has_more":{has_more}}}"#,
        evs.join(sep)
    )
}

fn serve_fault(req: tiny_http::Request, f: Fault) {
    serve_fault_with_token(req, f, "")
}

fn serve_fault_with_token(req: tiny_http::Request, f: Fault, token: &str) {
    match f {
        Fault::Status(code, text) => respond(req, code, text.to_string(), &[]),
        Fault::RateLimitHeader(s) => respond(
            req,
            429,
            "too many requests".into(),
            &[("Retry-After", s.to_string())],
        ),
        Fault::RateLimitBody(s) => respond(
            req,
            429,
            json!({"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": s}}).to_string(),
            &[],
        ),
        Fault::InvalidToken => respond(req, 401, route_error("invalid_access_token", json!({})), &[]),
        Fault::Reset(t) => respond(req, 409, route_error("reset", json!({ "reset": t })), &[]),
        Fault::BadRequestEchoingToken => respond(
            req,
            400,
            format!("Error in call to API function: bad header, got Bearer {token}\u{1b}[31m"),
            &[],
        ),
        Fault::Unavailable(s) => respond(
            req,
            503,
            "<html>down for maintenance</html>".into(),
            &[("Retry-After", s.to_string())],
        ),
        Fault::ExpireTokens => unreachable!(),
    }
}

// ---------------------------------------------------------------- running teamlog

#[derive(Parser, Debug)]
struct PullCli {
    #[command(flatten)]
    args: PullArgs,
}

#[derive(Parser)]
struct AuthCli {
    #[command(flatten)]
    args: pull::AuthArgs,
}

fn pull_args(fake: &Fake, extra: &[&str]) -> PullArgs {
    let mut argv = vec!["pull", "--api-base", &fake.base];
    // Waits 1000x shorter, unless the test sets its own scale.
    if !extra.contains(&"--retry-wait-scale") {
        argv.extend(["--retry-wait-scale", "0.001"]);
    }
    argv.extend_from_slice(extra);
    PullCli::try_parse_from(argv).expect("flags parse").args
}

/// A Write that many threads can share and the test can read.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn env_with_token(k: &str) -> Option<String> {
    match k {
        "TEAMLOG_APP_KEY" => Some(APP_KEY.into()),
        "TEAMLOG_REFRESH_TOKEN" => Some(SEED_REFRESH.into()),
        _ => None,
    }
}

struct Run {
    result: Result<u8, PullError>,
    out: String,
    err: String,
}

fn run_with(
    fake: &Fake,
    extra: &[&str],
    sink: &mut dyn EventSink,
    env: &dyn Fn(&str) -> Option<String>,
) -> Run {
    let args = pull_args(fake, extra);
    let out = Shared::default();
    let mut err = Shared::default();
    let mut stdin = io::empty();
    let io = Io {
        env,
        stdin: &mut stdin,
        stdout: Output::stream(Box::new(out.clone())),
        stderr: &mut err,
        stop: Arc::new(AtomicBool::new(false)),
    };
    let result = pull::run_pull_with(&args, io, sink);
    Run {
        result,
        out: out.text(),
        err: err.text(),
    }
}

fn run(fake: &Fake, extra: &[&str]) -> Run {
    run_with(fake, extra, &mut RawSink, &env_with_token)
}

fn assert_no_secrets(what: &str, text: &str) {
    for s in [SECRET_MARK, APP_SECRET, SEED_REFRESH] {
        assert!(!text.contains(s), "{what} leaks a secret ({s}):\n{text}");
    }
}

fn err_text(r: &Run) -> String {
    match &r.result {
        Err(e) => e.to_string(),
        Ok(c) => panic!("expected an error, got exit {c}; stderr:\n{}", r.err),
    }
}

// ---------------------------------------------------------------- pagination

/// Pages may be empty with has_more true, and the cursor changes every time: the
/// loop must keep going and always send the latest cursor.
#[test]
fn pulls_every_page_through_empty_pages_with_the_latest_cursor() {
    let fake = Fake::new(25);
    fake.with(|i| i.empty_every = 3);
    let r = run(&fake, &["--limit", "4"]);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(0..25));
    fake.with(|i| {
        assert_eq!(i.stale_cursor_uses, 0);
        assert_eq!(i.event_requests[0].0, "/2/team_log/get_events");
        assert_eq!(i.event_requests[0].1["limit"], 4);
        assert!(
            i.event_requests.len() > 25 / 4 + 2,
            "empty pages were served"
        );
        assert_eq!(i.token_requests, 1);
    });
    assert!(r.err.contains("teamlog pull: "), "{}", r.err);
    assert!(
        r.err.contains("25 events received, 25 written"),
        "{}",
        r.err
    );
}

/// Filters and the time range go into the get_events body in the API's format.
#[test]
fn filters_and_time_range_reach_the_request() {
    let fake = Fake::new(30);
    let r = run(
        &fake,
        &[
            "--category",
            "logins",
            "--start",
            "2024-01-01T00:05:00Z",
            "--end",
            "2024-01-01T00:20:00+00:00",
        ],
    );
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    let want: String = (6..20).step_by(2).map(|i| event(i).2 + "\n").collect();
    assert_eq!(r.out, want);
    fake.with(|i| {
        let b = &i.event_requests[0].1;
        assert_eq!(b["time"]["start_time"], "2024-01-01T00:05:00Z");
        assert_eq!(b["time"]["end_time"], "2024-01-01T00:20:00Z");
        assert_eq!(b["category"], "logins");
        assert_eq!(b["limit"], 1000);
    });
}

#[test]
fn conflicting_or_out_of_range_flags_are_refused() {
    let fake = Fake::new(1);
    let mut argv = vec!["pull", "--api-base", &fake.base];
    argv.extend(["--category", "logins", "--event-type", "login_fail"]);
    assert!(PullCli::try_parse_from(&argv).is_err());
    assert!(PullCli::try_parse_from(["pull", "--limit", "1001"]).is_err());
    assert!(PullCli::try_parse_from(["pull", "--limit", "0"]).is_err());
    // Normalization flags without --normalize would be ignored: refused instead.
    for flags in [
        &["--rejects", "x"][..],
        &["--row-id", "content"],
        &["--parse-time", "2024-01-01T00:00:00Z"],
        &["--schema", "s.yml"],
    ] {
        let e = PullCli::try_parse_from([&["pull"][..], flags].concat())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--normalize"), "{flags:?}: {e}");
        assert!(
            PullCli::try_parse_from([&["pull", "--normalize"][..], flags].concat()).is_ok(),
            "{flags:?} with --normalize"
        );
    }
    assert!(
        PullCli::try_parse_from(["pull", "--dedup-window", "1000"]).is_err(),
        "unit needed"
    );
    // Without --follow, the alarm measures the silence across runs: it needs --state.
    let e = err_text(&run(&fake, &["--drop-off-alarm", "5m"]));
    assert!(e.contains("needs --state"), "{e}");
    assert!(
        PullCli::try_parse_from(["pull", "--wait"]).is_err(),
        "needs --state"
    );
    assert!(PullCli::try_parse_from(["pull", "--follow", "--end", "1d"]).is_err());
    assert!(
        PullCli::try_parse_from(["pull", "--follow", "--interval", "30"]).is_err(),
        "unit needed"
    );
    let r = run(&fake, &["--start", "2024-02-01", "--end", "2024-01-01"]);
    assert!(err_text(&r).contains("is not before --end"));
}

/// A server that pretty-prints: each event must still come out on one line.
#[test]
fn events_sent_over_several_lines_are_written_on_one() {
    let fake = Fake::new(5);
    fake.with(|i| i.pretty = true);
    let r = run(&fake, &[]);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    let want: String = (0..5)
        .map(|i| pull::output::compact_json(&event(i).2) + "\n")
        .collect();
    assert_eq!(r.out, want);
}

// ---------------------------------------------------------------- error paths

#[test]
fn expired_access_token_is_refreshed_and_the_call_retried() {
    let fake = Fake::new(10);
    fake.fault(On::Events, Fault::ExpireTokens);
    let r = run(&fake, &[]);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(0..10));
    fake.with(|i| {
        assert_eq!(
            i.token_requests, 2,
            "one refresh at start, one after expiry"
        )
    });
}

#[test]
fn invalid_access_token_is_fatal_and_says_to_run_auth() {
    let fake = Fake::new(10);
    fake.fault(On::Events, Fault::InvalidToken);
    let r = run(&fake, &[]);
    let e = err_text(&r);
    assert!(e.contains("run `teamlog auth` again"), "{e}");
    assert!(e.contains("invalid_access_token"), "{e}");
    assert_eq!(r.out, "", "nothing reaches the event stream");
}

#[test]
fn revoked_refresh_token_says_to_run_auth() {
    let fake = Fake::new(3);
    fake.with(|i| i.refresh_tokens.clear());
    let r = run(&fake, &[]);
    let e = err_text(&r);
    assert!(
        e.contains("refused to refresh") && e.contains("teamlog auth"),
        "{e}"
    );
    assert!(e.contains("invalid_grant"), "{e}");
}

/// 429: the wait comes from Retry-After, else from the body's retry_after. Waits
/// are scaled down 1000x in tests; the note shows the requested wait.
#[test]
fn rate_limits_honour_retry_after_header_and_body() {
    let fake = Fake::new(6);
    fake.fault(On::Events, Fault::RateLimitHeader(7))
        .fault(On::Events, Fault::RateLimitBody(3))
        .fault(On::Token, Fault::RateLimitHeader(2));
    let r = run(&fake, &[]);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(0..6));
    assert!(
        r.err
            .contains("HTTP 429 (rate limited); retry 1/8 in 2s (as Dropbox asked)"),
        "{}",
        r.err
    );
    assert!(
        r.err.contains("retry 1/8 in 7s (as Dropbox asked)"),
        "{}",
        r.err
    );
    assert!(
        r.err.contains("retry 2/8 in 3s (as Dropbox asked)"),
        "{}",
        r.err
    );
}

#[test]
fn server_errors_back_off_then_succeed() {
    let fake = Fake::new(6);
    fake.fault(On::Events, Fault::Status(500, "internal"))
        .fault(On::Events, Fault::Status(503, "<html>unavailable</html>"));
    let r = run(&fake, &[]);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(0..6));
    assert!(r.err.contains("HTTP 500: internal; retry 1/8"), "{}", r.err);
    assert!(r.err.contains("(backoff)"), "{}", r.err);
}

#[test]
fn persistent_server_errors_give_up_with_a_clear_message() {
    let fake = Fake::new(6);
    for _ in 0..5 {
        fake.fault(On::Events, Fault::Status(502, "bad gateway"));
    }
    let r = run(&fake, &["--retries", "2"]);
    let e = err_text(&r);
    assert!(
        e.contains("gave up on team_log/get_events after 3 attempts"),
        "{e}"
    );
    assert!(
        e.contains("HTTP 502: bad gateway") && e.contains("--retries"),
        "{e}"
    );
    assert_eq!(r.out, "");
}

#[test]
fn connection_errors_give_up_with_a_clear_message() {
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args = PullCli::try_parse_from([
        "pull",
        "--api-base",
        &format!("http://127.0.0.1:{port}"),
        "--retry-wait-scale",
        "0.001",
        "--retries",
        "1",
    ])
    .unwrap()
    .args;
    let mut err = Vec::new();
    let io = Io {
        env: &env_with_token,
        stdin: &mut io::empty(),
        stdout: Output::stream(Box::new(io::sink())),
        stderr: &mut err,
        stop: Arc::new(AtomicBool::new(false)),
    };
    let e = pull::run_pull_with(&args, io, &mut RawSink)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("gave up on the access-token refresh after 2 attempts"),
        "{e}"
    );
    assert!(e.contains("connection error"), "{e}");
}

/// 409 reset: start again with get_events from the reset time. Events since then
/// come again, unless the dedup window (on by default) skips them.
#[test]
fn reset_restarts_get_events_from_the_reset_time() {
    let fake = Fake::new(12);
    let reset_at = event(2).0;
    let r = run_reset(&fake, &reset_at, &["--dedup-window", "0"]);
    assert_eq!(r.result.as_ref().unwrap(), &0, "{}", r.err);
    let mut want = fake.all_lines(0..4);
    want += &fake.all_lines(2..12);
    assert_eq!(
        r.out, want,
        "without dedup, events after the reset time come again"
    );
    assert!(
        r.err
            .contains("Dropbox reset the cursor; starting again from 2024-01-01T00:02:00Z"),
        "{}",
        r.err
    );
    let fake = Fake::new(12);
    let r = run_reset(&fake, &reset_at, &[]);
    assert_eq!(
        r.out,
        fake.all_lines(0..12),
        "with the default flags, each event once"
    );
    assert!(r.err.contains("2 duplicates skipped"), "{}", r.err);
    fake.with(|i| {
        let starts: Vec<_> = i
            .event_requests
            .iter()
            .filter(|r| r.0.ends_with("get_events"))
            .collect();
        assert_eq!(starts.len(), 2);
        assert_eq!(starts[1].1["time"]["start_time"], reset_at.as_str());
    });
}

/// Runs a pull whose first `continue` is answered with a reset.
fn run_reset(fake: &Fake, reset_at: &str, extra: &[&str]) -> Run {
    run_fault_after_first_page(fake, Fault::Reset(reset_at.to_string()), extra)
}

/// Runs a pull whose request after the first page is answered with `fault`.
fn run_fault_after_first_page(fake: &Fake, fault: Fault, extra: &[&str]) -> Run {
    struct FaultAfterFirstPage {
        inner: Arc<Mutex<Inner>>,
        fault: Option<Fault>,
    }
    impl EventSink for FaultAfterFirstPage {
        fn write_page(
            &mut self,
            events: &[&RawValue],
            out: &mut dyn Write,
        ) -> io::Result<pull::output::Written> {
            if let Some(f) = self.fault.take() {
                self.inner.lock().unwrap().faults.push_back((On::Events, f));
            }
            RawSink.write_page(events, out)
        }
    }
    let mut sink = FaultAfterFirstPage {
        inner: fake.inner.clone(),
        fault: Some(fault),
    };
    run_with(fake, extra, &mut sink, &env_with_token)
}

/// A state from an older teamlog whose cursor Dropbox no longer knows: the query
/// starts again by itself (from its start: that state has no event time).
#[test]
fn bad_cursor_in_an_old_state_starts_the_query_again() {
    let fake = Fake::new(8);
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("state.json");
    std::fs::write(
        &st,
        r#"{"version":1,"cursor":"expired-cursor","filters":{}}"#,
    )
    .unwrap();
    let sp = st.to_str().unwrap();
    let flags = ["--state", sp, "--start", "2024-01-01"];
    let r = run(&fake, &flags);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert!(
        r.err.contains(
            "no longer knows the saved cursor (bad_cursor); starting the query again from \
             2024-01-01T00:00:00Z"
        ),
        "{}",
        r.err
    );
    assert_eq!(r.out, fake.all_lines(0..8));
    // The old state had no time range; it took this run's, so the same flags go on.
    let r = run(&fake, &flags);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, "");
}

#[test]
fn other_route_errors_and_bad_requests_are_reported() {
    let fake = Fake::new(3);
    fake.fault(
        On::Events,
        Fault::Status(
            409,
            r#"{"error_summary":"invalid_filters/..","error":{".tag":"invalid_filters"}}"#,
        ),
    );
    let e = err_text(&run(&fake, &["--event-type", "nonsense"]));
    assert!(
        e.contains("invalid_filters") && e.contains("--event-type"),
        "{e}"
    );
    let fake = Fake::new(3);
    fake.fault(On::Events, Fault::BadRequestEchoingToken);
    let r = run(&fake, &[]);
    let e = err_text(&r);
    assert!(e.contains("HTTP 400") && e.contains("bad header"), "{e}");
    assert!(
        e.contains("\\u{1b}[31m"),
        "control characters are escaped: {e}"
    );
    assert_no_secrets("a 400 that echoes the token", &e);
}

#[test]
fn missing_credentials_say_to_run_auth() {
    let fake = Fake::new(1);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap().to_string();
    let env = move |k: &str| (k == "HOME").then(|| home.clone());
    let r = run_with(&fake, &[], &mut RawSink, &env);
    let e = err_text(&r);
    assert!(
        e.contains("run `teamlog auth` first") && e.contains(".config/teamlog/credentials.json"),
        "{e}"
    );
}

#[test]
fn a_state_cursor_is_not_reused_with_other_filters() {
    let fake = Fake::new(6);
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("s.json");
    let sp = st.to_str().unwrap();
    assert_eq!(
        run(&fake, &["--state", sp, "--category", "logins"])
            .result
            .unwrap(),
        0
    );
    let e = err_text(&run(&fake, &["--state", sp, "--category", "sharing"]));
    assert!(
        e.contains("other filters (--category logins)") && e.contains("--restart"),
        "{e}"
    );
}

/// A closed stdout (`teamlog pull | head`) ends the run quietly with status 0.
#[test]
fn a_closed_output_ends_quietly() {
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let fake = Fake::new(6);
    let args = pull_args(&fake, &[]);
    let mut err = Vec::new();
    let io = Io {
        env: &env_with_token,
        stdin: &mut io::empty(),
        stdout: Output::stream(Box::new(Closed)),
        stderr: &mut err,
        stop: Arc::new(AtomicBool::new(false)),
    };
    assert_eq!(pull::run_pull_with(&args, io, &mut RawSink).unwrap(), 0);
    assert!(String::from_utf8_lossy(&err).contains("(closed output)"));
}

// ---------------------------------------------------------------- kill and resume

/// Writes `pages_ok` pages, then writes (all or half of) the next page, flushes it to
/// the output and fails: a crash after the write and before the cursor is saved.
struct CrashSink {
    pages_ok: usize,
    half: bool,
}

impl EventSink for CrashSink {
    fn write_page(
        &mut self,
        events: &[&RawValue],
        out: &mut dyn Write,
    ) -> io::Result<pull::output::Written> {
        if self.pages_ok == 0 {
            let mut page = Vec::new();
            RawSink.write_page(events, &mut page)?;
            let n = if self.half {
                page.len() / 2
            } else {
                page.len()
            };
            out.write_all(&page[..n])?;
            out.flush()?;
            return Err(io::Error::other("simulated crash"));
        }
        self.pages_ok -= 1;
        RawSink.write_page(events, out)
    }
}

fn resume_case(extra: &[&str], half: bool) {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(22);
    fake.with(|i| i.empty_every = 4);
    let full = dir.path().join("full.ndjson");
    let r = run(
        &fake,
        &[&["-o", full.to_str().unwrap()][..], extra].concat(),
    );
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    let want = std::fs::read_to_string(&full).unwrap();
    assert_eq!(want, fake.all_lines(0..22));

    for crash_after in [0, 1, 3] {
        let out = dir.path().join(format!("out-{crash_after}-{half}.ndjson"));
        let st = dir.path().join(format!("state-{crash_after}-{half}.json"));
        let flags = [
            &["-o", out.to_str().unwrap(), "--state", st.to_str().unwrap()][..],
            extra,
        ]
        .concat();
        let mut sink = CrashSink {
            pages_ok: crash_after,
            half,
        };
        let r = run_with(&fake, &flags, &mut sink, &env_with_token);
        assert!(err_text(&r).contains("simulated crash"));
        let r = run(&fake, &flags);
        assert_eq!(r.result.unwrap(), 0, "{}", r.err);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            want,
            "crash after {crash_after} pages (half page: {half}), flags {extra:?}"
        );
        assert!(
            r.err.contains("were written after the last checkpoint"),
            "{}",
            r.err
        );
        // A third run finds nothing new and changes nothing.
        let r = run(&fake, &flags);
        assert_eq!(r.result.unwrap(), 0, "{}", r.err);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
    }
}

#[test]
fn kill_and_resume_to_a_file_is_byte_identical_with_dedup() {
    resume_case(&[], false);
    resume_case(&[], true);
}

#[test]
fn kill_and_resume_to_a_file_is_byte_identical_without_dedup() {
    resume_case(&["--dedup-window", "0"], false);
    resume_case(&["--dedup-window", "0"], true);
}

/// To a pipe nothing can be taken back: without dedup the page written before the
/// crash comes again (at least once, never lost).
#[test]
fn kill_and_resume_to_a_stream_delivers_every_event_at_least_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(22);
    let st = dir.path().join("state.json");
    let flags = ["--state", st.to_str().unwrap()];
    let r1 = run_with(
        &fake,
        &flags,
        &mut CrashSink {
            pages_ok: 2,
            half: false,
        },
        &env_with_token,
    );
    assert!(err_text(&r1).contains("simulated crash"));
    let r2 = run(&fake, &flags);
    assert_eq!(r2.result.unwrap(), 0, "{}", r2.err);
    let all = r1.out.clone() + &r2.out;
    for line in fake.all_lines(0..22).lines() {
        assert!(all.lines().any(|l| l == line), "missing {line}");
    }
    assert_eq!(all.lines().count(), 22 + 4, "the crashed page came twice");
}

// ---------------------------------------------------------------- follow and alarm

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn follow_polls_the_last_cursor_and_the_alarm_fires_once_per_silence() {
    let fake = Fake::new(3);
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("state.json");
    let alarms = dir.path().join("alarms.txt");
    let cmd = format!(
        "echo \"$TEAMLOG_ALARM|$TEAMLOG_ALARM_THRESHOLD_SECONDS|$TEAMLOG_ALARM_MESSAGE\" >> {}; echo command-stdout",
        alarms.display()
    );
    let args = pull_args(
        &fake,
        &[
            "--follow",
            "--interval",
            "50ms",
            "--drop-off-alarm",
            "400ms",
            "--alarm-command",
            &cmd,
            "--state",
            st.to_str().unwrap(),
        ],
    );
    let out = Shared::default();
    let err = Shared::default();
    let stop = Arc::new(AtomicBool::new(false));
    let t = {
        let (out, mut err, stop) = (out.clone(), err.clone(), stop.clone());
        std::thread::spawn(move || {
            let io = Io {
                env: &env_with_token,
                stdin: &mut io::empty(),
                stdout: Output::stream(Box::new(out)),
                stderr: &mut err,
                stop,
            };
            pull::run_pull_with(&args, io, &mut RawSink)
        })
    };
    let started = Instant::now();
    wait_for("the first events", Duration::from_secs(5), || {
        out.text().lines().count() == 3
    });
    wait_for("the alarm", Duration::from_secs(5), || {
        err.text().contains("ALARM")
    });
    assert!(started.elapsed() >= Duration::from_millis(400));
    std::thread::sleep(Duration::from_millis(600)); // well past a second threshold
    assert_eq!(
        err.text().matches("ALARM").count(),
        1,
        "once per silence:\n{}",
        err.text()
    );
    fake.push_events(3..5);
    wait_for("recovery", Duration::from_secs(5), || {
        err.text().contains("RECOVERED")
    });
    wait_for("the new events", Duration::from_secs(5), || {
        out.text().lines().count() == 5
    });
    wait_for("the alarm command", Duration::from_secs(5), || {
        std::fs::read_to_string(&alarms).is_ok_and(|t| t.lines().count() == 2)
    });
    stop.store(true, Ordering::Relaxed);
    let code = t.join().unwrap().unwrap();
    assert_eq!(code, 0);
    assert_eq!(out.text(), fake.all_lines(0..5));
    assert!(
        !out.text().contains("command-stdout"),
        "the command's output stays out of the stream"
    );
    let e = err.text();
    assert!(
        e.contains("teamlog: ALARM: no new Dropbox events for"),
        "{e}"
    );
    assert!(e.contains("--drop-off-alarm 400ms"), "{e}");
    assert!(e.contains("RECOVERED: Dropbox events resumed after"), "{e}");
    assert!(e.contains("(stopped)"), "{e}");
    let calls = std::fs::read_to_string(&alarms).unwrap();
    let kinds: Vec<_> = calls
        .lines()
        .map(|l| l.split('|').next().unwrap())
        .collect();
    assert_eq!(kinds, ["drop-off", "recovered"]);
    assert!(calls.contains("no new Dropbox events"), "{calls}");
    fake.with(|i| {
        assert_eq!(i.stale_cursor_uses, 0, "every poll uses the latest cursor");
        assert!(i.event_requests.len() > 10, "it kept polling");
    });
}

// ---------------------------------------------------------------- auth

/// A stdin whose line arrives when the test sends it.
struct ChanStdin {
    rx: mpsc::Receiver<String>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChanStdin {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChanStdin {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.buf.len() {
            self.buf = self
                .rx
                .recv_timeout(Duration::from_secs(10))
                .map(String::into_bytes)
                .unwrap_or_default();
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..])
    }
    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

fn spawn_auth(
    fake: &Fake,
    extra: &[&str],
    env: fn(&str) -> Option<String>,
) -> (
    JoinHandle<Result<pull::Credentials, PullError>>,
    Shared,
    mpsc::Sender<String>,
) {
    let mut argv = vec![
        "auth",
        "--api-base",
        &fake.base,
        "--authorize-base",
        &fake.base,
    ];
    argv.extend_from_slice(extra);
    let args = AuthCli::try_parse_from(argv).unwrap().args;
    let err = Shared::default();
    let (tx, rx) = mpsc::channel();
    let t = {
        let mut err = err.clone();
        std::thread::spawn(move || {
            let mut stdin = ChanStdin {
                rx,
                buf: Vec::new(),
                pos: 0,
            };
            let io = Io {
                env: &env,
                stdin: &mut stdin,
                stdout: Output::stream(Box::new(io::sink())),
                stderr: &mut err,
                stop: Arc::new(AtomicBool::new(false)),
            };
            pull::run_auth_with(&args, io)
        })
    };
    (t, err, tx)
}

/// An HTTP client that acts as the user's browser (non-2xx is not an error).
fn browser() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Opens the authorize URL as the user would and reads the code the fake
/// shows when there is no redirect URI (the page's last word).
fn code_shown_at(url: &str) -> String {
    let page = browser()
        .get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    page.rsplit(' ').next().unwrap().to_string()
}

fn printed_url(err: &Shared) -> String {
    wait_for("the authorize URL", Duration::from_secs(5), || {
        err.text().contains("/oauth2/authorize?")
    });
    let text = err.text();
    text.lines()
        .map(str::trim)
        .find(|l| l.contains("/oauth2/authorize?"))
        .unwrap()
        .to_string()
}

#[test]
fn auth_catches_the_loopback_redirect_and_stores_private_credentials() {
    let fake = Fake::new(4);
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("conf/credentials.json");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    fn env(k: &str) -> Option<String> {
        match k {
            "TEAMLOG_APP_KEY" => Some(APP_KEY.into()),
            "TEAMLOG_APP_SECRET" => Some(APP_SECRET.into()),
            _ => None,
        }
    }
    let (t, err, _tx) = spawn_auth(
        &fake,
        &[
            "--redirect-uri",
            &redirect,
            "--credentials",
            creds.to_str().unwrap(),
            "--timeout",
            "20s",
        ],
        env,
    );
    let url = printed_url(&err);
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("token_access_type=offline")
    );
    assert!(!url.contains(APP_SECRET));
    wait_for("the listener", Duration::from_secs(5), || {
        err.text().contains("waiting for the redirect")
    });
    // A stray request (favicon) is answered 404 and does not end the wait.
    let agent = browser();
    let stray = agent
        .get(format!("http://127.0.0.1:{port}/favicon.ico"))
        .call()
        .unwrap();
    assert_eq!(stray.status().as_u16(), 404);
    // The "browser": the fake's authorize page redirects to the loopback listener.
    let mut page = agent.get(&url).call().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("You can close this tab"));
    let saved = t.join().unwrap().expect("auth succeeds");
    assert_eq!(saved.team_id.as_deref(), Some("dbtid:TEAM1"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    assert_eq!(file["app_key"], APP_KEY);
    assert_eq!(file["app_secret"], APP_SECRET);
    assert!(file["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("rt-SECRET-"));
    let e = err.text();
    assert!(
        e.contains("credentials saved to") && e.contains("for team dbtid:TEAM1"),
        "{e}"
    );
    assert_no_secrets("auth's stderr", &e);
    assert_no_secrets("Debug of the credentials", &format!("{saved:?}"));

    // pull reads that file (no token in the environment).
    let cp = creds.to_str().unwrap().to_string();
    let r = run_with(&fake, &["--credentials", &cp], &mut RawSink, &|_| None);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(0..4));
}

#[test]
fn auth_takes_a_pasted_code_and_refuses_a_used_one() {
    let fake = Fake::new(1);
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.json");
    fn env(k: &str) -> Option<String> {
        (k == "TEAMLOG_APP_KEY").then(|| APP_KEY.into())
    }
    let (t, err, tx) = spawn_auth(&fake, &["--credentials", creds.to_str().unwrap()], env);
    let url = printed_url(&err);
    assert!(!url.contains("redirect_uri") && !url.contains("state="));
    let code = code_shown_at(&url);
    wait_for("the prompt", Duration::from_secs(5), || {
        err.text().contains("paste the code")
    });
    tx.send(format!("{code}\n")).unwrap();
    let saved = t.join().unwrap().expect("auth succeeds");
    assert!(saved.app_secret.is_none(), "PKCE needs no secret");
    assert!(creds.exists());

    // The same code again: refused, with advice.
    let (t, err, tx) = spawn_auth(&fake, &["--credentials", creds.to_str().unwrap()], env);
    printed_url(&err);
    tx.send(format!("{code}\n")).unwrap();
    let e = t.join().unwrap().unwrap_err().to_string();
    assert!(
        e.contains("refused the authorization code") && e.contains("run `teamlog auth` again"),
        "{e}"
    );
}

// ---------------------------------------------------------------- secrets

/// Tokens and the app secret never appear in stderr, errors, --stats or Debug output,
/// whatever path a run takes.
#[test]
fn secrets_never_appear_in_anything_printed() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let sp = stats.to_str().unwrap();
    fn env(k: &str) -> Option<String> {
        match k {
            "TEAMLOG_APP_KEY" => Some(APP_KEY.into()),
            "TEAMLOG_APP_SECRET" => Some(APP_SECRET.into()),
            "TEAMLOG_REFRESH_TOKEN" => Some(SEED_REFRESH.into()),
            _ => None,
        }
    }
    let mut printed = String::new();
    let scenarios: Vec<(Vec<Fault>, On)> = vec![
        (
            vec![Fault::ExpireTokens, Fault::Status(500, "oops")],
            On::Events,
        ),
        (vec![Fault::InvalidToken], On::Events),
        (vec![Fault::BadRequestEchoingToken], On::Events),
        (vec![Fault::RateLimitBody(1)], On::Token),
        (
            vec![Fault::Status(
                400,
                r#"{"error":"invalid_grant","error_description":"token rt-SECRET-seed-0001 revoked"}"#,
            )],
            On::Token,
        ),
    ];
    for (faults, on) in scenarios {
        let fake = Fake::new(5);
        for f in faults {
            fake.fault(on, f);
        }
        let args = pull_args(&fake, &["--stats", sp]);
        printed += &format!("{args:?}");
        let r = run_with(&fake, &["--stats", sp], &mut RawSink, &env);
        printed += &r.err;
        match &r.result {
            Ok(_) => printed += &std::fs::read_to_string(&stats).unwrap(),
            Err(e) => printed += &format!("{e}\n{e:?}"),
        }
        let mut log = Vec::new();
        let cfg =
            pull::PullConfig::from_args(&args, &env, Arc::new(AtomicBool::new(false)), &mut log)
                .unwrap();
        printed += &format!("{cfg:?}");
    }
    let auth = AuthCli::try_parse_from(["auth", "--app-secret", APP_SECRET]).unwrap();
    printed += &format!("{:?}", auth.args);
    assert!(printed.contains("\"requests\""), "stats were written");
    assert_no_secrets("everything printed", &printed);
}

#[test]
fn stats_file_has_the_counts() {
    let fake = Fake::new(9);
    fake.fault(On::Events, Fault::Status(500, "x"));
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let r = run(&fake, &["--stats", stats.to_str().unwrap(), "-q"]);
    assert_eq!(r.result.unwrap(), 0);
    assert_eq!(
        r.err, "",
        "-q: the retry note is a note; nothing else was printed"
    );
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["events_written"], 9);
    assert_eq!(s["retries"], 1);
    assert_eq!(s["ended"], "done");
}

/// The state file is JSON a person can read, and the credentials directory is private.
#[test]
fn state_file_records_cursor_and_output_length() {
    let fake = Fake::new(5);
    let dir = tempfile::tempdir().unwrap();
    let (st, out) = (dir.path().join("s.json"), dir.path().join("o.ndjson"));
    let r = run(
        &fake,
        &[
            "--state",
            st.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--dedup-window",
            "2m",
            "--start",
            "2024-01-01",
        ],
    );
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&st).unwrap()).unwrap();
    assert!(s["cursor"].as_str().unwrap().starts_with("cur."));
    assert_eq!(s["output"]["len"], std::fs::metadata(&out).unwrap().len());
    assert_eq!(
        s["dedup_events"].as_str().unwrap().len(),
        48,
        "the events of the last 2 minutes of event time (3), 12 bytes each, base64"
    );
    assert_eq!(s["last_event_time"], "2024-01-01T00:04:00Z");
    assert_eq!(s["query"]["start"]["given"], "2024-01-01");
    assert_eq!(s["query"]["start"]["sent"], "2024-01-01T00:00:00Z");
    assert_eq!(s["version"], 2);
    let _ = Path::new(&st);
}

// ---------------------------------------------------------------- normalize

/// `--normalize` runs the filter's engine in-process: its output is byte for
/// byte what `teamlog pull | teamlog` gives with the same flags.
#[test]
fn normalize_in_process_equals_the_filter_on_raw_output() {
    let fake = Fake::new(30);
    let raw = run(&fake, &["--limit", "7"]);
    assert_eq!(raw.result.unwrap(), 0, "{}", raw.err);
    let flags = [
        "--row-id",
        "content",
        "--parse-time",
        "2024-01-01T00:00:00Z",
    ];
    let mut extra = vec!["--limit", "7", "--normalize"];
    extra.extend_from_slice(&flags);
    let args = pull_args(&fake, &extra);
    let mut sink = pull::normalize::NormalizeSink::new(&args.norm, true).unwrap();
    let fake2 = Fake::new(30);
    let norm = run_with(&fake2, &extra, &mut sink, &env_with_token);
    assert_eq!(norm.result.unwrap(), 0, "{}", norm.err);
    let filtered = crate::common::run(&flags, raw.out.as_bytes());
    assert_eq!(crate::common::code(&filtered), 0);
    assert_eq!(norm.out, crate::common::stdout(&filtered));
    assert_eq!(norm.out.lines().count(), 30);
    assert!(norm.out.contains(r#""p_log_type":"Dropbox.TeamEvent""#));
}

// ---------------------------------------------------------------- under cron and systemd

/// The real binary against the fake, with a token in the environment.
fn pull_bin(fake: &Fake, extra: &[&str]) -> std::process::Command {
    let mut c = crate::common::bin();
    c.args([
        "pull",
        "--api-base",
        &fake.base,
        "--retry-wait-scale",
        "0.001",
    ])
    .args(extra)
    .env("TEAMLOG_APP_KEY", APP_KEY)
    .env("TEAMLOG_REFRESH_TOKEN", SEED_REFRESH)
    .env_remove("TEAMLOG_APP_SECRET")
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    c
}

/// Reads a child's stderr into a buffer the test can watch.
fn capture_stderr(child: &mut std::process::Child) -> (Shared, JoinHandle<()>) {
    let buf = Shared::default();
    let mut pipe = child.stderr.take().unwrap();
    let mut w = buf.clone();
    let t = std::thread::spawn(move || {
        let _ = io::copy(&mut pipe, &mut w);
    });
    (buf, t)
}

/// Two collectors on one state: the second exits 2 at once naming the first, and
/// makes no request; with --wait it runs after the first. The output is exact.
#[test]
fn a_second_run_on_the_same_state_refuses_or_waits_and_the_output_is_exact() {
    let fake = Fake::new(40);
    let dir = tempfile::tempdir().unwrap();
    let (st, out) = (dir.path().join("s.json"), dir.path().join("o.ndjson"));
    let flags = [
        "--state",
        st.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--limit",
        "4",
    ];
    fake.with(|i| i.hold = true);
    let first = pull_bin(&fake, &flags).spawn().unwrap();
    wait_for("the first run's request", Duration::from_secs(10), || {
        fake.with(|i| !i.event_requests.is_empty())
    });
    let seen = fake.with(|i| (i.token_requests, i.event_requests.len()));

    let second = pull_bin(&fake, &flags).output().unwrap();
    let e = crate::common::stderr(&second);
    assert_eq!(crate::common::code(&second), 2, "{e}");
    assert!(
        e.contains(&format!(
            "another teamlog pull (pid {}, started ",
            first.id()
        )),
        "{e}"
    );
    assert!(e.contains("--wait"), "{e}");
    assert_eq!(
        fake.with(|i| (i.token_requests, i.event_requests.len())),
        seen,
        "the refused run sent nothing"
    );

    let mut waiter = pull_bin(&fake, &[&flags[..], &["--wait"]].concat())
        .spawn()
        .unwrap();
    let (werr, wt) = capture_stderr(&mut waiter);
    wait_for("the waiting note", Duration::from_secs(10), || {
        werr.text()
            .contains("waiting for the other teamlog pull (pid ")
    });
    fake.with(|i| i.hold = false);
    let f = first.wait_with_output().unwrap();
    assert_eq!(f.status.code(), Some(0), "{}", crate::common::stderr(&f));
    let w = waiter.wait().unwrap();
    wt.join().unwrap();
    assert_eq!(w.code(), Some(0), "{}", werr.text());
    assert!(werr.text().contains("0 events received"), "{}", werr.text());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        fake.all_lines(0..40)
    );
}

/// An event the normalizer rejects: its timestamp is not a date.
fn bad_event(i: usize) -> (String, String, String) {
    let (ts, cat, text) = event(i);
    let bad = text.replacen(&ts, "2024-13-45T00:00:00Z", 1);
    (ts, cat, bad)
}

/// The event numbers (`user{n}@example.com`) of the lines of `text`, one per line.
fn numbers(text: &str) -> Vec<usize> {
    text.lines()
        .map(|l| {
            let at = l.find("@example.com").expect("an event line");
            let start = l[..at].rfind("user").expect("user") + 4;
            l[start..at].parse().expect("a number")
        })
        .collect()
}

/// Killed at arbitrary points (SIGKILL, no chance to clean up), then rerun: every
/// event is in the output or the rejects, exactly once.
#[test]
fn killed_at_random_points_with_rejects_every_event_is_kept_exactly_once() {
    let n = 48;
    let bad = |i: usize| i % 5 == 2;
    let fake = Fake::new(0);
    fake.with(|f| {
        f.events = (0..n)
            .map(|i| if bad(i) { bad_event(i) } else { event(i) })
            .collect();
        f.delay = Duration::from_millis(4);
        f.empty_every = 5;
    });
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..6 {
        let dir = tempfile::tempdir().unwrap();
        let (st, out, rej) = (
            dir.path().join("s.json"),
            dir.path().join("o.ndjson"),
            dir.path().join("rejects.ndjson"),
        );
        let flags = [
            "--state",
            st.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--normalize",
            "--rejects",
            rej.to_str().unwrap(),
            "--row-id",
            "content",
            "--parse-time",
            "2024-01-01T00:00:00Z",
            "--limit",
            "4",
            "-q",
        ];
        for _ in 0..3 {
            // Killed after a random number of requests, at whatever point of the
            // page it then is (writing events, rejects, or the checkpoint).
            let base = fake.with(|i| i.event_requests.len());
            let k = 1 + (next() % 8) as usize;
            let mut c = pull_bin(&fake, &flags).spawn().unwrap();
            wait_for("the kill point", Duration::from_secs(20), || {
                fake.with(|i| i.event_requests.len()) >= base + k || c.try_wait().unwrap().is_some()
            });
            std::thread::sleep(Duration::from_micros(next() % 4000));
            let _ = c.kill();
            let _ = c.wait();
        }
        let last = pull_bin(&fake, &flags).output().unwrap();
        assert!(
            matches!(crate::common::code(&last), 0 | 1),
            "round {round}: status 1 when this run rejected some: {}",
            crate::common::stderr(&last)
        );
        let written = numbers(&std::fs::read_to_string(&out).unwrap());
        let rejected = numbers(&std::fs::read_to_string(&rej).unwrap());
        let want_ok: Vec<usize> = (0..n).filter(|i| !bad(*i)).collect();
        let want_bad: Vec<usize> = (0..n).filter(|i| bad(*i)).collect();
        assert_eq!(written, want_ok, "round {round}: the output");
        assert_eq!(rejected, want_bad, "round {round}: the rejects");
    }
}

/// The normalizing pull's summary counts what was written and what was rejected,
/// and --rejects is appended to, never truncated.
#[test]
fn normalize_counts_rejects_and_appends_them() {
    let fake = Fake::new(0);
    fake.with(|f| {
        f.events = (0..26)
            .map(|i| if i == 7 { bad_event(i) } else { event(i) })
            .collect()
    });
    let dir = tempfile::tempdir().unwrap();
    let rej = dir.path().join("rejects.ndjson");
    let flags = ["--normalize", "--rejects", rej.to_str().unwrap()];
    for runs in 1..=2 {
        let mut sink =
            pull::normalize::NormalizeSink::new(&pull_args(&fake, &flags).norm, true).unwrap();
        let r = run_with(&fake, &flags, &mut sink, &env_with_token);
        assert_eq!(r.result.unwrap(), 1, "{}", r.err);
        assert!(
            r.err
                .contains("26 events received, 25 written, 1 rejected (recorded in --rejects)"),
            "{}",
            r.err
        );
        assert_eq!(r.out.lines().count(), 25);
        assert_eq!(
            numbers(&std::fs::read_to_string(&rej).unwrap()),
            vec![7; runs],
            "one record per run, appended"
        );
    }
}

/// A crash loop under `Restart=on-failure` with the app's access revoked: one
/// alarm (of the access kind) across all the runs, the alarm command runs once,
/// and once access and events are back, one recovery.
#[test]
fn a_crash_loop_with_refused_access_raises_one_alarm_and_runs_the_command() {
    let fake = Fake::new(6);
    let dir = tempfile::tempdir().unwrap();
    let (st, out) = (dir.path().join("s.json"), dir.path().join("o.ndjson"));
    let alarms = dir.path().join("alarms.txt");
    let cmd = format!("echo \"$TEAMLOG_ALARM\" >> {}", alarms.display());
    let flags = [
        "--state",
        st.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--drop-off-alarm",
        "1h",
        "--alarm-command",
        &cmd,
    ];
    let ok = pull_bin(&fake, &flags).output().unwrap();
    assert_eq!(
        crate::common::code(&ok),
        0,
        "{}",
        crate::common::stderr(&ok)
    );

    fake.with(|i| i.refresh_tokens.clear());
    let mut alarm_lines = 0;
    for run in 0..6 {
        if run == 3 {
            // Silent for longer than the threshold by now: still the same incident.
            let mut s: Value =
                serde_json::from_str(&std::fs::read_to_string(&st).unwrap()).unwrap();
            s["last_event_at"] = "2020-01-01T00:00:00.000Z".into();
            std::fs::write(&st, s.to_string()).unwrap();
        }
        let o = pull_bin(&fake, &flags).output().unwrap();
        let e = crate::common::stderr(&o);
        assert_eq!(crate::common::code(&o), 2, "{e}");
        assert!(e.contains("refused to refresh"), "{e}");
        alarm_lines += e.matches("ALARM").count();
        if run == 0 {
            assert!(e.contains("teamlog: ALARM: access-revoked"), "{e}");
        }
    }
    assert_eq!(alarm_lines, 1, "one alarm across the crash loop");
    assert_eq!(
        std::fs::read_to_string(&alarms).unwrap(),
        "access-revoked\n",
        "the command ran once, with the kind"
    );

    fake.with(|i| i.refresh_tokens.insert(SEED_REFRESH.to_string()));
    fake.push_events(6..8);
    let o = pull_bin(&fake, &flags).output().unwrap();
    let e = crate::common::stderr(&o);
    assert_eq!(crate::common::code(&o), 0, "{e}");
    assert!(e.contains("RECOVERED: Dropbox events resumed"), "{e}");
    assert_eq!(
        std::fs::read_to_string(&alarms).unwrap(),
        "access-revoked\nrecovered\n"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), fake.all_lines(0..8));
}

/// Cron runs that fail before any event (Dropbox down), past the threshold: the
/// drop-off alarm is raised by the first run that sees the silence, once.
#[test]
fn failing_cron_runs_past_the_threshold_raise_one_drop_off_alarm() {
    let fake = Fake::new(3);
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("s.json");
    let alarms = dir.path().join("alarms.txt");
    let cmd = format!(
        "echo \"$TEAMLOG_ALARM $TEAMLOG_ALARM_THRESHOLD_SECONDS\" >> {}",
        alarms.display()
    );
    let flags = [
        "--state",
        st.to_str().unwrap(),
        "--drop-off-alarm",
        "30m",
        "--alarm-command",
        &cmd,
        "--retries",
        "0",
    ];
    assert_eq!(
        pull_bin(&fake, &flags).output().unwrap().status.code(),
        Some(0)
    );
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&st).unwrap()).unwrap();
    s["last_event_at"] = "2020-01-01T00:00:00.000Z".into();
    std::fs::write(&st, s.to_string()).unwrap();
    let mut text = String::new();
    for _ in 0..4 {
        fake.fault(On::Events, Fault::Status(500, "down"));
        let o = pull_bin(&fake, &flags).output().unwrap();
        assert_eq!(crate::common::code(&o), 2);
        text += &crate::common::stderr(&o);
    }
    assert_eq!(text.matches("ALARM").count(), 1, "{text}");
    assert!(
        text.contains("ALARM: no new Dropbox events for") && text.contains("--drop-off-alarm 30m"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&alarms).unwrap(), "drop-off 1800\n");
}

/// The alarm is watched while a run waits out a retry: it is raised during the
/// wait, and recovers when the next page brings events.
#[test]
fn the_alarm_is_checked_while_waiting_out_a_retry() {
    let fake = Fake::new(8);
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("s.json");
    let r = run_fault_after_first_page(
        &fake,
        Fault::RateLimitHeader(2),
        &[
            "--state",
            st.to_str().unwrap(),
            "--limit",
            "4",
            "--drop-off-alarm",
            "300ms",
            "--retry-wait-scale",
            "1",
        ],
    );
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(0..8));
    let at = |what: &str| {
        r.err
            .find(what)
            .unwrap_or_else(|| panic!("no {what:?} in:\n{}", r.err))
    };
    assert!(at("retry 1/8 in 2s") < at("teamlog: ALARM: no new Dropbox events"));
    assert!(at("teamlog: ALARM") < at("RECOVERED"), "{}", r.err);
}

#[test]
fn start_or_end_other_than_the_saved_querys_are_refused() {
    let fake = Fake::new(12);
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("s.json");
    let sp = st.to_str().unwrap();
    let r = run(&fake, &["--state", sp, "--start", "2024-01-01T00:05:00Z"]);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(5..12));
    // The same time written another way, or no --start at all: the same query.
    for same in [&["--start", "2024-01-01T01:05:00+01:00"][..], &[]] {
        let r = run(&fake, &[&["--state", sp][..], same].concat());
        assert_eq!(r.result.unwrap(), 0, "{same:?}: {}", r.err);
        assert_eq!(r.out, "");
    }
    for other in [
        &["--start", "2024-01-01T00:00:00Z"][..],
        &["--end", "2024-01-01T00:03:00Z"],
    ] {
        let e = err_text(&run(&fake, &[&["--state", sp][..], other].concat()));
        assert!(
            e.contains("holds a cursor for the query with --start 2024-01-01T00:05:00Z")
                && e.contains("--restart"),
            "{other:?}: {e}"
        );
    }
    // --restart starts the new query; the dedup window skips what was written.
    let r = run(
        &fake,
        &[
            "--state",
            sp,
            "--restart",
            "--start",
            "2024-01-01T00:00:00Z",
        ],
    );
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(0..5));
    // A relative start is the same flag from run to run.
    let st2 = dir.path().join("s2.json");
    let sp2 = st2.to_str().unwrap();
    for _ in 0..2 {
        let r = run(&fake, &["--state", sp2, "--start", "1000d"]);
        assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    }
}

/// Dropbox forgets the cursor: the query starts again from the newest event's time
/// in the state (less the dedup window) and the overlap is skipped, exactly.
#[test]
fn bad_cursor_recovery_is_exact() {
    let fake = Fake::new(10);
    let dir = tempfile::tempdir().unwrap();
    let (st, out) = (dir.path().join("s.json"), dir.path().join("o.ndjson"));
    let flags = ["--state", st.to_str().unwrap(), "-o", out.to_str().unwrap()];
    assert_eq!(run(&fake, &flags).result.unwrap(), 0);
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&st).unwrap()).unwrap();
    assert_eq!(s["last_event_time"], "2024-01-01T00:09:00Z");
    s["cursor"] = "forgotten".into();
    std::fs::write(&st, s.to_string()).unwrap();
    fake.push_events(10..15);
    let r = run(&fake, &flags);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert!(
        r.err.contains(
            "no longer knows the saved cursor (bad_cursor); starting the query again from \
             2023-12-31T00:09:00Z (the newest event had 2024-01-01T00:09:00Z"
        ),
        "{}",
        r.err
    );
    assert!(r.err.contains("10 duplicates skipped"), "{}", r.err);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        fake.all_lines(0..15)
    );
}

/// A --state in a missing directory fails before the first request, and so
/// does an unwritable --stats.
#[test]
fn unwritable_paths_fail_before_the_first_request() {
    let fake = Fake::new(3);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.ndjson");
    let missing = dir.path().join("no/such/dir");
    for flags in [
        vec![
            "--state".to_string(),
            missing.join("s.json").display().to_string(),
        ],
        vec![
            "--stats".to_string(),
            missing.join("stats.json").display().to_string(),
        ],
    ] {
        let mut all = vec!["-o".to_string(), out.display().to_string()];
        all.extend(flags.clone());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let e = err_text(&run(&fake, &all));
        assert!(e.contains("no/such/dir"), "{flags:?}: {e}");
        assert_eq!(
            fake.with(|i| (i.token_requests, i.event_requests.len())),
            (0, 0)
        );
        assert_eq!(std::fs::read(&out).unwrap_or_default(), b"");
    }
}

#[test]
fn a_wrong_app_secret_is_named_as_such() {
    let fake = Fake::new(3);
    let env = |k: &str| match k {
        "TEAMLOG_APP_SECRET" => Some("not-the-secret".to_string()),
        k => env_with_token(k),
    };
    let e = err_text(&run_with(&fake, &[], &mut RawSink, &env));
    assert!(
        e.contains("invalid_client") && e.contains("the App key or App secret is wrong"),
        "{e}"
    );
    assert!(!e.contains("redirect URI"), "{e}");
}

#[test]
fn retry_after_is_honoured_on_503_and_waits_stop_at_the_give_up_time() {
    let fake = Fake::new(3);
    fake.fault(On::Events, Fault::Unavailable(9));
    let r = run(&fake, &[]);
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert!(
        r.err.contains(
            "HTTP 503: <html>down for maintenance</html>; retry 1/8 in 9s (as Dropbox asked)"
        ),
        "{}",
        r.err
    );

    let fake = Fake::new(3);
    fake.fault(On::Events, Fault::RateLimitHeader(3600));
    let e = err_text(&run(&fake, &["--give-up-after", "1m"]));
    assert!(
        e.contains(
            "after 1 attempts (the next wait, 1h as Dropbox asked, would pass --give-up-after 1m)"
        ),
        "{e}"
    );
    // Backoff waits add up to the give-up time too, long before --retries runs out.
    let fake = Fake::new(3);
    for _ in 0..20 {
        fake.fault(On::Events, Fault::Status(502, "bad gateway"));
    }
    let e = err_text(&run(&fake, &["--retries", "20", "--give-up-after", "5s"]));
    assert!(
        e.contains("backoff, would pass --give-up-after 5s)") && e.contains("HTTP 502"),
        "{e}"
    );
    assert!(fake.with(|i| i.faults.len()) > 10, "stopped early: {e}");
    let help = crate::common::bin()
        .args(["pull", "--help"])
        .output()
        .unwrap();
    let help = crate::common::stdout(&help);
    for flag in [
        "--connect-timeout",
        "--read-timeout",
        "--give-up-after",
        "about 11 minutes",
    ] {
        assert!(help.contains(flag), "--help states {flag}");
    }
}

/// `teamlog auth` with a wrong App secret: the error names the key and secret,
/// not the code or the redirect URI.
#[test]
fn auth_with_a_wrong_app_secret_says_so() {
    let fake = Fake::new(1);
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.json");
    fn env(k: &str) -> Option<String> {
        match k {
            "TEAMLOG_APP_KEY" => Some(APP_KEY.into()),
            "TEAMLOG_APP_SECRET" => Some("wrong-secret".into()),
            _ => None,
        }
    }
    let (t, err, tx) = spawn_auth(&fake, &["--credentials", creds.to_str().unwrap()], env);
    let url = printed_url(&err);
    let code = code_shown_at(&url);
    tx.send(format!("{code}\n")).unwrap();
    let e = t.join().unwrap().unwrap_err().to_string();
    assert!(
        e.contains("invalid_client") && e.contains("the App key or App secret is wrong"),
        "{e}"
    );
    assert!(!e.contains("redirect URI"), "{e}");
    assert!(!creds.exists());
}

/// A request that hangs (a slow or black-holed network) does not hide the
/// silence: the alarm is raised while it hangs.
#[test]
fn the_alarm_is_checked_while_a_request_hangs() {
    let fake = Fake::new(3);
    fake.with(|i| i.delay = Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("s.json");
    let r = run(
        &fake,
        &["--state", st.to_str().unwrap(), "--drop-off-alarm", "300ms"],
    );
    assert_eq!(r.result.unwrap(), 0, "{}", r.err);
    assert_eq!(r.out, fake.all_lines(0..3));
    let alarm = r.err.find("teamlog: ALARM: no new Dropbox events");
    let recovered = r.err.find("RECOVERED");
    assert!(
        alarm.is_some() && alarm < recovered,
        "raised during the request, recovered after it:\n{}",
        r.err
    );
    assert!(
        r.err.contains("none since teamlog started watching"),
        "{}",
        r.err
    );
}
