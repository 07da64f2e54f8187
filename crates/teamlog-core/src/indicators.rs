//! Indicators: the `p_any_*` columns Panther fills from fields that carry
//! `indicators:` in the schema (docs/CONTRACT.md §5).
//!
//! This module owns the one kind → column table ([`IndicatorKind::buckets`]),
//! the rule by which each kind takes values out of a field (trimmed, then
//! checked, split or rewritten per kind: [`IndicatorKind::scan`]), the fixed
//! order of the columns ([`Bucket::ALL`]), and the per-event collector that
//! sorts and deduplicates the values before they are written.

use crate::json::write_json_str;
use std::borrow::Cow;

/// An enum and its `ALL`, every variant in the order written, from one list.
macro_rules! enum_with_all {
    ($(#[$m:meta])* pub enum $name:ident { $($v:ident),* $(,)? } $all:literal) => {
        $(#[$m])*
        pub enum $name {
            $($v),*
        }

        impl $name {
            #[doc = $all]
            pub const ALL: [$name; [$($name::$v),*].len()] = [$($name::$v),*];
        }
    };
}

enum_with_all! {
    /// An indicator kind as a schema spells it (`indicators: [ip, email]`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum IndicatorKind {
        Ip,
        Domain,
        Hostname,
        Url,
        NetAddr,
        Md5,
        Sha1,
        Sha256,
        TraceId,
        AwsAccountId,
        AwsInstanceId,
        AwsArn,
        AwsTag,
        Email,
        Username,
        ActorId,
        Mac,
    }
    "Every kind, in the order above."
}

enum_with_all! {
    /// The output column a value lands in. The order of the variants is the order of
    /// the columns in the output: docs/CONTRACT.md §5 names ip, email and
    /// username first, the rest follow in the order of docs/schema.md.
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
        ActorIds,
    }
    "Every column, in output order."
}

impl Bucket {
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
            Bucket::ActorIds => "p_any_actor_ids",
        }
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|c| c.is_ascii_hexdigit())
}

fn is_ip(v: &str) -> bool {
    v.parse::<std::net::IpAddr>().is_ok()
}

/// A hash in lower case: `Some` only for `len` hex digits.
fn hash(v: &str, len: usize) -> Option<Cow<'_, str>> {
    if !is_hex(v, len) {
        return None;
    }
    Some(if v.bytes().any(|c| c.is_ascii_uppercase()) {
        Cow::Owned(v.to_ascii_lowercase())
    } else {
        Cow::Borrowed(v)
    })
}

/// The host of a URL (`scheme://user@host:port/path`, or `//host/...`),
/// without brackets around an IPv6 address; `None` when there is no host.
fn url_host(v: &str) -> Option<&str> {
    let rest = match v.find("://") {
        Some(i) => {
            let scheme = &v[..i];
            let mut c = scheme.chars();
            let ok = c.next().is_some_and(|c| c.is_ascii_alphabetic())
                && c.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !ok {
                return None;
            }
            &v[i + 3..]
        }
        None => v.strip_prefix("//")?,
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let hostport = match authority.rfind('@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    let host = if let Some(inner) = hostport.strip_prefix('[') {
        &inner[..inner.find(']')?]
    } else {
        &hostport[..hostport.find(':').unwrap_or(hostport.len())]
    };
    (!host.is_empty()).then_some(host)
}

/// The host of `host:port` or `[v6]:port`; the whole value when it is not
/// of that form (a bare name or IPv6 address), as Go's `SplitHostPort` decides.
fn split_host_port(v: &str) -> &str {
    if let Some(inner) = v.strip_prefix('[') {
        return match inner.split_once("]:") {
            Some((host, _)) if !host.contains(']') => host,
            _ => v,
        };
    }
    match v.rsplit_once(':') {
        Some((host, _)) if !host.contains(':') => host,
        _ => v,
    }
}

/// A domain name with its `xn--` labels decoded to Unicode; labels that do
/// not decode are kept as they are.
fn domain(v: &str) -> Cow<'_, str> {
    let has_ace = |l: &str| l.len() > 4 && l.as_bytes()[..4].eq_ignore_ascii_case(b"xn--");
    if !v.split('.').any(has_ace) {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len());
    for (i, label) in v.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        match has_ace(label)
            .then(|| punycode_decode(&label[4..]))
            .flatten()
        {
            Some(decoded) => out.push_str(&decoded),
            None => out.push_str(label),
        }
    }
    Cow::Owned(out)
}

/// Decodes the part of an IDNA label after `xn--` (RFC 3492, Punycode).
fn punycode_decode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    fn adapt(mut delta: u32, points: u32, first: bool) -> u32 {
        delta /= if first { DAMP } else { 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
    }
    if !input.is_ascii() {
        return None;
    }
    let (basic, extended) = match input.rfind('-') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => ("", input),
    };
    let mut out: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (128u32, 0u32, 72u32);
    let mut digits = extended.bytes().peekable();
    while digits.peek().is_some() {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let digit = match digits.next()? {
                c @ b'a'..=b'z' => u32::from(c - b'a'),
                c @ b'A'..=b'Z' => u32::from(c - b'A'),
                c @ b'0'..=b'9' => u32::from(c - b'0') + 26,
                _ => return None,
            };
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = if k <= bias {
                T_MIN
            } else if k >= bias + T_MAX {
                T_MAX
            } else {
                k - bias
            };
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = out.len() as u32 + 1;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        out.insert(i as usize, char::from_u32(n)?);
        i += 1;
    }
    Some(out.into_iter().collect())
}

impl IndicatorKind {
    /// The one kind → column table: every column a value of this kind may
    /// land in (a schema's `p_any_*` columns are the union over its kinds).
    pub fn buckets(self) -> &'static [Bucket] {
        use Bucket::*;
        match self {
            IndicatorKind::Ip => &[IpAddresses],
            IndicatorKind::Domain => &[DomainNames],
            IndicatorKind::Hostname | IndicatorKind::Url | IndicatorKind::NetAddr => {
                &[IpAddresses, DomainNames]
            }
            IndicatorKind::Md5 => &[Md5Hashes],
            IndicatorKind::Sha1 => &[Sha1Hashes],
            IndicatorKind::Sha256 => &[Sha256Hashes],
            IndicatorKind::TraceId => &[TraceIds],
            IndicatorKind::AwsAccountId => &[AwsAccountIds],
            IndicatorKind::AwsInstanceId => &[AwsInstanceIds],
            IndicatorKind::AwsArn => &[AwsArns, AwsAccountIds, AwsInstanceIds],
            IndicatorKind::AwsTag => &[AwsTags],
            IndicatorKind::Email => &[Emails],
            IndicatorKind::Username => &[Usernames],
            IndicatorKind::ActorId => &[ActorIds],
            IndicatorKind::Mac => &[MacAddresses],
        }
    }

    /// For the kinds that keep a value whole or drop it (most values, and
    /// all of Dropbox's), which: `Some(Some(column))` keeps `v`,
    /// `Some(None)` drops it, `None` means [`scan`](Self::scan) decides.
    #[inline(always)]
    fn whole(self, v: &str) -> Option<Option<Bucket>> {
        Some(match self {
            IndicatorKind::Ip => is_ip(v).then_some(Bucket::IpAddresses),
            IndicatorKind::Email => v.contains('@').then_some(Bucket::Emails),
            IndicatorKind::Username => Some(Bucket::Usernames),
            IndicatorKind::TraceId => Some(Bucket::TraceIds),
            IndicatorKind::AwsTag => Some(Bucket::AwsTags),
            IndicatorKind::ActorId => Some(Bucket::ActorIds),
            IndicatorKind::AwsAccountId => is_account_id(v).then_some(Bucket::AwsAccountIds),
            IndicatorKind::AwsInstanceId => v.starts_with("i-").then_some(Bucket::AwsInstanceIds),
            _ => return None,
        })
    }

    /// Calls `put` for every value this kind takes out of `v` (already
    /// trimmed and non-empty), with the column it lands in. A value `put`
    /// gets is `v` itself, a slice of it, or (hashes in upper case, `xn--`
    /// domains) a rewritten copy.
    pub fn scan<'v>(self, v: &'v str, put: &mut impl FnMut(Bucket, Cow<'v, str>)) {
        let same = Cow::Borrowed(v);
        if let Some(keep) = self.whole(v) {
            if let Some(b) = keep {
                put(b, same);
            }
            return;
        }
        match self {
            IndicatorKind::Ip
            | IndicatorKind::Email
            | IndicatorKind::Username
            | IndicatorKind::TraceId
            | IndicatorKind::AwsTag
            | IndicatorKind::ActorId
            | IndicatorKind::AwsAccountId
            | IndicatorKind::AwsInstanceId => unreachable!("kept or dropped whole"),
            IndicatorKind::Domain => put(Bucket::DomainNames, domain(v)),
            IndicatorKind::Hostname => host(v, put),
            IndicatorKind::Url => {
                if let Some(h) = url_host(v) {
                    host(h, put)
                }
            }
            IndicatorKind::NetAddr => {
                let h = split_host_port(v);
                if !h.is_empty() {
                    host(h, put)
                }
            }
            IndicatorKind::Md5 => put_some(put, Bucket::Md5Hashes, hash(v, 32)),
            IndicatorKind::Sha1 => put_some(put, Bucket::Sha1Hashes, hash(v, 40)),
            IndicatorKind::Sha256 => put_some(put, Bucket::Sha256Hashes, hash(v, 64)),
            IndicatorKind::AwsArn => arn(v, put),
            IndicatorKind::Mac => {
                let hex: String = v
                    .chars()
                    .filter(|c| !matches!(c, ':' | '-' | '.'))
                    .collect();
                if is_hex(&hex, 12) {
                    put(Bucket::MacAddresses, same)
                }
            }
        }
    }
}

fn put_some<'v>(put: &mut impl FnMut(Bucket, Cow<'v, str>), b: Bucket, v: Option<Cow<'v, str>>) {
    if let Some(v) = v {
        put(b, v)
    }
}

/// A host name or address: an IP address, else a domain name.
fn host<'v>(h: &'v str, put: &mut impl FnMut(Bucket, Cow<'v, str>)) {
    if is_ip(h) {
        put(Bucket::IpAddresses, Cow::Borrowed(h))
    } else {
        put(Bucket::DomainNames, domain(h))
    }
}

fn is_account_id(v: &str) -> bool {
    v.len() == 12 && v.bytes().all(|c| c.is_ascii_digit())
}

/// `arn:partition:service:region:account-id:resource`: the ARN, its account
/// id, and the instance id of an EC2 `instance/i-...` resource.
fn arn<'v>(v: &'v str, put: &mut impl FnMut(Bucket, Cow<'v, str>)) {
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let [prefix, _partition, _service, _region, account, resource] = parts[..] else {
        return;
    };
    if prefix != "arn" {
        return;
    }
    put(Bucket::AwsArns, Cow::Borrowed(v));
    if is_account_id(account) {
        put(Bucket::AwsAccountIds, Cow::Borrowed(account));
    }
    if let Some(rest) = resource.strip_prefix("instance/") {
        let id = &rest[rest.rfind('/').map_or(0, |i| i + 1)..];
        if id.starts_with("i-") {
            put(Bucket::AwsInstanceIds, Cow::Borrowed(id));
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

/// Appends `v` to the collector's text; its range there.
fn push(text: &mut String, v: &str) -> (u32, u32) {
    let s = text.len() as u32;
    text.push_str(v);
    (s, text.len() as u32)
}

/// How much a [`Collector`] held at one moment, to go back to with
/// [`Collector::truncate`].
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    text: usize,
    items: usize,
}

impl Collector {
    pub fn clear(&mut self) {
        self.text.clear();
        self.items.clear();
    }

    /// What is held now.
    pub fn mark(&self) -> Mark {
        Mark {
            text: self.text.len(),
            items: self.items.len(),
        }
    }

    /// Forgets the values added since `m` was taken.
    pub fn truncate(&mut self, m: Mark) {
        self.text.truncate(m.text);
        self.items.truncate(m.items);
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
        if v.is_empty() {
            return;
        }
        // `v` itself is stored once however many kinds keep it.
        let mut stored: Option<(u32, u32)> = None;
        let (text, items) = (&mut self.text, &mut self.items);
        for &k in kinds {
            if let Some(keep) = k.whole(v) {
                if let Some(b) = keep {
                    let (s, e) = *stored.get_or_insert_with(|| push(text, v));
                    items.push(Item::new(b, v.as_bytes(), s, e, escape));
                }
                continue;
            }
            k.scan(v, &mut |b, found| {
                let whole = found.as_ptr() == v.as_ptr() && found.len() == v.len();
                let (s, e) = match (&found, whole) {
                    (Cow::Borrowed(_), true) => *stored.get_or_insert_with(|| push(text, v)),
                    _ => push(text, &found),
                };
                // A slice of text that needs no escaping needs none either;
                // a rewritten value is escaped to be safe.
                let esc = escape || matches!(found, Cow::Owned(_));
                items.push(Item::new(b, found.as_bytes(), s, e, esc));
            });
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

    fn scanned(kind: IndicatorKind, v: &str) -> Vec<(Bucket, String)> {
        let mut got = Vec::new();
        kind.scan(v, &mut |b, found| got.push((b, found.into_owned())));
        got
    }

    #[test]
    fn every_kind_lands_only_in_its_table_columns() {
        let kinds = IndicatorKind::ALL;
        let values = [
            "10.0.0.1",
            "2001:db8::1",
            "example.com",
            "https://user@[2001:db8::2]:8443/x?y",
            "http://xn--bcher-kva.example/",
            "db.example.com:5432",
            "[::1]:53",
            "D41D8CD98F00B204E9800998ECF8427E",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
            "123456789012",
            "i-0abc",
            "a@b.io",
            "00:1a:2b:3c:4d:5e",
        ];
        for k in kinds {
            for v in values {
                for (b, _) in scanned(k, v) {
                    assert!(k.buckets().contains(&b), "{k:?} put {v} in {b:?}");
                }
            }
        }
    }

    #[test]
    fn hosts_come_out_of_urls_and_network_addresses() {
        use Bucket::*;
        use IndicatorKind::*;
        let ip = |v: &str| vec![(IpAddresses, v.to_string())];
        let dom = |v: &str| vec![(DomainNames, v.to_string())];
        assert_eq!(
            scanned(Url, "https://a.example.com/p?q#f"),
            dom("a.example.com")
        );
        assert_eq!(scanned(Url, "ftp://u:pw@10.1.2.3:21/x"), ip("10.1.2.3"));
        assert_eq!(scanned(Url, "http://[2001:db8::2]:80/"), ip("2001:db8::2"));
        assert_eq!(scanned(Url, "//cdn.example/x.js"), dom("cdn.example"));
        assert_eq!(scanned(Url, "no scheme/at all"), vec![]);
        assert_eq!(scanned(Url, "file:///etc/passwd"), vec![]);
        assert_eq!(scanned(NetAddr, "db.example:5432"), dom("db.example"));
        assert_eq!(scanned(NetAddr, "10.0.0.9:443"), ip("10.0.0.9"));
        assert_eq!(scanned(NetAddr, "[::1]:53"), ip("::1"));
        assert_eq!(scanned(NetAddr, "2001:db8::1"), ip("2001:db8::1"));
        assert_eq!(scanned(NetAddr, "plainhost"), dom("plainhost"));
        assert_eq!(scanned(Hostname, "10.0.0.1"), ip("10.0.0.1"));
        assert_eq!(scanned(Hostname, "mail.example"), dom("mail.example"));
    }

    #[test]
    fn idna_labels_are_decoded() {
        use IndicatorKind::*;
        let dom = |v: &str| vec![(Bucket::DomainNames, v.to_string())];
        assert_eq!(
            scanned(Domain, "xn--bcher-kva.example"),
            dom("bücher.example")
        );
        assert_eq!(
            scanned(Domain, "XN--bcher-kva.example"),
            dom("bücher.example")
        );
        assert_eq!(
            scanned(Domain, "www.xn--mnchen-3ya.de"),
            dom("www.münchen.de")
        );
        // RFC 3492 sample: Japanese, no basic code points.
        assert_eq!(punycode_decode("wgv71a119e").as_deref(), Some("日本語"));
        assert_eq!(
            scanned(Hostname, "xn--nxasmq6b.example"),
            dom("βόλοσ.example")
        );
        // Not Punycode: kept as written.
        assert_eq!(scanned(Domain, "xn--!!.example"), dom("xn--!!.example"));
    }

    #[test]
    fn hashes_are_checked_and_lowercased() {
        use IndicatorKind::*;
        let md5 = "D41D8CD98F00B204E9800998ECF8427E";
        assert_eq!(
            scanned(Md5, md5),
            vec![(Bucket::Md5Hashes, md5.to_ascii_lowercase())]
        );
        assert_eq!(scanned(Md5, &md5[1..]), vec![]);
        assert_eq!(scanned(Sha1, &"g".repeat(40)), vec![]);
        assert_eq!(scanned(Sha1, &"a".repeat(40)).len(), 1);
        assert_eq!(scanned(Sha256, &"F".repeat(64))[0].1, "f".repeat(64));
        assert_eq!(scanned(Sha256, &"f".repeat(63)), vec![]);
    }

    #[test]
    fn arns_yield_their_account_and_instance() {
        use Bucket::*;
        let v = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc";
        assert_eq!(
            scanned(IndicatorKind::AwsArn, v),
            vec![
                (AwsArns, v.to_string()),
                (AwsAccountIds, "123456789012".to_string()),
                (AwsInstanceIds, "i-0abc".to_string()),
            ]
        );
        let s3 = "arn:aws:s3:::bucket/key";
        assert_eq!(
            scanned(IndicatorKind::AwsArn, s3),
            vec![(AwsArns, s3.to_string())]
        );
        assert_eq!(scanned(IndicatorKind::AwsArn, "arn:aws:too:short"), vec![]);
    }

    #[test]
    fn rewritten_values_are_collected_beside_verbatim_ones() {
        let mut c = Collector::default();
        c.add_verbatim(
            &[IndicatorKind::Url, IndicatorKind::TraceId],
            "https://h.example/a",
        );
        c.add_verbatim(&[IndicatorKind::Md5], "D41D8CD98F00B204E9800998ECF8427E");
        c.add(&[IndicatorKind::ActorId], "dbmid:1");
        let mut out = Vec::new();
        c.write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#","p_any_domain_names":["h.example"],"p_any_md5_hashes":["d41d8cd98f00b204e9800998ecf8427e"],"p_any_trace_ids":["https://h.example/a"],"p_any_actor_ids":["dbmid:1"]"#
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
