//! MLflow conformance of logged models and the model registry: the script
//! in `tests/data/registry/cases.json` (made by
//! `tools/registry_oracle/gen_registry_cases.py`, which ran it on MLflow's
//! SQL stores) replayed on runstore, outcome for outcome: results, page
//! counts, error codes. Where MLflow crashed (its code is then
//! `INTERNAL_ERROR`) runstore must refuse the input too.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

use runstore::search::{
    DatasetFilter, LoggedModelOrder, LoggedModelSearch, ModelVersionSearch, RegisteredModelSearch,
    search_logged_models, search_model_versions, search_registered_models,
};
use runstore::{
    ExperimentId, LoggedModelStatus, MetricBatch, MetricPoint, ModelMetricInput, ModelVersion,
    NewLoggedModel, NewModelVersion, NewRun, RunId, Store,
};
use serde_json::{Value, json};

/// The ids behind the script's refs.
#[derive(Default)]
struct Refs {
    ids: BTreeMap<String, String>,
    locations: BTreeMap<String, String>,
}

impl Refs {
    fn get(&self, r: &Value) -> String {
        self.ids[r.as_str().unwrap()].clone()
    }

    /// `{run:r1}` / `{model:A}` replaced by ids.
    fn sub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (r, id) in &self.ids {
            out = out
                .replace(&format!("{{run:{r}}}"), id)
                .replace(&format!("{{model:{r}}}"), id);
        }
        out
    }

    /// Ids written back as refs.
    fn unsub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (r, id) in &self.ids {
            if r.starts_with('r') && id.len() == 32 {
                out = out.replace(id, &format!("{{run:{r}}}"));
            } else if id.starts_with("m-") {
                out = out.replace(id, &format!("{{model:{r}}}"));
            }
        }
        out
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn opt(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), s(v))).collect())
        .unwrap_or_default()
}

fn version_out(refs: &Refs, mv: &ModelVersion) -> Value {
    json!({
        "name": mv.name,
        "version": mv.version,
        "stage": mv.current_stage.as_str(),
        "description": mv.description,
        "source": refs.unsub(&mv.source),
        "run_id": mv.run_id.as_deref().map(|r| refs.unsub(r)),
        "tags": mv.tags,
        "aliases": mv.aliases,
    })
}

type Outcome = Result<Value, runstore::Error>;

fn run_op(store: &Store, refs: &mut Refs, op: &Value) -> Outcome {
    let name = || s(&op["name"]);
    let version = || s(&op["version"]);
    Ok(match op["op"].as_str().unwrap() {
        "create_experiment" => {
            let id = store.create_experiment(&name(), None, &[])?;
            refs.ids.insert(s(&op["ref"]), id.to_string());
            Value::Null
        }
        "create_run" => {
            let exp = ExperimentId(refs.get(&op["experiment"]).parse().unwrap());
            let run = store.create_run(exp, NewRun::default())?;
            refs.ids.insert(s(&op["ref"]), run.run_id.to_string());
            Value::Null
        }
        "create_lm" => {
            let mut new =
                NewLoggedModel::new(ExperimentId(refs.get(&op["experiment"]).parse().unwrap()));
            new.name = opt(&op["name"]);
            new.model_type = opt(&op["model_type"]);
            new.params = pairs(&op["params"]);
            new.tags = pairs(&op["tags"]);
            new.source_run_id = op["source_run"]
                .as_str()
                .map(|r| refs.ids[r].parse::<RunId>().unwrap());
            let lm = store.create_logged_model(new)?;
            refs.ids.insert(s(&op["ref"]), lm.model_id.clone());
            refs.locations
                .insert(s(&op["ref"]), lm.artifact_location.clone());
            json!({"name": lm.name, "status": lm.status.as_str()})
        }
        "finalize_lm" => {
            let status: LoggedModelStatus = s(&op["status"]).parse()?;
            let lm = store.finalize_logged_model(&refs.get(&op["ref"]), status)?;
            json!({"status": lm.status.as_str()})
        }
        "delete_lm" => {
            store.delete_logged_model(&refs.get(&op["ref"]))?;
            Value::Null
        }
        "get_lm" => {
            let lm = store.get_logged_model(&refs.get(&op["ref"]))?;
            let mut metrics: Vec<Value> = lm
                .metrics
                .iter()
                .map(|m| {
                    json!([
                        m.key,
                        m.value,
                        m.timestamp,
                        m.step,
                        m.dataset_name,
                        m.dataset_digest
                    ])
                })
                .collect();
            // Python's order of the lists: key, then value, timestamp, step.
            metrics.sort_by(|a, b| {
                let key = |v: &Value| (s(&v[0]), v[1].as_f64(), v[2].as_i64(), v[3].as_i64());
                key(a)
                    .partial_cmp(&key(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            json!({
                "name": lm.name,
                "status": lm.status.as_str(),
                "model_type": lm.model_type,
                "params": lm.params,
                "tags": lm.tags,
                "metrics": metrics,
                "source_run": lm.source_run_id.map(|r| refs.unsub(&r.to_string())),
            })
        }
        "set_lm_tags" => {
            store.set_logged_model_tags(&refs.get(&op["ref"]), &pairs(&op["tags"]))?;
            Value::Null
        }
        "delete_lm_tag" => {
            store.delete_logged_model_tag(&refs.get(&op["ref"]), &s(&op["key"]))?;
            Value::Null
        }
        "log_lm_params" => {
            store.log_logged_model_params(&refs.get(&op["ref"]), &pairs(&op["params"]))?;
            Value::Null
        }
        "log_metric" => {
            let run: RunId = refs.get(&op["run"]).parse()?;
            let point = MetricPoint {
                step: op["step"].as_i64().unwrap(),
                value: op["value"].as_f64().unwrap(),
                timestamp: op["timestamp"].as_i64().unwrap(),
            };
            let key = s(&op["key"]);
            let model = op["model"].as_str().map(|m| ModelMetricInput {
                model_id: refs.ids[m].clone(),
                key: key.clone(),
                point,
                dataset_name: opt(&op["dataset_name"]),
                dataset_digest: opt(&op["dataset_digest"]),
            });
            let batch = MetricBatch {
                metrics: vec![(key, point)],
                ..MetricBatch::default()
            };
            store.log_batch_linked(run, batch, model.into_iter().collect())?;
            Value::Null
        }
        "search_lm" => search_lm(store, refs, op)?,
        "create_rm" => {
            let rm = store.create_registered_model(
                &name(),
                &pairs(&op["tags"]),
                op["description"].as_str(),
            )?;
            json!({"name": rm.name})
        }
        "create_mv" => {
            let mut new = NewModelVersion {
                name: name(),
                source: s(&op["source"]),
                run_id: op["run_id"].as_str().map(|r| refs.sub(r)),
                tags: pairs(&op["tags"]),
                description: opt(&op["description"]),
                ..NewModelVersion::default()
            };
            if let Some(r) = op["model_ref"].as_str() {
                let id = refs.ids[r].clone();
                new.source = format!("models:/{id}");
                new.model_id = Some(id);
            }
            version_out(refs, &store.create_model_version(new)?)
        }
        "download_uri" => {
            let uri = store.get_model_version_download_uri(&name(), version())?;
            match refs.locations.iter().find(|(_, loc)| **loc == uri) {
                Some((r, _)) => json!({"artifact_location_of": r}),
                None => json!(uri),
            }
        }
        "get_mv" => version_out(refs, &store.get_model_version(&name(), version())?),
        "transition" => {
            let archive = op["archive"].as_bool().unwrap_or(false);
            let mv = store.transition_model_version_stage(
                &name(),
                version(),
                &s(&op["stage"]),
                archive,
            )?;
            version_out(refs, &mv)
        }
        "get_latest" => {
            let stages: Vec<String> = op["stages"].as_array().unwrap().iter().map(s).collect();
            let mvs = store.get_latest_versions(&name(), &stages)?;
            Value::Array(mvs.iter().map(|mv| version_out(refs, mv)).collect())
        }
        "set_alias" => {
            store.set_registered_model_alias(&name(), &s(&op["alias"]), version())?;
            Value::Null
        }
        "delete_alias" => {
            store.delete_registered_model_alias(&name(), &s(&op["alias"]))?;
            Value::Null
        }
        "by_alias" => version_out(
            refs,
            &store.get_model_version_by_alias(&name(), &s(&op["alias"]))?,
        ),
        "get_rm" => {
            let rm = store.get_registered_model(&name())?;
            let latest: Vec<Value> = rm
                .latest_versions
                .iter()
                .map(|mv| json!([mv.version, mv.current_stage.as_str()]))
                .collect();
            json!({
                "name": rm.name,
                "description": rm.description,
                "tags": rm.tags,
                "aliases": rm.aliases,
                "latest": latest,
            })
        }
        "delete_mv" => {
            store.delete_model_version(&name(), version())?;
            Value::Null
        }
        "rename_rm" => {
            json!({"name": store.rename_registered_model(&name(), &s(&op["new_name"]))?.name})
        }
        "update_rm" => {
            let rm = store.update_registered_model(&name(), op["description"].as_str())?;
            json!({"description": rm.description})
        }
        "update_mv" => version_out(
            refs,
            &store.update_model_version(&name(), version(), op["description"].as_str())?,
        ),
        "delete_rm" => {
            store.delete_registered_model(&name())?;
            Value::Null
        }
        "set_rm_tag" => {
            store.set_registered_model_tag(&name(), &s(&op["key"]), &s(&op["value"]))?;
            Value::Null
        }
        "delete_rm_tag" => {
            store.delete_registered_model_tag(&name(), &s(&op["key"]))?;
            Value::Null
        }
        "set_mv_tag" => {
            store.set_model_version_tag(&name(), version(), &s(&op["key"]), &s(&op["value"]))?;
            Value::Null
        }
        "delete_mv_tag" => {
            store.delete_model_version_tag(&name(), version(), &s(&op["key"]))?;
            Value::Null
        }
        "search_rm" => search_registry(store, refs, op, true)?,
        "search_mv" => search_registry(store, refs, op, false)?,
        other => panic!("unknown op {other}"),
    })
}

fn search_lm(store: &Store, refs: &Refs, op: &Value) -> Outcome {
    let mut request = LoggedModelSearch {
        experiment_ids: op["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| refs.get(e))
            .collect(),
        filter: op["filter"].as_str().map(|f| refs.sub(f)),
        datasets: op["datasets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| DatasetFilter {
                        dataset_name: s(&d["dataset_name"]),
                        dataset_digest: opt(&d["dataset_digest"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        max_results: op["max_results"].as_u64().map(|m| m as usize),
        order_by: op["order_by"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| LoggedModelOrder {
                        field_name: s(&o["field_name"]),
                        ascending: o["ascending"].as_bool().unwrap_or(true),
                        dataset_name: opt(&o["dataset_name"]),
                        dataset_digest: opt(&o["dataset_digest"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        page_token: None,
    };
    let (mut models, mut pages) = (Vec::new(), 0);
    loop {
        let page = search_logged_models(store, &request)?;
        pages += 1;
        models.extend(page.models.iter().map(|m| refs.unsub(&m.model_id)));
        match page.next_page_token {
            Some(t) => request.page_token = Some(t),
            None => return Ok(json!({"models": models, "pages": pages})),
        }
    }
}

fn search_registry(store: &Store, refs: &Refs, op: &Value, models: bool) -> Outcome {
    let filter = refs.sub(&s(&op["filter"]));
    let order_by: Vec<String> = op["order_by"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    let max = op["max_results"].as_u64().map(|m| m as usize);
    let (mut items, mut pages, mut token) = (Vec::new(), 0, None);
    loop {
        let next = if models {
            let mut req = RegisteredModelSearch {
                filter: filter.clone(),
                order_by: order_by.clone(),
                page_token: token.clone(),
                ..RegisteredModelSearch::default()
            };
            req.max_results = max.unwrap_or(req.max_results);
            let page = search_registered_models(store, &req)?;
            items.extend(page.registered_models.iter().map(|m| json!(m.name)));
            page.next_page_token
        } else {
            let mut req = ModelVersionSearch {
                filter: filter.clone(),
                order_by: order_by.clone(),
                page_token: token.clone(),
                ..ModelVersionSearch::default()
            };
            req.max_results = max.unwrap_or(req.max_results);
            let page = search_model_versions(store, &req)?;
            items.extend(
                page.model_versions
                    .iter()
                    .map(|v| json!([v.name, v.version])),
            );
            page.next_page_token
        };
        pages += 1;
        match next {
            Some(t) => token = Some(t),
            None => return Ok(json!({"items": items, "pages": pages})),
        }
    }
}

/// Whether `ours` is the outcome `case` recorded; why not otherwise.
fn check(case: &Value, ours: &Outcome) -> Option<String> {
    match (case.get("error").and_then(Value::as_str), ours) {
        (Some(code), Err(e)) => {
            let ours = e.mlflow_error_code();
            (code != "INTERNAL_ERROR" && ours != code)
                .then(|| format!("MLflow's error is {code}, ours {ours}: {e}"))
        }
        (Some(code), Ok(v)) => Some(format!("MLflow refused it ({code}), we answered {v}")),
        (None, Err(e)) => Some(format!("MLflow answered {}, we refused: {e}", case["ok"])),
        (None, Ok(v)) => {
            (*v != case["ok"]).then(|| format!("MLflow: {}\n  ours:   {v}", case["ok"]))
        }
    }
}

#[test]
fn registry_and_logged_models_answer_as_mlflow() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/registry/cases.json");
    let doc: Value = serde_json::from_reader(BufReader::new(File::open(path).unwrap())).unwrap();
    let ops = doc["ops"].as_array().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut refs = Refs::default();
    let mut failures = Vec::new();
    for (i, case) in ops.iter().enumerate() {
        let ours = run_op(&store, &mut refs, case);
        if let Some(why) = check(case, &ours) {
            failures.push(format!("#{i} {case}\n  {why}"));
        }
        // Each operation gets its own millisecond, as in the generator.
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        failures.is_empty(),
        "{} of {} operations differ from MLflow:\n{}",
        failures.len(),
        ops.len(),
        failures.join("\n")
    );
}
