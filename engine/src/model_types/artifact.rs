//! The artifact catalog's entries: files under the server's artifact root,
//! recorded so listings need no directory walk.

use crate::error::{Error, Result};

/// A file under the artifact root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactEntry {
    /// Path relative to the artifact root: `/`-separated, no leading `/`,
    /// no empty, `.` or `..` parts (see [`check_artifact_path`]).
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub digest: String,
    /// ms since the epoch the file was written.
    pub modified_ms: i64,
}

/// One child of a listed directory (MLflow's `FileInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactListing {
    /// The child's path relative to the artifact root, e.g. `1/abc/artifacts/model/MLmodel`
    /// for `list_artifacts("1/abc/artifacts/model")` — what MLflow's
    /// `LocalArtifactRepository.list_artifacts` returns when the repository
    /// is the artifact root. [`ArtifactListing::name`] is the last part (what
    /// `/mlflow-artifacts/artifacts?path=` lists) and
    /// [`ArtifactListing::relative_to`] the path under another root (what a
    /// run's `/mlflow/artifacts/list` lists, relative to the run's root).
    pub path: String,
    /// Whether it is a directory (derived from deeper paths).
    pub is_dir: bool,
    /// Bytes, for a file.
    pub size: Option<u64>,
}

impl ArtifactListing {
    /// The last part of the path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The path below `root` (a directory path relative to the artifact
    /// root, `""` for the root itself), or `None` when it is not below it.
    pub fn relative_to(&self, root: &str) -> Option<&str> {
        let root = root.trim_end_matches('/');
        if root.is_empty() {
            return Some(&self.path);
        }
        self.path.strip_prefix(root)?.strip_prefix('/')
    }
}

/// Checks an artifact path: not empty, `/`-separated, no leading or
/// trailing `/`, no empty, `.` or `..` parts, no backslash or NUL.
pub fn check_artifact_path(path: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::InvalidInput(format!(
            "Invalid artifact path: '{path}'. {why}"
        )))
    };
    if path.is_empty() {
        return bad("The path must not be empty.");
    }
    if path.starts_with('/') {
        return bad("The path must be relative (no leading '/').");
    }
    if path.contains(['\\', '\0']) {
        return bad("The path must not contain backslashes or NUL characters.");
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return bad("The path must not contain empty, '.' or '..' parts.");
    }
    Ok(())
}

/// Checks a directory to list: `""` (the root) or an artifact path; one
/// trailing `/` is allowed.
pub fn check_artifact_dir(dir: &str) -> Result<()> {
    let trimmed = dir.strip_suffix('/').unwrap_or(dir);
    if trimmed.is_empty() && dir.len() <= 1 {
        return Ok(());
    }
    check_artifact_path(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        for ok in [
            "a",
            "a/b.txt",
            "1/m-0a/artifacts/MLmodel",
            "a..b/c",
            ".hidden",
        ] {
            assert!(check_artifact_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/a", "a/", "a//b", "a/./b", "a/..", "..", "a\\b", "a\0"] {
            assert!(check_artifact_path(bad).is_err(), "{bad:?}");
        }
        assert!(check_artifact_dir("").is_ok());
        assert!(check_artifact_dir("a/b/").is_ok());
        assert!(check_artifact_dir("/").is_ok());
        assert!(check_artifact_dir("a//").is_err());
        assert!(check_artifact_dir("../x").is_err());
    }

    #[test]
    fn listing_names() {
        let l = ArtifactListing {
            path: "1/r/artifacts/model/MLmodel".into(),
            is_dir: false,
            size: Some(3),
        };
        assert_eq!(l.name(), "MLmodel");
        assert_eq!(l.relative_to("1/r/artifacts"), Some("model/MLmodel"));
        assert_eq!(l.relative_to("1/r/artifacts/"), Some("model/MLmodel"));
        assert_eq!(l.relative_to(""), Some("1/r/artifacts/model/MLmodel"));
        assert_eq!(l.relative_to("1/r/art"), None);
    }
}
