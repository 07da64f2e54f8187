//! `teamlog auth`: the OAuth 2 authorization-code flow with PKCE (S256), and the
//! credentials file it leaves behind.
//!
//! The admin opens the printed authorize URL, approves, and Dropbox hands back a
//! one-time code, either by redirecting the browser to a loopback address that this
//! module listens on, or on a page the admin copies it from. The code is exchanged
//! for a refresh token, which is stored with the App key (and the App secret, when
//! one was given) in a file created with mode 0600. PKCE means no secret is needed at
//! all; `token_access_type=offline` asks for the long-lived refresh token.

use std::io::{self, BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::secret::Secret;
use super::util::{parse_query, random_bytes, sanitize, url_encode};

/// Where Dropbox's authorize page lives.
pub const DEFAULT_AUTHORIZE_BASE: &str = "https://www.dropbox.com";

/// A PKCE verifier and its S256 challenge (RFC 7636).
#[derive(Debug)]
pub struct Pkce {
    /// 43 characters of base64url from 32 random bytes; sent only to the token endpoint.
    pub verifier: Secret,
    /// `BASE64URL(SHA256(verifier))`, sent in the authorize URL.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier.
    pub fn generate() -> io::Result<Pkce> {
        let mut b = [0u8; 32];
        random_bytes(&mut b)?;
        Ok(Pkce::from_verifier(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
        ))
    }

    /// The pair for a known verifier.
    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = s256(&verifier);
        Pkce {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

/// `BASE64URL-NOPAD(SHA256(verifier))`.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random `state` value that ties the redirect to this run (CSRF protection).
pub fn random_state() -> io::Result<String> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// The URL the admin opens to grant access.
pub fn authorize_url(
    base: &str,
    app_key: &str,
    challenge: &str,
    redirect_uri: Option<&str>,
    state: Option<&str>,
) -> String {
    let mut u = format!(
        "{}/oauth2/authorize?client_id={}&response_type=code&token_access_type=offline\
         &code_challenge={}&code_challenge_method=S256",
        base.trim_end_matches('/'),
        url_encode(app_key),
        url_encode(challenge)
    );
    if let Some(r) = redirect_uri {
        u.push_str("&redirect_uri=");
        u.push_str(&url_encode(r));
    }
    if let Some(s) = state {
        u.push_str("&state=");
        u.push_str(&url_encode(s));
    }
    u
}

/// What `teamlog auth` stores and `teamlog pull` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Credentials {
    /// The App key (OAuth client id).
    pub app_key: String,
    /// The App secret, when one was given (PKCE needs none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<Secret>,
    /// The long-lived refresh token.
    pub refresh_token: Secret,
    /// The team the token reads, when Dropbox said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// The scopes granted, space separated, when Dropbox said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When `teamlog auth` wrote this file (RFC 3339).
    #[serde(default)]
    pub created_at: String,
}

/// The credentials file's default place: `<config dir>/credentials.json`.
pub fn default_credentials_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    super::util::config_dir(env).map(|d| d.join("credentials.json"))
}

/// Errors with the credentials file.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No file there.
    #[error(
        "no credentials at {0}: run `teamlog auth` first (or point --credentials at the \
         file it wrote)"
    )]
    Missing(PathBuf),
    /// Unreadable.
    #[error("cannot read credentials {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Not what `teamlog auth` writes.
    #[error("credentials {path} are not valid ({detail}): run `teamlog auth` again")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the file's text: it holds secrets).
        detail: String,
    },
    /// Could not be written.
    #[error("cannot write credentials {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Reads the credentials file. Returns a warning too when the file can be read by
/// other users.
pub fn load_credentials(path: &Path) -> Result<(Credentials, Option<String>), CredentialsError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CredentialsError::Missing(path.to_owned()))
        }
        Err(source) => {
            return Err(CredentialsError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    // serde_json's messages quote no input text beyond a token, but keep only the
    // position to be sure no secret is echoed.
    let creds: Credentials =
        serde_json::from_slice(&bytes).map_err(|e| CredentialsError::Invalid {
            path: path.to_owned(),
            detail: format!(
                "{} at line {} column {}",
                match e.classify() {
                    serde_json::error::Category::Data => "missing or mistyped field",
                    _ => "not JSON",
                },
                e.line(),
                e.column()
            ),
        })?;
    let mut warning = None;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                warning = Some(format!(
                    "credentials {} can be read by other users (mode {mode:o}); run `chmod 600` on it",
                    path.display()
                ));
            }
        }
    }
    Ok((creds, warning))
}

/// Writes the credentials file atomically with mode 0600, creating its directory
/// (mode 0700) when needed.
pub fn save_credentials(path: &Path, creds: &Credentials) -> Result<(), CredentialsError> {
    let werr = |source| CredentialsError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir).map_err(werr)?;
        }
    }
    let mut text = serde_json::to_vec_pretty(creds).map_err(|e| werr(io::Error::other(e)))?;
    text.push(b'\n');
    // tempfile creates its files with mode 0600 on Unix; the rename keeps it.
    crate::atomic::write_with_mode(path, &text, 0o600).map_err(werr)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(werr)?;
    }
    Ok(())
}

/// A redirect URI teamlog can listen on: `http://` on a loopback host.
#[derive(Debug, PartialEq, Eq)]
pub struct Loopback {
    /// `127.0.0.1:PORT` or `[::1]:PORT`.
    pub bind: String,
    /// The path the code arrives on, like `/callback`.
    pub path: String,
}

/// Returns where to listen when `uri` is `http://127.0.0.1:PORT/..`,
/// `http://localhost:PORT/..` or `http://[::1]:PORT/..`; `None` for any other URI
/// (then the admin pastes the code).
pub fn loopback(uri: &str) -> Option<Loopback> {
    let rest = uri.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("/").to_owned();
    let (host, port) = if let Some(h) = authority.strip_prefix('[') {
        let (h, p) = h.split_once(']')?;
        (h, p.strip_prefix(':').unwrap_or("80"))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (authority, "80"),
        }
    };
    let port: u16 = port.parse().ok()?;
    let bind = match host {
        "127.0.0.1" | "localhost" => format!("127.0.0.1:{port}"),
        "::1" => format!("[::1]:{port}"),
        _ => return None,
    };
    Some(Loopback { bind, path })
}

/// Errors while waiting for the code.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Could not listen on the redirect URI.
    #[error(
        "cannot listen on {addr} for the redirect: {source}; free the port, or register \
         and pass another --redirect-uri"
    )]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// Nothing came back in time.
    #[error(
        "no authorization arrived within {0}; run `teamlog auth` again (--timeout sets the wait)"
    )]
    Timeout(String),
    /// Dropbox redirected with an error (the admin declined, or the app is misconfigured).
    #[error("Dropbox did not authorize teamlog: {0}")]
    Denied(String),
    /// The pasted text held no code.
    #[error("no authorization code was entered")]
    Empty,
    /// The pasted URL carried another run's state.
    #[error(
        "the pasted URL belongs to another authorization (its state does not match); \
         use the URL this run printed"
    )]
    StateMismatch,
    /// Interrupted.
    #[error("interrupted")]
    Interrupted,
    /// Reading stdin failed.
    #[error("cannot read the code from stdin: {0}")]
    Stdin(io::Error),
}

/// Listens on `lb` until the browser arrives with `?code=..&state=<state>`; answers
/// the browser with a short page. Other paths get 404 and a wrong state gets 400;
/// both keep the wait going.
pub fn catch_redirect(
    lb: &Loopback,
    state: &str,
    timeout: Duration,
    stop: &AtomicBool,
    listening: &mut dyn FnMut(),
) -> Result<Secret, CodeError> {
    let listener = TcpListener::bind(&lb.bind).map_err(|source| CodeError::Listen {
        addr: lb.bind.clone(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| CodeError::Listen {
            addr: lb.bind.clone(),
            source,
        })?;
    listening();
    let deadline = Instant::now() + timeout;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(CodeError::Interrupted);
        }
        if Instant::now() >= deadline {
            return Err(CodeError::Timeout(super::util::format_duration(timeout)));
        }
        match listener.accept() {
            Ok((conn, _)) => {
                if let Some(result) = handle_redirect(conn, lb, state) {
                    return result;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

/// Serves one browser request; `Some` ends the wait.
fn handle_redirect(
    mut conn: TcpStream,
    lb: &Loopback,
    state: &str,
) -> Option<Result<Secret, CodeError>> {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 1024];
    while buf.len() < 16 * 1024 && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let target = head
        .lines()
        .next()
        .and_then(|l| {
            let mut it = l.split(' ');
            (it.next() == Some("GET")).then(|| it.next()).flatten()
        })
        .unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != lb.path {
        respond(&mut conn, "404 Not Found", "Not the teamlog redirect path.");
        return None;
    }
    let q = parse_query(query);
    let get = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str());
    if let Some(err) = get("error") {
        let desc = get("error_description").unwrap_or("");
        let text = sanitize(&format!("{err}: {desc}"), 300);
        respond(
            &mut conn,
            "200 OK",
            "Dropbox did not authorize teamlog. See the terminal for details.",
        );
        return Some(Err(CodeError::Denied(text)));
    }
    if get("state") != Some(state) {
        respond(
            &mut conn,
            "400 Bad Request",
            "This redirect does not belong to the running `teamlog auth` (state mismatch).",
        );
        return None;
    }
    match get("code").filter(|c| !c.is_empty()) {
        Some(code) => {
            respond(
                &mut conn,
                "200 OK",
                "teamlog received the authorization. You can close this tab.",
            );
            Some(Ok(Secret::new(code)))
        }
        None => {
            respond(
                &mut conn,
                "400 Bad Request",
                "The redirect carried no code.",
            );
            None
        }
    }
}

fn respond(conn: &mut TcpStream, status: &str, text: &str) {
    let body = format!("<!doctype html><meta charset=utf-8><title>teamlog</title><p>{text}</p>\n");
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.flush();
}

/// Reads the code the admin pastes: the bare code, or the whole redirected URL
/// (its `code` is taken, and its `state` must match when it has one).
pub fn read_pasted_code(input: &mut dyn BufRead, state: Option<&str>) -> Result<Secret, CodeError> {
    let mut line = String::new();
    input.read_line(&mut line).map_err(CodeError::Stdin)?;
    let t = line.trim();
    if t.is_empty() {
        return Err(CodeError::Empty);
    }
    if let Some((_, query)) = t.split_once('?').filter(|_| t.contains("code=")) {
        let q = parse_query(query.split('#').next().unwrap_or(""));
        let get = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        if let Some(err) = get("error") {
            return Err(CodeError::Denied(sanitize(&err, 200)));
        }
        if let (Some(expected), Some(got)) = (state, get("state")) {
            if got != expected {
                return Err(CodeError::StateMismatch);
            }
        }
        return get("code")
            .filter(|c| !c.is_empty())
            .map(Secret::new)
            .ok_or(CodeError::Empty);
    }
    Ok(Secret::new(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let p = Pkce::generate().unwrap();
        assert_eq!(p.verifier.expose().len(), 43);
        assert_eq!(p.challenge, s256(p.verifier.expose()));
    }

    #[test]
    fn authorize_url_has_every_parameter() {
        let u = authorize_url(
            "https://www.dropbox.com",
            "key1",
            "ch",
            Some("http://127.0.0.1:53682/cb"),
            Some("st"),
        );
        assert_eq!(
            u,
            "https://www.dropbox.com/oauth2/authorize?client_id=key1&response_type=code\
             &token_access_type=offline&code_challenge=ch&code_challenge_method=S256\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcb&state=st"
        );
    }

    #[test]
    fn loopback_uris() {
        assert_eq!(
            loopback("http://127.0.0.1:53682/callback"),
            Some(Loopback {
                bind: "127.0.0.1:53682".into(),
                path: "/callback".into()
            })
        );
        assert_eq!(loopback("http://localhost:8080").unwrap().path, "/");
        assert_eq!(loopback("http://[::1]:9/x").unwrap().bind, "[::1]:9");
        assert_eq!(loopback("https://127.0.0.1:1/x"), None);
        assert_eq!(loopback("http://example.com:80/x"), None);
    }

    #[test]
    fn pasted_codes() {
        let mut r = io::Cursor::new(b"  abc123 \n".to_vec());
        assert_eq!(read_pasted_code(&mut r, None).unwrap().expose(), "abc123");
        let mut r = io::Cursor::new(b"https://x.example/cb?code=zz9&state=s1\n".to_vec());
        assert_eq!(
            read_pasted_code(&mut r, Some("s1")).unwrap().expose(),
            "zz9"
        );
        let mut r = io::Cursor::new(b"https://x.example/cb?code=zz9&state=other\n".to_vec());
        assert!(matches!(
            read_pasted_code(&mut r, Some("s1")),
            Err(CodeError::StateMismatch)
        ));
        let mut r = io::Cursor::new(b"\n".to_vec());
        assert!(matches!(
            read_pasted_code(&mut r, None),
            Err(CodeError::Empty)
        ));
    }

    #[test]
    fn credentials_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/credentials.json");
        let c = Credentials {
            app_key: "k".into(),
            app_secret: Some(Secret::new("sec-ret-1")),
            refresh_token: Secret::new("rt-xyz-1"),
            team_id: None,
            scope: None,
            created_at: String::new(),
        };
        save_credentials(&p, &c).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let (back, warn) = load_credentials(&p).unwrap();
        assert!(warn.is_none());
        assert_eq!(back.refresh_token.expose(), "rt-xyz-1");
        // A broken file's error does not quote its content.
        std::fs::write(
            &p,
            br#"{"app_key": "k", "refresh_token": 5, "app_secret": "sec-ret-1"}"#,
        )
        .unwrap();
        let e = load_credentials(&p).unwrap_err().to_string();
        assert!(!e.contains("sec-ret-1"), "{e}");
    }
}
