//! Catalogue warnings (`--lint`) and the per-type event counts.
//!
//! This module owns which of an event's values describe its type (the
//! [`Roles`]: `event_type.tag`, `event_category.tag`, `event_type.description`
//! and the `details` field, found in the plan by name), capturing them while
//! the event is parsed ([`Captured`]), counting written events by category and
//! type ([`TypeCounts`]), and the checks of a valid event against the
//! embedded [`Catalogue`] ([`check`]). A warning never rejects an event and
//! never changes the output.

use crate::catalogue::{Catalogue, CategoryStatus};
use crate::schema::{FieldType, ObjectPlan, Plan, ValuePlan};
use std::collections::HashMap;

/// What a warning says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WarningKind {
    /// The event type is not in the catalogue.
    UnknownEventType,
    /// The category is not in the catalogue.
    UnknownCategory,
    /// The category is in the catalogue with a status other than `current`.
    RetiredCategory,
    /// A known event type filed under another current category than the
    /// catalogue's (under a retired one, `RetiredCategory` says it).
    CategoryMismatch,
    /// `details` has no `.tag`, or one other than `<event_type>_details`.
    DetailsTagMismatch,
    /// `event_type.description`, without its `(category) ` prefix, is not the catalogue's.
    DescriptionMismatch,
}

impl WarningKind {
    pub const ALL: [WarningKind; 6] = [
        WarningKind::UnknownEventType,
        WarningKind::UnknownCategory,
        WarningKind::RetiredCategory,
        WarningKind::CategoryMismatch,
        WarningKind::DetailsTagMismatch,
        WarningKind::DescriptionMismatch,
    ];

    /// The kind as `--warnings` and `--stats` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::UnknownEventType => "unknown_event_type",
            WarningKind::UnknownCategory => "unknown_category",
            WarningKind::RetiredCategory => "retired_category",
            WarningKind::CategoryMismatch => "category_mismatch",
            WarningKind::DetailsTagMismatch => "details_tag_mismatch",
            WarningKind::DescriptionMismatch => "description_mismatch",
        }
    }
}

impl serde::Serialize for WarningKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One warning about one valid event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// 1-based line of the source.
    pub line: u64,
    /// The element, when the event came from an API response's `events`.
    pub index: Option<usize>,
    pub kind: WarningKind,
    pub event_type: Option<String>,
    pub category: Option<String>,
    /// The value found, when the warning is about one value (the details tag,
    /// the description, the retired category's status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
    /// What the catalogue expects instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// Where in the plan the values that describe an event's type are, as the
/// addresses of their [`ValuePlan`]s (0 when the plan has no such field or
/// it is not watched). The parse compares addresses, which costs nothing.
/// The addresses point into the plan's field vectors, which a `Transformer`
/// owns and never changes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Roles {
    pub event_type: usize,
    pub category: usize,
    pub description: usize,
    pub details: usize,
}

fn addr(v: &ValuePlan) -> usize {
    v as *const ValuePlan as usize
}

fn object<'p>(plan: &'p ObjectPlan, name: &str) -> Option<&'p ObjectPlan> {
    match &plan.fields[plan.lookup(name)?].value.ty {
        FieldType::Object(o) => Some(o),
        _ => None,
    }
}

fn string_field(plan: Option<&ObjectPlan>, i: Option<usize>) -> usize {
    match plan.zip(i) {
        Some((p, i)) if matches!(p.fields[i].value.ty, FieldType::String) => {
            addr(&p.fields[i].value)
        }
        _ => 0,
    }
}

impl Roles {
    /// Finds the roles in `plan`: `event_type` and `event_category` objects
    /// with a `.tag` string, `event_type.description`, a `details` json field.
    /// The last two are watched only with `lint`.
    pub fn find(plan: &Plan, lint: bool) -> Roles {
        let root = &plan.root;
        let et = object(root, "event_type");
        let cat = object(root, "event_category");
        let mut r = Roles {
            event_type: string_field(et, et.and_then(|o| o.tag_field)),
            category: string_field(cat, cat.and_then(|o| o.tag_field)),
            description: 0,
            details: 0,
        };
        if lint {
            r.description = string_field(et, et.and_then(|o| o.lookup("description")));
            r.details = match root.lookup("details").map(|i| &root.fields[i].value) {
                Some(v) if matches!(v.ty, FieldType::Json) => addr(v),
                _ => 0,
            };
        }
        r
    }

    /// Whether `v` is one of the watched strings. Every string value of an
    /// event is asked (dozens per event) and nearly all are not, so this is
    /// inlined where [`Captured::string`] keeps the few that are.
    #[inline(always)]
    pub fn watches_string(&self, v: &ValuePlan) -> bool {
        let a = addr(v);
        a == self.event_type || a == self.category || a == self.description
    }
}

/// The watched values of the event being parsed. Buffers are reused.
#[derive(Debug, Default)]
pub struct Captured {
    event_type: Option<String>,
    category: Option<String>,
    description: Option<String>,
    /// `Some` once `details` was read: its top-level `.tag`, if any.
    details_tag: Option<Option<String>>,
    spare: Vec<String>,
}

fn put(slot: &mut Option<String>, spare: &mut Vec<String>, v: &str) {
    let mut s = slot.take().or_else(|| spare.pop()).unwrap_or_default();
    s.clear();
    s.push_str(v);
    *slot = Some(s);
}

impl Captured {
    pub fn clear(&mut self) {
        for s in [
            self.event_type.take(),
            self.category.take(),
            self.description.take(),
            self.details_tag.take().flatten(),
        ]
        .into_iter()
        .flatten()
        {
            self.spare.push(s);
        }
    }

    /// Keeps `s` when `v` is one of the watched strings.
    #[inline(never)]
    pub fn string(&mut self, roles: &Roles, v: &ValuePlan, s: &str) {
        let a = addr(v);
        let slot = if a == roles.event_type {
            &mut self.event_type
        } else if a == roles.category {
            &mut self.category
        } else if a == roles.description {
            &mut self.description
        } else {
            return;
        };
        put(slot, &mut self.spare, s);
    }

    /// Whether `v` is the watched `details` field.
    #[inline]
    pub fn is_details(roles: &Roles, v: &ValuePlan) -> bool {
        roles.details != 0 && addr(v) == roles.details
    }

    /// Keeps the `details` tag (a string literal with its quotes) or its absence.
    pub fn details_tag(&mut self, literal: Option<&str>) {
        let tag = literal.and_then(|l| serde_json::from_str::<std::borrow::Cow<str>>(l).ok());
        self.details_tag = Some(tag.map(|t| {
            let mut s = self.spare.pop().unwrap_or_default();
            s.clear();
            s.push_str(&t);
            s
        }));
    }

    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }
}

/// A fast hash for short tags (the standard SipHash is a tenth of the cost
/// of counting an event by type).
#[derive(Default, Clone, Copy)]
struct TagHasher(u64);

impl std::hash::Hasher for TagHasher {
    fn write(&mut self, b: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(b, self.0);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type TagMap<V> = HashMap<&'static str, V, std::hash::BuildHasherDefault<TagHasher>>;

/// The catalogue's types and categories by tag.
struct Index {
    types: TagMap<usize>,
    categories: TagMap<usize>,
}

fn tags() -> &'static Index {
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let c = Catalogue::get();
        Index {
            types: c
                .types
                .iter()
                .enumerate()
                .map(|(i, t)| (t.tag, i))
                .collect(),
            categories: c
                .categories
                .iter()
                .enumerate()
                .map(|(i, k)| (k.tag, i))
                .collect(),
        }
    })
}

/// Written events counted by (category, event type); one chunk's.
#[derive(Debug, Default)]
pub struct TypeCounts {
    /// Events of the catalogue's type `i` filed under its own category (the
    /// common case, counted without a string copied).
    known: Vec<u64>,
    /// The indices of `known` that are not zero.
    touched: Vec<usize>,
    /// Any other pair, by a key made of both.
    other: HashMap<String, usize>,
    other_rows: Vec<(Option<String>, Option<String>, u64)>,
    key: String,
}

impl TypeCounts {
    pub fn clear(&mut self) {
        for &i in &self.touched {
            self.known[i] = 0;
        }
        self.touched.clear();
        self.other.clear();
        self.other_rows.clear();
    }

    /// Counts one event of `category` and `event_type`.
    pub fn add(&mut self, category: Option<&str>, event_type: Option<&str>) {
        let ix = tags();
        let known = event_type
            .and_then(|t| ix.types.get(t))
            .filter(|&&i| category == Some(Catalogue::get().types[i].category));
        if let Some(&i) = known {
            if self.known.is_empty() {
                self.known.resize(Catalogue::get().types.len(), 0);
            }
            if self.known[i] == 0 {
                self.touched.push(i);
            }
            self.known[i] += 1;
            return;
        }
        self.add_other(category, event_type, 1);
    }

    /// Counts `n` events of a pair that is not a catalogue type under its
    /// own category.
    fn add_other(&mut self, category: Option<&str>, event_type: Option<&str>, n: u64) {
        // Lengths first, so that no pair of strings makes another's key.
        self.key.clear();
        for part in [category, event_type] {
            match part {
                Some(p) => {
                    let _ = std::fmt::Write::write_fmt(&mut self.key, format_args!("{}:", p.len()));
                    self.key.push_str(p);
                }
                None => self.key.push('-'),
            }
        }
        match self.other.get(self.key.as_str()) {
            Some(&i) => self.other_rows[i].2 += n,
            None => {
                self.other.insert(self.key.clone(), self.other_rows.len());
                self.other_rows.push((
                    category.map(str::to_string),
                    event_type.map(str::to_string),
                    n,
                ));
            }
        }
    }

    /// Adds another chunk's counts: by catalogue index, no string looked up
    /// (the writer keeps a source's counts so until the source ends).
    pub fn merge(&mut self, from: &TypeCounts) {
        if !from.touched.is_empty() && self.known.is_empty() {
            self.known.resize(from.known.len(), 0);
        }
        for &i in &from.touched {
            if self.known[i] == 0 {
                self.touched.push(i);
            }
            self.known[i] += from.known[i];
        }
        for (c, t, n) in &from.other_rows {
            self.add_other(c.as_deref(), t.as_deref(), *n);
        }
    }

    /// Every (category, event type, events) counted, in no particular order.
    pub fn for_each(&self, mut f: impl FnMut(Option<&str>, Option<&str>, u64)) {
        let types = &Catalogue::get().types;
        for &i in &self.touched {
            f(Some(types[i].category), Some(types[i].tag), self.known[i]);
        }
        for (c, t, n) in &self.other_rows {
            f(c.as_deref(), t.as_deref(), *n);
        }
    }
}

/// The description without the leading `(category) ` the API writes.
fn bare_description(d: &str) -> &str {
    if let Some(rest) = d.strip_prefix('(') {
        if let Some(end) = rest.find(") ") {
            return &rest[end + 2..];
        }
    }
    d
}

/// Checks one valid event's captured values against the catalogue, pushing
/// its warnings (none, one or several).
pub fn check(c: &Captured, line: u64, index: Option<usize>, out: &mut Vec<Warning>) {
    let cat = Catalogue::get();
    let (ty, category) = (c.event_type(), c.category());
    let mut warn = |kind, got: Option<&str>, expected: Option<&str>| {
        out.push(Warning {
            line,
            index,
            kind,
            event_type: ty.map(str::to_string),
            category: category.map(str::to_string),
            got: got.map(str::to_string),
            expected: expected.map(str::to_string),
        })
    };
    let ix = tags();
    let known_type = ty.and_then(|t| ix.types.get(t)).map(|&i| &cat.types[i]);
    if let (Some(_), None) = (ty, known_type) {
        warn(WarningKind::UnknownEventType, None, None);
    }
    let known_category = category
        .and_then(|k| ix.categories.get(k))
        .map(|&i| &cat.categories[i]);
    match (category, known_category) {
        (Some(_), None) => warn(WarningKind::UnknownCategory, None, None),
        (_, Some(k)) if k.status != CategoryStatus::Current => {
            warn(WarningKind::RetiredCategory, Some(k.status_text), None)
        }
        _ => {}
    }
    if let (Some(t), Some(k)) = (known_type, known_category) {
        if t.category != k.tag && k.status == CategoryStatus::Current {
            warn(WarningKind::CategoryMismatch, None, Some(t.category));
        }
    }
    if let (Some(ty), Some(tag)) = (ty, &c.details_tag) {
        let expected = format!("{ty}_details");
        if tag.as_deref() != Some(expected.as_str()) {
            warn(
                WarningKind::DetailsTagMismatch,
                tag.as_deref(),
                Some(&expected),
            );
        }
    }
    if let (Some(t), Some(d)) = (known_type, &c.description) {
        if bare_description(d) != t.description {
            warn(
                WarningKind::DescriptionMismatch,
                Some(d),
                Some(t.description),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(ty: &str, category: &str, details: Option<&str>, desc: Option<&str>) -> Captured {
        Captured {
            event_type: Some(ty.into()),
            category: Some(category.into()),
            description: desc.map(Into::into),
            details_tag: Some(details.map(Into::into)),
            spare: Vec::new(),
        }
    }

    fn kinds(c: &Captured) -> Vec<WarningKind> {
        let mut w = Vec::new();
        check(c, 1, None, &mut w);
        w.into_iter().map(|w| w.kind).collect()
    }

    #[test]
    fn a_catalogue_event_is_clean() {
        let c = captured(
            "login_success",
            "logins",
            Some("login_success_details"),
            Some("(logins) Signed in"),
        );
        assert_eq!(kinds(&c), vec![]);
    }

    #[test]
    fn each_drift_gives_its_warning() {
        use WarningKind::*;
        let k = |t, c, d, s| kinds(&captured(t, c, d, s));
        assert_eq!(
            k("nope", "logins", Some("nope_details"), None),
            [UnknownEventType]
        );
        assert_eq!(
            k("login_success", "nope", Some("login_success_details"), None),
            [UnknownCategory]
        );
        assert_eq!(
            k(
                "login_success",
                "authentication",
                Some("login_success_details"),
                None
            ),
            [RetiredCategory]
        );
        assert_eq!(
            k(
                "login_success",
                "sharing",
                Some("login_success_details"),
                None
            ),
            [CategoryMismatch]
        );
        assert_eq!(
            k("login_success", "logins", Some("x_details"), None),
            [DetailsTagMismatch]
        );
        assert_eq!(
            k("login_success", "logins", None, None),
            [DetailsTagMismatch]
        );
        assert_eq!(
            k(
                "login_success",
                "logins",
                Some("login_success_details"),
                Some("(logins) Other")
            ),
            [DescriptionMismatch]
        );
    }

    #[test]
    fn merged_chunk_counts_equal_counting_all_at_once() {
        let pairs = [
            (Some("logins"), Some("login_success")),
            (Some("sharing"), Some("login_success")),
            (None, Some("x")),
            (Some("logins"), Some("login_fail")),
            (Some("logins"), Some("login_success")),
            (None, Some("x")),
        ];
        let rows = |t: &TypeCounts| {
            let mut v = Vec::new();
            t.for_each(|c, ty, n| v.push((c.map(str::to_string), ty.map(str::to_string), n)));
            v.sort();
            v
        };
        let mut whole = TypeCounts::default();
        pairs.iter().for_each(|(c, t)| whole.add(*c, *t));
        let (mut sum, mut chunk) = (TypeCounts::default(), TypeCounts::default());
        for part in pairs.chunks(4) {
            chunk.clear();
            part.iter().for_each(|(c, t)| chunk.add(*c, *t));
            sum.merge(&chunk);
        }
        assert_eq!(rows(&sum), rows(&whole));
        assert_eq!(rows(&sum).iter().map(|r| r.2).sum::<u64>(), 6);
    }

    #[test]
    fn counts_keep_pairs_apart() {
        let mut t = TypeCounts::default();
        for (c, ty) in [
            (Some("a"), Some("bc")),
            (Some("ab"), Some("c")),
            (Some("a"), Some("bc")),
            (None, Some("bc")),
            (Some("logins"), Some("login_success")),
            (Some("sharing"), Some("login_success")),
            (Some("logins"), Some("login_success")),
        ] {
            t.add(c, ty);
        }
        let mut got = Vec::new();
        t.for_each(|c, ty, n| got.push((c.map(str::to_string), ty.map(str::to_string), n)));
        got.sort();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            got,
            vec![
                (None, s("bc"), 1),
                (s("a"), s("bc"), 2),
                (s("ab"), s("c"), 1),
                (s("logins"), s("login_success"), 2),
                (s("sharing"), s("login_success"), 1),
            ]
        );
        t.clear();
        let mut n = 0;
        t.for_each(|_, _, _| n += 1);
        assert_eq!(n, 0);
    }
}
