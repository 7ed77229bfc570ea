//! `runstore compare`.

use std::path::{Path, PathBuf};

use runstore::analysis::{self, CompareRequest, Selection};
use runstore::output::plot::{PlotOptions, plot};
use runstore::search::Dialect;
use runstore::{Error, Store};

/// Arguments of `runstore compare`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only runs of this experiment (repeatable; none means all experiments).
    #[arg(long = "experiment", value_name = "NAME")]
    experiments: Vec<String>,
    /// MLflow filter string picking the runs (empty: every run).
    #[arg(long, value_name = "STR", default_value = "")]
    filter: String,
    /// Metric to compare (repeatable).
    #[arg(long = "metric", value_name = "KEY", required = true)]
    metrics: Vec<String>,
    /// Most points per curve (min/max per bucket keeps every spike).
    #[arg(long, value_name = "N", default_value_t = analysis::downsample_default())]
    max_points: usize,
    /// The x axis: step, timestamp or relative (seconds since the curve's first point).
    #[arg(long, value_name = "AXIS", default_value = "step")]
    x: String,
    /// Order of the runs, as in search (repeatable).
    #[arg(long = "order-by", value_name = "STR")]
    order_by: Vec<String>,
    /// Which runs: active, deleted or all.
    #[arg(long, default_value = "active", value_name = "VIEW")]
    view: String,
    /// Accept OR, NOT and parentheses in --filter (a runstore extension).
    #[arg(long)]
    extended: bool,
    /// Output format: table, json or csv (default: table on a terminal, else json).
    #[arg(long)]
    format: Option<String>,
    /// Also draw the curves into this file (.svg or .png).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// A log-scale y axis in the chart.
    #[arg(long)]
    log_y: bool,
    /// Chart width in pixels.
    #[arg(long, default_value_t = 1200)]
    width: u32,
    /// Chart height in pixels.
    #[arg(long, default_value_t = 720)]
    height: u32,
}

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    let format = super::pick_format(args.format.as_deref())?;
    let request = CompareRequest {
        selection: Selection {
            experiments: args.experiments,
            filter: args.filter,
            view: args.view.parse()?,
            dialect: if args.extended {
                Dialect::Extended
            } else {
                Dialect::Mlflow
            },
        },
        order_by: args.order_by,
        metrics: args.metrics,
        max_points: args.max_points,
        x: args.x.parse()?,
    };
    if let Some(path) = &args.plot {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("svg" | "png")) {
            return Err(Error::Usage(format!(
                "--plot {}: the file must end in .svg or .png",
                path.display()
            )));
        }
    }
    let store = Store::open_read_only(db)?;
    let comparison = analysis::compare(&store, &request)?;
    if let Some(path) = &args.plot {
        let options = PlotOptions {
            width: args.width,
            height: args.height,
            log_y: args.log_y,
        };
        plot(&comparison, path, &options)?;
    }
    let mut out = super::stdout();
    runstore::output::write_comparison(&mut out, format, &comparison)?;
    super::flush(&mut out)
}
