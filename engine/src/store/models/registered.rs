//! Registered models: create, rename, update, delete, tags and aliases —
//! MLflow's SQL registry store's rules and messages.

use redb::ReadableTable;

use super::registry_read::{latest_versions, registered_model, version_number, versions_of};
use crate::catalog::models::{
    MODEL_VERSIONS, ModelVersionRow, REGISTERED_MODELS, RegisteredModelRow, remove_sorted,
    set_sorted,
};
use crate::catalog::rows::{decode, encode};
use crate::error::{Error, Result};
use crate::model_limits::{
    IS_PROMPT_TAG_KEY, check_alias, check_alias_not_reserved, check_model_name,
    check_model_new_name, check_registry_tag, check_tag_name,
};
use crate::model_types::{RegisteredModel, VersionArg};
use crate::store::{Store, WriteBatch, now_ms};

impl WriteBatch<'_> {
    /// MLflow's `create_registered_model`; [`Error::AlreadyExists`] when the
    /// name is taken. A tag key given twice keeps its last value.
    pub fn create_registered_model(
        &mut self,
        name: &str,
        tags: &[(String, String)],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        check_model_name(name)?;
        for (k, v) in tags {
            check_registry_tag(k, v)?;
        }
        if let Some(existing) = self.registered_model_row_opt(name)? {
            let old_prompt = existing.tags.iter().any(|(k, _)| k == IS_PROMPT_TAG_KEY);
            let new_prompt = tags.iter().any(|(k, _)| k == IS_PROMPT_TAG_KEY);
            return Err(already_exists(name, old_prompt, new_prompt));
        }
        let now = now_ms();
        let mut row = RegisteredModelRow {
            created: now,
            updated: now,
            description: description.map(str::to_owned),
            tags: Vec::new(),
            aliases: Vec::new(),
            max_version: 0,
        };
        for (k, v) in tags {
            set_sorted(&mut row.tags, k, v.clone());
        }
        self.put_registered_model(name, &row)?;
        Ok(registered_model(name, row, Vec::new()))
    }

    /// MLflow's `rename_registered_model`: versions, tags and aliases follow
    /// the model; it and every version get a new last-updated time.
    pub fn rename_registered_model(
        &mut self,
        name: &str,
        new_name: &str,
    ) -> Result<RegisteredModel> {
        check_model_new_name(new_name)?;
        check_model_name(name)?;
        let mut row = self.registered_model_row(name)?;
        if new_name != name && self.registered_model_row_opt(new_name)?.is_some() {
            return Err(Error::AlreadyExists(format!(
                "Registered Model (name={new_name}) already exists."
            )));
        }
        let now = now_ms();
        row.updated = now;
        let versions = {
            let table = self.txn()?.open_table(MODEL_VERSIONS)?;
            versions_of(&table, name)?
        };
        let moved: Vec<(u64, ModelVersionRow)> = versions
            .into_iter()
            .map(|(v, mut r)| {
                r.updated = now;
                (v, r)
            })
            .collect();
        let row_bytes = encode(&row)?;
        let encoded: Vec<(u64, Vec<u8>)> = moved
            .iter()
            .map(|(v, r)| Ok((*v, encode(r)?)))
            .collect::<Result<_>>()?;
        self.guarded(|b| {
            let txn = b.txn()?;
            let mut models = txn.open_table(REGISTERED_MODELS)?;
            let mut table = txn.open_table(MODEL_VERSIONS)?;
            models.remove(name)?;
            models.insert(new_name, row_bytes.as_slice())?;
            for (v, _) in &encoded {
                table.remove((name, *v))?;
            }
            for (v, bytes) in &encoded {
                table.insert((new_name, *v), bytes.as_slice())?;
            }
            Ok(())
        })?;
        let latest = latest_versions(new_name, moved)?;
        Ok(registered_model(new_name, row, latest))
    }

    /// MLflow's `update_registered_model`: sets the description.
    pub fn update_registered_model(
        &mut self,
        name: &str,
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        check_model_name(name)?;
        let mut row = self.registered_model_row(name)?;
        row.description = description.map(str::to_owned);
        row.updated = now_ms();
        self.put_registered_model(name, &row)?;
        let latest = {
            let table = self.txn()?.open_table(MODEL_VERSIONS)?;
            latest_versions(name, versions_of(&table, name)?)?
        };
        Ok(registered_model(name, row, latest))
    }

    /// MLflow's `delete_registered_model`: the model, its versions, tags and
    /// aliases are gone (a new model of that name starts again at version 1).
    pub fn delete_registered_model(&mut self, name: &str) -> Result<()> {
        check_model_name(name)?;
        self.registered_model_row(name)?;
        let versions: Vec<u64> = {
            let table = self.txn()?.open_table(MODEL_VERSIONS)?;
            versions_of(&table, name)?
                .into_iter()
                .map(|(v, _)| v)
                .collect()
        };
        self.guarded(|b| {
            let txn = b.txn()?;
            txn.open_table(REGISTERED_MODELS)?.remove(name)?;
            let mut table = txn.open_table(MODEL_VERSIONS)?;
            for v in versions {
                table.remove((name, v))?;
            }
            Ok(())
        })
    }

    /// MLflow's `set_registered_model_tag` (the model's last-updated time
    /// stays, as in MLflow).
    pub fn set_registered_model_tag(&mut self, name: &str, key: &str, value: &str) -> Result<()> {
        check_model_name(name)?;
        check_registry_tag(key, value)?;
        let mut row = self.registered_model_row(name)?;
        set_sorted(&mut row.tags, key, value.to_owned());
        self.put_registered_model(name, &row)
    }

    /// MLflow's `delete_registered_model_tag`: a missing tag is no error.
    pub fn delete_registered_model_tag(&mut self, name: &str, key: &str) -> Result<()> {
        check_model_name(name)?;
        check_tag_name(key)?;
        let mut row = self.registered_model_row(name)?;
        if remove_sorted(&mut row.tags, key) {
            self.put_registered_model(name, &row)?;
        }
        Ok(())
    }

    /// MLflow's `set_registered_model_alias`: points `alias` at a live
    /// version (moving it if it pointed elsewhere).
    pub fn set_registered_model_alias(
        &mut self,
        name: &str,
        alias: &str,
        version: &VersionArg,
    ) -> Result<()> {
        check_model_name(name)?;
        check_alias(alias)?;
        check_alias_not_reserved(alias)?;
        let number = self.live_version(name, version)?.0;
        let mut row = self.registered_model_row(name)?;
        set_sorted(&mut row.aliases, alias, number);
        self.put_registered_model(name, &row)
    }

    /// MLflow's `delete_registered_model_alias`: a missing alias is no error.
    pub fn delete_registered_model_alias(&mut self, name: &str, alias: &str) -> Result<()> {
        check_model_name(name)?;
        check_alias(alias)?;
        let mut row = self.registered_model_row(name)?;
        if remove_sorted(&mut row.aliases, alias) {
            self.put_registered_model(name, &row)?;
        }
        Ok(())
    }

    /// Registered model `name`'s row, if any, as of this batch.
    pub(super) fn registered_model_row_opt(
        &self,
        name: &str,
    ) -> Result<Option<RegisteredModelRow>> {
        let table = self.txn()?.open_table(REGISTERED_MODELS)?;
        let row = table.get(name)?;
        row.map(|bytes| decode("registered model", bytes.value()))
            .transpose()
    }

    /// Registered model `name`'s row; [`Error::RegisteredModelNotFound`].
    pub(super) fn registered_model_row(&self, name: &str) -> Result<RegisteredModelRow> {
        self.registered_model_row_opt(name)?
            .ok_or_else(|| Error::RegisteredModelNotFound(name.to_owned()))
    }

    pub(super) fn put_registered_model(
        &mut self,
        name: &str,
        row: &RegisteredModelRow,
    ) -> Result<()> {
        let bytes = encode(row)?;
        self.guarded(|b| {
            b.txn()?
                .open_table(REGISTERED_MODELS)?
                .insert(name, bytes.as_slice())?;
            Ok(())
        })
    }

    /// The live version `version` of `name` and its row, checking the
    /// number as MLflow does; [`Error::ModelVersionNotFound`].
    pub(super) fn live_version(
        &self,
        name: &str,
        version: &VersionArg,
    ) -> Result<(u64, ModelVersionRow)> {
        let number = version_number(name, version)?;
        let table = self.txn()?.open_table(MODEL_VERSIONS)?;
        let row = table.get((name, number))?;
        match row {
            Some(bytes) => Ok((number, decode("model version", bytes.value())?)),
            None => Err(super::registry_read::version_not_found(name, version)),
        }
    }
}

/// MLflow's `handle_resource_already_exist_error`: models and prompts share
/// one namespace.
fn already_exists(name: &str, old_prompt: bool, new_prompt: bool) -> Error {
    let entity = |prompt: bool| if prompt { "Prompt" } else { "Registered Model" };
    let (old, new) = (entity(old_prompt), entity(new_prompt));
    if old != new {
        return Error::AlreadyExists(format!(
            "Tried to create a {} with name '{name}', but the name is already taken by a {}. \
             MLflow does not allow creating a model and a prompt with the same name.",
            new.to_lowercase(),
            old.to_lowercase()
        ));
    }
    Error::AlreadyExists(format!("{new} (name={name}) already exists."))
}

impl Store {
    /// MLflow's `create_registered_model`.
    pub fn create_registered_model(
        &self,
        name: &str,
        tags: &[(String, String)],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let (name, tags, description) = (
            name.to_owned(),
            tags.to_vec(),
            description.map(str::to_owned),
        );
        self.submit(move |b| b.create_registered_model(&name, &tags, description.as_deref()))
    }

    /// MLflow's `rename_registered_model`.
    pub fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        let (name, new_name) = (name.to_owned(), new_name.to_owned());
        self.submit(move |b| b.rename_registered_model(&name, &new_name))
    }

    /// MLflow's `update_registered_model`.
    pub fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let (name, description) = (name.to_owned(), description.map(str::to_owned));
        self.submit(move |b| b.update_registered_model(&name, description.as_deref()))
    }

    /// MLflow's `delete_registered_model`.
    pub fn delete_registered_model(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.submit(move |b| b.delete_registered_model(&name))
    }

    /// MLflow's `set_registered_model_tag`.
    pub fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        let (name, key, value) = (name.to_owned(), key.to_owned(), value.to_owned());
        self.submit(move |b| b.set_registered_model_tag(&name, &key, &value))
    }

    /// MLflow's `delete_registered_model_tag`.
    pub fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        let (name, key) = (name.to_owned(), key.to_owned());
        self.submit(move |b| b.delete_registered_model_tag(&name, &key))
    }

    /// MLflow's `set_registered_model_alias`.
    pub fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: impl Into<VersionArg>,
    ) -> Result<()> {
        let (name, alias, version) = (name.to_owned(), alias.to_owned(), version.into());
        self.submit(move |b| b.set_registered_model_alias(&name, &alias, &version))
    }

    /// MLflow's `delete_registered_model_alias`.
    pub fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        let (name, alias) = (name.to_owned(), alias.to_owned());
        self.submit(move |b| b.delete_registered_model_alias(&name, &alias))
    }
}
