//! Helpers: C strings, the last error, stores in temporary directories.

use std::ffi::{CStr, CString, c_char};
use std::ptr;

use runstore_ffi::*;

/// A NUL-terminated copy of `s`.
pub fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// This thread's last error message.
pub fn last_error() -> String {
    let mut len = 0usize;
    // SAFETY: NULL buffer with length 0 asks for the length only.
    let status = unsafe { rs_last_error(ptr::null_mut(), 0, &mut len) };
    assert_eq!(status, rs_result::RS_OK);
    let mut buf = vec![0u8; len + 1];
    let mut len2 = 0usize;
    // SAFETY: `buf` has `buf.len()` writable bytes.
    let status = unsafe { rs_last_error(buf.as_mut_ptr().cast(), buf.len(), &mut len2) };
    assert_eq!(status, rs_result::RS_OK);
    assert_eq!(len2, len);
    assert_eq!(buf[len], 0, "the message is NUL-terminated");
    String::from_utf8(buf[..len].to_vec()).unwrap()
}

/// Takes a string returned by the API, checks it and frees it.
pub fn take_string(s: *mut c_char) -> String {
    assert!(!s.is_null());
    // SAFETY: `s` is a live NUL-terminated string from the API.
    let text = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_owned();
    // SAFETY: freed exactly once, with the API's own function.
    unsafe { rs_string_free(s) };
    text
}

/// A store opened through the C API in a fresh temporary directory.
pub struct TestStore {
    pub handle: *mut rs_store,
    /// The directory, when this value owns the store (else a borrow).
    pub dir: Option<tempfile::TempDir>,
}

impl TestStore {
    pub fn new() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let handle = open(dir.path().to_str().unwrap(), false).unwrap();
        TestStore {
            handle,
            dir: Some(dir),
        }
    }

    /// A borrow of a handle owned elsewhere (not freed on drop).
    pub fn borrowed(handle: *mut rs_store) -> TestStore {
        TestStore { handle, dir: None }
    }

    /// Ingests `lines`, returning the status and (on success) the counts.
    pub fn ingest(&self, lines: &str) -> (rs_result, Option<(u64, u64)>) {
        let (mut runs, mut points) = (u64::MAX, u64::MAX);
        // SAFETY: live handle; `lines` is `len` readable bytes; valid out-pointers.
        let status = unsafe {
            rs_ingest_jsonl(
                self.handle,
                lines.as_ptr(),
                lines.len(),
                &mut runs,
                &mut points,
            )
        };
        if status == rs_result::RS_OK {
            (status, Some((runs, points)))
        } else {
            assert_eq!(
                (runs, points),
                (u64::MAX, u64::MAX),
                "out-pointers written on failure"
            );
            (status, None)
        }
    }

    /// Searches with `request`: the status and the JSON (on success).
    pub fn search(&self, request: &str) -> (rs_result, Option<String>) {
        let request = c(request);
        let mut out: *mut c_char = ptr::null_mut();
        // SAFETY: live handle, NUL-terminated request, valid out-pointer.
        let status = unsafe { rs_search_json(self.handle, request.as_ptr(), &mut out) };
        finish(status, out)
    }

    /// The history of `key` of `run_id`: the status and the JSON (on success).
    pub fn history(&self, run_id: &str, key: &str) -> (rs_result, Option<String>) {
        let (run_id, key) = (c(run_id), c(key));
        let mut out: *mut c_char = ptr::null_mut();
        // SAFETY: live handle, NUL-terminated strings, valid out-pointer.
        let status =
            unsafe { rs_history_json(self.handle, run_id.as_ptr(), key.as_ptr(), &mut out) };
        finish(status, out)
    }

    /// Frees the handle (the directory stays until the value drops).
    pub fn close(&mut self) {
        // SAFETY: the handle is live and freed once (then set to NULL).
        unsafe { rs_store_free(self.handle) };
        self.handle = ptr::null_mut();
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if self.dir.is_some() {
            self.close();
        }
    }
}

/// Opens `dir`: the handle, or the status and message.
pub fn open(dir: &str, read_only: bool) -> Result<*mut rs_store, (rs_result, String)> {
    let dir = c(dir);
    let mut out: *mut rs_store = ptr::null_mut();
    // SAFETY: NUL-terminated path, valid out-pointer.
    let status = unsafe { rs_store_open(dir.as_ptr(), read_only, &mut out) };
    if status == rs_result::RS_OK {
        assert!(!out.is_null());
        Ok(out)
    } else {
        assert!(out.is_null(), "out written on failure");
        Err((status, last_error()))
    }
}

fn finish(status: rs_result, out: *mut c_char) -> (rs_result, Option<String>) {
    if status == rs_result::RS_OK {
        assert_eq!(last_error(), "", "a success clears the last error");
        (status, Some(take_string(out)))
    } else {
        assert!(out.is_null(), "out_json written on failure");
        (status, None)
    }
}
