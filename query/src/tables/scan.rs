//! [`TableScan`]: one table of a [`Tables`] as an iterator of Arrow batches.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use runstore_engine::{PointPlan, Run, RunId, RunParts, SeriesBatch};

use super::build::{self, KeyValue, PointCursor};
use super::{POINTS_PER_BATCH, POINTS_PER_PASS, RUNS_PER_BATCH, Table, Tables};
use crate::error::Result;

/// Filters a scan applies while reading (DataFusion still applies them
/// after: they only prune). `None` admits everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pushdown {
    /// Only these runs.
    pub run_ids: Option<Vec<RunId>>,
    /// Only these keys (metrics, params, tags).
    pub keys: Option<Vec<String>>,
    /// Only runs of experiments with these names.
    pub experiments: Option<Vec<String>>,
}

/// One table as batches, in the table's order (by run id, then key, then
/// step for metrics), building only the projected columns.
pub struct TableScan {
    tables: Arc<Tables>,
    table: Table,
    schema: SchemaRef,
    pushdown: Pushdown,
    rows: Option<Vec<u32>>,
    next_row: usize,
    done: bool,
    points: Option<PointPlan>,
    pass: usize,
    current: Option<SeriesBatch>,
    cursor: PointCursor,
}

impl std::fmt::Debug for TableScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableScan")
            .field("table", &self.table)
            .field("pushdown", &self.pushdown)
            .finish_non_exhaustive()
    }
}

impl TableScan {
    /// A scan of `table` with the columns `projection` picks (indices into
    /// its schema; `None`: all), pruned by `pushdown`.
    pub fn new(
        tables: Arc<Tables>,
        table: Table,
        projection: Option<&[usize]>,
        pushdown: Pushdown,
    ) -> Result<TableScan> {
        let full = tables.schema(table)?;
        let schema = match projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full,
        };
        Ok(TableScan {
            tables,
            table,
            schema,
            pushdown,
            rows: None,
            next_row: 0,
            done: false,
            points: None,
            pass: 0,
            current: None,
            cursor: PointCursor::default(),
        })
    }

    /// The schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The parts of each run this scan's columns need.
    fn parts(&self) -> RunParts {
        let has = |prefix: &str| {
            self.schema
                .fields()
                .iter()
                .any(|f| f.name().starts_with(prefix))
        };
        match self.table {
            Table::Runs => RunParts {
                params: has("params."),
                tags: has("tags."),
                metrics: has("metrics."),
                inputs: false,
            },
            Table::Params => RunParts {
                params: true,
                ..RunParts::NONE
            },
            Table::Tags => RunParts {
                tags: true,
                ..RunParts::NONE
            },
            Table::Inputs => RunParts {
                inputs: true,
                ..RunParts::NONE
            },
            Table::Metrics | Table::Experiments => RunParts::NONE,
        }
    }

    fn rows(&mut self) -> Result<&[u32]> {
        if self.rows.is_none() {
            self.rows = Some(self.tables.rows_for(&self.pushdown)?);
        }
        Ok(self.rows.as_deref().unwrap_or_default())
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.done {
            return Ok(None);
        }
        match self.table {
            Table::Experiments => {
                self.done = true;
                let exps = self.tables.experiments();
                build::experiments_batch(&self.schema, exps).map(Some)
            }
            Table::Metrics => self.next_points(),
            Table::Runs | Table::Params | Table::Tags | Table::Inputs => loop {
                let start = self.next_row;
                let rows = self.rows()?;
                if start >= rows.len() {
                    self.done = true;
                    return Ok(None);
                }
                let end = rows.len().min(start + RUNS_PER_BATCH);
                let chunk = rows[start..end].to_vec();
                self.next_row = end;
                let runs = self.tables.view().runs_at_rows_with(&chunk, self.parts())?;
                let keys = self.pushdown.keys.as_deref();
                let batch = run_batch(self.table, &self.schema, &runs, keys)?;
                if batch.num_rows() > 0 {
                    return Ok(Some(batch));
                }
            },
        }
    }

    fn next_points(&mut self) -> Result<Option<RecordBatch>> {
        if self.points.is_none() {
            let rows = self.rows()?.to_vec();
            let keys = self.pushdown.keys.as_deref();
            self.points = Some(
                self.tables
                    .view()
                    .plan_points(&rows, keys, POINTS_PER_PASS)?,
            );
        }
        loop {
            if let Some(current) = &self.current
                && let Some(batch) =
                    build::metrics_batch(&self.schema, current, &mut self.cursor, POINTS_PER_BATCH)?
            {
                return Ok(Some(batch));
            }
            let Some(plan) = &self.points else {
                return Ok(None);
            };
            if self.pass >= plan.passes() {
                self.done = true;
                self.current = None;
                return Ok(None);
            }
            let mut batch = self.current.take().unwrap_or_default();
            self.tables
                .view()
                .read_pass_into(plan, self.pass, &mut batch)?;
            self.current = Some(batch);
            self.pass += 1;
            self.cursor = PointCursor::default();
        }
    }
}

/// A batch of the run-keyed `table` (runs, params, tags or inputs) for
/// `runs`, with the fields of `schema` (params and tags limited to `keys`).
pub(crate) fn run_batch(
    table: Table,
    schema: &SchemaRef,
    runs: &[Run],
    keys: Option<&[String]>,
) -> Result<RecordBatch> {
    match table {
        Table::Runs => build::runs_batch(schema, runs),
        Table::Params => build::key_value_batch(schema, runs, KeyValue::Params, keys),
        Table::Tags => build::key_value_batch(schema, runs, KeyValue::Tags, keys),
        Table::Inputs => build::inputs_batch(schema, runs),
        Table::Metrics | Table::Experiments => Err(crate::error::Error::Internal(format!(
            "{} is not a table of runs",
            table.name()
        ))),
    }
}

impl Iterator for TableScan {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
