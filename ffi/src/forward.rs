//! Forwarding to an external MLflow tracking server: configure, status,
//! flush, retry parked entries, disable. (A writable `rs_store_open`
//! already starts the sender when the store or the environment configures
//! forwarding.)

use std::ffi::c_char;
use std::time::Duration;

use runstore::forward::{self, Auth, ForwardConfig};

use crate::error::{FfiError, rs_result};
use crate::handle::{rs_store, store_arg};
use crate::panic::ffi_call;
use crate::strings::{opt_str_arg, out_arg, str_arg, write_out, write_string_out};

/// Forwards the writes of `store` to the MLflow tracking server at `uri`
/// (`http://` or `https://`) from now on: saves the setting in the store's
/// `runstore.toml` (where every process writing the store finds it; the
/// environment variables `RUNSTORE_FORWARD_MLFLOW_URI`… override it),
/// turns recording on, and starts this process's sender.
///
/// `experiment` (NULL: each run goes to the server's experiment named like
/// its own) names one experiment for every run. `token` (bearer) or
/// `username` and `password` (basic authentication) may be NULL.
///
/// # Safety
///
/// `uri` and the optional strings must be NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_forward_configure(
    store: *const rs_store,
    uri: *const c_char,
    experiment: *const c_char,
    token: *const c_char,
    username: *const c_char,
    password: *const c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (uri, experiment, token, username, password) = unsafe {
            (
                str_arg(uri, "uri")?,
                opt_str_arg(experiment, "experiment")?,
                opt_str_arg(token, "token")?,
                opt_str_arg(username, "username")?,
                opt_str_arg(password, "password")?,
            )
        };
        let auth = match (token, username, password) {
            (Some(t), None, None) => Auth::Token(t.to_owned()),
            (Some(_), _, _) => {
                return Err(FfiError::bad_input(
                    "give a token or a username and password, not both",
                ));
            }
            (None, Some(u), p) => Auth::Basic {
                username: u.to_owned(),
                password: p.unwrap_or_default().to_owned(),
            },
            (None, None, Some(_)) => {
                return Err(FfiError::bad_input("a password needs a username"));
            }
            (None, None, None) => Auth::None,
        };
        let mut config = ForwardConfig::new(uri)?;
        config.experiment = experiment.map(str::to_owned);
        config.auth = auth;
        forward::configure(&store, &config)?;
        forward::start(&store)?;
        Ok(())
    })
}

/// Stops forwarding the writes of `store`: removes the setting from its
/// `runstore.toml` and stops recording. What is already recorded stays in
/// the outbox until some sender delivers it.
#[unsafe(no_mangle)]
pub extern "C" fn rs_forward_disable(store: *const rs_store) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        forward::disable(&store)?;
        Ok(())
    })
}

/// Forwarding's state as JSON (what `runstore forward status --format
/// json` prints): `recording`, `configured`, `sender_active`, `pending`
/// (entries, bytes, lag, per run), `parked` (each with the server's
/// reason), `last_error`, `last_success_ms`, `delivered`. On success
/// `*out_json` receives it, to free with `rs_string_free`.
///
/// # Safety
///
/// `out_json` must be NULL or a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_forward_status_json(
    store: *const rs_store,
    out_json: *mut *mut c_char,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        let out = out_arg(out_json, "out_json")?;
        let status = forward::status(&store)?;
        // SAFETY: `out` is non-NULL (checked); the caller promises it is writable.
        unsafe { write_string_out(out, status.to_json().to_string()) }
    })
}

/// Commits buffered writes and waits until every recorded write of `store`
/// is delivered (or parked), at most `timeout_ms` milliseconds (negative:
/// no limit). A timeout fails with `RS_FAILURE` (`rs_last_error_code`:
/// `TEMPORARILY_UNAVAILABLE`) and a message saying what is left and the
/// sender's last error. On success `*parked_out` receives the number of
/// parked entries (refused by the server; see `rs_forward_status_json`).
///
/// # Safety
///
/// `parked_out` must be NULL or a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_forward_flush(
    store: *const rs_store,
    timeout_ms: i64,
    parked_out: *mut u64,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        let out = out_arg(parked_out, "parked_out")?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let flushed = forward::flush(&store, timeout)?;
        // SAFETY: `out` is non-NULL (checked); the caller promises it is writable.
        unsafe { write_out(out, flushed.parked) };
        Ok(())
    })
}

/// Queues every parked entry of `store` again (after the cause was fixed on
/// the server); `*count_out` receives how many.
///
/// # Safety
///
/// `count_out` must be NULL or a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rs_forward_retry_parked(
    store: *const rs_store,
    count_out: *mut u64,
) -> rs_result {
    ffi_call(|| {
        let store = store_arg(store)?;
        let out = out_arg(count_out, "count_out")?;
        let moved = forward::retry_parked(&store)?;
        // SAFETY: `out` is non-NULL (checked); the caller promises it is writable.
        unsafe { write_out(out, moved) };
        Ok(())
    })
}
