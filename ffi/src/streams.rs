//! Search results and metric histories as Arrow C streams
//! (`struct ArrowArrayStream` of the Arrow C data interface): the columns
//! cross the boundary without being copied or turned into text, so pyarrow,
//! DuckDB, polars or nanoarrow read them in place.

use std::ffi::c_char;

use arrow::array::{RecordBatch, RecordBatchIterator};
use arrow::ffi_stream::FFI_ArrowArrayStream;
use runstore::output::{history_batch, runs_batch};
use runstore::search::search;

use crate::error::rs_result;
use crate::handle::{rs_store, store_arg};
use crate::panic::ffi_call;
use crate::query::parse_request;
use crate::strings::{out_arg, run_id_arg, str_arg, write_out};

/// Moves `batch` into the caller's `*out` as a one-batch stream.
///
/// # Safety
///
/// `out` must be non-NULL and point to writable memory for a stream; what
/// was there is overwritten without being released.
unsafe fn export(batch: RecordBatch, out: *mut FFI_ArrowArrayStream) {
    let schema = batch.schema();
    let reader = RecordBatchIterator::new([Ok(batch)], schema);
    let stream = FFI_ArrowArrayStream::new(Box::new(reader));
    // SAFETY: the caller's promise; `write` does not drop the old contents.
    unsafe { write_out(out, stream) };
}

/// `rs_search_json`'s search, with the page as an Arrow C stream in
/// `*out_stream`: one batch, a row per run in order, columns `run_id`,
/// `experiment_id`, `run_name`, `status`, `artifact_uri`, `start_time`,
/// `end_time` (timestamps, ms, UTC), `lifecycle_stage`, `user_id`, then
/// `metrics.<key>` (latest value), `params.<key>`, `tags.<key>` for each key
/// of the page (null where a run lacks it) — the shape of MLflow's
/// `search_runs` DataFrame. The page token of the next page, if any, is the
/// schema metadata `next_page_token`.
///
/// The caller owns the stream and must call its `release` callback; the
/// stream does not borrow the store (it may outlive the handle). On failure
/// `*out_stream` is not written.
///
/// # Safety
///
/// `request_json` must be NULL or a NUL-terminated string; `out_stream`
/// NULL or a writable `struct ArrowArrayStream` (its old contents are
/// overwritten, not released).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_search_arrow(
    store: *const rs_store,
    request_json: *const c_char,
    out_stream: *mut FFI_ArrowArrayStream,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let request = unsafe { str_arg(request_json, "request_json") }?;
        let out_stream = out_arg(out_stream, "out_stream")?;
        let request = parse_request(request)?;
        let page = search(&store, &request)?;
        let mut batch = runs_batch(&page.runs)?;
        if let Some(token) = page.next_page_token {
            let mut schema = batch.schema().as_ref().clone();
            schema.metadata.insert("next_page_token".into(), token);
            batch = batch
                .with_schema(schema.into())
                .map_err(|e| runstore::Error::Output(e.to_string()))?;
        }
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { export(batch, out_stream) };
        Ok(())
    })
}

/// `rs_history_json`'s history as an Arrow C stream in `*out_stream`: one
/// batch, a row per point ordered by step, then timestamp, then value;
/// columns `step` (int64), `value` (float64), `timestamp` (int64, ms); the
/// schema metadata holds `run_id` and `key`. Ownership as in
/// `rs_search_arrow`.
///
/// # Safety
///
/// `run_id` and `key` must be NULL or NUL-terminated strings; `out_stream`
/// NULL or a writable `struct ArrowArrayStream`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_history_arrow(
    store: *const rs_store,
    run_id: *const c_char,
    key: *const c_char,
    out_stream: *mut FFI_ArrowArrayStream,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (run_id, key) = unsafe { (run_id_arg(run_id)?, str_arg(key, "key")?) };
        let out_stream = out_arg(out_stream, "out_stream")?;
        let points = store.metric_history(run_id, key)?;
        let batch = history_batch(run_id, key, &points)?;
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { export(batch, out_stream) };
        Ok(())
    })
}
