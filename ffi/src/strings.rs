//! Arguments (strings, arrays, run ids) and out-pointers across the boundary.

use std::ffi::{CStr, CString, c_char};

use crate::error::{FfiError, rs_result};
use crate::panic::ffi_void;

/// Borrows the NUL-terminated C string `ptr` (the argument named `what`) as
/// UTF-8.
///
/// # Safety
///
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid
/// and unchanged for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-NULL (checked above); the caller promises a NUL-terminated
    // string valid for 'a.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str().map_err(|e| {
        FfiError::new(
            rs_result::RS_INVALID_UTF8,
            format!("{what} is not valid UTF-8: {e}"),
        )
    })
}

/// Borrows `len` bytes at `ptr` (the argument named `what`).
///
/// # Safety
///
/// `ptr` must be NULL or point to `len` readable bytes that stay valid and
/// unchanged for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(what));
    }
    if len > isize::MAX as usize {
        return Err(FfiError::bad_input(format!(
            "{what}: length {len} is too large"
        )));
    }
    // SAFETY: non-NULL, len <= isize::MAX (checked above); the caller
    // promises `len` readable bytes valid for 'a. u8 has alignment 1.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Checks that the out-pointer `ptr` (the argument named `what`) is not NULL.
pub(crate) fn out_arg<T>(ptr: *mut T, what: &str) -> Result<*mut T, FfiError> {
    if ptr.is_null() {
        Err(FfiError::null(what))
    } else {
        Ok(ptr)
    }
}

/// Turns `text` into a string owned by C (freed with [`rs_string_free`]).
pub(crate) fn into_c_string(text: String) -> Result<*mut c_char, FfiError> {
    CString::new(text)
        .map(CString::into_raw)
        .map_err(|_| FfiError::new(rs_result::RS_FAILURE, "output holds a NUL byte"))
}

/// Frees a string that runstore returned (e.g. through `out_json`).
///
/// NULL is a no-op. Each string must be freed exactly once, and only with
/// this function (not `free`).
///
/// # Safety
///
/// `s` must be NULL or a string returned by runstore that was not freed
/// yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_string_free(s: *mut c_char) {
    ffi_void(|| {
        if !s.is_null() {
            // SAFETY: the caller promises `s` came from `into_c_string` (i.e.
            // `CString::into_raw`) and has not been freed yet.
            drop(unsafe { CString::from_raw(s) });
        }
    });
}

/// Borrows an optional string argument: NULL is `None`.
///
/// # Safety
///
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn opt_str_arg<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, FfiError> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and the caller's promise is `str_arg`'s.
    unsafe { str_arg(ptr, what) }.map(Some)
}

/// Borrows an array of `len` values; NULL is allowed only when `len` is 0.
///
/// # Safety
///
/// `ptr` must be NULL or point to `len` initialised values that outlive `'a`.
pub(crate) unsafe fn slice_arg<'a, T>(
    ptr: *const T,
    len: usize,
    what: &str,
) -> Result<&'a [T], FfiError> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(FfiError::null(what));
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(FfiError::bad_input(format!(
            "{what}: length {len} is too large"
        )));
    }
    // SAFETY: non-NULL, length in bounds; the caller promises `len` values.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows an array of `len` strings (each checked like [`str_arg`], and
/// named `what[i]` in errors); NULL is allowed only when `len` is 0.
///
/// # Safety
///
/// `ptr` must be NULL or point to `len` pointers, each NULL or a
/// NUL-terminated string, all outliving `'a`.
pub(crate) unsafe fn str_array_arg<'a>(
    ptr: *const *const c_char,
    len: usize,
    what: &str,
) -> Result<Vec<&'a str>, FfiError> {
    // SAFETY: the caller's promise covers the array.
    let ptrs = unsafe { slice_arg(ptr, len, what) }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: the caller promises each element is NULL or a C string.
        .map(|(i, &p)| unsafe { str_arg(p, &format!("{what}[{i}]")) })
        .collect()
}

/// Parses a run id argument (32 lowercase hex characters).
///
/// # Safety
///
/// As [`str_arg`].
pub(crate) unsafe fn run_id_arg(ptr: *const c_char) -> Result<runstore::RunId, FfiError> {
    // SAFETY: the caller's promise is `str_arg`'s.
    let text = unsafe { str_arg(ptr, "run_id") }?;
    Ok(text.parse()?)
}

/// Writes `value` through the out-pointer `ptr` (already checked non-NULL
/// by [`out_arg`]).
///
/// # Safety
///
/// `ptr` must be non-NULL and point to writable memory for a `T`.
pub(crate) unsafe fn write_out<T>(ptr: *mut T, value: T) {
    // SAFETY: the caller's promise.
    unsafe { ptr.write(value) }
}

/// Writes `text` as a new C string through `out` (freed by `rs_string_free`).
///
/// # Safety
///
/// `out` must be non-NULL and writable.
pub(crate) unsafe fn write_string_out(out: *mut *mut c_char, text: String) -> Result<(), FfiError> {
    let text = into_c_string(text)?;
    // SAFETY: the caller's promise.
    unsafe { write_out(out, text) };
    Ok(())
}
