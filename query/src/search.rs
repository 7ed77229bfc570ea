//! Running a search: parse, plan, execute on DataFusion, page.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{Array, UInt32Array};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::LogicalPlan;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::prelude::{Expr, SessionConfig, SessionContext, ident, lit};
use runstore_engine::index::{Field, SearchIndex};
use runstore_engine::{LifecycleStage, PageRuns, ReadView, Run, ViewType};

use crate::ast::Expr as Ast;
use crate::error::{Error, Result};
use crate::plan::columns::{ROW, RUNS};
use crate::plan::compile::Compiler;
use crate::plan::order::{Order, cursor_value};
use crate::plan::tables::{InputsTable, RunsTable};
use crate::{Dialect, parse_filter, parse_order_by, token};

/// MLflow's default page size.
pub const DEFAULT_MAX_RESULTS: usize = 1000;
/// MLflow's largest page size.
pub const MAX_MAX_RESULTS: usize = 50_000;

/// A search, as `runstore search` and MLflow's `search_runs` take it.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    /// Filter string (empty: every run).
    pub filter: String,
    /// `order_by` clauses.
    pub order_by: Vec<String>,
    /// Experiment names (empty, with `experiment_ids` empty: all experiments).
    pub experiments: Vec<String>,
    /// Experiment ids, as MLflow's `search_runs` takes them; an unknown id
    /// matches no run (as in MLflow). Searched together with `experiments`.
    pub experiment_ids: Vec<u32>,
    /// Page size, 1 to 50,000.
    pub max_results: usize,
    /// Token of the page to continue from.
    pub page_token: Option<String>,
    /// Which lifecycle stages to see.
    pub view: ViewType,
    /// MLflow's grammar, or runstore's extension with `OR`, `NOT` and parentheses.
    pub dialect: Dialect,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            filter: String::new(),
            order_by: Vec::new(),
            experiments: Vec::new(),
            experiment_ids: Vec::new(),
            max_results: DEFAULT_MAX_RESULTS,
            page_token: None,
            view: ViewType::ActiveOnly,
            dialect: Dialect::Mlflow,
        }
    }
}

/// One page of a search: rows of the index, in order (they stay between
/// the index and this crate: callers get [`SearchResults`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SearchPage {
    /// The runs' rows in the index.
    pub rows: Vec<u32>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// One page of runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchResults {
    /// The runs, in order.
    pub runs: Vec<Run>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// One page of runs read for output, without owning a `String` per value
/// (see [`PageRuns`]): what [`search_page`] returns.
#[derive(Debug)]
pub struct PageResults {
    /// The runs, in order.
    pub runs: PageRuns,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// [`search`], reading the page's runs as a [`PageRuns`]: the same runs in
/// the same order, several times cheaper to read and to write out than
/// owned [`Run`]s (`runstore search` prints its JSON from it).
pub fn search_page(view: &ReadView, request: &SearchRequest) -> Result<PageResults> {
    let page = search_rows(view.index(), request)?;
    Ok(PageResults {
        runs: view.page_at_rows(&page.rows)?,
        next_page_token: page.next_page_token,
    })
}

/// Runs `request` on the consistent read `view` and reads the page's runs.
///
/// Blocking and runtime-free: it needs no async runtime and builds none, so
/// it may be called from any thread — inside an async server, from
/// `spawn_blocking` (it is CPU work), or use [`search_async`].
pub fn search(view: &ReadView, request: &SearchRequest) -> Result<SearchResults> {
    let page = search_rows(view.index(), request)?;
    results(view, page)
}

/// The length and next-page token of the page `request` asks for, without
/// reading its runs: the index's part of a search alone (benchmarks
/// measure it apart from reading the page).
pub fn search_page_len(
    view: &ReadView,
    request: &SearchRequest,
) -> Result<(usize, Option<String>)> {
    let page = search_rows(view.index(), request)?;
    Ok((page.rows.len(), page.next_page_token))
}

/// [`search`] as a future, for async callers: the plan runs on the
/// caller's executor (it never blocks on I/O: the index is in memory).
pub async fn search_async(view: &ReadView, request: &SearchRequest) -> Result<SearchResults> {
    let planned = plan(view.index(), request)?;
    let batches = execute(planned.plan.clone()).await?;
    results(view, planned.page(&batches)?)
}

fn results(view: &ReadView, page: SearchPage) -> Result<SearchResults> {
    Ok(SearchResults {
        runs: view.runs_at_rows(&page.rows)?,
        next_page_token: page.next_page_token,
    })
}

/// The rows of the page `request` asks for.
pub(crate) fn search_rows(index: &Arc<SearchIndex>, request: &SearchRequest) -> Result<SearchPage> {
    let planned = plan(index, request)?;
    // Single-partition plans over in-memory tables: polling them spawns no
    // task, so a plain executor runs them and no runtime is needed.
    let batches = futures::executor::block_on(execute(planned.plan.clone()))?;
    planned.page(&batches)
}

async fn execute(plan: LogicalPlan) -> Result<Vec<RecordBatch>> {
    let df = context().execute_logical_plan(plan).await?;
    Ok(df.collect().await?)
}

/// A planned search: the plan and what turning its output into a page needs.
struct Planned {
    plan: LogicalPlan,
    max: usize,
    fingerprint: String,
}

fn plan(index: &Arc<SearchIndex>, request: &SearchRequest) -> Result<Planned> {
    plan_up_to(index, request, true)
}

/// The rows of every run `request` matches, in its order (`max_results`
/// and `page_token` are ignored): what export and compare read.
pub(crate) fn all_rows(index: &Arc<SearchIndex>, request: &SearchRequest) -> Result<Vec<u32>> {
    let request = SearchRequest {
        page_token: None,
        ..request.clone()
    };
    let planned = plan_up_to(index, &request, false)?;
    let batches = futures::executor::block_on(execute(planned.plan))?;
    let mut rows = Vec::new();
    for batch in &batches {
        let col = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt32Array>()
            .ok_or_else(|| Error::Internal("_row is not UInt32".into()))?;
        rows.extend(col.values().iter().copied());
    }
    Ok(rows)
}

/// Plans `request`; `paged` limits it to one page (else every match).
fn plan_up_to(index: &Arc<SearchIndex>, request: &SearchRequest, paged: bool) -> Result<Planned> {
    let max = request.max_results;
    if paged && !(1..=MAX_MAX_RESULTS).contains(&max) {
        return Err(Error::InvalidRequest(format!(
            "max_results must be between 1 and {MAX_MAX_RESULTS}, got {max}"
        )));
    }
    let filter = parse_filter(&request.filter, request.dialect)?;
    let order_by = parse_order_by(&request.order_by)?;
    let mut experiment_ids = Vec::with_capacity(request.experiments.len());
    for name in &request.experiments {
        let id = index
            .experiments()
            .iter()
            .find(|(_, e)| e.name == *name)
            .map(|(id, _)| *id)
            .ok_or_else(|| Error::InvalidRequest(format!("experiment {name:?} not found")))?;
        experiment_ids.push(id);
    }
    experiment_ids.extend_from_slice(&request.experiment_ids);
    experiment_ids.sort_unstable();
    experiment_ids.dedup();

    let canonical = describe(filter.as_ref(), &order_by, request, &experiment_ids);
    let parts: Vec<&str> = canonical.iter().map(String::as_str).collect();
    let fingerprint = token::fingerprint(&parts);
    let cursor = request
        .page_token
        .as_deref()
        .map(|t| token::decode(t, &fingerprint))
        .transpose()?;

    let mut compiler = Compiler::new(Arc::new(InputsTable::new(index.clone())));
    let mut conditions: Vec<Expr> = Vec::new();
    if let Some(f) = &filter {
        conditions.push(compiler.expr(f)?);
    }
    match request.view {
        ViewType::ActiveOnly => conditions.push(
            compiler
                .column(&Field::Lifecycle)
                .eq(lit(LifecycleStage::Active.as_str())),
        ),
        ViewType::DeletedOnly => conditions.push(
            compiler
                .column(&Field::Lifecycle)
                .eq(lit(LifecycleStage::Deleted.as_str())),
        ),
        ViewType::All => {}
    }
    if !experiment_ids.is_empty() {
        let ids = experiment_ids.iter().map(|&i| lit(i64::from(i))).collect();
        conditions.push(compiler.column(&Field::Experiment).in_list(ids, false));
    }
    let order = Order::new(&mut compiler, &order_by);
    let mut table = RunsTable::new(index.clone(), compiler.fields.clone());
    // The table scans in default order: such a search needs no sort, its
    // LIMIT reaches the scan, and its cursor is a binary search there.
    let presorted = order.is_default();
    if let Some(c) = &cursor {
        if presorted {
            let (start, id) = order.default_cursor(c)?;
            table = table.resume_after(start, id);
        } else {
            conditions.push(order.after(c)?);
        }
    }
    let mut plan = LogicalPlanBuilder::scan(RUNS, provider_as_source(Arc::new(table)), None)?;
    if let Some(all) = conditions.into_iter().reduce(Expr::and) {
        plan = plan.filter(all)?;
    }
    if !presorted {
        plan = plan.sort(order.sort_exprs())?;
    }
    let mut projection = vec![ident(ROW)];
    projection.extend(order.value_exprs());
    if paged {
        plan = plan.limit(0, Some(max + 1))?;
    }
    let plan = plan.project(projection)?.build()?;
    Ok(Planned {
        plan,
        max,
        fingerprint,
    })
}

impl Planned {
    /// The page in `batches` (at most `max` rows, and a token when more follow).
    fn page(&self, batches: &[RecordBatch]) -> Result<SearchPage> {
        let (max, fingerprint) = (self.max, &self.fingerprint);
        let mut rows = Vec::with_capacity(max + 1);
        let mut last_keys = Vec::new();
        'outer: for batch in batches {
            let row_col = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt32Array>()
                .ok_or_else(|| Error::Internal("_row is not UInt32".into()))?;
            for i in 0..batch.num_rows() {
                if rows.len() == max {
                    // A further row exists: the page ends here with a token.
                    let token = token::encode(fingerprint, std::mem::take(&mut last_keys));
                    return Ok(SearchPage {
                        rows,
                        next_page_token: Some(token),
                    });
                }
                rows.push(row_col.value(i));
                last_keys = (1..batch.num_columns())
                    .map(|c| cursor_value(batch.column(c).as_ref(), i))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| Error::Internal("unexpected sort column type".into()))?;
                if rows.len() > max {
                    break 'outer;
                }
            }
        }
        Ok(SearchPage {
            rows,
            next_page_token: None,
        })
    }
}

/// The canonical description of a search, for its page-token fingerprint.
fn describe(
    filter: Option<&Ast>,
    order_by: &[crate::ast::OrderBy],
    request: &SearchRequest,
    experiments: &[u32],
) -> Vec<String> {
    let mut parts = vec![
        filter.map(|f| f.to_string()).unwrap_or_default(),
        format!("{:?}", request.view),
        format!("{experiments:?}"),
    ];
    parts.extend(order_by.iter().map(|o| o.to_string()));
    parts
}

/// One long-lived session: plans are built against providers directly, so
/// nothing is registered in it and it can be shared by every search.
fn context() -> &'static SessionContext {
    static CONTEXT: OnceLock<SessionContext> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1))
    })
}
