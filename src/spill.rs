//! Records kept on disk instead of in memory: one JSON text a line,
//! appended to an anonymous temporary file (in `$TMPDIR`; the system removes
//! it when the process ends, however it ends) and read back once, in the
//! order written. What a batch keeps per input until it reports (each
//! source's `--stats` entry, an earlier run's record of a skipped input)
//! goes here, so memory does not grow with the number of inputs.

use serde::Serialize;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};

/// Records being written.
pub struct Spill {
    w: BufWriter<File>,
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
    pub fn new() -> io::Result<Spill> {
        let f = tempfile::tempfile().map_err(tmp_error)?;
        Ok(Spill {
            w: BufWriter::with_capacity(1 << 16, f),
            len: 0,
        })
    }

    /// Appends `v` as one line of compact JSON.
    pub fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, v).map_err(io::Error::from)?;
        self.w.write_all(b"\n").map_err(tmp_error)?;
        self.len += 1;
        Ok(())
    }

    /// Records pushed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its records, from the first.
    pub fn read(self) -> io::Result<Records> {
        let mut f = self.w.into_inner().map_err(|e| tmp_error(e.into_error()))?;
        f.rewind().map_err(tmp_error)?;
        Ok(Records {
            r: BufReader::with_capacity(1 << 16, f),
            line: String::new(),
            left: self.len,
        })
    }
}

/// Records being read back.
pub struct Records {
    r: BufReader<File>,
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
        let mut s = Spill::new().unwrap();
        for i in 0..3000u64 {
            s.push(&serde_json::json!({"i": i, "s": "a\nb"})).unwrap();
        }
        assert_eq!(s.len(), 3000);
        let mut r = s.read().unwrap();
        for i in 0..3000u64 {
            let v: serde_json::Value = r.next_record().unwrap().unwrap();
            assert_eq!(v["i"], i);
            assert_eq!(v["s"], "a\nb");
        }
        assert!(r.next_text().unwrap().is_none());
        assert!(r.is_empty());
    }
}
