//! Experiments: create, read, rename, delete, restore, tag, search.
//!
//! Experiment ids are MLflow's numeric ids (`"0"` is `Default`) as
//! `uint32_t`. Every function here may be called from several threads at
//! once on one handle; each write is durable when it returns.

use std::ffi::c_char;

use runstore::ExperimentId;
use runstore::output::experiment_json;
use runstore::search::{ExperimentSearch, search_experiments};
use serde::Deserialize;
use serde_json::json;

use crate::error::{FfiError, rs_result};
use crate::handle::{rs_store, store_arg};
use crate::panic::ffi_call;
use crate::query::{parse_max_results, parse_view};
use crate::strings::{opt_str_arg, out_arg, str_arg, write_out, write_string_out};

/// Creates experiment `name` (MLflow's `create_experiment`) and writes its
/// id to `*out_id`.
///
/// `artifact_location` may be NULL (the store's default location). A name
/// already taken (by an active or deleted experiment) gives `RS_BAD_INPUT`
/// with code `RESOURCE_ALREADY_EXISTS`.
///
/// # Safety
///
/// `name` must be NULL or a NUL-terminated string, `artifact_location` too;
/// `out_id` NULL or a writable `uint32_t`. Any handle value is safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_experiment_create(
    store: *const rs_store,
    name: *const c_char,
    artifact_location: *const c_char,
    out_id: *mut u32,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (name, location) = unsafe {
            (
                str_arg(name, "name")?,
                opt_str_arg(artifact_location, "artifact_location")?,
            )
        };
        let out_id = out_arg(out_id, "out_id")?;
        let id = store.create_experiment(name, location, &[])?;
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { write_out(out_id, id.0) };
        Ok(())
    })
}

/// Writes experiment `experiment_id` as JSON to `*out_json` (free with
/// `rs_string_free`): MLflow's fields, `{"experiment_id": "1", "name": …,
/// "artifact_location": …, "lifecycle_stage": "active", "creation_time": …,
/// "last_update_time": …, "tags": {…}}`. An unknown id gives `RS_BAD_INPUT`
/// with code `RESOURCE_DOES_NOT_EXIST`.
///
/// # Safety
///
/// `out_json` must be NULL or a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_experiment_get_json(
    store: *const rs_store,
    experiment_id: u32,
    out_json: *mut *mut c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        let out_json = out_arg(out_json, "out_json")?;
        let experiment = store.get_experiment(ExperimentId(experiment_id))?;
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { write_string_out(out_json, experiment_json(&experiment).to_string()) }
    })
}

/// Writes the experiment named `name` (active or deleted) as JSON to
/// `*out_json`, as `rs_experiment_get_json` does. No such experiment gives
/// `RS_BAD_INPUT` with code `RESOURCE_DOES_NOT_EXIST`.
///
/// # Safety
///
/// `name` must be NULL or a NUL-terminated string; `out_json` NULL or a
/// writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_experiment_by_name_json(
    store: *const rs_store,
    name: *const c_char,
    out_json: *mut *mut c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let name = unsafe { str_arg(name, "name") }?;
        let out_json = out_arg(out_json, "out_json")?;
        let experiment = store.experiment_by_name(name)?.ok_or_else(|| {
            FfiError::not_found(format!("Could not find experiment with name '{name}'"))
        })?;
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { write_string_out(out_json, experiment_json(&experiment).to_string()) }
    })
}

/// Renames experiment `experiment_id` to `new_name` (MLflow's
/// `rename_experiment`; the name must be free).
///
/// # Safety
///
/// `new_name` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_experiment_rename(
    store: *const rs_store,
    experiment_id: u32,
    new_name: *const c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let new_name = unsafe { str_arg(new_name, "new_name") }?;
        Ok(store.rename_experiment(ExperimentId(experiment_id), new_name)?)
    })
}

/// Soft-deletes experiment `experiment_id` and its runs (MLflow's
/// `delete_experiment`); `rs_experiment_restore` undoes it.
#[unsafe(no_mangle)]
pub extern "C" fn rs_experiment_delete(store: *const rs_store, experiment_id: u32) -> rs_result {
    ffi_call(|| Ok(store_arg(store)?.delete_experiment(ExperimentId(experiment_id))?))
}

/// Restores a deleted experiment and its runs (MLflow's `restore_experiment`).
#[unsafe(no_mangle)]
pub extern "C" fn rs_experiment_restore(store: *const rs_store, experiment_id: u32) -> rs_result {
    ffi_call(|| Ok(store_arg(store)?.restore_experiment(ExperimentId(experiment_id))?))
}

/// Sets tag `key` of experiment `experiment_id` to `value` (MLflow's
/// `set_experiment_tag`: replaces an old value).
///
/// # Safety
///
/// `key` and `value` must be NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_experiment_set_tag(
    store: *const rs_store,
    experiment_id: u32,
    key: *const c_char,
    value: *const c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (key, value) = unsafe { (str_arg(key, "key")?, str_arg(value, "value")?) };
        Ok(store.set_experiment_tag(ExperimentId(experiment_id), key, value)?)
    })
}

/// Deletes tag `key` of experiment `experiment_id` (MLflow's
/// `delete_experiment_tag`).
///
/// # Safety
///
/// `key` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_experiment_delete_tag(
    store: *const rs_store,
    experiment_id: u32,
    key: *const c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let key = unsafe { str_arg(key, "key") }?;
        Ok(store.delete_experiment_tag(ExperimentId(experiment_id), key)?)
    })
}

/// The fields of an experiment search request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentRequestJson {
    filter: Option<String>,
    order_by: Option<Vec<String>>,
    max_results: Option<i64>,
    page_token: Option<String>,
    view: Option<String>,
}

/// MLflow's `search_experiments`.
///
/// `request_json` is a JSON object whose fields are all optional:
/// `"filter"` (MLflow's experiment filter: `name`, `tags.<key>`,
/// `creation_time`, `last_update_time`), `"order_by"` (array of strings),
/// `"max_results"` (1 to 50000, default 1000), `"page_token"`, `"view"`
/// (`"active"`, `"deleted"` or `"all"`). `*out_json` receives
/// `{"experiments": [...], "next_page_token": ...}`, each experiment as
/// `rs_experiment_get_json` writes it.
///
/// # Safety
///
/// `request_json` must be NULL or a NUL-terminated string; `out_json` NULL
/// or a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_experiments_search_json(
    store: *const rs_store,
    request_json: *const c_char,
    out_json: *mut *mut c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let request = unsafe { str_arg(request_json, "request_json") }?;
        let out_json = out_arg(out_json, "out_json")?;
        let req: ExperimentRequestJson = serde_json::from_str(request).map_err(|e| {
            FfiError::bad_input(format!("invalid experiment search request JSON: {e}"))
        })?;
        let defaults = ExperimentSearch::default();
        let request = ExperimentSearch {
            view: parse_view(req.view.as_deref())?,
            filter: req.filter.unwrap_or_default(),
            order_by: req.order_by.unwrap_or_default(),
            max_results: parse_max_results(req.max_results, defaults.max_results)?,
            page_token: req.page_token,
        };
        let page = search_experiments(&store, &request)?;
        let list: Vec<_> = page.experiments.iter().map(experiment_json).collect();
        let doc = json!({"experiments": list, "next_page_token": page.next_page_token});
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { write_string_out(out_json, doc.to_string()) }
    })
}
