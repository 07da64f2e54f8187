//! Timestamps: the strict RFC 3339 reader, Panther's own layout, the unix
//! epoch formats, Panther's custom `strftime` layouts, and the one output form
//! (`YYYY-MM-DD HH:MM:SS.fffffffff`, UTC).
//!
//! The common case (`2017-01-25T15:51:30Z`) is parsed by hand from fixed byte
//! positions; chrono validates the calendar date and does the offset arithmetic,
//! so leap years and day/month/year roll-overs are its job, not ours (docs/CONTRACT.md §4).

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};

/// A point in time, UTC, nanosecond precision, years 0000 to 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(NaiveDateTime);

/// Length of [`Timestamp::write`]'s output, without quotes.
pub const FORMATTED_LEN: usize = 29;

/// How a schema field spells its timestamps (`timeFormat`): a name, or a
/// `strftime` layout (any text with a `%`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// RFC 3339 with `T` and a zone, or Panther's `YYYY-MM-DD HH:MM:SS[.f]` in UTC.
    Rfc3339,
    /// Seconds since the epoch (a number or a numeric string, fraction allowed).
    Unix,
    /// Milliseconds since the epoch.
    UnixMs,
    /// Microseconds since the epoch.
    UnixUs,
    /// Nanoseconds since the epoch.
    UnixNs,
    /// A custom layout (`%Y-%m-%d %H:%M:%S`), read with chrono's `strftime`
    /// specifiers; a layout without a zone (`%z`) is UTC, one without a time
    /// of day is midnight. Kept for the process's life, as schemas are.
    Strftime(&'static str),
}

/// The named formats, as a schema spells them.
pub const TIME_FORMAT_NAMES: [(&str, TimeFormat); 5] = [
    ("rfc3339", TimeFormat::Rfc3339),
    ("unix", TimeFormat::Unix),
    ("unix_ms", TimeFormat::UnixMs),
    ("unix_us", TimeFormat::UnixUs),
    ("unix_ns", TimeFormat::UnixNs),
];

impl TimeFormat {
    /// A format from its schema text: a name, or a `strftime` layout whose
    /// every specifier chrono knows.
    pub fn from_schema(text: &str) -> Result<TimeFormat, String> {
        if let Some((_, f)) = TIME_FORMAT_NAMES.iter().find(|(n, _)| *n == text) {
            return Ok(*f);
        }
        if !text.contains('%') {
            let names: Vec<&str> = TIME_FORMAT_NAMES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown time format {text:?}: use one of {}, or a strftime layout such as \"%Y-%m-%d %H:%M:%S\"",
                names.join(", ")
            ));
        }
        let items = chrono::format::StrftimeItems::new(text);
        if items
            .clone()
            .any(|i| matches!(i, chrono::format::Item::Error))
        {
            return Err(format!(
                "time format {text:?} has a strftime specifier that is not known (%Y %m %d %H %M %S %f %z %b %j %s ... are)"
            ));
        }
        Ok(TimeFormat::Strftime(Box::leak(text.into())))
    }
}

impl<'de> serde::Deserialize<'de> for TimeFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TimeFormat, D::Error> {
        let text = String::deserialize(d)?;
        TimeFormat::from_schema(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses `text` with a `strftime` layout (see [`TimeFormat::Strftime`]):
/// the whole text must match; years 0000-9999.
pub fn parse_strftime(text: &str, layout: &str) -> Option<Timestamp> {
    use chrono::format::{parse, Parsed, StrftimeItems};
    let mut p = Parsed::new();
    parse(&mut p, text, StrftimeItems::new(layout)).ok()?;
    let dt = if p.offset().is_some() {
        p.to_datetime().ok()?.naive_utc()
    } else if let Ok(dt) = p.to_naive_datetime_with_offset(0) {
        dt
    } else {
        p.to_naive_date().ok()?.and_hms_opt(0, 0, 0)?
    };
    in_range(dt)
}

impl Timestamp {
    /// The timestamp of a `SystemTime` such as `now()`.
    pub fn from_system(t: std::time::SystemTime) -> Timestamp {
        let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self::from_unix_nanos(d.as_nanos() as i128).expect("the clock is within years 0000-9999")
    }

    /// Nanoseconds since the epoch; `None` outside years 0000–9999.
    pub fn from_unix_nanos(n: i128) -> Option<Timestamp> {
        let secs = i64::try_from(n.div_euclid(1_000_000_000)).ok()?;
        let nanos = n.rem_euclid(1_000_000_000) as u32;
        let dt = chrono::DateTime::from_timestamp(secs, nanos)?.naive_utc();
        in_range(dt)
    }

    /// Microseconds since 2020-01-01T00:00:00Z (Panther's row-id epoch), saturating at 0.
    pub fn micros_since_2020(&self) -> u64 {
        let epoch = NaiveDate::from_ymd_opt(2020, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid constant date");
        (self.0 - epoch).num_microseconds().unwrap_or(0).max(0) as u64
    }

    /// Appends `YYYY-MM-DD HH:MM:SS.fffffffff` (29 bytes, UTC, no zone suffix).
    pub fn write(&self, out: &mut Vec<u8>) {
        let d = self.0.date();
        let t = self.0.time();
        let mut b = [0u8; FORMATTED_LEN];
        put(&mut b[0..4], d.year() as u32);
        b[4] = b'-';
        put(&mut b[5..7], d.month());
        b[7] = b'-';
        put(&mut b[8..10], d.day());
        b[10] = b' ';
        put(&mut b[11..13], t.hour());
        b[13] = b':';
        put(&mut b[14..16], t.minute());
        b[16] = b':';
        put(&mut b[17..19], t.second());
        b[19] = b'.';
        put(&mut b[20..29], t.nanosecond());
        out.extend_from_slice(&b);
    }

    /// The formatted string (see [`Timestamp::write`]).
    pub fn to_formatted(&self) -> String {
        let mut v = Vec::with_capacity(FORMATTED_LEN);
        self.write(&mut v);
        String::from_utf8(v).expect("ASCII")
    }
}

/// Writes `v` as zero-padded decimal filling `dst` exactly.
#[inline]
fn put(dst: &mut [u8], mut v: u32) {
    for b in dst.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn in_range(dt: NaiveDateTime) -> Option<Timestamp> {
    (0..=9999).contains(&dt.year()).then_some(Timestamp(dt))
}

/// `n` ASCII digits at `s[at..at + n]` as a number.
#[inline]
fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &c in s.get(at..at + n)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parses the RFC 3339 subset docs/CONTRACT.md §4 accepts, or Panther's `YYYY-MM-DD HH:MM:SS[.f]`
/// (UTC). Returns `None` for anything else: surrounding spaces, lowercase `t`/`z`,
/// `+0000`, hour 24, second 60, impossible dates, results outside years 0000–9999.
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let panther = match b[10] {
        b'T' => false,
        b' ' => true,
        _ => return None,
    };
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if !(1..=9).contains(&n) {
            return None;
        }
        nanos = digits(b, start, n)? * 10u32.pow((9 - n) as u32);
    }
    let offset_secs: i64 = if panther {
        if i != b.len() {
            return None;
        }
        0
    } else {
        match b.get(i)? {
            b'Z' if i + 1 == b.len() => 0,
            &sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh = digits(b, i + 1, 2)?;
                let om = digits(b, i + 4, 2)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let v = i64::from(oh * 3600 + om * 60);
                if sign == b'+' {
                    v
                } else {
                    -v
                }
            }
            _ => return None,
        }
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let local = NaiveDate::from_ymd_opt(year as i32, month, day)?
        .and_hms_nano_opt(hour, minute, second, nanos)?;
    if offset_secs == 0 {
        return Some(Timestamp(local));
    }
    in_range(local.checked_sub_signed(TimeDelta::seconds(offset_secs))?)
}

/// Parses an epoch number (given as its JSON literal text or a string) in `format`'s unit.
pub fn parse_unix(text: &str, format: TimeFormat) -> Option<Timestamp> {
    let scale: i128 = match format {
        TimeFormat::Unix => 1_000_000_000,
        TimeFormat::UnixMs => 1_000_000,
        TimeFormat::UnixUs => 1_000,
        TimeFormat::UnixNs => 1,
        TimeFormat::Rfc3339 | TimeFormat::Strftime(_) => return None,
    };
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) || int.len() > 20 {
        return None;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) || (body.contains('.') && frac.is_empty()) {
        return None;
    }
    let whole: i128 = int.parse().ok()?;
    let mut nanos = whole.checked_mul(scale)?;
    // Fraction digits below the nanosecond are dropped.
    let mut unit = scale;
    for c in frac.bytes() {
        unit /= 10;
        if unit == 0 {
            break;
        }
        nanos += i128::from(c - b'0') * unit;
    }
    Timestamp::from_unix_nanos(if neg { -nanos } else { nanos })
}

// --- Output-form arithmetic (the Parquet sink's timestamps and days) ---

/// Nanoseconds since the epoch of a timestamp in the output form
/// `YYYY-MM-DD HH:MM:SS.fffffffff` (29 bytes); `None` when the text is not
/// in that form or the time is outside what an `i64` of nanoseconds holds.
pub fn output_nanos(text: &[u8]) -> Option<i64> {
    let days = output_days(text)?;
    if text.len() != FORMATTED_LEN
        || text[10] != b' '
        || text[13] != b':'
        || text[16] != b':'
        || text[19] != b'.'
    {
        return None;
    }
    let (h, mi, s) = (
        digits(text, 11, 2)?,
        digits(text, 14, 2)?,
        digits(text, 17, 2)?,
    );
    let frac = digits(text, 20, 9)?;
    let secs = i128::from(days) * 86400 + i128::from(h * 3600 + mi * 60 + s);
    i64::try_from(secs * 1_000_000_000 + i128::from(frac)).ok()
}

/// Days since 1970-01-01 of the date that starts an output timestamp.
pub fn output_days(text: &[u8]) -> Option<i32> {
    if text.len() < 10 || text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    let (y, m, d) = (
        digits(text, 0, 4)?,
        digits(text, 5, 2)?,
        digits(text, 8, 2)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y as i64, m, d) as i32)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `YYYY-MM-DD` of a day number (the inverse of [`output_days`]).
pub fn format_day(days: i32) -> String {
    let z = i64::from(days) + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What TIMESTAMP(NANOS) holds, for the reject reason.
pub const NANOS_RANGE: &str =
    "a time Parquet's TIMESTAMP(NANOS) holds (1677-09-21 00:12:43.145224192 to 2262-04-11 23:47:16.854775807)";

/// Whether an output-form timestamp fits Parquet's TIMESTAMP(NANOS); the
/// transform rejects the event otherwise ([`crate::transform::TransformOptions::nanos_range`]).
pub fn check_nanos_range(formatted: &[u8]) -> Result<(), &'static str> {
    match output_nanos(formatted) {
        Some(_) => Ok(()),
        None => Err(NANOS_RANGE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str, l: &str) -> Option<String> {
        parse_strftime(text, l).map(|t| t.to_formatted())
    }

    #[test]
    fn strftime_layouts_are_utc_unless_zoned_and_midnight_without_a_time() {
        let f = "%Y-%m-%d %H:%M:%S";
        assert_eq!(
            layout("2017-01-25 15:51:30", f).as_deref(),
            Some("2017-01-25 15:51:30.000000000")
        );
        assert_eq!(
            layout("2017-01-25T17:51:30+0200", "%Y-%m-%dT%H:%M:%S%z").as_deref(),
            Some("2017-01-25 15:51:30.000000000")
        );
        assert_eq!(
            layout("2024-02-29", "%Y-%m-%d").as_deref(),
            Some("2024-02-29 00:00:00.000000000")
        );
        assert_eq!(layout("2023-02-29", "%Y-%m-%d"), None, "no such day");
        assert_eq!(layout("2017-01-25 15:51:30 junk", f), None, "all of it");
        assert_eq!(layout("2017-01-25", f), None, "a time the layout wants");
        assert!(TimeFormat::from_schema("%Y-%Q").is_err());
        assert!(TimeFormat::from_schema("iso").is_err());
        assert_eq!(TimeFormat::from_schema("unix_ms"), Ok(TimeFormat::UnixMs));
    }

    fn fmt(s: &str) -> Option<String> {
        parse_rfc3339(s).map(|t| t.to_formatted())
    }

    #[test]
    fn common_forms() {
        assert_eq!(
            fmt("2017-01-25T15:51:30Z").unwrap(),
            "2017-01-25 15:51:30.000000000"
        );
        assert_eq!(
            fmt("2017-01-25 15:51:30").unwrap(),
            "2017-01-25 15:51:30.000000000"
        );
        assert_eq!(
            fmt("2017-01-25 15:51:30.5").unwrap(),
            "2017-01-25 15:51:30.500000000"
        );
    }

    #[test]
    fn fraction_one_to_nine_digits() {
        let want = [
            "100000000",
            "120000000",
            "123000000",
            "123400000",
            "123450000",
            "123456000",
            "123456700",
            "123456780",
            "123456789",
        ];
        for (n, w) in (1..=9).zip(want) {
            let s = format!("2020-05-06T07:08:09.{}Z", &"123456789"[..n]);
            assert_eq!(fmt(&s).unwrap(), format!("2020-05-06 07:08:09.{w}"), "{s}");
        }
        assert_eq!(fmt("2020-05-06T07:08:09.1234567891Z"), None);
        assert_eq!(fmt("2020-05-06T07:08:09.Z"), None);
    }

    #[test]
    fn offsets_cross_midnight_and_year_end() {
        assert_eq!(
            fmt("2016-12-31T23:30:00-01:00").unwrap(),
            "2017-01-01 00:30:00.000000000"
        );
        assert_eq!(
            fmt("2017-01-01T00:15:00+05:30").unwrap(),
            "2016-12-31 18:45:00.000000000"
        );
        assert_eq!(
            fmt("2017-03-01T01:00:00+02:00").unwrap(),
            "2017-02-28 23:00:00.000000000"
        );
        assert_eq!(
            fmt("2016-03-01T01:00:00+02:00").unwrap(),
            "2016-02-29 23:00:00.000000000"
        );
        assert_eq!(
            fmt("2020-01-01T00:00:00+00:00").unwrap(),
            "2020-01-01 00:00:00.000000000"
        );
    }

    #[test]
    fn leap_days() {
        assert!(fmt("2016-02-29T00:00:00Z").is_some());
        assert!(fmt("2000-02-29T00:00:00Z").is_some());
        assert_eq!(fmt("2017-02-29T00:00:00Z"), None);
        assert_eq!(fmt("1900-02-29T00:00:00Z"), None);
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            " 2017-01-25T15:51:30Z",
            "2017-01-25T15:51:30Z ",
            "2017-01-25t15:51:30Z",
            "2017-01-25T15:51:30z",
            "2017-01-25T15:51:30+0000",
            "2017-01-25T15:51:30",
            "2017-01-25T24:00:00Z",
            "2017-01-25T23:60:00Z",
            "2017-01-25T23:59:60Z",
            "2017-13-01T00:00:00Z",
            "2017-00-01T00:00:00Z",
            "2017-04-31T00:00:00Z",
            "2017-02-30T00:00:00Z",
            "2017-01-25 15:51:30Z",
            "2017-01-25T15:51:30+24:00",
            "2017-01-25T15:51:30+05:60",
            "2017-1-25T15:51:30Z",
            "17-01-25T15:51:30Z",
            "2017-01-25",
            "0000-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "２０１７-01-25T15:51:30Z",
        ] {
            assert_eq!(fmt(bad), None, "{bad:?} must be rejected");
        }
    }

    #[test]
    fn year_range_edges() {
        assert_eq!(
            fmt("0000-01-01T00:00:00Z").unwrap(),
            "0000-01-01 00:00:00.000000000"
        );
        assert_eq!(
            fmt("9999-12-31T23:59:59.999999999Z").unwrap(),
            "9999-12-31 23:59:59.999999999"
        );
    }

    #[test]
    fn unix_formats() {
        let t = |s, f| parse_unix(s, f).map(|t| t.to_formatted());
        assert_eq!(
            t("1485359490", TimeFormat::Unix).unwrap(),
            "2017-01-25 15:51:30.000000000"
        );
        assert_eq!(
            t("1485359490.25", TimeFormat::Unix).unwrap(),
            "2017-01-25 15:51:30.250000000"
        );
        assert_eq!(
            t("1485359490123", TimeFormat::UnixMs).unwrap(),
            "2017-01-25 15:51:30.123000000"
        );
        assert_eq!(
            t("1485359490123456789", TimeFormat::UnixNs).unwrap(),
            "2017-01-25 15:51:30.123456789"
        );
        assert_eq!(t("abc", TimeFormat::Unix), None);
        assert_eq!(t("1e9", TimeFormat::Unix), None);
        assert_eq!(t("1.", TimeFormat::Unix), None);
    }

    #[test]
    fn row_id_epoch() {
        let t = parse_rfc3339("2020-01-01T00:00:01Z").unwrap();
        assert_eq!(t.micros_since_2020(), 1_000_000);
    }

    #[test]
    fn nanos_of_output_timestamps() {
        assert_eq!(output_nanos(b"1970-01-01 00:00:00.000000000"), Some(0));
        assert_eq!(
            output_nanos(b"2017-01-25 15:51:30.123456789"),
            Some(1_485_359_490_123_456_789)
        );
        assert_eq!(output_nanos(b"1969-12-31 23:59:59.999999999"), Some(-1));
        assert_eq!(
            output_nanos(b"2262-04-11 23:47:16.854775807"),
            Some(i64::MAX)
        );
        assert_eq!(output_nanos(b"2262-04-11 23:47:16.854775808"), None);
        assert_eq!(
            output_nanos(b"1677-09-21 00:12:43.145224192"),
            Some(i64::MIN)
        );
        assert_eq!(output_nanos(b"1677-09-21 00:12:43.145224191"), None);
        assert_eq!(output_nanos(b"9999-12-31 23:59:59.999999999"), None);
        assert_eq!(output_nanos(b"2017-01-25T15:51:30.123456789"), None);
        assert!(check_nanos_range(b"0001-01-01 00:00:00.000000000").is_err());
        assert!(check_nanos_range(b"2024-02-29 00:00:00.000000000").is_ok());
    }

    #[test]
    fn days_round_trip() {
        for text in [
            "1970-01-01",
            "2000-02-29",
            "2024-12-31",
            "1677-09-21",
            "2262-04-11",
        ] {
            let d = output_days(text.as_bytes()).unwrap();
            assert_eq!(format_day(d), text);
        }
        assert_eq!(output_days(b"1970-01-02"), Some(1));
        assert_eq!(output_days(b"1969-12-31"), Some(-1));
    }
}
