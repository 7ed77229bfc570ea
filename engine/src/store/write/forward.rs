//! Forwarding's bookkeeping in a write batch: turning recording on or off,
//! a sender's report of what it delivered, and re-queueing parked entries.

use redb::ReadableTable;

use super::WriteBatch;
use crate::catalog::{META, OUTBOX, OUTBOX_PARKED, REMOTE_EXPERIMENTS, REMOTE_RUNS, forward};
use crate::error::Result;
use crate::outbox::{ForwardProgress, OutboxEntry, OutboxItem, decode_item, encode_entry};
use crate::store::now_ms;

impl WriteBatch<'_> {
    /// Turns outbox recording on or off for every process writing the
    /// store (from the next commit on). `target` names what remote ids
    /// refer to (server and experiment): when it changes, the remote ids
    /// learnt so far are forgotten (the sender finds its runs again by their
    /// `runstore.run_id` tag).
    pub fn set_forwarding(&mut self, enabled: bool, target: &str) -> Result<()> {
        self.guarded(|b| {
            let settings = {
                let txn = b.txn()?;
                let mut meta = txn.open_table(META)?;
                let mut settings = forward::load_settings(&meta)?;
                if settings.target != target {
                    txn.open_table(REMOTE_RUNS)?.retain(|_, _| false)?;
                    txn.open_table(REMOTE_EXPERIMENTS)?.retain(|_, _| false)?;
                    settings.target = target.to_owned();
                }
                settings.enabled = enabled;
                forward::save_settings(&mut meta, &settings)?;
                settings
            };
            // This batch's own changes are recorded as the setting now says.
            b.forward = Some(settings).filter(|s| s.enabled);
            Ok(())
        })
    }

    /// Applies a sender's report: removes finished entries, replaces partly
    /// delivered ones by their rest, parks refused ones (or parts) with their
    /// reason, keeps learnt remote ids and updates the sender's status.
    /// Entries no longer in the outbox (another sender's report came first)
    /// are skipped.
    pub fn apply_forward_progress(&mut self, progress: &ForwardProgress) -> Result<()> {
        self.guarded(|b| {
            let txn = b.txn()?;
            let now = now_ms();
            let mut outbox = txn.open_table(OUTBOX)?;
            let mut parked_table = txn.open_table(OUTBOX_PARKED)?;
            let mut parked = 0u64;
            for (item, reason) in &progress.parked {
                let (item, reason) = match parked_table.get(item.seq)? {
                    Some(row) => {
                        let (_, before, bytes) = forward::decode_parked(row.value())?;
                        let mut earlier = decode_item(item.seq, &bytes)?;
                        merge(&mut earlier, item.clone());
                        (earlier, format!("{before}; {reason}"))
                    }
                    None => (item.clone(), reason.clone()),
                };
                let bytes = encode_entry(&item.entry, item.recorded_ms)?;
                let row = forward::encode_parked(now, &reason, &bytes)?;
                parked_table.insert(item.seq, row.as_slice())?;
                parked += 1;
            }
            let mut done = 0u64;
            for seq in &progress.done {
                done += u64::from(outbox.remove(*seq)?.is_some());
            }
            for item in &progress.remainders {
                if outbox.get(item.seq)?.is_some() {
                    let bytes = encode_entry(&item.entry, item.recorded_ms)?;
                    outbox.insert(item.seq, bytes.as_slice())?;
                }
            }
            let mut runs = txn.open_table(REMOTE_RUNS)?;
            for run in &progress.intents {
                if runs.get(run.as_u128())?.is_none() {
                    runs.insert(run.as_u128(), "")?;
                }
            }
            for (run, remote) in &progress.runs {
                runs.insert(run.as_u128(), remote.as_str())?;
            }
            let mut experiments = txn.open_table(REMOTE_EXPERIMENTS)?;
            for (id, remote) in &progress.experiments {
                experiments.insert(id.0, remote.as_str())?;
            }
            let mut meta = txn.open_table(META)?;
            let mut status = forward::load_status(&meta)?;
            status.delivered_entries += done;
            status.delivered_points += progress.points;
            status.parked_entries += parked;
            let finished = done > 0 || progress.points > 0 || !progress.remainders.is_empty();
            if finished {
                status.last_success_ms = Some(now);
            }
            match &progress.error {
                Some(e) => status.last_error = Some((now, e.clone())),
                None if finished => status.last_error = None,
                None => {}
            }
            forward::save_status(&mut meta, &status)?;
            Ok(())
        })
    }

    /// Moves every parked entry back into the outbox, under its own
    /// sequence number (so it is delivered before anything recorded after
    /// it). Returns how many.
    pub fn retry_parked(&mut self) -> Result<u64> {
        self.guarded(|b| {
            let txn = b.txn()?;
            let mut parked = txn.open_table(OUTBOX_PARKED)?;
            let mut outbox = txn.open_table(OUTBOX)?;
            let mut moved = 0u64;
            let mut rows = Vec::new();
            for entry in parked.iter()? {
                let (seq, row) = entry?;
                rows.push((seq.value(), forward::decode_parked(row.value())?.2));
            }
            for (seq, bytes) in rows {
                // Part of an entry whose rest is still undelivered: one entry again.
                let bytes = match outbox.get(seq)? {
                    Some(rest) => {
                        let mut item = decode_item(seq, rest.value())?;
                        merge(&mut item, decode_item(seq, &bytes)?);
                        encode_entry(&item.entry, item.recorded_ms)?
                    }
                    None => bytes,
                };
                outbox.insert(seq, bytes.as_slice())?;
                moved += 1;
            }
            parked.retain(|_, _| false)?;
            if moved > 0 {
                let mut meta = txn.open_table(META)?;
                let mut status = forward::load_status(&meta)?;
                status.last_error = None;
                forward::save_status(&mut meta, &status)?;
            }
            Ok(moved)
        })
    }
}

/// Merges `other` (a part of the same entry) into `item`: run deltas are
/// combined; an experiment operation is one operation, so it stays.
fn merge(item: &mut OutboxItem, other: OutboxItem) {
    if let (OutboxEntry::Run(mine), OutboxEntry::Run(theirs)) = (&mut item.entry, other.entry) {
        mine.absorb(theirs);
    }
}
