//! The store's forwarding surface: settings, the outbox as a sender reads
//! it, a sender's reports, parked entries and the remote ids learnt. The
//! writes go through group commit, each one durable transaction.

use redb::{ReadableTable, ReadableTableMetadata};

use super::Store;
use crate::catalog::forward::{decode_parked, load_settings, load_status, open_optional};
use crate::catalog::{META, OUTBOX, OUTBOX_PARKED, REMOTE_EXPERIMENTS, REMOTE_RUNS};
use crate::error::Result;
use crate::outbox::{
    ForwardProgress, ForwardSettings, OutboxItem, OutboxSummary, ParkedItem, RemoteRun,
    SenderStatus, decode_item, peek_run,
};
use crate::types::{ExperimentId, RunId};

impl Store {
    /// The forwarding settings as of the last commit (off when never set).
    pub fn forward_settings(&self) -> Result<ForwardSettings> {
        let txn = self.begin_read()?;
        load_settings(&txn.open_table(META)?)
    }

    /// Turns outbox recording on or off for every process that writes this
    /// store, from the next commit on; see [`crate::WriteBatch::set_forwarding`].
    pub fn set_forwarding(&self, enabled: bool, target: &str) -> Result<()> {
        let target = target.to_owned();
        self.submit(move |b| b.set_forwarding(enabled, &target))
    }

    /// The oldest undelivered entries, in order: at most `max_entries`, and
    /// no more once they hold `max_points` metric points (at least one entry
    /// is returned when there is any).
    pub fn outbox_head(&self, max_entries: usize, max_points: usize) -> Result<Vec<OutboxItem>> {
        let txn = self.begin_read()?;
        let Some(outbox) = open_optional(&txn, OUTBOX)? else {
            return Ok(Vec::new());
        };
        let mut items = Vec::new();
        let mut points = 0;
        for entry in outbox.iter()? {
            if items.len() >= max_entries || (points >= max_points && !items.is_empty()) {
                break;
            }
            let (seq, bytes) = entry?;
            let item = decode_item(seq.value(), bytes.value())?;
            points += item.entry.points();
            items.push(item);
        }
        Ok(items)
    }

    /// Whether every recorded entry was delivered (or parked).
    pub fn outbox_is_empty(&self) -> Result<bool> {
        let txn = self.begin_read()?;
        match open_optional(&txn, OUTBOX)? {
            None => Ok(true),
            Some(outbox) => Ok(outbox.first()?.is_none()),
        }
    }

    /// The outbox at a glance: entries, bytes, the oldest entry's age,
    /// entries per run, parked entries. Reads every entry's header (not the
    /// rest of it).
    pub fn outbox_summary(&self) -> Result<OutboxSummary> {
        let txn = self.begin_read()?;
        let mut summary = OutboxSummary::default();
        let mut per_run: foldhash::HashMap<RunId, u64> = foldhash::HashMap::default();
        if let Some(outbox) = open_optional(&txn, OUTBOX)? {
            for entry in outbox.iter()? {
                let (_, bytes) = entry?;
                let bytes = bytes.value();
                let (run, recorded_ms) = peek_run(bytes)?;
                summary.entries += 1;
                summary.bytes += bytes.len() as u64;
                summary.oldest_ms = Some(
                    summary
                        .oldest_ms
                        .map_or(recorded_ms, |o| o.min(recorded_ms)),
                );
                match run {
                    Some(run) => *per_run.entry(run).or_default() += 1,
                    None => summary.experiment_ops += 1,
                }
            }
        }
        if let Some(parked) = open_optional(&txn, OUTBOX_PARKED)? {
            summary.parked = parked.len()?;
        }
        summary.per_run = per_run.into_iter().collect();
        summary
            .per_run
            .sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(summary)
    }

    /// Applies a sender's report in one durable commit; see
    /// [`crate::WriteBatch::apply_forward_progress`].
    pub fn forward_progress(&self, progress: ForwardProgress) -> Result<()> {
        if progress.is_empty() {
            return Ok(());
        }
        self.submit(move |b| b.apply_forward_progress(&progress))
    }

    /// Every parked entry, oldest first, with the reason it was refused.
    pub fn parked_entries(&self) -> Result<Vec<ParkedItem>> {
        let txn = self.begin_read()?;
        let Some(parked) = open_optional(&txn, OUTBOX_PARKED)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in parked.iter()? {
            let (seq, row) = entry?;
            let (parked_ms, reason, bytes) = decode_parked(row.value())?;
            out.push(ParkedItem {
                item: decode_item(seq.value(), &bytes)?,
                parked_ms,
                reason,
            });
        }
        Ok(out)
    }

    /// Puts every parked entry back in the outbox to be tried again;
    /// returns how many.
    pub fn retry_parked(&self) -> Result<u64> {
        self.submit(|b| b.retry_parked())
    }

    /// What the sender last reported.
    pub fn sender_status(&self) -> Result<SenderStatus> {
        let txn = self.begin_read()?;
        load_status(&txn.open_table(META)?)
    }

    /// What the store knows of run `run`'s copy on the forwarding target.
    pub fn remote_run(&self, run: RunId) -> Result<RemoteRun> {
        let txn = self.begin_read()?;
        let Some(table) = open_optional(&txn, REMOTE_RUNS)? else {
            return Ok(RemoteRun::Unknown);
        };
        Ok(match table.get(run.as_u128())? {
            None => RemoteRun::Unknown,
            Some(v) if v.value().is_empty() => RemoteRun::Intended,
            Some(v) => RemoteRun::Known(v.value().to_owned()),
        })
    }

    /// The forwarding target's id of experiment `id`, once learnt.
    pub fn remote_experiment_id(&self, id: ExperimentId) -> Result<Option<String>> {
        let txn = self.begin_read()?;
        let Some(table) = open_optional(&txn, REMOTE_EXPERIMENTS)? else {
            return Ok(None);
        };
        Ok(table.get(id.0)?.map(|v| v.value().to_owned()))
    }
}
