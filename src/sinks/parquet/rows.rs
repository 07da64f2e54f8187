//! NDJSON event lines into Parquet columns. Each output line is walked once
//! by a small reader made for the transform's own output (compact JSON,
//! declared keys in schema order, valid UTF-8) and shredded straight into
//! one buffer per leaf column (values plus definition and repetition levels,
//! the Dremel encoding that Parquet stores): no intermediate values, strings
//! without escapes copied as they are (escaped ones decoded by serde_json),
//! `json` fields kept as their exact bytes. Absent and `null` values and
//! empty arrays are nulls; `{}` is a struct whose members are null.

use super::schema::{self, Column, Kind, Scalar};
use ::parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use ::parquet::errors::Result as ParquetResult;
use ::parquet::file::writer::SerializedFileWriter;
use std::borrow::Cow;
use std::ops::Range;
use teamlog_core::sink::{Encoded, Encoder};

/// The values of one leaf column.
#[derive(Clone)]
enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Double(Vec<f64>),
    /// UTF-8 strings, one after the other; `ends[i]` is where value i ends.
    Bytes {
        data: Vec<u8>,
        ends: Vec<usize>,
    },
}

/// One leaf column's buffered values and levels.
#[derive(Clone)]
struct Leaf {
    values: Values,
    def: Vec<i16>,
    /// Only for leaves under a list.
    rep: Option<Vec<i16>>,
    /// The definition level of a present value.
    max_def: i16,
}

impl Leaf {
    #[inline]
    fn levels(&mut self, def: i16, rep: i16) {
        self.def.push(def);
        if let Some(r) = &mut self.rep {
            r.push(rep);
        }
    }

    /// Empties the buffers, keeping their memory for the next row group (a
    /// file's rows are gathered one row group at a time, and only one file
    /// is written at once, so this is bounded by a row group).
    fn clear(&mut self) {
        self.def.clear();
        if let Some(r) = &mut self.rep {
            r.clear();
        }
        match &mut self.values {
            Values::Bool(v) => v.clear(),
            Values::I32(v) => v.clear(),
            Values::I64(v) => v.clear(),
            Values::Double(v) => v.clear(),
            Values::Bytes { data, ends } => {
                data.clear();
                ends.clear();
            }
        }
    }

    /// The same column with nothing buffered.
    fn empty_like(&self) -> Leaf {
        let values = match &self.values {
            Values::Bool(_) => Values::Bool(Vec::new()),
            Values::I32(_) => Values::I32(Vec::new()),
            Values::I64(_) => Values::I64(Vec::new()),
            Values::Double(_) => Values::Double(Vec::new()),
            Values::Bytes { .. } => Values::Bytes {
                data: Vec::new(),
                ends: Vec::new(),
            },
        };
        Leaf {
            values,
            def: Vec::new(),
            rep: self.rep.as_ref().map(|_| Vec::new()),
            max_def: self.max_def,
        }
    }

    fn value_count(&self) -> usize {
        match &self.values {
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::Double(v) => v.len(),
            Values::Bytes { ends, .. } => ends.len(),
        }
    }

    /// Where the next `rows` rows of this leaf end, from level and value
    /// `at`: `rows` rows start there, a row starting at each repetition
    /// level 0 (or at each level, outside lists).
    fn advance(&self, at: (usize, usize), rows: usize) -> (usize, usize) {
        let end = match (&self.rep, rows) {
            (_, 0) => at.0,
            (None, _) => at.0 + rows,
            (Some(rep), _) => rep[at.0 + 1..]
                .iter()
                .enumerate()
                .filter(|(_, &r)| r == 0)
                .nth(rows - 1)
                .map_or(rep.len(), |(k, _)| at.0 + 1 + k),
        };
        let present = self.def[at.0..end]
            .iter()
            .filter(|&&d| d == self.max_def)
            .count();
        (end, at.1 + present)
    }

    /// Appends `src`'s levels `levels` and values `values` (a leaf of the
    /// same column).
    fn extend(&mut self, src: &Leaf, levels: Range<usize>, values: Range<usize>) {
        self.def.extend_from_slice(&src.def[levels.clone()]);
        if let (Some(r), Some(s)) = (&mut self.rep, &src.rep) {
            r.extend_from_slice(&s[levels]);
        }
        match (&mut self.values, &src.values) {
            (Values::Bool(a), Values::Bool(b)) => a.extend_from_slice(&b[values]),
            (Values::I32(a), Values::I32(b)) => a.extend_from_slice(&b[values]),
            (Values::I64(a), Values::I64(b)) => a.extend_from_slice(&b[values]),
            (Values::Double(a), Values::Double(b)) => a.extend_from_slice(&b[values]),
            (Values::Bytes { data, ends }, Values::Bytes { data: d, ends: e }) => {
                let from = values.start.checked_sub(1).map_or(0, |i| e[i]);
                let to = values.end.checked_sub(1).map_or(0, |i| e[i]).max(from);
                let shift = data.len();
                data.extend_from_slice(&d[from..to]);
                ends.extend(e[values].iter().map(|&end| end - from + shift));
            }
            _ => unreachable!("leaves of one column hold one type"),
        }
    }
}

/// The column tree, with each node's leaves (numbered depth first, the
/// order of the Parquet schema's leaf columns).
#[derive(Clone)]
enum Node {
    Leaf(usize, Scalar),
    Struct(StructNode),
    List {
        child: Box<Node>,
        /// The repetition level of this list's elements.
        rep: i16,
        leaves: Range<usize>,
    },
}

#[derive(Clone)]
struct StructNode {
    names: Vec<Vec<u8>>,
    children: Vec<Node>,
    leaves: Range<usize>,
    /// Which members the current object had (reused per object).
    seen: Vec<bool>,
}

impl Node {
    /// The node of a value whose parent's definition level is `def`.
    fn build(kind: &Kind, rep_depth: i16, def: i16, leaves: &mut Vec<Leaf>) -> Node {
        let leaf = |values: Values, kind: Scalar, leaves: &mut Vec<Leaf>| {
            leaves.push(Leaf {
                values,
                def: Vec::new(),
                rep: (rep_depth > 0).then(Vec::new),
                max_def: def + 1,
            });
            Node::Leaf(leaves.len() - 1, kind)
        };
        let bytes = || Values::Bytes {
            data: Vec::new(),
            ends: Vec::new(),
        };
        match kind {
            &Kind::Scalar(kind) => {
                let values = match kind {
                    Scalar::Bool => Values::Bool(Vec::new()),
                    Scalar::I16 | Scalar::I32 => Values::I32(Vec::new()),
                    Scalar::I64 | Scalar::Timestamp => Values::I64(Vec::new()),
                    Scalar::Double => Values::Double(Vec::new()),
                    Scalar::Utf8 | Scalar::Json => bytes(),
                };
                leaf(values, kind, leaves)
            }
            Kind::Struct(cols) => Node::Struct(StructNode::build(cols, rep_depth, def + 1, leaves)),
            Kind::List(e) => {
                let start = leaves.len();
                // Elements sit under the list (+1) and its repeated group (+1).
                let child = Box::new(Node::build(e, rep_depth + 1, def + 2, leaves));
                Node::List {
                    child,
                    rep: rep_depth + 1,
                    leaves: start..leaves.len(),
                }
            }
        }
    }

    fn leaves(&self) -> Range<usize> {
        match self {
            Node::Leaf(i, _) => *i..*i + 1,
            Node::Struct(s) => s.leaves.clone(),
            Node::List { leaves, .. } => leaves.clone(),
        }
    }
}

impl StructNode {
    /// The node of an object whose own definition level is `def`.
    fn build(cols: &[Column], rep_depth: i16, def: i16, leaves: &mut Vec<Leaf>) -> StructNode {
        let start = leaves.len();
        let children = cols
            .iter()
            .map(|c| Node::build(&c.kind, rep_depth, def, leaves))
            .collect();
        StructNode {
            names: cols.iter().map(|c| c.name.clone().into_bytes()).collect(),
            children,
            leaves: start..leaves.len(),
            seen: vec![false; cols.len()],
        }
    }

    /// Reads one JSON object's members (the reader is at its `{`); members
    /// it lacks are null. `def` is the definition level of this (present)
    /// object.
    fn read_object(
        &mut self,
        r: &mut Reader<'_>,
        leaves: &mut [Leaf],
        def: i16,
        rep: i16,
    ) -> Result<(), String> {
        r.expect(b'{')?;
        self.seen.iter_mut().for_each(|s| *s = false);
        if !r.eat(b'}') {
            let mut hint = 0;
            loop {
                // Keys are column names, which never hold escapes.
                let key = r.key()?;
                // Keys come in schema order, members left out between them:
                // look from the hint on first.
                let at = |names: &[Vec<u8>]| names.iter().position(|n| n[..] == *key);
                let i = at(&self.names[hint..])
                    .map(|j| hint + j)
                    .or_else(|| at(&self.names[..hint]))
                    .ok_or_else(|| format!("unexpected key {:?}", String::from_utf8_lossy(key)))?;
                if std::mem::replace(&mut self.seen[i], true) {
                    let key = String::from_utf8_lossy(key);
                    return Err(format!("duplicate key {key:?}"));
                }
                value(r, &mut self.children[i], leaves, def, rep)?;
                hint = i + 1;
                if !r.eat(b',') {
                    r.expect(b'}')?;
                    break;
                }
            }
        }
        for (c, seen) in self.children.iter().zip(&self.seen) {
            if !seen {
                null(leaves, c.leaves(), def, rep);
            }
        }
        Ok(())
    }
}

/// A null (or absent) value whose nearest present ancestor is at level `def`.
#[inline]
fn null(leaves: &mut [Leaf], range: Range<usize>, def: i16, rep: i16) {
    for l in &mut leaves[range] {
        l.levels(def, rep);
    }
}

/// A cursor over one output line. The lines are the transform's own output:
/// compact JSON (no whitespace between tokens) and valid UTF-8 (checked once
/// per batch of lines), so every slice cut at an ASCII delimiter is UTF-8 too.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.at += usize::from(hit);
        hit
    }

    fn unexpected(&self) -> String {
        match self.peek() {
            Some(c) => format!("unexpected {:?} at byte {}", c as char, self.at),
            None => "unexpected end of the line".to_string(),
        }
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), String> {
        if self.b[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// An object key and its `:`.
    #[inline]
    fn key(&mut self) -> Result<&'a [u8], String> {
        self.expect(b'"')?;
        let rest = &self.b[self.at..];
        let n = memchr::memchr(b'"', rest).ok_or_else(|| self.unexpected())?;
        self.at += n + 1;
        self.expect(b':')?;
        Ok(&rest[..n])
    }

    /// Past a string's closing quote (the reader is just inside it); whether
    /// it held an escape.
    #[inline]
    fn string_end(&mut self) -> Result<bool, String> {
        let mut escaped = false;
        loop {
            let rest = &self.b[self.at..];
            match memchr::memchr2(b'"', b'\\', rest) {
                Some(n) if rest[n] == b'"' => {
                    self.at += n + 1;
                    return Ok(escaped);
                }
                // The escaped byte is never the closing quote.
                Some(n) if n + 1 < rest.len() => {
                    self.at += n + 2;
                    escaped = true;
                }
                _ => {
                    self.at = self.b.len();
                    return Err(self.unexpected());
                }
            }
        }
    }

    /// A string value's content: its bytes as they are, or unescaped.
    #[inline]
    fn string(&mut self) -> Result<Cow<'a, [u8]>, String> {
        let start = self.at;
        self.expect(b'"')?;
        if !self.string_end()? {
            return Ok(Cow::Borrowed(&self.b[start + 1..self.at - 1]));
        }
        let s: String =
            serde_json::from_slice(&self.b[start..self.at]).map_err(|e| e.to_string())?;
        Ok(Cow::Owned(s.into_bytes()))
    }

    /// A number's text (checked by the caller's parse).
    #[inline]
    fn number(&mut self) -> &'a [u8] {
        let start = self.at;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.peek() {
            self.at += 1;
        }
        &self.b[start..self.at]
    }

    /// Past any one value: a string, an object or array (to its matching
    /// close), or a literal or number.
    fn skip_value(&mut self) -> Result<(), String> {
        match self.peek() {
            Some(b'"') => {
                self.at += 1;
                self.string_end().map(drop)
            }
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    self.at += 1;
                    match c {
                        b'"' => {
                            self.string_end()?;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                }
                Err(self.unexpected())
            }
            _ => {
                let start = self.at;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    return Err(self.unexpected());
                }
                Ok(())
            }
        }
    }
}

fn push_bytes(values: &mut Values, s: &[u8]) {
    if let Values::Bytes { data, ends } = values {
        data.extend_from_slice(s);
        ends.push(data.len());
    }
}

/// Parses an integer column's value.
fn integer<T: TryFrom<i64>>(text: &[u8]) -> Result<T, String> {
    let v: i64 = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("unexpected number {:?}", String::from_utf8_lossy(text)))?;
    T::try_from(v).map_err(|_| format!("{v} is out of the column's range"))
}

/// Reads one value into its node; `def` is the level of its parent.
fn value(
    r: &mut Reader<'_>,
    node: &mut Node,
    leaves: &mut [Leaf],
    def: i16,
    rep: i16,
) -> Result<(), String> {
    if r.peek() == Some(b'n') {
        r.literal(b"null")?;
        null(leaves, node.leaves(), def, rep);
        return Ok(());
    }
    let (i, kind) = match node {
        Node::Leaf(i, kind) => (*i, *kind),
        Node::Struct(s) => return s.read_object(r, leaves, def + 1, rep),
        Node::List {
            child,
            rep: at,
            leaves: range,
        } => {
            r.expect(b'[')?;
            if r.eat(b']') {
                null(leaves, range.clone(), def, rep);
                return Ok(());
            }
            // Elements sit under the list (+1) and its repeated group (+1).
            value(r, child, leaves, def + 2, rep)?;
            while r.eat(b',') {
                value(r, child, leaves, def + 2, *at)?;
            }
            return r.expect(b']');
        }
    };
    let leaf = &mut leaves[i];
    let values = &mut leaf.values;
    match (kind, r.peek()) {
        (Scalar::Json, _) => {
            let start = r.at;
            r.skip_value()?;
            push_bytes(values, &r.b[start..r.at]);
        }
        (Scalar::Utf8, Some(b'"')) => push_bytes(values, &r.string()?),
        (Scalar::Timestamp, Some(b'"')) => {
            let text = r.string()?;
            let nanos = super::output_nanos(&text).ok_or_else(|| {
                let text = String::from_utf8_lossy(&text);
                format!("{text:?} is not a TIMESTAMP(NANOS)")
            })?;
            match values {
                Values::I64(b) => b.push(nanos),
                _ => unreachable!("a timestamp leaf holds i64"),
            }
        }
        (Scalar::Bool, Some(c @ (b't' | b'f'))) => {
            r.literal(if c == b't' { b"true" } else { b"false" })?;
            match values {
                Values::Bool(b) => b.push(c == b't'),
                _ => unreachable!("a boolean leaf holds bools"),
            }
        }
        (_, Some(b'-' | b'0'..=b'9')) => {
            let text = r.number();
            match (kind, values) {
                (Scalar::I16, Values::I32(b)) => b.push(integer::<i16>(text)?.into()),
                (Scalar::I32, Values::I32(b)) => b.push(integer(text)?),
                (Scalar::I64, Values::I64(b)) => b.push(integer(text)?),
                // The parse serde_json gives any number (so the same f64).
                (Scalar::Double, Values::Double(b)) => {
                    b.push(serde_json::from_slice(text).map_err(|e| e.to_string())?)
                }
                _ => return Err(format!("unexpected number at byte {}", r.at)),
            }
        }
        _ => return Err(r.unexpected()),
    }
    leaf.levels(def + 1, rep);
    Ok(())
}

/// Checks that event lines are UTF-8, once for a whole batch of them (so
/// that every value cut from them at an ASCII delimiter is).
pub fn check_utf8(lines: &[u8]) -> Result<(), RowError> {
    simdutf8::basic::from_utf8(lines)
        .map(drop)
        .map_err(|_| RowError(format!("not UTF-8: {}", String::from_utf8_lossy(lines))))
}

/// The non-empty lines of `buf`, split at `\n`.
pub fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', buf)
        .chain(std::iter::once(buf.len()))
        .map(move |end| {
            let line = &buf[start.min(end)..end];
            start = end + 1;
            line
        })
        .filter(|l| !l.is_empty())
}

/// Rows being gathered for one file (or one fragment of one), shredded into
/// its leaf columns.
#[derive(Clone)]
pub struct Rows {
    root: StructNode,
    leaves: Vec<Leaf>,
    len: usize,
    /// Bytes of the lines gathered.
    bytes: usize,
    /// The leaf of the top-level `p_row_id`.
    row_id_leaf: usize,
}

/// An output event that cannot be read back (a bug, not bad input).
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot convert an output event to Parquet: {0}")]
pub struct RowError(String);

/// How far appending a [`Fragment`] has got: the next row, and per leaf the
/// next level and value.
pub struct Cursor {
    row: usize,
    at: Vec<(usize, usize)>,
}

/// One part of a chunk's events shredded in a pipeline worker (by
/// [`Shredder`]), which the writer appends to its file's rows.
pub struct Fragment {
    rows: Rows,
    /// The line that could not be read back, if one could not (the run
    /// stops at it).
    error: Option<RowError>,
    /// With sequential row ids, which the writer fills in after this was
    /// made, per row: the bytes from its row id's end to its line's end
    /// (which the insertion does not change).
    tails: Vec<usize>,
}

impl Fragment {
    /// A cursor at its first row.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            row: 0,
            at: vec![(0, 0); self.rows.leaves.len()],
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len
    }

    pub fn is_empty(&self) -> bool {
        self.rows.len == 0
    }

    pub fn error(&self) -> Option<&RowError> {
        self.error.as_ref()
    }

    /// Whether the row ids are the writer's, to be read from its lines.
    pub fn row_ids_pending(&self) -> bool {
        !self.tails.is_empty()
    }

    /// Row `k`'s id in `line`, its line as the writer wrote it.
    pub fn row_id<'l>(&self, k: usize, line: &'l [u8]) -> Result<&'l [u8], RowError> {
        let lost = || RowError(format!("no row id: {}", String::from_utf8_lossy(line)));
        let end = line.len().checked_sub(self.tails[k]).ok_or_else(lost)?;
        let start = memchr::memrchr(b'"', &line[..end]).ok_or_else(lost)? + 1;
        Ok(&line[start..end])
    }
}

/// The [`Encoder`] of `-o FILE`: each part's events into a [`Fragment`].
pub struct Shredder {
    empty: Rows,
}

impl Shredder {
    pub fn new(plan: &teamlog_core::schema::Plan) -> Shredder {
        Shredder {
            empty: Rows::new(plan),
        }
    }
}

impl Encoder for Shredder {
    fn encode(&self, events: &[u8], row_id_slots: &[usize], reuse: Option<Encoded>) -> Encoded {
        let mut f = match reuse.map(|e| e.downcast::<Fragment>()) {
            Some(Ok(f)) => f,
            _ => Box::new(Fragment {
                rows: self.empty.clone(),
                error: None,
                tails: Vec::new(),
            }),
        };
        f.rows.clear();
        f.error = check_utf8(events)
            .and_then(|()| lines(events).try_for_each(|l| f.rows.push(l)))
            .err();
        f.tails.clear();
        f.tails.extend(
            row_id_slots
                .iter()
                .map(|&at| memchr::memchr(b'\n', &events[at..]).unwrap_or(events.len() - at)),
        );
        if f.error.is_none() && !f.tails.is_empty() && f.tails.len() != f.rows.len {
            let n = (f.tails.len(), f.rows.len);
            f.error = Some(RowError(format!("{} row ids for {} rows", n.0, n.1)));
        }
        f
    }
}

impl Rows {
    pub fn new(plan: &teamlog_core::schema::Plan) -> Rows {
        let mut leaves = Vec::new();
        let root = StructNode::build(&schema::columns(plan), 0, 0, &mut leaves);
        let row_id_leaf = match root.names.iter().position(|n| n == b"p_row_id") {
            Some(i) => root.children[i].leaves().start,
            None => unreachable!("every table has p_row_id"),
        };
        Rows {
            root,
            leaves,
            len: 0,
            bytes: 0,
            row_id_leaf,
        }
    }

    /// No rows, the same columns (and no buffers).
    pub fn empty_like(&self) -> Rows {
        let mut leaves = self.leaves.clone();
        leaves.iter_mut().for_each(|l| *l = l.empty_like());
        Rows {
            root: self.root.clone(),
            leaves,
            len: 0,
            bytes: 0,
            row_id_leaf: self.row_id_leaf,
        }
    }

    fn clear(&mut self) {
        self.leaves.iter_mut().for_each(Leaf::clear);
        self.len = 0;
        self.bytes = 0;
    }

    /// Appends the next `rows` rows of `f` (whose lines hold `bytes`),
    /// from `at`; with the row ids pending, all but the `p_row_id` column,
    /// which [`Rows::push_row_id`] fills.
    pub fn append(&mut self, f: &Fragment, at: &mut Cursor, rows: usize, bytes: usize) {
        let all = at.row + rows == f.rows.len;
        let skip = f.row_ids_pending().then_some(self.row_id_leaf);
        for (i, (dst, src)) in self.leaves.iter_mut().zip(&f.rows.leaves).enumerate() {
            let from = at.at[i];
            let to = if all {
                (src.def.len(), src.value_count())
            } else {
                src.advance(from, rows)
            };
            if skip != Some(i) {
                dst.extend(src, from.0..to.0, from.1..to.1);
            }
            at.at[i] = to;
        }
        at.row += rows;
        self.len += rows;
        self.bytes += bytes;
    }

    /// One row's `p_row_id` (see [`Rows::append`]).
    pub fn push_row_id(&mut self, id: &[u8]) {
        let leaf = &mut self.leaves[self.row_id_leaf];
        push_bytes(&mut leaf.values, id);
        leaf.levels(leaf.max_def, 0);
    }

    /// Rows gathered since the last row group.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the lines gathered since the last row group.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds one event line (without its `\n`), which [`check_utf8`] has
    /// passed (with the lines around it).
    pub fn push(&mut self, line: &[u8]) -> Result<(), RowError> {
        let mut r = Reader { b: line, at: 0 };
        // The root is required: its members' parent level is 0.
        let r = self
            .root
            .read_object(&mut r, &mut self.leaves, 0, 0)
            .and_then(|()| match r.peek() {
                None => Ok(()),
                Some(_) => Err(r.unexpected()),
            });
        // A half-read row would leave the columns out of step: the run stops.
        r.map_err(|e| RowError(format!("{e}: {}", String::from_utf8_lossy(line))))?;
        self.len += 1;
        self.bytes += line.len();
        Ok(())
    }

    /// Writes the gathered rows as one row group; the buffers start over.
    pub fn write_row_group<W: std::io::Write + Send>(
        &mut self,
        w: &mut SerializedFileWriter<W>,
    ) -> ParquetResult<()> {
        let mut rg = w.next_row_group()?;
        for leaf in &mut self.leaves {
            let mut col = rg.next_column()?.expect("one column per leaf");
            let mut lent = None;
            let (def, rep) = (Some(&leaf.def[..]), leaf.rep.as_deref());
            match &mut leaf.values {
                Values::Bool(v) => col.typed::<BoolType>().write_batch(v, def, rep)?,
                Values::I32(v) => col.typed::<Int32Type>().write_batch(v, def, rep)?,
                Values::I64(v) => col.typed::<Int64Type>().write_batch(v, def, rep)?,
                Values::Double(v) => col.typed::<DoubleType>().write_batch(v, def, rep)?,
                Values::Bytes { data, ends } => {
                    let buf = bytes::Bytes::from(std::mem::take(data));
                    let mut start = 0;
                    let values: Vec<ByteArray> = ends
                        .iter()
                        .map(|&end| {
                            let v = ByteArray::from(buf.slice(start..end));
                            start = end;
                            v
                        })
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&values, def, rep)?;
                    lent = Some(buf);
                    0
                }
            };
            col.close()?;
            // Once the column is closed the writer keeps no value: the
            // buffer is the leaf's again, unless something still holds it.
            if let (Some(buf), Values::Bytes { data, .. }) = (lent, &mut leaf.values) {
                if let Ok(b) = buf.try_into_mut() {
                    *data = b.into();
                }
            }
            leaf.clear();
        }
        rg.close()?;
        self.len = 0;
        self.bytes = 0;
        Ok(())
    }
}
