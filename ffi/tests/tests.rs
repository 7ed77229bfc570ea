//! Tests of the C API: one binary, one module per topic.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
#![allow(unsafe_code)] // calling the C API as C would needs `unsafe`

// Helpers: C strings, the last error, stores in temporary directories.
mod util;

// NULL handles and arguments, invalid UTF-8, the last-error buffer.
mod arguments;
// Ingest, search and history through the C API, against the facade's output.
mod roundtrip;
// Experiments, runs, logging, buffered writes, Arrow streams, handles, threads.
mod typed;
// Forwarding to an MLflow server: configure, status, flush, retry, disable.
mod forward;
// include/runstore.h declares exactly the exported functions and statuses.
mod header;
// tests/c/smoke.c, compiled with the system `cc` against the cdylib.
mod c_smoke;
// examples/train.c, plain and under AddressSanitizer.
mod c_example;
