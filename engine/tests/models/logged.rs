//! Logged models: creation, status, tags, params, metrics through runs, a
//! run's model outputs and inputs, deletion and persistence.

use runstore_engine::{
    LifecycleStage, LoggedModelStatus, MetricBatch, MetricPoint, ModelMetricInput, NewLoggedModel,
    RunModelOutput, RunUpdate,
};

use crate::{code, experiment_and_run, open};

fn point(step: i64, value: f64, timestamp: i64) -> MetricPoint {
    MetricPoint {
        step,
        value,
        timestamp,
    }
}

#[test]
fn create_get_finalize_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (exp, run) = experiment_and_run(&store, "e");
    let mut new = NewLoggedModel::new(exp);
    new.model_type = Some("sklearn".into());
    new.source_run_id = Some(run);
    new.params = vec![("lr".into(), "0.1".into()), ("lr".into(), "0.1".into())];
    new.tags = vec![("t".into(), "a".into()), ("t".into(), "b".into())];
    let lm = store.create_logged_model(new).unwrap();
    assert!(
        lm.model_id.starts_with("m-") && lm.model_id.len() == 34,
        "{}",
        lm.model_id
    );
    assert!(lm.model_id[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(lm.name.split('-').count(), 3, "a random name: {}", lm.name);
    let exp_location = store.get_experiment(exp).unwrap().artifact_location;
    assert_eq!(
        lm.artifact_location,
        format!("{exp_location}/models/{}/artifacts", lm.model_id)
    );
    assert_eq!(lm.status, LoggedModelStatus::Pending);
    assert_eq!(lm.tags["t"], "b", "a repeated tag keeps its last value");
    assert_eq!(lm.source_run_id, Some(run));
    assert_eq!(lm.model_uri(), format!("models:/{}", lm.model_id));
    assert_eq!(store.get_logged_model(&lm.model_id).unwrap(), lm);

    let ready = store
        .finalize_logged_model(&lm.model_id, LoggedModelStatus::Ready)
        .unwrap();
    assert_eq!(ready.status, LoggedModelStatus::Ready);
    assert!(ready.last_updated_timestamp_ms >= lm.creation_timestamp_ms);

    store.delete_logged_model(&lm.model_id).unwrap();
    assert_eq!(
        code(store.get_logged_model(&lm.model_id)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert!(store.logged_models(&[exp]).unwrap().is_empty());
    // As in MLflow's SQL store, a deleted model can still be finalized or tagged.
    let again = store
        .finalize_logged_model(&lm.model_id, LoggedModelStatus::UploadFailed)
        .unwrap();
    assert_eq!(again.lifecycle_stage, LifecycleStage::Deleted);
    assert_eq!(
        code(store.get_logged_model("m-nope")),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert_eq!(
        code(store.finalize_logged_model("m-nope", LoggedModelStatus::Ready)),
        "RESOURCE_DOES_NOT_EXIST"
    );
}

#[test]
fn creation_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (exp, _) = experiment_and_run(&store, "e");
    for bad in ["", "a.b", "a/b", "a:b", "100%", "it's", "say \"x\""] {
        let mut new = NewLoggedModel::new(exp);
        new.name = Some(bad.into());
        assert_eq!(
            code(store.create_logged_model(new)),
            "INVALID_PARAMETER_VALUE",
            "{bad}"
        );
    }
    assert_eq!(
        code(store.create_logged_model(NewLoggedModel::new(runstore_engine::ExperimentId(99)))),
        "RESOURCE_DOES_NOT_EXIST"
    );
    store.delete_experiment(exp).unwrap();
    let e = store
        .create_logged_model(NewLoggedModel::new(exp))
        .unwrap_err();
    assert_eq!(e.mlflow_error_code(), "INVALID_PARAMETER_VALUE");
    assert!(
        e.to_string().contains("must be in the 'active' state"),
        "{e}"
    );
    let (exp2, _) = experiment_and_run(&store, "e2");
    let mut new = NewLoggedModel::new(exp2);
    new.params = vec![("p".into(), "1".into()), ("p".into(), "2".into())];
    assert_eq!(
        code(store.create_logged_model(new)),
        "INVALID_PARAMETER_VALUE"
    );
    assert!(
        store.logged_models(&[exp, exp2]).unwrap().is_empty(),
        "nothing half-made"
    );
}

#[test]
fn tags_and_params() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (exp, _) = experiment_and_run(&store, "e");
    let id = store
        .create_logged_model(NewLoggedModel::new(exp))
        .unwrap()
        .model_id;
    let lm = store
        .set_logged_model_tags(&id, &[("a".into(), "1".into()), ("b".into(), "2".into())])
        .unwrap();
    assert_eq!(lm.tags.len(), 2);
    store.delete_logged_model_tag(&id, "a").unwrap();
    let e = store.delete_logged_model_tag(&id, "a").unwrap_err();
    assert_eq!(e.mlflow_error_code(), "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(
        e.to_string(),
        format!("No tag with key 'a' found for model with ID '{id}'.")
    );
    store
        .log_logged_model_params(&id, &[("lr".into(), "0.1".into())])
        .unwrap();
    store
        .log_logged_model_params(&id, &[("lr".into(), "0.1".into())])
        .unwrap();
    assert_eq!(
        code(store.log_logged_model_params(&id, &[("lr".into(), "0.2".into())])),
        "INVALID_PARAMETER_VALUE"
    );
    // A refused batch stores none of its params.
    assert!(
        store
            .log_logged_model_params(&id, &[("x".into(), "1".into()), ("lr".into(), "9".into())])
            .is_err()
    );
    let lm = store.get_logged_model(&id).unwrap();
    assert_eq!(lm.params.len(), 1);
    assert_eq!(lm.tags.keys().collect::<Vec<_>>(), ["b"]);
    assert_eq!(
        code(store.set_logged_model_tags("m-missing", &[])),
        "RESOURCE_DOES_NOT_EXIST"
    );
}

#[test]
fn metrics_are_logged_on_the_run_and_the_model_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (exp, run) = experiment_and_run(&store, "e");
    let id = store
        .create_logged_model(NewLoggedModel::new(exp))
        .unwrap()
        .model_id;
    let linked = |key: &str, p: MetricPoint, ds: Option<&str>| ModelMetricInput {
        model_id: id.clone(),
        key: key.into(),
        point: p,
        dataset_name: ds.map(str::to_owned),
        dataset_digest: ds.map(|_| "d1".to_owned()),
    };
    let batch = MetricBatch {
        metrics: vec![
            ("acc".into(), point(0, 0.5, 10)),
            ("acc".into(), point(1, f64::NAN, 20)),
        ],
        ..MetricBatch::default()
    };
    store
        .log_batch_linked(
            run,
            batch,
            vec![
                linked("acc", point(0, 0.5, 10), None),
                linked("acc", point(1, f64::NAN, 20), Some("val")),
                linked("acc", point(1, f64::INFINITY, 20), Some("val")),
            ],
        )
        .unwrap();
    assert_eq!(store.metric_history(run, "acc").unwrap().len(), 2);
    let lm = store.get_logged_model(&id).unwrap();
    assert_eq!(
        lm.metrics.len(),
        2,
        "the same (key, timestamp, step, run) once"
    );
    assert_eq!(
        lm.metrics[1].value, 0.0,
        "NaN is stored as 0, as MLflow's SQL store does"
    );
    assert_eq!(lm.metrics[1].dataset_name.as_deref(), Some("val"));
    assert_eq!(lm.metrics[1].run_id, run);
    // A repeat changes nothing; an infinity becomes the largest double.
    store
        .log_model_metrics(run, &[linked("acc", point(0, 0.9, 10), None)])
        .unwrap();
    store
        .log_model_metrics(
            run,
            &[linked("loss", point(0, f64::NEG_INFINITY, 10), None)],
        )
        .unwrap();
    let lm = store.get_logged_model(&id).unwrap();
    assert_eq!(lm.metrics[0].value, 0.5);
    assert_eq!(lm.metrics[2].value, f64::MIN);

    // All or nothing: an unknown model refuses the run's points too.
    let mut bad = linked("f1", point(0, 1.0, 30), None);
    bad.model_id = "m-nope".into();
    let batch = MetricBatch {
        metrics: vec![("f1".into(), point(0, 1.0, 30))],
        ..MetricBatch::default()
    };
    assert_eq!(
        code(store.log_batch_linked(run, batch, vec![bad])),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert!(store.metric_history(run, "f1").unwrap().is_empty());
    assert_eq!(
        code(store.log_model_metrics(run, &[linked("bad key!", point(0, 1.0, 1), None)])),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(
        code(store.log_model_metrics(run, &[linked("t", point(0, 1.0, -1), None)])),
        "INVALID_PARAMETER_VALUE"
    );
    store.delete_run(run).unwrap();
    assert_eq!(
        code(store.log_model_metrics(run, &[linked("acc", point(5, 1.0, 1), None)])),
        "INVALID_PARAMETER_VALUE"
    );
}

#[test]
fn run_outputs_and_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (exp, run) = experiment_and_run(&store, "e");
    let id = store
        .create_logged_model(NewLoggedModel::new(exp))
        .unwrap()
        .model_id;
    let out = |model: &str, step| RunModelOutput {
        model_id: model.into(),
        step,
    };
    store.log_outputs(run, &[out(&id, 3)]).unwrap();
    store.log_outputs(run, &[out(&id, 3)]).unwrap();
    assert_eq!(
        code(store.log_outputs(run, &[out(&id, 4)])),
        "INVALID_PARAMETER_VALUE"
    );
    // As in MLflow, the model id is not checked.
    store.log_outputs(run, &[out("m-elsewhere", 0)]).unwrap();
    assert_eq!(
        store.run_model_outputs(run).unwrap(),
        vec![out(&id, 3), out("m-elsewhere", 0)]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    store
        .log_inputs_linked(run, &[], &[id.clone(), id.clone()])
        .unwrap();
    assert_eq!(store.run_model_inputs(run).unwrap(), vec![id.clone()]);
    let other = store.create_run(exp, Default::default()).unwrap().run_id;
    assert!(store.run_model_outputs(other).unwrap().is_empty());
    store
        .update_run(
            other,
            RunUpdate {
                status: Some(runstore_engine::RunStatus::Finished),
                ..RunUpdate::default()
            },
        )
        .unwrap();
    store.delete_run(other).unwrap();
    assert_eq!(
        code(store.log_outputs(other, &[out(&id, 0)])),
        "INVALID_PARAMETER_VALUE"
    );
}

#[test]
fn logged_models_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (exp, run, id) = {
        let store = open(dir.path());
        let (exp, run) = experiment_and_run(&store, "e");
        let mut new = NewLoggedModel::new(exp);
        new.name = Some("keep".into());
        new.params = vec![("p".into(), "1".into())];
        let id = store.create_logged_model(new).unwrap().model_id;
        store
            .log_model_metrics(
                run,
                &[ModelMetricInput {
                    model_id: id.clone(),
                    key: "acc".into(),
                    point: point(0, 0.7, 5),
                    dataset_name: None,
                    dataset_digest: None,
                }],
            )
            .unwrap();
        store
            .log_outputs(
                run,
                &[RunModelOutput {
                    model_id: id.clone(),
                    step: 2,
                }],
            )
            .unwrap();
        (exp, run, id)
    };
    let store = runstore_engine::Store::open_read_only(dir.path()).unwrap();
    let lm = store.get_logged_model(&id).unwrap();
    assert_eq!((lm.name.as_str(), lm.params["p"].as_str()), ("keep", "1"));
    assert_eq!(lm.metrics[0].value, 0.7);
    assert_eq!(store.logged_models(&[exp]).unwrap().len(), 1);
    assert_eq!(store.run_model_outputs(run).unwrap()[0].step, 2);
}
