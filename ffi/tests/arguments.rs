//! NULL handles and arguments, invalid UTF-8, the last-error buffer.

use std::ffi::{CStr, c_char};
use std::ptr;

use runstore_ffi::*;

use crate::util::{TestStore, c, last_error, open};

const RUN: &str = "00000000000000000000000000000001";

#[test]
fn null_handles_are_refused() {
    let request = c("{}");
    let (run_id, key) = (c(RUN), c("loss"));
    let mut out: *mut c_char = ptr::null_mut();
    let (mut runs, mut points) = (7u64, 7u64);
    let data = b"{}";

    // SAFETY: the store is NULL on purpose; everything else is valid.
    let status = unsafe { rs_search_json(ptr::null(), request.as_ptr(), &mut out) };
    assert_eq!(status, rs_result::RS_NULL_ARGUMENT);
    assert_eq!(last_error(), "store is NULL");
    assert!(out.is_null());

    // SAFETY: as above.
    let status = unsafe { rs_history_json(ptr::null(), run_id.as_ptr(), key.as_ptr(), &mut out) };
    assert_eq!(status, rs_result::RS_NULL_ARGUMENT);
    assert_eq!(last_error(), "store is NULL");
    assert!(out.is_null());

    // SAFETY: as above.
    let status = unsafe {
        rs_ingest_jsonl(
            ptr::null(),
            data.as_ptr(),
            data.len(),
            &mut runs,
            &mut points,
        )
    };
    assert_eq!(status, rs_result::RS_NULL_ARGUMENT);
    assert_eq!((runs, points), (7, 7));

    // Freeing NULL is a no-op.
    // SAFETY: NULL is allowed.
    unsafe {
        rs_store_free(ptr::null_mut());
        rs_string_free(ptr::null_mut());
    }
}

#[test]
fn null_arguments_are_refused_by_name() {
    let store = TestStore::new();
    let h = store.handle;
    let request = c("{}");
    let (run_id, key) = (c(RUN), c("loss"));
    let mut out: *mut c_char = ptr::null_mut();
    let mut n = 0u64;
    let data = br#"{"experiment": "e"}"#;
    let (req, id, k, d) = (
        request.as_ptr(),
        run_id.as_ptr(),
        key.as_ptr(),
        data.as_ptr(),
    );
    let (o, np): (*mut *mut c_char, *mut u64) = (&mut out, &mut n);
    let null_out: *mut *mut c_char = ptr::null_mut();

    // SAFETY (every call): exactly one argument is NULL on purpose; the
    // others are valid (live handle, NUL-terminated strings, `data` readable,
    // writable out-pointers).
    let calls: [(&str, &dyn Fn() -> rs_result); 8] = unsafe {
        [
            ("request_json", &|| rs_search_json(h, ptr::null(), o)),
            ("out_json", &|| rs_search_json(h, req, null_out)),
            ("run_id", &|| rs_history_json(h, ptr::null(), k, o)),
            ("key", &|| rs_history_json(h, id, ptr::null(), o)),
            ("out_json", &|| rs_history_json(h, id, k, null_out)),
            ("data", &|| rs_ingest_jsonl(h, ptr::null(), 0, np, np)),
            ("runs_out", &|| {
                rs_ingest_jsonl(h, d, data.len(), ptr::null_mut(), np)
            }),
            ("points_out", &|| {
                rs_ingest_jsonl(h, d, data.len(), np, ptr::null_mut())
            }),
        ]
    };
    for (what, call) in calls {
        assert_eq!(call(), rs_result::RS_NULL_ARGUMENT, "{what}");
        assert_eq!(last_error(), format!("{what} is NULL"));
    }
    assert!(out.is_null());
    assert_eq!(n, 0, "nothing written on failure");
    // Arguments are checked before anything is done: nothing was ingested.
    assert_eq!(
        store.search("{}").1.unwrap(),
        r#"{"runs":[],"next_page_token":null}"#
    );
}

#[test]
fn open_refuses_null_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let path = c(dir.path().to_str().unwrap());
    let mut out: *mut rs_store = ptr::null_mut();
    // SAFETY: `dir` is NULL on purpose; `out` is valid.
    let status = unsafe { rs_store_open(ptr::null(), false, &mut out) };
    assert_eq!(status, rs_result::RS_NULL_ARGUMENT);
    assert_eq!(last_error(), "dir is NULL");
    assert!(out.is_null());
    // SAFETY: `out` is NULL on purpose; `dir` is valid.
    let status = unsafe { rs_store_open(path.as_ptr(), false, ptr::null_mut()) };
    assert_eq!(status, rs_result::RS_NULL_ARGUMENT);
    assert_eq!(last_error(), "out is NULL");
}

#[test]
fn invalid_utf8_is_reported() {
    let bad = c"\xff\xfe";
    let mut out: *mut rs_store = ptr::null_mut();
    // SAFETY: NUL-terminated (invalid UTF-8 on purpose), valid out-pointer.
    let status = unsafe { rs_store_open(bad.as_ptr(), false, &mut out) };
    assert_eq!(status, rs_result::RS_INVALID_UTF8);
    assert!(
        last_error().starts_with("dir is not valid UTF-8"),
        "{}",
        last_error()
    );
    assert!(out.is_null());

    let store = TestStore::new();
    let mut json: *mut c_char = ptr::null_mut();
    let key = c("loss");
    let request = c"{\"filter\": \"\xff\"}";
    // SAFETY: live handle, NUL-terminated strings, valid out-pointer.
    let status = unsafe { rs_search_json(store.handle, request.as_ptr(), &mut json) };
    assert_eq!(status, rs_result::RS_INVALID_UTF8);
    assert!(
        last_error().starts_with("request_json is not valid UTF-8"),
        "{}",
        last_error()
    );
    // SAFETY: as above.
    let status = unsafe { rs_history_json(store.handle, bad.as_ptr(), key.as_ptr(), &mut json) };
    assert_eq!(status, rs_result::RS_INVALID_UTF8);
    assert!(
        last_error().starts_with("run_id is not valid UTF-8"),
        "{}",
        last_error()
    );
    assert!(json.is_null());

    // Ingested bytes are checked line by line, as the CLI does.
    let (status, counts) = store.ingest("\u{0}\n");
    assert_eq!((status, counts), (rs_result::RS_BAD_INPUT, None));
    let (status, _) = {
        let data = b"{\"experiment\": \"\xff\"}\n";
        let (mut r, mut p) = (0u64, 0u64);
        // SAFETY: live handle, `data` readable, valid out-pointers.
        let s = unsafe { rs_ingest_jsonl(store.handle, data.as_ptr(), data.len(), &mut r, &mut p) };
        (s, (r, p))
    };
    assert_eq!(status, rs_result::RS_BAD_INPUT);
    assert!(
        last_error().starts_with("input:1: not valid UTF-8"),
        "{}",
        last_error()
    );
}

#[test]
fn bad_request_json_is_bad_input_with_a_message() {
    let store = TestStore::new();
    for (request, wanted) in [
        (
            "{",
            "invalid search request JSON: EOF while parsing an object at line 1 column 1",
        ),
        (
            r#"{"filter": 1}"#,
            "invalid search request JSON: invalid type: integer `1`",
        ),
        (
            r#"{"flter": ""}"#,
            "invalid search request JSON: unknown field `flter`",
        ),
        (
            r#"{"max_results": 0}"#,
            "invalid value 0 for max_results: it must be a positive integer",
        ),
        (
            r#"{"view": "gone"}"#,
            "invalid view \"gone\": expected active, deleted or all",
        ),
    ] {
        let (status, json) = store.search(request);
        assert_eq!((status, json), (rs_result::RS_BAD_INPUT, None), "{request}");
        let message = last_error();
        assert!(message.starts_with(wanted), "{request}: {message}");
    }
}

#[test]
fn last_error_truncates_and_reports_the_full_length() {
    let store = TestStore::new();
    let (status, _) = store.search("{");
    assert_eq!(status, rs_result::RS_BAD_INPUT);
    let full = last_error();
    assert!(full.len() > 8);

    let mut buf = [0x55u8; 6];
    let mut len = 0usize;
    // SAFETY: `buf` has 6 writable bytes.
    let status = unsafe { rs_last_error(buf.as_mut_ptr().cast(), buf.len(), &mut len) };
    assert_eq!(status, rs_result::RS_OK);
    assert_eq!(len, full.len());
    assert_eq!(&buf[..5], &full.as_bytes()[..5]);
    assert_eq!(buf[5], 0);

    // SAFETY: NULL with a non-zero length is refused, not written to.
    let status = unsafe { rs_last_error(ptr::null_mut(), 4, &mut len) };
    assert_eq!(status, rs_result::RS_NULL_ARGUMENT);
    // SAFETY: `buf` is valid; `out_len` is NULL on purpose.
    let status = unsafe { rs_last_error(buf.as_mut_ptr().cast(), buf.len(), ptr::null_mut()) };
    assert_eq!(status, rs_result::RS_NULL_ARGUMENT);
    assert_eq!(last_error(), full, "rs_last_error leaves the message alone");

    // A success clears it.
    assert_eq!(store.search("{}").0, rs_result::RS_OK);
    assert_eq!(last_error(), "");
}

#[test]
fn the_last_error_is_per_thread() {
    let store = TestStore::new();
    assert_eq!(store.search("{").0, rs_result::RS_BAD_INPUT);
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "");
    assert!(last_error().starts_with("invalid search request JSON"));
}

#[test]
fn missing_read_only_store_and_read_only_writes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let (status, message) = open(missing.to_str().unwrap(), true).unwrap_err();
    assert_eq!(status, rs_result::RS_BAD_INPUT);
    assert!(message.contains("nope"), "{message}");

    // Create it, close it, reopen it read-only: reads work, writes don't.
    // SAFETY: a live handle, freed once.
    unsafe { rs_store_free(open(missing.to_str().unwrap(), false).unwrap()) };
    let mut store = TestStore {
        handle: open(missing.to_str().unwrap(), true).unwrap(),
        dir: Some(dir),
    };
    assert_eq!(store.search("{}").0, rs_result::RS_OK);
    let (status, counts) = store.ingest(r#"{"experiment": "e"}"#);
    assert_ne!(status, rs_result::RS_OK);
    assert_eq!(counts, None);
    assert!(!last_error().is_empty());
    store.close();
}

#[test]
fn version_and_status_names() {
    // SAFETY: static NUL-terminated strings.
    let version = unsafe { CStr::from_ptr(rs_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    for (code, name) in [
        (rs_result::RS_OK, "RS_OK"),
        (rs_result::RS_NULL_ARGUMENT, "RS_NULL_ARGUMENT"),
        (rs_result::RS_INVALID_UTF8, "RS_INVALID_UTF8"),
        (rs_result::RS_BAD_INPUT, "RS_BAD_INPUT"),
        (rs_result::RS_FAILURE, "RS_FAILURE"),
        (rs_result::RS_PANIC, "RS_PANIC"),
    ] {
        // SAFETY: static NUL-terminated strings.
        let got = unsafe { CStr::from_ptr(rs_result_name(code as u32)) };
        assert_eq!(got.to_str().unwrap(), name);
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(rs_result_name(999)) };
    assert_eq!(unknown.to_str().unwrap(), "RS_UNKNOWN");
    // The values are part of the ABI.
    assert_eq!(rs_result::RS_OK as u32, 0);
    assert_eq!(rs_result::RS_PANIC as u32, 5);
}
