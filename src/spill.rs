//! Records kept off the heap once there are many: one JSON text a line,
//! held in memory up to [`IN_MEMORY`] bytes and past that appended to an
//! anonymous temporary file (in `$TMPDIR`; the system removes it when the
//! process ends, however it ends), then read back once, in the order
//! written. What a batch keeps per input until it reports (each source's
//! `--stats` entry, an earlier run's record of a skipped input) goes here,
//! so memory does not grow with the number of inputs, and a run of a few
//! inputs never needs a temporary file.

use serde::Serialize;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, Write};

/// Bytes of records a spill holds in memory before it moves them to a
/// temporary file.
pub const IN_MEMORY: usize = 1 << 20;

/// Records being written.
#[derive(Default)]
pub struct Spill {
    /// The records while they fit in [`IN_MEMORY`]; afterwards the buffer
    /// of `file`.
    mem: Vec<u8>,
    file: Option<File>,
    len: usize,
}

/// The error of a temporary file that cannot be made, written or read: it
/// names where it was (`TMPDIR`), as the fix is there.
fn tmp_error(e: io::Error) -> io::Error {
    crate::atomic::with_path(
        e,
        "cannot use a temporary file (set TMPDIR to a writable directory with space) in",
        &std::env::temp_dir(),
    )
}

impl Spill {
    /// Appends `v` as one line of compact JSON.
    pub fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.mem, v).map_err(io::Error::from)?;
        self.mem.push(b'\n');
        self.len += 1;
        if self.mem.len() >= IN_MEMORY {
            self.drain()?;
        }
        Ok(())
    }

    /// Moves what is held in memory to the temporary file (made the first time).
    fn drain(&mut self) -> io::Result<()> {
        let f = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile().map_err(tmp_error)?),
        };
        f.write_all(&self.mem).map_err(tmp_error)?;
        self.mem.clear();
        Ok(())
    }

    /// Records pushed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the records went to a temporary file.
    pub fn on_disk(&self) -> bool {
        self.file.is_some()
    }

    /// Its records, from the first.
    pub fn read(mut self) -> io::Result<Records> {
        let r: Box<dyn BufRead> = if self.file.is_some() {
            self.drain()?;
            let mut f = self.file.take().expect("on disk");
            f.rewind().map_err(tmp_error)?;
            Box::new(BufReader::with_capacity(1 << 16, f))
        } else {
            Box::new(io::Cursor::new(self.mem))
        };
        Ok(Records {
            r,
            line: String::new(),
            left: self.len,
        })
    }
}

/// Records being read back.
pub struct Records {
    r: Box<dyn BufRead>,
    line: String,
    left: usize,
}

impl Records {
    /// The next record's JSON text; `None` after the last.
    pub fn next_text(&mut self) -> io::Result<Option<&str>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.line.clear();
        match self.r.read_line(&mut self.line).map_err(tmp_error)? {
            0 => Err(tmp_error(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a temporary file ended early",
            ))),
            _ => {
                self.left -= 1;
                Ok(Some(self.line.trim_end_matches('\n')))
            }
        }
    }

    /// The next record, parsed as `T`.
    pub fn next_record<T: serde::de::DeserializeOwned>(&mut self) -> io::Result<Option<T>> {
        match self.next_text()? {
            Some(text) => serde_json::from_str(text)
                .map(Some)
                .map_err(io::Error::from),
            None => Ok(None),
        }
    }

    /// Records not read yet.
    pub fn len(&self) -> usize {
        self.left
    }

    pub fn is_empty(&self) -> bool {
        self.left == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_and_end() {
        // A few stay in memory; many go to a temporary file.
        for (n, on_disk) in [(30u64, false), (100_000, true)] {
            let mut s = Spill::default();
            for i in 0..n {
                s.push(&serde_json::json!({"i": i, "s": "a\nb"})).unwrap();
            }
            assert_eq!(s.len(), n as usize);
            assert_eq!(s.on_disk(), on_disk, "{n} records");
            check(s, n);
        }
    }

    fn check(s: Spill, n: u64) {
        let mut r = s.read().unwrap();
        for i in 0..n {
            let v: serde_json::Value = r.next_record().unwrap().unwrap();
            assert_eq!(v["i"], i);
            assert_eq!(v["s"], "a\nb");
        }
        assert!(r.next_text().unwrap().is_none());
        assert!(r.is_empty());
    }
}
