//! NDJSON event lines into Parquet columns. Each output line is read once
//! with serde_json and shredded straight into one buffer per leaf column
//! (values plus definition and repetition levels, the Dremel encoding that
//! Parquet stores): no intermediate values, strings copied once, `json`
//! fields kept as their exact bytes (a `RawValue`). Absent and `null`
//! values and empty arrays are nulls; `{}` is a struct whose members are null.

use super::schema::{self, Column, Kind};
use ::parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use ::parquet::errors::Result as ParquetResult;
use ::parquet::file::writer::SerializedFileWriter;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::ops::Range;

/// The values of one leaf column.
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
struct Leaf {
    values: Values,
    def: Vec<i16>,
    /// Only for leaves under a list.
    rep: Option<Vec<i16>>,
}

impl Leaf {
    #[inline]
    fn levels(&mut self, def: i16, rep: i16) {
        self.def.push(def);
        if let Some(r) = &mut self.rep {
            r.push(rep);
        }
    }

    /// Empties the buffers, giving their memory back: with thousands of
    /// partitions, kept capacity would outgrow the cap on buffered rows.
    fn clear(&mut self) {
        self.def = Vec::new();
        if let Some(r) = &mut self.rep {
            *r = Vec::new();
        }
        match &mut self.values {
            Values::Bool(v) => *v = Vec::new(),
            Values::I32(v) => *v = Vec::new(),
            Values::I64(v) => *v = Vec::new(),
            Values::Double(v) => *v = Vec::new(),
            Values::Bytes { data, ends } => {
                *data = Vec::new();
                *ends = Vec::new();
            }
        }
    }
}

/// How a leaf's JSON value is read.
#[derive(Clone, Copy)]
enum LeafKind {
    Bool,
    I16,
    I32,
    I64,
    Double,
    Utf8,
    Json,
    Timestamp,
}

/// The column tree, with each node's leaves (numbered depth first, the
/// order of the Parquet schema's leaf columns).
enum Node {
    Leaf(usize, LeafKind),
    Struct(StructNode),
    List {
        child: Box<Node>,
        /// The repetition level of this list's elements.
        rep: i16,
        leaves: Range<usize>,
    },
}

struct StructNode {
    names: Vec<String>,
    children: Vec<Node>,
    leaves: Range<usize>,
    /// Which members the current object had (reused per object).
    seen: Vec<bool>,
}

impl Node {
    fn build(kind: &Kind, rep_depth: i16, leaves: &mut Vec<Leaf>) -> Node {
        let leaf = |values: Values, kind: LeafKind, leaves: &mut Vec<Leaf>| {
            leaves.push(Leaf {
                values,
                def: Vec::new(),
                rep: (rep_depth > 0).then(Vec::new),
            });
            Node::Leaf(leaves.len() - 1, kind)
        };
        let bytes = || Values::Bytes {
            data: Vec::new(),
            ends: Vec::new(),
        };
        match kind {
            Kind::Bool => leaf(Values::Bool(Vec::new()), LeafKind::Bool, leaves),
            Kind::I16 => leaf(Values::I32(Vec::new()), LeafKind::I16, leaves),
            Kind::I32 => leaf(Values::I32(Vec::new()), LeafKind::I32, leaves),
            Kind::I64 => leaf(Values::I64(Vec::new()), LeafKind::I64, leaves),
            Kind::Double => leaf(Values::Double(Vec::new()), LeafKind::Double, leaves),
            Kind::Utf8 => leaf(bytes(), LeafKind::Utf8, leaves),
            Kind::Json => leaf(bytes(), LeafKind::Json, leaves),
            Kind::Timestamp => leaf(Values::I64(Vec::new()), LeafKind::Timestamp, leaves),
            Kind::Struct(cols) => Node::Struct(StructNode::build(cols, rep_depth, leaves)),
            Kind::List(e) => {
                let start = leaves.len();
                let child = Box::new(Node::build(e, rep_depth + 1, leaves));
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
    fn build(cols: &[Column], rep_depth: i16, leaves: &mut Vec<Leaf>) -> StructNode {
        let start = leaves.len();
        let children = cols
            .iter()
            .map(|c| Node::build(&c.kind, rep_depth, leaves))
            .collect();
        StructNode {
            names: cols.iter().map(|c| c.name.clone()).collect(),
            children,
            leaves: start..leaves.len(),
            seen: vec![false; cols.len()],
        }
    }

    /// Reads one JSON object's members; members it lacks are null. `def` is
    /// the definition level of this (present) object.
    fn read_object<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        leaves: &mut [Leaf],
        def: i16,
        rep: i16,
    ) -> Result<(), A::Error> {
        self.seen.iter_mut().for_each(|s| *s = false);
        let mut hint = 0;
        // Keys are column names, which never hold escapes: borrowed.
        while let Some(key) = map.next_key::<&'de str>()? {
            let i = match self.names.get(hint) {
                Some(n) if n == key => hint,
                _ => self
                    .names
                    .iter()
                    .position(|n| n == key)
                    .ok_or_else(|| de::Error::custom(format!("unexpected key {key:?}")))?,
            };
            if std::mem::replace(&mut self.seen[i], true) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value_seed(Value {
                node: &mut self.children[i],
                leaves: &mut *leaves,
                def,
                rep,
            })?;
            hint = i + 1;
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

/// Reads one value into its node; `def` is the level of its parent.
struct Value<'a> {
    node: &'a mut Node,
    leaves: &'a mut [Leaf],
    def: i16,
    rep: i16,
}

impl Value<'_> {
    /// The leaf this value goes to, with its levels recorded (present).
    fn leaf<E: de::Error>(&mut self, what: &str) -> Result<(&mut Values, LeafKind), E> {
        match self.node {
            Node::Leaf(i, kind) => {
                let l = &mut self.leaves[*i];
                l.levels(self.def + 1, self.rep);
                Ok((&mut l.values, *kind))
            }
            _ => Err(E::custom(format!("unexpected {what}"))),
        }
    }
}

fn push_str(values: &mut Values, s: &str) {
    if let Values::Bytes { data, ends } = values {
        data.extend_from_slice(s.as_bytes());
        ends.push(data.len());
    }
}

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(mut self, d: D) -> Result<(), D::Error> {
        if let Node::Leaf(_, LeafKind::Json) = self.node {
            let raw: &RawValue = de::Deserialize::deserialize(d)?;
            match raw.get() {
                "null" => null(self.leaves, self.node.leaves(), self.def, self.rep),
                text => push_str(self.leaf::<D::Error>("JSON")?.0, text),
            }
            return Ok(());
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value of the log schema")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        null(self.leaves, self.node.leaves(), self.def, self.rep);
        Ok(())
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<(), E> {
        match self.leaf("boolean")? {
            (Values::Bool(b), _) => b.push(v),
            _ => return Err(E::custom("unexpected boolean")),
        }
        Ok(())
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        let out_of_range = || E::custom(format!("{v} is out of the column's range"));
        match self.leaf("number")? {
            (Values::I32(b), LeafKind::I16) => {
                b.push(i16::try_from(v).map_err(|_| out_of_range())?.into())
            }
            (Values::I32(b), _) => b.push(i32::try_from(v).map_err(|_| out_of_range())?),
            (Values::I64(b), LeafKind::I64) => b.push(v),
            (Values::Double(b), _) => b.push(v as f64),
            _ => return Err(E::custom("unexpected number")),
        }
        Ok(())
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => match self.leaf("number")? {
                (Values::Double(b), _) => {
                    b.push(v as f64);
                    Ok(())
                }
                _ => Err(E::custom(format!("{v} is out of the column's range"))),
            },
        }
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        match self.leaf("number")? {
            (Values::Double(b), _) => b.push(v),
            _ => return Err(E::custom("unexpected number")),
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        match self.leaf("string")? {
            (Values::I64(b), LeafKind::Timestamp) => b.push(
                super::output_nanos(v.as_bytes())
                    .ok_or_else(|| E::custom(format!("{v:?} is not a TIMESTAMP(NANOS)")))?,
            ),
            (values @ Values::Bytes { .. }, LeafKind::Utf8) => push_str(values, v),
            _ => return Err(E::custom("unexpected string")),
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self.node {
            Node::Struct(s) => s.read_object(&mut map, self.leaves, self.def + 1, self.rep),
            _ => Err(de::Error::custom("unexpected object")),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Node::List { child, rep, leaves } = self.node else {
            return Err(de::Error::custom("unexpected array"));
        };
        // Elements sit under the list (+1) and its repeated group (+1).
        let (def, mut at) = (self.def + 2, self.rep);
        let mut n = 0;
        while seq
            .next_element_seed(Value {
                node: child,
                leaves: &mut *self.leaves,
                def,
                rep: at,
            })?
            .is_some()
        {
            at = *rep;
            n += 1;
        }
        if n == 0 {
            null(self.leaves, leaves.clone(), self.def, self.rep);
        }
        Ok(())
    }
}

/// Rows being gathered for one file, shredded into its leaf columns.
pub struct Rows {
    root: StructNode,
    leaves: Vec<Leaf>,
    len: usize,
    /// Bytes buffered (values and levels), roughly.
    bytes: usize,
}

/// An output event that cannot be read back (a bug, not bad input).
#[derive(Debug, thiserror::Error)]
#[error("cannot convert an output event to Parquet: {0}")]
pub struct RowError(String);

impl Rows {
    pub fn new(plan: &teamlog_core::schema::Plan) -> Rows {
        let mut leaves = Vec::new();
        let root = StructNode::build(&schema::columns(plan), 0, &mut leaves);
        Rows {
            root,
            leaves,
            len: 0,
            bytes: 0,
        }
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

    /// Adds one event line (without its `\n`).
    pub fn push(&mut self, line: &[u8]) -> Result<(), RowError> {
        struct Root<'a>(&'a mut StructNode, &'a mut [Leaf]);
        impl<'de> Visitor<'de> for Root<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                // The root is required: its members' parent level is 0.
                self.0.read_object(&mut map, self.1, 0, 0)
            }
        }
        let mut de = serde_json::Deserializer::from_slice(line);
        let r = de::Deserializer::deserialize_map(&mut de, Root(&mut self.root, &mut self.leaves))
            .and_then(|()| de.end());
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
                        .write_batch(&values, def, rep)?
                }
            };
            col.close()?;
            leaf.clear();
        }
        rg.close()?;
        self.len = 0;
        self.bytes = 0;
        Ok(())
    }
}
