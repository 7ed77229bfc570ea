//! Local ids → the server's ids, learnt once and kept in the catalog.
//!
//! * An experiment is the server's experiment of the same name (or the one
//!   configured target experiment), found with `experiments/get-by-name`
//!   and created when missing.
//! * A run is created with a `runstore.run_id` tag. Before creating runs,
//!   the sender records its intent in the store (one commit per window);
//!   a run with an intent from before (a sender that died, perhaps after
//!   creating it but before recording its id) is searched for by that tag
//!   first, so no run is created twice.
//! * A run the outbox never saw created (forwarding was turned on after)
//!   is created from the store's current state of it: attributes, params,
//!   tags and inputs (not its earlier metric points).
//! * `mlflow.parentRunId` tags name the parent's id on the server.

use std::collections::{HashMap, HashSet};

use super::batch::{Pending, build_chunk, consume, request};
use super::client::Client;
use super::context::{Failure, Stop, StoreRef};
use super::remote::TAG_SOURCE_RUN_ID;
use crate::engine::{
    ExperimentId, ForwardProgress, LifecycleStage, RemoteRun, Run, RunCreated, RunDelta, RunId,
    RunStatus, TAG_PARENT_RUN_ID, TAG_RUN_NAME, TAG_USER,
};
use crate::mlflow::{CreateRun, KeyValue, LogInputs, UpdateRun, dataset_input_message};

/// How deep a chain of parent runs is followed.
const MAX_PARENT_DEPTH: usize = 32;

/// The sender's memory of the server's ids.
pub(crate) struct Resolver {
    /// The one experiment every run goes to, when configured.
    target: Option<String>,
    target_id: Option<String>,
    runs: HashMap<RunId, String>,
    experiments: HashMap<ExperimentId, String>,
    /// Runs whose intent to create this sender recorded and has not tried.
    fresh: HashSet<RunId>,
    /// Ids learnt since the last report (to be made durable by it).
    pub learnt_runs: Vec<(RunId, String)>,
    /// Likewise for experiments.
    pub learnt_experiments: Vec<(ExperimentId, String)>,
    /// Refusals while copying a run's earlier state (not parked: they are no
    /// outbox entry's); reported as the status's last error.
    pub notes: Vec<String>,
}

impl Resolver {
    /// A resolver for runs going to `target` (one experiment) or, without
    /// it, to experiments named like their own.
    pub fn new(target: Option<String>) -> Self {
        Resolver {
            target,
            target_id: None,
            runs: HashMap::new(),
            experiments: HashMap::new(),
            fresh: HashSet::new(),
            learnt_runs: Vec::new(),
            learnt_experiments: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Whether every run goes to one configured experiment.
    pub fn has_target(&self) -> bool {
        self.target.is_some()
    }

    /// The server's id of experiment `id`, if known (nothing is created).
    pub fn known_experiment(
        &mut self,
        store: &StoreRef,
        id: ExperimentId,
    ) -> Result<Option<String>, Stop> {
        if let Some(remote) = self.experiments.get(&id) {
            return Ok(Some(remote.clone()));
        }
        let remote = store.get()?.remote_experiment_id(id)?;
        if let Some(r) = &remote {
            self.experiments.insert(id, r.clone());
        }
        Ok(remote)
    }

    /// Records that experiment `id` is `remote` on the server.
    pub fn learn_experiment(&mut self, id: ExperimentId, remote: String) {
        self.experiments.insert(id, remote.clone());
        self.learnt_experiments.push((id, remote));
    }

    /// The server's id of the experiment runs of `id` go to, found or
    /// created (with the local experiment's tags) by name.
    pub fn experiment(
        &mut self,
        client: &Client,
        store: &StoreRef,
        id: ExperimentId,
    ) -> Result<String, Failure> {
        if let Some(target) = &self.target {
            if let Some(t) = &self.target_id {
                return Ok(t.clone());
            }
            let (remote, _) = client.get_or_create_experiment(target, &[])?;
            self.target_id = Some(remote.clone());
            return Ok(remote);
        }
        if let Some(remote) = self.known_experiment(store, id)? {
            return Ok(remote);
        }
        let local = store.get()?.get_experiment(id)?;
        let tags: Vec<(String, String)> = local.tags.into_iter().collect();
        let (remote, _) = client.get_or_create_experiment(&local.name, &tags)?;
        self.learn_experiment(id, remote.clone());
        Ok(remote)
    }

    /// The server's id of the experiment runs of `id` go to, if the server
    /// has it (nothing is created).
    fn existing_experiment(
        &mut self,
        client: &Client,
        store: &StoreRef,
        id: ExperimentId,
    ) -> Result<Option<String>, Failure> {
        if let Some(target) = &self.target {
            if let Some(t) = &self.target_id {
                return Ok(Some(t.clone()));
            }
            let found = client.experiment_by_name(target)?.map(|e| e.experiment_id);
            self.target_id.clone_from(&found);
            return Ok(found);
        }
        if let Some(remote) = self.known_experiment(store, id)? {
            return Ok(Some(remote));
        }
        let name = store.get()?.get_experiment(id)?.name;
        let found = client.experiment_by_name(&name)?.map(|e| e.experiment_id);
        if let Some(remote) = &found {
            self.learn_experiment(id, remote.clone());
        }
        Ok(found)
    }

    /// The server's id of run `run`, if known or found by its tag (nothing
    /// is created).
    pub fn find_run(
        &mut self,
        client: &Client,
        store: &StoreRef,
        run: RunId,
        experiment: ExperimentId,
    ) -> Result<Option<String>, Failure> {
        if let Some(remote) = self.runs.get(&run) {
            return Ok(Some(remote.clone()));
        }
        match store.get()?.remote_run(run)? {
            RemoteRun::Known(remote) => {
                self.runs.insert(run, remote.clone());
                return Ok(Some(remote));
            }
            // This sender recorded the intent and has not tried yet: no copy.
            RemoteRun::Intended if self.fresh.contains(&run) => return Ok(None),
            RemoteRun::Intended | RemoteRun::Unknown => {}
        }
        // No experiment there, no run there: nothing is created to find out.
        let Some(exp) = self.existing_experiment(client, store, experiment)? else {
            return Ok(None);
        };
        let found = client.find_run(&exp, run)?;
        if let Some(remote) = &found {
            self.learn_run(run, remote.clone());
        }
        Ok(found)
    }

    /// Records, in one commit, the intent to create those of `runs` the
    /// store knows nothing of: until they are tried, this sender knows
    /// there is no copy to search for (one call less per new run); after a
    /// crash, the next sender sees the intent and searches first.
    pub fn intend(&mut self, store: &StoreRef, runs: &[RunId]) -> Result<(), Stop> {
        let store = store.get()?;
        let mut intents = Vec::new();
        for &run in runs {
            if self.runs.contains_key(&run) || self.fresh.contains(&run) {
                continue;
            }
            match store.remote_run(run)? {
                RemoteRun::Unknown => intents.push(run),
                RemoteRun::Known(remote) => {
                    self.runs.insert(run, remote);
                }
                RemoteRun::Intended => {}
            }
        }
        if !intents.is_empty() {
            store.forward_progress(ForwardProgress {
                intents: intents.clone(),
                ..ForwardProgress::default()
            })?;
            self.fresh.extend(intents);
        }
        Ok(())
    }

    fn learn_run(&mut self, run: RunId, remote: String) {
        self.runs.insert(run, remote.clone());
        self.learnt_runs.push((run, remote));
    }

    /// The server's id of run `run`, creating the run when the server has
    /// none: from `created` when the outbox recorded its creation, else
    /// from the store's current state of it.
    pub fn run(
        &mut self,
        client: &Client,
        store: &StoreRef,
        run: RunId,
        experiment: ExperimentId,
        created: Option<&RunCreated>,
    ) -> Result<String, Failure> {
        self.run_at_depth(client, store, run, experiment, created, 0)
    }

    fn run_at_depth(
        &mut self,
        client: &Client,
        store: &StoreRef,
        run: RunId,
        experiment: ExperimentId,
        created: Option<&RunCreated>,
        depth: usize,
    ) -> Result<String, Failure> {
        if let Some(remote) = self.find_run(client, store, run, experiment)? {
            return Ok(remote);
        }
        let exp = self.experiment(client, store, experiment)?;
        let local = match created {
            Some(_) => None,
            None => Some(store.get()?.get_run(run)?),
        };
        let (start_time, run_name, user) = match (created, &local) {
            (Some(c), _) => (c.start_time, c.run_name.clone(), c.user.clone()),
            (None, Some(r)) => (r.start_time, r.run_name.clone(), r.user.clone()),
            (None, None) => {
                return Err(Failure::Refused(format!(
                    "run {run} has no creation record"
                )));
            }
        };
        let mut tags = vec![KeyValue {
            key: TAG_SOURCE_RUN_ID.into(),
            value: run.to_string(),
        }];
        if !user.is_empty() {
            tags.push(KeyValue {
                key: TAG_USER.into(),
                value: user.clone(),
            });
        }
        let request = CreateRun {
            experiment_id: Some(exp),
            user_id: Some(user).filter(|u| !u.is_empty()),
            run_name: Some(run_name).filter(|n| !n.is_empty()),
            start_time: Some(start_time),
            tags,
        };
        // Tried from now on: if the answer is lost, the copy may exist.
        self.fresh.remove(&run);
        let remote = client.create_run(&request)?;
        self.learn_run(run, remote.clone());
        if let Some(local) = local {
            self.copy_state(client, store, &remote, &local, depth)?;
        }
        Ok(remote)
    }

    /// Copies a run's current params, tags, inputs, status and lifecycle
    /// onto its new copy on the server.
    fn copy_state(
        &mut self,
        client: &Client,
        store: &StoreRef,
        remote: &str,
        local: &Run,
        depth: usize,
    ) -> Result<(), Failure> {
        let mut delta = RunDelta::new(local.run_id, local.experiment_id);
        delta.params = local.params.clone().into_iter().collect();
        delta.tags = local
            .tags
            .iter()
            .filter(|(k, _)| k.as_str() != TAG_RUN_NAME && k.as_str() != TAG_USER)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.translate_parent_at(client, store, &mut delta.tags, depth)?;
        let mut pending = vec![Pending::new(0, 0, delta)];
        let note =
            |r: &mut Resolver, what: &str, e: super::client::CallError| -> Result<(), Failure> {
                match Failure::from(e) {
                    Failure::Refused(why) => {
                        r.notes
                            .push(format!("copying run {} ({what}): {why}", local.run_id));
                        Ok(())
                    }
                    stop => Err(stop),
                }
            };
        while pending[0].has_batch_content() {
            let chunk = build_chunk(&pending, 0);
            let call = request(remote, chunk.items.iter().map(|(_, i)| i));
            if let Err(e) = client.log_batch(&call) {
                note(self, "params and tags", e)?;
            }
            consume(&mut pending, &chunk.taken);
        }
        for input in &local.inputs {
            let call = LogInputs {
                run_id: remote.to_owned(),
                datasets: vec![dataset_input_message(input)],
                models: Vec::new(),
            };
            if let Err(e) = client.log_inputs(&call) {
                note(self, "inputs", e)?;
            }
        }
        if local.status != RunStatus::Running || local.end_time.is_some() {
            let call = UpdateRun {
                run_id: Some(remote.to_owned()),
                status: Some(local.status.as_str().to_owned()),
                end_time: local.end_time,
                ..UpdateRun::default()
            };
            if let Err(e) = client.update_run(&call) {
                note(self, "status", e)?;
            }
        }
        if local.lifecycle_stage == LifecycleStage::Deleted
            && let Err(e) = client.set_run_deleted(remote, true)
        {
            note(self, "delete", e)?;
        }
        Ok(())
    }

    /// Rewrites `mlflow.parentRunId` tags naming a run of this store to
    /// name the parent's copy on the server (created if needed).
    pub fn translate_parent(
        &mut self,
        client: &Client,
        store: &StoreRef,
        tags: &mut [(String, String)],
    ) -> Result<(), Failure> {
        self.translate_parent_at(client, store, tags, 0)
    }

    fn translate_parent_at(
        &mut self,
        client: &Client,
        store: &StoreRef,
        tags: &mut [(String, String)],
        depth: usize,
    ) -> Result<(), Failure> {
        for (key, value) in tags.iter_mut() {
            if key != TAG_PARENT_RUN_ID || depth >= MAX_PARENT_DEPTH {
                continue;
            }
            let Ok(parent) = value.parse::<RunId>() else {
                continue;
            };
            let local = store.get()?;
            if !local.run_exists(parent)? {
                continue;
            }
            let parent_experiment = local.get_run(parent)?.experiment_id;
            drop(local);
            match self.run_at_depth(client, store, parent, parent_experiment, None, depth + 1) {
                Ok(remote) => *value = remote,
                // The parent cannot be copied: the tag keeps the local id.
                Err(Failure::Refused(why)) => self
                    .notes
                    .push(format!("parent run {parent} could not be forwarded: {why}")),
                Err(stop) => return Err(stop),
            }
        }
        Ok(())
    }
}
