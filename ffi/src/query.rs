//! Reading a store: run search and metric history, as the contract's JSON.

use std::ffi::c_char;

use runstore::output::{Format, write_history, write_runs};
use runstore::search::{Dialect, MAX_MAX_RESULTS, SearchRequest, search};
use runstore::{RunId, ViewType};
use serde::Deserialize;

use crate::error::{FfiError, rs_result};
use crate::handle::{rs_store, store_arg};
use crate::panic::ffi_call;
use crate::strings::{into_c_string, out_arg, str_arg};

/// The search request as C passes it: a JSON object, every field optional
/// (missing or `null` means the CLI's default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestJson {
    filter: Option<String>,
    order_by: Option<Vec<String>>,
    experiments: Option<Vec<String>>,
    experiment_ids: Option<Vec<u32>>,
    max_results: Option<i64>,
    page_token: Option<String>,
    view: Option<String>,
    extended: Option<bool>,
}

/// Parses and checks a request, with the CLI's messages for bad values.
pub(crate) fn parse_request(json: &str) -> Result<SearchRequest, FfiError> {
    let req: RequestJson = serde_json::from_str(json)
        .map_err(|e| FfiError::bad_input(format!("invalid search request JSON: {e}")))?;
    let defaults = SearchRequest::default();
    let max_results = parse_max_results(req.max_results, defaults.max_results)?;
    let view = parse_view(req.view.as_deref())?;
    Ok(SearchRequest {
        filter: req.filter.unwrap_or_default(),
        order_by: req.order_by.unwrap_or_default(),
        experiments: req.experiments.unwrap_or_default(),
        experiment_ids: req.experiment_ids.unwrap_or_default(),
        max_results,
        page_token: req.page_token,
        view,
        dialect: if req.extended.unwrap_or(false) {
            Dialect::Extended
        } else {
            Dialect::Mlflow
        },
    })
}

/// A request's `max_results`: 1 to `MAX_MAX_RESULTS`, `default` when absent.
pub(crate) fn parse_max_results(value: Option<i64>, default: usize) -> Result<usize, FfiError> {
    match value {
        None => Ok(default),
        Some(n) if n < 1 => Err(FfiError::bad_input(format!(
            "invalid value {n} for max_results: it must be a positive integer"
        ))),
        Some(n) if n > MAX_MAX_RESULTS as i64 => Err(FfiError::bad_input(format!(
            "invalid value {n} for max_results: it must be at most {MAX_MAX_RESULTS}"
        ))),
        Some(n) => Ok(n as usize),
    }
}

/// A request's `view`: `active` (the default), `deleted` or `all`, in any case.
pub(crate) fn parse_view(value: Option<&str>) -> Result<ViewType, FfiError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("active" | "active_only") => Ok(ViewType::ActiveOnly),
        Some("deleted" | "deleted_only") => Ok(ViewType::DeletedOnly),
        Some("all") => Ok(ViewType::All),
        Some(other) => Err(FfiError::bad_input(format!(
            "invalid view {other:?}: expected active, deleted or all"
        ))),
    }
}

/// Output of the facade's JSON writers as one string, without the final
/// newline the CLI prints.
fn json_text(write: impl FnOnce(&mut Vec<u8>) -> runstore::Result<()>) -> Result<String, FfiError> {
    let mut buf = Vec::new();
    write(&mut buf)?;
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map_err(|_| FfiError::new(rs_result::RS_FAILURE, "output is not valid UTF-8"))
}

/// Searches the runs of `store` (MLflow's `search_runs`).
///
/// `request_json` is a JSON object with these fields, each optional
/// (missing or `null` means the default): `"filter"` (string),
/// `"order_by"` (array of strings), `"experiments"` (array of names) and
/// `"experiment_ids"` (array of numbers; with no names and no ids, all
/// experiments; an unknown id matches nothing), `"max_results"` (1 to 50000, default 1000), `"page_token"`
/// (string from a previous page), `"view"` (`"active"`, `"deleted"` or
/// `"all"`), `"extended"` (bool: allow `OR`, `NOT` and parentheses). Unknown
/// fields are refused. On success `*out_json` receives the page as the
/// contract's search JSON, `{"runs": [...], "next_page_token": ...}` (no
/// trailing newline), to free with `rs_string_free`.
///
/// A bad request, filter or `order_by` gives `RS_BAD_INPUT`; a parse
/// error's message names the character position.
///
/// # Safety
///
/// `request_json` must be NULL or a NUL-terminated string; `out_json` NULL or a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_search_json(
    store: *const rs_store,
    request_json: *const c_char,
    out_json: *mut *mut c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises a NULL or NUL-terminated string.
        let request = unsafe { str_arg(request_json, "request_json") }?;
        let out_json = out_arg(out_json, "out_json")?;
        let request = parse_request(request)?;
        let page = search(&store, &request)?;
        let text = json_text(|buf| write_runs(buf, Format::Json, &page))?;
        let text = into_c_string(text)?;
        // SAFETY: `out_json` is non-NULL (checked) and the caller promises
        // it points to a writable `char *`.
        unsafe { *out_json = text };
        Ok(())
    })
}

/// The full history of metric `key` of run `run_id` (32 lowercase hex
/// characters), ordered by step, then timestamp, then value.
///
/// On success `*out_json` receives the contract's history JSON,
/// `{"run_id": ..., "key": ..., "history": [[step, value, timestamp], ...]}` (no
/// trailing newline), to free with `rs_string_free`. A malformed or unknown
/// run id gives `RS_BAD_INPUT`; a key the run never logged gives an empty
/// history.
///
/// # Safety
///
/// `run_id` and `key` must be NULL or NUL-terminated strings; `out_json` NULL or a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_history_json(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    out_json: *mut *mut c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (run_id, key) = unsafe { (str_arg(run_id, "run_id")?, str_arg(key, "key")?) };
        let out_json = out_arg(out_json, "out_json")?;
        let run_id: RunId = run_id.parse()?;
        let points = store.metric_history(run_id, key)?;
        let text = json_text(|buf| write_history(buf, Format::Json, run_id, key, &points))?;
        let text = into_c_string(text)?;
        // SAFETY: `out_json` is non-NULL (checked) and the caller promises
        // it points to a writable `char *`.
        unsafe { *out_json = text };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_object_is_the_default_request() {
        let req = parse_request("{}").expect("valid request");
        let def = SearchRequest::default();
        assert_eq!(req.filter, def.filter);
        assert_eq!(req.max_results, def.max_results);
        assert_eq!(req.view, ViewType::ActiveOnly);
        assert_eq!(req.dialect, Dialect::Mlflow);
    }

    #[test]
    fn every_field_is_read() {
        let req = parse_request(
            r#"{"filter": "metrics.a > 1", "order_by": ["metrics.a DESC"], "experiments": ["e"],
                "max_results": 7, "page_token": "t", "view": "ALL", "extended": true}"#,
        )
        .expect("valid request");
        assert_eq!(req.filter, "metrics.a > 1");
        assert_eq!(req.order_by, ["metrics.a DESC"]);
        assert_eq!(req.experiments, ["e"]);
        assert_eq!(req.max_results, 7);
        assert_eq!(req.page_token.as_deref(), Some("t"));
        assert_eq!(req.view, ViewType::All);
        assert_eq!(req.dialect, Dialect::Extended);
    }

    #[test]
    fn bad_values_are_bad_input() {
        for (json, wanted) in [
            (r#"{"max_results": 0}"#, "must be a positive integer"),
            (r#"{"max_results": 50001}"#, "at most 50000"),
            (r#"{"view": "archived"}"#, "invalid view"),
            (r#"{"filtre": ""}"#, "unknown field `filtre`"),
            (r#"{"filter": 3}"#, "invalid search request JSON"),
            ("[]", "invalid search request JSON"),
        ] {
            let err = parse_request(json).expect_err(json);
            assert_eq!(err.code, rs_result::RS_BAD_INPUT, "{json}");
            assert!(err.message.contains(wanted), "{json}: {}", err.message);
        }
    }
}
