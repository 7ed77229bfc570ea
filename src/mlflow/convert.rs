//! Engine entities as MLflow messages.

use super::messages::{
    Dataset, DatasetInput, Experiment, KeyValue, Metric, Run, RunData, RunInfo, RunInputs,
};
use crate::engine;

/// The input tag MLflow keeps a dataset's context in.
pub const INPUT_TAG_CONTEXT: &str = "mlflow.data.context";

/// An experiment as MLflow's `Experiment` message.
pub fn experiment_message(e: &engine::Experiment) -> Experiment {
    Experiment {
        experiment_id: e.id.to_string(),
        name: e.name.clone(),
        artifact_location: e.artifact_location.clone(),
        lifecycle_stage: e.lifecycle_stage.as_str().to_owned(),
        last_update_time: Some(e.last_update_time),
        creation_time: Some(e.creation_time),
        tags: e
            .tags
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        workspace: Some("default".to_owned()),
    }
}

/// A run as MLflow's `Run` message (its outputs left empty: the engine's
/// run holds no logged-model outputs).
pub fn run_message(r: &engine::Run) -> Run {
    let id = r.run_id.to_string();
    Run {
        info: RunInfo {
            run_uuid: id.clone(),
            run_id: id,
            run_name: r.run_name.clone(),
            experiment_id: r.experiment_id.to_string(),
            user_id: r.user.clone(),
            status: r.status.as_str().to_owned(),
            start_time: Some(r.start_time),
            end_time: r.end_time,
            artifact_uri: r.artifact_uri.clone(),
            lifecycle_stage: r.lifecycle_stage.as_str().to_owned(),
        },
        data: RunData {
            metrics: r
                .metrics
                .iter()
                .map(|(k, p)| Metric {
                    key: k.clone(),
                    value: p.value,
                    timestamp: p.timestamp,
                    step: p.step,
                    ..Metric::default()
                })
                .collect(),
            params: r
                .params
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            tags: r
                .tags
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        },
        inputs: RunInputs {
            dataset_inputs: r.inputs.iter().map(dataset_input_message).collect(),
            model_inputs: Vec::new(),
        },
        outputs: Some(Default::default()),
    }
}

/// A dataset input as MLflow's `DatasetInput` message (its context as the
/// `mlflow.data.context` input tag).
pub fn dataset_input_message(i: &engine::DatasetInput) -> DatasetInput {
    DatasetInput {
        tags: i
            .context
            .iter()
            .map(|c| KeyValue {
                key: INPUT_TAG_CONTEXT.to_owned(),
                value: c.clone(),
            })
            .collect(),
        dataset: Dataset {
            name: i.name.clone(),
            digest: i.digest.clone(),
            source_type: i.source_type.clone(),
            source: i.source.clone(),
            schema: i.schema.clone(),
            profile: i.profile.clone(),
        },
    }
}

/// A dataset input message as the engine's [`engine::DatasetInput`] (its
/// context from the `mlflow.data.context` input tag).
pub fn engine_dataset_input(d: &DatasetInput) -> engine::DatasetInput {
    engine::DatasetInput {
        name: d.dataset.name.clone(),
        digest: d.dataset.digest.clone(),
        source_type: d.dataset.source_type.clone(),
        source: d.dataset.source.clone(),
        schema: d.dataset.schema.clone(),
        profile: d.dataset.profile.clone(),
        context: d
            .tags
            .iter()
            .find(|t| t.key == INPUT_TAG_CONTEXT)
            .map(|t| t.value.clone()),
    }
}
