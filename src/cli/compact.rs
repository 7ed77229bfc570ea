//! `runstore compact`.

use std::path::Path;

use runstore::Error;

/// Arguments of `runstore compact` (none yet).
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(db: &Path, _args: Args) -> Result<(), Error> {
    if !db.join("catalog.redb").exists() {
        return Err(runstore::engine::Error::StoreNotFound(db.to_path_buf()).into());
    }
    let before = dir_size(db)?;
    let store = super::open_writable(db)?;
    store.flush_pending()?;
    store.compact_catalog()?;
    store.refresh_index_snapshot()?;
    drop(store);
    let after = dir_size(db)?;
    println!(
        "compacted {}: {:.1} MB -> {:.1} MB",
        db.display(),
        before as f64 / 1e6,
        after as f64 / 1e6
    );
    Ok(())
}

/// Total bytes of the files under `dir`.
fn dir_size(dir: &Path) -> Result<u64, Error> {
    let io = |e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let meta = entry.metadata().map_err(io)?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
