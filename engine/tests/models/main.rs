//! Logged models, the model registry and the artifact catalog: every
//! operation, its validation and error codes, and persistence.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod artifacts;
mod logged;
mod registry;

use std::sync::Arc;

use runstore_engine::{Error, ExperimentId, NewRun, RunId, Store, StoreOptions};

/// A store without the owner thread (tests do not need maintenance).
pub fn open(dir: &std::path::Path) -> Arc<Store> {
    Store::open_with(
        dir,
        StoreOptions {
            background_owner: false,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

/// An experiment and an active run in it.
pub fn experiment_and_run(store: &Store, name: &str) -> (ExperimentId, RunId) {
    let exp = store.create_experiment(name, None, &[]).unwrap();
    let run = store.create_run(exp, NewRun::default()).unwrap().run_id;
    (exp, run)
}

/// The MLflow error code of a failed call.
pub fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    r.expect_err("the call should fail").mlflow_error_code()
}
