//! `runstore search` through the CLI, as the contract fixes it: formats,
//! errors with positions and exit status 2, page tokens that stay correct
//! while runs arrive, views, and the `--extended` language.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use runstore::Store;
use serde_json::Value;

use crate::util::{record, record_json, run_id, runstore};

/// A store of runs `0..n` (3 experiments, metrics m0, m1).
fn store_of(n: u64) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let file = tmp.path().join("runs.jsonl");
    let lines: Vec<String> = (0..n).map(|i| record_json(i, 2, 3)).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = runstore(&db, &["ingest", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (tmp, db)
}

/// Runs a search with `--format json`; returns the parsed page.
fn search_json(db: &Path, args: &[&str]) -> Value {
    let mut all = vec!["search", "--format", "json"];
    all.extend_from_slice(args);
    let out = runstore(db, &all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts exit status 2 and one `error:` line containing `needle`.
fn assert_rejected(db: &Path, args: &[&str], needle: &str) {
    let out = runstore(db, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn json_output_has_the_contract_shape_and_latest_values() {
    let (_t, db) = store_of(30);
    let page = search_json(&db, &["--filter", "params.seed = '7'"]);
    assert_eq!(ids(&page), vec![run_id(7).to_string()]);
    let run = &page["runs"][0];
    let want = record(7, 2, 3);
    for field in [
        "run_id",
        "run_name",
        "experiment",
        "status",
        "start_time",
        "end_time",
    ] {
        assert!(!run[field].is_null(), "{field} missing in {run}");
    }
    assert_eq!(run["run_name"], "run-7");
    assert_eq!(run["experiment"], "exp-1");
    assert_eq!(run["params"]["lr"], "0.7");
    assert_eq!(run["tags"]["team"], "team-2");
    let last = want.metrics[0].1.last().unwrap().value;
    assert_eq!(run["metrics"]["m0"].as_f64(), Some(last));
    assert!(page["next_page_token"].is_null());
}

#[test]
fn filters_order_and_experiments() {
    let (_t, db) = store_of(60);
    // Default order: newest start_time first.
    let page = search_json(&db, &["--max-results", "3"]);
    let want: Vec<String> = [59, 58, 57].map(|i| run_id(i).to_string()).to_vec();
    assert_eq!(ids(&page), want);
    // Metric order, ascending, within one experiment.
    let page = search_json(
        &db,
        &["--experiment", "exp-2", "--order-by", "metrics.m1 ASC"],
    );
    let got = ids(&page);
    assert_eq!(got.len(), 20);
    let value = |id: &str| {
        let i = (0..60).find(|&i| run_id(i).to_string() == id).unwrap();
        record(i, 2, 3).metrics[1].1.last().unwrap().value
    };
    assert!(got.windows(2).all(|w| value(&w[0]) <= value(&w[1])));
    // A numeric comparison and a string comparison together.
    let page = search_json(
        &db,
        &["--filter", "metrics.m0 > 0 AND tags.team = 'team-1'"],
    );
    for run in page["runs"].as_array().unwrap() {
        assert!(run["metrics"]["m0"].as_f64().unwrap() > 0.0);
        assert_eq!(run["tags"]["team"], "team-1");
    }
    assert!(!ids(&page).is_empty());
    // An unknown experiment is an error, not an empty result.
    assert_rejected(&db, &["search", "--experiment", "nope"], "nope");
}

#[test]
fn bad_filters_name_the_position_and_exit_2() {
    let (_t, db) = store_of(3);
    assert_rejected(
        &db,
        &["search", "--filter", "metrics.acc > 'high'"],
        "at character 15",
    );
    assert_rejected(&db, &["search", "--filter", "metrics.acc >"], "character");
    assert_rejected(&db, &["search", "--filter", "foo.bar = 1"], "character");
    // OR, NOT and parentheses are runstore's extension, refused by default.
    assert_rejected(
        &db,
        &["search", "--filter", "metrics.m0 > 0 OR metrics.m1 > 0"],
        "character",
    );
    assert_rejected(
        &db,
        &["search", "--order-by", "metrics.m0 SIDEWAYS"],
        "character",
    );
    assert_rejected(&db, &["search", "--max-results", "0"], "positive");
    assert_rejected(&db, &["search", "--max-results", "50001"], "50000");
    assert_rejected(&db, &["search", "--view", "gone"], "view");
    assert_rejected(&db, &["search", "--format", "xml"], "format");
    assert_rejected(&db, &["search", "--page-token", "garbage"], "token");
}

#[test]
fn extended_language_adds_or_not_and_parentheses() {
    let (_t, db) = store_of(40);
    let either = search_json(
        &db,
        &[
            "--extended",
            "--filter",
            "params.seed = '3' OR (params.seed = '5' AND tags.team = 'team-0')",
        ],
    );
    let mut got = ids(&either);
    got.sort();
    let mut want = vec![run_id(3).to_string(), run_id(5).to_string()];
    want.sort();
    assert_eq!(got, want);
    let not = search_json(&db, &["--extended", "--filter", "NOT tags.team = 'team-0'"]);
    assert_eq!(ids(&not).len(), 32);
}

#[test]
fn page_tokens_stay_correct_while_runs_arrive() {
    let (tmp, db) = store_of(50);
    let args = ["--max-results", "7", "--order-by", "params.seed ASC"];
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut a = args.to_vec();
        if let Some(t) = &token {
            a.extend_from_slice(&["--page-token", t]);
        }
        let page = search_json(&db, &a);
        seen.extend(ids(&page));
        pages += 1;
        if pages == 2 {
            // New runs land both before and after the cursor.
            let file = tmp.path().join("more.jsonl");
            let lines: Vec<String> = (50..60).map(|i| record_json(i, 2, 3)).collect();
            std::fs::write(&file, lines.join("\n")).unwrap();
            assert!(
                runstore(&db, &["ingest", file.to_str().unwrap()])
                    .status
                    .success()
            );
        }
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a run was repeated across pages");
    // Seeds sort as text: every original run is there, in order, and the new
    // runs whose seed sorts after the second page's last one were found too.
    let original: HashSet<String> = (0..50).map(|i| run_id(i).to_string()).collect();
    assert!(original.iter().all(|id| seen.contains(id)));
    let seeds: Vec<String> = seen
        .iter()
        .map(|id| {
            let i = (0..60).find(|&i| run_id(i).to_string() == *id).unwrap();
            i.to_string()
        })
        .collect();
    assert!(seeds.windows(2).all(|w| w[0] < w[1]), "{seeds:?}");
    assert!(seen.len() > 50, "no new run after the cursor was found");
    // A token belongs to its search: another filter refuses it.
    let first = search_json(&db, &args);
    let t = first["next_page_token"].as_str().unwrap();
    assert_rejected(
        &db,
        &["search", "--filter", "params.seed = '1'", "--page-token", t],
        "token",
    );
}

/// Runs `range` with start times shared by four runs each (ties broken by id).
fn tied_lines(range: std::ops::Range<u64>) -> String {
    range
        .map(|i| {
            let mut v: Value = serde_json::from_str(&record_json(i, 2, 3)).unwrap();
            v["start_time"] = Value::from(1_700_000_000_000 + (i / 4) as i64 * 1000);
            v.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn default_order_pages_resume_exactly_after_the_cursor() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let file = tmp.path().join("runs.jsonl");
    std::fs::write(&file, tied_lines(0..40)).unwrap();
    assert!(
        runstore(&db, &["ingest", file.to_str().unwrap()])
            .status
            .success()
    );
    let filter = ["--filter", "params.lr != '0.3'"];
    let whole = ids(&search_json(&db, &filter));
    assert_eq!(whole.len(), 36);

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for page in 0.. {
        let mut a = filter.to_vec();
        a.extend_from_slice(&["--max-results", "5"]);
        if let Some(t) = &token {
            a.extend_from_slice(&["--page-token", t]);
        }
        let got = search_json(&db, &a);
        seen.extend(ids(&got));
        if page == 1 {
            // Newer runs (sorting before the cursor) and one older run arrive.
            let more = tmp.path().join("more.jsonl");
            std::fs::write(&more, tied_lines(40..44)).unwrap();
            let mut older: Value = serde_json::from_str(&record_json(44, 2, 3)).unwrap();
            older["start_time"] = Value::from(1_600_000_000_000i64);
            let mut text = std::fs::read_to_string(&more).unwrap();
            text.push('\n');
            text.push_str(&older.to_string());
            std::fs::write(&more, text).unwrap();
            assert!(
                runstore(&db, &["ingest", more.to_str().unwrap()])
                    .status
                    .success()
            );
        }
        match got["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    // Every original run once, in the unpaged order, and the older newcomer
    // (run 44) at the end; the newer ones sort before the cursor, unseen.
    let mut want = whole.clone();
    want.push(run_id(44).to_string());
    assert_eq!(seen, want);
}

#[test]
fn views_see_deleted_runs_only_when_asked() {
    let (_t, db) = store_of(10);
    {
        let store = Store::open(&db).unwrap();
        let mut batch = store.write().unwrap();
        batch.delete_run(run_id(4)).unwrap();
        batch.commit().unwrap();
    }
    let active = search_json(&db, &[]);
    assert_eq!(ids(&active).len(), 9);
    assert!(!ids(&active).contains(&run_id(4).to_string()));
    let deleted = search_json(&db, &["--view", "deleted"]);
    assert_eq!(ids(&deleted), vec![run_id(4).to_string()]);
    assert_eq!(ids(&search_json(&db, &["--view", "all"])).len(), 10);
}

#[test]
fn csv_and_table_formats() {
    let (_t, db) = store_of(5);
    let out = runstore(&db, &["search", "--format", "csv"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("run_id,"), "{header}");
    assert!(
        header.contains("metrics.m0") && header.contains("params.lr"),
        "{header}"
    );
    assert_eq!(lines.count(), 5);
    let out = runstore(&db, &["search", "--format", "table", "--max-results", "2"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&run_id(4).to_string()), "{text}");
    assert!(text.contains("--page-token"), "{text}");
}

#[test]
fn searching_a_missing_store_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = runstore(&tmp.path().join("absent"), &["search"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    assert!(!tmp.path().join("absent").exists());
}
