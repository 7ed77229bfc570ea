//! The store handle: open, free, ingest.

use std::ffi::c_char;

use runstore::Store;
use runstore::ingest::{IngestOptions, ingest_bytes};

use crate::error::{FfiError, rs_result};
use crate::panic::{ffi_call, ffi_void};
use crate::strings::{bytes_arg, out_arg, str_arg};

/// An open store: a directory holding runstore's catalog and segments.
///
/// Opaque to C. Created by `rs_store_open`, freed by exactly one
/// `rs_store_free`. All functions taking a `const rs_store *` may be called
/// from several threads at once on the same handle.
#[allow(non_camel_case_types)]
pub struct rs_store {
    pub(crate) store: std::sync::Arc<Store>,
}

// The handle is shared across threads by C callers (see the doc above).
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<rs_store>();
};

/// Borrows the store behind `store` (the argument of that name).
///
/// # Safety
///
/// `store` must be NULL or a live handle from `rs_store_open`, not freed
/// during `'a`.
pub(crate) unsafe fn store_arg<'a>(
    store: *const rs_store,
) -> Result<&'a std::sync::Arc<Store>, FfiError> {
    if store.is_null() {
        return Err(FfiError::null("store"));
    }
    // SAFETY: non-NULL (checked above); the caller promises a live handle
    // from `rs_store_open` (a `Box<rs_store>`), only ever borrowed shared.
    Ok(unsafe { &(*store).store })
}

/// Opens the store in directory `dir` (UTF-8).
///
/// With `read_only` false the store is opened for reading and writing and
/// created when missing; with `read_only` true it must exist (else
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
            Store::open(dir)?
        };
        let handle = Box::into_raw(Box::new(rs_store { store }));
        // SAFETY: `out` is non-NULL (checked) and the caller promises it
        // points to a writable `rs_store *`.
        unsafe { *out = handle };
        Ok(())
    })
}

/// Closes a store and frees its handle. NULL is a no-op.
///
/// Call it exactly once per handle, when no other call is using it.
///
/// # Safety
///
/// `store` must be NULL or a handle from `rs_store_open` that was not freed
/// yet and that no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_store_free(store: *mut rs_store) {
    ffi_void(|| {
        if !store.is_null() {
            // SAFETY: the caller promises `store` came from `rs_store_open`
            // (`Box::into_raw`), is not freed yet and is not in use.
            drop(unsafe { Box::from_raw(store) });
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
/// `store` must be NULL or a live handle; `data` NULL or `len` readable
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
        // SAFETY: the caller promises `store` is NULL or a live handle.
        let store = unsafe { store_arg(store) }?;
        // SAFETY: the caller promises `data` is NULL or `len` readable bytes.
        let data = unsafe { bytes_arg(data, len, "data") }?;
        let runs_out = out_arg(runs_out, "runs_out")?;
        let points_out = out_arg(points_out, "points_out")?;
        let summary = ingest_bytes(store, data, "input", &IngestOptions::default())?;
        // SAFETY: both are non-NULL (checked) and the caller promises they
        // point to writable `uint64_t`s.
        unsafe {
            *runs_out = summary.runs;
            *points_out = summary.points;
        }
        Ok(())
    })
}
