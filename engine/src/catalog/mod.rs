//! The catalog: every redb table of a store, the encoded rows they hold, and
//! the key/value dictionaries.
//!
//! The catalog is the store's single source of truth. Metric histories live in
//! Parquet segments ([`crate::segment`]) that the catalog's `SEGMENTS` table
//! lists; the search index ([`crate::index`]) is derived from the catalog and
//! can always be rebuilt from it.

pub(crate) mod dict;
pub(crate) mod forward;
pub(crate) mod id_filter;
pub(crate) mod models;
pub(crate) mod row_view;
pub(crate) mod rows;
pub(crate) mod state;

use redb::TableDefinition;

/// Store-wide counters and settings ([`state::StoreState`]), under the key `"state"`.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Experiment id → [`rows::ExperimentRow`].
pub(crate) const EXPERIMENTS: TableDefinition<u32, &[u8]> = TableDefinition::new("experiments");
/// Experiment name → id.
pub(crate) const EXPERIMENT_NAMES: TableDefinition<&str, u32> =
    TableDefinition::new("experiment_names");
/// Param/tag/metric key → key id (one namespace for all kinds).
pub(crate) const KEYS: TableDefinition<&str, u32> = TableDefinition::new("keys");
/// Key id → key.
pub(crate) const KEY_NAMES: TableDefinition<u32, &str> = TableDefinition::new("key_names");
/// (key id, value) → value code, the per-key value dictionary of params and tags.
pub(crate) const VALUES: TableDefinition<(u32, &str), u32> = TableDefinition::new("values");
/// (key id, value code) → value.
pub(crate) const VALUE_NAMES: TableDefinition<(u32, u32), &str> =
    TableDefinition::new("value_names");
/// Run ordinal → [`rows::RunRow`]: attributes, params, tags, latest metric
/// values, inputs. Keyed by the dense ordinal, new runs append at the right
/// edge of the tree: pages fill completely and a commit rewrites only the
/// pages it adds, where random run ids would touch (and copy) most of them.
pub(crate) const RUNS: TableDefinition<u32, &[u8]> = TableDefinition::new("run_rows");
/// Run id → run ordinal.
pub(crate) const RUN_IDS: TableDefinition<u128, u32> = TableDefinition::new("run_ids");
/// (series, sequence) → packed points not yet compacted into a segment.
/// A series is `run ordinal << 32 | metric key id`.
pub(crate) const PENDING: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("pending");
/// Segment id → [`rows::SegmentRow`], the manifest of Parquet segments.
pub(crate) const SEGMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("segments");
/// (commit sequence, run ordinal) → (): which runs each commit changed, for
/// the search index to catch up from its last snapshot.
pub(crate) const CHANGES: TableDefinition<(u64, u32), ()> = TableDefinition::new("changes");

/// Sequence number → an encoded outbox entry ([`crate::outbox`]): the
/// writes not yet delivered to the forwarding target.
pub(crate) const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
/// Sequence number → an outbox entry the target refused, with the reason
/// ([`forward::encode_parked`]).
pub(crate) const OUTBOX_PARKED: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox_parked");
/// Run id → the forwarding target's id of the run.
pub(crate) const REMOTE_RUNS: TableDefinition<u128, &str> = TableDefinition::new("remote_runs");
/// Experiment id → the forwarding target's id of the experiment.
pub(crate) const REMOTE_EXPERIMENTS: TableDefinition<u32, &str> =
    TableDefinition::new("remote_experiments");

/// The series id of a run's metric key: `ordinal << 32 | key id`.
#[inline]
pub(crate) fn series_id(ordinal: u32, key: u32) -> u64 {
    (u64::from(ordinal) << 32) | u64::from(key)
}
