//! `runstore compare`.

use std::path::{Path, PathBuf};

use runstore::analysis::{self, CompareRequest};
use runstore::output::plot::{PlotOptions, plot};
use runstore::{Error, Store};

/// Arguments of `runstore compare`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    runs: super::select::Runs,
    /// Metric to compare (repeatable).
    #[arg(long = "metric", value_name = "KEY", required = true)]
    metrics: Vec<String>,
    /// Most points per curve (min/max per bucket keeps every spike).
    #[arg(long, value_name = "N", default_value_t = analysis::DEFAULT_MAX_POINTS)]
    max_points: usize,
    /// The x axis: step, timestamp or relative (seconds since the curve's first point).
    #[arg(long, value_name = "AXIS", default_value = "step")]
    x: String,
    /// Order of the runs, as in search (repeatable).
    #[arg(long = "order-by", value_name = "STR")]
    order_by: Vec<String>,
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
        selection: args.runs.selection()?,
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
