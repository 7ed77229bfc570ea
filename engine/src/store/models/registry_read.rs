//! Registry reads: registered models with their latest versions, model
//! versions with their aliases, `get_latest_versions`, aliases and download
//! URIs — each from one catalog snapshot.

use redb::ReadableTable;

use super::{bad_code, open_read};
use crate::catalog::models::{
    MODEL_VERSIONS, ModelVersionRow, REGISTERED_MODELS, RegisteredModelRow,
};
use crate::catalog::rows::decode;
use crate::error::{Error, Result};
use crate::model_limits::{ALIAS_LATEST, check_alias, check_model_name};
use crate::model_types::{ModelVersion, ModelVersionStage, RegisteredModel, VersionArg};
use crate::store::Store;

/// The key type of [`MODEL_VERSIONS`].
type VersionKey = (&'static str, u64);

/// The public form of a stored version; `aliases` are the ones pointing at it.
pub(super) fn model_version(
    name: &str,
    version: u64,
    row: ModelVersionRow,
    aliases: Vec<String>,
) -> Result<ModelVersion> {
    Ok(ModelVersion {
        name: name.to_owned(),
        version,
        creation_timestamp: row.created,
        last_updated_timestamp: row.updated,
        user_id: row.user_id,
        current_stage: ModelVersionStage::from_code(row.stage)
            .ok_or_else(|| bad_code("model version stage", row.stage))?,
        description: row.description,
        source: row.source,
        storage_location: row.storage_location,
        run_id: row.run_id,
        status: "READY".into(),
        status_message: row.status_message,
        tags: row.tags.into_iter().collect(),
        run_link: row.run_link,
        aliases,
        model_id: row.model_id,
    })
}

/// The aliases of `rm` that point at `version`, sorted.
pub(super) fn aliases_of(rm: &RegisteredModelRow, version: u64) -> Vec<String> {
    rm.aliases
        .iter()
        .filter(|(_, v)| *v == version)
        .map(|(a, _)| a.clone())
        .collect()
}

/// Every live version of `name`, ascending.
pub(super) fn versions_of(
    table: &impl ReadableTable<VersionKey, &'static [u8]>,
    name: &str,
) -> Result<Vec<(u64, ModelVersionRow)>> {
    let mut out = Vec::new();
    for entry in table.range((name, 0u64)..=(name, u64::MAX))? {
        let (key, bytes) = entry?;
        out.push((key.value().1, decode("model version", bytes.value())?));
    }
    Ok(out)
}

/// MLflow's latest versions: per stage the highest version, stages in the
/// order their first version appears (`versions` ascending). No aliases.
pub(super) fn latest_versions(
    name: &str,
    versions: Vec<(u64, ModelVersionRow)>,
) -> Result<Vec<ModelVersion>> {
    let mut latest: Vec<(u8, u64, ModelVersionRow)> = Vec::new();
    for (version, row) in versions {
        match latest.iter_mut().find(|(stage, _, _)| *stage == row.stage) {
            Some(slot) => *slot = (row.stage, version, row),
            None => latest.push((row.stage, version, row)),
        }
    }
    latest
        .into_iter()
        .map(|(_, version, row)| model_version(name, version, row, Vec::new()))
        .collect()
}

/// The public form of a stored registered model.
pub(super) fn registered_model(
    name: &str,
    row: RegisteredModelRow,
    latest: Vec<ModelVersion>,
) -> RegisteredModel {
    RegisteredModel {
        name: name.to_owned(),
        creation_timestamp: row.created,
        last_updated_timestamp: row.updated,
        description: row.description,
        tags: row.tags.into_iter().collect(),
        aliases: row.aliases.into_iter().collect(),
        latest_versions: latest,
    }
}

/// The version number `version` names, or the not-found error MLflow gives
/// for a number no version can have (zero, negative).
pub(super) fn version_number(name: &str, version: &VersionArg) -> Result<u64> {
    let n = version.number()?;
    u64::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| version_not_found(name, version))
}

pub(super) fn version_not_found(name: &str, version: &VersionArg) -> Error {
    Error::ModelVersionNotFound {
        name: name.to_owned(),
        version: version
            .number()
            .map_or_else(|_| version.to_string(), |n| n.to_string()),
    }
}

impl Store {
    /// MLflow's `get_registered_model`: the model with its latest versions.
    pub fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        check_model_name(name)?;
        let txn = self.begin_read()?;
        let not_found = || Error::RegisteredModelNotFound(name.to_owned());
        let (Some(models), Some(versions)) = (
            open_read(&txn, REGISTERED_MODELS)?,
            open_read(&txn, MODEL_VERSIONS)?,
        ) else {
            return Err(not_found());
        };
        let row: RegisteredModelRow = match models.get(name)? {
            Some(bytes) => decode("registered model", bytes.value())?,
            None => return Err(not_found()),
        };
        let latest = latest_versions(name, versions_of(&versions, name)?)?;
        Ok(registered_model(name, row, latest))
    }

    /// Every registered model (prompts included), by name, with its latest
    /// versions: what `search_registered_models` filters.
    pub fn registered_models(&self) -> Result<Vec<RegisteredModel>> {
        let txn = self.begin_read()?;
        let (Some(models), Some(versions)) = (
            open_read(&txn, REGISTERED_MODELS)?,
            open_read(&txn, MODEL_VERSIONS)?,
        ) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in models.iter()? {
            let (name, bytes) = entry?;
            let name = name.value();
            let row: RegisteredModelRow = decode("registered model", bytes.value())?;
            let latest = latest_versions(name, versions_of(&versions, name)?)?;
            out.push(registered_model(name, row, latest));
        }
        Ok(out)
    }

    /// Every live model version, by name then version, with its aliases:
    /// what `search_model_versions` filters.
    pub fn model_versions(&self) -> Result<Vec<ModelVersion>> {
        let txn = self.begin_read()?;
        let (Some(models), Some(versions)) = (
            open_read(&txn, REGISTERED_MODELS)?,
            open_read(&txn, MODEL_VERSIONS)?,
        ) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut current: Option<(String, RegisteredModelRow)> = None;
        for entry in versions.iter()? {
            let (key, bytes) = entry?;
            let (name, version) = key.value();
            if current.as_ref().is_none_or(|(n, _)| n != name) {
                let rm: RegisteredModelRow = match models.get(name)? {
                    Some(b) => decode("registered model", b.value())?,
                    None => {
                        return Err(Error::corrupt(
                            "model versions",
                            format!("{name} has no registered model"),
                        ));
                    }
                };
                current = Some((name.to_owned(), rm));
            }
            let aliases = current
                .as_ref()
                .map(|(_, rm)| aliases_of(rm, version))
                .unwrap_or_default();
            let row: ModelVersionRow = decode("model version", bytes.value())?;
            out.push(model_version(name, version, row, aliases)?);
        }
        Ok(out)
    }

    /// MLflow's `get_model_version`.
    pub fn get_model_version(
        &self,
        name: &str,
        version: impl Into<VersionArg>,
    ) -> Result<ModelVersion> {
        let version = version.into();
        check_model_name(name)?;
        let number = version_number(name, &version)?;
        let txn = self.begin_read()?;
        let (Some(models), Some(versions)) = (
            open_read(&txn, REGISTERED_MODELS)?,
            open_read(&txn, MODEL_VERSIONS)?,
        ) else {
            return Err(version_not_found(name, &version));
        };
        let row: ModelVersionRow = match versions.get((name, number))? {
            Some(bytes) => decode("model version", bytes.value())?,
            None => return Err(version_not_found(name, &version)),
        };
        let rm: RegisteredModelRow = match models.get(name)? {
            Some(bytes) => decode("registered model", bytes.value())?,
            None => return Err(version_not_found(name, &version)),
        };
        model_version(name, number, row, aliases_of(&rm, number))
    }

    /// MLflow's `get_model_version_download_uri`: the version's storage
    /// location (for a `models:/` source) or its source.
    pub fn get_model_version_download_uri(
        &self,
        name: &str,
        version: impl Into<VersionArg>,
    ) -> Result<String> {
        Ok(self
            .get_model_version(name, version)?
            .download_uri()
            .to_owned())
    }

    /// MLflow's `get_latest_versions`: for each of `stages` (any letter
    /// case; all four when empty) that has a live version, its highest
    /// version, with aliases.
    pub fn get_latest_versions(&self, name: &str, stages: &[String]) -> Result<Vec<ModelVersion>> {
        let wanted: Vec<ModelVersionStage> = if stages.is_empty() {
            ModelVersionStage::ALL.to_vec()
        } else {
            stages.iter().map(|s| s.parse()).collect::<Result<_>>()?
        };
        let model = self.get_registered_model(name)?;
        let mut out: Vec<ModelVersion> = model
            .latest_versions
            .into_iter()
            .filter(|mv| wanted.contains(&mv.current_stage))
            .collect();
        for mv in &mut out {
            mv.aliases = model
                .aliases
                .iter()
                .filter(|(_, v)| **v == mv.version)
                .map(|(a, _)| a.clone())
                .collect();
        }
        Ok(out)
    }

    /// MLflow's `get_model_version_by_alias`. The alias `latest` (any case)
    /// is the highest live version ([`Error::NoLatestVersion`] when there is
    /// none); an alias the model lacks is an invalid-parameter error, as in
    /// MLflow.
    pub fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        check_model_name(name)?;
        check_alias(alias)?;
        if alias.to_lowercase() == ALIAS_LATEST {
            return self
                .get_latest_versions(name, &[])?
                .into_iter()
                .max_by_key(|mv| mv.version)
                .ok_or_else(|| Error::NoLatestVersion(name.to_owned()));
        }
        let model = self.get_registered_model(name)?;
        match model.aliases.get(alias) {
            Some(&version) => self.get_model_version(name, version),
            None => Err(Error::InvalidInput(format!(
                "Registered model alias {alias} not found."
            ))),
        }
    }
}
