//! Ingest, search and history through the C API, against the facade's output.

use runstore::output::{Format, write_history, write_runs};
use runstore::search::{SearchRequest, search};
use runstore_ffi::rs_result;
use serde_json::{Value, json};

use crate::util::{TestStore, last_error};

const A: &str = "00000000000000000000000000000001";
const B: &str = "00000000000000000000000000000002";

fn records() -> String {
    [
        json!({"experiment": "churn", "run_id": A, "run_name": "rf-1", "user": "alice",
               "start_time": 1_700_000_000_000_i64, "params": {"lr": "0.01"}, "tags": {"team": "fraud"},
               "metrics": {"acc": [[0, 0.7, 1_700_000_001_000_i64]],
                           "loss": [[1, 0.5, 1_700_000_002_000_i64], [0, 0.9, 1_700_000_001_000_i64], [2, "NaN", 1_700_000_003_000_i64]]}}),
        json!({"experiment": "churn", "run_id": B, "run_name": "rf-2",
               "start_time": 1_700_000_100_000_i64,
               "metrics": {"acc": [[0, 0.9, 1_700_000_101_000_i64]]}}),
    ]
    .map(|r| r.to_string())
    .join("\n")
}

/// The facade's JSON for the same thing, read from the closed store.
fn facade(
    dir: &std::path::Path,
    write: impl FnOnce(&std::sync::Arc<runstore::Store>, &mut Vec<u8>),
) -> String {
    let store = runstore::Store::open_read_only(dir).unwrap();
    let mut buf = Vec::new();
    write(&store, &mut buf);
    String::from_utf8(buf)
        .unwrap()
        .trim_end_matches('\n')
        .to_owned()
}

#[test]
fn ingest_search_history_round_trip() {
    let mut store = TestStore::new();
    let (status, counts) = store.ingest(&records());
    assert_eq!(status, rs_result::RS_OK, "{}", last_error());
    assert_eq!(counts, Some((2, 5)));

    // Search: a filter and an order.
    let request = r#"{"filter": "metrics.acc > 0.5", "order_by": ["metrics.acc DESC"],
                      "experiments": ["churn"], "max_results": 10, "page_token": null,
                      "view": "active", "extended": false}"#;
    let (status, found) = store.search(request);
    assert_eq!(status, rs_result::RS_OK, "{}", last_error());
    let found = found.unwrap();
    let doc: Value = serde_json::from_str(&found).unwrap();
    let ids: Vec<&str> = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [B, A]);
    assert_eq!(doc["next_page_token"], Value::Null);
    let first = doc["runs"][1].as_object().unwrap();
    // The contract's fields, in its order (runstore may add more).
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    let contract = [
        "run_id",
        "run_name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "user",
        "lifecycle_stage",
        "params",
        "metrics",
        "tags",
    ];
    let shown: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| contract.contains(k))
        .collect();
    assert_eq!(shown, contract);
    assert_eq!(first["metrics"], json!({"acc": 0.7, "loss": "NaN"}));
    assert_eq!(first["params"], json!({"lr": "0.01"}));

    // A filter that keeps one run; a page of one gives a token.
    let (_, one) = store.search(r#"{"filter": "metrics.acc > 0.8"}"#);
    let one: Value = serde_json::from_str(&one.unwrap()).unwrap();
    assert_eq!(one["runs"].as_array().unwrap().len(), 1);
    assert_eq!(one["runs"][0]["run_id"], B);
    let (_, paged) = store.search(r#"{"max_results": 1, "order_by": ["metrics.acc"]}"#);
    let paged: Value = serde_json::from_str(&paged.unwrap()).unwrap();
    assert_eq!(paged["runs"][0]["run_id"], A);
    let token = paged["next_page_token"].as_str().unwrap().to_owned();
    let next = json!({"max_results": 1, "order_by": ["metrics.acc"], "page_token": token});
    let (_, next) = store.search(&next.to_string());
    let next: Value = serde_json::from_str(&next.unwrap()).unwrap();
    assert_eq!(next["runs"][0]["run_id"], B);

    // History: ordered by step, NaN as a string.
    let (status, history) = store.history(A, "loss");
    assert_eq!(status, rs_result::RS_OK, "{}", last_error());
    let history = history.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&history).unwrap(),
        json!({"run_id": A, "key": "loss", "history": [
            [0, 0.9, 1_700_000_001_000_i64], [1, 0.5, 1_700_000_002_000_i64], [2, "NaN", 1_700_000_003_000_i64]]})
    );
    // A key the run never logged: an empty history.
    let (status, empty) = store.history(B, "loss");
    assert_eq!(status, rs_result::RS_OK);
    assert_eq!(
        empty.unwrap(),
        format!(r#"{{"run_id":"{B}","key":"loss","history":[]}}"#)
    );

    // Byte for byte what the CLI's `--format json` prints (without its newline).
    store.close();
    let expected_search = facade(store.dir.as_ref().unwrap().path(), |s, buf| {
        let request = SearchRequest {
            filter: "metrics.acc > 0.5".into(),
            order_by: vec!["metrics.acc DESC".into()],
            experiments: vec!["churn".into()],
            max_results: 10,
            ..SearchRequest::default()
        };
        write_runs(buf, Format::Json, &search(s, &request).unwrap()).unwrap();
    });
    assert_eq!(found, expected_search);
    let expected_history = facade(store.dir.as_ref().unwrap().path(), |s, buf| {
        let id = A.parse().unwrap();
        write_history(
            buf,
            Format::Json,
            id,
            "loss",
            &s.metric_history(id, "loss").unwrap(),
        )
        .unwrap();
    });
    assert_eq!(history, expected_history);
}

#[test]
fn a_bad_filter_names_the_character_position() {
    let store = TestStore::new();
    assert_eq!(store.ingest(&records()).0, rs_result::RS_OK);
    let (status, out) = store.search(r#"{"filter": "metrics.acc > 'high'"}"#);
    assert_eq!((status, out), (rs_result::RS_BAD_INPUT, None));
    let message = last_error();
    assert!(message.contains("at character 15"), "{message}");

    // OR is runstore's extension: refused unless "extended" is true.
    let or = "metrics.acc > 0.8 OR metrics.acc < 0.75";
    let (status, _) = store.search(&json!({"filter": or}).to_string());
    assert_eq!(status, rs_result::RS_BAD_INPUT);
    assert!(last_error().contains("character"), "{}", last_error());
    let (status, out) = store.search(&json!({"filter": or, "extended": true}).to_string());
    assert_eq!(status, rs_result::RS_OK, "{}", last_error());
    let out: Value = serde_json::from_str(&out.unwrap()).unwrap();
    assert_eq!(out["runs"].as_array().unwrap().len(), 2);

    let (status, _) = store.search(r#"{"order_by": ["metrics.acc SIDEWAYS"]}"#);
    assert_eq!(status, rs_result::RS_BAD_INPUT);
    assert!(!last_error().is_empty());
}

#[test]
fn bad_run_ids_and_unknown_runs_are_bad_input() {
    let store = TestStore::new();
    assert_eq!(store.ingest(&records()).0, rs_result::RS_OK);
    let (status, out) = store.history("XYZ", "loss");
    assert_eq!((status, out), (rs_result::RS_BAD_INPUT, None));
    assert!(
        last_error().contains("32 lowercase hex"),
        "{}",
        last_error()
    );
    let (status, out) = store.history("0000000000000000000000000000000f", "loss");
    assert_eq!((status, out), (rs_result::RS_BAD_INPUT, None));
    assert!(
        last_error().contains("0000000000000000000000000000000f"),
        "{}",
        last_error()
    );
}

#[test]
fn a_bad_line_keeps_the_lines_before_it() {
    let store = TestStore::new();
    let input = format!(
        "{}\n{{\"run_id\": \"{B}\"}}\n",
        records().lines().next().unwrap()
    );
    let (status, counts) = store.ingest(&input);
    assert_eq!((status, counts), (rs_result::RS_BAD_INPUT, None));
    assert!(last_error().starts_with("input:2: "), "{}", last_error());
    let (_, out) = store.search("{}");
    let out: Value = serde_json::from_str(&out.unwrap()).unwrap();
    assert_eq!(out["runs"].as_array().unwrap().len(), 1);
    assert_eq!(out["runs"][0]["run_id"], A);

    // Ingesting nothing is fine.
    assert_eq!(store.ingest(""), (rs_result::RS_OK, Some((0, 0))));
}

#[test]
fn one_handle_serves_several_threads() {
    let store = TestStore::new();
    assert_eq!(store.ingest(&records()).0, rs_result::RS_OK);
    // Raw pointers are not Send; the header promises a `const rs_store *`
    // may be shared between threads, so pass its address.
    let handle = store.handle as usize;
    let threads: Vec<_> = (0..4u128)
        .map(|t| {
            std::thread::spawn(move || {
                let shared = TestStore::borrowed(handle as *mut runstore_ffi::rs_store);
                for i in 0..5u128 {
                    let id = format!("{:032x}", 0x100 + t * 10 + i);
                    let line = json!({"experiment": "par", "run_id": id,
                                      "metrics": {"acc": [[0, 0.5, 1]]}});
                    assert_eq!(shared.ingest(&line.to_string()).0, rs_result::RS_OK);
                    let (status, out) = shared.search(r#"{"experiments": ["par"]}"#);
                    assert_eq!(status, rs_result::RS_OK, "{}", last_error());
                    assert!(out.unwrap().contains(&id));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (_, out) = store.search(r#"{"experiments": ["par"]}"#);
    let out: Value = serde_json::from_str(&out.unwrap()).unwrap();
    assert_eq!(out["runs"].as_array().unwrap().len(), 20);
}
