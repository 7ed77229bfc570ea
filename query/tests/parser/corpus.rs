//! The conformance corpora (`tests/data/conformance*/cases.json` at the
//! repository root, MLflow 3.17's answers to real `search_runs` calls): every
//! case MLflow rejects because of its filter or order_by is rejected by us,
//! every accepted one is accepted. `max_results` errors are checked elsewhere.

use std::path::{Path, PathBuf};

use runstore_query::{Dialect, parse_filter, parse_order_by};

use crate::json::Json;

/// The shared corpus, and any generated ones next to it.
fn corpora() -> Vec<PathBuf> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&data)
        .expect("tests/data at the repository root")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|dir| {
            dir.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("conformance"))
        })
        .map(|dir| dir.join("cases.json"))
        .filter(|file| file.is_file())
        .collect();
    found.sort();
    assert!(
        found.iter().any(|f| f.ends_with("conformance/cases.json")),
        "shared corpus missing"
    );
    found
}

#[test]
fn conformance_corpora_accept_and_reject_like_mlflow() {
    for file in corpora() {
        let text = std::fs::read_to_string(&file).expect("readable corpus");
        check_corpus(&file.display().to_string(), &Json::parse(&text));
    }
}

fn check_corpus(name: &str, cases: &Json) {
    let (mut accepted, mut rejected, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for case in cases.arr() {
        let id = case.field("id").str();
        let filter = case.field("filter").str();
        let order_by: Vec<&str> = case.field("order_by").arr().iter().map(Json::str).collect();
        let Json::Num(max_results) = case.field("max_results") else {
            panic!("{name} {id}: max_results is not a number");
        };
        let expect = case.field("expect");
        let ours_filter = parse_filter(filter, Dialect::Mlflow);
        let ours_order = parse_order_by(&order_by);
        if expect.field("ok").bool() {
            accepted += 1;
            if let Err(e) = &ours_filter {
                failures.push(format!("{id}: MLflow accepts {filter:?}, we reject: {e}"));
            }
            if let Err(e) = &ours_order {
                failures.push(format!("{id}: MLflow accepts {order_by:?}, we reject: {e}"));
            }
            continue;
        }
        if !(1.0..=50_000.0).contains(max_results) {
            skipped += 1;
            continue;
        }
        rejected += 1;
        let error = expect.get("error").map_or("", Json::str);
        // Which part MLflow blamed: the order_by when there is no filter, and so on.
        let we_reject = match (filter.is_empty(), order_by.is_empty()) {
            (true, _) => ours_order.is_err(),
            (_, true) => ours_filter.is_err(),
            _ => ours_filter.is_err() || ours_order.is_err(),
        };
        if !we_reject {
            failures.push(format!(
                "{id}: MLflow rejects {filter:?} / {order_by:?} ({error}), we accept"
            ));
        }
    }
    eprintln!(
        "{name}: {accepted} accepted, {rejected} rejected, {skipped} max_results cases skipped"
    );
    assert!(accepted > 100 && rejected > 20, "{name} looks truncated");
    assert!(
        failures.is_empty(),
        "{name}: {} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
