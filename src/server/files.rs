//! The artifact root: where the artifact proxy keeps uploaded files, how a
//! store's artifact URIs map onto it, and safe paths inside it.
//!
//! A store's experiments keep their artifacts under the store's default
//! artifact root (`file://<store>/artifacts/<experiment id>`); the server
//! presents those locations as MLflow's proxied form
//! (`mlflow-artifacts:/<experiment id>/…`), which MLflow's client resolves
//! to this server's `/api/2.0/mlflow-artifacts/artifacts/…` routes, and
//! stores the files under `--artifacts-root` (by default the same
//! directory). Locations set explicitly (say `s3://…`) are shown as they are.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{ApiError, ApiResult};
use crate::engine::Store;
use crate::error::{Error, Result};

/// The proxied URI scheme MLflow's client resolves against the tracking server.
pub(crate) const PROXY_SCHEME: &str = "mlflow-artifacts:";

/// The artifact root directory and the store URI it stands for.
pub(crate) struct ArtifactRoot {
    dir: PathBuf,
    /// The store's default artifact root URI, without a trailing `/`.
    store_root: String,
}

/// A file written under the root.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, as hex.
    pub digest: String,
}

impl ArtifactRoot {
    /// The root `dir` (created if missing) for `store`.
    pub fn open(dir: PathBuf, store: &Store) -> Result<Self> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
            path: dir.clone(),
            source: e,
        })?;
        let dir = std::fs::canonicalize(&dir).map_err(|e| Error::Io {
            path: dir.clone(),
            source: e,
        })?;
        let store_root = store.artifact_root()?.trim_end_matches('/').to_owned();
        Ok(ArtifactRoot { dir, store_root })
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `uri` as the server presents it: under the store's artifact root,
    /// the proxied `mlflow-artifacts:/…` form; anything else unchanged.
    pub fn present(&self, uri: &str) -> String {
        match uri.strip_prefix(&self.store_root) {
            Some("") => format!("{PROXY_SCHEME}/"),
            Some(rest) if rest.starts_with('/') => format!("{PROXY_SCHEME}{rest}"),
            _ => uri.to_owned(),
        }
    }

    /// The proxy path (relative to the root) of a URI the server presented,
    /// or of a store URI under the default root; `None` for other URIs.
    pub fn proxy_path(&self, uri: &str) -> Option<String> {
        let rest = match uri.strip_prefix(PROXY_SCHEME) {
            Some(rest) => rest,
            None => uri.strip_prefix(&self.store_root)?,
        };
        // mlflow-artifacts://host/path and mlflow-artifacts:/path both name /path.
        let rest = match rest.strip_prefix("//") {
            Some(hosted) => hosted.find('/').map_or("", |i| &hosted[i..]),
            None => rest,
        };
        Some(rest.trim_matches('/').to_owned())
    }

    /// The file or directory at proxy path `rel` ("" is the root).
    pub fn path(&self, rel: &str) -> ApiResult<PathBuf> {
        Ok(self.dir.join(safe_relative(rel)?))
    }

    /// The file at `rel` under an artifact location this server holds (a
    /// run's artifact URI, a logged model's location); `owner` ("run",
    /// "model") names whose artifacts are missing when the location is not
    /// this server's.
    pub fn file_under(&self, location: &str, rel: &str, owner: &str) -> ApiResult<PathBuf> {
        let base = self.proxy_path(location).ok_or_else(|| {
            ApiError::not_found(format!("the {owner}'s artifacts are not on this server"))
        })?;
        self.path(&join(&base, rel))
    }

    /// Writes `chunks` to the file at `rel` atomically (a temporary file in
    /// the same directory, synced, then renamed over it).
    pub fn write(
        &self,
        rel: &str,
        chunks: &mut dyn Iterator<Item = std::io::Result<axum::body::Bytes>>,
    ) -> ApiResult<Written> {
        let path = self.path(rel)?;
        if rel.trim_matches('/').is_empty() {
            return Err(ApiError::invalid("an artifact upload needs a file path"));
        }
        let parent = path
            .parent()
            .ok_or_else(|| ApiError::invalid(format!("invalid artifact path {rel:?}")))?;
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        if path.is_dir() {
            return Err(ApiError::invalid(format!(
                "artifact path {rel:?} is a directory"
            )));
        }
        let tmp = parent.join(format!(
            ".{}.upload-{:016x}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("artifact"),
            fastrand_u64()
        ));
        let result = (|| {
            let mut file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            for chunk in chunks {
                let chunk = chunk.map_err(|e| {
                    ApiError::new(
                        crate::mlflow::ErrorCode::BAD_REQUEST,
                        format!("reading the upload: {e}"),
                    )
                })?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                file.write_all(&chunk).map_err(|e| io_error(&tmp, e))?;
            }
            file.sync_all().map_err(|e| io_error(&tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))?;
            Ok(Written {
                size,
                digest: hex(&hasher.finalize()),
            })
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

/// `rel` as a relative path with no `..`, no root, no empty or `.` parts
/// (MLflow's `validate_path_is_safe`).
pub(crate) fn safe_relative(rel: &str) -> ApiResult<PathBuf> {
    let bad = || ApiError::invalid(format!("Invalid path: {rel}"));
    if rel.starts_with('/') || rel.contains('\\') || rel.contains('\0') {
        return Err(bad());
    }
    let mut out = PathBuf::new();
    for part in rel.split('/') {
        match part {
            "" | "." => continue,
            ".." => return Err(bad()),
            p => out.push(p),
        }
    }
    Ok(out)
}

fn io_error(path: &Path, e: std::io::Error) -> ApiError {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            ApiError::not_found(format!("{}: no such artifact", path.display()))
        }
        _ => ApiError::internal(format!("{}: {e}", path.display())),
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn fastrand_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

/// `a/b` joined, either side possibly empty.
pub(crate) fn join(a: &str, b: &str) -> String {
    let (a, b) = (a.trim_matches('/'), b.trim_matches('/'));
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}/{b}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(safe_relative("../x").is_err());
        assert!(safe_relative("a/../../x").is_err());
        assert!(safe_relative("/etc/passwd").is_err());
        assert_eq!(safe_relative("a//b/./c").unwrap(), PathBuf::from("a/b/c"));
        assert_eq!(safe_relative("").unwrap(), PathBuf::new());
    }
}
