//! Reject reasons: what was wrong and where (the field path), displayed in
//! reject records and on stderr, and classed without the value for `--stats`.

use std::borrow::Cow;
use std::fmt;

/// Why a value or a line was rejected; displayed as the reject reason.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// Field path, innermost first (array indices as `[i]`).
    pub(crate) segs: Vec<String>,
    pub(crate) kind: InvalidKind,
}

#[derive(Debug, Clone)]
pub(crate) enum InvalidKind {
    Missing,
    Duplicate,
    Type {
        expected: &'static str,
        got: String,
    },
    Timestamp {
        expected: Cow<'static, str>,
        got: String,
    },
    /// A string refused by the field's `validate:` list (`allow` or `deny`).
    NotAllowed {
        list: &'static str,
        got: String,
    },
    /// An `isEmbeddedJSON` string that does not hold JSON.
    Embedded(String),
    /// An object with `events` (an array) and keys of an event besides.
    AmbiguousEnvelope,
    Escape(String),
    NotAnObject(&'static str),
    ApiError,
    Syntax {
        at: usize,
        msg: String,
    },
    Utf8 {
        at: usize,
    },
    TooLong {
        limit: usize,
    },
}

impl Invalid {
    pub(crate) fn new(kind: InvalidKind) -> Invalid {
        Invalid {
            segs: Vec::new(),
            kind,
        }
    }

    fn path(&self, indices: bool) -> String {
        let mut p = String::new();
        for s in self.segs.iter().rev() {
            if s.starts_with('[') {
                p.push_str(if indices { s } else { "[]" });
            } else {
                if !p.is_empty() {
                    p.push('.');
                }
                p.push_str(s);
            }
        }
        p
    }

    /// The reason without the offending value: what `--stats` counts by.
    pub fn class(&self) -> String {
        let p = self.path(false);
        match &self.kind {
            InvalidKind::Missing => format!("missing required field {p}"),
            InvalidKind::Duplicate => format!("duplicate key {p}"),
            InvalidKind::Type { expected, .. } => format!("{p}: expected {expected}"),
            InvalidKind::Timestamp { .. } => format!("{p}: invalid timestamp"),
            InvalidKind::Escape(_) => format!("{p}: invalid string"),
            InvalidKind::NotAllowed { list, .. } => format!("{p}: refused by validate {list}"),
            InvalidKind::Embedded(_) => format!("{p}: invalid embedded JSON"),
            InvalidKind::AmbiguousEnvelope => "ambiguous: API envelope keys and event keys".into(),
            InvalidKind::NotAnObject(_) => "not a JSON object".into(),
            InvalidKind::ApiError => "API error object, not an event".into(),
            InvalidKind::Syntax { .. } => "invalid JSON".into(),
            InvalidKind::Utf8 { .. } => "invalid UTF-8".into(),
            InvalidKind::TooLong { limit } => format!("line longer than {limit} bytes"),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path(true);
        match &self.kind {
            InvalidKind::Missing => write!(f, "missing required field {p}"),
            InvalidKind::Duplicate => write!(f, "duplicate key {p}"),
            InvalidKind::Type { expected, got } => write!(f, "{p}: expected {expected}, got {got}"),
            InvalidKind::Timestamp { expected, got } => {
                write!(f, "{p}: expected {expected}, got {got}")
            }
            InvalidKind::Escape(e) => write!(f, "{p}: {e}"),
            InvalidKind::NotAllowed { list: "allow", got } => {
                write!(f, "{p}: {got} is not in the field's validate allow list")
            }
            InvalidKind::NotAllowed { list, got } => {
                write!(f, "{p}: {got} is in the field's validate {list} list")
            }
            InvalidKind::Embedded(e) => {
                write!(f, "{p}: isEmbeddedJSON, but the string is not JSON: {e}")
            }
            InvalidKind::AmbiguousEnvelope => write!(
                f,
                "ambiguous object: it has an `events` array like an API response and \
                 other keys like an event; an API response holds only events, cursor \
                 and has_more"
            ),
            InvalidKind::NotAnObject(got) => write!(
                f,
                "expected a JSON object (an event or an API response), got {got}"
            ),
            InvalidKind::ApiError => write!(f, "API error object, not an event"),
            InvalidKind::Syntax { at, msg } => write!(f, "invalid JSON at byte {at}: {msg}"),
            InvalidKind::Utf8 { at } => write!(f, "invalid UTF-8 at byte {at}"),
            InvalidKind::TooLong { limit } => write!(f, "line longer than {limit} bytes"),
        }
    }
}
