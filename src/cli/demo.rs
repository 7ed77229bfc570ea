//! `runstore demo`.

use std::path::PathBuf;
use std::time::Instant;

use runstore::Error;
use runstore::output::{Format, RunsPage, write_history, write_runs};
use runstore::search::{SearchRequest, search};

const DEMO_FILTER: &str =
    "params.optimizer = 'adamw' AND attributes.status = 'FINISHED' AND metrics.val_accuracy > 0.9";
const DEMO_ORDER: &str = "metrics.val_accuracy DESC";

/// Arguments of `runstore demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// About how many runs to make.
    #[arg(long, default_value_t = 300)]
    runs: usize,
    /// Seed of the sample data.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
}

pub fn run(db: Option<PathBuf>, args: Args) -> Result<(), Error> {
    let dir = match db {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("runstore-demo-")
            .tempdir()
            .map_err(|e| Error::Io {
                path: std::env::temp_dir(),
                source: e,
            })?
            .keep(),
    };
    let started = Instant::now();
    let store = super::open_writable(&dir)?;
    let records = runstore::demo::sample_runs(args.runs, args.seed);
    let points: usize = records
        .iter()
        .flat_map(|r| &r.metrics)
        .map(|(_, p)| p.len())
        .sum();
    let ids: Vec<_> = records.iter().filter_map(|r| r.run_id).collect();
    let mut batch = store.write()?;
    for rec in records {
        batch.upsert_run(rec)?;
    }
    batch.commit()?;
    store.refresh_index_snapshot()?;
    println!(
        "Made a sample store of {} runs in 3 experiments ({} metric points) at {} in {:.0} ms.\n",
        ids.len(),
        points,
        dir.display(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let mut out = super::stdout();
    let sample: Vec<_> = ids
        .iter()
        .skip(1)
        .take(5)
        .map(|id| store.get_run(*id))
        .collect::<Result<_, _>>()?;
    println!("A few of its runs:");
    write_runs(
        &mut out,
        Format::Table,
        &RunsPage {
            runs: sample,
            next_page_token: None,
        },
    )?;
    super::flush(&mut out)?;
    if let Some(id) = ids.get(1) {
        let history = store.metric_history(*id, "val_accuracy")?;
        println!("\nThe first 5 points of val_accuracy of run {id}:");
        write_history(
            &mut out,
            Format::Table,
            *id,
            "val_accuracy",
            &history[..history.len().min(5)],
        )?;
        super::flush(&mut out)?;
    }
    let request = SearchRequest {
        filter: DEMO_FILTER.into(),
        order_by: vec![DEMO_ORDER.into()],
        experiments: vec!["mnist-cnn".into()],
        max_results: 5,
        ..SearchRequest::default()
    };
    let started = Instant::now();
    let page = search(&store, &request)?;
    println!(
        "\nThe best 5 finished AdamW runs of mnist-cnn ({:.1} ms):\n  runstore --db {} search --experiment mnist-cnn \\\n    --filter \"{DEMO_FILTER}\" \\\n    --order-by \"{DEMO_ORDER}\" --max-results 5",
        started.elapsed().as_secs_f64() * 1000.0,
        dir.display(),
    );
    write_runs(&mut out, Format::Table, &page)?;
    super::flush(&mut out)?;
    println!(
        "\nTry:\n  runstore --db {0} history {1} val_loss\n  runstore --db {0} search --extended --filter \"tags.team = 'nlp-platform' OR metrics.val_auc > 0.9\"\n",
        dir.display(),
        ids.get(1).map(|i| i.to_string()).unwrap_or_default()
    );
    Ok(())
}
