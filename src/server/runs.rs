//! `runs/*`: create, get, update, delete, restore, log-metric,
//! log-parameter, set-tag, delete-tag, log-batch, log-inputs, outputs and
//! log-model (MLflow 2's logged-model history tag).

use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::experiments::{Empty, experiment_id};
use super::request::{required, required_str};
use crate::engine::{
    MetricBatch, MetricPoint, ModelMetricInput, NewRun, Run, RunId, RunModelIo, RunStatus,
    RunUpdate,
};
use crate::mlflow::{
    self, CreateRun, LogBatch, LogInputs, LogMetric, RunKeyValue, RunRef, RunResponse, UpdateRun,
    UpdateRunResponse, engine_dataset_input, truncation_enabled,
};

/// Parses a run id; MLflow answers an id that names no run with
/// RESOURCE_DOES_NOT_EXIST.
pub(crate) fn run_id(id: &str) -> ApiResult<RunId> {
    id.parse::<RunId>()
        .map_err(|_| ApiError::not_found(format!("Run with id={id} not found")))
}

/// The run id of a request that may give it as `run_id` or `run_uuid`.
fn either_id(run_id_field: &Option<String>, run_uuid: &Option<String>) -> ApiResult<RunId> {
    let id = match (run_id_field.as_deref(), run_uuid.as_deref()) {
        (Some(id), _) if !id.is_empty() => id,
        (_, Some(id)) if !id.is_empty() => id,
        _ => return Err(ApiError::missing("run_id")),
    };
    run_id(id)
}

/// A run as MLflow's message, as this server presents it: its artifact URI
/// proxied, its logged-model inputs and outputs filled in.
pub(crate) fn run_out(state: &AppState, run: &Run) -> ApiResult<mlflow::Run> {
    let io = RunModelIo {
        inputs: state.store.run_model_inputs(run.run_id)?,
        outputs: state.store.run_model_outputs(run.run_id)?,
    };
    Ok(run_with_models(state, run, io))
}

/// [`run_out`] for a page of runs, their model links read in one go.
pub(crate) fn runs_out(state: &AppState, runs: &[Run]) -> ApiResult<Vec<mlflow::Run>> {
    let ids: Vec<RunId> = runs.iter().map(|r| r.run_id).collect();
    let links = state.store.runs_model_io(&ids)?;
    Ok(runs
        .iter()
        .zip(links)
        .map(|(run, io)| run_with_models(state, run, io))
        .collect())
}

fn run_with_models(state: &AppState, run: &Run, io: RunModelIo) -> mlflow::Run {
    let mut m = mlflow::run_message(run);
    m.info.artifact_uri = state.artifacts.present(&m.info.artifact_uri);
    m.inputs.model_inputs = io
        .inputs
        .into_iter()
        .map(|model_id| mlflow::ModelInput { model_id })
        .collect();
    m.outputs = Some(mlflow::RunOutputs {
        model_outputs: io
            .outputs
            .into_iter()
            .map(|o| mlflow::ModelOutput {
                model_id: o.model_id,
                step: o.step,
            })
            .collect(),
    });
    m
}

/// A metric that names a logged model, as the engine records it on the model.
fn model_metric(m: &mlflow::Metric) -> Option<ModelMetricInput> {
    let model_id = m.model_id.as_ref().filter(|id| !id.is_empty())?;
    Some(ModelMetricInput {
        model_id: model_id.clone(),
        key: m.key.clone(),
        point: MetricPoint {
            step: m.step,
            value: m.value,
            timestamp: m.timestamp,
        },
        dataset_name: m.dataset_name.clone().filter(|d| !d.is_empty()),
        dataset_digest: m.dataset_digest.clone().filter(|d| !d.is_empty()),
    })
}

/// MLflow's `RunStatus` from its name or number.
fn status(v: &str) -> ApiResult<RunStatus> {
    let name = match v {
        "1" => "RUNNING",
        "2" => "SCHEDULED",
        "3" => "FINISHED",
        "4" => "FAILED",
        "5" => "KILLED",
        other => other,
    };
    name.parse::<RunStatus>().map_err(|_| {
        ApiError::invalid(format!(
            "Invalid value \"{v}\" for parameter 'status' supplied"
        ))
    })
}

pub(crate) fn create(state: &AppState, req: CreateRun) -> ApiResult<RunResponse> {
    let exp = experiment_id(req.experiment_id.as_deref().unwrap_or("0"))?;
    let tags: Vec<(String, String)> = req.tags.into_iter().map(|t| (t.key, t.value)).collect();
    let run = state.store.create_run(
        exp,
        NewRun {
            run_id: None,
            run_name: req.run_name.filter(|n| !n.is_empty()),
            start_time: req.start_time,
            user: req.user_id.filter(|u| !u.is_empty()),
            tags,
        },
    )?;
    let mut run = run_out(state, &run)?;
    run.outputs = None;
    Ok(RunResponse { run })
}

#[derive(Deserialize)]
pub(crate) struct GetRun {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
}

pub(crate) fn get(state: &AppState, req: GetRun) -> ApiResult<RunResponse> {
    let id = either_id(&req.run_id, &req.run_uuid)?;
    let run = state.store.get_run(id)?;
    Ok(RunResponse {
        run: run_out(state, &run)?,
    })
}

pub(crate) fn update(state: &AppState, req: UpdateRun) -> ApiResult<UpdateRunResponse> {
    let id = either_id(&req.run_id, &req.run_uuid)?;
    let update = RunUpdate {
        status: req.status.as_deref().map(status).transpose()?,
        end_time: req.end_time,
        run_name: req.run_name.filter(|n| !n.is_empty()),
    };
    state.store.update_run(id, update)?;
    let run = state.store.get_run(id)?;
    Ok(UpdateRunResponse {
        run_info: run_out(state, &run)?.info,
    })
}

pub(crate) fn delete(state: &AppState, req: RunRef) -> ApiResult<Empty> {
    let id = run_id(required_str(&req.run_id, "run_id")?)?;
    state.store.delete_run(id)?;
    Ok(Empty {})
}

pub(crate) fn restore(state: &AppState, req: RunRef) -> ApiResult<Empty> {
    let id = run_id(required_str(&req.run_id, "run_id")?)?;
    state.store.restore_run(id)?;
    Ok(Empty {})
}

pub(crate) fn log_metric(state: &AppState, req: LogMetric) -> ApiResult<Empty> {
    let id = either_id(&req.run_id, &req.run_uuid)?;
    let key = required_str(&req.key, "key")?;
    let value = req.value.ok_or_else(|| ApiError::missing("value"))?;
    let timestamp = req
        .timestamp
        .ok_or_else(|| ApiError::missing("timestamp"))?;
    let point = MetricPoint {
        step: req.step.unwrap_or(0),
        value,
        timestamp,
    };
    let linked = model_metric(&mlflow::Metric {
        key: key.to_owned(),
        value,
        timestamp,
        step: point.step,
        dataset_name: req.dataset_name.clone(),
        dataset_digest: req.dataset_digest.clone(),
        model_id: req.model_id.clone(),
        run_id: None,
    });
    match linked {
        // A point of a logged model: on the run and the model, in one write.
        Some(m) => state.store.log_batch_linked(
            id,
            MetricBatch {
                metrics: vec![(key.to_owned(), point)],
                ..MetricBatch::default()
            },
            vec![m],
        )?,
        None => state.store.log_metric(id, key, point)?,
    }
    Ok(Empty {})
}

pub(crate) fn log_param(state: &AppState, req: RunKeyValue) -> ApiResult<Empty> {
    let id = either_id(&req.run_id, &req.run_uuid)?;
    let key = required_str(&req.key, "key")?;
    let value = mlflow::param_value(req.value.unwrap_or_default(), truncation_enabled());
    state.store.log_param(id, key, &value)?;
    Ok(Empty {})
}

pub(crate) fn set_tag(state: &AppState, req: RunKeyValue) -> ApiResult<Empty> {
    let id = either_id(&req.run_id, &req.run_uuid)?;
    let key = required_str(&req.key, "key")?;
    let value = mlflow::tag_value(req.value.unwrap_or_default(), truncation_enabled());
    state.store.set_tag(id, key, &value)?;
    Ok(Empty {})
}

pub(crate) fn delete_tag(state: &AppState, req: RunKeyValue) -> ApiResult<Empty> {
    let id = either_id(&req.run_id, &req.run_uuid)?;
    let key = required_str(&req.key, "key")?;
    state.store.delete_tag(id, key)?;
    Ok(Empty {})
}

pub(crate) fn log_batch(state: &AppState, req: LogBatch) -> ApiResult<Empty> {
    let id = run_id(required_str(&req.run_id, "run_id")?)?;
    for (i, m) in req.metrics.iter().enumerate() {
        required_str(&m.key, &format!("metrics[{i}].key"))?;
    }
    for (i, p) in req.params.iter().enumerate() {
        required_str(&p.key, &format!("params[{i}].key"))?;
    }
    for (i, t) in req.tags.iter().enumerate() {
        required_str(&t.key, &format!("tags[{i}].key"))?;
    }
    let linked: Vec<ModelMetricInput> = req.metrics.iter().filter_map(model_metric).collect();
    let truncate = truncation_enabled();
    let batch = MetricBatch {
        metrics: req
            .metrics
            .into_iter()
            .map(|m| {
                (
                    m.key,
                    MetricPoint {
                        step: m.step,
                        value: m.value,
                        timestamp: m.timestamp,
                    },
                )
            })
            .collect(),
        params: req
            .params
            .into_iter()
            .map(|p| (p.key, mlflow::param_value(p.value, truncate)))
            .collect(),
        tags: req
            .tags
            .into_iter()
            .map(|t| (t.key, mlflow::tag_value(t.value, truncate)))
            .collect(),
    };
    if linked.is_empty() {
        state.store.log_batch(id, batch)?;
    } else {
        state.store.log_batch_linked(id, batch, linked)?;
    }
    Ok(Empty {})
}

pub(crate) fn log_inputs(state: &AppState, req: LogInputs) -> ApiResult<Empty> {
    let id = run_id(required_str(&req.run_id, "run_id")?)?;
    let inputs: Vec<_> = req.datasets.iter().map(engine_dataset_input).collect();
    let models: Vec<String> = req.models.into_iter().map(|m| m.model_id).collect();
    if !models.is_empty() {
        state.store.log_inputs_linked(id, &inputs, &models)?;
    } else if !inputs.is_empty() {
        state.store.log_inputs(id, &inputs)?;
    } else {
        // Still MLflow's checks: the run must exist and be active.
        let run = state.store.get_run(id)?;
        if run.lifecycle_stage != crate::engine::LifecycleStage::Active {
            return Err(ApiError::invalid(format!(
                "The run {id} must be in the 'active' state. Current state is deleted."
            )));
        }
    }
    Ok(Empty {})
}

/// `runs/log-model`: MLflow 2's record of a logged model, kept in the run's
/// `mlflow.log-model.history` tag (a JSON list of the models' summaries).
#[derive(Deserialize)]
pub(crate) struct LogModel {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    model_json: Option<String>,
}

/// The tag MLflow keeps the logged-model history in.
const LOGGED_MODELS_TAG: &str = "mlflow.log-model.history";

pub(crate) fn log_model(state: &AppState, req: LogModel) -> ApiResult<Empty> {
    let id = run_id(required(&req.run_id, "run_id")?)?;
    let text = required(&req.model_json, "model_json")?;
    let model: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| {
            ApiError::invalid(format!(
                "Malformed model info. \n {text} \n is not a valid JSON."
            ))
        })?;
    let mut missing: Vec<&str> = ["artifact_path", "flavors", "utc_time_created", "run_id"]
        .into_iter()
        .filter(|f| !model.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        return Err(ApiError::invalid(format!(
            "Model json is missing mandatory fields: {{{}}}",
            missing
                .iter()
                .map(|f| format!("'{f}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    // Model.get_tags_dict: these attributes, and each flavor without its `config`.
    let mut summary = serde_json::Map::new();
    for key in ["run_id", "utc_time_created", "artifact_path", "model_uuid"] {
        if let Some(v) = model.get(key) {
            summary.insert(key.to_owned(), v.clone());
        }
    }
    let flavors = match model.get("flavors") {
        Some(serde_json::Value::Object(f)) => f
            .iter()
            .map(|(name, config)| {
                let config = match config {
                    serde_json::Value::Object(c) => serde_json::Value::Object(
                        c.iter()
                            .filter(|(k, _)| k.as_str() != "config")
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ),
                    other => other.clone(),
                };
                (name.clone(), config)
            })
            .collect(),
        _ => serde_json::Map::new(),
    };
    summary.insert("flavors".into(), serde_json::Value::Object(flavors));
    let run = state.store.get_run(id)?;
    let mut history: Vec<serde_json::Value> = run
        .tags
        .get(LOGGED_MODELS_TAG)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    history.push(serde_json::Value::Object(summary));
    let value = serde_json::to_string(&history)
        .map_err(|e| ApiError::internal(format!("encoding the model history: {e}")))?;
    state.store.set_tag(id, LOGGED_MODELS_TAG, &value)?;
    Ok(Empty {})
}
