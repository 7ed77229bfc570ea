//! The search index as DataFusion tables.
//!
//! [`RunsTable`] has a column per field a query mentions (plus `_row`);
//! [`InputsTable`] has one row per dataset input. Both accept every filter
//! they can translate as *exact* pushdown, evaluate it on the index, and hand
//! DataFusion only the matching rows, gathered for the projected columns. The
//! runs come out in MLflow's default order (start time descending, run id),
//! which the scan declares, so a query ordered that way needs no sort and a
//! `LIMIT` stops the scan early.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, RecordBatch, RecordBatchOptions, StringArray, UInt32Array,
};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::catalog::memory::{DataSourceExec, MemorySourceConfig};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::datasource::TableProvider;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr, expressions::Column as PhysColumn};
use datafusion::physical_plan::ExecutionPlan;
use runstore_engine::index::{Field, IndexView, Pred, SearchIndex};

use super::columns::{self, INPUT_ROW, ROW};
use super::pushdown::to_pred;

/// Rows per batch handed to DataFusion.
const BATCH_ROWS: usize = 8192;

fn engine_err(e: runstore_engine::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Translates pushed filters (all accepted as exact) into one predicate.
fn conjunction(
    filters: &[Expr],
    resolve: &dyn Fn(&str) -> Option<Field>,
) -> DfResult<Option<Pred>> {
    let mut preds = Vec::with_capacity(filters.len());
    for f in filters {
        preds.push(to_pred(f, resolve).ok_or_else(|| {
            DataFusionError::Internal(format!(
                "filter accepted for pushdown but not translatable: {f}"
            ))
        })?);
    }
    Ok(match preds.len() {
        0 => None,
        1 => preds.pop(),
        _ => Some(Pred::And(preds)),
    })
}

/// Splits `columns` into batches and wraps them in a memory scan.
fn memory_exec(
    schema: SchemaRef,
    columns: Vec<ArrayRef>,
    rows: usize,
    ordering: Option<LexOrdering>,
) -> DfResult<Arc<dyn ExecutionPlan>> {
    let batch = RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?;
    let batches: Vec<RecordBatch> = (0..rows.max(1))
        .step_by(BATCH_ROWS)
        .map(|start| batch.slice(start.min(rows), BATCH_ROWS.min(rows - start.min(rows))))
        .collect();
    let mut source = MemorySourceConfig::try_new(&[batches], schema, None)?;
    if let Some(ordering) = ordering {
        source = source.try_with_sort_information(vec![ordering])?;
    }
    Ok(DataSourceExec::from_data_source(source))
}

/// A column of the runs table.
#[derive(Debug, Clone)]
enum RunColumn {
    Row,
    Field(Field),
}

/// The runs of an index, as a table with the columns one query needs.
#[derive(Debug)]
pub struct RunsTable {
    index: Arc<SearchIndex>,
    columns: Vec<RunColumn>,
    by_name: HashMap<String, Field>,
    schema: SchemaRef,
    /// Scan only the runs after this (start time, run id) in default order.
    resume_after: Option<(i64, u128)>,
}

impl RunsTable {
    /// A table with `_row`, the default-order columns and `fields`.
    pub fn new(index: Arc<SearchIndex>, fields: impl IntoIterator<Item = Field>) -> Self {
        let mut columns = vec![
            RunColumn::Row,
            RunColumn::Field(Field::StartTime),
            RunColumn::Field(Field::RunId),
        ];
        let mut arrow = vec![
            ArrowField::new(ROW, DataType::UInt32, false),
            columns::arrow_field(&Field::StartTime),
            columns::arrow_field(&Field::RunId),
        ];
        let mut by_name: HashMap<String, Field> = [Field::StartTime, Field::RunId]
            .into_iter()
            .map(|f| (columns::name(&f), f))
            .collect();
        for f in fields {
            let name = columns::name(&f);
            if by_name.contains_key(&name) {
                continue;
            }
            arrow.push(columns::arrow_field(&f));
            by_name.insert(name, f.clone());
            columns.push(RunColumn::Field(f));
        }
        RunsTable {
            index,
            columns,
            by_name,
            schema: Arc::new(Schema::new(arrow)),
            resume_after: None,
        }
    }

    /// The same table holding only the runs after the run with `start_time`
    /// and `run_id` in default order — a page cursor found by binary search
    /// rather than evaluated as a filter on every row.
    pub fn resume_after(mut self, start_time: i64, run_id: u128) -> Self {
        self.resume_after = Some((start_time, run_id));
        self
    }

    fn resolve(&self, name: &str) -> Option<Field> {
        self.by_name.get(name).cloned()
    }
}

#[async_trait]
impl TableProvider for RunsTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match to_pred(f, &|n| self.resolve(n)) {
                Some(_) => TableProviderFilterPushDown::Exact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let pred = conjunction(filters, &|n| self.resolve(n))?;
        let truth = pred
            .as_ref()
            .map(|p| self.index.eval(p))
            .transpose()
            .map_err(engine_err)?;
        let all = self.index.default_order().map_err(engine_err)?;
        let skip = match self.resume_after {
            Some((start, id)) => self
                .index
                .default_order_position(&all, start, id)
                .map_err(engine_err)?,
            None => 0,
        };
        let order = &all[skip..];
        let cap = limit.unwrap_or(usize::MAX);
        let rows: Vec<u32> = match &truth {
            Some(t) => order
                .iter()
                .copied()
                .filter(|&r| t.t.get(r as usize))
                .take(cap)
                .collect(),
            None => order.iter().copied().take(cap).collect(),
        };
        let picked: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.columns.len()).collect(),
        };
        let schema = Arc::new(self.schema.project(&picked)?);
        let mut arrays = Vec::with_capacity(picked.len());
        for &i in &picked {
            arrays.push(match &self.columns[i] {
                RunColumn::Row => Arc::new(UInt32Array::from(rows.clone())) as ArrayRef,
                RunColumn::Field(f) => self.index.gather(f, &rows).map_err(engine_err)?,
            });
        }
        // The rows are in default order: declare it for the columns projected.
        let position = |name: &str| schema.index_of(name).ok();
        let mut ordering = Vec::new();
        if let Some(i) = position(&columns::name(&Field::StartTime)) {
            ordering.push(PhysicalSortExpr::new(
                Arc::new(PhysColumn::new(&columns::name(&Field::StartTime), i)),
                SortOptions {
                    descending: true,
                    nulls_first: false,
                },
            ));
            if let Some(j) = position(&columns::name(&Field::RunId)) {
                ordering.push(PhysicalSortExpr::new(
                    Arc::new(PhysColumn::new(&columns::name(&Field::RunId), j)),
                    SortOptions {
                        descending: false,
                        nulls_first: false,
                    },
                ));
            }
        }
        memory_exec(schema, arrays, rows.len(), LexOrdering::new(ordering))
    }
}

/// The dataset inputs of an index: one row per input of a run.
#[derive(Debug)]
pub struct InputsTable {
    index: Arc<SearchIndex>,
    schema: SchemaRef,
}

impl InputsTable {
    /// The inputs table of `index`.
    pub fn new(index: Arc<SearchIndex>) -> Self {
        let schema = Arc::new(Schema::new(vec![
            ArrowField::new(INPUT_ROW, DataType::UInt32, false),
            ArrowField::new(columns::name(&Field::DatasetName), DataType::Utf8, false),
            ArrowField::new(columns::name(&Field::DatasetDigest), DataType::Utf8, false),
            ArrowField::new(columns::name(&Field::DatasetContext), DataType::Utf8, true),
        ]));
        InputsTable { index, schema }
    }

    fn resolve(name: &str) -> Option<Field> {
        [
            Field::DatasetName,
            Field::DatasetDigest,
            Field::DatasetContext,
        ]
        .into_iter()
        .find(|f| columns::name(f) == name)
    }
}

#[async_trait]
impl TableProvider for InputsTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match to_pred(f, &InputsTable::resolve) {
                Some(_) => TableProviderFilterPushDown::Exact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let entries = self.index.inputs().map_err(engine_err)?;
        let keep: Vec<usize> = match conjunction(filters, &InputsTable::resolve)? {
            Some(p) => {
                let hits = self.index.eval_inputs(&p).map_err(engine_err)?;
                (0..entries.len()).filter(|&i| hits[i]).collect()
            }
            None => (0..entries.len()).collect(),
        };
        let keep: Vec<usize> = keep.into_iter().take(limit.unwrap_or(usize::MAX)).collect();
        let picked: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..4).collect(),
        };
        let schema = Arc::new(self.schema.project(&picked)?);
        let arrays: Vec<ArrayRef> = picked
            .iter()
            .map(|&c| -> ArrayRef {
                let it = keep.iter().map(|&i| &entries[i]);
                match c {
                    0 => Arc::new(UInt32Array::from_iter_values(it.map(|e| e.row))),
                    1 => Arc::new(StringArray::from_iter_values(it.map(|e| &*e.name))),
                    2 => Arc::new(StringArray::from_iter_values(it.map(|e| &*e.digest))),
                    _ => Arc::new(StringArray::from_iter(it.map(|e| e.context.as_deref()))),
                }
            })
            .collect();
        memory_exec(schema, arrays, keep.len(), None)
    }
}
