//! Forwarding's rows in the catalog: its settings and the sender's status
//! (both in the `META` table), and parked outbox entries.

use redb::{ReadTransaction, ReadableTable, TableDefinition, TableError};

use super::rows::{decode, encode};
use crate::error::{Error, Result};
use crate::outbox::{ForwardSettings, SenderStatus};

const SETTINGS_KEY: &str = "forward";
const STATUS_KEY: &str = "forward_status";

/// The forwarding settings; default (off) when never set.
pub(crate) fn load_settings(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<ForwardSettings> {
    match meta.get(SETTINGS_KEY)? {
        None => Ok(ForwardSettings::default()),
        Some(v) => decode("forwarding settings", v.value()),
    }
}

/// Writes the forwarding settings.
pub(crate) fn save_settings(
    meta: &mut redb::Table<&'static str, &'static [u8]>,
    settings: &ForwardSettings,
) -> Result<()> {
    meta.insert(SETTINGS_KEY, encode(settings)?.as_slice())?;
    Ok(())
}

/// The sender's last report; default when it never reported.
pub(crate) fn load_status(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<SenderStatus> {
    match meta.get(STATUS_KEY)? {
        None => Ok(SenderStatus::default()),
        Some(v) => decode("forwarding status", v.value()),
    }
}

/// Writes the sender's report.
pub(crate) fn save_status(
    meta: &mut redb::Table<&'static str, &'static [u8]>,
    status: &SenderStatus,
) -> Result<()> {
    meta.insert(STATUS_KEY, encode(status)?.as_slice())?;
    Ok(())
}

/// A parked entry as stored: when, why, and the entry's own bytes.
pub(crate) fn encode_parked(parked_ms: i64, reason: &str, entry: &[u8]) -> Result<Vec<u8>> {
    encode(&(parked_ms, reason, entry))
}

/// Decodes [`encode_parked`]'s bytes.
pub(crate) fn decode_parked(bytes: &[u8]) -> Result<(i64, String, Vec<u8>)> {
    decode("parked outbox entry", bytes)
}

/// Opens `table` in a read transaction, `None` when a store written before
/// the table existed lacks it (a read-only handle cannot create it).
pub(crate) fn open_optional<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>> {
    match txn.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(Error::from(e)),
    }
}
