//! `runstore search`.

use std::path::Path;

use runstore::output::{Format, RunsPage, write_page_json, write_runs};
use runstore::search::{DEFAULT_MAX_RESULTS, Dialect, MAX_MAX_RESULTS, SearchRequest, search_page};
use runstore::{Error, Store, ViewType};

/// Arguments of `runstore search`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only runs of this experiment (repeatable; none means all experiments).
    #[arg(long = "experiment", value_name = "NAME")]
    experiments: Vec<String>,
    /// MLflow filter string, e.g. "metrics.acc > 0.9 AND params.model = 'cnn'".
    #[arg(long, value_name = "STR")]
    filter: Option<String>,
    /// Order clause, e.g. "metrics.acc DESC" (repeatable; later clauses break ties).
    #[arg(long = "order-by", value_name = "STR")]
    order_by: Vec<String>,
    /// Page size, 1 to 50000.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RESULTS as i64, allow_negative_numbers = true)]
    max_results: i64,
    /// Token from a previous page's output, to get the next page.
    #[arg(long, value_name = "T")]
    page_token: Option<String>,
    /// Which runs to see: active, deleted or all.
    #[arg(long, default_value = "active", value_name = "VIEW")]
    view: String,
    /// Output format: table, json or csv (default: table on a terminal, else json).
    #[arg(long)]
    format: Option<String>,
    /// Also accept OR, NOT and parentheses in --filter (a runstore extension;
    /// MLflow rejects them).
    #[arg(long)]
    extended: bool,
}

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    let format = super::pick_format(args.format.as_deref())?;
    let request = request(args)?;
    let store = Store::open_read_only(db)?;
    let page = search_page(&store, &request)?;
    let mut out = super::stdout();
    let token = page.next_page_token;
    if format == Format::Json {
        write_page_json(&mut out, &page.runs, token.as_deref())?;
    } else {
        let page = RunsPage {
            runs: page.runs.to_runs(),
            next_page_token: token,
        };
        write_runs(&mut out, format, &page)?;
    }
    super::flush(&mut out)
}

/// The search the arguments ask for, with MLflow's messages for bad values.
fn request(args: Args) -> Result<SearchRequest, Error> {
    let max_results = match args.max_results {
        n if n < 1 => {
            return Err(Error::Usage(format!(
                "invalid value {n} for --max-results: it must be a positive integer"
            )));
        }
        n if n > MAX_MAX_RESULTS as i64 => {
            return Err(Error::Usage(format!(
                "invalid value {n} for --max-results: it must be at most {MAX_MAX_RESULTS}"
            )));
        }
        n => n as usize,
    };
    let view = match args.view.to_ascii_lowercase().as_str() {
        "active" | "active_only" => ViewType::ActiveOnly,
        "deleted" | "deleted_only" => ViewType::DeletedOnly,
        "all" => ViewType::All,
        other => {
            return Err(Error::Usage(format!(
                "invalid view {other:?}: expected active, deleted or all"
            )));
        }
    };
    Ok(SearchRequest {
        filter: args.filter.unwrap_or_default(),
        order_by: args.order_by,
        experiments: args.experiments,
        experiment_ids: Vec::new(),
        max_results,
        page_token: args.page_token,
        view,
        dialect: if args.extended {
            Dialect::Extended
        } else {
            Dialect::Mlflow
        },
    })
}
