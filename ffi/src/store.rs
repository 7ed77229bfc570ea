//! The store handle: open, free, ingest.

use std::ffi::c_char;

use runstore::Store;
use runstore::ingest::{IngestOptions, ingest_bytes};

use crate::error::rs_result;
use crate::handle::{register, rs_store, store_arg, unregister};
use crate::panic::{ffi_call, ffi_void};
use crate::strings::{bytes_arg, out_arg, str_arg};

/// Opens the store in directory `dir` (UTF-8).
///
/// With `read_only` false the store is opened for reading and writing and
/// created when missing (and when forwarding to an MLflow server is
/// configured — `runstore.toml` in `dir`, or `RUNSTORE_FORWARD_MLFLOW_URI` —
/// this process starts delivering the store's outbox); with `read_only` true it must exist (else
/// `RS_BAD_INPUT`) and only searches and histories work on it. On success
/// `*out` receives a new handle to free with `rs_store_free`; on failure
/// `*out` is left unchanged.
///
/// # Safety
///
/// `dir` must be NULL or a NUL-terminated string; `out` NULL or a writable
/// `rs_store *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_store_open(
    dir: *const c_char,
    read_only: bool,
    out: *mut *mut rs_store,
) -> rs_result {
    ffi_call(|| {
        // SAFETY: the caller promises `dir` is NULL or a NUL-terminated string.
        let dir = unsafe { str_arg(dir, "dir") }?;
        let out = out_arg(out, "out")?;
        let store = if read_only {
            Store::open_read_only(dir)?
        } else {
            let store = Store::open(dir)?;
            runstore::forward::start(&store)?;
            store
        };
        let handle = register(store);
        // SAFETY: `out` is non-NULL (checked) and the caller promises it
        // points to a writable `rs_store *`.
        unsafe { *out = handle };
        Ok(())
    })
}

/// Closes a store and frees its handle. NULL, or a handle that is already
/// freed, is a no-op.
///
/// Calls still running on the handle in other threads finish first (the
/// store closes when the last of them returns); calls made after it fail
/// with `RS_BAD_INPUT`. Buffered writes are flushed before the store closes.
///
/// # Safety
///
/// None beyond the C types: `store` is only compared, never read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_store_free(store: *mut rs_store) {
    ffi_void(|| {
        if !store.is_null() {
            unregister(store);
        }
    });
}

/// Ingests `len` bytes of JSON Lines run records (the contract's run-record
/// format) from `data` into `store`.
///
/// On success `*runs_out` and `*points_out` receive the number of run
/// records and metric points applied. A bad line fails with `RS_BAD_INPUT`
/// and a message naming its line (`input:LINE: ...`); the lines before it stay
/// stored, and the out-pointers are not written. `data` must not be NULL,
/// even when `len` is 0.
///
/// # Safety
///
/// `data` must be NULL or `len` readable
/// bytes; `runs_out` and `points_out` NULL or writable `uint64_t`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_ingest_jsonl(
    store: *const rs_store,
    data: *const u8,
    len: usize,
    runs_out: *mut u64,
    points_out: *mut u64,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises `data` is NULL or `len` readable bytes.
        let data = unsafe { bytes_arg(data, len, "data") }?;
        let runs_out = out_arg(runs_out, "runs_out")?;
        let points_out = out_arg(points_out, "points_out")?;
        let summary = ingest_bytes(&store, data, "input", &IngestOptions::default())?;
        // SAFETY: both are non-NULL (checked) and the caller promises they
        // point to writable `uint64_t`s.
        unsafe {
            *runs_out = summary.runs;
            *points_out = summary.points;
        }
        Ok(())
    })
}
