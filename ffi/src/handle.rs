//! Store handles as checked tokens.
//!
//! An `rs_store *` is never dereferenced: it is a token naming an entry of
//! a process-wide table. Each `rs_store_open` takes a fresh number (never
//! reused), so a NULL, freed, stale or made-up handle is found missing and
//! refused with `RS_BAD_INPUT` instead of being read as memory. A call holds
//! its own reference to the store while it runs, so even `rs_store_free`
//! racing with a call on another thread cannot free the store under it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use runstore::Store;

use crate::error::FfiError;

/// An open store: a directory holding runstore's catalog and segments.
///
/// Opaque to C: a handle is a token, not a pointer to readable memory.
/// Created by `rs_store_open`, freed by `rs_store_free`. Every function
/// taking a `const rs_store *` may be called from several threads at once
/// on the same handle; a NULL, freed or unknown handle is refused with
/// `RS_NULL_ARGUMENT` or `RS_BAD_INPUT`, never read.
#[allow(non_camel_case_types)]
pub struct rs_store {
    _opaque: [u8; 0],
}

/// The open stores, by token.
static STORES: LazyLock<RwLock<HashMap<usize, Arc<Store>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// The next token. Tokens are multiples of 16 above 4096, never reused, so
/// that small integers and freed handles never name a store.
static NEXT: AtomicUsize = AtomicUsize::new(1);

/// Registers `store` and returns its new handle.
pub(crate) fn register(store: Arc<Store>) -> *mut rs_store {
    let token = 4096 + NEXT.fetch_add(1, Ordering::Relaxed) * 16;
    STORES
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(token, store);
    std::ptr::without_provenance_mut(token)
}

/// Unregisters `handle`; false when it names no open store.
pub(crate) fn unregister(handle: *const rs_store) -> bool {
    let removed = STORES
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(&handle.addr());
    // Dropped outside the lock: closing a store joins its maintenance thread.
    removed.is_some()
}

/// The store behind `handle` (the argument named `store`).
pub(crate) fn store_arg(handle: *const rs_store) -> Result<Arc<Store>, FfiError> {
    if handle.is_null() {
        return Err(FfiError::null("store"));
    }
    STORES
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&handle.addr())
        .cloned()
        .ok_or_else(|| {
            FfiError::bad_input(format!(
                "store handle {handle:p} is not open (freed, or never returned by rs_store_open)"
            ))
        })
}
