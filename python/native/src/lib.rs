//! The shared library of runstore's Python wheel.
//!
//! It exports runstore-ffi's C API (`rs_*`, declared in `ffi/include/runstore.h`)
//! and nothing else; the Python package loads it with `ctypes`. Linking the crate
//! is all this file does: every `#[unsafe(no_mangle)]` function of runstore-ffi
//! becomes a symbol of this cdylib.

pub use runstore_ffi;
