//! The six tables as DataFusion `TableProvider`s over the engine (no export
//! step): scans stream [`TableScan`] batches, build only projected columns
//! and prune by the run, key and experiment filters DataFusion pushes down.
//!
//! Scans read the store synchronously while polled (memory maps and redb
//! reads): run SQL on a thread that may block, never on an async runtime's
//! worker (a server calls it inside `spawn_blocking`).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::SchemaProvider;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::prelude::SessionContext;
use runstore_engine::RunId;

use super::scan::{Pushdown, TableScan};
use super::{Table, Tables};
use crate::error::{Error, Result};

/// Registers the six tables of `tables` as the default schema of `ctx`
/// (`runs` is made when a query first names it: its columns depend on the
/// keys the runs use).
pub fn register_tables(ctx: &SessionContext, tables: Arc<Tables>) -> Result<()> {
    let catalog = ctx
        .catalog("datafusion")
        .ok_or_else(|| Error::Internal("no default catalog".into()))?;
    catalog.register_schema("public", Arc::new(StoreSchema { tables }))?;
    Ok(())
}

#[derive(Debug)]
struct StoreSchema {
    tables: Arc<Tables>,
}

#[async_trait]
impl SchemaProvider for StoreSchema {
    fn table_names(&self) -> Vec<String> {
        Table::ALL.iter().map(|t| t.name().to_owned()).collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some(table) = Table::ALL.into_iter().find(|t| t.name() == name) else {
            return Ok(None);
        };
        let schema = self.tables.schema(table).map_err(external)?;
        Ok(Some(Arc::new(StoreTable {
            tables: self.tables.clone(),
            table,
            schema,
        })))
    }

    fn table_exist(&self, name: &str) -> bool {
        Table::ALL.iter().any(|t| t.name() == name)
    }
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[derive(Debug)]
struct StoreTable {
    tables: Arc<Tables>,
    table: Table,
    schema: SchemaRef,
}

impl StoreTable {
    /// The pushdown-able columns of this table: (run id column, key column,
    /// experiment-name column).
    fn prunable(&self) -> (bool, bool, bool) {
        match self.table {
            Table::Runs => (true, false, true),
            Table::Metrics | Table::Params | Table::Tags => (true, true, false),
            Table::Inputs => (true, false, false),
            Table::Experiments => (false, false, false),
        }
    }

    /// What `filter` prunes, if this table can use it.
    fn prune(&self, filter: &Expr, into: &mut Pushdown) -> bool {
        let (by_run, by_key, by_experiment) = self.prunable();
        let Some((column, values)) = equality(filter) else {
            return false;
        };
        match column.as_str() {
            "run_id" if by_run => {
                // A value that is no run id matches no run.
                let ids: Vec<RunId> = values.iter().filter_map(|v| v.parse().ok()).collect();
                intersect(&mut into.run_ids, ids);
                true
            }
            "key" if by_key => {
                intersect(&mut into.keys, values);
                true
            }
            "experiment" if by_experiment => {
                intersect(&mut into.experiments, values);
                true
            }
            _ => false,
        }
    }
}

/// Narrows `slot` to `values` (an intersection when already set).
fn intersect<T: PartialEq>(slot: &mut Option<Vec<T>>, values: Vec<T>) {
    *slot = Some(match slot.take() {
        None => values,
        Some(old) => old.into_iter().filter(|v| values.contains(v)).collect(),
    });
}

/// `column = 'text'` or `column IN ('a', 'b')`: the column and the texts.
fn equality(filter: &Expr) -> Option<(String, Vec<String>)> {
    fn text(e: &Expr) -> Option<String> {
        match e {
            Expr::Literal(ScalarValue::Utf8(Some(s)), _)
            | Expr::Literal(ScalarValue::LargeUtf8(Some(s)), _)
            | Expr::Literal(ScalarValue::Utf8View(Some(s)), _) => Some(s.clone()),
            Expr::Literal(ScalarValue::Dictionary(_, v), _) => {
                text(&Expr::Literal(*v.clone(), None))
            }
            Expr::Cast(c) => text(&c.expr),
            _ => None,
        }
    }
    fn column(e: &Expr) -> Option<String> {
        match e {
            Expr::Column(c) => Some(c.name.clone()),
            Expr::Cast(c) => column(&c.expr),
            _ => None,
        }
    }
    match filter {
        Expr::BinaryExpr(b) if b.op == Operator::Eq => {
            let (l, r) = (&*b.left, &*b.right);
            match (column(l), text(r), column(r), text(l)) {
                (Some(c), Some(v), _, _) | (_, _, Some(c), Some(v)) => Some((c, vec![v])),
                _ => None,
            }
        }
        Expr::InList(list) if !list.negated => {
            let c = column(&list.expr)?;
            let values = list.list.iter().map(text).collect::<Option<Vec<_>>>()?;
            Some((c, values))
        }
        _ => None,
    }
}

#[async_trait]
impl TableProvider for StoreTable {
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
            .map(|f| {
                if self.prune(f, &mut Pushdown::default()) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
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
        let mut pushdown = Pushdown::default();
        for f in filters {
            self.prune(f, &mut pushdown);
        }
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let partition = ScanPartition {
            tables: self.tables.clone(),
            table: self.table,
            projection: projection.cloned(),
            pushdown,
            schema: schema.clone(),
        };
        Ok(Arc::new(StreamingTableExec::try_new(
            schema,
            vec![Arc::new(partition)],
            None,
            Vec::new(),
            false,
            limit,
        )?))
    }
}

#[derive(Debug)]
struct ScanPartition {
    tables: Arc<Tables>,
    table: Table,
    projection: Option<Vec<usize>>,
    pushdown: Pushdown,
    schema: SchemaRef,
}

impl PartitionStream for ScanPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let scan = TableScan::new(
            self.tables.clone(),
            self.table,
            self.projection.as_deref(),
            self.pushdown.clone(),
        );
        let batches: Box<dyn Iterator<Item = DfResult<_>> + Send> = match scan {
            Ok(scan) => Box::new(scan.map(|b| b.map_err(external))),
            Err(e) => Box::new(std::iter::once(Err(external(e)))),
        };
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::iter(batches),
        ))
    }
}
