//! A run's links to logged models: the models it produced (MLflow's
//! `log_outputs`, a `RunOutputs.model_outputs` entry each) and the models it
//! used (`log_inputs` with `models`, `RunInputs.model_inputs`).
//!
//! As in MLflow, the model ids are not checked (a run may name a model of
//! another tracking server); the run must exist and be active.

use redb::{ReadOnlyTable, ReadableTableMetadata};

use super::open_read;
use crate::catalog::models::{RUN_MODEL_INPUTS, RUN_MODEL_OUTPUTS};
use crate::error::{Error, Result};
use crate::model_types::{RunModelIo, RunModelOutput};
use crate::store::{Store, WriteBatch};
use crate::types::{DatasetInput, RunId};

impl WriteBatch<'_> {
    /// MLflow's `log_outputs`: records that active run `run_id` produced
    /// these models. A (run, model) pair is recorded once: repeating it with
    /// the same step is a no-op, with another step an error (MLflow's SQL
    /// store refuses any repeat, by its primary key).
    pub fn log_outputs(&mut self, run_id: RunId, outputs: &[RunModelOutput]) -> Result<()> {
        self.log_batch(run_id, &[], &[], &[])?;
        let mut new: Vec<&RunModelOutput> = Vec::with_capacity(outputs.len());
        {
            let table = self.txn()?.open_table(RUN_MODEL_OUTPUTS)?;
            for out in outputs {
                let stored =
                    redb::ReadableTable::get(&table, (run_id.as_u128(), out.model_id.as_str()))?
                        .map(|v| v.value());
                let given = new
                    .iter()
                    .find(|o| o.model_id == out.model_id)
                    .map(|o| o.step);
                match stored.or(given) {
                    Some(step) if step == out.step => {}
                    Some(step) => {
                        return Err(Error::InvalidInput(format!(
                            "run {run_id} already logged model {} as an output at step {step}",
                            out.model_id
                        )));
                    }
                    None => new.push(out),
                }
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        self.guarded(|b| {
            let mut table = b.txn()?.open_table(RUN_MODEL_OUTPUTS)?;
            for out in new {
                table.insert((run_id.as_u128(), out.model_id.as_str()), out.step)?;
            }
            Ok(())
        })
    }

    /// MLflow's `log_inputs` with `models`: records that active run `run_id`
    /// used these models (a repeat is a no-op).
    pub fn log_model_inputs(&mut self, run_id: RunId, model_ids: &[String]) -> Result<()> {
        self.log_batch(run_id, &[], &[], &[])?;
        if model_ids.is_empty() {
            return Ok(());
        }
        self.guarded(|b| {
            let mut table = b.txn()?.open_table(RUN_MODEL_INPUTS)?;
            for id in model_ids {
                table.insert((run_id.as_u128(), id.as_str()), ())?;
            }
            Ok(())
        })
    }
}

impl Store {
    /// MLflow's `log_outputs` (see [`WriteBatch::log_outputs`]).
    pub fn log_outputs(&self, run_id: RunId, outputs: &[RunModelOutput]) -> Result<()> {
        let outputs = outputs.to_vec();
        self.submit(move |b| b.log_outputs(run_id, &outputs))
    }

    /// MLflow's `log_inputs` with datasets and models, in one write: the
    /// datasets as [`Store::log_inputs`] logs them, then the models.
    pub fn log_inputs_linked(
        &self,
        run_id: RunId,
        datasets: &[DatasetInput],
        model_ids: &[String],
    ) -> Result<()> {
        let (datasets, model_ids) = (datasets.to_vec(), model_ids.to_vec());
        self.submit(move |b| {
            b.log_inputs(run_id, &datasets)?;
            b.log_model_inputs(run_id, &model_ids)
        })
    }

    /// The models run `run_id` produced, by model id.
    pub fn run_model_outputs(&self, run_id: RunId) -> Result<Vec<RunModelOutput>> {
        let txn = self.begin_read()?;
        match open_read(&txn, RUN_MODEL_OUTPUTS)? {
            Some(table) => outputs_of(&table, run_id),
            None => Ok(Vec::new()),
        }
    }

    /// The models run `run_id` used, by model id.
    pub fn run_model_inputs(&self, run_id: RunId) -> Result<Vec<String>> {
        let txn = self.begin_read()?;
        match open_read(&txn, RUN_MODEL_INPUTS)? {
            Some(table) => inputs_of(&table, run_id),
            None => Ok(Vec::new()),
        }
    }

    /// [`Store::run_model_inputs`] and [`Store::run_model_outputs`] of each
    /// of `runs`, in order, read in one transaction: what a page of runs
    /// needs (a read transaction each would cost two file-lock calls a run).
    pub fn runs_model_io(&self, runs: &[RunId]) -> Result<Vec<RunModelIo>> {
        let txn = self.begin_read()?;
        let inputs = open_read(&txn, RUN_MODEL_INPUTS)?;
        let outputs = open_read(&txn, RUN_MODEL_OUTPUTS)?;
        // Most stores link no run to a model: nothing to look up then.
        let inputs = inputs.filter(|t| !matches!(t.is_empty(), Ok(true)));
        let outputs = outputs.filter(|t| !matches!(t.is_empty(), Ok(true)));
        runs.iter()
            .map(|&run| {
                Ok(RunModelIo {
                    inputs: match &inputs {
                        Some(table) => inputs_of(table, run)?,
                        None => Vec::new(),
                    },
                    outputs: match &outputs {
                        Some(table) => outputs_of(table, run)?,
                        None => Vec::new(),
                    },
                })
            })
            .collect()
    }
}

fn outputs_of(
    table: &ReadOnlyTable<(u128, &'static str), i64>,
    run_id: RunId,
) -> Result<Vec<RunModelOutput>> {
    let mut out = Vec::new();
    for entry in table.range((run_id.as_u128(), "")..)? {
        let (key, step) = entry?;
        let (run, model) = key.value();
        if run != run_id.as_u128() {
            break;
        }
        out.push(RunModelOutput {
            model_id: model.to_owned(),
            step: step.value(),
        });
    }
    Ok(out)
}

fn inputs_of(
    table: &ReadOnlyTable<(u128, &'static str), ()>,
    run_id: RunId,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in table.range((run_id.as_u128(), "")..)? {
        let (key, _) = entry?;
        let (run, model) = key.value();
        if run != run_id.as_u128() {
            break;
        }
        out.push(model.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::model_types::{RunModelIo, RunModelOutput};
    use crate::{NewRun, Store, StoreOptions};

    #[test]
    fn a_page_reads_the_same_links_as_one_run_at_a_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions {
            background_owner: false,
            ..StoreOptions::default()
        };
        let store = Store::open_with(dir.path(), options).expect("open");
        let exp = store.create_experiment("e", None, &[]).expect("experiment");
        let runs: Vec<_> = (0..4)
            .map(|_| {
                store
                    .create_run(exp, NewRun::default())
                    .expect("run")
                    .run_id
            })
            .collect();
        // No links at all: every run has none.
        assert_eq!(
            store.runs_model_io(&runs).expect("io"),
            vec![RunModelIo::default(); 4]
        );
        let out = |id: &str, step| RunModelOutput {
            model_id: id.into(),
            step,
        };
        store
            .log_outputs(runs[1], &[out("m-2", 3), out("m-1", 0)])
            .expect("outputs");
        store
            .log_inputs_linked(runs[2], &[], &["m-1".to_string()])
            .expect("inputs");
        store
            .log_outputs(runs[3], &[out("m-3", 7)])
            .expect("outputs");
        let page = store.runs_model_io(&runs).expect("io");
        for (run, io) in runs.iter().zip(&page) {
            assert_eq!(io.inputs, store.run_model_inputs(*run).expect("inputs"));
            assert_eq!(io.outputs, store.run_model_outputs(*run).expect("outputs"));
        }
        assert_eq!(page[1].outputs, vec![out("m-1", 0), out("m-2", 3)]);
        assert_eq!(page[2].inputs, vec!["m-1".to_string()]);
        assert_eq!(page[0], RunModelIo::default());
        // In the order asked for, repeats included.
        let again = store
            .runs_model_io(&[runs[3], runs[1], runs[3]])
            .expect("io");
        assert_eq!(again[0], page[3]);
        assert_eq!(again[1], page[1]);
        assert_eq!(again[2], page[3]);
    }
}
