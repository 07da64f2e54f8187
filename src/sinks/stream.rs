//! Byte streams that say what they are when they fail, and the one
//! broken-pipe rule: only *stdout* closing early (`teamlog | head`) is a
//! quiet success; a closed pipe anywhere else (a `--rejects` FIFO whose
//! reader went away, say) is a write failure like any other.

use crate::atomic::labelled;
use std::fmt;
use std::io::{self, Write};

/// The marker an error carries when stdout's reader went away.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

fn carries_marker(e: &(dyn std::error::Error + 'static)) -> bool {
    e.is::<StdoutClosed>()
        || e.downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|inner| inner.is::<StdoutClosed>())
}

/// Whether `e` is stdout's reader going away: the run ends quietly, exit 0.
pub fn is_stdout_closed(e: &anyhow::Error) -> bool {
    e.chain().any(carries_marker)
}

/// The same for a bare `io::Error`.
pub fn io_is_stdout_closed(e: &io::Error) -> bool {
    carries_marker(e)
}

/// A stdout write error as the user should read it.
pub fn stdout_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe || io_is_stdout_closed(&e) {
        io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        labelled(e, "cannot write to stdout")
    }
}

/// Checks, before any work, that stdout can take the events. A stdout the
/// shell closed (`>&-`) is reopened on `/dev/null` read-write by Rust's
/// runtime, which would silently discard everything; one open only for
/// reading fails every write. Both are refused: "cannot write to stdout".
/// (Linux: read from `/proc/self/fdinfo/1`; elsewhere nothing is checked.)
pub fn check_stdout() -> io::Result<()> {
    let Ok(info) = std::fs::read_to_string("/proc/self/fdinfo/1") else {
        return Ok(());
    };
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok());
    let Some(flags) = flags else { return Ok(()) };
    let why = match flags & 0o3 {
        0 => Some("it is open for reading only"),
        // O_RDWR on /dev/null: what the runtime puts in place of a closed fd.
        2 if std::fs::read_link("/proc/self/fd/1")
            .is_ok_and(|p| p == std::path::Path::new("/dev/null")) =>
        {
            Some("it is closed (give -o FILE, or redirect stdout)")
        }
        _ => None,
    };
    match why {
        Some(w) => Err(io::Error::other(format!("cannot write to stdout: {w}"))),
        None => Ok(()),
    }
}

/// A writer whose errors name what it writes (`cannot write to rejects.ndjson:
/// No space left on device`), keeping the error kind. Stdout's errors follow
/// the rule above instead.
pub struct Labelled<W> {
    inner: W,
    name: String,
    stdout: bool,
}

impl<W: Write> Labelled<W> {
    pub fn new(inner: W, name: impl Into<String>) -> Labelled<W> {
        Labelled {
            inner,
            name: name.into(),
            stdout: false,
        }
    }

    /// Stdout: a closed reader is [`StdoutClosed`], other errors say "stdout".
    pub fn stdout(inner: W) -> Labelled<W> {
        Labelled {
            inner,
            name: "stdout".into(),
            stdout: true,
        }
    }

    fn wrap(&self, e: io::Error) -> io::Error {
        if self.stdout {
            stdout_error(e)
        } else {
            labelled(e, &format!("cannot write to {}", self.name))
        }
    }
}

impl<W: Write> Write for Labelled<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.wrap(e))
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| self.wrap(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.wrap(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken(io::ErrorKind);
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn only_stdout_closing_is_quiet() {
        let e = Labelled::stdout(Broken(io::ErrorKind::BrokenPipe))
            .write_all(b"x")
            .unwrap_err();
        assert!(is_stdout_closed(&anyhow::Error::new(e)));
        let e = Labelled::new(Broken(io::ErrorKind::BrokenPipe), "r.fifo")
            .write_all(b"x")
            .unwrap_err();
        assert!(e.to_string().contains("cannot write to r.fifo"));
        assert!(!is_stdout_closed(&anyhow::Error::new(e)));
    }

    #[test]
    fn stdout_failures_say_stdout() {
        let e = Labelled::stdout(Broken(io::ErrorKind::StorageFull))
            .write_all(b"x")
            .unwrap_err();
        assert!(e.to_string().starts_with("cannot write to stdout: "), "{e}");
        assert!(!e.to_string().contains("os error"), "{e}");
    }
}
