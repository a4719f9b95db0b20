//! Schema tables for features scrolldb does not have (user types, functions, aggregates,
//! triggers, secondary indexes, materialized views, dropped columns): always empty, but with
//! their real columns, because drivers read them on every schema refresh and a missing
//! table or column is an error to them.

use super::schema::option_columns;
use super::{frozen_list, frozen_map, specs, SystemRows};
use crate::storage::types::CqlType;

fn empty(table: &str, columns: &[(&str, CqlType)]) -> SystemRows {
    (specs("system_schema", table, columns), Vec::new())
}

pub fn types() -> SystemRows {
    empty(
        "types",
        &[
            ("keyspace_name", CqlType::Text),
            ("type_name", CqlType::Text),
            ("field_names", frozen_list(CqlType::Text)),
            ("field_types", frozen_list(CqlType::Text)),
        ],
    )
}

pub fn functions() -> SystemRows {
    empty(
        "functions",
        &[
            ("keyspace_name", CqlType::Text),
            ("function_name", CqlType::Text),
            ("argument_types", frozen_list(CqlType::Text)),
            ("argument_names", frozen_list(CqlType::Text)),
            ("body", CqlType::Text),
            ("called_on_null_input", CqlType::Boolean),
            ("language", CqlType::Text),
            ("return_type", CqlType::Text),
        ],
    )
}

pub fn aggregates() -> SystemRows {
    empty(
        "aggregates",
        &[
            ("keyspace_name", CqlType::Text),
            ("aggregate_name", CqlType::Text),
            ("argument_types", frozen_list(CqlType::Text)),
            ("final_func", CqlType::Text),
            ("initcond", CqlType::Text),
            ("return_type", CqlType::Text),
            ("state_func", CqlType::Text),
            ("state_type", CqlType::Text),
        ],
    )
}

pub fn triggers() -> SystemRows {
    empty(
        "triggers",
        &[
            ("keyspace_name", CqlType::Text),
            ("table_name", CqlType::Text),
            ("trigger_name", CqlType::Text),
            ("options", frozen_map(CqlType::Text, CqlType::Text)),
        ],
    )
}

pub fn indexes() -> SystemRows {
    empty(
        "indexes",
        &[
            ("keyspace_name", CqlType::Text),
            ("table_name", CqlType::Text),
            ("index_name", CqlType::Text),
            ("kind", CqlType::Text),
            ("options", frozen_map(CqlType::Text, CqlType::Text)),
        ],
    )
}

pub fn views() -> SystemRows {
    let mut layout = vec![
        ("keyspace_name", CqlType::Text),
        ("view_name", CqlType::Text),
        ("base_table_id", CqlType::Uuid),
        ("base_table_name", CqlType::Text),
        ("include_all_columns", CqlType::Boolean),
        ("where_clause", CqlType::Text),
    ];
    layout.extend(option_columns());
    empty("views", &layout)
}

pub fn dropped_columns() -> SystemRows {
    empty(
        "dropped_columns",
        &[
            ("keyspace_name", CqlType::Text),
            ("table_name", CqlType::Text),
            ("column_name", CqlType::Text),
            ("dropped_time", CqlType::Timestamp),
            ("type", CqlType::Text),
        ],
    )
}
