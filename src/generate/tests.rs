//! The generator's unit tests: determinism, coverage of the catalogue and of
//! every wire shape, and that its good lines are good and its bad lines bad.

use super::bad_lines::BAD_LINES;
use super::catalogue::catalogue;
use super::rng::Rng;
use super::values::{civil_from_days, days_from_civil, push_str, push_timestamp, T_START};
use super::*;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashSet;

fn gen(count: u64, seed: u64, invalid_rate: f64) -> (Vec<u8>, GenerateStats) {
    let opts = GenerateOptions {
        count: Some(count),
        bytes: None,
        seed,
        invalid_rate,
    };
    let mut out = Vec::new();
    let stats = generate(&opts, &mut out).unwrap();
    (out, stats)
}

fn lines(buf: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
    assert_eq!(v.pop(), Some(&b""[..]), "output ends with a newline");
    v.into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Rejects any object with a key twice (`.tag` and `_tag` count as one).
struct NoDuplicates;

impl<'de> serde::Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDupVisitor)
    }
}

struct NoDupVisitor;

impl<'de> Visitor<'de> for NoDupVisitor {
    type Value = NoDuplicates;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<NoDuplicates, A::Error> {
        while a.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<NoDuplicates, A::Error> {
        let mut seen = HashSet::new();
        while let Some(k) = a.next_key::<String>()? {
            let k = if k == "_tag" { ".tag".to_owned() } else { k };
            if !seen.insert(k.clone()) {
                return Err(de::Error::custom(format!("duplicate key {k}")));
            }
            a.next_value::<NoDuplicates>()?;
        }
        Ok(NoDuplicates)
    }
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// docs/CONTRACT.md §4's timestamp rule, written independently of the generator.
fn check_timestamp(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let err = || Err(format!("bad timestamp {s:?}"));
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return err();
    }
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return err();
    };
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return err();
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return err();
        }
        i += 1 + digits;
    }
    let rest = &b[i..];
    match b[10] {
        b' ' if rest.is_empty() => Ok(()),
        b'T' if rest == b"Z" => Ok(()),
        b'T' if rest.len() == 6 && matches!(rest[0], b'+' | b'-') && rest[3] == b':' => {
            match (num(i + 1..i + 3), num(i + 4..i + 6)) {
                (Some(oh), Some(om)) if oh < 24 && om < 60 => Ok(()),
                _ => err(),
            }
        }
        _ => err(),
    }
}

fn check_user_like(v: &Value, at: &str) -> Result<(), String> {
    let Some(o) = v.as_object() else {
        return Err(format!("{at}: not an object"));
    };
    for k in ["account_id", "display_name", "email", ".tag"] {
        if let Some(x) = o.get(k) {
            if x.is_object() || x.is_array() {
                return Err(format!("{at}.{k}: object or array"));
            }
        }
    }
    Ok(())
}

/// Whether teamlog would accept the line as one event: an independent,
/// deliberately simple reading of docs/CONTRACT.md §2–§4, enough to tell the
/// generator's good lines from its bad ones.
fn check_event(line: &[u8]) -> Result<Value, String> {
    let s = std::str::from_utf8(line).map_err(|e| e.to_string())?;
    serde_json::from_str::<NoDuplicates>(s).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(s).map_err(|e| e.to_string())?;
    let o = v.as_object().ok_or("not an object")?;
    if o.contains_key("error_summary") {
        return Err("API error".into());
    }
    let ts = o
        .get("timestamp")
        .and_then(Value::as_str)
        .ok_or("timestamp")?;
    check_timestamp(ts)?;
    match o.get("event_category") {
        Some(Value::String(_)) => {}
        Some(Value::Object(c)) if c.get(".tag").is_some_and(Value::is_string) => {}
        _ => return Err("event_category".into()),
    }
    match o.get("event_type") {
        Some(Value::Object(t)) if t.get(".tag").is_some_and(Value::is_string) => {}
        _ => return Err("event_type".into()),
    }
    if o.get("details").is_none_or(Value::is_null) {
        return Err("details".into());
    }
    if let Some(a) = o.get("actor") {
        let a = a.as_object().ok_or("actor")?;
        for k in ["user", "admin", "app"] {
            if let Some(u) = a.get(k) {
                check_user_like(u, k)?;
            }
        }
    }
    if let Some(c) = o.get("context") {
        check_user_like(c, "context")?;
    }
    if let Some(b) = o.get("involve_non_team_member") {
        if !b.is_boolean() {
            return Err("involve_non_team_member".into());
        }
    }
    if let Some(p) = o.get("participants") {
        for e in p.as_array().ok_or("participants")? {
            if let Some(u) = e.get("user") {
                check_user_like(u, "participants[].user")?;
            }
        }
    }
    if let Some(g) = o.get("origin").and_then(|x| x.get("geo_location")) {
        if let Some(ip) = g.get("ip_address") {
            if !ip.is_string() {
                return Err("ip_address".into());
            }
        }
    }
    Ok(v)
}

fn catalogue_size() -> u64 {
    catalogue().types.len() as u64
}

#[test]
fn catalogue_has_every_type_and_current_category() {
    let cat = catalogue();
    assert_eq!(cat.types.len(), 643);
    assert_eq!(cat.categories.len(), 26);
    let ctx = Ctx::new(1, 0.0);
    let rng = &mut Rng::new(1);
    for t in &cat.types {
        let mut out = Vec::new();
        t.details.fill(rng, &ctx.pools, false, &mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[".tag"], format!("{}_details", t.tag));
    }
}

#[test]
fn same_seed_same_bytes() {
    assert_eq!(gen(5000, 7, 0.05).0, gen(5000, 7, 0.05).0);
}

#[test]
fn thread_count_does_not_change_the_bytes() {
    let opts = GenerateOptions {
        count: Some(5 * BLOCK_LINES + 17),
        invalid_rate: 0.03,
        ..GenerateOptions::default()
    };
    let run = |workers| {
        let mut out = Vec::new();
        let stats = generate_with_workers(&opts, &mut out, workers).unwrap();
        (out, stats)
    };
    let one = run(1);
    assert_eq!(run(2), one);
    assert_eq!(run(3), one);
    let opts = GenerateOptions {
        bytes: Some(7_654_321),
        ..GenerateOptions::default()
    };
    let mut a = Vec::new();
    let mut b = Vec::new();
    generate_with_workers(&opts, &mut a, 1).unwrap();
    generate_with_workers(&opts, &mut b, 4).unwrap();
    assert_eq!(a, b);
}

#[test]
fn different_seeds_differ() {
    assert_ne!(gen(100, 1, 0.0).0, gen(100, 2, 0.0).0);
}

#[test]
fn a_shorter_run_is_a_prefix_of_a_longer_one() {
    let (short, _) = gen(3000, 3, 0.1);
    let (long, _) = gen(9000, 3, 0.1);
    assert!(long.starts_with(&short));
}

#[test]
fn every_line_is_a_valid_event_without_invalid_rate() {
    let (buf, stats) = gen(3 * catalogue_size(), 11, 0.0);
    let lines = lines(&buf);
    assert_eq!(lines.len() as u64, stats.lines);
    assert_eq!(stats.valid, stats.lines);
    assert_eq!(stats.bytes, buf.len() as u64);
    for line in lines {
        if let Err(e) = check_event(line) {
            panic!("{e}: {}", String::from_utf8_lossy(line));
        }
    }
}

#[test]
fn every_category_event_type_and_wire_shape_appears() {
    let cat = catalogue();
    let (buf, _) = gen(3 * catalogue_size(), 5, 0.0);
    let mut types = HashSet::new();
    let mut categories = HashSet::new();
    let mut shapes = HashSet::new();
    let tag = |v: &Value| v[".tag"].as_str().unwrap_or("").to_owned();
    for line in lines(&buf) {
        let v: Value = serde_json::from_slice(line).unwrap();
        let t = tag(&v["event_type"]);
        let c = match &v["event_category"] {
            Value::String(s) => s.clone(),
            other => tag(other),
        };
        let ty = cat.types.iter().find(|x| x.tag == t).expect("known type");
        assert_eq!(cat.categories[ty.category].tag, c, "category of {t}");
        let desc = v["event_type"]["description"].as_str().unwrap();
        assert!(desc.starts_with(&format!("({c}) ")), "{desc}");
        assert_eq!(tag(&v["details"]), format!("{t}_details"));
        types.insert(t);
        categories.insert(c);
        let actor = &v["actor"];
        let inner = tag(&actor[tag(actor)]);
        shapes.insert(format!("actor {}({inner})", tag(actor)));
        shapes.insert(format!("context {}", tag(&v["context"])));
        let am = &v["origin"]["access_method"];
        shapes.insert(format!("access {}({})", tag(am), tag(&am["end_user"])));
        for p in v["participants"].as_array().into_iter().flatten() {
            shapes.insert(format!("participant {}({})", tag(p), tag(&p["user"])));
        }
        for a in v["assets"].as_array().into_iter().flatten() {
            shapes.insert(format!("asset {}", tag(a)));
        }
        if let Some(ip) = v["origin"]["geo_location"]["ip_address"].as_str() {
            let ip: std::net::IpAddr = ip.trim().parse().unwrap();
            shapes.insert(format!("ip v{}", if ip.is_ipv4() { 4 } else { 6 }));
        }
    }
    assert_eq!(types.len(), cat.types.len());
    assert_eq!(categories.len(), 26);
    for want in [
        "actor user(team_member)",
        "actor user(non_team_member)",
        "actor user(trusted_non_team_member)",
        "actor admin(team_member)",
        "actor app(team_linked_app)",
        "actor app(user_linked_app)",
        "actor reseller()",
        "actor dropbox()",
        "actor anonymous()",
        "context team_member",
        "context non_team_member",
        "context trusted_non_team_member",
        "context organization_team",
        "context team",
        "context anonymous",
        "participant user(team_member)",
        "participant user(non_team_member)",
        "participant group()",
        "access end_user(web)",
        "access end_user(desktop)",
        "access end_user(mobile)",
        "access sign_in_as()",
        "access admin_console()",
        "access content_manager()",
        "access enterprise_console()",
        "access api()",
        "asset file",
        "asset folder",
        "asset paper_document",
        "asset paper_folder",
        "asset showcase_document",
        "ip v4",
        "ip v6",
    ] {
        assert!(shapes.contains(want), "{want} never generated");
    }
}

#[test]
fn texture_of_real_archives_appears() {
    let (buf, _) = gen(20_000, 9, 0.0);
    let text = String::from_utf8(buf.clone()).unwrap();
    for needle in [
        "\\\"",                  // escaped quote
        "\\\\",                  // escaped backslash
        "\\n",                   // escaped newline
        "\\u00e9",               // é written as an escape
        "\\ud83e\\udd80",        // 🦀 as a surrogate pair (ASCII-only events)
        "🦀",                    // outside the BMP, raw
        "山田",                  // CJK
        "محمد",                  // Arabic
        "דוד",                   // Hebrew
        "\"event_category\":\"", // compact union
        "+05:30\"",
        "-08:00\"",
        "\r\n",
    ] {
        assert!(text.contains(needle), "{needle:?} never generated");
    }
    let mut fractions = HashSet::new();
    let mut panther_form = false;
    let mut missing_involve = false;
    let mut sizes = Vec::new();
    let mut max_participants = 0;
    for line in lines(&buf) {
        sizes.push(line.len());
        let v: Value = serde_json::from_slice(line).unwrap();
        let ts = v["timestamp"].as_str().unwrap();
        if let Some(dot) = ts.find('.') {
            let digits = ts[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
            fractions.insert(digits);
        }
        panther_form |= ts.as_bytes()[10] == b' ';
        missing_involve |= v.get("involve_non_team_member").is_none();
        max_participants = max_participants.max(v["participants"].as_array().map_or(0, Vec::len));
    }
    assert_eq!(
        fractions.len(),
        9,
        "fractions of 1..=9 digits: {fractions:?}"
    );
    assert!(panther_form && missing_involve);
    assert!(max_participants >= 100, "{max_participants}");
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    assert!((700..=2000).contains(&median), "median event size {median}");
    let big = sizes.iter().filter(|&&s| s >= 10_000).count();
    let share = big as f64 / sizes.len() as f64;
    assert!(
        (0.01..0.03).contains(&share),
        "share of large events {share}"
    );
    assert!(*sizes.last().unwrap() <= 100_000);
}

#[test]
fn invalid_rate_is_honoured() {
    let (buf, stats) = gen(20_000, 4, 0.1);
    assert_eq!(stats.lines, stats.valid + stats.invalid + stats.blank);
    let share = stats.invalid as f64 / stats.lines as f64;
    assert!((0.09..0.11).contains(&share), "invalid share {share}");
    assert!(stats.blank > 0);
    let (mut valid, mut invalid, mut blank) = (0, 0, 0);
    for line in lines(&buf) {
        if is_blank(line) {
            blank += 1;
        } else if check_event(line).is_ok() {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert_eq!(
        (valid, invalid, blank),
        (stats.valid, stats.invalid, stats.blank)
    );
}

#[test]
fn every_bad_line_is_bad() {
    let n = BAD_LINES.len() as u64;
    let (buf, stats) = gen(3 * n, 2, 1.0);
    assert_eq!(stats.invalid, 3 * n);
    for line in lines(&buf) {
        assert!(
            check_event(line).is_err(),
            "accepted: {}",
            String::from_utf8_lossy(line)
        );
        assert!(!is_blank(line));
    }
    let names: HashSet<_> = BAD_LINES.iter().map(|b| b.name).collect();
    assert_eq!(names.len(), BAD_LINES.len(), "names are unique");
}

#[test]
fn bytes_limit_stops_at_a_line_end() {
    for limit in [0, 1, 5000, 3_000_000, 9_000_000] {
        let opts = GenerateOptions {
            bytes: Some(limit),
            ..GenerateOptions::default()
        };
        let mut out = Vec::new();
        let stats = generate(&opts, &mut out).unwrap();
        assert_eq!(stats.bytes, out.len() as u64);
        if limit == 0 {
            assert!(out.is_empty());
            continue;
        }
        assert!(out.len() as u64 >= limit && out.ends_with(b"\n"));
        let without_last = out[..out.len() - 1].iter().rposition(|&b| b == b'\n');
        assert!(without_last.map_or(0, |p| p + 1) < limit as usize);
    }
}

#[test]
fn count_and_bytes_together_stop_at_the_first_limit() {
    let opts = GenerateOptions {
        count: Some(10),
        bytes: Some(1 << 30),
        ..GenerateOptions::default()
    };
    assert_eq!(generate(&opts, Vec::new()).unwrap().lines, 10);
    let opts = GenerateOptions {
        count: Some(1_000_000),
        bytes: Some(100_000),
        ..GenerateOptions::default()
    };
    assert!(generate(&opts, Vec::new()).unwrap().lines < 1000);
    assert_eq!(
        generate(&GenerateOptions::default(), Vec::new())
            .unwrap()
            .lines,
        DEFAULT_COUNT
    );
}

#[test]
fn rejects_rates_outside_zero_to_one() {
    for rate in [-0.1, 1.5, f64::NAN] {
        let opts = GenerateOptions {
            invalid_rate: rate,
            ..GenerateOptions::default()
        };
        assert!(generate(&opts, Vec::new()).is_err());
    }
}

#[test]
fn timestamps_stay_in_range_and_calendar_helpers_agree() {
    for days in [-1, 0, 59, 60, 365, 17_167, 20_000, 2_932_896] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m as i64, d as i64), days);
    }
    assert_eq!(T_START, 1_483_228_800);
    let mut rng = Rng::new(3);
    let mut out = Vec::new();
    for _ in 0..10_000 {
        out.clear();
        push_timestamp(&mut out, &mut rng);
        let s = std::str::from_utf8(&out[1..out.len() - 1]).unwrap();
        check_timestamp(s).unwrap();
    }
}

#[test]
fn ascii_escaping_matches_python() {
    let mut out = Vec::new();
    push_str(&mut out, "é🦀\"\\\n\u{1}", true);
    assert_eq!(out, b"\"\\u00e9\\ud83e\\udd80\\\"\\\\\\n\\u0001\"");
    out.clear();
    push_str(&mut out, "é🦀", false);
    assert_eq!(out, "\"é🦀\"".as_bytes());
}

#[test]
fn prng_stream_is_stable() {
    // Pinned: changing these numbers changes every corpus ever quoted by seed.
    let mut rng = Rng::new(1);
    let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
    assert_eq!(
        got,
        [
            0xdf22_4094_142b_4b65,
            0x2c4a_6c52_df8d_f139,
            0x0e07_980a_8cf7_1b3a
        ]
    );
}
