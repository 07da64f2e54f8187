//! Reject reasons: what was wrong and where (the field path), displayed in
//! reject records and on stderr, and classed without the value for `--stats`.

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
    Type { expected: &'static str, got: String },
    Timestamp { expected: &'static str, got: String },
    Escape(String),
    NotAnObject(&'static str),
    ApiError,
    Syntax { at: usize, msg: String },
    Utf8 { at: usize },
    TooLong { limit: usize },
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
