//! Where pulled events go: the [`EventSink`] boundary (raw now, normalized later)
//! and the [`Output`] it writes to, which knows how to make a page durable and, for
//! a regular file, how long the file was at the last checkpoint.

use crate::sinks::stream::Labelled;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::value::RawValue;

use super::state::OutputPos;

/// What one page became: events written and events rejected (recorded in the
/// sink's rejects output, when it has one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Events written to the output.
    pub events: u64,
    /// Events rejected instead.
    pub rejected: u64,
}

/// Turns one page of API events into output lines.
///
/// The pull loop calls [`write_page`](EventSink::write_page) with the events of a
/// page that were not seen before, in API order, each the exact JSON text Dropbox
/// sent (compacted to one line when the server sent newlines inside it). API errors
/// never reach a sink. After `write_page` returns, the loop flushes and syncs `out`
/// and only then checkpoints the cursor, so a sink must write everything it was given
/// before returning (no buffering across pages in the sink itself). A sink that
/// writes a second durable file (the rejects of `--normalize`) hands it out through
/// [`rejects`](EventSink::rejects): the loop rewinds it at start and commits it with
/// the output before every checkpoint, so it is exactly-once too.
///
/// [`RawSink`] writes the events as they are; the normalizing sink (`--normalize`)
/// runs them through the core engine instead.
pub trait EventSink {
    /// Writes the page's events to `out`, in order; says how many were written and
    /// how many rejected.
    fn write_page(&mut self, events: &[&RawValue], out: &mut dyn Write) -> io::Result<Written>;

    /// The rejects file, checkpointed with the output; `None` when there is none.
    fn rejects(&mut self) -> Option<(&mut Output, &str)> {
        None
    }

    /// Called once when the run ends without a fatal error, after the last page.
    /// Returns false when some events could not be written as asked (for example
    /// rejected by validation), which makes the exit status 1.
    fn finish(&mut self, _out: &mut dyn Write, _stderr: &mut dyn Write) -> io::Result<bool> {
        Ok(true)
    }
}

/// Writes each event's exact text plus `\n`.
#[derive(Debug, Default)]
pub struct RawSink;

impl EventSink for RawSink {
    fn write_page(&mut self, events: &[&RawValue], out: &mut dyn Write) -> io::Result<Written> {
        for e in events {
            out.write_all(e.get().as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(Written {
            events: events.len() as u64,
            rejected: 0,
        })
    }
}

/// Removes the whitespace outside strings from valid JSON text, so an event that a
/// server pretty-printed still fits on one NDJSON line. Text inside strings is kept
/// byte for byte (a raw newline cannot occur there in valid JSON).
pub fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

enum Target {
    /// A regular file: the checkpoint records its identity and length.
    File {
        w: BufWriter<File>,
        dev: u64,
        ino: u64,
    },
    /// A pipe, a terminal, or a test's buffer: flush only.
    Stream(Box<dyn Write + Send>),
}

/// The event output.
pub struct Output {
    target: Target,
}

impl Output {
    /// Opens `path` for appending (creating it), so a rerun with the same `--state`
    /// continues the file.
    pub fn append_file(path: &Path) -> io::Result<Output> {
        let f = crate::atomic::open_append(path)?;
        let name = path.display().to_string();
        Ok(Output::from_file(f)?.unwrap_or_else(|f| Output {
            target: Target::Stream(Box::new(Labelled::new(
                BufWriter::with_capacity(1 << 16, f),
                name,
            ))),
        }))
    }

    /// A regular file becomes a checkpointed file output; anything else (a FIFO,
    /// a terminal) is handed back.
    fn from_file(f: File) -> io::Result<Result<Output, File>> {
        let m = f.metadata()?;
        if !m.file_type().is_file() {
            return Ok(Err(f));
        }
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Ok(Ok(Output {
            target: Target::File {
                w: BufWriter::with_capacity(1 << 16, f),
                dev,
                ino,
            },
        }))
    }

    /// Standard output. When the shell redirected it to a regular file
    /// (`> out.ndjson`, `>> out.ndjson`), it is treated like `-o`: the checkpoint
    /// records its length.
    pub fn stdout() -> Output {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            if let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() {
                let f = File::from(fd);
                if let Ok(Ok(o)) = Output::from_file(f) {
                    return o;
                }
            }
        }
        Output::stream(Box::new(BufWriter::with_capacity(1 << 16, io::stdout())))
    }

    /// The run's standard output as any writer (a pipe, a test buffer); only
    /// flushed at checkpoints. Its reader going away ends the run quietly.
    pub fn stream(w: Box<dyn Write + Send>) -> Output {
        Output {
            target: Target::Stream(Box::new(Labelled::stdout(w))),
        }
    }

    /// Flushes buffered bytes and, for a file, syncs them to disk.
    pub fn commit(&mut self) -> io::Result<()> {
        match &mut self.target {
            Target::File { w, .. } => {
                w.flush()?;
                w.get_ref().sync_data()
            }
            Target::Stream(w) => w.flush(),
        }
    }

    /// The file's identity and current length (after [`commit`](Output::commit)).
    pub fn position(&self) -> io::Result<Option<OutputPos>> {
        match &self.target {
            Target::File { w, dev, ino } => Ok(Some(OutputPos {
                dev: *dev,
                ino: *ino,
                len: w.get_ref().metadata()?.len(),
            })),
            Target::Stream(_) => Ok(None),
        }
    }

    /// Brings a file back to the last checkpoint: when it is the same file and longer
    /// than the recorded length, the bytes after it are a page written after that
    /// checkpoint (the run died before saving its cursor), and the page will be
    /// fetched again, so they are cut off. Returns the number of bytes cut.
    pub fn rewind_to(&mut self, saved: Option<OutputPos>) -> io::Result<u64> {
        let (Some(saved), Target::File { w, dev, ino }) = (saved, &mut self.target) else {
            return Ok(0);
        };
        if saved.dev != *dev || saved.ino != *ino {
            return Ok(0); // rotated or replaced: nothing of ours to cut
        }
        w.flush()?;
        let f = w.get_mut();
        let len = f.metadata()?.len();
        if len <= saved.len {
            return Ok(0);
        }
        f.set_len(saved.len)?;
        // Without O_APPEND (stdout opened with `>`), the offset would stay past the
        // end and the next write would leave a hole.
        f.seek(SeekFrom::End(0))?;
        f.sync_data()?;
        Ok(len - saved.len)
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.target {
            Target::File { w, .. } => w.write(buf),
            Target::Stream(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.target {
            Target::File { w, .. } => w.write_all(buf),
            Target::Stream(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.target {
            Target::File { w, .. } => w.flush(),
            Target::Stream(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_keeps_strings_and_drops_layout() {
        let pretty = "{\n  \"a\" : [1, 2],\n  \"b\": \"x  y\\\" z\\\\\"\n}";
        assert_eq!(compact_json(pretty), r#"{"a":[1,2],"b":"x  y\" z\\"}"#);
    }

    #[test]
    fn raw_sink_writes_exact_text() {
        let a = RawValue::from_string(r#"{"x": 1.50, "n": 123456789012345678901}"#.into()).unwrap();
        let mut out = Vec::new();
        RawSink.write_page(&[&a], &mut out).unwrap();
        assert_eq!(out, b"{\"x\": 1.50, \"n\": 123456789012345678901}\n");
    }

    #[test]
    fn rewind_cuts_only_our_own_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.ndjson");
        let mut o = Output::append_file(&p).unwrap();
        o.write_all(b"one\n").unwrap();
        o.commit().unwrap();
        let pos = o.position().unwrap();
        o.write_all(b"two\nthr").unwrap();
        o.commit().unwrap();
        drop(o);
        let mut o = Output::append_file(&p).unwrap();
        assert_eq!(o.rewind_to(pos).unwrap(), 7);
        o.write_all(b"two\n").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one\ntwo\n");
        // Another file's position is ignored.
        let other = OutputPos {
            dev: 0,
            ino: 0,
            len: 0,
        };
        assert_eq!(o.rewind_to(Some(other)).unwrap(), 0);
    }
}
