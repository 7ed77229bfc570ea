//! The model registry: registered models, versions (numbering, stages,
//! sources), aliases, tags, validation and error codes, persistence.

use runstore_engine::{
    LoggedModelStatus, ModelVersionStage, NewLoggedModel, NewModelVersion, Store,
};

use crate::{code, experiment_and_run, open};

fn version(store: &Store, name: &str, source: &str) -> u64 {
    store
        .create_model_version(NewModelVersion {
            name: name.into(),
            source: source.into(),
            ..NewModelVersion::default()
        })
        .unwrap()
        .version
}

#[test]
fn registered_models_create_update_rename_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let rm = store
        .create_registered_model("clf", &[("team".into(), "a".into())], Some("first"))
        .unwrap();
    assert_eq!(rm.creation_timestamp, rm.last_updated_timestamp);
    assert_eq!(rm.description.as_deref(), Some("first"));
    let e = store.create_registered_model("clf", &[], None).unwrap_err();
    assert_eq!(e.mlflow_error_code(), "RESOURCE_ALREADY_EXISTS");
    assert_eq!(e.to_string(), "Registered Model (name=clf) already exists.");
    for bad in ["", " ", "a/b", "a:b", ".", "..x"] {
        assert_eq!(
            code(store.create_registered_model(bad, &[], None)),
            "INVALID_PARAMETER_VALUE",
            "{bad:?}"
        );
    }
    assert_eq!(
        code(store.create_registered_model("t", &[("a//b".into(), "v".into())], None)),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(
        code(store.create_registered_model("t", &[("k".into(), "v".repeat(100_001))], None)),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(
        code(store.get_registered_model("t")),
        "RESOURCE_DOES_NOT_EXIST"
    );

    let updated = store
        .update_registered_model("clf", Some("second"))
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("second"));
    assert_eq!(
        code(store.update_registered_model("nope", None)),
        "RESOURCE_DOES_NOT_EXIST"
    );

    assert_eq!(version(&store, "clf", "/m/1"), 1);
    store
        .set_registered_model_alias("clf", "champ", 1u64)
        .unwrap();
    store.create_registered_model("other", &[], None).unwrap();
    assert_eq!(
        code(store.rename_registered_model("clf", "other")),
        "RESOURCE_ALREADY_EXISTS"
    );
    assert_eq!(
        code(store.rename_registered_model("clf", "")),
        "INVALID_PARAMETER_VALUE"
    );
    let renamed = store.rename_registered_model("clf", "classifier").unwrap();
    assert_eq!(renamed.tags["team"], "a");
    assert_eq!(renamed.aliases["champ"], 1);
    assert_eq!(renamed.latest_versions[0].name, "classifier");
    assert_eq!(
        code(store.get_registered_model("clf")),
        "RESOURCE_DOES_NOT_EXIST"
    );
    let mv = store
        .get_model_version_by_alias("classifier", "champ")
        .unwrap();
    assert_eq!((mv.name.as_str(), mv.version), ("classifier", 1));
    assert!(mv.last_updated_timestamp >= renamed.last_updated_timestamp);

    store.delete_registered_model("classifier").unwrap();
    assert_eq!(
        code(store.get_model_version("classifier", 1u64)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert_eq!(
        code(store.delete_registered_model("classifier")),
        "RESOURCE_DOES_NOT_EXIST"
    );
    // A new model of that name starts again at 1, with no aliases.
    store
        .create_registered_model("classifier", &[], None)
        .unwrap();
    assert_eq!(version(&store, "classifier", "/m/x"), 1);
    assert!(
        store
            .get_registered_model("classifier")
            .unwrap()
            .aliases
            .is_empty()
    );
}

#[test]
fn version_numbers_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.create_registered_model("m", &[], None).unwrap();
    for expected in 1..=3 {
        assert_eq!(version(&store, "m", "/x"), expected);
    }
    store.set_registered_model_alias("m", "top", 3u64).unwrap();
    store.delete_model_version("m", 3u64).unwrap();
    assert_eq!(
        code(store.get_model_version("m", 3u64)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert_eq!(
        code(store.delete_model_version("m", 3u64)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert!(
        store.get_registered_model("m").unwrap().aliases.is_empty(),
        "its aliases go with a deleted version"
    );
    assert_eq!(
        code(store.get_model_version_by_alias("m", "top")),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(version(&store, "m", "/x"), 4);
    assert_eq!(
        code(store.create_model_version(NewModelVersion {
            name: "none".into(),
            source: "/x".into(),
            ..NewModelVersion::default()
        })),
        "RESOURCE_DOES_NOT_EXIST"
    );
    let versions: Vec<u64> = store
        .model_versions()
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, [1, 2, 4]);
}

#[test]
fn version_arguments_are_checked_as_mlflow_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.create_registered_model("m", &[], None).unwrap();
    version(&store, "m", "/x");
    assert_eq!(store.get_model_version("m", " 1 ").unwrap().version, 1);
    let e = store.get_model_version("m", "one").unwrap_err();
    assert_eq!(e.mlflow_error_code(), "INVALID_PARAMETER_VALUE");
    assert_eq!(
        e.to_string(),
        "Parameter 'version' must be an integer, got 'one'."
    );
    let e = store.get_model_version("m", "-1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Model Version (name=m, version=-1) not found"
    );
    assert_eq!(
        code(store.get_model_version("m", "0")),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert_eq!(
        code(store.get_model_version("a/b", "1")),
        "INVALID_PARAMETER_VALUE"
    );
}

#[test]
fn stages_and_latest_versions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.create_registered_model("m", &[], None).unwrap();
    for _ in 0..4 {
        version(&store, "m", "/x");
    }
    let before = store
        .get_registered_model("m")
        .unwrap()
        .last_updated_timestamp;
    std::thread::sleep(std::time::Duration::from_millis(3));
    let mv = store
        .transition_model_version_stage("m", 1u64, "production", false)
        .unwrap();
    assert_eq!(mv.current_stage, ModelVersionStage::Production);
    assert!(
        store
            .get_registered_model("m")
            .unwrap()
            .last_updated_timestamp
            > before
    );
    store
        .transition_model_version_stage("m", 2u64, "Staging", false)
        .unwrap();
    store
        .transition_model_version_stage("m", 3u64, "PRODUCTION", true)
        .unwrap();
    assert_eq!(
        store.get_model_version("m", 1u64).unwrap().current_stage,
        ModelVersionStage::Archived,
        "archive_existing_versions moved the old production version"
    );
    assert_eq!(
        store.get_model_version("m", 2u64).unwrap().current_stage,
        ModelVersionStage::Staging
    );
    assert_eq!(
        code(store.transition_model_version_stage("m", 4u64, "None", true)),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(
        code(store.transition_model_version_stage("m", 4u64, "prod", false)),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(
        code(store.transition_model_version_stage("m", 9u64, "Staging", false)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    let latest: Vec<(u64, ModelVersionStage)> = store
        .get_registered_model("m")
        .unwrap()
        .latest_versions
        .iter()
        .map(|v| (v.version, v.current_stage))
        .collect();
    assert_eq!(
        latest,
        [
            (1, ModelVersionStage::Archived),
            (2, ModelVersionStage::Staging),
            (3, ModelVersionStage::Production),
            (4, ModelVersionStage::None),
        ]
    );
    let production = store
        .get_latest_versions("m", &["Production".into()])
        .unwrap();
    assert_eq!(production.len(), 1);
    assert_eq!(production[0].version, 3);
    assert_eq!(store.get_latest_versions("m", &[]).unwrap().len(), 4);
    assert_eq!(
        code(store.get_latest_versions("m", &["gold".into()])),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(
        store
            .get_model_version_by_alias("m", "LATEST")
            .unwrap()
            .version,
        4
    );
    store.create_registered_model("empty", &[], None).unwrap();
    assert_eq!(
        code(store.get_model_version_by_alias("empty", "latest")),
        "RESOURCE_DOES_NOT_EXIST"
    );
}

#[test]
fn aliases_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.create_registered_model("m", &[], None).unwrap();
    version(&store, "m", "/x");
    version(&store, "m", "/y");
    store
        .set_registered_model_alias("m", "champ", 1u64)
        .unwrap();
    store.set_registered_model_alias("m", "champ", "2").unwrap();
    let mv = store.get_model_version("m", 2u64).unwrap();
    assert_eq!(mv.aliases, ["champ"]);
    assert!(
        store
            .get_model_version("m", 1u64)
            .unwrap()
            .aliases
            .is_empty()
    );
    for reserved in ["latest", "Latest", "v1", "V10"] {
        assert_eq!(
            code(store.set_registered_model_alias("m", reserved, 1u64)),
            "INVALID_PARAMETER_VALUE",
            "{reserved}"
        );
    }
    for bad in ["", "a.b", "a b", &"a".repeat(256)] {
        assert_eq!(
            code(store.set_registered_model_alias("m", bad, 1u64)),
            "INVALID_PARAMETER_VALUE"
        );
    }
    assert_eq!(
        code(store.set_registered_model_alias("m", "x", 7u64)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    store.delete_registered_model_alias("m", "champ").unwrap();
    store.delete_registered_model_alias("m", "champ").unwrap();
    assert_eq!(
        code(store.delete_registered_model_alias("nope", "champ")),
        "RESOURCE_DOES_NOT_EXIST"
    );

    store.set_registered_model_tag("m", "k", "v").unwrap();
    store.set_registered_model_tag("m", "k", "w").unwrap();
    assert_eq!(store.get_registered_model("m").unwrap().tags["k"], "w");
    store.delete_registered_model_tag("m", "k").unwrap();
    store.delete_registered_model_tag("m", "k").unwrap();
    assert_eq!(
        code(store.set_registered_model_tag("m", "", "v")),
        "INVALID_PARAMETER_VALUE"
    );
    store.set_model_version_tag("m", 1u64, "k", "v").unwrap();
    assert_eq!(store.get_model_version("m", 1u64).unwrap().tags["k"], "v");
    store.delete_model_version_tag("m", 1u64, "k").unwrap();
    store.delete_model_version_tag("m", 1u64, "k").unwrap();
    assert!(store.get_model_version("m", 1u64).unwrap().tags.is_empty());
    assert_eq!(
        code(store.set_model_version_tag("m", 5u64, "k", "v")),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert_eq!(
        code(store.set_model_version_tag("m", "x", "k", "v")),
        "INVALID_PARAMETER_VALUE"
    );
    let mv = store
        .update_model_version("m", 1u64, Some("about v1"))
        .unwrap();
    assert_eq!(mv.description.as_deref(), Some("about v1"));
}

#[test]
fn models_uri_sources_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (exp, run) = experiment_and_run(&store, "e");
    let mut new = NewLoggedModel::new(exp);
    new.source_run_id = Some(run);
    let lm = store.create_logged_model(new).unwrap();
    store
        .finalize_logged_model(&lm.model_id, LoggedModelStatus::Ready)
        .unwrap();
    store.create_registered_model("m", &[], None).unwrap();
    // What MLflow 3's `register_model` sends after `log_model`.
    let mv = store
        .create_model_version(NewModelVersion {
            name: "m".into(),
            source: format!("models:/{}", lm.model_id),
            model_id: Some(lm.model_id.clone()),
            ..NewModelVersion::default()
        })
        .unwrap();
    assert_eq!(
        mv.storage_location.as_deref(),
        Some(lm.artifact_location.as_str())
    );
    assert_eq!(mv.run_id, Some(run.to_string()));
    assert_eq!(mv.model_id.as_deref(), Some(lm.model_id.as_str()));
    assert_eq!(
        store.get_model_version_download_uri("m", 1u64).unwrap(),
        lm.artifact_location
    );
    // models:/<name>/<version> copies that version's location.
    let mv2 = store
        .create_model_version(NewModelVersion {
            name: "m".into(),
            source: "models:/m/1".into(),
            ..NewModelVersion::default()
        })
        .unwrap();
    assert_eq!(mv2.download_uri(), lm.artifact_location);
    assert_eq!(mv2.run_id, None);
    // A plain source is its own download URI.
    let mv3 = store
        .create_model_version(NewModelVersion {
            name: "m".into(),
            source: "s3://bucket/model".into(),
            model_id: Some(lm.model_id.clone()),
            ..NewModelVersion::default()
        })
        .unwrap();
    assert_eq!(mv3.download_uri(), "s3://bucket/model");
    assert_eq!(
        mv3.run_id,
        Some(run.to_string()),
        "the model_id's source run"
    );
    for bad in [
        "models:/m-nope",
        "models:/m/9",
        "models:/m@champ",
        "models:/m/Production",
        "models:/",
    ] {
        assert!(
            store
                .create_model_version(NewModelVersion {
                    name: "m".into(),
                    source: bad.into(),
                    ..NewModelVersion::default()
                })
                .is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        code(store.create_model_version(NewModelVersion {
            name: "m".into(),
            source: "/x".into(),
            model_id: Some("m-nope".into()),
            ..NewModelVersion::default()
        })),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert_eq!(
        version(&store, "m", "/next"),
        4,
        "refused versions took no number"
    );
}

#[test]
fn the_registry_survives_a_reopen_and_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store.create_registered_model("m", &[], None).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    (0..5)
                        .map(|_| version(&store, "m", "/x"))
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (1..=40).collect::<Vec<u64>>(), "every number once");
        store.set_registered_model_alias("m", "a", 40u64).unwrap();
    }
    let store = Store::open_read_only(dir.path()).unwrap();
    let rm = store.get_registered_model("m").unwrap();
    assert_eq!(rm.aliases["a"], 40);
    assert_eq!(rm.latest_versions[0].version, 40);
    assert_eq!(store.model_versions().unwrap().len(), 40);
    assert!(store.create_registered_model("n", &[], None).is_err());
}
