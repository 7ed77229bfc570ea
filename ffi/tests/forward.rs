//! Forwarding through the C API (no server: one that is unreachable): the
//! setting, the outbox in the status JSON, a flush that times out with
//! MLflow's code, retry and disable, and a writable open that starts the
//! sender when the store's runstore.toml configures forwarding.

use std::ffi::{CStr, c_char};
use std::ptr;
use std::time::{Duration, Instant};

use runstore_ffi::*;
use serde_json::Value;

use crate::util::{TestStore, c, last_error, open, take_string};

fn unreachable_uri() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

fn status(store: *mut rs_store) -> Value {
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: live handle, valid out-pointer.
    let result = unsafe { rs_forward_status_json(store, &mut out) };
    assert_eq!(result, rs_result::RS_OK, "{}", last_error());
    serde_json::from_str(&take_string(out)).unwrap()
}

fn last_code() -> String {
    // SAFETY: a static NUL-terminated string.
    unsafe { CStr::from_ptr(rs_last_error_code()) }
        .to_str()
        .unwrap()
        .to_owned()
}

fn create_experiment(store: *mut rs_store, name: &str) {
    let name = c(name);
    let mut id = 0u32;
    // SAFETY: live handle, NUL-terminated name, NULL location, valid out-pointer.
    let result = unsafe { rs_experiment_create(store, name.as_ptr(), ptr::null(), &mut id) };
    assert_eq!(result, rs_result::RS_OK, "{}", last_error());
}

#[test]
fn forwarding_is_configured_reported_flushed_and_turned_off() {
    let store = TestStore::new();
    let h = store.handle;
    let (bad, uri, token, user) = (c("mlflow:5000"), c(&unreachable_uri()), c("t"), c("u"));
    // SAFETY (all calls below): live handle, NUL-terminated strings or NULL, valid out-pointers.
    let result = unsafe {
        rs_forward_configure(
            h,
            bad.as_ptr(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
        )
    };
    assert_eq!(result, rs_result::RS_BAD_INPUT);
    assert!(last_error().contains("http://"), "{}", last_error());
    let result = unsafe {
        rs_forward_configure(
            h,
            uri.as_ptr(),
            ptr::null(),
            token.as_ptr(),
            user.as_ptr(),
            ptr::null(),
        )
    };
    assert_eq!(result, rs_result::RS_BAD_INPUT, "a token and a user name");
    let result = unsafe {
        rs_forward_configure(
            h,
            uri.as_ptr(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
        )
    };
    assert_eq!(result, rs_result::RS_OK, "{}", last_error());
    create_experiment(h, "e");
    let s = status(h);
    assert_eq!(s["recording"], true);
    assert_eq!(s["pending"]["entries"], 1);
    assert_eq!(s["configured"]["mlflow_uri"], uri.to_str().unwrap());

    let mut parked = u64::MAX;
    let started = Instant::now();
    let result = unsafe { rs_forward_flush(h, 300, &mut parked) };
    assert_eq!(result, rs_result::RS_FAILURE);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(last_code(), "TEMPORARILY_UNAVAILABLE");
    assert!(last_error().contains("timed out"), "{}", last_error());
    assert_eq!(parked, u64::MAX, "out-pointer written on failure");
    let result = unsafe { rs_forward_flush(h, 0, ptr::null_mut()) };
    assert_eq!(result, rs_result::RS_NULL_ARGUMENT);

    let mut count = u64::MAX;
    assert_eq!(
        unsafe { rs_forward_retry_parked(h, &mut count) },
        rs_result::RS_OK
    );
    assert_eq!(count, 0);
    assert_eq!(rs_forward_disable(h), rs_result::RS_OK);
    create_experiment(h, "after");
    let s = status(h);
    assert_eq!(s["recording"], false);
    assert_eq!(s["pending"]["entries"], 1, "{s}");
    assert!(s["configured"].is_null(), "{s}");
}

#[test]
fn a_writable_open_starts_the_sender_when_the_store_configures_forwarding() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("runstore.toml"),
        format!("[forward]\nmlflow_uri = \"{}\"\n", unreachable_uri()),
    )
    .unwrap();
    let h = open(dir.path().to_str().unwrap(), false).unwrap();
    let store = TestStore::borrowed(h);
    create_experiment(h, "e");
    // The sender tries, and its failure shows in the status.
    let started = Instant::now();
    loop {
        let s = status(h);
        if let Some(message) = s["last_error"]["message"].as_str() {
            assert!(message.contains("experiments/get-by-name"), "{message}");
            assert_eq!(s["pending"]["entries"], 1);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{s}");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(store);
    // SAFETY: the live handle, freed once.
    unsafe { rs_store_free(h) };
}
