//! Status codes and the thread-local last-error message.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_char};

use crate::panic::ffi_status;

/// The status every fallible function of the C API returns.
///
/// `RS_OK` is success; any other value is a failure, described in more
/// detail by `rs_last_error`. The values are fixed: new codes are only
/// ever appended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rs_result {
    /// Success: the out-pointers have been written.
    RS_OK = 0,
    /// A required pointer argument was NULL.
    RS_NULL_ARGUMENT = 1,
    /// A string argument was not valid UTF-8.
    RS_INVALID_UTF8 = 2,
    /// The caller's input was refused: a bad filter, record, run id, request
    /// JSON, unknown run, missing store... (the CLI's exit status 2).
    RS_BAD_INPUT = 3,
    /// The operation failed for another reason: I/O, a corrupt store... (the
    /// CLI's exit status 1).
    RS_FAILURE = 4,
    /// runstore panicked (a bug). The panic was caught at the API boundary;
    /// the handle it happened on should be freed and not used again.
    RS_PANIC = 5,
}

/// A failure on its way to C: a status code and a message.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub(crate) code: rs_result,
    pub(crate) message: String,
    /// MLflow's name for the error (see `rs_last_error_code`).
    pub(crate) mlflow_code: &'static str,
}

impl FfiError {
    /// An error with status `code` (and the MLflow code that status implies).
    pub(crate) fn new(code: rs_result, message: impl Into<String>) -> Self {
        let mlflow_code = match code {
            rs_result::RS_FAILURE | rs_result::RS_PANIC | rs_result::RS_OK => "INTERNAL_ERROR",
            _ => "INVALID_PARAMETER_VALUE",
        };
        FfiError {
            code,
            message: message.into(),
            mlflow_code,
        }
    }

    /// Bad input naming something that does not exist.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        FfiError {
            mlflow_code: "RESOURCE_DOES_NOT_EXIST",
            ..FfiError::bad_input(message)
        }
    }

    /// A NULL pointer passed as the argument named `what`.
    pub(crate) fn null(what: &str) -> Self {
        FfiError::new(rs_result::RS_NULL_ARGUMENT, format!("{what} is NULL"))
    }

    /// Bad input from the caller.
    pub(crate) fn bad_input(message: impl Into<String>) -> Self {
        FfiError::new(rs_result::RS_BAD_INPUT, message)
    }
}

impl From<runstore::Error> for FfiError {
    fn from(e: runstore::Error) -> Self {
        let code = if e.is_user_error() {
            rs_result::RS_BAD_INPUT
        } else {
            rs_result::RS_FAILURE
        };
        FfiError {
            mlflow_code: e.mlflow_error_code(),
            ..FfiError::new(code, e.to_string())
        }
    }
}

impl From<runstore::engine::Error> for FfiError {
    fn from(e: runstore::engine::Error) -> Self {
        runstore::Error::from(e).into()
    }
}

thread_local! {
    /// The message of the last failed call on this thread ("" after a success).
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    /// The MLflow code of the last failed call on this thread ("" after a success).
    static LAST_CODE: Cell<&'static CStr> = const { Cell::new(c"") };
}

/// Records `error` as this thread's last error.
pub(crate) fn set_last_ffi_error(error: &FfiError) {
    set_last_error(error.message.clone());
    LAST_CODE.with(|c| c.set(mlflow_code_c(error.mlflow_code)));
}

/// The static C spelling of one of the MLflow codes errors carry.
fn mlflow_code_c(code: &str) -> &'static CStr {
    match code {
        "INVALID_PARAMETER_VALUE" => c"INVALID_PARAMETER_VALUE",
        "RESOURCE_DOES_NOT_EXIST" => c"RESOURCE_DOES_NOT_EXIST",
        "RESOURCE_ALREADY_EXISTS" => c"RESOURCE_ALREADY_EXISTS",
        "TEMPORARILY_UNAVAILABLE" => c"TEMPORARILY_UNAVAILABLE",
        _ => c"INTERNAL_ERROR",
    }
}

/// Records `message` as this thread's last error (an internal one, as far
/// as its MLflow code goes).
pub(crate) fn set_last_error(message: String) {
    // A message is copied to C as a NUL-terminated string: cut it at any NUL.
    let message = match message.find('\0') {
        Some(at) => message[..at].to_owned(),
        None => message,
    };
    LAST_ERROR.with(|m| *m.borrow_mut() = message);
    LAST_CODE.with(|c| c.set(c"INTERNAL_ERROR"));
}

/// Clears this thread's last error.
pub(crate) fn clear_last_error() {
    LAST_ERROR.with(|m| m.borrow_mut().clear());
    LAST_CODE.with(|c| c.set(c""));
}

/// MLflow's error code for the last failed call on this thread, as a static
/// NUL-terminated string: `"INVALID_PARAMETER_VALUE"`,
/// `"RESOURCE_DOES_NOT_EXIST"`, `"RESOURCE_ALREADY_EXISTS"`,
/// `"TEMPORARILY_UNAVAILABLE"` (another process held the store too long) or
/// `"INTERNAL_ERROR"`; `""` when the last call succeeded. A binding raises
/// MLflow's `MlflowException` with it. Never NULL; do not free it. Like
/// `rs_last_error`, it does not change the last error.
#[unsafe(no_mangle)]
pub extern "C" fn rs_last_error_code() -> *const c_char {
    LAST_CODE.with(Cell::get).as_ptr()
}

/// Copies the message of the last failed call on this thread into `buf`.
///
/// Every fallible function sets the message when it fails and clears it
/// when it succeeds, so call this right after the failing call, on the
/// same thread. The message is one line of UTF-8 text, like the CLI's
/// `error:` lines; parse errors name the character position.
///
/// At most `len - 1` bytes are copied and `buf` is always NUL-terminated
/// when `len > 0` (a truncated message may end inside a UTF-8 sequence).
/// `*out_len` receives the full length of the message in bytes, without the
/// NUL, so a caller can retry with a buffer of `*out_len + 1` bytes. `buf`
/// may be NULL only when `len` is 0 (to ask for the length alone).
///
/// Returns `RS_NULL_ARGUMENT` when `out_len` is NULL, or `buf` is NULL and
/// `len` is not 0; `RS_OK` otherwise. It does not change the last error.
///
/// # Safety
///
/// `buf` must be NULL or point to `len` writable bytes; `out_len` must be
/// NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_last_error(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> rs_result {
    ffi_status(|| {
        if out_len.is_null() || (buf.is_null() && len > 0) {
            return rs_result::RS_NULL_ARGUMENT;
        }
        LAST_ERROR.with(|m| {
            let message = m.borrow();
            let bytes = message.as_bytes();
            if len > 0 {
                let n = bytes.len().min(len - 1);
                // SAFETY: the caller promises `buf` points to `len` writable
                // bytes; we write `n + 1 <= len` of them. `bytes` is our own
                // string, which cannot overlap the caller's buffer.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            // SAFETY: `out_len` is non-NULL (checked above) and the caller
            // promises it points to a writable `size_t`.
            unsafe { *out_len = bytes.len() };
        });
        rs_result::RS_OK
    })
}

/// The name of status `result` (e.g. `"RS_BAD_INPUT"`), as a static
/// NUL-terminated string; `"RS_UNKNOWN"` for a value that is not a status.
/// Never NULL; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn rs_result_name(result: u32) -> *const c_char {
    let name: &'static CStr = match result {
        0 => c"RS_OK",
        1 => c"RS_NULL_ARGUMENT",
        2 => c"RS_INVALID_UTF8",
        3 => c"RS_BAD_INPUT",
        4 => c"RS_FAILURE",
        5 => c"RS_PANIC",
        _ => c"RS_UNKNOWN",
    };
    name.as_ptr()
}
