//! The schema is data (docs/CONTRACT.md §1): a Panther-style YAML log schema is read here and
//! compiled into a [`Plan`], the tree the transform walks for every event.
//!
//! Compiling once means the hot path never looks at YAML, strings of type names,
//! or column-name rules: every field already carries its output key (`"_tag":`),
//! its type, its indicator kinds and whether it is the event time.

use crate::indicators::{Bucket, IndicatorKind};
use crate::timestamp::TimeFormat;
use serde::Deserialize;

/// The Dropbox.TeamEvent schema as published, embedded verbatim.
pub const DROPBOX_TEAM_EVENT_YAML: &str = include_str!("dropbox_teamevent.yml");

/// Most declared fields one object may have (seen-sets are fixed bitsets).
pub const MAX_FIELDS_PER_OBJECT: usize = 256;

/// A schema file could not be used. The message names the file, where, and what.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Not a `source` of the error: its text is already in the message, and
    /// a chain printer would say it twice.
    #[error("{origin}: {error}")]
    Yaml {
        origin: String,
        error: serde_norway::Error,
    },
    #[error("{origin}: field {path}: {problem}")]
    Field {
        origin: String,
        path: String,
        problem: String,
    },
    #[error("{origin}: {problem}")]
    Schema { origin: String, problem: String },
}

// The YAML as written. Every struct denies unknown keys, so that a typo
// (`indicator:`) is an error naming its line, not a key silently ignored;
// [`unknown_key`] turns serde's message into one that offers the nearest key.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SchemaFile {
    schema: String,
    #[serde(default)]
    version: u64,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default, rename = "referenceURL")]
    #[allow(dead_code)]
    reference_url: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    field_discovery_enabled: Option<bool>,
    #[serde(default)]
    parser: Option<ParserSpec>,
    fields: Vec<FieldSpec>,
}

/// `parser:`: teamlog reads JSON lines, so only `native` (Panther's built-in
/// JSON parser, as the embedded schema names it) is accepted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParserSpec {
    #[serde(default)]
    #[allow(dead_code)]
    native: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    csv: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    fastmatch: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    regex: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    script: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum TypeName {
    String,
    Boolean,
    Int,
    Smallint,
    Bigint,
    Float,
    Timestamp,
    Object,
    Array,
    Json,
}

/// A field (or an array's `element`, which has no name). One struct for both,
/// because `#[serde(flatten)]` would lose the line numbers in YAML errors.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FieldSpec {
    #[serde(default)]
    name: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(rename = "type")]
    ty: TypeName,
    #[serde(default)]
    fields: Option<Vec<FieldSpec>>,
    #[serde(default)]
    element: Option<Box<FieldSpec>>,
    #[serde(default)]
    time_format: Option<TimeFormat>,
    #[serde(default)]
    time_formats: Option<Vec<TimeFormat>>,
    #[serde(default)]
    is_event_time: bool,
    #[serde(default, rename = "isEmbeddedJSON")]
    is_embedded_json: bool,
    #[serde(default)]
    indicators: Vec<IndicatorKind>,
    #[serde(default)]
    validate: Option<ValidateSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateSpec {
    #[serde(default)]
    allow: Option<Vec<String>>,
    #[serde(default)]
    deny: Option<Vec<String>>,
}

/// Schema keys of Panther's that teamlog knows but does not implement: an
/// error says so rather than offering a near miss.
const UNSUPPORTED_KEYS: [&str; 6] = ["copy", "rename", "concat", "split", "mask", "definitions"];

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a
/// message that offers the nearest known key, or `None` for other errors.
fn unknown_key(e: &serde_norway::Error) -> Option<String> {
    let msg = e.to_string();
    let at = msg.find("unknown field `")?;
    let rest = &msg[at + "unknown field `".len()..];
    let key = &rest[..rest.find('`')?];
    let known: Vec<&str> = rest[key.len() + 1..]
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    let line = e
        .location()
        .map(|l| format!("line {} column {}: ", l.line(), l.column()))
        .unwrap_or_default();
    if UNSUPPORTED_KEYS.contains(&key) {
        return Some(format!(
            "{line}`{key}` is a Panther schema key that teamlog does not support; \
             see docs/schema.md for the keys it does"
        ));
    }
    Some(match nearest(key, &known) {
        Some(best) => format!("{line}unknown key `{key}`; did you mean `{best}`?"),
        None => format!(
            "{line}unknown key `{key}`; the keys allowed here are {}",
            known.join(", ")
        ),
    })
}

/// The known key closest to `key` by edit distance (case-insensitive), if
/// it is close enough to be a likely typo.
fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    let (best, d) = known
        .iter()
        .map(|k| (*k, edit_distance(&lower, &k.to_ascii_lowercase())))
        .min_by_key(|&(_, d)| d)?;
    (d <= (key.chars().count() / 3).max(2)).then_some(best)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The integer width a schema declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntWidth {
    I16,
    I32,
    I64,
}

/// What a declared value is checked and rewritten as.
#[derive(Debug)]
pub enum FieldType {
    String,
    Boolean,
    Int(IntWidth),
    Float,
    /// The formats tried in order (`timeFormats`, or the one `timeFormat`).
    Timestamp(Box<[TimeFormat]>),
    Json,
    Object(ObjectPlan),
    Array(Box<ValuePlan>),
}

/// A declared value: its type plus what the transform does with it.
#[derive(Debug)]
pub struct ValuePlan {
    pub ty: FieldType,
    /// For an array, the kinds apply to its elements (they are moved there).
    pub indicators: Vec<IndicatorKind>,
    /// Rank among `isEventTime` fields in schema order (0 is the first).
    pub event_time_rank: Option<u16>,
    /// `validate:` on a string: the values allowed or denied.
    pub validate: Option<Box<Validate>>,
    /// `isEmbeddedJSON`: a string holding JSON is read as that JSON.
    pub embedded_json: bool,
}

/// A string field's `validate:` lists, compared with the unescaped value.
#[derive(Debug, Default)]
pub struct Validate {
    /// When set, the value must be one of these.
    pub allow: Option<Vec<String>>,
    /// The value must be none of these.
    pub deny: Vec<String>,
}

impl Validate {
    /// `None` when `v` passes, else which list refused it (`allow` or `deny`).
    pub fn refuses(&self, v: &str) -> Option<&'static str> {
        if let Some(allow) = &self.allow {
            if !allow.iter().any(|a| a == v) {
                return Some("allow");
            }
        }
        self.deny.iter().any(|d| d == v).then_some("deny")
    }
}

/// A declared field of an object.
#[derive(Debug)]
pub struct FieldPlan {
    /// The name as the schema spells it (`.tag`).
    pub name: String,
    /// The output column (`_tag`): characters outside `[A-Za-z0-9_-]` become `_`.
    pub column: String,
    /// `,"column":`, ready to append.
    pub key_prefix: Vec<u8>,
    /// `column != name`, so input may spell the key either way (`.tag`/`_tag`).
    pub renamed: bool,
    pub required: bool,
    pub value: ValuePlan,
}

impl FieldPlan {
    /// Whether an input key names this field (by schema name or by column).
    #[inline(always)]
    pub fn names(&self, key: &str) -> bool {
        short_eq(self.name.as_bytes(), key.as_bytes())
            || (self.renamed && short_eq(self.column.as_bytes(), key.as_bytes()))
    }
}

/// `a == b`, inlined: keys are short, and a call to `memcmp` for each
/// comparison cost more than the comparison (callgrind).
#[inline]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => word(a, 0) == word(b, 0) && a == b,
    }
}

/// A declared object: its fields in schema order.
#[derive(Debug, Default)]
pub struct ObjectPlan {
    pub fields: Vec<FieldPlan>,
    /// The field named `.tag` (or `_tag`), if declared.
    pub tag_field: Option<usize>,
    /// A bare JSON string is read as `{".tag": s}` (Stone compact unions).
    pub compact_union: bool,
    /// Some field is an object, so inlined union members may need reading.
    pub has_object_fields: bool,
    /// Bit `n % 64` is set when some field's name or column is `n` bytes
    /// long; a key of another length is undeclared without a scan. Zero
    /// means unknown (scan).
    pub key_lengths: u64,
}

impl ObjectPlan {
    /// The declared field that an input key names, by schema name or column.
    #[inline]
    pub fn lookup(&self, key: &str) -> Option<usize> {
        if self.key_lengths != 0 && self.key_lengths & (1 << (key.len() % 64)) == 0 {
            return None;
        }
        self.fields.iter().position(|f| f.names(key))
    }

    /// [`lookup`](Self::lookup), trying field `hint` first: keys mostly come in
    /// the order of some fixed layout, so the field after the last one matched
    /// is usually the next key, and one comparison replaces a scan.
    #[inline]
    pub fn lookup_from(&self, key: &str, hint: usize) -> Option<usize> {
        match self.fields.get(hint) {
            Some(f) if f.names(key) => Some(hint),
            _ => self.lookup(key),
        }
    }
}

/// A compiled schema.
#[derive(Debug)]
pub struct Plan {
    /// The log type (`p_log_type`), e.g. `Dropbox.TeamEvent`.
    pub name: String,
    pub version: u64,
    pub root: ObjectPlan,
    /// Whether a field carries `isEventTime` (else `p_event_time` is the parse time).
    pub has_event_time: bool,
    /// The indicator columns this schema can fill, in output order.
    pub buckets: Vec<Bucket>,
    /// The YAML text it was compiled from.
    pub source_text: String,
    /// Whether this is the Dropbox schema, to which the wire adapters apply (docs/CONTRACT.md §3).
    pub dropbox_wire: bool,
}

/// Panther's column naming: characters outside `[A-Za-z0-9_-]` become `_`.
pub fn column_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

struct Compiler<'a> {
    origin: &'a str,
    event_times: u16,
    kinds: Vec<IndicatorKind>,
}

impl Compiler<'_> {
    fn err(&self, path: &str, problem: impl Into<String>) -> SchemaError {
        SchemaError::Field {
            origin: self.origin.to_string(),
            path: path.to_string(),
            problem: problem.into(),
        }
    }

    fn object(&mut self, specs: Vec<FieldSpec>, path: &str) -> Result<ObjectPlan, SchemaError> {
        if specs.len() > MAX_FIELDS_PER_OBJECT {
            return Err(self.err(
                path,
                format!(
                    "has {} fields; at most {MAX_FIELDS_PER_OBJECT} are supported",
                    specs.len()
                ),
            ));
        }
        let mut plan = ObjectPlan::default();
        for mut spec in specs {
            let fpath = if path.is_empty() {
                spec.name.clone()
            } else {
                format!("{path}.{}", spec.name)
            };
            if spec.name.is_empty() {
                return Err(self.err(&fpath, "has an empty name"));
            }
            let column = column_name(&spec.name);
            if plan.fields.iter().any(|f| f.column == column) {
                return Err(self.err(&fpath, format!("column {column} is declared twice")));
            }
            let (name, required) = (std::mem::take(&mut spec.name), spec.required);
            let value = self.value(spec, &fpath)?;
            let is_tag = column == "_tag";
            if is_tag {
                plan.tag_field = Some(plan.fields.len());
                plan.compact_union = required && matches!(value.ty, FieldType::String);
            }
            plan.has_object_fields |= matches!(value.ty, FieldType::Object(_));
            plan.key_lengths |= 1 << (name.len() % 64) | 1 << (column.len() % 64);
            let mut key_prefix = b",".to_vec();
            crate::json::write_json_str(&mut key_prefix, &column);
            key_prefix.push(b':');
            plan.fields.push(FieldPlan {
                renamed: column != name,
                name,
                column,
                key_prefix,
                required,
                value,
            });
        }
        Ok(plan)
    }

    fn value(&mut self, spec: FieldSpec, path: &str) -> Result<ValuePlan, SchemaError> {
        let is_timestamp = matches!(spec.ty, TypeName::Timestamp);
        if !is_timestamp && (spec.time_format.is_some() || spec.time_formats.is_some()) {
            return Err(self.err(path, "timeFormat(s) is only allowed on timestamps"));
        }
        if spec.fields.is_some() && !matches!(spec.ty, TypeName::Object) {
            return Err(self.err(path, "`fields:` is only allowed on type object"));
        }
        if spec.element.is_some() && !matches!(spec.ty, TypeName::Array) {
            return Err(self.err(path, "`element:` is only allowed on type array"));
        }
        let ty = match spec.ty {
            TypeName::String => FieldType::String,
            TypeName::Boolean => FieldType::Boolean,
            TypeName::Smallint => FieldType::Int(IntWidth::I16),
            TypeName::Int => FieldType::Int(IntWidth::I32),
            TypeName::Bigint => FieldType::Int(IntWidth::I64),
            TypeName::Float => FieldType::Float,
            TypeName::Json => FieldType::Json,
            TypeName::Timestamp => {
                let formats = match (spec.time_format, spec.time_formats) {
                    (Some(_), Some(_)) => {
                        return Err(self.err(
                            path,
                            "has both timeFormat and timeFormats; keep one (timeFormats is a list tried in order)",
                        ))
                    }
                    (Some(f), None) => vec![f],
                    (None, Some(list)) if list.is_empty() => {
                        return Err(self.err(path, "timeFormats is empty"))
                    }
                    (None, Some(list)) => list,
                    (None, None) => {
                        return Err(self.err(
                            path,
                            "type timestamp needs a timeFormat (or a timeFormats list), e.g. `timeFormat: rfc3339`",
                        ))
                    }
                };
                FieldType::Timestamp(formats.into_boxed_slice())
            }
            TypeName::Object => {
                let fields = spec
                    .fields
                    .ok_or_else(|| self.err(path, "type object needs a `fields:` list"))?;
                FieldType::Object(self.object(fields, path)?)
            }
            TypeName::Array => {
                let element = spec
                    .element
                    .ok_or_else(|| self.err(path, "type array needs an `element:`"))?;
                let mut elem = self.value(*element, &format!("{path}[]"))?;
                // Indicators on an array are its string elements' indicators.
                if !spec.indicators.is_empty() && !push_indicators(&mut elem, &spec.indicators) {
                    return Err(self.err(
                        path,
                        "indicators on an array apply to its elements, which must be strings or integers",
                    ));
                }
                FieldType::Array(Box::new(elem))
            }
        };
        if spec.is_event_time && !is_timestamp {
            return Err(self.err(path, "isEventTime is only allowed on timestamps"));
        }
        if !spec.indicators.is_empty()
            && !matches!(
                ty,
                FieldType::String | FieldType::Int(_) | FieldType::Array(_)
            )
        {
            return Err(self.err(path, "indicators are only allowed on string fields"));
        }
        if spec.is_embedded_json
            && !matches!(
                ty,
                FieldType::Object(_) | FieldType::Array(_) | FieldType::Json
            )
        {
            return Err(self.err(
                path,
                "isEmbeddedJSON is only allowed on types object, array and json",
            ));
        }
        let validate = match spec.validate {
            None => None,
            Some(_) if !matches!(ty, FieldType::String) => {
                return Err(self.err(path, "validate is only allowed on string fields"))
            }
            Some(ValidateSpec { allow, deny }) => {
                if allow.as_ref().is_some_and(Vec::is_empty) {
                    return Err(self.err(
                        path,
                        "validate: allow is empty, so no value could pass; remove it or list the values",
                    ));
                }
                if allow.is_none() && deny.as_ref().is_none_or(Vec::is_empty) {
                    return Err(self.err(path, "validate needs an `allow:` or a `deny:` list"));
                }
                Some(Box::new(Validate {
                    allow,
                    deny: deny.unwrap_or_default(),
                }))
            }
        };
        self.kinds.extend(spec.indicators.iter().copied());
        let indicators = if matches!(ty, FieldType::Array(_)) {
            Vec::new()
        } else {
            spec.indicators
        };
        let event_time_rank = spec.is_event_time.then(|| {
            self.event_times += 1;
            self.event_times - 1
        });
        Ok(ValuePlan {
            ty,
            indicators,
            event_time_rank,
            validate,
            embedded_json: spec.is_embedded_json,
        })
    }
}

/// Adds `kinds` to the scalar elements of an array (through nested arrays);
/// `false` when the elements are not strings or integers.
fn push_indicators(v: &mut ValuePlan, kinds: &[IndicatorKind]) -> bool {
    match &mut v.ty {
        FieldType::String | FieldType::Int(_) => {
            for k in kinds {
                if !v.indicators.contains(k) {
                    v.indicators.push(*k);
                }
            }
            true
        }
        FieldType::Array(inner) => push_indicators(inner, kinds),
        _ => false,
    }
}

impl Plan {
    /// The embedded Dropbox.TeamEvent schema.
    pub fn dropbox() -> Plan {
        Plan::from_yaml(DROPBOX_TEAM_EVENT_YAML, "embedded Dropbox.TeamEvent schema")
            .expect("the embedded schema compiles (tested)")
    }

    /// Compiles schema YAML; `origin` names it in errors (a file path).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Plan, SchemaError> {
        let file: SchemaFile =
            serde_norway::from_str(text).map_err(|source| match unknown_key(&source) {
                Some(problem) => SchemaError::Schema {
                    origin: origin.to_string(),
                    problem,
                },
                None => SchemaError::Yaml {
                    origin: origin.to_string(),
                    error: source,
                },
            })?;
        if let Some(p) = &file.parser {
            let other = [
                ("csv", p.csv.is_some()),
                ("fastmatch", p.fastmatch.is_some()),
                ("regex", p.regex.is_some()),
                ("script", p.script.is_some()),
            ];
            if let Some((name, _)) = other.iter().find(|(_, set)| *set) {
                return Err(SchemaError::Schema {
                    origin: origin.to_string(),
                    problem: format!(
                        "parser `{name}` is not supported: teamlog reads JSON lines (`parser: native`, or no parser)"
                    ),
                });
            }
        }
        if file.schema.trim().is_empty() {
            return Err(SchemaError::Schema {
                origin: origin.to_string(),
                problem: "`schema:` (the log type name) is empty".into(),
            });
        }
        if file.fields.is_empty() {
            return Err(SchemaError::Schema {
                origin: origin.to_string(),
                problem: "`fields:` is empty".into(),
            });
        }
        let mut c = Compiler {
            origin,
            event_times: 0,
            kinds: Vec::new(),
        };
        let root = c.object(file.fields, "")?;
        let mut buckets: Vec<Bucket> = Bucket::ALL
            .into_iter()
            .filter(|b| c.kinds.iter().any(|k| k.buckets().contains(b)))
            .collect();
        buckets.dedup();
        Ok(Plan {
            dropbox_wire: file.schema == "Dropbox.TeamEvent",
            name: file.schema,
            version: file.version,
            root,
            has_event_time: c.event_times > 0,
            buckets,
            source_text: text.to_string(),
        })
    }

    /// Reads and compiles a schema file.
    pub fn from_file(path: &std::path::Path) -> Result<Plan, SchemaError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SchemaError::Schema {
            origin: origin.clone(),
            problem: format!("cannot read schema file: {e}"),
        })?;
        Plan::from_yaml(&text, &origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_eq_agrees_with_eq() {
        let words: Vec<Vec<u8>> = (0..40)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                let mut variants = vec![base.clone()];
                for i in 0..n {
                    let mut v = base.clone();
                    v[i] ^= 1;
                    variants.push(v);
                }
                variants
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(short_eq(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn embedded_schema_compiles() {
        let p = Plan::dropbox();
        assert_eq!(p.name, "Dropbox.TeamEvent");
        assert_eq!(p.version, 0);
        assert!(p.has_event_time);
        assert!(p.dropbox_wire);
        let names: Vec<_> = p.root.fields.iter().map(|f| f.column.as_str()).collect();
        assert_eq!(
            names,
            [
                "timestamp",
                "event_category",
                "event_type",
                "details",
                "actor",
                "origin",
                "involve_non_team_member",
                "context",
                "participants",
                "assets"
            ]
        );
        assert_eq!(
            p.buckets,
            [Bucket::IpAddresses, Bucket::Emails, Bucket::Usernames]
        );
        let cat = &p.root.fields[1];
        match &cat.value.ty {
            FieldType::Object(o) => {
                assert!(o.compact_union);
                assert_eq!(o.fields[0].column, "_tag");
                assert_eq!(o.fields[0].key_prefix, b",\"_tag\":");
            }
            _ => panic!("event_category is an object"),
        }
    }

    #[test]
    fn column_names() {
        assert_eq!(column_name(".tag"), "_tag");
        assert_eq!(column_name("a-b_C9"), "a-b_C9");
        assert_eq!(column_name("a b@c"), "a_b_c");
    }

    #[test]
    fn malformed_schemas_name_line_or_field() {
        let e = Plan::from_yaml(
            "schema: X\nfields:\n  - name: a\n    type: strng\n",
            "s.yml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("s.yml: "), "{e}");
        assert!(e.contains("line 4"), "{e}");
        assert!(e.contains("strng"), "{e}");

        let e = Plan::from_yaml(
            "schema: X\nfields:\n  - name: a\n    type: object\n",
            "s.yml",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "s.yml: field a: type object needs a `fields:` list");

        let e = Plan::from_yaml(
            "schema: X\nfields:\n  - name: t\n    type: timestamp\n",
            "s.yml",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "s.yml: field t: type timestamp needs a timeFormat (or a timeFormats list), e.g. `timeFormat: rfc3339`"
        );

        let e = Plan::from_yaml(
            "schema: X\nfields:\n  - name: a\n    type: string\n    indicators: [ipp]\n",
            "s.yml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 5") && e.contains("ipp"), "{e}");

        let e = Plan::from_yaml("schema: X\nfields: [\n", "s.yml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line"), "{e}");
    }
}
