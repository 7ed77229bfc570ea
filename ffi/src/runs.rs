//! Runs: create, update, delete, restore, get.
//!
//! Run ids are 32 lowercase hex characters. Every function here may be
//! called from several threads at once on one handle; each write is durable
//! when it returns.

use std::ffi::c_char;

use runstore::engine::TAG_PARENT_RUN_ID;
use runstore::output::run_json;
use runstore::{ExperimentId, NewRun, RunStatus, RunUpdate};

use crate::error::{FfiError, rs_result};
use crate::handle::{rs_store, store_arg};
use crate::panic::ffi_call;
use crate::strings::{
    opt_str_arg, out_arg, run_id_arg, slice_arg, str_array_arg, write_string_out,
};

/// The size of the buffer `rs_run_create` writes a run id into: 32 hex
/// characters and a NUL.
pub const RS_RUN_ID_SIZE: usize = 33;

/// Pairs of keys and values from two parallel C arrays of `len` strings.
///
/// # Safety
///
/// As `str_array_arg`, for both arrays.
pub(crate) unsafe fn pairs_arg(
    keys: *const *const c_char,
    values: *const *const c_char,
    len: usize,
    what: &str,
) -> Result<Vec<(String, String)>, FfiError> {
    // SAFETY: the caller's promise covers both arrays.
    let (keys, values) = unsafe {
        (
            str_array_arg(keys, len, &format!("{what}_keys"))?,
            str_array_arg(values, len, &format!("{what}_values"))?,
        )
    };
    Ok(keys
        .into_iter()
        .zip(values)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// Creates a run in experiment `experiment_id` (MLflow's `create_run`) and
/// writes its id, NUL-terminated, into `out_run_id` (`RS_RUN_ID_SIZE` bytes).
///
/// Optional arguments may be NULL: `run_name` (MLflow's random
/// `adjective-noun-N` name when NULL), `start_time` (milliseconds since the
/// epoch; now when NULL), `user`, `parent_run_id` (a nested run: the parent
/// must exist; stored as the tag `mlflow.parentRunId`). `tag_keys` and
/// `tag_values` are `n_tags` strings each (NULL when `n_tags` is 0). The run
/// starts `RUNNING`. An unknown or deleted experiment gives `RS_BAD_INPUT`.
///
/// # Safety
///
/// String arguments must be NULL or NUL-terminated; `start_time` NULL or a
/// readable `int64_t`; the tag arrays NULL or `n_tags` string pointers;
/// `out_run_id` NULL or `RS_RUN_ID_SIZE` writable bytes.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn rs_run_create(
    store: *const rs_store,
    experiment_id: u32,
    run_name: *const c_char,
    start_time: *const i64,
    user: *const c_char,
    parent_run_id: *const c_char,
    tag_keys: *const *const c_char,
    tag_values: *const *const c_char,
    n_tags: usize,
    out_run_id: *mut c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings, a
        // readable `start_time` and `n_tags`-long arrays.
        let (run_name, start_time, user, parent, mut tags) = unsafe {
            (
                opt_str_arg(run_name, "run_name")?,
                slice_arg(start_time, usize::from(!start_time.is_null()), "start_time")?,
                opt_str_arg(user, "user")?,
                opt_str_arg(parent_run_id, "parent_run_id")?,
                pairs_arg(tag_keys, tag_values, n_tags, "tag")?,
            )
        };
        let out_run_id = out_arg(out_run_id, "out_run_id")?;
        if let Some(parent) = parent {
            let parent_id: runstore::RunId = parent.parse()?;
            if !store.run_exists(parent_id)? {
                return Err(FfiError::not_found(format!(
                    "parent run {parent} not found"
                )));
            }
            tags.push((TAG_PARENT_RUN_ID.to_owned(), parent.to_owned()));
        }
        let run = store.create_run(
            ExperimentId(experiment_id),
            NewRun {
                run_id: None,
                run_name: run_name.map(str::to_owned),
                start_time: start_time.first().copied(),
                user: user.map(str::to_owned),
                tags,
            },
        )?;
        let id = run.run_id.to_string();
        let mut bytes = [0u8; RS_RUN_ID_SIZE];
        bytes[..id.len()].copy_from_slice(id.as_bytes());
        // SAFETY: checked non-NULL; the caller promises RS_RUN_ID_SIZE
        // writable bytes, and `bytes` is that long and NUL-terminated.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), out_run_id.cast::<u8>(), RS_RUN_ID_SIZE)
        };
        Ok(())
    })
}

/// Changes a run's attributes (MLflow's `update_run`); NULL leaves one as
/// it is. `status` is `"RUNNING"`, `"SCHEDULED"`, `"FINISHED"`, `"FAILED"` or
/// `"KILLED"`; `end_time` milliseconds since the epoch; `run_name` a new
/// name (also kept as the tag `mlflow.runName`, as MLflow does).
///
/// # Safety
///
/// `run_id`, `status` and `run_name` must be NULL or NUL-terminated strings;
/// `end_time` NULL or a readable `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_run_update(
    store: *const rs_store,
    run_id: *const c_char,
    status: *const c_char,
    end_time: *const i64,
    run_name: *const c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings and a
        // NULL or readable `end_time`.
        let (run_id, status, end_time, run_name) = unsafe {
            (
                run_id_arg(run_id)?,
                opt_str_arg(status, "status")?,
                slice_arg(end_time, usize::from(!end_time.is_null()), "end_time")?,
                opt_str_arg(run_name, "run_name")?,
            )
        };
        let status = status.map(str::parse::<RunStatus>).transpose()?;
        let update = RunUpdate {
            status,
            end_time: end_time.first().copied(),
            run_name: run_name.map(str::to_owned),
        };
        Ok(store.update_run(run_id, update)?)
    })
}

/// Soft-deletes run `run_id` (MLflow's `delete_run`).
///
/// # Safety
///
/// `run_id` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_run_delete(store: *const rs_store, run_id: *const c_char) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let run_id = unsafe { run_id_arg(run_id) }?;
        Ok(store.delete_run(run_id)?)
    })
}

/// Restores a deleted run (MLflow's `restore_run`).
///
/// # Safety
///
/// `run_id` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_run_restore(
    store: *const rs_store,
    run_id: *const c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let run_id = unsafe { run_id_arg(run_id) }?;
        Ok(store.restore_run(run_id)?)
    })
}

/// Writes run `run_id` (active or deleted) to `*out_json` as one run of the
/// contract's search JSON (`run_id`, `run_name`, `experiment_id`, `status`,
/// times, `params`, `tags`, latest `metrics`, `inputs`…); free it with
/// `rs_string_free`. An unknown run gives `RS_BAD_INPUT` with code
/// `RESOURCE_DOES_NOT_EXIST`.
///
/// # Safety
///
/// `run_id` must be NULL or a NUL-terminated string; `out_json` NULL or a
/// writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_run_get_json(
    store: *const rs_store,
    run_id: *const c_char,
    out_json: *mut *mut c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let run_id = unsafe { run_id_arg(run_id) }?;
        let out_json = out_arg(out_json, "out_json")?;
        let run = store.get_run(run_id)?;
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { write_string_out(out_json, run_json(&run).to_string()) }
    })
}
