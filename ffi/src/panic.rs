//! The panic boundary: every exported function body runs inside one of
//! these, so a panic never unwinds into C (which would abort the process or
//! be undefined behaviour).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{FfiError, clear_last_error, rs_result, set_last_error, set_last_ffi_error};

/// Runs the body of a fallible function: `Ok` becomes `RS_OK` and clears the
/// last error; an error or a panic sets the last error and returns its code.
pub(crate) fn ffi_call(body: impl FnOnce() -> Result<(), FfiError>) -> rs_result {
    // AssertUnwindSafe: after a panic the caller gets RS_PANIC and is told
    // (in the header) not to use the handle again, so no broken invariant
    // is observed through it.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_last_error();
            rs_result::RS_OK
        }
        Ok(Err(e)) => {
            set_last_ffi_error(&e);
            e.code
        }
        Err(payload) => {
            set_last_error(panic_message(payload.as_ref()));
            rs_result::RS_PANIC
        }
    }
}

/// Runs a body that computes its own status; a panic becomes `RS_PANIC`.
/// Leaves the last error alone unless there is a panic.
pub(crate) fn ffi_status(body: impl FnOnce() -> rs_result) -> rs_result {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        set_last_error(panic_message(payload.as_ref()));
        rs_result::RS_PANIC
    })
}

/// Runs the body of a function that returns nothing (the `*_free`
/// functions); a panic is swallowed and recorded as the last error.
pub(crate) fn ffi_void(body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        set_last_error(panic_message(payload.as_ref()));
    }
}

/// The text of a panic, for the last-error message.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("internal error: runstore panicked: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        let mut buf = [0u8; 256];
        let mut len = 0usize;
        // SAFETY: `buf` holds 256 writable bytes and `len` is a valid usize.
        let status =
            unsafe { crate::error::rs_last_error(buf.as_mut_ptr().cast(), buf.len(), &mut len) };
        assert_eq!(status, rs_result::RS_OK);
        String::from_utf8_lossy(&buf[..len]).into_owned()
    }

    #[test]
    fn a_panic_becomes_rs_panic_with_its_message() {
        let status = ffi_call(|| panic!("boom {}", 42));
        assert_eq!(status, rs_result::RS_PANIC);
        assert_eq!(last_error(), "internal error: runstore panicked: boom 42");

        let status = ffi_status(|| panic!("static boom"));
        assert_eq!(status, rs_result::RS_PANIC);
        assert_eq!(
            last_error(),
            "internal error: runstore panicked: static boom"
        );

        ffi_void(|| panic!("in free"));
        assert_eq!(last_error(), "internal error: runstore panicked: in free");
    }

    #[test]
    fn errors_set_and_success_clears_the_last_error() {
        let status = ffi_call(|| Err(FfiError::bad_input("nope")));
        assert_eq!(status, rs_result::RS_BAD_INPUT);
        assert_eq!(last_error(), "nope");
        assert_eq!(ffi_call(|| Ok(())), rs_result::RS_OK);
        assert_eq!(last_error(), "");
    }
}
