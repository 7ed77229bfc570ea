//! Recording a batch in the forwarding outbox, inside its own transaction
//! (forwarding on only): one entry per experiment operation, then one per
//! changed run — the difference between the run's row before and after the
//! batch, plus the metric points the batch stores.

use foldhash::HashMap;

use redb::WriteTransaction;

use super::{Touched, WriteBatch};
use crate::catalog::dict::{Dict, DictTables};
use crate::catalog::rows::RunRow;
use crate::catalog::{META, OUTBOX, forward};
use crate::error::{Error, Result};
use crate::metric::MetricPoint;
use crate::outbox::{ExperimentOp, OutboxEntry, RunCreated, RunDelta, encode_entry};
use crate::segment::PointColumns;
use crate::store::now_ms;
use crate::types::{ExperimentId, LifecycleStage, RunId, RunStatus, TAG_USER};

impl WriteBatch<'_> {
    /// Notes an experiment operation for the outbox (when forwarding is on).
    pub(super) fn note_experiment(&mut self, op: ExperimentOp) {
        if self.forward.is_some() {
            self.experiment_ops.push(op);
        }
    }

    /// Adds tags to the creation of experiment `id` noted in this batch.
    pub(super) fn note_experiment_tags(&mut self, id: ExperimentId, tags: &[(String, String)]) {
        for op in &mut self.experiment_ops {
            if let ExperimentOp::Created {
                id: created,
                tags: t,
                ..
            } = op
                && *created == id
            {
                t.extend_from_slice(tags);
                return;
            }
        }
        for (key, value) in tags {
            self.note_experiment(ExperimentOp::TagSet {
                id,
                key: key.clone(),
                value: value.clone(),
            });
        }
    }

    /// Writes this batch's outbox entries into `txn`: its experiment
    /// operations, then its changed runs in creation order. `points` are the
    /// batch's new points, sorted by series, duplicates of stored points gone.
    pub(super) fn record_outbox(
        &mut self,
        txn: &WriteTransaction,
        points: &PointColumns,
    ) -> Result<()> {
        let Some(mut settings) = self.forward.take() else {
            return Ok(());
        };
        let recorded_ms = now_ms();
        let mut entries: Vec<OutboxEntry> = std::mem::take(&mut self.experiment_ops)
            .into_iter()
            .map(OutboxEntry::Experiment)
            .collect();
        let mut touched: Vec<&Touched> = self.runs.values().collect();
        touched.sort_unstable_by_key(|t| t.row.ordinal);
        let mut by_ordinal: HashMap<u32, usize> = HashMap::default();
        let mut deltas = Vec::with_capacity(touched.len());
        let mut tables = DictTables::open(txn)?;
        let dict = &mut self.writer.dict;
        for t in touched {
            by_ordinal.insert(t.row.ordinal, deltas.len());
            deltas.push(run_delta(t, dict, &mut tables)?);
        }
        add_points(&mut deltas, &by_ordinal, points, dict)?;
        entries.extend(
            deltas
                .into_iter()
                .filter(|d| !d.is_empty())
                .map(OutboxEntry::Run),
        );
        if entries.is_empty() {
            return Ok(());
        }
        let mut outbox = txn.open_table(OUTBOX)?;
        for entry in &entries {
            outbox.insert(
                settings.next_seq,
                encode_entry(entry, recorded_ms)?.as_slice(),
            )?;
            settings.next_seq += 1;
        }
        forward::save_settings(&mut txn.open_table(META)?, &settings)?;
        Ok(())
    }
}

/// What the batch changed in one run (its points come later).
fn run_delta(t: &Touched, dict: &mut Dict, tables: &mut DictTables<'_>) -> Result<RunDelta> {
    let row = &t.row;
    let mut d = RunDelta::new(RunId::from_u128(row.run_id()), ExperimentId(row.experiment));
    let empty = RunRow {
        params: Vec::new(),
        tags: Vec::new(),
        inputs: Vec::new(),
        ..row.clone()
    };
    let before = match &t.stored {
        Some(stored) => {
            if stored.status != row.status {
                d.status = Some(status(row.status)?);
            }
            if stored.end_time != row.end_time {
                d.end_time = row.end_time;
            }
            if stored.name != row.name {
                d.run_name = Some(row.name.clone());
            }
            if stored.lifecycle != row.lifecycle {
                d.lifecycle = Some(lifecycle(row.lifecycle)?);
            }
            if stored.user.is_empty() && !row.user.is_empty() {
                d.tags.push((TAG_USER.to_owned(), row.user.clone()));
            } else if !stored.user.is_empty() && row.user.is_empty() {
                d.deleted_tags.push(TAG_USER.to_owned());
            }
            stored
        }
        None => {
            d.created = Some(RunCreated {
                start_time: row.start_time,
                run_name: row.name.clone(),
                user: row.user.clone(),
            });
            if row.status != RunStatus::Running.code() {
                d.status = Some(status(row.status)?);
            }
            d.end_time = row.end_time;
            if row.lifecycle != LifecycleStage::Active.code() {
                d.lifecycle = Some(lifecycle(row.lifecycle)?);
            }
            &empty
        }
    };
    for &(key, code) in &row.params {
        if before.param(key) != Some(code) {
            d.params.push(text_pair(dict, tables, key, code)?);
        }
    }
    for &(key, code) in &row.tags {
        if lookup(&before.tags, key) != Some(code) {
            d.tags.push(text_pair(dict, tables, key, code)?);
        }
    }
    for &(key, _) in &before.tags {
        if lookup(&row.tags, key).is_none() {
            d.deleted_tags.push(key_name(dict, key)?.to_owned());
        }
    }
    for input in &row.inputs {
        let known = before
            .inputs
            .iter()
            .any(|i| i.name == input.name && i.digest == input.digest);
        if !known {
            d.inputs.push(input.clone());
        }
    }
    Ok(d)
}

/// Adds the batch's stored points to the deltas of their runs.
fn add_points(
    deltas: &mut [RunDelta],
    by_ordinal: &HashMap<u32, usize>,
    points: &PointColumns,
    dict: &Dict,
) -> Result<()> {
    let mut start = 0;
    while start < points.len() {
        let series = points.series[start];
        let mut end = start;
        while end < points.len() && points.series[end] == series {
            end += 1;
        }
        let (ordinal, key) = ((series >> 32) as u32, series as u32);
        let delta = by_ordinal
            .get(&ordinal)
            .and_then(|&i| deltas.get_mut(i))
            .ok_or_else(|| Error::corrupt("outbox", "points of a run the batch did not touch"))?;
        let list: Vec<MetricPoint> = (start..end).map(|i| points.point(i)).collect();
        delta.metrics.push((key_name(dict, key)?.to_owned(), list));
        start = end;
    }
    Ok(())
}

fn text_pair(
    dict: &mut Dict,
    tables: &mut DictTables<'_>,
    key: u32,
    code: u32,
) -> Result<(String, String)> {
    let name = key_name(dict, key)?.to_owned();
    let value = dict.value_name(tables, key, code)?.to_owned();
    Ok((name, value))
}

fn key_name(dict: &Dict, key: u32) -> Result<&str> {
    dict.key_name(key)
        .ok_or_else(|| Error::corrupt("key dictionary", format!("no key with id {key}")))
}

fn lookup(list: &[(u32, u32)], key: u32) -> Option<u32> {
    list.binary_search_by_key(&key, |&(k, _)| k)
        .ok()
        .map(|i| list[i].1)
}

fn status(code: u8) -> Result<RunStatus> {
    RunStatus::from_code(code).ok_or_else(|| Error::corrupt("run", format!("status code {code}")))
}

fn lifecycle(code: u8) -> Result<LifecycleStage> {
    LifecycleStage::from_code(code)
        .ok_or_else(|| Error::corrupt("run", format!("lifecycle code {code}")))
}
