//! The run-selection flags that `export`, `sql` and `compare` share.

use runstore::Error;
use runstore::analysis::Selection;
use runstore::search::Dialect;

/// Which experiments and lifecycle stages a command reads.
#[derive(clap::Args, Debug)]
pub struct Scope {
    /// Only runs of this experiment (repeatable; none means all experiments).
    #[arg(long = "experiment", value_name = "NAME")]
    experiments: Vec<String>,
    /// Which runs: active, deleted or all.
    #[arg(long, default_value = "active", value_name = "VIEW")]
    view: String,
}

impl Scope {
    /// The selection of every run in scope.
    pub fn selection(self) -> Result<Selection, Error> {
        Ok(Selection {
            experiments: self.experiments,
            view: self.view.parse()?,
            ..Selection::default()
        })
    }
}

/// [`Scope`] narrowed by an MLflow filter string.
#[derive(clap::Args, Debug)]
pub struct Runs {
    #[command(flatten)]
    scope: Scope,
    /// Only runs matching this MLflow filter string (empty: every run).
    #[arg(long, value_name = "STR", default_value = "")]
    filter: String,
    /// Accept OR, NOT and parentheses in --filter (a runstore extension).
    #[arg(long)]
    extended: bool,
}

impl Runs {
    /// The selection these flags name.
    pub fn selection(self) -> Result<Selection, Error> {
        Ok(Selection {
            filter: self.filter,
            dialect: if self.extended {
                Dialect::Extended
            } else {
                Dialect::Mlflow
            },
            ..self.scope.selection()?
        })
    }
}
