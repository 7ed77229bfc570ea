//! Metrics logged against a logged model: MLflow's `log_metric` and
//! `log_batch` with a metric's `model_id` (and `dataset_name`,
//! `dataset_digest`) record the point on the run *and* on the model.
//!
//! [`Store::log_batch_linked`] does both in one write: the run's points go
//! through the ordinary `log_batch`, the model's into the
//! `logged_model_metrics` table, all or nothing.

use redb::ReadableTable;

use crate::catalog::models::{LOGGED_MODEL_METRICS, ModelMetricRow};
use crate::catalog::rows::encode;
use crate::error::Result;
use crate::limits;
use crate::model_types::ModelMetricInput;
use crate::store::{MetricBatch, Store, WriteBatch};
use crate::types::RunId;

/// A checked model metric, ready to store.
struct Checked<'a> {
    key: (&'a str, &'a str, i64, i64, u128),
    row: Vec<u8>,
}

/// MLflow's `sanitize_metric_value`: its SQL column holds neither NaN
/// (stored as 0) nor infinities (stored as the largest finite doubles).
pub(crate) fn sanitize(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else if value == f64::INFINITY {
        f64::MAX
    } else if value == f64::NEG_INFINITY {
        f64::MIN
    } else {
        value
    }
}

impl WriteBatch<'_> {
    /// Records `metrics` (logged through active run `run_id`) on their logged
    /// models. Each model must exist (deleted ones included, as in MLflow);
    /// a point already stored for the same model, key, timestamp, step and
    /// run is kept as it was. The run's own copies are not written here
    /// (see [`WriteBatch::log_batch_linked`]).
    pub fn log_model_metrics(&mut self, run_id: RunId, metrics: &[ModelMetricInput]) -> Result<()> {
        self.log_batch(run_id, &[], &[], &[])?;
        let checked = self.check_model_metrics(run_id, metrics)?;
        self.write_model_metrics(&checked)
    }

    /// MLflow's `log_batch` whose metrics may name logged models: the run's
    /// metrics, params and tags (`batch`, within MLflow's limits) and the
    /// model copies `model_metrics`, all or nothing.
    pub fn log_batch_linked(
        &mut self,
        run_id: RunId,
        batch: &MetricBatch,
        model_metrics: &[ModelMetricInput],
    ) -> Result<()> {
        let checked = self.check_model_metrics(run_id, model_metrics)?;
        self.log_batch(run_id, &batch.metrics, &batch.params, &batch.tags)?;
        self.write_model_metrics(&checked)
    }

    fn check_model_metrics<'a>(
        &self,
        run_id: RunId,
        metrics: &'a [ModelMetricInput],
    ) -> Result<Vec<Checked<'a>>> {
        let mut out: Vec<Checked<'a>> = Vec::with_capacity(metrics.len());
        for m in metrics {
            limits::check_metric(&m.key, m.point.timestamp)?;
            self.logged_model_row(&m.model_id)?;
            let key = (
                m.model_id.as_str(),
                m.key.as_str(),
                m.point.timestamp,
                m.point.step,
                run_id.as_u128(),
            );
            // The first of two points with one key wins, as a stored one does.
            if out.iter().any(|c| c.key == key) {
                continue;
            }
            let row = encode(&ModelMetricRow {
                value: sanitize(m.point.value),
                dataset_name: m.dataset_name.clone(),
                dataset_digest: m.dataset_digest.clone(),
            })?;
            out.push(Checked { key, row });
        }
        Ok(out)
    }

    fn write_model_metrics(&mut self, checked: &[Checked<'_>]) -> Result<()> {
        if checked.is_empty() {
            return Ok(());
        }
        self.guarded(|b| {
            let mut table = b.txn()?.open_table(LOGGED_MODEL_METRICS)?;
            for c in checked {
                if table.get(c.key)?.is_none() {
                    table.insert(c.key, c.row.as_slice())?;
                }
            }
            Ok(())
        })
    }
}

impl Store {
    /// Records metrics on their logged models (see
    /// [`WriteBatch::log_model_metrics`]); durable on return.
    pub fn log_model_metrics(&self, run_id: RunId, metrics: &[ModelMetricInput]) -> Result<()> {
        let metrics = metrics.to_vec();
        self.submit(move |b| b.log_model_metrics(run_id, &metrics))
    }

    /// MLflow's `log_batch` (and `log_metric`) with metrics that name logged
    /// models: the run's part and the models' part in one durable write
    /// (see [`WriteBatch::log_batch_linked`]). Put every metric in `batch`
    /// and, for each one with a `model_id`, its model copy in
    /// `model_metrics`.
    pub fn log_batch_linked(
        &self,
        run_id: RunId,
        batch: MetricBatch,
        model_metrics: Vec<ModelMetricInput>,
    ) -> Result<()> {
        self.submit(move |b| b.log_batch_linked(run_id, &batch, &model_metrics))
    }
}
