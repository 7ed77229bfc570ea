//! Logging into a run: metrics, params, tags, batches, dataset inputs, and
//! the buffered (`synchronous=False`) variants with their flush.
//!
//! Every function here may be called from several threads at once on one
//! handle. Synchronous writes from concurrent callers share one commit
//! (group commit) and each call returns once its write is durable.
//! MLflow's validation applies: key and value limits, immutable params, an
//! active run, at most 1000 metrics, 100 params and 100 tags per batch.

use std::ffi::c_char;

use runstore::{DatasetInput, MetricBatch, MetricPoint, RunId, Store};

use crate::error::rs_result;
use crate::handle::{rs_store, store_arg};
use crate::panic::ffi_call;
use crate::runs::pairs_arg;
use crate::strings::{opt_str_arg, run_id_arg, slice_arg, str_arg, str_array_arg};

/// A store method writing one point of a run's metric.
type MetricWrite = fn(&Store, RunId, &str, MetricPoint) -> runstore::engine::Result<()>;
/// A store method writing one key/value pair (a param or a tag) of a run.
type KeyValueWrite = fn(&Store, RunId, &str, &str) -> runstore::engine::Result<()>;

/// The body of `rs_log_metric` and `rs_log_metric_buffered`: checks the
/// handle, the run id and the key, then writes `point` with `write`.
///
/// # Safety
///
/// `run_id` and `key` must be NULL or NUL-terminated strings.
unsafe fn metric_call(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    point: MetricPoint,
    write: MetricWrite,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (run_id, key) = unsafe { (run_id_arg(run_id)?, str_arg(key, "key")?) };
        Ok(write(&store, run_id, key, point)?)
    })
}

/// The body of the param and tag calls, synchronous or buffered: checks the
/// handle, the run id, the key and the value, then writes them with `write`.
///
/// # Safety
///
/// `run_id`, `key` and `value` must be NULL or NUL-terminated strings.
unsafe fn key_value_call(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    value: *const c_char,
    write: KeyValueWrite,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (run_id, key, value) = unsafe {
            (
                run_id_arg(run_id)?,
                str_arg(key, "key")?,
                str_arg(value, "value")?,
            )
        };
        Ok(write(&store, run_id, key, value)?)
    })
}

/// Logs one point of metric `key` of run `run_id` (MLflow's `log_metric`):
/// `value` (NaN and ±infinity are kept), `timestamp` in milliseconds since
/// the epoch, `step` (MLflow's default is 0). Durable when it returns.
///
/// # Safety
///
/// `run_id` and `key` must be NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_log_metric(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    value: f64,
    timestamp: i64,
    step: i64,
) -> rs_result {
    let point = MetricPoint {
        step,
        value,
        timestamp,
    };
    // SAFETY: the caller's promise is `metric_call`'s.
    unsafe { metric_call(store, run_id, key, point, Store::log_metric) }
}

/// Logs param `key` = `value` of run `run_id` (MLflow's `log_param`).
/// Logging the value a param already has is a no-op; another value gives
/// `RS_BAD_INPUT` (params are immutable).
///
/// # Safety
///
/// `run_id`, `key` and `value` must be NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_log_param(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    value: *const c_char,
) -> rs_result {
    // SAFETY: the caller's promise is `key_value_call`'s.
    unsafe { key_value_call(store, run_id, key, value, Store::log_param) }
}

/// Sets tag `key` of run `run_id` to `value` (MLflow's `set_tag`).
///
/// # Safety
///
/// `run_id`, `key` and `value` must be NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_set_tag(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    value: *const c_char,
) -> rs_result {
    // SAFETY: the caller's promise is `key_value_call`'s.
    unsafe { key_value_call(store, run_id, key, value, Store::set_tag) }
}

/// Deletes tag `key` of run `run_id` (MLflow's `delete_tag`); a tag the run
/// does not have gives `RS_BAD_INPUT` with code `RESOURCE_DOES_NOT_EXIST`.
///
/// # Safety
///
/// `run_id` and `key` must be NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_delete_tag(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (run_id, key) = unsafe { (run_id_arg(run_id)?, str_arg(key, "key")?) };
        Ok(store.delete_tag(run_id, key)?)
    })
}

/// Logs metrics, params and tags of run `run_id` in one write (MLflow's
/// `log_batch`): all of it is stored, or none of it.
///
/// Metric `i` is `metric_keys[i]`, `metric_values[i]`,
/// `metric_timestamps[i]` (ms), `metric_steps[i]`, for `i < n_metrics`;
/// params and tags are parallel key and value arrays of `n_params` and
/// `n_tags` strings. An array may be NULL when its count is 0.
///
/// # Safety
///
/// `run_id` must be NULL or a NUL-terminated string; each array NULL or as
/// long as its count says, each string NULL or NUL-terminated.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn rs_log_batch(
    store: *const rs_store,
    run_id: *const c_char,
    metric_keys: *const *const c_char,
    metric_values: *const f64,
    metric_timestamps: *const i64,
    metric_steps: *const i64,
    n_metrics: usize,
    param_keys: *const *const c_char,
    param_values: *const *const c_char,
    n_params: usize,
    tag_keys: *const *const c_char,
    tag_values: *const *const c_char,
    n_tags: usize,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings and
        // arrays as long as their counts.
        let (run_id, keys, values, timestamps, steps, params, tags) = unsafe {
            (
                run_id_arg(run_id)?,
                str_array_arg(metric_keys, n_metrics, "metric_keys")?,
                slice_arg(metric_values, n_metrics, "metric_values")?,
                slice_arg(metric_timestamps, n_metrics, "metric_timestamps")?,
                slice_arg(metric_steps, n_metrics, "metric_steps")?,
                pairs_arg(param_keys, param_values, n_params, "param")?,
                pairs_arg(tag_keys, tag_values, n_tags, "tag")?,
            )
        };
        let metrics = (0..n_metrics)
            .map(|i| {
                let point = MetricPoint {
                    step: steps[i],
                    value: values[i],
                    timestamp: timestamps[i],
                };
                (keys[i].to_owned(), point)
            })
            .collect();
        let batch = MetricBatch {
            metrics,
            params,
            tags,
        };
        Ok(store.log_batch(run_id, batch)?)
    })
}

/// Records that run `run_id` used a dataset (MLflow's `log_inputs`, one
/// dataset): `name`, `digest`, `source_type` and `source` are required;
/// `schema` and `profile` (JSON text) and `context` (e.g. `"training"`,
/// stored as the input tag `mlflow.data.context`) may be NULL. Logging the
/// same dataset (name and digest) again is a no-op.
///
/// # Safety
///
/// `run_id` and the dataset fields must be NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn rs_log_input(
    store: *const rs_store,
    run_id: *const c_char,
    name: *const c_char,
    digest: *const c_char,
    source_type: *const c_char,
    source: *const c_char,
    schema: *const c_char,
    profile: *const c_char,
    context: *const c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (run_id, input) = unsafe {
            (
                run_id_arg(run_id)?,
                DatasetInput {
                    name: str_arg(name, "name")?.to_owned(),
                    digest: str_arg(digest, "digest")?.to_owned(),
                    source_type: str_arg(source_type, "source_type")?.to_owned(),
                    source: str_arg(source, "source")?.to_owned(),
                    schema: opt_str_arg(schema, "schema")?.map(str::to_owned),
                    profile: opt_str_arg(profile, "profile")?.map(str::to_owned),
                    context: opt_str_arg(context, "context")?.map(str::to_owned),
                },
            )
        };
        Ok(store.log_inputs(run_id, &[input])?)
    })
}

/// `rs_log_metric` without waiting (MLflow's `synchronous=False`): returns
/// at once; the point is durable after `rs_store_flush`, or at most the
/// store's buffer interval (250 ms by default) later. Key and timestamp limits are
/// checked now; what needs the stored run (it exists, it is active) is
/// checked at the commit, and the first such failure is returned by the
/// next `rs_store_flush`.
///
/// # Safety
///
/// As `rs_log_metric`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_log_metric_buffered(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    value: f64,
    timestamp: i64,
    step: i64,
) -> rs_result {
    let point = MetricPoint {
        step,
        value,
        timestamp,
    };
    // SAFETY: the caller's promise is `metric_call`'s.
    unsafe { metric_call(store, run_id, key, point, Store::log_metric_buffered) }
}

/// `rs_log_param` without waiting (see `rs_log_metric_buffered`).
///
/// # Safety
///
/// As `rs_log_param`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_log_param_buffered(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    value: *const c_char,
) -> rs_result {
    // SAFETY: the caller's promise is `key_value_call`'s.
    unsafe { key_value_call(store, run_id, key, value, Store::log_param_buffered) }
}

/// `rs_set_tag` without waiting (see `rs_log_metric_buffered`).
///
/// # Safety
///
/// As `rs_set_tag`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_set_tag_buffered(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    value: *const c_char,
) -> rs_result {
    // SAFETY: the caller's promise is `key_value_call`'s.
    unsafe { key_value_call(store, run_id, key, value, Store::set_tag_buffered) }
}

/// Commits every buffered write of `store` and returns once they are
/// durable, with the first failure of a buffered write since the last
/// flush (`RS_BAD_INPUT` for a refused write; the others still commit).
#[unsafe(no_mangle)]
pub extern "C" fn rs_store_flush(store: *const rs_store) -> rs_result {
    ffi_call(|| Ok(store_arg(store)?.flush()?))
}
