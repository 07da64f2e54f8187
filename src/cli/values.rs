//! Parsers for flag values (sizes, durations, times, thread counts), shared by
//! every command so the same spelling means the same thing everywhere.

use chrono::{DateTime, NaiveDate, Utc};
use std::time::Duration;
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

/// Parses a duration like `30s`, `15m`, `2h`, `1d`, `250ms` or `1h30m`.
///
/// A bare number is refused: `--interval 30` could mean seconds or minutes, and a
/// silent guess is worse than an error.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration; write it like 30s, 15m, 2h or 1d".into());
    }
    let bytes = t.as_bytes();
    let mut total = Duration::ZERO;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "invalid duration {t:?}; write it like 30s, 15m, 2h or 1d"
            ));
        }
        let n: u64 = t[start..i]
            .parse()
            .map_err(|_| format!("invalid duration {t:?}: number too large"))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = match &t[ustart..i] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            "" => {
                return Err(format!(
                    "invalid duration {t:?}: missing unit; write it like 30s, 15m, 2h or 1d"
                ))
            }
            u => {
                return Err(format!(
                    "invalid duration {t:?}: unknown unit {u:?} (use ms, s, m, h or d)"
                ))
            }
        };
        let part = unit
            .checked_mul(
                u32::try_from(n).map_err(|_| format!("invalid duration {t:?}: too large"))?,
            )
            .ok_or_else(|| format!("invalid duration {t:?}: too large"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("invalid duration {t:?}: too large"))?;
    }
    Ok(total)
}

/// Parses a point in time as every time flag spells it (`pull --start`/`--end`,
/// `--parse-time`): RFC 3339 (`2024-05-01T12:00:00Z`, any offset), a date
/// (`2024-05-01`, midnight UTC), or a duration meaning that long before `now` (`7d`).
pub fn parse_time_arg(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc());
        }
    }
    if let Ok(d) = parse_duration(t) {
        let d = chrono::Duration::from_std(d).map_err(|_| format!("{t:?}: too far back"))?;
        return now
            .checked_sub_signed(d)
            .ok_or_else(|| format!("{t:?}: too far back"));
    }
    Err(format!(
        "invalid time {t:?}: expected RFC 3339 like 2024-05-01T12:00:00Z, a date like \
         2024-05-01, or a duration back from now like 7d"
    ))
}

/// Parses `--parse-time`: the spellings of [`parse_time_arg`] (a duration
/// counting back from now), and Panther's own `2024-01-31 12:00:00` (UTC).
pub fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    if let Some(t) = timestamp::parse_rfc3339(s.trim()) {
        return Ok(t);
    }
    let t = parse_time_arg(s, Utc::now())?;
    let nanos = i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos());
    Timestamp::from_unix_nanos(nanos).ok_or_else(|| format!("{s:?}: outside years 0000 to 9999"))
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

/// `--parquet-row-group-rows`, `--parquet-buffer-rows`: 1024 to 16777216 rows.
pub fn parse_rows(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1024..=1 << 24).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: expected a number of rows from 1024 to 16777216"
        )),
    }
}

/// `--parquet-page-bytes`: 4K to 64M.
pub fn parse_page(s: &str) -> Result<usize, String> {
    let n = parse_size(s)? as usize;
    if !(4096..=64 << 20).contains(&n) {
        return Err(format!("{s:?}: expected 4K to 64M"));
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
    fn times_parse_in_three_forms() {
        let now = DateTime::parse_from_rfc3339("2024-05-08T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = |s| parse_time_arg(s, now).unwrap().to_rfc3339();
        assert_eq!(t("2024-05-01T12:00:00Z"), "2024-05-01T12:00:00+00:00");
        assert_eq!(
            t("2024-05-01T14:00:00.5+02:00"),
            "2024-05-01T12:00:00.500+00:00"
        );
        assert_eq!(t("2024-05-01"), "2024-05-01T00:00:00+00:00");
        assert_eq!(t("7d"), "2024-05-01T00:00:00+00:00");
        assert!(parse_time_arg("yesterday", now).is_err());
    }

    #[test]
    fn parse_time_takes_the_same_spellings_as_pull_start() {
        let formatted = |s| parse_timestamp(s).unwrap().to_formatted();
        assert_eq!(formatted("2024-01-01"), "2024-01-01 00:00:00.000000000");
        assert_eq!(
            formatted("2024-01-01T02:00:00.25+02:00"),
            "2024-01-01 00:00:00.250000000"
        );
        assert_eq!(
            formatted("2024-01-01 00:00:00.5"),
            "2024-01-01 00:00:00.500000000"
        );
        let week_ago = parse_timestamp("7d").unwrap();
        let now = Timestamp::from_system(std::time::SystemTime::now());
        let back = now.micros_since_2020() - week_ago.micros_since_2020();
        let week = 7 * 86_400 * 1_000_000;
        assert!(
            (week..week + 60_000_000).contains(&back),
            "7d is a week back: {back} µs"
        );
        let e = parse_timestamp("yesterday").unwrap_err();
        assert!(e.contains("a date like 2024-05-01"), "{e}");
    }

    #[test]
    fn rates() {
        assert!(parse_rate("1.01").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert_eq!(parse_rate("0.25"), Ok(0.25));
    }
}
