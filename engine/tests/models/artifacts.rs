//! The artifact catalog: records, listings as MLflow's local artifact
//! repository lists, removal, validation, persistence.

use runstore_engine::{ArtifactEntry, ArtifactListing};

use crate::{code, open};

fn entry(path: &str, size: u64) -> ArtifactEntry {
    ArtifactEntry {
        path: path.into(),
        size,
        digest: "ab".repeat(32),
        modified_ms: 1_700_000_000_000,
    }
}

fn file(path: &str, size: u64) -> ArtifactListing {
    ArtifactListing {
        path: path.into(),
        is_dir: false,
        size: Some(size),
    }
}

fn dir(path: &str) -> ArtifactListing {
    ArtifactListing {
        path: path.into(),
        is_dir: true,
        size: None,
    }
}

#[test]
fn listings_show_immediate_children_sorted() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    for (path, size) in [
        ("1/run/artifacts/model/MLmodel", 10),
        ("1/run/artifacts/model/model.pkl", 20),
        ("1/run/artifacts/model/sub/deep.txt", 5),
        ("1/run/artifacts/model.txt", 7),
        ("1/run/artifacts/model-card.md", 8),
        ("1/run/artifacts/a.txt", 1),
        ("1/run/artifacts/z/x", 2),
        ("2/other", 3),
    ] {
        store.record_artifact(entry(path, size)).unwrap();
    }
    assert_eq!(
        store.list_artifacts("1/run/artifacts").unwrap(),
        [
            file("1/run/artifacts/a.txt", 1),
            dir("1/run/artifacts/model"),
            file("1/run/artifacts/model-card.md", 8),
            file("1/run/artifacts/model.txt", 7),
            dir("1/run/artifacts/z"),
        ]
    );
    assert_eq!(
        store.list_artifacts("1/run/artifacts/model/").unwrap(),
        [
            file("1/run/artifacts/model/MLmodel", 10),
            file("1/run/artifacts/model/model.pkl", 20),
            dir("1/run/artifacts/model/sub"),
        ]
    );
    assert_eq!(store.list_artifacts("").unwrap(), [dir("1"), dir("2")]);
    assert_eq!(store.list_artifacts("2").unwrap(), [file("2/other", 3)]);
    // A file, or nothing, lists as empty.
    assert!(store.list_artifacts("2/other").unwrap().is_empty());
    assert!(store.list_artifacts("3").unwrap().is_empty());
    assert!(store.list_artifacts("1/ru").unwrap().is_empty());
    let listing = &store.list_artifacts("1/run/artifacts/model").unwrap()[0];
    assert_eq!(listing.name(), "MLmodel");
    assert_eq!(
        listing.relative_to("1/run/artifacts"),
        Some("model/MLmodel")
    );
    assert_eq!(
        code(store.list_artifacts("../etc")),
        "INVALID_PARAMETER_VALUE"
    );
}

#[test]
fn records_replace_remove_and_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    store.record_artifact(entry("a/b.txt", 1)).unwrap();
    store.record_artifact(entry("a/b.txt", 2)).unwrap();
    assert_eq!(store.artifact("a/b.txt").unwrap().unwrap().size, 2);
    assert_eq!(store.artifact("a/c.txt").unwrap(), None);
    for bad in ["", "/abs", "a/../b", "a//b", "./a", "a/", "a\\b"] {
        assert_eq!(
            code(store.record_artifact(entry(bad, 1))),
            "INVALID_PARAMETER_VALUE",
            "{bad:?}"
        );
    }
    let mut bad_digest = entry("d.txt", 1);
    bad_digest.digest = "XYZ".into();
    assert_eq!(
        code(store.record_artifact(bad_digest)),
        "INVALID_PARAMETER_VALUE"
    );
    // A path is a file or a directory, never both.
    assert_eq!(
        code(store.record_artifact(entry("a", 1))),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(
        code(store.record_artifact(entry("a/b.txt/c", 1))),
        "INVALID_PARAMETER_VALUE"
    );

    for p in ["a/c.txt", "a/d/e", "a/d/f", "ab"] {
        store.record_artifact(entry(p, 1)).unwrap();
    }
    assert_eq!(store.remove_artifact("a/c.txt").unwrap(), 1);
    assert_eq!(store.remove_artifact("a/c.txt").unwrap(), 0);
    assert_eq!(store.remove_artifacts_under("a/d").unwrap(), 2);
    assert_eq!(store.remove_artifacts_under("a/b.txt").unwrap(), 1);
    assert_eq!(store.list_artifacts("").unwrap(), [file("ab", 1)]);
    assert_eq!(store.remove_artifacts_under("").unwrap(), 1);
    assert!(store.list_artifacts("").unwrap().is_empty());
}

#[test]
fn a_large_catalog_lists_by_children_and_persists() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        // 100 run directories of 100 files each, in ten writes.
        for chunk in 0..10 {
            let mut batch = store.write().unwrap();
            for run in chunk * 10..chunk * 10 + 10 {
                for f in 0..100 {
                    batch
                        .record_artifact(&entry(&format!("0/r{run:03}/artifacts/f{f:03}"), f))
                        .unwrap();
                }
            }
            batch.commit().unwrap();
        }
    }
    let store = runstore_engine::Store::open_read_only(tmp.path()).unwrap();
    let runs = store.list_artifacts("0").unwrap();
    assert_eq!(runs.len(), 100);
    assert!(runs.iter().all(|l| l.is_dir));
    assert_eq!(runs[42].path, "0/r042");
    let files = store.list_artifacts("0/r042/artifacts").unwrap();
    assert_eq!(files.len(), 100);
    assert_eq!(files[7], file("0/r042/artifacts/f007", 7));
}
