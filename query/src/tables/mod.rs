//! The store as six Arrow tables — `runs`, `metrics`, `params`, `tags`,
//! `experiments`, `inputs` — with one schema each, shared by Parquet export
//! (which writes them) and SQL (which registers them with DataFusion).
//!
//! A [`Tables`] is one consistent read (a [`ReadView`]) plus the selection
//! of runs it shows, ordered by run id. Every table is produced in batches
//! by a [`TableScan`], which builds only the projected columns and honours
//! the pushed-down run, key and experiment filters ([`Pushdown`]), so a
//! scan's memory follows its batch size, never the store's size.

mod build;
mod provider;
mod scan;

use std::sync::{Arc, OnceLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use runstore_engine::{Experiment, KeySets, ReadView, RunDigests, RunId, ViewType};

use crate::Dialect;
use crate::error::{Error, Result};
use crate::search::{SearchRequest, all_rows};

pub use provider::register_tables;
pub(crate) use scan::run_batch;
pub use scan::{Pushdown, TableScan};

/// The six tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// One row a run: attributes, then `params.KEY`, `metrics.KEY` (latest value), `tags.KEY`.
    Runs,
    /// One row a metric point: run_id, key, step, timestamp, value.
    Metrics,
    /// One row a param: run_id, key, value.
    Params,
    /// One row a tag: run_id, key, value.
    Tags,
    /// One row an experiment.
    Experiments,
    /// One row a dataset input of a run.
    Inputs,
}

impl Table {
    /// All six, in export order.
    pub const ALL: [Table; 6] = [
        Table::Runs,
        Table::Metrics,
        Table::Params,
        Table::Tags,
        Table::Experiments,
        Table::Inputs,
    ];

    /// The table's name (SQL) and file stem (export).
    pub fn name(self) -> &'static str {
        match self {
            Table::Runs => "runs",
            Table::Metrics => "metrics",
            Table::Params => "params",
            Table::Tags => "tags",
            Table::Experiments => "experiments",
            Table::Inputs => "inputs",
        }
    }

    /// The table named `name` (case-insensitive), if any.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

/// Which runs the tables show: MLflow's search selection, with no order and no page.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Experiment names (empty: all).
    pub experiments: Vec<String>,
    /// MLflow filter string (empty: every run).
    pub filter: String,
    /// Lifecycle stages shown.
    pub view: ViewType,
    /// Filter grammar.
    pub dialect: Dialect,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            experiments: Vec::new(),
            filter: String::new(),
            view: ViewType::ActiveOnly,
            dialect: Dialect::Mlflow,
        }
    }
}

/// Points a metrics scan reads per pass (see [`ReadView::plan_points`]):
/// about 110 bytes each while a pass is read and ordered, so ~110 MB.
pub const POINTS_PER_PASS: usize = 1 << 20;

/// Rows of a batch of the run-keyed tables.
pub(crate) const RUNS_PER_BATCH: usize = 2048;
/// Rows of a batch of the metrics table.
pub(crate) const POINTS_PER_BATCH: usize = 64 * 1024;

/// One consistent read of the store as six tables (see the module docs).
pub struct Tables {
    view: ReadView,
    /// Selected runs' index rows, by run id.
    rows: Vec<u32>,
    /// The same rows, ascending (for membership tests).
    by_row: Vec<u32>,
    /// The experiments shown: the selected ones, else all.
    experiments: Vec<Experiment>,
    keys: OnceLock<KeySets>,
    runs_schema: OnceLock<SchemaRef>,
}

impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tables")
            .field("runs", &self.rows.len())
            .field("experiments", &self.experiments.len())
            .finish_non_exhaustive()
    }
}

impl Tables {
    /// The tables of `view`, showing the runs `selection` picks. Fails on a
    /// bad filter or an unknown experiment.
    pub fn new(view: ReadView, selection: &Selection) -> Result<Tables> {
        let request = SearchRequest {
            filter: selection.filter.clone(),
            experiments: selection.experiments.clone(),
            view: selection.view,
            dialect: selection.dialect,
            ..SearchRequest::default()
        };
        let rows = all_rows(view.index(), &request)?;
        let rows = view.order_by_run_id(&rows)?;
        let mut experiments = view.experiments()?;
        if !selection.experiments.is_empty() {
            experiments.retain(|e| selection.experiments.contains(&e.name));
        }
        let mut by_row = rows.clone();
        by_row.sort_unstable();
        Ok(Tables {
            view,
            rows,
            by_row,
            experiments,
            keys: OnceLock::new(),
            runs_schema: OnceLock::new(),
        })
    }

    /// The read the tables come from.
    pub fn view(&self) -> &ReadView {
        &self.view
    }

    /// How many runs are selected.
    pub fn run_count(&self) -> usize {
        self.rows.len()
    }

    /// The experiments shown.
    pub fn experiments(&self) -> &[Experiment] {
        &self.experiments
    }

    /// The keys the selected runs use (read once, on first use).
    pub fn keys(&self) -> Result<&KeySets> {
        if let Some(k) = self.keys.get() {
            return Ok(k);
        }
        let keys = self.view.key_sets(&self.rows)?;
        Ok(self.keys.get_or_init(|| keys))
    }

    /// The schema of `table`.
    pub fn schema(&self, table: Table) -> Result<SchemaRef> {
        Ok(match table {
            Table::Runs => {
                if let Some(s) = self.runs_schema.get() {
                    return Ok(s.clone());
                }
                let schema = runs_schema(self.keys()?);
                self.runs_schema.get_or_init(|| schema).clone()
            }
            Table::Metrics => metrics_schema(),
            Table::Params | Table::Tags => key_value_schema(),
            Table::Experiments => experiments_schema(),
            Table::Inputs => inputs_schema(),
        })
    }

    /// The selected runs, by run id, in chunks of [`RUNS_PER_BATCH`].
    pub fn run_chunks(&self) -> impl Iterator<Item = Result<Vec<runstore_engine::Run>>> + '_ {
        self.rows
            .chunks(RUNS_PER_BATCH)
            .map(|rows| Ok(self.view.runs_at_rows(rows)?))
    }

    /// Fingerprints of the selected runs' contents (see [`RunDigests`]).
    pub fn digests(&self) -> Result<RunDigests> {
        Ok(self.view.digests(&self.rows)?)
    }

    /// The selected rows the pushdown admits, by run id.
    fn rows_for(&self, pushdown: &Pushdown) -> Result<Vec<u32>> {
        let mut rows = match &pushdown.run_ids {
            None => self.rows.clone(),
            Some(ids) => {
                let mut ids: Vec<RunId> = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                let mut rows = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(r) = self.view.row_of(id)?
                        && self.by_row.binary_search(&r).is_ok()
                    {
                        rows.push(r);
                    }
                }
                rows
            }
        };
        if let Some(names) = &pushdown.experiments {
            let request = SearchRequest {
                experiments: names.clone(),
                view: ViewType::All,
                ..SearchRequest::default()
            };
            let mut inside = match all_rows(self.view.index(), &request) {
                Ok(r) => r,
                // An unknown experiment: the filter matches no run.
                Err(Error::InvalidRequest(_)) => Vec::new(),
                Err(e) => return Err(e),
            };
            inside.sort_unstable();
            rows.retain(|r| inside.binary_search(r).is_ok());
        }
        Ok(rows)
    }
}

fn utc_ms() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn runs_schema(keys: &KeySets) -> SchemaRef {
    let mut fields = vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("run_name", DataType::Utf8, false),
        Field::new("experiment_id", dict(), false),
        Field::new("experiment", dict(), false),
        Field::new("status", dict(), false),
        Field::new("start_time", utc_ms(), false),
        Field::new("end_time", utc_ms(), true),
        Field::new("user", DataType::Utf8, false),
        Field::new("lifecycle_stage", dict(), false),
        Field::new("artifact_uri", DataType::Utf8, false),
    ];
    for k in &keys.params {
        fields.push(Field::new(format!("params.{k}"), DataType::Utf8, true));
    }
    for k in &keys.metrics {
        fields.push(Field::new(format!("metrics.{k}"), DataType::Float64, true));
    }
    for k in &keys.tags {
        fields.push(Field::new(format!("tags.{k}"), DataType::Utf8, true));
    }
    Arc::new(Schema::new(fields))
}

fn metrics_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("step", DataType::Int64, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("value", DataType::Float64, false),
    ]))
}

fn key_value_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
    ]))
}

fn experiments_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("experiment_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("lifecycle_stage", DataType::Utf8, false),
        Field::new("artifact_location", DataType::Utf8, false),
        Field::new("creation_time", utc_ms(), false),
        Field::new("last_update_time", utc_ms(), false),
        Field::new("tags", build::tags_map_type(), false),
    ]))
}

fn inputs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("digest", DataType::Utf8, false),
        Field::new("source_type", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("context", DataType::Utf8, true),
        Field::new("schema", DataType::Utf8, true),
        Field::new("profile", DataType::Utf8, true),
    ]))
}
