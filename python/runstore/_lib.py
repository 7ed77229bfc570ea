"""ctypes bindings over runstore's C API (ffi/include/runstore.h).

The wheel carries the C API as ``runstore/_native/lib_native.so``; this module
loads it, declares every function's argument and result types, and turns a
failed status into :class:`RunstoreError` carrying MLflow's error code. It is
the only module that touches ctypes.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
from ctypes import (
    POINTER,
    byref,
    c_bool,
    c_char,
    c_char_p,
    c_double,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)

RS_OK = 0
RS_RUN_ID_SIZE = 33
_NAMES = {1: "RS_NULL_ARGUMENT", 2: "RS_INVALID_UTF8", 3: "RS_BAD_INPUT", 4: "RS_FAILURE", 5: "RS_PANIC"}


class RunstoreError(Exception):
    """A runstore call failed.

    ``error_code`` is MLflow's code for the cause (``INVALID_PARAMETER_VALUE``,
    ``RESOURCE_DOES_NOT_EXIST``, ``RESOURCE_ALREADY_EXISTS``,
    ``TEMPORARILY_UNAVAILABLE`` or ``INTERNAL_ERROR``); ``status`` is the C
    API's status name (``RS_BAD_INPUT`` for a caller's mistake).
    """

    def __init__(self, message: str, error_code: str = "INTERNAL_ERROR", status: str = "RS_FAILURE"):
        super().__init__(message)
        self.message = message
        self.error_code = error_code or "INTERNAL_ERROR"
        self.status = status


def _library_path() -> str:
    override = os.environ.get("RUNSTORE_LIBRARY")
    if override:
        return override
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native")
    name = {"darwin": "lib_native.dylib", "win32": "_native.dll"}.get(sys.platform, "lib_native.so")
    return os.path.join(here, name)


_P = c_char_p
_PP = POINTER(c_char_p)
_STORE = c_void_p

# name: (result type, argument types)
_SIGNATURES = {
    "rs_version": (c_char_p, []),
    "rs_last_error_code": (c_char_p, []),
    "rs_last_error": (c_uint32, [POINTER(c_char), c_size_t, POINTER(c_size_t)]),
    "rs_store_open": (c_uint32, [_P, c_bool, POINTER(c_void_p)]),
    "rs_store_free": (None, [_STORE]),
    "rs_store_flush": (c_uint32, [_STORE]),
    "rs_string_free": (None, [c_void_p]),
    "rs_ingest_jsonl": (c_uint32, [_STORE, c_char_p, c_size_t, POINTER(c_uint64), POINTER(c_uint64)]),
    "rs_experiment_create": (c_uint32, [_STORE, _P, _P, POINTER(c_uint32)]),
    "rs_experiment_get_json": (c_uint32, [_STORE, c_uint32, POINTER(c_void_p)]),
    "rs_experiment_by_name_json": (c_uint32, [_STORE, _P, POINTER(c_void_p)]),
    "rs_experiment_rename": (c_uint32, [_STORE, c_uint32, _P]),
    "rs_experiment_delete": (c_uint32, [_STORE, c_uint32]),
    "rs_experiment_restore": (c_uint32, [_STORE, c_uint32]),
    "rs_experiment_set_tag": (c_uint32, [_STORE, c_uint32, _P, _P]),
    "rs_experiment_delete_tag": (c_uint32, [_STORE, c_uint32, _P]),
    "rs_experiments_search_json": (c_uint32, [_STORE, _P, POINTER(c_void_p)]),
    "rs_run_create": (
        c_uint32,
        [_STORE, c_uint32, _P, POINTER(c_int64), _P, _P, _PP, _PP, c_size_t, POINTER(c_char)],
    ),
    "rs_run_update": (c_uint32, [_STORE, _P, _P, POINTER(c_int64), _P]),
    "rs_run_delete": (c_uint32, [_STORE, _P]),
    "rs_run_restore": (c_uint32, [_STORE, _P]),
    "rs_run_get_json": (c_uint32, [_STORE, _P, POINTER(c_void_p)]),
    "rs_log_metric": (c_uint32, [_STORE, _P, _P, c_double, c_int64, c_int64]),
    "rs_log_metric_buffered": (c_uint32, [_STORE, _P, _P, c_double, c_int64, c_int64]),
    "rs_log_param": (c_uint32, [_STORE, _P, _P, _P]),
    "rs_log_param_buffered": (c_uint32, [_STORE, _P, _P, _P]),
    "rs_set_tag": (c_uint32, [_STORE, _P, _P, _P]),
    "rs_set_tag_buffered": (c_uint32, [_STORE, _P, _P, _P]),
    "rs_delete_tag": (c_uint32, [_STORE, _P, _P]),
    "rs_log_batch": (
        c_uint32,
        [
            _STORE,
            _P,
            _PP,
            POINTER(c_double),
            POINTER(c_int64),
            POINTER(c_int64),
            c_size_t,
            _PP,
            _PP,
            c_size_t,
            _PP,
            _PP,
            c_size_t,
        ],
    ),
    "rs_log_input": (c_uint32, [_STORE, _P, _P, _P, _P, _P, _P, _P, _P]),
    "rs_forward_configure": (c_uint32, [_STORE, _P, _P, _P, _P, _P]),
    "rs_forward_disable": (c_uint32, [_STORE]),
    "rs_forward_status_json": (c_uint32, [_STORE, POINTER(c_void_p)]),
    "rs_forward_flush": (c_uint32, [_STORE, c_int64, POINTER(c_uint64)]),
    "rs_forward_retry_parked": (c_uint32, [_STORE, POINTER(c_uint64)]),
    "rs_search_json": (c_uint32, [_STORE, _P, POINTER(c_void_p)]),
    "rs_history_json": (c_uint32, [_STORE, _P, _P, POINTER(c_void_p)]),
    "rs_search_arrow": (c_uint32, [_STORE, _P, c_void_p]),
    "rs_history_arrow": (c_uint32, [_STORE, _P, _P, c_void_p]),
}

_lib = None
_lib_lock = threading.Lock()


def lib():
    """The loaded C library, its functions typed (loaded once per process)."""
    global _lib
    if _lib is None:
        with _lib_lock:
            if _lib is None:
                loaded = ctypes.CDLL(_library_path())
                for name, (restype, argtypes) in _SIGNATURES.items():
                    fn = getattr(loaded, name)
                    fn.restype = restype
                    fn.argtypes = argtypes
                _lib = loaded
    return _lib


def version() -> str:
    """The version of the runstore library inside the package."""
    return lib().rs_version().decode()


def _last_error() -> str:
    size = c_size_t(0)
    lib().rs_last_error(None, 0, byref(size))
    buf = ctypes.create_string_buffer(size.value + 1)
    lib().rs_last_error(buf, len(buf), byref(size))
    return buf.value.decode("utf-8", "replace")


def check(status: int) -> None:
    """Raises :class:`RunstoreError` for a failed status, with the thread's last error."""
    if status != RS_OK:
        code = lib().rs_last_error_code().decode() or "INTERNAL_ERROR"
        raise RunstoreError(_last_error(), code, _NAMES.get(status, "RS_UNKNOWN"))


def enc(value) -> bytes | None:
    """A Python string (or None) as the NUL-terminated UTF-8 the C API takes."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if "\0" in value:
        raise RunstoreError(f"string {value!r} contains a NUL character", "INVALID_PARAMETER_VALUE", "RS_BAD_INPUT")
    return value.encode("utf-8", "surrogatepass")


def strings(values) -> ctypes.Array | None:
    """A list of strings as a ``const char *const *`` array (None when empty)."""
    if not values:
        return None
    return (c_char_p * len(values))(*[enc(v) for v in values])


def take_json(call, *args):
    """Calls a C function whose last argument is ``char **out_json``; returns the parsed JSON."""
    out = c_void_p()
    check(call(*args, byref(out)))
    try:
        return json.loads(ctypes.string_at(out.value).decode("utf-8"))
    finally:
        lib().rs_string_free(out)


class ArrowArrayStream(ctypes.Structure):
    """The Arrow C stream interface's struct (``struct ArrowArrayStream``)."""

    _fields_ = [
        ("get_schema", c_void_p),
        ("get_next", c_void_p),
        ("get_last_error", c_void_p),
        ("release", c_void_p),
        ("private_data", c_void_p),
    ]


__all__ = [
    "RunstoreError",
    "ArrowArrayStream",
    "check",
    "enc",
    "strings",
    "take_json",
    "lib",
    "version",
    "RS_RUN_ID_SIZE",
    "c_double",
    "c_int64",
    "c_uint32",
    "c_uint64",
]
