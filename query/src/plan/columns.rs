//! How run fields are named as DataFusion columns.
//!
//! The runs table has one column per field a query mentions: `attributes.*`,
//! `params.KEY`, `tags.KEY`, `metrics.KEY`, plus `_row` (the run's row in the
//! index). The inputs table has `_run_row` and `datasets.*`. Names are used
//! verbatim through `ident`, so keys with dots, spaces or quotes need no escaping.

use datafusion::arrow::datatypes::{DataType, Field as ArrowField};
use runstore_engine::index::{Field, IndexView, RowValue, SearchIndex};

/// The runs table's row-number column.
pub const ROW: &str = "_row";
/// The inputs table's column naming the run's row.
pub const INPUT_ROW: &str = "_run_row";
/// The runs table's name in plans.
pub const RUNS: &str = "runs";
/// The inputs table's name in plans.
pub const INPUTS: &str = "inputs";

/// The column name of a field.
pub fn name(field: &Field) -> String {
    match field {
        Field::RunId => "attributes.run_id".into(),
        Field::RunName => "attributes.run_name".into(),
        Field::Status => "attributes.status".into(),
        Field::UserId => "attributes.user_id".into(),
        Field::ArtifactUri => "attributes.artifact_uri".into(),
        Field::StartTime => "attributes.start_time".into(),
        Field::EndTime => "attributes.end_time".into(),
        Field::Experiment => "attributes.experiment_id".into(),
        Field::Lifecycle => "attributes.lifecycle_stage".into(),
        Field::Param(k) => format!("params.{k}"),
        Field::Tag(k) => format!("tags.{k}"),
        Field::Metric(k) => format!("metrics.{k}"),
        Field::DatasetName => "datasets.name".into(),
        Field::DatasetDigest => "datasets.digest".into(),
        Field::DatasetContext => "datasets.context".into(),
    }
}

/// The Arrow field of a run field.
pub fn arrow_field(field: &Field) -> ArrowField {
    let ty = match SearchIndex::field_type(field) {
        RowValue::Text => DataType::Utf8,
        RowValue::Int => DataType::Int64,
        RowValue::Float => DataType::Float64,
    };
    let nullable = !matches!(
        field,
        Field::RunId | Field::StartTime | Field::Status | Field::Experiment | Field::Lifecycle
    );
    ArrowField::new(name(field), ty, nullable)
}
