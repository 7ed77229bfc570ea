//! The search index: every run's attributes, params, tags, latest metric
//! values and dataset inputs, held column by column for fast filtering.
//!
//! One row per run, at the run's ordinal. Param and tag columns hold the
//! catalog's dictionary codes; metric columns hold each run's latest value in
//! MLflow's comparison form ([`crate::metric::search_value`]).
//!
//! The index is derived data. It is persisted as a snapshot file (see
//! [`snapshot`]) tagged with the commit sequence it reflects; opening loads the
//! snapshot's columns lazily, only when a query touches them, then replays the
//! catalog's change log from that sequence on. With no usable snapshot the
//! index is rebuilt from the catalog's run rows.

mod bitmap;
mod column;
mod like;
mod order;
mod pred;
mod snapshot;
mod table;
mod texts;

use foldhash::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

use redb::{ReadTransaction, ReadableTable};

pub use bitmap::Bitmap;
pub use column::{Dictionary, InputEntry, NO_CODE, Slots, TextColumn, absent, is_absent};
pub use like::LikePattern;
pub use pred::{CmpOp, Field, Literal, Pred, Truth};
pub use table::{IndexView, RowValue};
pub(crate) use texts::ValueTexts;

use crate::catalog::META;
use crate::catalog::dict::load_key_names;
use crate::catalog::rows::{ExperimentRow, RunRow, decode};
use crate::catalog::state::StoreState;
use crate::catalog::{CHANGES, EXPERIMENTS, KEY_NAMES, RUNS, VALUE_NAMES};
use crate::error::{Error, Result};
use crate::metric::search_value;
use snapshot::Snapshot;

/// End time of a run that has none.
pub const NO_END_TIME: i64 = i64::MIN;

/// Which column of the index.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub(crate) enum ColKey {
    RunId,
    Experiment,
    Status,
    Lifecycle,
    StartTime,
    EndTime,
    RunName,
    User,
    Param(u32),
    Tag(u32),
    Metric(u32),
    Inputs,
}

/// A loaded column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Column {
    U128(Vec<u128>),
    U32(Vec<u32>),
    U8(Vec<u8>),
    I64(Vec<i64>),
    Text(TextColumn),
    Num(Slots<f64>),
    Inputs(Vec<InputEntry>),
}

impl Column {
    fn empty(key: ColKey) -> Column {
        match key {
            ColKey::RunId => Column::U128(Vec::new()),
            ColKey::Experiment => Column::U32(Vec::new()),
            ColKey::Status | ColKey::Lifecycle => Column::U8(Vec::new()),
            ColKey::StartTime | ColKey::EndTime => Column::I64(Vec::new()),
            ColKey::RunName | ColKey::User | ColKey::Param(_) | ColKey::Tag(_) => {
                Column::Text(TextColumn::default())
            }
            ColKey::Metric(_) => Column::Num(Slots::default()),
            ColKey::Inputs => Column::Inputs(Vec::new()),
        }
    }
}

/// A column slot: whether the snapshot holds it, and the column once loaded.
/// Columns are shared between versions of the index and copied only when a
/// version that is still being searched is changed.
#[derive(Debug, Default, Clone)]
struct Slot {
    in_snapshot: bool,
    col: OnceLock<Arc<Column>>,
    /// A text column's dictionary alone, read from the snapshot while the
    /// column itself is not loaded ([`SearchIndex::value_texts`]).
    texts: OnceLock<Arc<texts::TextTable>>,
}

/// An experiment as the index needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentInfo {
    /// Name.
    pub name: String,
    /// Lifecycle code.
    pub lifecycle: u8,
    /// Artifact location (runs' artifact URIs start with it).
    pub artifact_location: String,
}

/// The search index of a store, as of one commit.
#[derive(Debug)]
pub struct SearchIndex {
    seq: u64,
    rows: u32,
    keys: Vec<Box<str>>,
    key_ids: HashMap<Box<str>, u32>,
    experiments: HashMap<u32, ExperimentInfo>,
    slots: HashMap<ColKey, Slot>,
    snapshot: Option<Arc<Snapshot>>,
    order: RwLock<Option<Arc<Vec<u32>>>>,
    /// Runs changed since the snapshot this index was loaded from.
    changed_since_snapshot: u64,
}

impl Clone for SearchIndex {
    /// A shallow copy: columns are shared until one side changes them.
    fn clone(&self) -> Self {
        SearchIndex {
            seq: self.seq,
            rows: self.rows,
            keys: self.keys.clone(),
            key_ids: self.key_ids.clone(),
            experiments: self.experiments.clone(),
            slots: self.slots.clone(),
            snapshot: self.snapshot.clone(),
            order: RwLock::new(self.order.read().ok().and_then(|o| o.clone())),
            changed_since_snapshot: self.changed_since_snapshot,
        }
    }
}

impl SearchIndex {
    fn empty() -> Self {
        SearchIndex {
            seq: 0,
            rows: 0,
            keys: Vec::new(),
            key_ids: HashMap::default(),
            experiments: HashMap::default(),
            slots: HashMap::default(),
            snapshot: None,
            order: RwLock::new(None),
            changed_since_snapshot: 0,
        }
    }

    /// The commit sequence this index reflects.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Number of rows (runs).
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// The id of key `name`, if any run ever used it.
    pub fn key_id(&self, name: &str) -> Option<u32> {
        self.key_ids.get(name).copied()
    }

    /// Number of keys (ids are `0..key_count()`).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The name of key `id`.
    pub fn key_name(&self, id: u32) -> Option<&str> {
        self.keys.get(id as usize).map(|s| &**s)
    }

    /// The experiments, by id.
    pub fn experiments(&self) -> &HashMap<u32, ExperimentInfo> {
        &self.experiments
    }

    /// The column `key`, loading it from the snapshot on first use; `None`
    /// when no run has it.
    pub(crate) fn column(&self, key: ColKey) -> Result<Option<&Column>> {
        let Some(slot) = self.slots.get(&key) else {
            return Ok(None);
        };
        if let Some(col) = slot.col.get() {
            return Ok(Some(&**col));
        }
        let loaded = self.load_from_snapshot(key, slot)?;
        let _ = slot.col.set(Arc::new(loaded));
        Ok(slot.col.get().map(|c| &**c))
    }

    fn load_from_snapshot(&self, key: ColKey, slot: &Slot) -> Result<Column> {
        match (&self.snapshot, slot.in_snapshot) {
            (Some(snap), true) => snap.load(key),
            _ => Ok(Column::empty(key)),
        }
    }

    /// The column `key` for writing, created empty when new.
    fn column_mut(&mut self, key: ColKey) -> Result<&mut Column> {
        self.slots.entry(key).or_default();
        let needs_load = self.slots.get(&key).is_some_and(|s| s.col.get().is_none());
        if needs_load {
            let loaded = {
                let slot = self
                    .slots
                    .get(&key)
                    .ok_or_else(|| Error::corrupt("index", "slot vanished"))?;
                self.load_from_snapshot(key, slot)?
            };
            if let Some(slot) = self.slots.get_mut(&key) {
                let _ = slot.col.set(Arc::new(loaded));
            }
        }
        self.slots
            .get_mut(&key)
            .and_then(|s| s.col.get_mut())
            .map(Arc::make_mut)
            .ok_or_else(|| Error::corrupt("index", "column failed to load"))
    }

    /// Every column key the index has.
    pub(crate) fn column_keys(&self) -> impl Iterator<Item = ColKey> + '_ {
        self.slots.keys().copied()
    }

    /// Brings the index up to `txn`'s commit: replays the change log, or
    /// rebuilds from scratch when the log no longer reaches back far enough.
    fn catch_up(&mut self, txn: &ReadTransaction) -> Result<()> {
        let state = state_of(txn)?;
        if state.seq == self.seq && self.seq != 0 {
            return Ok(());
        }
        if self.seq < state.changes_floor {
            *self = SearchIndex::empty();
            return self.rebuild(txn);
        }
        self.load_dictionaries(txn)?;
        let runs = txn.open_table(RUNS)?;
        let value_names = txn.open_table(VALUE_NAMES)?;
        let changes = txn.open_table(CHANGES)?;
        let mut changed: Vec<u32> = Vec::new();
        for entry in changes.range((self.seq + 1, 0)..=(state.seq, u32::MAX))? {
            let (k, _) = entry?;
            changed.push(k.value().1);
        }
        self.apply_in_row_order(&mut changed, &runs, &value_names)?;
        self.changed_since_snapshot += changed.len() as u64;
        self.rows = self.rows.max(state.next_ordinal);
        self.seq = state.seq;
        if changed.len() as u64 * 8 >= u64::from(self.rows) {
            self.rebalance_loaded();
        }
        Ok(())
    }

    /// Builds the index from every run row of the catalog.
    fn rebuild(&mut self, txn: &ReadTransaction) -> Result<()> {
        let state = state_of(txn)?;
        self.load_dictionaries(txn)?;
        let runs = txn.open_table(RUNS)?;
        let value_names = txn.open_table(VALUE_NAMES)?;
        // The table is keyed by ordinal: its order is row order.
        let mut count = 0u64;
        for entry in runs.iter()? {
            let (ordinal, bytes) = entry?;
            let row = RunRow::decode(bytes.value())?;
            check_ordinal(ordinal.value(), &row)?;
            self.apply_row(row.run_id(), &row, &value_names)?;
            count += 1;
        }
        self.rows = state.next_ordinal;
        self.seq = state.seq;
        self.changed_since_snapshot = count;
        self.rebalance_loaded();
        Ok(())
    }

    /// Applies the runs with `ordinals` in ordinal (row) order: out of order,
    /// sparse columns would insert mid-vector for every run, quadratic in a
    /// bulk load.
    fn apply_in_row_order(
        &mut self,
        ordinals: &mut Vec<u32>,
        runs: &impl ReadableTable<u32, &'static [u8]>,
        value_names: &impl ReadableTable<(u32, u32), &'static str>,
    ) -> Result<()> {
        ordinals.sort_unstable();
        ordinals.dedup();
        // Read each stretch of consecutive ordinals (a bulk load's are one
        // stretch) as one range scan rather than a B-tree descent per row.
        for stretch in ordinals.chunk_by(|a, b| a.checked_add(1) == Some(*b)) {
            let (Some(&first), Some(&last)) = (stretch.first(), stretch.last()) else {
                continue;
            };
            let mut want = stretch.iter().copied();
            for entry in runs.range(first..=last)? {
                let (ordinal, bytes) = entry?;
                let expected = want.next();
                if expected != Some(ordinal.value()) {
                    return Err(missing_row(expected.unwrap_or(last)));
                }
                let row = RunRow::decode(bytes.value())?;
                check_ordinal(ordinal.value(), &row)?;
                self.apply_row(row.run_id(), &row, value_names)?;
            }
            if let Some(ordinal) = want.next() {
                return Err(missing_row(ordinal));
            }
        }
        Ok(())
    }

    /// Re-picks dense or sparse storage for every loaded column.
    fn rebalance_loaded(&mut self) {
        let rows = self.rows;
        for slot in self.slots.values_mut() {
            match slot.col.get_mut().map(Arc::make_mut) {
                Some(Column::Text(t)) => t.codes.rebalance(rows),
                Some(Column::Num(s)) => s.rebalance(rows),
                _ => {}
            }
        }
    }

    /// Reloads the (small) key and experiment tables.
    fn load_dictionaries(&mut self, txn: &ReadTransaction) -> Result<()> {
        let keys = load_key_names(&txn.open_table(KEY_NAMES)?)?;
        if keys.len() != self.keys.len() {
            self.key_ids = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), i as u32))
                .collect();
            self.keys = keys;
        }
        let mut experiments = HashMap::default();
        for entry in txn.open_table(EXPERIMENTS)?.iter()? {
            let (id, bytes) = entry?;
            let row: ExperimentRow = decode("experiment", bytes.value())?;
            experiments.insert(
                id.value(),
                ExperimentInfo {
                    name: row.name,
                    lifecycle: row.lifecycle,
                    artifact_location: row.artifact_location,
                },
            );
        }
        self.experiments = experiments;
        Ok(())
    }

    /// Writes one run's current row into every column.
    fn apply_row(
        &mut self,
        id: u128,
        row: &RunRow,
        value_names: &impl ReadableTable<(u32, u32), &'static str>,
    ) -> Result<()> {
        let r = row.ordinal;
        // New rows leave the cached default order short; it is extended on next use.
        self.rows = self.rows.max(r + 1);
        set_vec(self.column_mut(ColKey::RunId)?, r, Value::U128(id));
        set_vec(
            self.column_mut(ColKey::Experiment)?,
            r,
            Value::U32(row.experiment),
        );
        set_vec(self.column_mut(ColKey::Status)?, r, Value::U8(row.status));
        set_vec(
            self.column_mut(ColKey::Lifecycle)?,
            r,
            Value::U8(row.lifecycle),
        );
        set_vec(
            self.column_mut(ColKey::StartTime)?,
            r,
            Value::I64(row.start_time),
        );
        set_vec(
            self.column_mut(ColKey::EndTime)?,
            r,
            Value::I64(row.end_time.unwrap_or(NO_END_TIME)),
        );
        for (key, text) in [(ColKey::RunName, &row.name), (ColKey::User, &row.user)] {
            if let Column::Text(t) = self.column_mut(key)? {
                if text.is_empty() && key == ColKey::User {
                    if t.codes.get(r).is_some() {
                        t.codes.set(r, NO_CODE);
                    }
                } else {
                    let code = t.dict.intern(text);
                    t.codes.set(r, code);
                }
            }
        }
        for (list, make) in [
            (&row.params, ColKey::Param as fn(u32) -> ColKey),
            (&row.tags, ColKey::Tag as fn(u32) -> ColKey),
        ] {
            for &(k, code) in list {
                if let Column::Text(t) = self.column_mut(make(k))? {
                    if t.dict.get(code).is_none_or(str::is_empty) {
                        let value = crate::catalog::dict::read_value(value_names, k, code)?;
                        t.dict.put(code, &value);
                    }
                    t.codes.set(r, code);
                }
            }
        }
        for m in &row.metrics {
            if let Column::Num(s) = self.column_mut(ColKey::Metric(m.key))? {
                s.set(r, search_value(m.point.value));
            }
        }
        if let Column::Inputs(list) = self.column_mut(ColKey::Inputs)? {
            let start = list.partition_point(|e| e.row < r);
            let end = list.partition_point(|e| e.row <= r);
            let fresh = row.inputs.iter().map(|i| InputEntry {
                row: r,
                name: i.name.as_str().into(),
                digest: i.digest.as_str().into(),
                context: i.context.as_deref().map(Into::into),
            });
            list.splice(start..end, fresh);
        }
        Ok(())
    }
}

enum Value {
    U128(u128),
    U32(u32),
    U8(u8),
    I64(i64),
}

fn set_vec(col: &mut Column, row: u32, v: Value) {
    fn put<T: Copy + Default>(vec: &mut Vec<T>, row: u32, v: T) {
        let i = row as usize;
        if i >= vec.len() {
            vec.resize(i + 1, T::default());
        }
        vec[i] = v;
    }
    match (col, v) {
        (Column::U128(vec), Value::U128(x)) => put(vec, row, x),
        (Column::U32(vec), Value::U32(x)) => put(vec, row, x),
        (Column::U8(vec), Value::U8(x)) => put(vec, row, x),
        (Column::I64(vec), Value::I64(x)) => put(vec, row, x),
        _ => {}
    }
}

/// The store's current search index, shared by its readers.
pub(crate) struct IndexCache {
    dir: PathBuf,
    current: RwLock<Option<Arc<SearchIndex>>>,
}

impl IndexCache {
    pub(crate) fn new(dir: PathBuf) -> Self {
        IndexCache {
            dir,
            current: RwLock::new(None),
        }
    }
}

/// Snapshots are rewritten once the change log holds this many entries, or
/// a tenth of the runs, whichever is more.
const SNAPSHOT_MIN_CHANGES: u64 = 10_000;

impl IndexCache {
    /// The index as of the latest commit of the catalog that `read` opens a
    /// transaction on, with that transaction. Both are snapshots: later
    /// commits do not change them. Never writes.
    pub(crate) fn current(
        &self,
        read: &dyn Fn() -> Result<ReadTransaction>,
    ) -> Result<(Arc<SearchIndex>, ReadTransaction)> {
        loop {
            let txn = read()?;
            let seq = state_of(&txn)?.seq;
            {
                let guard = self
                    .current
                    .read()
                    .map_err(|_| Error::corrupt("index", "lock poisoned"))?;
                if let Some(idx) = guard.as_ref()
                    && idx.seq == seq
                {
                    return Ok((idx.clone(), txn));
                }
            }
            let mut guard = self
                .current
                .write()
                .map_err(|_| Error::corrupt("index", "lock poisoned"))?;
            if guard.as_ref().is_none_or(|idx| idx.seq < seq) {
                let mut shared = match guard.take() {
                    Some(idx) => idx,
                    None => Arc::new(self.load(&txn)?),
                };
                // Copies the index (shallowly) only if a search still holds it.
                Arc::make_mut(&mut shared).catch_up(&txn)?;
                *guard = Some(shared);
            }
        }
    }

    /// Loads the newest readable snapshot, or starts empty.
    fn load(&self, txn: &ReadTransaction) -> Result<SearchIndex> {
        let state = state_of(txn)?;
        let mut idx = SearchIndex::empty();
        if let Some(snap) = snapshot::open_latest(&self.dir, state.seq)? {
            idx.seq = snap.seq();
            idx.rows = snap.rows();
            for key in snap.column_keys() {
                idx.slots.insert(
                    key,
                    Slot {
                        in_snapshot: true,
                        ..Slot::default()
                    },
                );
            }
            if let Some(order) = snap.order()?
                && let Ok(mut o) = idx.order.write()
            {
                *o = Some(Arc::new(order));
            }
            idx.snapshot = Some(Arc::new(snap));
            idx.load_dictionaries(txn)?;
        }
        Ok(idx)
    }

    /// Brings the index up to date and writes a snapshot of it if it changed
    /// since the last one. Returns the newest snapshot's commit sequence.
    pub(crate) fn write_snapshot(
        &self,
        read: &dyn Fn() -> Result<ReadTransaction>,
    ) -> Result<Option<u64>> {
        self.current(read)?;
        let mut guard = self
            .current
            .write()
            .map_err(|_| Error::corrupt("index", "lock poisoned"))?;
        if let Some(shared) = guard.as_mut()
            && (shared.changed_since_snapshot > 0 || shared.snapshot.is_none())
        {
            let idx = Arc::make_mut(shared);
            let snap = snapshot::write(&self.dir, idx)?;
            idx.changed_since_snapshot = 0;
            idx.snapshot = Some(Arc::new(snap));
        }
        drop(guard);
        snapshot::latest_seq(&self.dir)
    }

    /// Deletes the snapshots older than the one at `seq`.
    pub(crate) fn remove_older(&self, seq: u64) -> Result<()> {
        snapshot::remove_older(&self.dir, seq)
    }
}

/// Whether the change log as of `txn` has grown long enough to snapshot the
/// index and trim it: a tenth of the runs, or 10,000 entries, whichever is
/// more.
pub(crate) fn snapshot_due(txn: &ReadTransaction) -> Result<bool> {
    let state = state_of(txn)?;
    let entries = redb::ReadableTableMetadata::len(&txn.open_table(CHANGES)?)?;
    let threshold = SNAPSHOT_MIN_CHANGES.max(u64::from(state.next_ordinal) / 10);
    Ok(entries >= threshold)
}

fn state_of(txn: &ReadTransaction) -> Result<StoreState> {
    StoreState::load(&txn.open_table(META)?)?
        .ok_or_else(|| Error::corrupt("catalog", "store state missing"))
}

/// A run row must sit under its own ordinal.
/// A run the change log names is not in the catalog.
fn missing_row(ordinal: u32) -> Error {
    Error::corrupt("change log", format!("run with ordinal {ordinal} missing"))
}

fn check_ordinal(key: u32, row: &RunRow) -> Result<()> {
    if row.ordinal != key {
        return Err(Error::corrupt(
            "catalog",
            format!("run row under ordinal {key} says {}", row.ordinal),
        ));
    }
    Ok(())
}
