//! What a source holds, told by its first bytes (never by its name): gzip
//! (every member, zero padding after the last accepted as `gzip -d` does),
//! zstd (skippable frames too, as `pzstd` writes them), plain text, or a
//! format teamlog recognises but does not read (xz, bzip2, lz4, zip, 7z,
//! UTF-16/UTF-32 text), which fails that one source with a hint.

use std::io::{self, BufRead, Read};

/// Gzip's magic bytes.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Zstandard's magic bytes.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The last three bytes of a zstd skippable frame's magic number
/// (`0x184D2A5?` little-endian: the first byte is `0x50` to `0x5F`).
const ZSTD_SKIPPABLE_TAIL: [u8; 3] = [0x2a, 0x4d, 0x18];

/// The compression a stream was found to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The name in `--stats`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// A format that is recognised but not read: what it is and the command
/// that turns it into something teamlog reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub what: &'static str,
    /// A command line with `FILE` for the input.
    pub fix: &'static str,
}

/// What the first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Read(Compression),
    Unsupported(Unsupported),
}

const fn unsupported(what: &'static str, fix: &'static str) -> Format {
    Format::Unsupported(Unsupported { what, fix })
}

/// Byte `None` matches anything (the skippable frame's variable nibble).
type Pattern = &'static [Option<u8>];

/// Magic numbers, a longer one before any it extends (UTF-32LE's BOM starts
/// with UTF-16LE's).
const MAGIC: &[(Pattern, Format)] = &[
    (&[Some(0x1f), Some(0x8b)], Format::Read(Compression::Gzip)),
    (
        &[Some(0x28), Some(0xb5), Some(0x2f), Some(0xfd)],
        Format::Read(Compression::Zstd),
    ),
    (
        &[None, Some(0x2a), Some(0x4d), Some(0x18)],
        Format::Read(Compression::Zstd),
    ),
    (
        &[
            Some(0xfd),
            Some(b'7'),
            Some(b'z'),
            Some(b'X'),
            Some(b'Z'),
            Some(0),
        ],
        unsupported("xz-compressed", "xz -dc FILE | teamlog"),
    ),
    (
        &[Some(b'B'), Some(b'Z'), Some(b'h')],
        unsupported("bzip2-compressed", "bzip2 -dc FILE | teamlog"),
    ),
    (
        &[Some(0x04), Some(0x22), Some(0x4d), Some(0x18)],
        unsupported("lz4-compressed", "lz4 -dc FILE | teamlog"),
    ),
    (
        &[Some(b'P'), Some(b'K'), Some(3), Some(4)],
        unsupported("a zip archive", "unzip -p FILE | teamlog"),
    ),
    (
        &[Some(b'P'), Some(b'K'), Some(5), Some(6)],
        unsupported("an (empty) zip archive", "unzip -p FILE | teamlog"),
    ),
    (
        &[
            Some(b'7'),
            Some(b'z'),
            Some(0xbc),
            Some(0xaf),
            Some(0x27),
            Some(0x1c),
        ],
        unsupported("a 7z archive", "7z x -so FILE | teamlog"),
    ),
    (
        &[Some(0xff), Some(0xfe), Some(0), Some(0)],
        unsupported(
            "UTF-32LE text (byte order mark FF FE 00 00)",
            "iconv -f UTF-32 -t UTF-8 FILE | teamlog",
        ),
    ),
    (
        &[Some(0), Some(0), Some(0xfe), Some(0xff)],
        unsupported(
            "UTF-32BE text (byte order mark 00 00 FE FF)",
            "iconv -f UTF-32 -t UTF-8 FILE | teamlog",
        ),
    ),
    (
        &[Some(0xff), Some(0xfe)],
        unsupported(
            "UTF-16LE text (byte order mark FF FE)",
            "iconv -f UTF-16 -t UTF-8 FILE | teamlog",
        ),
    ),
    (
        &[Some(0xfe), Some(0xff)],
        unsupported(
            "UTF-16BE text (byte order mark FE FF)",
            "iconv -f UTF-16 -t UTF-8 FILE | teamlog",
        ),
    ),
];

/// The longest magic number: how many bytes detection may need.
pub const MAGIC_MAX: usize = 6;

fn byte_matches(p: Option<u8>, b: u8, pattern: Pattern) -> bool {
    match p {
        Some(want) => want == b,
        // Only the skippable frame has a wildcard: its first byte is 0x5?.
        None => b & 0xf0 == 0x50 && pattern[1..] == ZSTD_SKIPPABLE_TAIL.map(Some),
    }
}

fn prefix_matches(pattern: Pattern, bytes: &[u8]) -> bool {
    pattern
        .iter()
        .zip(bytes)
        .all(|(&p, &b)| byte_matches(p, b, pattern))
}

/// Picks the format from the first bytes (plain text when nothing matches).
pub fn identify(head: &[u8]) -> Format {
    MAGIC
        .iter()
        .find(|(p, _)| head.len() >= p.len() && prefix_matches(p, head))
        .map_or(Format::Read(Compression::None), |&(_, f)| f)
}

/// The decoder the first bytes call for; plain for formats not read.
pub fn detect(head: &[u8]) -> Compression {
    match identify(head) {
        Format::Read(c) => c,
        Format::Unsupported(_) => Compression::None,
    }
}

/// Whether more bytes could still complete a magic number that `head`
/// starts: detection reads on while so (a pipe may deliver one byte at a
/// time), and no longer, so a short plain line is never waited on.
pub fn needs_more(head: &[u8]) -> bool {
    MAGIC
        .iter()
        .any(|(p, _)| head.len() < p.len() && prefix_matches(p, head))
}

/// The error a source in a recognised but unread format fails with.
#[derive(Debug)]
pub struct UnsupportedFormat {
    pub format: Unsupported,
    /// The source as the hint names it (`FILE` where a shell would need quoting).
    pub shown: String,
}

impl std::fmt::Display for UnsupportedFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: decompress or convert it first, e.g. `{}`",
            self.format.what,
            self.format.fix.replace("FILE", &self.shown)
        )
    }
}

impl std::error::Error for UnsupportedFormat {}

/// The name as a hint may show it on a command line: as is when it needs no
/// quoting, else `FILE`.
pub fn shell_word(name: &str) -> String {
    let plain = !name.is_empty()
        && name != "-"
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-+,:@%=".contains(&b));
    if plain {
        name.to_string()
    } else {
        "FILE".to_string()
    }
}

/// Every gzip member in turn, as `gzip -d` reads them: after a member comes
/// another member, the end, or zero bytes up to the end (padding, as tape
/// and block devices add), which are skipped. Anything else after a member
/// is an error, since it is neither gzip data nor padding.
pub struct GzipMembers<R: BufRead> {
    member: Option<flate2::bufread::GzDecoder<R>>,
    /// Between members (or at the end, once `None` with no member).
    between: Option<R>,
}

impl<R: BufRead> GzipMembers<R> {
    pub fn new(r: R) -> GzipMembers<R> {
        GzipMembers {
            member: Some(flate2::bufread::GzDecoder::new(r)),
            between: None,
        }
    }
}

/// What follows a gzip member.
enum After {
    Member,
    End,
}

fn after_member(r: &mut impl BufRead) -> io::Result<After> {
    let mut zeros = false;
    loop {
        let b = r.fill_buf()?;
        if b.is_empty() {
            return Ok(After::End);
        }
        if !zeros && b[0] == GZIP_MAGIC[0] {
            // The decoder checks the rest of the header.
            return Ok(After::Member);
        }
        let n = b.iter().take_while(|&&x| x == 0).count();
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "data after the end of the gzip stream that is neither gzip nor zero padding",
            ));
        }
        zeros = true;
        r.consume(n);
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(m) = &mut self.member {
                let n = m.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.between = self.member.take().map(|m| m.into_inner());
            }
            let Some(r) = &mut self.between else {
                return Ok(0);
            };
            match after_member(r)? {
                After::End => {
                    self.between = None;
                    return Ok(0);
                }
                After::Member => {
                    self.member = self.between.take().map(flate2::bufread::GzDecoder::new);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(detect(&[0x50, 0x2a, 0x4d, 0x18]), Compression::Zstd);
        assert_eq!(detect(&[0x5f, 0x2a, 0x4d, 0x18]), Compression::Zstd);
        assert_eq!(detect(&[0x60, 0x2a, 0x4d, 0x18]), Compression::None);
        assert_eq!(detect(b"{\"a\""), Compression::None);
        assert_eq!(detect(&[0x1f]), Compression::None);
        let what = |h: &[u8]| match identify(h) {
            Format::Unsupported(u) => u.what,
            Format::Read(c) => c.name(),
        };
        assert_eq!(what(b"\xfd7zXZ\0"), "xz-compressed");
        assert_eq!(what(b"BZh91AY"), "bzip2-compressed");
        assert_eq!(what(b"PK\x03\x04"), "a zip archive");
        assert_eq!(what(b"7z\xbc\xaf\x27\x1c"), "a 7z archive");
        assert!(what(b"\xff\xfe{\0").starts_with("UTF-16LE"));
        assert!(what(b"\xff\xfe\0\0").starts_with("UTF-32LE"));
        assert!(what(b"\xfe\xff\0{").starts_with("UTF-16BE"));
        assert!(what(b"\0\0\xfe\xff").starts_with("UTF-32BE"));
    }

    #[test]
    fn detection_waits_only_while_a_magic_number_could_follow() {
        assert!(needs_more(b""));
        assert!(needs_more(b"\x1f"));
        assert!(needs_more(b"\xff\xfe"), "UTF-16LE or UTF-32LE");
        assert!(needs_more(b"\x50"), "a skippable frame");
        assert!(!needs_more(b"{"));
        assert!(!needs_more(b"\x1f\x8b"));
        assert!(!needs_more(b"\x60"));
    }

    fn gunzip(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzipMembers::new(io::BufReader::with_capacity(7, data)).read_to_end(&mut out)?;
        Ok(out)
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut e, data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_members_padding_and_trailing_data() {
        let mut two = gz(b"a\n");
        two.extend(gz(b"b\n"));
        assert_eq!(gunzip(&two).unwrap(), b"a\nb\n");
        let mut padded = two.clone();
        padded.extend([0u8; 1000]);
        assert_eq!(gunzip(&padded).unwrap(), b"a\nb\n");
        let mut junk = two.clone();
        junk.extend(b"junk");
        let e = gunzip(&junk).unwrap_err();
        assert!(
            e.to_string().contains("neither gzip nor zero padding"),
            "{e}"
        );
        // Zeros, then more data: not padding.
        let mut late = padded.clone();
        late.extend(gz(b"c\n"));
        assert!(gunzip(&late).is_err());
    }

    #[test]
    fn hints_name_the_file_only_when_a_shell_can_take_it_as_is() {
        assert_eq!(shell_word("logs/a-1.xz"), "logs/a-1.xz");
        assert_eq!(shell_word("my logs.xz"), "FILE");
        assert_eq!(shell_word("-"), "FILE");
        assert_eq!(shell_word("$(rm)"), "FILE");
    }
}
