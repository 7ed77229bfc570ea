//! Artifact-catalog and registry benches: listing a directory of a catalog
//! of 100,000 files (a small directory, a directory of 1,000 subdirectories,
//! the root), and the registry searches over 1,000 registered models with
//! 10,000 versions.
//!
//! ```text
//! cargo bench -p runstore-bench --bench registry
//! ```
//!
//! A listing's cost follows the directory's children, not the catalog: the
//! scan reports a subdirectory once and seeks past everything under it.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use runstore::search::{
    ModelVersionSearch, RegisteredModelSearch, search_model_versions, search_registered_models,
};
use runstore::{ArtifactEntry, NewModelVersion, Store, StoreOptions};

fn open(dir: &std::path::Path) -> Arc<Store> {
    let options = StoreOptions {
        background_owner: false,
        ..StoreOptions::default()
    };
    Store::open_with(dir, options).expect("a fresh store opens")
}

/// 1,000 run directories of 100 files each: `0/rNNNN/artifacts/fNNN`.
fn artifact_store() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = open(dir.path());
    for chunk in 0..10 {
        let mut batch = store.write().expect("a batch");
        for run in chunk * 100..(chunk + 1) * 100 {
            for f in 0..100u64 {
                let entry = ArtifactEntry {
                    path: format!("0/r{run:04}/artifacts/f{f:03}"),
                    size: f,
                    digest: "0".repeat(64),
                    modified_ms: 1_700_000_000_000,
                };
                batch.record_artifact(&entry).expect("an artifact");
            }
        }
        batch.commit().expect("commit");
    }
    (dir, store)
}

fn artifacts(c: &mut Criterion) {
    let (_dir, store) = artifact_store();
    let mut group = c.benchmark_group("list_artifacts of 100,000");
    group.bench_function("a directory of 100 files", |b| {
        b.iter(|| black_box(store.list_artifacts("0/r0500/artifacts").expect("list")));
    });
    group.bench_function("a directory of 1,000 subdirectories", |b| {
        b.iter(|| black_box(store.list_artifacts("0").expect("list")));
    });
    group.bench_function("the root (one subdirectory)", |b| {
        b.iter(|| black_box(store.list_artifacts("").expect("list")));
    });
    group.finish();
}

fn registry(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = open(dir.path());
    let mut batch = store.write().expect("a batch");
    for m in 0..1000 {
        let name = format!("model-{m:04}");
        let team = if m % 3 == 0 { "vision" } else { "nlp" };
        batch
            .create_registered_model(&name, &[("team".into(), team.into())], None)
            .expect("a model");
        for v in 0..10 {
            batch
                .create_model_version(&NewModelVersion {
                    name: name.clone(),
                    source: format!("s3://bucket/{name}/{v}"),
                    run_id: Some(format!("{:032x}", m * 10 + v)),
                    ..NewModelVersion::default()
                })
                .expect("a version");
        }
    }
    batch.commit().expect("commit");
    let mut group = c.benchmark_group("registry of 1,000 models, 10,000 versions");
    let models = RegisteredModelSearch {
        filter: "name LIKE 'model-0%' AND tags.team = 'vision'".into(),
        ..RegisteredModelSearch::default()
    };
    group.bench_function("search_registered_models (LIKE and a tag)", |b| {
        b.iter(|| black_box(search_registered_models(&store, &models).expect("search")));
    });
    let versions = ModelVersionSearch {
        filter: "name = 'model-0500'".into(),
        ..ModelVersionSearch::default()
    };
    group.bench_function("search_model_versions (one model)", |b| {
        b.iter(|| black_box(search_model_versions(&store, &versions).expect("search")));
    });
    group.bench_function("get_model_version_by_alias (latest)", |b| {
        b.iter(|| {
            black_box(
                store
                    .get_model_version_by_alias("model-0500", "latest")
                    .expect("latest"),
            )
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = artifacts, registry
}
criterion_main!(benches);
