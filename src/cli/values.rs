//! Parsers for flag values (sizes, times, thread counts), shared by every
//! command so the same spelling means the same thing everywhere.

use teamlog_core::timestamp::{self, Timestamp};

/// Parses sizes such as `16777216`, `64K`, `1M`, `16MiB`, `1G`, `2T` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 1048576, 64K, 16M or 1G)"))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use K, M, G or T)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Parses an RFC 3339 timestamp (`2024-01-31T12:00:00Z`).
pub fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    timestamp::parse_rfc3339(s)
        .ok_or_else(|| format!("{s:?} is not a timestamp like 2024-01-31T12:00:00Z"))
}

/// The most worker threads teamlog accepts.
pub const MAX_THREADS: usize = 1024;

/// Parses `--threads`: 1 to [`MAX_THREADS`].
pub fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: expected a number of threads from 1 to {MAX_THREADS}"
        )),
    }
}

/// Parses `--max-line-bytes`: 1 byte to 1G.
pub fn parse_max_line(s: &str) -> Result<usize, String> {
    let n = parse_size(s)? as usize;
    if !(1..=1 << 30).contains(&n) {
        return Err(format!("{s:?}: expected 1 byte to 1G"));
    }
    Ok(n)
}

/// Parses `--chunk-size`: 4K to 256M.
pub fn parse_chunk(s: &str) -> Result<usize, String> {
    let n = parse_size(s)? as usize;
    if !(4096..=256 << 20).contains(&n) {
        return Err(format!("{s:?}: expected 4K to 256M"));
    }
    Ok(n)
}

/// Parses `--invalid-rate`: a number from 0 to 1.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number from 0 to 1, got {s:?}"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("expected a number from 0 to 1, got {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("1.5G").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn rates() {
        assert!(parse_rate("1.01").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert_eq!(parse_rate("0.25"), Ok(0.25));
    }
}
