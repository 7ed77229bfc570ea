//! The typed write and read surface: experiments, runs, logging, buffered
//! writes, Arrow streams, handle checks and threads, called as C calls them.

use std::ffi::{CStr, c_char};
use std::ptr;

use arrow::array::{Array, AsArray, RecordBatchReader};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use runstore_ffi::*;
use serde_json::Value;

use crate::util::{TestStore, c, last_error, take_string};

/// The MLflow code of this thread's last error.
fn last_code() -> String {
    // SAFETY: a static NUL-terminated string.
    unsafe { CStr::from_ptr(rs_last_error_code()) }
        .to_str()
        .unwrap()
        .to_owned()
}

/// `status` must be OK; else the test fails with the last error.
#[track_caller]
fn ok(status: rs_result) {
    assert_eq!(status, rs_result::RS_OK, "{}", last_error());
    assert_eq!(last_code(), "");
}

/// `status` must be `RS_BAD_INPUT` with MLflow code `code` and a message
/// containing `needle`.
#[track_caller]
fn refused(status: rs_result, code: &str, needle: &str) {
    assert_eq!(status, rs_result::RS_BAD_INPUT);
    assert_eq!(last_code(), code, "{}", last_error());
    assert!(last_error().contains(needle), "{}", last_error());
}

/// Reads a JSON string out-pointer.
fn json_of(f: impl FnOnce(*mut *mut c_char) -> rs_result) -> Value {
    let mut out: *mut c_char = ptr::null_mut();
    ok(f(&mut out));
    serde_json::from_str(&take_string(out)).unwrap()
}

fn create_experiment(store: &TestStore, name: &str) -> u32 {
    let name = c(name);
    let mut id = u32::MAX;
    // SAFETY: live handle, NUL-terminated name, NULL location, valid out.
    ok(unsafe { rs_experiment_create(store.handle, name.as_ptr(), ptr::null(), &mut id) });
    id
}

fn create_run(store: &TestStore, experiment: u32, name: &str, parent: Option<&str>) -> String {
    let name = c(name);
    let parent = parent.map(c);
    let (keys, values) = ([c("team")], [c("vision")]);
    let (keys, values) = (
        keys.iter().map(|k| k.as_ptr()).collect::<Vec<_>>(),
        values.iter().map(|v| v.as_ptr()).collect::<Vec<_>>(),
    );
    let start = 1_700_000_000_000i64;
    let mut id = [0 as c_char; RS_RUN_ID_SIZE];
    // SAFETY: live handle; strings NUL-terminated; arrays of 1; 33-byte buffer.
    ok(unsafe {
        rs_run_create(
            store.handle,
            experiment,
            name.as_ptr(),
            &start,
            ptr::null(),
            parent.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
            keys.as_ptr(),
            values.as_ptr(),
            1,
            id.as_mut_ptr(),
        )
    });
    // SAFETY: the call wrote a NUL-terminated id.
    let id = unsafe { CStr::from_ptr(id.as_ptr()) }
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32);
    id
}

fn get_run(store: &TestStore, run: &str) -> Value {
    let run = c(run);
    // SAFETY: live handle, NUL-terminated id, valid out.
    json_of(|out| unsafe { rs_run_get_json(store.handle, run.as_ptr(), out) })
}

fn log_metric(store: &TestStore, run: &str, key: &str, value: f64, step: i64) -> rs_result {
    let (run, key) = (c(run), c(key));
    // SAFETY: live handle, NUL-terminated strings.
    unsafe {
        rs_log_metric(
            store.handle,
            run.as_ptr(),
            key.as_ptr(),
            value,
            1000 + step,
            step,
        )
    }
}

/// Imports a stream the API wrote into `*out`.
fn import(stream: FFI_ArrowArrayStream) -> Vec<arrow::array::RecordBatch> {
    let reader = ArrowArrayStreamReader::try_new(stream).unwrap();
    reader.collect::<Result<_, _>>().unwrap()
}

#[test]
fn experiments_are_created_read_renamed_tagged_deleted_and_searched() {
    let store = TestStore::new();
    let id = create_experiment(&store, "churn");
    let other = create_experiment(&store, "vision");
    assert_ne!(id, other);

    // SAFETY (this test): live handle, NUL-terminated strings, valid outs.
    let e = json_of(|out| unsafe { rs_experiment_get_json(store.handle, id, out) });
    assert_eq!(e["name"], "churn");
    assert_eq!(e["experiment_id"], id.to_string());
    assert_eq!(e["lifecycle_stage"], "active");

    let name = c("churn");
    let mut again = 0u32;
    refused(
        unsafe { rs_experiment_create(store.handle, name.as_ptr(), ptr::null(), &mut again) },
        "RESOURCE_ALREADY_EXISTS",
        "churn",
    );
    assert_eq!(again, 0, "out_id not written on failure");

    let new_name = c("churn-v2");
    ok(unsafe { rs_experiment_rename(store.handle, id, new_name.as_ptr()) });
    let (key, value) = (c("owner"), c("ana"));
    ok(unsafe { rs_experiment_set_tag(store.handle, id, key.as_ptr(), value.as_ptr()) });
    let e =
        json_of(|out| unsafe { rs_experiment_by_name_json(store.handle, new_name.as_ptr(), out) });
    assert_eq!(e["experiment_id"], id.to_string());
    assert_eq!(e["tags"]["owner"], "ana");
    let mut out: *mut c_char = ptr::null_mut();
    refused(
        unsafe { rs_experiment_by_name_json(store.handle, name.as_ptr(), &mut out) },
        "RESOURCE_DOES_NOT_EXIST",
        "churn",
    );
    assert!(out.is_null());

    let filter = c(r#"{"filter": "tags.owner = 'ana'"}"#);
    let page =
        json_of(|out| unsafe { rs_experiments_search_json(store.handle, filter.as_ptr(), out) });
    let names: Vec<_> = page["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, ["churn-v2"]);

    ok(unsafe { rs_experiment_delete_tag(store.handle, id, key.as_ptr()) });
    ok(rs_experiment_delete(store.handle, id));
    let e = json_of(|out| unsafe { rs_experiment_get_json(store.handle, id, out) });
    assert_eq!(e["lifecycle_stage"], "deleted");
    assert_eq!(e["tags"].get("owner"), None);
    let deleted = c(r#"{"view": "deleted"}"#);
    let page =
        json_of(|out| unsafe { rs_experiments_search_json(store.handle, deleted.as_ptr(), out) });
    assert_eq!(page["experiments"].as_array().unwrap().len(), 1);
    ok(rs_experiment_restore(store.handle, id));
    let e = json_of(|out| unsafe { rs_experiment_get_json(store.handle, id, out) });
    assert_eq!(e["lifecycle_stage"], "active");

    refused(
        unsafe { rs_experiment_get_json(store.handle, 4242, &mut out) },
        "RESOURCE_DOES_NOT_EXIST",
        "4242",
    );
    let bad = c(r#"{"filter": "name = "}"#);
    refused(
        unsafe { rs_experiments_search_json(store.handle, bad.as_ptr(), &mut out) },
        "INVALID_PARAMETER_VALUE",
        "",
    );
}

#[test]
fn a_run_is_created_logged_updated_deleted_and_restored() {
    let store = TestStore::new();
    let exp = create_experiment(&store, "train");
    let parent = create_run(&store, exp, "sweep", None);
    let run = create_run(&store, exp, "trial-1", Some(&parent));
    let r = get_run(&store, &run);
    assert_eq!(r["run_name"], "trial-1");
    assert_eq!(r["status"], "RUNNING");
    assert_eq!(r["start_time"], 1_700_000_000_000i64);
    assert_eq!(r["tags"]["team"], "vision");
    assert_eq!(r["tags"]["mlflow.parentRunId"], parent.as_str());

    for step in 0..5 {
        ok(log_metric(
            &store,
            &run,
            "loss",
            1.0 / (step + 1) as f64,
            step,
        ));
    }
    let (run_c, key, value) = (c(&run), c("lr"), c("0.01"));
    // SAFETY (this test): live handle, NUL-terminated strings, valid arrays.
    ok(unsafe { rs_log_param(store.handle, run_c.as_ptr(), key.as_ptr(), value.as_ptr()) });
    ok(unsafe { rs_log_param(store.handle, run_c.as_ptr(), key.as_ptr(), value.as_ptr()) });
    let changed = c("0.02");
    refused(
        unsafe { rs_log_param(store.handle, run_c.as_ptr(), key.as_ptr(), changed.as_ptr()) },
        "INVALID_PARAMETER_VALUE",
        "immutable",
    );
    let (tag, tag_value) = (c("stage"), c("warmup"));
    ok(unsafe {
        rs_set_tag(
            store.handle,
            run_c.as_ptr(),
            tag.as_ptr(),
            tag_value.as_ptr(),
        )
    });
    ok(unsafe { rs_delete_tag(store.handle, run_c.as_ptr(), tag.as_ptr()) });
    refused(
        unsafe { rs_delete_tag(store.handle, run_c.as_ptr(), tag.as_ptr()) },
        "RESOURCE_DOES_NOT_EXIST",
        "stage",
    );

    let (ds, digest, kind, source, ctx) = (
        c("mnist"),
        c("abc123"),
        c("s3"),
        c("s3://d/mnist"),
        c("training"),
    );
    ok(unsafe {
        rs_log_input(
            store.handle,
            run_c.as_ptr(),
            ds.as_ptr(),
            digest.as_ptr(),
            kind.as_ptr(),
            source.as_ptr(),
            ptr::null(),
            ptr::null(),
            ctx.as_ptr(),
        )
    });

    let (status, end) = (c("FINISHED"), 1_700_000_009_000i64);
    ok(unsafe {
        rs_run_update(
            store.handle,
            run_c.as_ptr(),
            status.as_ptr(),
            &end,
            ptr::null(),
        )
    });
    let r = get_run(&store, &run);
    assert_eq!(r["status"], "FINISHED");
    assert_eq!(r["end_time"], end);
    assert_eq!(r["params"]["lr"], "0.01");
    assert_eq!(r["tags"].get("stage"), None);
    assert_eq!(r["inputs"][0]["name"], "mnist");
    let history = crate::util::TestStore::borrowed(store.handle).history(&run, "loss");
    let history: Value = serde_json::from_str(&history.1.unwrap()).unwrap();
    assert_eq!(history["history"].as_array().unwrap().len(), 5);
    assert_eq!(history["history"][4], serde_json::json!([4, 0.2, 1004]));

    let bogus = c("DONE");
    refused(
        unsafe {
            rs_run_update(
                store.handle,
                run_c.as_ptr(),
                bogus.as_ptr(),
                ptr::null(),
                ptr::null(),
            )
        },
        "INVALID_PARAMETER_VALUE",
        "DONE",
    );

    ok(unsafe { rs_run_delete(store.handle, run_c.as_ptr()) });
    let (_, page) = store.search(r#"{"filter": "attributes.run_name = 'trial-1'"}"#);
    assert!(page.unwrap().contains("\"runs\":[]"));
    ok(unsafe { rs_run_restore(store.handle, run_c.as_ptr()) });
    let (_, page) = store.search(r#"{"filter": "attributes.run_name = 'trial-1'"}"#);
    assert!(page.unwrap().contains(&run));

    let unknown = c("0123456789abcdef0123456789abcdef");
    let mut out: *mut c_char = ptr::null_mut();
    refused(
        unsafe { rs_run_get_json(store.handle, unknown.as_ptr(), &mut out) },
        "RESOURCE_DOES_NOT_EXIST",
        "0123456789abcdef0123456789abcdef",
    );
    refused(
        unsafe { rs_log_metric(store.handle, unknown.as_ptr(), key.as_ptr(), 1.0, 0, 0) },
        "RESOURCE_DOES_NOT_EXIST",
        "",
    );
    let mut id = [0 as c_char; RS_RUN_ID_SIZE];
    refused(
        unsafe {
            rs_run_create(
                store.handle,
                exp,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                unknown.as_ptr(),
                ptr::null(),
                ptr::null(),
                0,
                id.as_mut_ptr(),
            )
        },
        "RESOURCE_DOES_NOT_EXIST",
        "parent run",
    );
    assert_eq!(id[0], 0, "out_run_id not written on failure");
}

#[test]
fn a_batch_is_stored_whole_or_not_at_all() {
    let store = TestStore::new();
    let exp = create_experiment(&store, "batch");
    let run = create_run(&store, exp, "b", None);
    let run_c = c(&run);
    let keys = [c("loss"), c("loss"), c("acc")];
    let key_ptrs: Vec<_> = keys.iter().map(|k| k.as_ptr()).collect();
    let values = [0.5, 0.4, 0.9];
    let timestamps = [10i64, 20, 10];
    let steps = [0i64, 1, 0];
    let (pk, pv) = ([c("depth")], [c("4")]);
    let (pk, pv): (Vec<_>, Vec<_>) = (
        pk.iter().map(|s| s.as_ptr()).collect(),
        pv.iter().map(|s| s.as_ptr()).collect(),
    );
    // SAFETY (this test): live handle; arrays as long as their counts.
    ok(unsafe {
        rs_log_batch(
            store.handle,
            run_c.as_ptr(),
            key_ptrs.as_ptr(),
            values.as_ptr(),
            timestamps.as_ptr(),
            steps.as_ptr(),
            3,
            pk.as_ptr(),
            pv.as_ptr(),
            1,
            ptr::null(),
            ptr::null(),
            0,
        )
    });
    let r = get_run(&store, &run);
    assert_eq!(r["params"]["depth"], "4");
    assert_eq!(r["metrics"]["loss"], 0.4);
    assert_eq!(r["metrics"]["acc"], 0.9);

    // 101 params: over MLflow's limit of 100 per batch; nothing is stored,
    // not even the valid metric beside them.
    let many: Vec<_> = (0..101).map(|i| c(&format!("p{i}"))).collect();
    let many_ptrs: Vec<_> = many.iter().map(|s| s.as_ptr()).collect();
    let one = [c("new")];
    let one_ptr = [one[0].as_ptr()];
    refused(
        unsafe {
            rs_log_batch(
                store.handle,
                run_c.as_ptr(),
                one_ptr.as_ptr(),
                values.as_ptr(),
                timestamps.as_ptr(),
                steps.as_ptr(),
                1,
                many_ptrs.as_ptr(),
                many_ptrs.as_ptr(),
                101,
                ptr::null(),
                ptr::null(),
                0,
            )
        },
        "INVALID_PARAMETER_VALUE",
        "100",
    );
    let r = get_run(&store, &run);
    assert_eq!(r["metrics"].get("new"), None);
    assert_eq!(r["params"].as_object().unwrap().len(), 1);

    // A NULL array with a non-zero count, a NULL element, bad UTF-8.
    assert_eq!(
        unsafe {
            rs_log_batch(
                store.handle,
                run_c.as_ptr(),
                ptr::null(),
                values.as_ptr(),
                timestamps.as_ptr(),
                steps.as_ptr(),
                1,
                ptr::null(),
                ptr::null(),
                0,
                ptr::null(),
                ptr::null(),
                0,
            )
        },
        rs_result::RS_NULL_ARGUMENT
    );
    assert_eq!(last_error(), "metric_keys is NULL");
    let with_null = [keys[0].as_ptr(), ptr::null()];
    assert_eq!(
        unsafe {
            rs_log_batch(
                store.handle,
                run_c.as_ptr(),
                with_null.as_ptr(),
                values.as_ptr(),
                timestamps.as_ptr(),
                steps.as_ptr(),
                2,
                ptr::null(),
                ptr::null(),
                0,
                ptr::null(),
                ptr::null(),
                0,
            )
        },
        rs_result::RS_NULL_ARGUMENT
    );
    assert_eq!(last_error(), "metric_keys[1] is NULL");
    let bad_utf8 = b"lo\xffss\0";
    assert_eq!(
        unsafe {
            rs_log_metric(
                store.handle,
                run_c.as_ptr(),
                bad_utf8.as_ptr().cast(),
                1.0,
                0,
                0,
            )
        },
        rs_result::RS_INVALID_UTF8
    );
}

#[test]
fn buffered_writes_are_durable_after_flush_and_report_refusals_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let run;
    {
        let store = TestStore::borrowed(crate::util::open(&path, false).unwrap());
        let exp = create_experiment(&store, "buffered");
        run = create_run(&store, exp, "fast", None);
        let (run_c, key) = (c(&run), c("loss"));
        for step in 0..1000 {
            // SAFETY: live handle, NUL-terminated strings.
            ok(unsafe {
                rs_log_metric_buffered(
                    store.handle,
                    run_c.as_ptr(),
                    key.as_ptr(),
                    step as f64,
                    step,
                    step,
                )
            });
        }
        let (pk, pv, tk, tv) = (c("seed"), c("7"), c("phase"), c("fit"));
        ok(unsafe {
            rs_log_param_buffered(store.handle, run_c.as_ptr(), pk.as_ptr(), pv.as_ptr())
        });
        ok(unsafe { rs_set_tag_buffered(store.handle, run_c.as_ptr(), tk.as_ptr(), tv.as_ptr()) });
        ok(rs_store_flush(store.handle));
        // A buffered write to an unknown run is accepted now and refused at
        // the flush.
        let unknown = c("0123456789abcdef0123456789abcdef");
        ok(unsafe {
            rs_log_metric_buffered(store.handle, unknown.as_ptr(), key.as_ptr(), 1.0, 0, 0)
        });
        refused(rs_store_flush(store.handle), "RESOURCE_DOES_NOT_EXIST", "");
        let mut store = store;
        store.close();
    }
    let store = TestStore::borrowed(crate::util::open(&path, true).unwrap());
    let (_, history) = store.history(&run, "loss");
    let history: Value = serde_json::from_str(&history.unwrap()).unwrap();
    assert_eq!(history["history"].as_array().unwrap().len(), 1000);
    let r = get_run(&store, &run);
    assert_eq!(r["params"]["seed"], "7");
    assert_eq!(r["tags"]["phase"], "fit");
    let mut store = store;
    store.close();
}

#[test]
fn search_and_history_come_out_as_arrow_streams() {
    let store = TestStore::new();
    let exp = create_experiment(&store, "arrow");
    let runs: Vec<String> = (0..3)
        .map(|i| create_run(&store, exp, &format!("r{i}"), None))
        .collect();
    for (i, run) in runs.iter().enumerate() {
        for step in 0..4 {
            ok(log_metric(
                &store,
                run,
                "acc",
                (i * 10 + step) as f64,
                step as i64,
            ));
        }
    }
    let request = c(&format!(
        r#"{{"experiment_ids": [{exp}], "order_by": ["metrics.acc DESC"], "max_results": 2}}"#
    ));
    let mut stream = FFI_ArrowArrayStream::empty();
    // SAFETY: live handle, NUL-terminated request, a writable stream.
    ok(unsafe { rs_search_arrow(store.handle, request.as_ptr(), &mut stream) });
    let reader = ArrowArrayStreamReader::try_new(stream).unwrap();
    let schema = reader.schema();
    assert!(
        schema.metadata().contains_key("next_page_token"),
        "{schema:?}"
    );
    let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    assert_eq!(batch.num_rows(), 2);
    let ids = batch.column_by_name("run_id").unwrap().as_string::<i32>();
    assert_eq!(ids.value(0), runs[2]);
    assert_eq!(ids.value(1), runs[1]);
    let acc = batch
        .column_by_name("metrics.acc")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(acc.values(), &[23.0, 13.0]);
    let team = batch
        .column_by_name("tags.team")
        .unwrap()
        .as_string::<i32>();
    assert_eq!(team.value(0), "vision");
    assert!(batch.column_by_name("end_time").unwrap().is_null(0));

    let (run, key) = (c(&runs[1]), c("acc"));
    let mut stream = FFI_ArrowArrayStream::empty();
    // SAFETY: as above.
    ok(unsafe { rs_history_arrow(store.handle, run.as_ptr(), key.as_ptr(), &mut stream) });
    let batches = import(stream);
    let steps = batches[0]
        .column_by_name("step")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(steps.values(), &[0, 1, 2, 3]);
    let values = batches[0]
        .column_by_name("value")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(values.values(), &[10.0, 11.0, 12.0, 13.0]);
    assert_eq!(batches[0].schema().metadata()["run_id"], runs[1]);

    // A bad filter leaves the stream unwritten.
    let bad = c(r#"{"filter": "metrics.acc >"}"#);
    let mut stream = FFI_ArrowArrayStream::empty();
    refused(
        unsafe { rs_search_arrow(store.handle, bad.as_ptr(), &mut stream) },
        "INVALID_PARAMETER_VALUE",
        "character",
    );
    assert!(stream.release.is_none());
}

#[test]
fn freed_and_made_up_handles_are_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let handle = crate::util::open(dir.path().to_str().unwrap(), false).unwrap();
    let name = c("x");
    let mut id = 0u32;
    // SAFETY: live handle.
    ok(unsafe { rs_experiment_create(handle, name.as_ptr(), ptr::null(), &mut id) });
    // SAFETY: freeing a live handle; freeing it again must be a no-op.
    unsafe {
        rs_store_free(handle);
        rs_store_free(handle);
    }
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: the handle is freed on purpose; everything else is valid.
    let status = unsafe { rs_experiment_get_json(handle, id, &mut out) };
    refused(status, "INVALID_PARAMETER_VALUE", "not open");
    assert!(out.is_null());
    let made_up = std::ptr::without_provenance::<rs_store>(0x1234);
    assert_eq!(rs_store_flush(made_up), rs_result::RS_BAD_INPUT);
    assert_eq!(rs_experiment_delete(made_up, 0), rs_result::RS_BAD_INPUT);
    assert_eq!(rs_store_flush(ptr::null()), rs_result::RS_NULL_ARGUMENT);
    // The store itself is closed: another handle opens it at once.
    let again = crate::util::open(dir.path().to_str().unwrap(), false).unwrap();
    // SAFETY: live handle, then freed once.
    let e = json_of(|out| unsafe { rs_experiment_get_json(again, id, out) });
    assert_eq!(e["name"], "x");
    unsafe { rs_store_free(again) };
}

#[test]
fn eight_threads_log_through_one_handle() {
    const THREADS: usize = 8;
    const STEPS: i64 = 150;
    let store = TestStore::new();
    let exp = create_experiment(&store, "threads");
    let runs: Vec<String> = (0..THREADS)
        .map(|i| create_run(&store, exp, &format!("t{i}"), None))
        .collect();
    let handle = store.handle as usize;
    std::thread::scope(|scope| {
        for run in &runs {
            scope.spawn(move || {
                let handle = std::ptr::without_provenance::<rs_store>(handle);
                let (run, key) = (c(run), c("loss"));
                for step in 0..STEPS {
                    // SAFETY: a live handle shared by the threads (the API
                    // allows it); NUL-terminated strings.
                    let status = unsafe {
                        rs_log_metric(
                            handle,
                            run.as_ptr(),
                            key.as_ptr(),
                            step as f64 * 0.5,
                            step,
                            step,
                        )
                    };
                    assert_eq!(status, rs_result::RS_OK, "{}", last_error());
                }
            });
        }
    });
    for run in &runs {
        let (_, history) = store.history(run, "loss");
        let history: Value = serde_json::from_str(&history.unwrap()).unwrap();
        let points = history["history"].as_array().unwrap();
        assert_eq!(points.len(), STEPS as usize, "{run}");
        for (step, point) in points.iter().enumerate() {
            assert_eq!(point, &serde_json::json!([step, step as f64 * 0.5, step]));
        }
    }
}
