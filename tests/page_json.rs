//! The fast read path `runstore search` prints from — `search_page` and
//! `write_page_json` — against the owned one (`search` and `write_runs`):
//! the same bytes for every page, and the same runs as `get_run` reads them
//! (a separate decoder), for runs with NaN and infinite metrics, unicode and
//! escaped texts, no params or tags, deleted runs, hundreds of keys, keys
//! whose ids are not in name order, and tags changed after the index snapshot.

use std::sync::Arc;

use runstore::output::{Format, RunsPage, run_json, write_page_json, write_runs};
use runstore::search::{SearchRequest, search, search_page};
use runstore::{DatasetInput, MetricPoint, RunId, RunRecord, RunStatus, Store, ViewType};

fn id(i: u64) -> RunId {
    RunId::from_u128(0x7e57_0000_0000_0000_0000_0000_0000_0000 | u128::from(i))
}

const VALUES: [f64; 9] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -0.0,
    0.0,
    1e308,
    5e-324,
    -123.456,
    0.1,
];

/// A run whose texts and numbers cover what JSON output must get right.
fn messy(i: u64) -> RunRecord {
    let experiment = ["plain", "ünïcødé \"quoted\" \\ and\ttab", "実験 ✓"][(i % 3) as usize];
    let run_name = match i % 5 {
        0 => format!("名前-{i}"),
        1 => format!("quote\"{i}\\ slash"),
        2 => format!("line\nbreak\u{1}{i}"),
        3 => format!("emoji 🙂 {i}"),
        _ => format!("run-{i}"),
    };
    // Keys created in reverse name order, so key ids are not name order.
    let mut params: Vec<(String, String)> = Vec::new();
    if !i.is_multiple_of(7) {
        let many = if i % 11 == 1 { 250 } else { 12 };
        for k in (0..many).rev() {
            params.push((format!("p{k:03}"), format!("{}", (i * 31 + k) % 17)));
        }
        params.push(("Z upper".into(), "".into()));
        params.push(("ü key".into(), "välue \"q\" \\ \u{7f}".into()));
        params.push(("shared".into(), format!("s{}", i % 4)));
        params.push(("long".into(), "x".repeat(300 + (i % 5) as usize)));
        params.push(("unique".into(), format!("u-{i}")));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    if !i.is_multiple_of(6) {
        tags.push(("shared".into(), format!("tag {}", i % 3)));
        tags.push(("mlflow.note.content".into(), format!("note\r\n{i}")));
        tags.push(("mlflow.a".into(), "before runName".into()));
        tags.push(("mlflow.zz".into(), "after user".into()));
        tags.push(("Team".into(), format!("team-{}", i % 4)));
        tags.push(("κλειδί".into(), "τιμή".into()));
    }
    let metrics = (0..(i % 4 + 1) as usize)
        .map(|m| {
            let key = ["loss", "acc/val", "ä metric", "m.3"][m].to_string();
            let v = VALUES[(i as usize + m) % VALUES.len()];
            let points = vec![
                MetricPoint {
                    step: 0,
                    value: 0.5,
                    timestamp: 1_700_000_000_000 + i as i64,
                },
                MetricPoint {
                    step: 1 + i as i64,
                    value: v,
                    timestamp: 1_700_000_000_500 + i as i64,
                },
            ];
            (key, points)
        })
        .collect();
    let inputs = if i.is_multiple_of(4) {
        vec![
            DatasetInput {
                name: format!("data \"{i}\""),
                digest: "abc123".into(),
                source_type: "local".into(),
                source: "/tmp/ü".into(),
                schema: Some("{\"a\": 1}".into()),
                profile: None,
                context: Some("training".into()),
            },
            DatasetInput {
                name: "eval".into(),
                digest: "d".into(),
                source_type: "s3".into(),
                source: "s3://b/k".into(),
                schema: None,
                profile: None,
                context: None,
            },
        ]
    } else {
        Vec::new()
    };
    RunRecord {
        experiment: Some(experiment.into()),
        run_id: Some(id(i)),
        run_name: Some(run_name),
        status: Some(
            [RunStatus::Finished, RunStatus::Failed, RunStatus::Running][(i % 3) as usize],
        ),
        start_time: Some(1_700_000_000_000 + (i as i64 % 50) * 1000),
        end_time: i.is_multiple_of(2).then_some(1_700_000_900_000 + i as i64),
        user: (!i.is_multiple_of(3)).then(|| format!("usér-{}", i % 4)),
        params,
        tags,
        metrics,
        inputs,
        ..Default::default()
    }
}

fn old_json(store: &Arc<Store>, request: &SearchRequest) -> (Vec<u8>, RunsPage) {
    let page = search(store, request).unwrap();
    let mut out = Vec::new();
    write_runs(&mut out, Format::Json, &page).unwrap();
    (out, page)
}

/// The fast path's bytes equal the owned path's, page after page, and each
/// run equals what `get_run` reads.
fn check(store: &Arc<Store>, request: &SearchRequest) -> usize {
    let mut request = request.clone();
    let mut seen = 0;
    loop {
        let (want, owned) = old_json(store, &request);
        let fast = search_page(store, &request).unwrap();
        let mut got = Vec::new();
        write_page_json(&mut got, &fast.runs, fast.next_page_token.as_deref()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{request:?}"
        );
        assert_eq!(fast.runs.len(), owned.runs.len());
        for run in fast.runs.iter() {
            let stored = store.get_run(run.run_id()).unwrap();
            assert_eq!(
                run_json(&run.to_run()),
                run_json(&stored),
                "{}",
                run.run_id()
            );
            assert_eq!(run.artifact_uri(), stored.artifact_uri);
        }
        seen += fast.runs.len();
        match fast.next_page_token {
            Some(t) => request.page_token = Some(t),
            None => return seen,
        }
    }
}

fn requests() -> Vec<SearchRequest> {
    let base = SearchRequest::default();
    vec![
        base.clone(),
        SearchRequest {
            max_results: 7,
            view: ViewType::All,
            ..base.clone()
        },
        SearchRequest {
            max_results: 13,
            view: ViewType::DeletedOnly,
            ..base.clone()
        },
        SearchRequest {
            max_results: 9,
            order_by: vec!["metrics.loss DESC".into(), "params.shared".into()],
            ..base.clone()
        },
        SearchRequest {
            filter: "params.shared = 's1' AND tags.Team != 'team-2'".into(),
            max_results: 5,
            ..base.clone()
        },
        SearchRequest {
            filter: "attributes.run_name LIKE '%🙂%'".into(),
            ..base
        },
    ]
}

#[test]
fn the_fast_page_writes_the_same_json_as_the_owned_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let n = 120;
    let mut batch = store.write().unwrap();
    for i in 0..n {
        batch.upsert_run(messy(i)).unwrap();
    }
    batch.commit().unwrap();
    for i in (0..n).step_by(9) {
        store.delete_run(id(i)).unwrap();
    }
    // Every column in memory (the index was built from the catalog).
    for r in requests() {
        check(&store, &r);
    }
    assert_eq!(
        check(&store, &SearchRequest::default()),
        (n - n.div_ceil(9)) as usize
    );

    // A snapshot, then changes after it: new tag values, a new key, new runs.
    store.refresh_index_snapshot().unwrap();
    for i in (0..n).step_by(5).filter(|i| i % 9 != 0) {
        store
            .set_tag(id(i), "shared", &format!("changed {i} \"x\""))
            .unwrap();
        store.set_tag(id(i), "added after", "new").unwrap();
    }
    let mut batch = store.write().unwrap();
    for i in n..n + 30 {
        batch.upsert_run(messy(i)).unwrap();
    }
    batch.commit().unwrap();
    store.delete_run(id(n + 1)).unwrap();

    // A fresh handle loads the snapshot lazily and replays the rest: value
    // texts come from the snapshot's dictionaries and the replayed columns.
    let reader = Store::open_read_only(dir.path()).unwrap();
    for r in requests() {
        check(&reader, &r);
    }
    // The writer's own index, caught up in place.
    for r in requests() {
        check(&store, &r);
    }
}

#[test]
fn an_empty_page_and_an_empty_store_write_the_same_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut batch = store.write().unwrap();
    batch.upsert_run(messy(1)).unwrap();
    batch.commit().unwrap();
    let none = SearchRequest {
        filter: "params.shared = 'no such value'".into(),
        ..SearchRequest::default()
    };
    assert_eq!(check(&store, &none), 0);
    let empty = tempfile::tempdir().unwrap();
    let empty_store = Store::open(empty.path()).unwrap();
    assert_eq!(check(&empty_store, &SearchRequest::default()), 0);
}
