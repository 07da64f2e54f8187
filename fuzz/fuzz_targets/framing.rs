//! Fuzz target: the framing layer (`SourceReader`) over arbitrary bytes.
//!
//! The first bytes choose the chunk size, the longest line, how many bytes
//! each read of the simulated pipe returns, and whether the source is
//! interactive; the rest is the stream. For plain streams the chunks' lines,
//! concatenated, must be the stream's lines (a leading BOM dropped, over-long
//! lines cut to their kept prefix with their true length), numbered 1, 2, 3...
//! with no gap; compressed-looking streams must only not panic or hang, and
//! a format recognised but not read (xz, zip, UTF-16...) must fail to open.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::{self, Read};
use teamlog_core::framing::{self, Compression, Format, SourceReader};

/// A pipe whose reads return the sizes `steps` cycles through.
struct Pipe {
    data: Vec<u8>,
    at: usize,
    steps: Vec<usize>,
    i: usize,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let step = self.steps[self.i % self.steps.len()];
        self.i += 1;
        let n = buf.len().min(step).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The lines of a plain stream as the reader must see them: a leading BOM
/// dropped, each line with its `\r` if any (the reader strips it later).
fn raw_lines(data: &[u8]) -> Vec<&[u8]> {
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if body.is_empty() {
        return Vec::new();
    }
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    body.split(|&b| b == b'\n').collect()
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 4 {
        return;
    }
    let (cfg, data) = input.split_at(4);
    let chunk_size = 1 + usize::from(cfg[0]) * 37;
    let max_line = 1 + usize::from(cfg[1]) * 29;
    let steps: Vec<usize> = [cfg[2] & 0x0f, cfg[2] >> 4, cfg[3] & 0x3f]
        .iter()
        .map(|&s| 1 + usize::from(s))
        .collect();
    let interactive = cfg[3] & 0x80 != 0;
    let pipe = Pipe {
        data: data.to_vec(),
        at: 0,
        steps,
        i: 0,
    };
    let opened = SourceReader::from_reader("-", Box::new(pipe), interactive, chunk_size, max_line);
    let format = framing::identify(data);
    let mut r = match (opened, format) {
        (Err(e), Format::Unsupported(_)) => {
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            return;
        }
        (Err(e), _) => panic!("reads from memory fail only on a format not read: {e}"),
        (Ok(_), Format::Unsupported(u)) => panic!("{} was opened", u.what),
        (Ok(r), _) => r,
    };
    let plain = format == Format::Read(Compression::None);
    // (line number, bytes, Some(full length) when cut short)
    let mut got: Vec<(u64, Vec<u8>, Option<u64>)> = Vec::new();
    let mut next_line = 1;
    let mut ended_open = false;
    let mut buf = Vec::new();
    while let Some(c) = r.next_chunk(std::mem::take(&mut buf)) {
        assert!(
            !ended_open,
            "only a source's last chunk may lack a final newline"
        );
        assert_eq!(c.first_line, next_line, "line numbers have no gap");
        assert!(!c.data.is_empty(), "no empty chunk");
        match c.too_long {
            Some(total) => {
                got.push((c.first_line, c.data.clone(), Some(total)));
                next_line += 1;
            }
            None => {
                // Bounded by the settings, not the input: a chunk, a line at
                // the limit, or what followed an over-long line in the 64 KiB
                // block that read past it.
                assert!(
                    c.data.len() <= chunk_size.max(max_line + 2).max(64 << 10) + 1,
                    "chunk of {} bytes",
                    c.data.len()
                );
                for (n, l) in (c.first_line..).zip(framing::lines(&c.data)) {
                    got.push((n, l.to_vec(), None));
                    next_line = n + 1;
                }
                ended_open = !c.data.ends_with(b"\n");
            }
        }
        buf = c.data;
    }
    if !plain {
        return;
    }
    assert!(r.end_marker().end.unwrap().failure.is_none());
    let want = raw_lines(data);
    assert_eq!(got.len(), want.len(), "one result per line");
    for ((n, bytes, cut), (i, raw)) in got.iter().zip(want.iter().enumerate()) {
        assert_eq!(*n, i as u64 + 1);
        match cut {
            None => assert_eq!(bytes, raw.strip_suffix(b"\r").unwrap_or(raw), "line {n}"),
            Some(total) => {
                // Its length in the input, the newline included (what it
                // adds to bytes_in), unless it is the unterminated last line.
                let ended = i + 1 < want.len() || data.ends_with(b"\n");
                assert_eq!(
                    *total,
                    raw.len() as u64 + u64::from(ended),
                    "line {n}: its full length"
                );
                assert!(
                    raw.len() >= max_line + 2,
                    "line {n} cut though under the limit"
                );
                assert!(
                    raw.starts_with(bytes),
                    "line {n}: kept bytes are its prefix"
                );
                // As much as a reject record shows, whatever the chunk size.
                let line = raw.strip_suffix(b"\r").unwrap_or(raw);
                let keep = teamlog_core::json::TRUNCATED_RAW_BYTES.min(line.len());
                assert!(bytes.len() >= keep && bytes.len() <= teamlog_core::json::TRUNCATED_RAW_BYTES);
            }
        }
    }
});
