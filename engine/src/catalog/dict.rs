//! Interning of keys and values.
//!
//! Every param/tag/metric key gets a dense id (one namespace for all kinds),
//! and every param/tag value gets a dense code *per key*, so a run row stores
//! small integers and the search index can keep one dictionary-coded column per
//! key. The catalog tables `KEYS`/`KEY_NAMES` and `VALUES`/`VALUE_NAMES` are the
//! truth; [`Dict`] is the writer's in-memory cache of them, with an undo log so
//! that entries added by a transaction that is then dropped leave no trace.

use compact_str::CompactString;
use foldhash::HashMap;

use redb::{ReadableTable, Table, WriteTransaction};

use super::{KEY_NAMES, KEYS, VALUE_NAMES, VALUES};
use crate::error::{Error, Result};

/// One key's value dictionary.
#[derive(Default, Debug)]
pub(crate) struct ValueDict {
    /// Short values are stored inline in the table, so a lookup compares
    /// them without chasing a pointer.
    codes: HashMap<CompactString, u32>,
    names: Vec<Box<str>>,
}

impl ValueDict {
    /// The code of `value`, if interned.
    pub fn code(&self, value: &str) -> Option<u32> {
        self.codes.get(value).copied()
    }
}

/// Entries a transaction added to the dictionaries, in order.
#[derive(Default, Debug)]
pub(crate) struct DictUndo {
    keys: usize,
    values: Vec<u32>,
}

/// The four dictionary tables, opened in one write transaction.
pub(crate) struct DictTables<'t> {
    txn: &'t WriteTransaction,
    keys: Option<Table<'t, &'static str, u32>>,
    key_names: Option<Table<'t, u32, &'static str>>,
    values: Option<Table<'t, (u32, &'static str), u32>>,
    value_names: Option<Table<'t, (u32, u32), &'static str>>,
}

impl<'t> DictTables<'t> {
    /// The dictionary tables of `txn`, each opened on first use: a run whose
    /// keys and values are all cached opens none.
    pub fn open(txn: &'t WriteTransaction) -> Result<Self> {
        Ok(DictTables {
            txn,
            keys: None,
            key_names: None,
            values: None,
            value_names: None,
        })
    }

    fn keys(&mut self) -> Result<&mut Table<'t, &'static str, u32>> {
        if self.keys.is_none() {
            self.keys = Some(self.txn.open_table(KEYS)?);
        }
        self.keys.as_mut().ok_or_else(vanished)
    }

    fn key_names(&mut self) -> Result<&mut Table<'t, u32, &'static str>> {
        if self.key_names.is_none() {
            self.key_names = Some(self.txn.open_table(KEY_NAMES)?);
        }
        self.key_names.as_mut().ok_or_else(vanished)
    }

    fn values(&mut self) -> Result<&mut Table<'t, (u32, &'static str), u32>> {
        if self.values.is_none() {
            self.values = Some(self.txn.open_table(VALUES)?);
        }
        self.values.as_mut().ok_or_else(vanished)
    }

    fn value_names(&mut self) -> Result<&mut Table<'t, (u32, u32), &'static str>> {
        if self.value_names.is_none() {
            self.value_names = Some(self.txn.open_table(VALUE_NAMES)?);
        }
        self.value_names.as_mut().ok_or_else(vanished)
    }
}

fn vanished() -> Error {
    Error::corrupt("dictionary tables", "a table vanished after opening")
}

/// The writer's cache of the dictionaries.
#[derive(Default, Debug)]
pub(crate) struct Dict {
    keys: HashMap<Box<str>, u32>,
    key_names: Vec<Box<str>>,
    values: HashMap<u32, ValueDict>,
}

impl Dict {
    /// Loads every key (values are loaded per key on first use).
    pub fn load(key_names: &impl ReadableTable<u32, &'static str>) -> Result<Self> {
        let names = load_key_names(key_names)?;
        let keys = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        Ok(Dict {
            keys,
            key_names: names,
            values: HashMap::default(),
        })
    }

    /// The id of `key`, if interned.
    pub fn key_id(&self, key: &str) -> Option<u32> {
        self.keys.get(key).copied()
    }

    /// The key with id `id`, if interned.
    pub fn key_name(&self, id: u32) -> Option<&str> {
        self.key_names.get(id as usize).map(|k| &**k)
    }

    /// Interns `key`, adding it to the catalog if new.
    pub fn intern_key(
        &mut self,
        t: &mut DictTables<'_>,
        key: &str,
        undo: &mut DictUndo,
    ) -> Result<u32> {
        if let Some(id) = self.keys.get(key) {
            return Ok(*id);
        }
        let id = u32::try_from(self.key_names.len())
            .map_err(|_| Error::InvalidInput("too many distinct keys in one store".into()))?;
        t.keys()?.insert(key, id)?;
        t.key_names()?.insert(id, key)?;
        self.keys.insert(key.into(), id);
        self.key_names.push(key.into());
        undo.keys += 1;
        Ok(id)
    }

    fn load_values(&mut self, t: &mut DictTables<'_>, key: u32) -> Result<&mut ValueDict> {
        use std::collections::hash_map::Entry;
        Ok(match self.values.entry(key) {
            Entry::Occupied(cached) => cached.into_mut(),
            Entry::Vacant(slot) => {
                let names = load_values(t.value_names()?, key)?;
                let codes = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (CompactString::from(&**n), i as u32))
                    .collect();
                slot.insert(ValueDict { codes, names })
            }
        })
    }

    /// The code of `value` under `key`, if interned.
    pub fn value_code(
        &mut self,
        t: &mut DictTables<'_>,
        key: u32,
        value: &str,
    ) -> Result<Option<u32>> {
        Ok(self.load_values(t, key)?.code(value))
    }

    /// Interns `value` under `key`, adding it to the catalog if new.
    pub fn intern_value(
        &mut self,
        t: &mut DictTables<'_>,
        key: u32,
        value: &str,
        undo: &mut DictUndo,
    ) -> Result<u32> {
        let dict = self.load_values(t, key)?;
        if let Some(code) = dict.code(value) {
            return Ok(code);
        }
        let code = u32::try_from(dict.names.len())
            .map_err(|_| Error::InvalidInput("too many distinct values for one key".into()))?;
        t.values()?.insert((key, value), code)?;
        t.value_names()?.insert((key, code), value)?;
        dict.codes.insert(CompactString::from(value), code);
        dict.names.push(value.into());
        undo.values.push(key);
        Ok(code)
    }

    /// The value with `code` under `key`.
    pub fn value_name(&mut self, t: &mut DictTables<'_>, key: u32, code: u32) -> Result<&str> {
        let dict = self.load_values(t, key)?;
        dict.names
            .get(code as usize)
            .map(|s| &**s)
            .ok_or_else(|| missing_value(key, code))
    }

    /// Forgets the entries of a transaction that was not committed.
    pub fn rollback(&mut self, undo: DictUndo) {
        for key in undo.values.into_iter().rev() {
            if let Some(dict) = self.values.get_mut(&key)
                && let Some(name) = dict.names.pop()
            {
                dict.codes.remove(&*name);
            }
        }
        for _ in 0..undo.keys {
            if let Some(name) = self.key_names.pop() {
                self.keys.remove(&name);
            }
        }
    }
}

fn missing_value(key: u32, code: u32) -> Error {
    Error::corrupt(
        "value dictionary",
        format!("no value with code {code} for key id {key}"),
    )
}

/// Reads every key, indexed by id.
pub(crate) fn load_key_names(
    key_names: &impl ReadableTable<u32, &'static str>,
) -> Result<Vec<Box<str>>> {
    let mut names = Vec::new();
    for entry in key_names.iter()? {
        let (id, name) = entry?;
        if id.value() as usize != names.len() {
            return Err(Error::corrupt(
                "key dictionary",
                format!("key ids are not dense at {}", id.value()),
            ));
        }
        names.push(name.value().into());
    }
    Ok(names)
}

/// Reads every value of `key`, indexed by code.
pub(crate) fn load_values(
    value_names: &impl ReadableTable<(u32, u32), &'static str>,
    key: u32,
) -> Result<Vec<Box<str>>> {
    let mut names = Vec::new();
    let end = key
        .checked_add(1)
        .map(|k| (k, 0))
        .unwrap_or((u32::MAX, u32::MAX));
    for entry in value_names.range((key, 0)..end)? {
        let (k, name) = entry?;
        let (_, code) = k.value();
        if code as usize != names.len() {
            return Err(missing_value(key, names.len() as u32));
        }
        names.push(name.value().into());
    }
    if key == u32::MAX
        && let Some(last) = value_names.get((u32::MAX, u32::MAX))?
    {
        names.push(last.value().into());
    }
    Ok(names)
}

/// Looks up one value in a read transaction.
pub(crate) fn read_value(
    value_names: &impl ReadableTable<(u32, u32), &'static str>,
    key: u32,
    code: u32,
) -> Result<String> {
    value_names
        .get((key, code))?
        .map(|v| v.value().to_owned())
        .ok_or_else(|| missing_value(key, code))
}
