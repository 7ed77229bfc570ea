//! Where a new model version's files may come from: MLflow's server-side
//! checks of `model-versions/create`'s `source` against its `run_id` and
//! `model_id` (so a caller cannot register files of another run, another
//! model, or the server's own disk), and the lineage of `models:/name/N`
//! sources.

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::files::PROXY_SCHEME;
use super::runs::run_id as parse_run_id;

fn invalid_for(source: &str, id_name: &str) -> ApiError {
    ApiError::invalid(format!(
        "Invalid model version source: '{source}'. The {id_name} request parameter must \
         identify the resource that contains the source."
    ))
}

/// The scheme of `uri` (`models`, `runs`, `s3`…), if it has one.
fn scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let ok = !scheme.is_empty()
        && scheme.len() > 1 // `C:` is a drive, not a scheme
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(scheme)
}

/// Path parts of a URI's path (after `scheme:` and an optional `//authority`).
fn path_parts(uri: &str) -> (Option<String>, Vec<String>) {
    let rest = match scheme(uri) {
        Some(s) => &uri[s.len() + 1..],
        None => uri,
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(hosted) => match hosted.find('/') {
            Some(i) => (Some(hosted[..i].to_owned()), &hosted[i..]),
            None => (Some(hosted.to_owned()), ""),
        },
        None => (None, rest),
    };
    let parts = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_owned)
        .collect();
    (authority, parts)
}

/// MLflow's `_validate_non_local_source_contains_relative_paths`: no `..`,
/// no encoded dot segments or NULs.
fn no_relative_parts(source: &str) -> ApiResult<()> {
    let lower = source.to_ascii_lowercase();
    let decoded_dots =
        lower.contains("%2e%2e") || lower.contains("%2f..") || lower.contains("..%2f");
    let has_dotdot = source.split(['/', '\\']).any(|p| p == "..");
    if has_dotdot || decoded_dots || lower.contains("%00") || source.contains('\0') {
        return Err(ApiError::invalid(format!(
            "Invalid model version source: '{source}'. If supplying a source as an http, https, \
             local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be \
             provided without relative path references present. Please provide an absolute path."
        )));
    }
    Ok(())
}

fn is_local(source: &str) -> bool {
    match scheme(source) {
        None => true,
        Some(s) => s == "file",
    }
}

/// Whether `source` lies under `root` (same scheme and authority, a prefix of its path).
fn within(source: &str, root: &str) -> bool {
    let (sa, sp) = path_parts(source);
    let (ra, rp) = path_parts(root);
    scheme(source) == scheme(root) && sa == ra && !rp.is_empty() && sp.starts_with(&rp)
}

/// A `models:/` source: `models:/<model id>`, `models:/name/version`,
/// `models:/name@alias`, `models:/name/latest`.
enum ModelsUri {
    ModelId(String),
    Named { name: String, version: String },
}

fn parse_models_uri(source: &str) -> ApiResult<ModelsUri> {
    let (authority, parts) = path_parts(source);
    if authority.is_some() {
        return Err(ApiError::invalid(format!(
            "Invalid model version source: '{source}'. Registered model sources must use the \
             active model registry."
        )));
    }
    match parts.as_slice() {
        [one] if one.starts_with("m-") => Ok(ModelsUri::ModelId(one.clone())),
        [one] => match one.split_once('@') {
            Some((name, alias)) if !name.is_empty() && !alias.is_empty() => Ok(ModelsUri::Named {
                name: name.to_owned(),
                version: format!("@{alias}"),
            }),
            _ => Err(invalid_for(source, "model_id")),
        },
        [name, version] => Ok(ModelsUri::Named {
            name: name.clone(),
            version: version.clone(),
        }),
        _ => Err(invalid_for(source, "model_id")),
    }
}

/// Checks a version's `source` against its `run_id`/`model_id` as MLflow's
/// server does, and resolves `models:/name/N` sources to their lineage.
/// Returns the source, run id and model id to store.
pub(crate) fn check(
    state: &AppState,
    source: &str,
    run_id: Option<String>,
    model_id: Option<String>,
) -> ApiResult<(String, Option<String>, Option<String>)> {
    let (source, run_id, model_id) = lineage(state, source, run_id, model_id)?;
    if let Some(model) = &model_id {
        check_model_source(state, &source, model)?;
    } else {
        check_run_source(state, &source, run_id.as_deref())?;
    }
    Ok((source, run_id, model_id))
}

/// `models:/name/N` (or `@alias`, `latest`): the version it names, whose
/// run and model the new version inherits unless given (and must match).
fn lineage(
    state: &AppState,
    source: &str,
    run_id: Option<String>,
    model_id: Option<String>,
) -> ApiResult<(String, Option<String>, Option<String>)> {
    if scheme(source) != Some("models") {
        return Ok((source.to_owned(), run_id, model_id));
    }
    let ModelsUri::Named { name, version } = parse_models_uri(source)? else {
        return Ok((source.to_owned(), run_id, model_id));
    };
    let target = if let Some(alias) = version.strip_prefix('@') {
        state.store.get_model_version_by_alias(&name, alias)?
    } else if version == "latest" {
        let latest = state.store.get_latest_versions(&name, &[])?;
        latest
            .into_iter()
            .max_by_key(|v| v.version)
            .ok_or_else(|| {
                ApiError::not_found(format!("Registered Model with name={name} has no versions"))
            })?
    } else {
        state.store.get_model_version(&name, version.as_str())?
    };
    let differs = |given: &Option<String>, stored: &Option<String>| {
        given.is_some() && given.as_deref().unwrap_or("") != stored.as_deref().unwrap_or("")
    };
    if differs(&run_id, &target.run_id) || differs(&model_id, &target.model_id) {
        return Err(ApiError::invalid(format!(
            "Invalid model version source: '{source}'. The run_id and model_id request \
             parameters must match the referenced model version."
        )));
    }
    Ok((
        format!("models:/{name}/{}", target.version),
        run_id.or(target.run_id),
        model_id.or(target.model_id),
    ))
}

fn check_model_source(state: &AppState, source: &str, model_id: &str) -> ApiResult<()> {
    let model_root = || -> ApiResult<String> {
        match state.store.get_logged_model(model_id) {
            Ok(m) => Ok(state.artifacts.present(&m.artifact_location)),
            Err(e) if e.mlflow_error_code() == "RESOURCE_DOES_NOT_EXIST" => {
                Err(invalid_for(source, "model_id"))
            }
            Err(e) => Err(e.into()),
        }
    };
    if is_local(source) {
        return Err(ApiError::invalid(format!(
            "Invalid model version source: '{source}'. To use a local path as a model version \
             source, the model_id request parameter has to be specified and the local path has to \
             be contained within the artifact directory of the run specified by the model_id."
        )));
    }
    no_relative_parts(source)?;
    match scheme(source) {
        Some("models") => match parse_models_uri(source)? {
            ModelsUri::ModelId(id) if id == model_id => Ok(()),
            ModelsUri::ModelId(_) => Err(invalid_for(source, "model_id")),
            ModelsUri::Named { .. } => Ok(()),
        },
        Some("runs") => Err(invalid_for(source, "model_id")),
        _ if is_proxied(source) => {
            if within(source, &model_root()?) {
                Ok(())
            } else {
                Err(invalid_for(source, "model_id"))
            }
        }
        _ => Ok(()),
    }
}

fn check_run_source(state: &AppState, source: &str, run_id: Option<&str>) -> ApiResult<()> {
    let run_root = |id: &str| -> ApiResult<String> {
        let run = parse_run_id(id).and_then(|id| Ok(state.store.get_run(id)?));
        match run {
            Ok(run) => Ok(state.artifacts.present(&run.artifact_uri)),
            Err(e) if e.code == crate::mlflow::ErrorCode::RESOURCE_DOES_NOT_EXIST => {
                Err(invalid_for(source, "run_id"))
            }
            Err(e) => Err(e),
        }
    };
    if is_local(source) {
        return Err(ApiError::invalid(format!(
            "Invalid model version source: '{source}'. To use a local path as a model version \
             source, the run_id request parameter has to be specified and the local path has to be \
             contained within the artifact directory of the run specified by the run_id."
        )));
    }
    no_relative_parts(source)?;
    match scheme(source) {
        Some("runs") => {
            let (authority, parts) = path_parts(source);
            match (authority, parts.first(), run_id) {
                (None, Some(source_run), Some(run)) if source_run == run => Ok(()),
                _ => Err(invalid_for(source, "run_id")),
            }
        }
        Some("models") => match parse_models_uri(source)? {
            ModelsUri::ModelId(_) => Err(invalid_for(source, "model_id")),
            ModelsUri::Named { .. } => Ok(()),
        },
        _ if is_proxied(source) => match run_id {
            Some(run) if within(source, &run_root(run)?) => Ok(()),
            _ => Err(invalid_for(source, "run_id")),
        },
        _ => Ok(()),
    }
}

/// An `mlflow-artifacts:` URI or an http(s) URL of an artifact proxy route.
fn is_proxied(source: &str) -> bool {
    match scheme(source) {
        Some(s) if format!("{s}:") == PROXY_SCHEME => true,
        Some("http") | Some("https") => {
            let (_, parts) = path_parts(source);
            parts
                .windows(4)
                .any(|w| w == ["api", "2.0", "mlflow-artifacts", "artifacts"])
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_split_into_scheme_authority_and_parts() {
        assert_eq!(scheme("models:/m-1"), Some("models"));
        assert_eq!(scheme("/tmp/x"), None);
        assert_eq!(scheme("C:/x"), None);
        assert_eq!(
            path_parts("mlflow-artifacts:/1/a/artifacts").1,
            vec!["1", "a", "artifacts"]
        );
        assert_eq!(path_parts("s3://bucket/x/y").0.as_deref(), Some("bucket"));
        assert!(within(
            "mlflow-artifacts:/1/r/artifacts/model",
            "mlflow-artifacts:/1/r/artifacts"
        ));
        assert!(!within(
            "mlflow-artifacts:/1/q/artifacts/model",
            "mlflow-artifacts:/1/r/artifacts"
        ));
        assert!(no_relative_parts("s3://b/models/../x").is_err());
        assert!(no_relative_parts("mlflow-artifacts:/1/..%2f..%2fetc").is_err());
        assert!(no_relative_parts("s3://b/models/x").is_ok());
    }
}
