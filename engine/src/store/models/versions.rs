//! Model versions: create (resolving `models:/` sources), update, stage
//! transitions, delete and tags — MLflow's SQL registry store's rules.

use redb::ReadableTable;

use super::registry_read::{aliases_of, model_version};
use crate::catalog::models::{
    LOGGED_MODELS, LoggedModelRow, MODEL_VERSIONS, ModelVersionRow, remove_sorted, set_sorted,
};
use crate::catalog::rows::{decode, encode};
use crate::error::{Error, Result};
use crate::model_limits::{check_model_name, check_registry_tag, check_tag_name};
use crate::model_types::{ModelVersion, ModelVersionStage, NewModelVersion, VersionArg};
use crate::store::{Store, WriteBatch, now_ms};
use crate::types::{LifecycleStage, RunId};

/// What a `models:/` URI names (MLflow's `_parse_model_uri`).
#[derive(Debug, PartialEq, Eq)]
enum ModelsUri<'a> {
    /// `models:/<model_id>`.
    LoggedModel(&'a str),
    /// `models:/<name>/<version>`.
    Version { name: &'a str, version: &'a str },
    /// `models:/<name>/<stage>`, `models:/<name>/latest`, `models:/<name>@<alias>`:
    /// no version number, so no storage location to copy.
    Unversioned,
}

/// The scheme of `uri` as Python's `urlparse` reads it (lowercased).
fn scheme(uri: &str) -> Option<String> {
    let (head, _) = uri.split_once(':')?;
    let mut chars = head.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| head.to_ascii_lowercase())
}

/// Parses a `models:` URI; `Err` with MLflow's message for an improper one.
fn parse_models_uri(uri: &str) -> std::result::Result<ModelsUri<'_>, String> {
    let improper = || {
        format!(
            "Not a proper models:/ URI: {uri}. Models URIs must be of the form \
             'models:/name/suffix' or 'models:/name@alias' where suffix is a version, stage, or \
             the string 'latest' and where alias is a registered model alias. Only one of suffix \
             or alias can be defined at a time."
        )
    };
    let rest = uri.split_once(':').map(|(_, r)| r).unwrap_or_default();
    // urlparse: `//netloc` comes before the path; `?query` ends it.
    let path = match rest.strip_prefix("//") {
        Some(after) => after.find('/').map_or("", |i| &after[i..]),
        None => rest,
    };
    let path = path.split('?').next().unwrap_or_default();
    if !path.starts_with('/') || path.len() <= 1 {
        return Err(improper());
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if parts.len() > 2 || parts[0].trim().is_empty() {
        return Err(improper());
    }
    if let [name, suffix] = parts[..] {
        if suffix.trim().is_empty() {
            return Err(improper());
        }
        if !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_digit()) {
            return Ok(ModelsUri::Version {
                name,
                version: suffix,
            });
        }
        return Ok(ModelsUri::Unversioned);
    }
    if path.contains('@') {
        return match parts[0].rsplit_once('@') {
            Some((_, alias)) if !alias.trim().is_empty() => Ok(ModelsUri::Unversioned),
            _ => Err(improper()),
        };
    }
    Ok(ModelsUri::LoggedModel(parts[0]))
}

impl WriteBatch<'_> {
    /// MLflow's `create_model_version`: version one more than the highest
    /// the model ever had, stage `None`, status `READY`. A `models:/<model_id>`
    /// source (what MLflow 3's `register_model` sends) takes the logged
    /// model's artifact location as its storage location and, without a
    /// `run_id`, its source run; a `models:/<name>/<version>` source takes
    /// that version's download URI.
    pub fn create_model_version(&mut self, new: &NewModelVersion) -> Result<ModelVersion> {
        check_model_name(&new.name)?;
        for (k, v) in &new.tags {
            check_registry_tag(k, v)?;
        }
        let mut run_id = new.run_id.clone();
        let mut storage_location = None;
        if scheme(&new.source).as_deref() == Some("models") {
            let fetch_error = |e: String| {
                Error::InvalidInput(format!(
                    "Unable to fetch model from model URI source artifact location '{}'.Error: {e}",
                    new.source
                ))
            };
            match parse_models_uri(&new.source).map_err(fetch_error)? {
                ModelsUri::LoggedModel(id) => {
                    let model = self
                        .live_logged_model(id)
                        .map_err(|e| fetch_error(e.to_string()))?;
                    storage_location = Some(model.artifact_location);
                    if run_id.as_deref().is_none_or(str::is_empty) {
                        run_id = model.source_run.map(source_run_text);
                    }
                }
                ModelsUri::Version { name, version } => {
                    let (_, row) = self
                        .live_version(name, &VersionArg::from(version))
                        .map_err(|e| fetch_error(e.to_string()))?;
                    storage_location = Some(row.storage_location.unwrap_or(row.source));
                }
                ModelsUri::Unversioned => {
                    return Err(fetch_error(
                        "the URI names no version number (a stage, 'latest' or an alias)".into(),
                    ));
                }
            }
        }
        if run_id.as_deref().is_none_or(str::is_empty)
            && let Some(model_id) = new.model_id.as_deref().filter(|m| !m.is_empty())
        {
            run_id = self
                .live_logged_model(model_id)?
                .source_run
                .map(source_run_text);
        }
        let mut rm = self.registered_model_row(&new.name)?;
        let now = now_ms();
        let version = rm.max_version + 1;
        rm.max_version = version;
        rm.updated = now;
        let mut row = ModelVersionRow {
            created: now,
            updated: now,
            description: new.description.clone(),
            user_id: None,
            stage: ModelVersionStage::None.code(),
            source: new.source.clone(),
            storage_location,
            run_id,
            run_link: new.run_link.clone(),
            status_message: None,
            tags: Vec::new(),
            model_id: new.model_id.clone(),
        };
        for (k, v) in &new.tags {
            set_sorted(&mut row.tags, k, v.clone());
        }
        self.put_registered_model(&new.name, &rm)?;
        self.put_version(&new.name, version, &row)?;
        model_version(&new.name, version, row, Vec::new())
    }

    /// MLflow's `update_model_version`: sets the description.
    pub fn update_model_version(
        &mut self,
        name: &str,
        version: &VersionArg,
        description: Option<&str>,
    ) -> Result<ModelVersion> {
        check_model_name(name)?;
        let (number, mut row) = self.live_version(name, version)?;
        row.description = description.map(str::to_owned);
        row.updated = now_ms();
        self.put_version(name, number, &row)?;
        self.with_aliases(name, number, row)
    }

    /// MLflow's `transition_model_version_stage`: `stage` in any letter
    /// case. With `archive_existing_versions` (only for `Staging` and
    /// `Production`) every other version in that stage becomes `Archived`.
    pub fn transition_model_version_stage(
        &mut self,
        name: &str,
        version: &VersionArg,
        stage: &str,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion> {
        let stage: ModelVersionStage = stage.parse()?;
        if archive_existing_versions && !stage.is_active() {
            return Err(Error::InvalidInput(format!(
                "Model version transition cannot archive existing model versions because \
                 '{stage}' is not an Active stage. Valid stages are ['Staging', 'Production']"
            )));
        }
        check_model_name(name)?;
        let (number, mut row) = self.live_version(name, version)?;
        let now = now_ms();
        let mut archived = Vec::new();
        if archive_existing_versions {
            let table = self.txn()?.open_table(MODEL_VERSIONS)?;
            for (v, mut other) in super::registry_read::versions_of(&table, name)? {
                if v != number && other.stage == stage.code() {
                    other.stage = ModelVersionStage::Archived.code();
                    other.updated = now;
                    archived.push((v, other));
                }
            }
        }
        row.stage = stage.code();
        row.updated = now;
        let mut rm = self.registered_model_row(name)?;
        rm.updated = now;
        for (v, other) in &archived {
            self.put_version(name, *v, other)?;
        }
        self.put_version(name, number, &row)?;
        self.put_registered_model(name, &rm)?;
        model_version(name, number, row, aliases_of(&rm, number))
    }

    /// MLflow's `delete_model_version`: the version is gone (its number is
    /// never given again) and the aliases pointing at it with it.
    pub fn delete_model_version(&mut self, name: &str, version: &VersionArg) -> Result<()> {
        version.number()?;
        check_model_name(name)?;
        let (number, _) = self.live_version(name, version)?;
        let mut rm = self.registered_model_row(name)?;
        rm.updated = now_ms();
        rm.aliases.retain(|(_, v)| *v != number);
        self.put_registered_model(name, &rm)?;
        self.guarded(|b| {
            b.txn()?
                .open_table(MODEL_VERSIONS)?
                .remove((name, number))?;
            Ok(())
        })
    }

    /// MLflow's `set_model_version_tag`.
    pub fn set_model_version_tag(
        &mut self,
        name: &str,
        version: &VersionArg,
        key: &str,
        value: &str,
    ) -> Result<()> {
        check_model_name(name)?;
        version.number()?;
        check_registry_tag(key, value)?;
        let (number, mut row) = self.live_version(name, version)?;
        set_sorted(&mut row.tags, key, value.to_owned());
        self.put_version(name, number, &row)
    }

    /// MLflow's `delete_model_version_tag`: a missing tag is no error.
    pub fn delete_model_version_tag(
        &mut self,
        name: &str,
        version: &VersionArg,
        key: &str,
    ) -> Result<()> {
        check_model_name(name)?;
        version.number()?;
        check_tag_name(key)?;
        let (number, mut row) = self.live_version(name, version)?;
        if remove_sorted(&mut row.tags, key) {
            self.put_version(name, number, &row)?;
        }
        Ok(())
    }

    fn put_version(&mut self, name: &str, version: u64, row: &ModelVersionRow) -> Result<()> {
        let bytes = encode(row)?;
        self.guarded(|b| {
            b.txn()?
                .open_table(MODEL_VERSIONS)?
                .insert((name, version), bytes.as_slice())?;
            Ok(())
        })
    }

    fn with_aliases(&self, name: &str, number: u64, row: ModelVersionRow) -> Result<ModelVersion> {
        let rm = self.registered_model_row(name)?;
        model_version(name, number, row, aliases_of(&rm, number))
    }

    /// A live (not deleted) logged model's row, as `get_logged_model` sees it.
    fn live_logged_model(&self, model_id: &str) -> Result<LoggedModelRow> {
        let table = self.txn()?.open_table(LOGGED_MODELS)?;
        let row: Option<LoggedModelRow> = table
            .get(model_id)?
            .map(|b| decode("logged model", b.value()))
            .transpose()?;
        row.filter(|r| r.lifecycle == LifecycleStage::Active.code())
            .ok_or_else(|| Error::LoggedModelNotFound(model_id.to_owned()))
    }
}

fn source_run_text(bytes: [u8; 16]) -> String {
    RunId::from_u128(u128::from_be_bytes(bytes)).to_string()
}

impl Store {
    /// MLflow's `create_model_version` (see [`WriteBatch::create_model_version`]).
    pub fn create_model_version(&self, new: NewModelVersion) -> Result<ModelVersion> {
        self.submit(move |b| b.create_model_version(&new))
    }

    /// MLflow's `update_model_version`.
    pub fn update_model_version(
        &self,
        name: &str,
        version: impl Into<VersionArg>,
        description: Option<&str>,
    ) -> Result<ModelVersion> {
        let (name, version) = (name.to_owned(), version.into());
        let description = description.map(str::to_owned);
        self.submit(move |b| b.update_model_version(&name, &version, description.as_deref()))
    }

    /// MLflow's `transition_model_version_stage`.
    pub fn transition_model_version_stage(
        &self,
        name: &str,
        version: impl Into<VersionArg>,
        stage: &str,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion> {
        let (name, version, stage) = (name.to_owned(), version.into(), stage.to_owned());
        self.submit(move |b| {
            b.transition_model_version_stage(&name, &version, &stage, archive_existing_versions)
        })
    }

    /// MLflow's `delete_model_version`.
    pub fn delete_model_version(&self, name: &str, version: impl Into<VersionArg>) -> Result<()> {
        let (name, version) = (name.to_owned(), version.into());
        self.submit(move |b| b.delete_model_version(&name, &version))
    }

    /// MLflow's `set_model_version_tag`.
    pub fn set_model_version_tag(
        &self,
        name: &str,
        version: impl Into<VersionArg>,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let (name, version) = (name.to_owned(), version.into());
        let (key, value) = (key.to_owned(), value.to_owned());
        self.submit(move |b| b.set_model_version_tag(&name, &version, &key, &value))
    }

    /// MLflow's `delete_model_version_tag`.
    pub fn delete_model_version_tag(
        &self,
        name: &str,
        version: impl Into<VersionArg>,
        key: &str,
    ) -> Result<()> {
        let (name, version, key) = (name.to_owned(), version.into(), key.to_owned());
        self.submit(move |b| b.delete_model_version_tag(&name, &version, &key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_uris_parse_as_mlflow() {
        assert_eq!(
            parse_models_uri("models:/m-0123"),
            Ok(ModelsUri::LoggedModel("m-0123"))
        );
        assert_eq!(
            parse_models_uri("models:/clf/3"),
            Ok(ModelsUri::Version {
                name: "clf",
                version: "3"
            })
        );
        for unversioned in [
            "models:/clf/latest",
            "models:/clf/Production",
            "models:/clf@champ",
        ] {
            assert_eq!(parse_models_uri(unversioned), Ok(ModelsUri::Unversioned));
        }
        for bad in [
            "models:",
            "models:/",
            "models:/a/b/c",
            "models:/a/ ",
            "models:/a@",
            "models: /x",
        ] {
            assert!(parse_models_uri(bad).is_err(), "{bad}");
        }
        assert_eq!(scheme("MODELS:/x").as_deref(), Some("models"));
        assert_eq!(scheme("/tmp/x"), None);
        assert_eq!(scheme("s3://b/k").as_deref(), Some("s3"));
    }
}
