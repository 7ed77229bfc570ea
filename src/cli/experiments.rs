//! `runstore experiments …`: experiments, as MLflow manages them.

use std::path::Path;

use runstore::engine::Error as EngineError;
use runstore::output::write_experiments;
use runstore::{Error, ExperimentId, Store, ViewType};

/// Arguments of `runstore experiments`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// List experiments (MLflow's search_experiments).
    #[command(after_help = "\
The filter is MLflow's search_experiments grammar: name, creation_time, last_update_time,
experiment_id and tags.KEY, joined by AND (name and tags: = != LIKE ILIKE; tags also
IS NULL / IS NOT NULL; times: = != < <= > >=; experiment_id: = != IN NOT IN).
order_by keys: name, experiment_id, creation_time, last_update_time (default:
creation_time DESC, experiment_id ASC).

Examples:
  runstore experiments list --filter \"name LIKE 'mnist%'\" --order-by \"name ASC\"
  runstore experiments list --view all --format json")]
    List {
        /// Which experiments: active, deleted or all.
        #[arg(long, default_value = "active")]
        view: String,
        /// Filter string.
        #[arg(long, default_value = "")]
        filter: String,
        /// `order_by` clauses (repeat for several).
        #[arg(long = "order-by")]
        order_by: Vec<String>,
        /// Page size (1 to 50,000).
        #[arg(long, default_value_t = 1000)]
        max_results: usize,
        /// Token of the page to continue from.
        #[arg(long)]
        page_token: Option<String>,
        /// Output format: table, json or csv.
        #[arg(long)]
        format: Option<String>,
    },
    /// Create an experiment.
    Create {
        /// Its name (unique).
        name: String,
        /// Where its runs' artifacts go (default: under the store's artifact root).
        #[arg(long)]
        artifact_location: Option<String>,
        /// A tag, `KEY=VALUE` (repeat for several).
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
    },
    /// Rename an experiment.
    Rename {
        /// Its current name.
        name: String,
        /// Its new name.
        new_name: String,
    },
    /// Delete an experiment and its runs (they can be restored).
    Delete {
        /// Its name.
        name: String,
    },
    /// Restore a deleted experiment and its runs.
    Restore {
        /// Its name.
        name: String,
    },
    /// Set a tag on an experiment.
    SetTag {
        /// Its name.
        name: String,
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
    /// Delete a tag of an experiment.
    DeleteTag {
        /// Its name.
        name: String,
        /// Tag key.
        key: String,
    },
}

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    match args.command {
        Command::List {
            view,
            filter,
            order_by,
            max_results,
            page_token,
            format,
        } => {
            let format = super::pick_format(format.as_deref())?;
            let view: ViewType = view.parse()?;
            let store = Store::open_read_only(db)?;
            let request = runstore::search::ExperimentSearch {
                view,
                filter,
                order_by,
                max_results,
                page_token,
            };
            let page = runstore::search::search_experiments(&store, &request)?;
            let mut out = super::stdout();
            write_experiments(
                &mut out,
                format,
                &page.experiments,
                page.next_page_token.as_deref(),
            )?;
            super::flush(&mut out)
        }
        Command::Create {
            name,
            artifact_location,
            tags,
        } => {
            let tags = tags
                .iter()
                .map(|t| super::key_value(t))
                .collect::<Result<Vec<_>, _>>()?;
            let store = super::open_writable(db)?;
            let id = store.create_experiment(&name, artifact_location.as_deref(), &tags)?;
            println!("created experiment {name:?} (id {id})");
            Ok(())
        }
        Command::Rename { name, new_name } => on_experiment(db, &name, |s, id| {
            s.rename_experiment(id, &new_name)?;
            Ok(format!("renamed experiment {name:?} to {new_name:?}"))
        }),
        Command::Delete { name } => on_experiment(db, &name, |s, id| {
            s.delete_experiment(id)?;
            Ok(format!("deleted experiment {name:?} and its runs"))
        }),
        Command::Restore { name } => on_experiment(db, &name, |s, id| {
            s.restore_experiment(id)?;
            Ok(format!("restored experiment {name:?} and its runs"))
        }),
        Command::SetTag { name, key, value } => on_experiment(db, &name, |s, id| {
            s.set_experiment_tag(id, &key, &value)?;
            Ok(format!("set tag {key:?} of experiment {name:?}"))
        }),
        Command::DeleteTag { name, key } => on_experiment(db, &name, |s, id| {
            s.delete_experiment_tag(id, &key)?;
            Ok(format!("deleted tag {key:?} of experiment {name:?}"))
        }),
    }
}

/// Opens the store for writing, finds experiment `name`, runs `change` on it
/// and prints the line `change` returns.
fn on_experiment(
    db: &Path,
    name: &str,
    change: impl FnOnce(&Store, ExperimentId) -> Result<String, EngineError>,
) -> Result<(), Error> {
    let store = super::open_writable(db)?;
    let id = store
        .experiment_by_name(name)?
        .ok_or_else(|| EngineError::ExperimentNotFound(name.to_owned()))?
        .id;
    println!("{}", change(&store, id)?);
    Ok(())
}
