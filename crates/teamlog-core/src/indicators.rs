//! Indicators: the `p_any_*` columns Panther fills from fields that carry
//! `indicators:` in the schema (docs/CONTRACT.md §5).
//!
//! This module owns the kinds a schema may name, the rule that decides whether a
//! value is kept (trimmed, then checked per kind), and the per-event collector
//! that sorts and deduplicates the values before they are written.

use crate::json::write_json_str;

/// An indicator kind as a schema spells it (`indicators: [ip, email]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    Ip,
    Email,
    Username,
    Domain,
    Hostname,
    Mac,
    Md5,
    Sha1,
    Sha256,
    TraceId,
    AwsArn,
    AwsAccountId,
    AwsInstanceId,
    AwsTag,
}

/// The output column a value lands in. The order of the variants is the order of
/// the columns in the output: docs/CONTRACT.md §5 names ip, email and username first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Bucket {
    IpAddresses,
    Emails,
    Usernames,
    DomainNames,
    MacAddresses,
    Md5Hashes,
    Sha1Hashes,
    Sha256Hashes,
    TraceIds,
    AwsArns,
    AwsAccountIds,
    AwsInstanceIds,
    AwsTags,
}

impl Bucket {
    pub const ALL: [Bucket; 13] = [
        Bucket::IpAddresses,
        Bucket::Emails,
        Bucket::Usernames,
        Bucket::DomainNames,
        Bucket::MacAddresses,
        Bucket::Md5Hashes,
        Bucket::Sha1Hashes,
        Bucket::Sha256Hashes,
        Bucket::TraceIds,
        Bucket::AwsArns,
        Bucket::AwsAccountIds,
        Bucket::AwsInstanceIds,
        Bucket::AwsTags,
    ];

    /// The output column, e.g. `p_any_ip_addresses`.
    pub fn column(self) -> &'static str {
        match self {
            Bucket::IpAddresses => "p_any_ip_addresses",
            Bucket::Emails => "p_any_emails",
            Bucket::Usernames => "p_any_usernames",
            Bucket::DomainNames => "p_any_domain_names",
            Bucket::MacAddresses => "p_any_mac_addresses",
            Bucket::Md5Hashes => "p_any_md5_hashes",
            Bucket::Sha1Hashes => "p_any_sha1_hashes",
            Bucket::Sha256Hashes => "p_any_sha256_hashes",
            Bucket::TraceIds => "p_any_trace_ids",
            Bucket::AwsArns => "p_any_aws_arns",
            Bucket::AwsAccountIds => "p_any_aws_account_ids",
            Bucket::AwsInstanceIds => "p_any_aws_instance_ids",
            Bucket::AwsTags => "p_any_aws_tags",
        }
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|c| c.is_ascii_hexdigit())
}

impl IndicatorKind {
    /// Where a value of this kind goes, after trimming, or `None` when it is dropped.
    pub fn classify(self, v: &str) -> Option<Bucket> {
        if v.is_empty() {
            return None;
        }
        let ip = || v.parse::<std::net::IpAddr>().is_ok();
        match self {
            IndicatorKind::Ip => ip().then_some(Bucket::IpAddresses),
            IndicatorKind::Email => v.contains('@').then_some(Bucket::Emails),
            IndicatorKind::Username => Some(Bucket::Usernames),
            IndicatorKind::Domain => Some(Bucket::DomainNames),
            IndicatorKind::Hostname if ip() => Some(Bucket::IpAddresses),
            IndicatorKind::Hostname => Some(Bucket::DomainNames),
            IndicatorKind::Mac => {
                let hex: String = v
                    .chars()
                    .filter(|c| !matches!(c, ':' | '-' | '.'))
                    .collect();
                is_hex(&hex, 12).then_some(Bucket::MacAddresses)
            }
            IndicatorKind::Md5 => is_hex(v, 32).then_some(Bucket::Md5Hashes),
            IndicatorKind::Sha1 => is_hex(v, 40).then_some(Bucket::Sha1Hashes),
            IndicatorKind::Sha256 => is_hex(v, 64).then_some(Bucket::Sha256Hashes),
            IndicatorKind::TraceId => Some(Bucket::TraceIds),
            IndicatorKind::AwsArn => v.starts_with("arn:").then_some(Bucket::AwsArns),
            IndicatorKind::AwsAccountId => v
                .bytes()
                .all(|c| c.is_ascii_digit())
                .then_some(Bucket::AwsAccountIds)
                .filter(|_| v.len() == 12),
            IndicatorKind::AwsInstanceId => v.starts_with("i-").then_some(Bucket::AwsInstanceIds),
            IndicatorKind::AwsTag => Some(Bucket::AwsTags),
        }
    }
}

/// Trims what docs/CONTRACT.md §5 trims: Unicode white space at both ends.
#[inline]
pub fn trim(v: &str) -> &str {
    // Printable ASCII at both ends (nearly every value) is not white space;
    // skip `str::trim`'s decoding of the first and last characters.
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x80);
    if plain(v.as_bytes().first()) && plain(v.as_bytes().last()) {
        return v;
    }
    v.trim()
}

/// One event's indicator values. Values are appended to one text buffer and
/// addressed by range, so collecting allocates nothing once warm.
#[derive(Default, Debug)]
pub struct Collector {
    text: String,
    items: Vec<Item>,
}

/// A value in `Collector::text`, with a sort key: the bucket in the top byte,
/// then the value's first 7 bytes (zero-padded), big-endian. Keys compare as
/// (bucket, bytes) do, so most comparisons need not look at the text.
#[derive(Clone, Copy, Debug)]
struct Item {
    key: u64,
    start: u32,
    end: u32,
    /// The value may hold characters JSON must escape.
    escape: bool,
}

impl Item {
    fn new(bucket: Bucket, v: &[u8], start: u32, end: u32, escape: bool) -> Item {
        let mut k = [0u8; 8];
        k[0] = bucket as u8;
        let n = v.len().min(7);
        k[1..1 + n].copy_from_slice(&v[..n]);
        Item {
            key: u64::from_be_bytes(k),
            start,
            end,
            escape,
        }
    }

    fn bucket(self) -> u8 {
        (self.key >> 56) as u8
    }
}

impl Collector {
    pub fn clear(&mut self) {
        self.text.clear();
        self.items.clear();
    }

    /// Adds `value` (unescaped) for every kind in `kinds` that keeps it.
    pub fn add(&mut self, kinds: &[IndicatorKind], value: &str) {
        self.add_text(kinds, value, true);
    }

    /// [`add`](Self::add) for a value that needs no JSON escaping (it was a
    /// string literal without escapes, or a number), so that [`write`](Self::write)
    /// can copy it instead of escaping it: most values are such.
    pub fn add_verbatim(&mut self, kinds: &[IndicatorKind], value: &str) {
        self.add_text(kinds, value, false);
    }

    fn add_text(&mut self, kinds: &[IndicatorKind], value: &str, escape: bool) {
        let v = trim(value);
        let mut stored: Option<(u32, u32)> = None;
        for &k in kinds {
            if let Some(b) = k.classify(v) {
                let (s, e) = *stored.get_or_insert_with(|| {
                    let s = self.text.len() as u32;
                    self.text.push_str(v);
                    (s, self.text.len() as u32)
                });
                self.items.push(Item::new(b, v.as_bytes(), s, e, escape));
            }
        }
    }

    /// Writes `,"p_any_x":[...]` for every non-empty bucket, values sorted
    /// byte-wise without duplicates.
    pub fn write(&mut self, out: &mut Vec<u8>) {
        let text = &self.text;
        let get = |i: &Item| &text.as_bytes()[i.start as usize..i.end as usize];
        self.items
            .sort_unstable_by(|a, b| a.key.cmp(&b.key).then_with(|| get(a).cmp(get(b))));
        let mut prev: Option<(u8, &[u8])> = None;
        for item in &self.items {
            let (bucket, v) = (item.bucket(), get(item));
            match prev {
                Some((pb, pv)) if pb == bucket && pv == v => continue,
                Some((pb, _)) if pb == bucket => out.push(b','),
                Some(_) => {
                    out.extend_from_slice(b"],\"");
                    out.extend_from_slice(Bucket::ALL[bucket as usize].column().as_bytes());
                    out.extend_from_slice(b"\":[");
                }
                None => {
                    out.extend_from_slice(b",\"");
                    out.extend_from_slice(Bucket::ALL[bucket as usize].column().as_bytes());
                    out.extend_from_slice(b"\":[");
                }
            }
            if item.escape {
                write_json_str(out, &text[item.start as usize..item.end as usize]);
            } else {
                out.push(b'"');
                out.extend_from_slice(v);
                out.push(b'"');
            }
            prev = Some((bucket, v));
        }
        if prev.is_some() {
            out.push(b']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(items: &[(IndicatorKind, &str)]) -> String {
        let mut c = Collector::default();
        for (k, v) in items {
            c.add(&[*k], v);
        }
        let mut out = Vec::new();
        c.write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn trimmed_checked_sorted_deduplicated() {
        use IndicatorKind::*;
        let got = collect(&[
            (Username, "zed"),
            (Ip, " 10.0.0.1 "),
            (Ip, "not an ip"),
            (Ip, "2001:db8::1"),
            (Email, "no-at-sign"),
            (Email, "b@x.io"),
            (Email, "a@x.io"),
            (Email, "b@x.io"),
            (Username, "  "),
            (Username, "Ann"),
        ]);
        assert_eq!(
            got,
            r#","p_any_ip_addresses":["10.0.0.1","2001:db8::1"],"p_any_emails":["a@x.io","b@x.io"],"p_any_usernames":["Ann","zed"]"#
        );
    }

    #[test]
    fn bucket_table_is_in_discriminant_order() {
        for (i, b) in Bucket::ALL.into_iter().enumerate() {
            assert_eq!(b as usize, i);
        }
    }

    #[test]
    fn sorted_by_bytes_past_the_key_prefix_and_with_nul() {
        use IndicatorKind::*;
        let got = collect(&[
            (Username, "abcdefgh2"),
            (Username, "abcdefgh10"),
            (Username, "ab\u{0}"),
            (Username, "ab"),
            (Username, "abcdefgh2"),
        ]);
        assert_eq!(
            got,
            r#","p_any_usernames":["ab","ab\u0000","abcdefgh10","abcdefgh2"]"#
        );
    }

    #[test]
    fn verbatim_values_write_and_deduplicate_like_escaped_ones() {
        let mut c = Collector::default();
        c.add_verbatim(&[IndicatorKind::Username], " Ann ");
        c.add(&[IndicatorKind::Username], "Ann");
        c.add(&[IndicatorKind::Username], "a\"b");
        c.add_verbatim(&[IndicatorKind::Ip], "10.0.0.1");
        let mut out = Vec::new();
        c.write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#","p_any_ip_addresses":["10.0.0.1"],"p_any_usernames":["Ann","a\"b"]"#
        );
    }

    #[test]
    fn empty_collector_writes_nothing() {
        assert_eq!(collect(&[]), "");
        assert_eq!(collect(&[(IndicatorKind::Ip, "999.1.1.1")]), "");
    }

    #[test]
    fn escapes_values() {
        assert_eq!(
            collect(&[(IndicatorKind::Username, "a\"b")]),
            r#","p_any_usernames":["a\"b"]"#
        );
    }
}
