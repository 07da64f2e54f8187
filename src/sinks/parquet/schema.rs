//! The table's columns, derived from the log schema's [`Plan`]: declared
//! fields in schema order under their column names, then every `p_` column
//! the schema can produce. One [`Kind`] tree drives the Parquet schema, the
//! column shredding and the `CREATE TABLE` text, so the three cannot disagree.

use ::parquet::basic::{LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use ::parquet::schema::types::{Type, TypePtr};
use std::sync::Arc;
use teamlog_core::schema::{FieldType, IntWidth, ObjectPlan, Plan, ValuePlan};

/// A leaf column's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Bool,
    I16,
    I32,
    I64,
    Double,
    Utf8,
    /// A `json` field: UTF-8 text holding exactly the NDJSON bytes.
    Json,
    /// TIMESTAMP(NANOS, UTC).
    Timestamp,
}

/// A column's type in the table.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Scalar(Scalar),
    Struct(Vec<Column>),
    List(Box<Kind>),
}

/// A named column (or struct member).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

fn column(name: &str, kind: Kind) -> Column {
    Column {
        name: name.to_string(),
        kind,
    }
}

fn value_kind(v: &ValuePlan) -> Kind {
    match &v.ty {
        FieldType::String => Kind::Scalar(Scalar::Utf8),
        FieldType::Boolean => Kind::Scalar(Scalar::Bool),
        FieldType::Int(IntWidth::I16) => Kind::Scalar(Scalar::I16),
        FieldType::Int(IntWidth::I32) => Kind::Scalar(Scalar::I32),
        FieldType::Int(IntWidth::I64) => Kind::Scalar(Scalar::I64),
        FieldType::Float => Kind::Scalar(Scalar::Double),
        FieldType::Timestamp(_) => Kind::Scalar(Scalar::Timestamp),
        FieldType::Json => Kind::Scalar(Scalar::Json),
        FieldType::Object(o) => Kind::Struct(object_columns(o)),
        FieldType::Array(e) => Kind::List(Box::new(value_kind(e))),
    }
}

fn object_columns(o: &ObjectPlan) -> Vec<Column> {
    o.fields
        .iter()
        .map(|f| column(&f.column, value_kind(&f.value)))
        .collect()
}

/// Every column of the table, in output order: the declared fields, then
/// `p_log_type`, `p_row_id`, `p_event_time`, `p_parse_time`,
/// `p_schema_version`, `p_source_id`, `p_source_label` and the schema's
/// `p_any_*` indicator columns.
pub fn columns(plan: &Plan) -> Vec<Column> {
    let mut cols = object_columns(&plan.root);
    cols.extend([
        column("p_log_type", Kind::Scalar(Scalar::Utf8)),
        column("p_row_id", Kind::Scalar(Scalar::Utf8)),
        column("p_event_time", Kind::Scalar(Scalar::Timestamp)),
        column("p_parse_time", Kind::Scalar(Scalar::Timestamp)),
        column("p_schema_version", Kind::Scalar(Scalar::I64)),
        column("p_source_id", Kind::Scalar(Scalar::Utf8)),
        column("p_source_label", Kind::Scalar(Scalar::Utf8)),
    ]);
    for b in &plan.buckets {
        cols.push(column(
            b.column(),
            Kind::List(Box::new(Kind::Scalar(Scalar::Utf8))),
        ));
    }
    cols
}

/// The Parquet type of a column; every field is optional (nullable).
/// Lists take the standard three-level form (`LIST` / `repeated group list`
/// / `element`) that Athena, Spark and DuckDB all read.
fn parquet_type(c: &Column) -> TypePtr {
    let leaf = |physical: PhysicalType, logical: Option<LogicalType>| {
        Type::primitive_type_builder(&c.name, physical)
            .with_repetition(Repetition::OPTIONAL)
            .with_logical_type(logical)
            .build()
            .expect("a valid leaf")
    };
    let t = match &c.kind {
        Kind::Scalar(Scalar::Bool) => leaf(PhysicalType::BOOLEAN, None),
        Kind::Scalar(Scalar::I16) => {
            leaf(PhysicalType::INT32, Some(LogicalType::integer(16, true)))
        }
        Kind::Scalar(Scalar::I32) => {
            leaf(PhysicalType::INT32, Some(LogicalType::integer(32, true)))
        }
        Kind::Scalar(Scalar::I64) => {
            leaf(PhysicalType::INT64, Some(LogicalType::integer(64, true)))
        }
        Kind::Scalar(Scalar::Double) => leaf(PhysicalType::DOUBLE, None),
        Kind::Scalar(Scalar::Utf8 | Scalar::Json) => {
            leaf(PhysicalType::BYTE_ARRAY, Some(LogicalType::String))
        }
        Kind::Scalar(Scalar::Timestamp) => leaf(
            PhysicalType::INT64,
            Some(LogicalType::timestamp(true, TimeUnit::NANOS)),
        ),
        Kind::Struct(cols) => Type::group_type_builder(&c.name)
            .with_repetition(Repetition::OPTIONAL)
            .with_fields(cols.iter().map(parquet_type).collect())
            .build()
            .expect("a valid group"),
        Kind::List(e) => {
            let element = parquet_type(&column("element", (**e).clone()));
            let list = Type::group_type_builder("list")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![element])
                .build()
                .expect("a valid list");
            Type::group_type_builder(&c.name)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(Some(LogicalType::List))
                .with_fields(vec![Arc::new(list)])
                .build()
                .expect("a valid list")
        }
    };
    Arc::new(t)
}

/// Every leaf column's path (the names the Parquet schema gives it, a
/// list's `list` and `element` included) and its kind, in schema order.
pub fn leaf_paths(plan: &Plan) -> Vec<(Vec<String>, Kind)> {
    fn walk(path: &mut Vec<String>, kind: &Kind, out: &mut Vec<(Vec<String>, Kind)>) {
        match kind {
            Kind::Struct(cols) => {
                for c in cols {
                    path.push(c.name.clone());
                    walk(path, &c.kind, out);
                    path.pop();
                }
            }
            Kind::List(e) => {
                path.extend(["list".to_string(), "element".to_string()]);
                walk(path, e, out);
                path.truncate(path.len() - 2);
            }
            leaf => out.push((path.clone(), leaf.clone())),
        }
    }
    let mut out = Vec::new();
    walk(&mut Vec::new(), &Kind::Struct(columns(plan)), &mut out);
    out
}

/// The Parquet schema every file of a run gets.
pub fn parquet_schema(plan: &Plan) -> TypePtr {
    let fields = columns(plan).iter().map(parquet_type).collect();
    Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .expect("a valid schema"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parquet_schema_has_nanosecond_utc_times_and_three_level_lists() {
        let mut text = Vec::new();
        ::parquet::schema::printer::print_schema(&mut text, &parquet_schema(&Plan::dropbox()));
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("OPTIONAL INT64 timestamp (TIMESTAMP(NANOS,true));"),
            "{text}"
        );
        assert!(
            text.contains("OPTIONAL BYTE_ARRAY details (STRING);"),
            "{text}"
        );
        assert!(text.contains("OPTIONAL group p_any_emails (LIST) {\n    REPEATED group list {\n      OPTIONAL BYTE_ARRAY element (STRING);"), "{text}");
    }

    #[test]
    fn leaf_paths_are_the_parquet_schema_leaves() {
        let plan = Plan::dropbox();
        let descr = ::parquet::schema::types::SchemaDescriptor::new(parquet_schema(&plan));
        let paths: Vec<Vec<String>> = leaf_paths(&plan).into_iter().map(|(p, _)| p).collect();
        let leaves: Vec<Vec<String>> = descr
            .columns()
            .iter()
            .map(|c| c.path().parts().to_vec())
            .collect();
        assert_eq!(paths, leaves);
        assert!(paths.contains(&vec![
            "p_any_emails".into(),
            "list".into(),
            "element".into()
        ]));
    }

    #[test]
    fn dropbox_columns_are_declared_then_p_fields() {
        let cols = columns(&Plan::dropbox());
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[0], "timestamp");
        assert_eq!(names[3], "details");
        assert_eq!(cols[0].kind, Kind::Scalar(Scalar::Timestamp));
        assert_eq!(cols[3].kind, Kind::Scalar(Scalar::Json));
        assert!(matches!(&cols[1].kind, Kind::Struct(c) if c[0].name == "_tag"));
        assert_eq!(
            &names[10..],
            [
                "p_log_type",
                "p_row_id",
                "p_event_time",
                "p_parse_time",
                "p_schema_version",
                "p_source_id",
                "p_source_label",
                "p_any_ip_addresses",
                "p_any_emails",
                "p_any_usernames"
            ]
        );
    }
}
