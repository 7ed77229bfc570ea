//! The artifact catalog: every file the server stores under its artifact
//! root, keyed by path, so a listing is a range scan instead of a directory
//! walk.
//!
//! Listing a directory visits its files and one key per subdirectory: when
//! the scan meets `dir/sub/…` it reports `sub` and seeks past every key
//! under it (to `dir/sub0`, `0` being the character after `/`), so a
//! directory's cost follows its children, not what lies below them.

use redb::{ReadableTable, Table};

use super::open_read;
use crate::catalog::models::{ARTIFACTS, ArtifactRow};
use crate::catalog::rows::{decode, encode};
use crate::error::{Error, Result};
use crate::model_types::{ArtifactEntry, ArtifactListing, check_artifact_dir, check_artifact_path};
use crate::store::{Store, WriteBatch};

/// `dir` without a trailing `/` (`""` is the root).
fn normalize_dir(dir: &str) -> &str {
    dir.strip_suffix('/').unwrap_or(dir)
}

/// The key prefix of everything under `dir`.
fn prefix_of(dir: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    }
}

fn check_digest(digest: &str) -> Result<()> {
    if digest.len() != 64
        || !digest
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Error::InvalidInput(format!(
            "artifact digest must be 64 lowercase hex characters (SHA-256), got '{digest}'"
        )));
    }
    Ok(())
}

/// Whether any key lies under `prefix` (which ends with `/`).
fn any_under(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    prefix: &str,
) -> Result<bool> {
    match table.range(prefix..)?.next() {
        Some(entry) => Ok(entry?.0.value().starts_with(prefix)),
        None => Ok(false),
    }
}

impl WriteBatch<'_> {
    /// Records (or replaces) a file. A path cannot be both a file and a
    /// directory: recording `a/b` while `a` is a file, or `a` while files
    /// lie under `a/`, is refused.
    pub fn record_artifact(&mut self, entry: &ArtifactEntry) -> Result<()> {
        check_artifact_path(&entry.path)?;
        check_digest(&entry.digest)?;
        {
            let table = self.txn()?.open_table(ARTIFACTS)?;
            let mut end = 0;
            while let Some(i) = entry.path[end..].find('/') {
                let ancestor = &entry.path[..end + i];
                if table.get(ancestor)?.is_some() {
                    return Err(Error::InvalidInput(format!(
                        "Invalid artifact path: '{}'. '{ancestor}' is a file, not a directory.",
                        entry.path
                    )));
                }
                end += i + 1;
            }
            if any_under(&table, &prefix_of(&entry.path))? {
                return Err(Error::InvalidInput(format!(
                    "Invalid artifact path: '{}'. It is a directory, not a file.",
                    entry.path
                )));
            }
        }
        let row = encode(&ArtifactRow {
            size: entry.size,
            digest: entry.digest.clone(),
            modified_ms: entry.modified_ms,
        })?;
        self.guarded(|b| {
            b.txn()?
                .open_table(ARTIFACTS)?
                .insert(entry.path.as_str(), row.as_slice())?;
            Ok(())
        })
    }

    /// Forgets the file at `path`; how many were removed (0 or 1).
    pub fn remove_artifact(&mut self, path: &str) -> Result<usize> {
        check_artifact_path(path)?;
        self.guarded(|b| {
            let removed = b.txn()?.open_table(ARTIFACTS)?.remove(path)?.is_some();
            Ok(usize::from(removed))
        })
    }

    /// Forgets the file at `prefix` and every file under `prefix/` (`""`:
    /// every file); how many were removed.
    pub fn remove_artifacts_under(&mut self, prefix: &str) -> Result<usize> {
        check_artifact_dir(prefix)?;
        let dir = normalize_dir(prefix).to_owned();
        self.guarded(|b| {
            let mut table = b.txn()?.open_table(ARTIFACTS)?;
            let mut removed = 0;
            if !dir.is_empty() && table.remove(dir.as_str())?.is_some() {
                removed += 1;
            }
            removed += remove_under(&mut table, &prefix_of(&dir))?;
            Ok(removed)
        })
    }
}

fn remove_under(table: &mut Table<'_, &'static str, &'static [u8]>, prefix: &str) -> Result<usize> {
    let keys: Vec<String> = {
        let mut keys = Vec::new();
        for entry in table.range(prefix..)? {
            let (key, _) = entry?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            keys.push(key.to_owned());
        }
        keys
    };
    for key in &keys {
        table.remove(key.as_str())?;
    }
    Ok(keys.len())
}

impl Store {
    /// Records (or replaces) an artifact file; durable on return.
    pub fn record_artifact(&self, entry: ArtifactEntry) -> Result<()> {
        self.submit(move |b| b.record_artifact(&entry))
    }

    /// Forgets the file at `path`; how many were removed (0 or 1).
    pub fn remove_artifact(&self, path: &str) -> Result<usize> {
        let path = path.to_owned();
        self.submit(move |b| b.remove_artifact(&path))
    }

    /// Forgets the file at `prefix` and everything under it; how many.
    pub fn remove_artifacts_under(&self, prefix: &str) -> Result<usize> {
        let prefix = prefix.to_owned();
        self.submit(move |b| b.remove_artifacts_under(&prefix))
    }

    /// The file recorded at `path`, if any.
    pub fn artifact(&self, path: &str) -> Result<Option<ArtifactEntry>> {
        check_artifact_path(path)?;
        let txn = self.begin_read()?;
        let Some(table) = open_read(&txn, ARTIFACTS)? else {
            return Ok(None);
        };
        let row: Option<ArtifactRow> = table
            .get(path)?
            .map(|b| decode("artifact", b.value()))
            .transpose()?;
        Ok(row.map(|row| ArtifactEntry {
            path: path.to_owned(),
            size: row.size,
            digest: row.digest,
            modified_ms: row.modified_ms,
        }))
    }

    /// The immediate children of directory `dir` (`""` for the root; one
    /// trailing `/` allowed), sorted by path, as MLflow's local artifact
    /// repository lists them: files with their size, directories (any path
    /// with deeper parts) without. Each child's `path` is relative to the
    /// artifact root (see [`ArtifactListing`]). A `dir` that is a file or
    /// holds nothing lists as empty.
    pub fn list_artifacts(&self, dir: &str) -> Result<Vec<ArtifactListing>> {
        check_artifact_dir(dir)?;
        let dir = normalize_dir(dir);
        let base = prefix_of(dir);
        let txn = self.begin_read()?;
        let Some(table) = open_read(&txn, ARTIFACTS)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut start = base.clone();
        'seek: loop {
            for entry in table.range(start.as_str()..)? {
                let (key, value) = entry?;
                let key = key.value();
                let Some(rest) = key.strip_prefix(base.as_str()) else {
                    break 'seek;
                };
                match rest.split_once('/') {
                    None => {
                        let row: ArtifactRow = decode("artifact", value.value())?;
                        out.push(ArtifactListing {
                            path: key.to_owned(),
                            is_dir: false,
                            size: Some(row.size),
                        });
                    }
                    Some((sub, _)) => {
                        let path = format!("{base}{sub}");
                        // Past every key under `path/`: '0' follows '/'.
                        start = format!("{path}0");
                        out.push(ArtifactListing {
                            path,
                            is_dir: true,
                            size: None,
                        });
                        continue 'seek;
                    }
                }
            }
            break;
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}
