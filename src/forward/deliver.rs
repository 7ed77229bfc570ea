//! Delivering a window of the outbox (its oldest entries, in order).
//!
//! The window is cut at experiment operations, which are delivered in their
//! place; between them, entries are grouped by run (each run's in order)
//! and each run's group is delivered as coalesced calls ([`super::batch`]).
//! A call the server refuses for good is narrowed down (by halves) to the
//! params, tags or points it refuses, which are parked with the server's
//! message; the rest is delivered. A call that cannot be made now stops the
//! window: what was done so far is reported, the rest is tried again later.
//! What was done is reported to the store in one commit per run group, at
//! most once a second, and at the end of the window.

use std::time::{Duration, Instant};

use std::collections::HashMap;

use super::batch::{Chunk, Item, Pending, Settled, build_chunk, consume, request};
use super::client::{CallError, Client};
use super::context::{Failure, Stop, StoreRef};
use super::resolve::Resolver;
use crate::engine::{
    ExperimentOp, ForwardProgress, LifecycleStage, OutboxEntry, OutboxItem, RunDelta, RunId,
};
use crate::mlflow::{LogInputs, UpdateRun, dataset_input_message};

/// Least time between two reports within a window.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// One window's delivery.
pub(crate) struct Delivery<'a> {
    client: &'a Client,
    store: &'a StoreRef,
    resolver: &'a mut Resolver,
    progress: ForwardProgress,
    last_report: Instant,
}

impl<'a> Delivery<'a> {
    /// A delivery through `client` for `store`.
    pub fn new(client: &'a Client, store: &'a StoreRef, resolver: &'a mut Resolver) -> Self {
        Delivery {
            client,
            store,
            resolver,
            progress: ForwardProgress::default(),
            last_report: Instant::now(),
        }
    }

    /// Delivers `items` and reports what was done (also when it stops early).
    pub fn window(mut self, items: Vec<OutboxItem>) -> Result<(), Stop> {
        let outcome = self.deliver(items);
        let reported = self.report();
        outcome.and(reported)
    }

    fn deliver(&mut self, items: Vec<OutboxItem>) -> Result<(), Stop> {
        let new_runs: Vec<RunId> = items
            .iter()
            .filter_map(|i| match &i.entry {
                OutboxEntry::Run(d) if d.created.is_some() => Some(d.run_id),
                _ => None,
            })
            .collect();
        self.resolver.intend(self.store, &new_runs)?;
        let mut groups: Vec<(RunId, Vec<Pending>)> = Vec::new();
        let mut index: HashMap<RunId, usize> = HashMap::new();
        for item in items {
            match item.entry {
                OutboxEntry::Run(delta) => {
                    let run = delta.run_id;
                    let pending = Pending::new(item.seq, item.recorded_ms, delta);
                    match index.get(&run) {
                        Some(&i) => groups[i].1.push(pending),
                        None => {
                            index.insert(run, groups.len());
                            groups.push((run, vec![pending]));
                        }
                    }
                }
                OutboxEntry::Experiment(op) => {
                    self.run_groups(std::mem::take(&mut groups))?;
                    index.clear();
                    self.experiment_op(item.seq, item.recorded_ms, op)?;
                }
            }
        }
        self.run_groups(groups)
    }

    fn run_groups(&mut self, groups: Vec<(RunId, Vec<Pending>)>) -> Result<(), Stop> {
        for (_, mut pending) in groups {
            let outcome = self.run_steps(&mut pending);
            for p in pending {
                let (parked, settled) = p.settle();
                if let Some(parked) = parked {
                    self.progress.parked.push(parked);
                }
                match settled {
                    Settled::Done(seq) => self.progress.done.push(seq),
                    Settled::Rest(rest) => self.progress.remainders.push(*rest),
                    Settled::Untouched => {}
                }
            }
            outcome?;
            if self.last_report.elapsed() >= REPORT_EVERY {
                self.report()?;
            }
        }
        Ok(())
    }

    /// Delivers one run's entries, in order.
    fn run_steps(&mut self, pending: &mut [Pending]) -> Result<(), Stop> {
        let Some(first) = pending.first() else {
            return Ok(());
        };
        let (run, experiment) = (first.delta.run_id, first.delta.experiment);
        let created = pending.iter().find_map(|p| p.delta.created.clone());
        let resolved = match &created {
            Some(c) => self
                .resolver
                .run(self.client, self.store, run, experiment, Some(c))
                .map(Some),
            None => match self
                .resolver
                .find_run(self.client, self.store, run, experiment)
            {
                // The server never had the run, and these entries only remove
                // things from it: there is nothing to do there.
                Ok(None) if pending.iter().all(|p| only_removes(&p.delta)) => Ok(None),
                Ok(None) => self
                    .resolver
                    .run(self.client, self.store, run, experiment, None)
                    .map(Some),
                other => other,
            },
        };
        let remote = match resolved {
            Ok(Some(remote)) => remote,
            Ok(None) => {
                for p in pending.iter_mut() {
                    p.delta = RunDelta::new(run, experiment);
                    p.touched = true;
                }
                return Ok(());
            }
            Err(Failure::Refused(why)) => {
                let reason = format!("the server refused run {run}: {why}");
                for p in pending.iter_mut() {
                    p.park_all(&reason);
                }
                return Ok(());
            }
            Err(Failure::Stop(stop)) => return Err(stop),
        };
        for p in pending.iter_mut() {
            if p.delta.created.take().is_some() {
                p.touched = true;
            }
            match self
                .resolver
                .translate_parent(self.client, self.store, &mut p.delta.tags)
            {
                Ok(()) | Err(Failure::Refused(_)) => {}
                Err(Failure::Stop(stop)) => return Err(stop),
            }
        }
        let mut i = 0;
        while i < pending.len() {
            self.pre_steps(&remote, &mut pending[i])?;
            if pending[i].has_batch_content() {
                let chunk = build_chunk(pending, i);
                if chunk.taken.is_empty() {
                    // Cannot happen (a call takes at least one item); never loop on it.
                    pending[i].park_all("runstore could not fit this entry into a log-batch call");
                    continue;
                }
                self.send_chunk(&remote, pending, chunk)?;
                continue;
            }
            self.post_steps(&remote, &mut pending[i])?;
            i += 1;
        }
        Ok(())
    }

    /// A restore, then tag deletions.
    fn pre_steps(&mut self, remote: &str, p: &mut Pending) -> Result<(), Stop> {
        if p.delta.lifecycle == Some(LifecycleStage::Active) {
            let outcome = self.client.set_run_deleted(remote, false);
            settle_step(p, outcome, |d| d.lifecycle = Some(LifecycleStage::Active))?;
            p.delta.lifecycle = None;
        }
        while let Some(key) = p.delta.deleted_tags.first().cloned() {
            let outcome = self.client.delete_tag(remote, &key);
            settle_step(p, outcome, |d| d.deleted_tags.push(key))?;
            p.delta.deleted_tags.remove(0);
        }
        Ok(())
    }

    /// Inputs, the update, then a delete.
    fn post_steps(&mut self, remote: &str, p: &mut Pending) -> Result<(), Stop> {
        while let Some(input) = p.delta.inputs.first().cloned() {
            let call = LogInputs {
                run_id: remote.to_owned(),
                datasets: vec![dataset_input_message(&input)],
                models: Vec::new(),
            };
            let outcome = self.client.log_inputs(&call);
            settle_step(p, outcome, |d| d.inputs.push(input))?;
            p.delta.inputs.remove(0);
        }
        let d = &p.delta;
        if d.status.is_some() || d.end_time.is_some() || d.run_name.is_some() {
            let call = UpdateRun {
                run_id: Some(remote.to_owned()),
                status: d.status.map(|s| s.as_str().to_owned()),
                end_time: d.end_time,
                run_name: d.run_name.clone(),
                ..UpdateRun::default()
            };
            let (status, end_time, run_name) = (d.status, d.end_time, d.run_name.clone());
            let outcome = self.client.update_run(&call);
            settle_step(p, outcome, |d| {
                (d.status, d.end_time, d.run_name) = (status, end_time, run_name);
            })?;
            (p.delta.status, p.delta.end_time, p.delta.run_name) = (None, None, None);
        }
        if p.delta.lifecycle == Some(LifecycleStage::Deleted) {
            let outcome = self.client.set_run_deleted(remote, true);
            settle_step(p, outcome, |d| d.lifecycle = Some(LifecycleStage::Deleted))?;
            p.delta.lifecycle = None;
        }
        Ok(())
    }

    /// Sends one coalesced call, parking what the server refuses.
    fn send_chunk(
        &mut self,
        remote: &str,
        pending: &mut [Pending],
        chunk: Chunk,
    ) -> Result<(), Stop> {
        let refused = self.send_items(remote, &chunk.items, false)?;
        let points = chunk
            .items
            .iter()
            .filter(|(_, i)| matches!(i, Item::Point(..)))
            .count()
            - refused
                .iter()
                .filter(|(_, i, _)| matches!(i, Item::Point(..)))
                .count();
        self.progress.points += points as u64;
        for (entry, item, why) in refused {
            if let Some(p) = pending.get_mut(entry) {
                let part = item.into_delta(&p.delta);
                p.park(part, &why);
            }
        }
        consume(pending, &chunk.taken);
        Ok(())
    }

    /// Sends `items` as one call; when refused, finds the items at fault
    /// by halves. Returns the refused items with the server's reasons.
    fn send_items(
        &mut self,
        remote: &str,
        items: &[(usize, Item)],
        probed: bool,
    ) -> Result<Vec<(usize, Item, String)>, Stop> {
        let refusal = match self
            .client
            .log_batch(&request(remote, items.iter().map(|(_, i)| i)))
        {
            Ok(()) => return Ok(Vec::new()),
            Err(CallError::Unavailable(why)) => return Err(Stop::Unavailable(why)),
            Err(refused) => refused.to_string(),
        };
        let all = |why: &str| -> Vec<(usize, Item, String)> {
            items
                .iter()
                .map(|(e, i)| (*e, i.clone(), why.to_owned()))
                .collect()
        };
        if items.len() <= 1 {
            return Ok(all(&refusal));
        }
        if !probed {
            // Is it the run the server refuses (deleted or gone there), not
            // an item? An empty call tells: then every item is refused.
            match self.client.log_batch(&request(remote, [])) {
                Ok(()) => {}
                Err(CallError::Unavailable(why)) => return Err(Stop::Unavailable(why)),
                Err(refused) => return Ok(all(&refused.to_string())),
            }
        }
        let (left, right) = items.split_at(items.len() / 2);
        let mut refused = self.send_items(remote, left, true)?;
        refused.extend(self.send_items(remote, right, true)?);
        Ok(refused)
    }

    /// Delivers one experiment operation (nothing to do when every run goes
    /// to one configured experiment, or for an experiment the server never
    /// got).
    fn experiment_op(&mut self, seq: u64, recorded_ms: i64, op: ExperimentOp) -> Result<(), Stop> {
        let outcome = if self.resolver.has_target() {
            Ok(())
        } else {
            self.apply_experiment_op(&op)
        };
        match outcome {
            Ok(()) => {}
            Err(Failure::Refused(why)) => {
                let item = OutboxItem {
                    seq,
                    recorded_ms,
                    entry: OutboxEntry::Experiment(op),
                };
                self.progress.parked.push((item, why));
            }
            Err(Failure::Stop(stop)) => return Err(stop),
        }
        self.progress.done.push(seq);
        Ok(())
    }

    fn apply_experiment_op(&mut self, op: &ExperimentOp) -> Result<(), Failure> {
        let (client, store) = (self.client, self.store);
        let id = op.experiment();
        match op {
            ExperimentOp::Created { name, tags, .. } => {
                let (remote, created) = client.get_or_create_experiment(name, tags)?;
                if !created {
                    for (key, value) in tags {
                        client.set_experiment_tag(&remote, key, value)?;
                    }
                }
                self.resolver.learn_experiment(id, remote);
            }
            ExperimentOp::Renamed { name, .. } => {
                if let Some(remote) = self.resolver.known_experiment(store, id)? {
                    client.rename_experiment(&remote, name)?;
                }
            }
            ExperimentOp::Deleted { .. } | ExperimentOp::Restored { .. } => {
                if let Some(remote) = self.resolver.known_experiment(store, id)? {
                    let deleted = matches!(op, ExperimentOp::Deleted { .. });
                    client.set_experiment_deleted(&remote, deleted)?;
                }
            }
            ExperimentOp::TagSet { key, value, .. } => {
                let remote = self.resolver.experiment(client, store, id)?;
                client.set_experiment_tag(&remote, key, value)?;
            }
            ExperimentOp::TagDeleted { key, .. } => {
                if let Some(remote) = self.resolver.known_experiment(store, id)? {
                    client.delete_experiment_tag(&remote, key)?;
                }
            }
        }
        Ok(())
    }

    /// Commits what was done so far (and the ids learnt) to the store.
    fn report(&mut self) -> Result<(), Stop> {
        self.last_report = Instant::now();
        let mut progress = std::mem::take(&mut self.progress);
        progress.runs = std::mem::take(&mut self.resolver.learnt_runs);
        progress.experiments = std::mem::take(&mut self.resolver.learnt_experiments);
        if !self.resolver.notes.is_empty() {
            progress.error = Some(std::mem::take(&mut self.resolver.notes).join("; "));
        }
        if progress.is_empty() {
            return Ok(());
        }
        self.store.get()?.forward_progress(progress)?;
        Ok(())
    }
}

/// Whether a delta only deletes or removes (nothing to do on a server that
/// never had the run).
fn only_removes(d: &RunDelta) -> bool {
    d.created.is_none()
        && d.params.is_empty()
        && d.tags.is_empty()
        && d.metrics.iter().all(|(_, p)| p.is_empty())
        && d.inputs.is_empty()
        && d.status.is_none()
        && d.end_time.is_none()
        && d.run_name.is_none()
        && d.lifecycle != Some(LifecycleStage::Active)
}

/// What a one-call step's outcome means for its entry: done, parked (the
/// part `part` fills in, with the server's reason) or a stop.
fn settle_step(
    p: &mut Pending,
    outcome: Result<(), CallError>,
    part: impl FnOnce(&mut RunDelta),
) -> Result<(), Stop> {
    match outcome {
        Ok(()) => {
            p.touched = true;
            Ok(())
        }
        Err(CallError::Unavailable(why)) => Err(Stop::Unavailable(why)),
        Err(refused) => {
            let mut d = RunDelta::new(p.delta.run_id, p.delta.experiment);
            part(&mut d);
            p.park(d, &refused.to_string());
            Ok(())
        }
    }
}
