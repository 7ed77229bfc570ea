//! [`Store`]: opening a store directory and handing out reads and writes.
//!
//! A store is a directory:
//!
//! ```text
//! DIR/catalog.redb          the catalog (redb): experiments, runs, dictionaries,
//!                           pending points, segment manifest, change log
//! DIR/segments/*.parquet    metric histories, immutable once written
//! DIR/index/*.snap          search-index snapshots, derived from the catalog
//! ```
//!
//! One process at a time may write (redb's `SingleWriter` mode); any number of
//! processes may read alongside it and follow its commits.

mod compact;
mod read;
mod write;

use foldhash::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{
    ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, ReadTransaction, ReadableDatabase,
};

use crate::catalog::dict::Dict;
use crate::catalog::id_filter::IdFilter;
use crate::catalog::state::StoreState;
use crate::catalog::{self, KEY_NAMES, META};
use crate::error::{Error, Result};
use crate::index::IndexCache;
use crate::segment::PointColumns;

use read::SegmentCache;
pub use write::{CommitSummary, NewRun, RunRecord, RunUpdate, WriteBatch};

const CATALOG_FILE: &str = "catalog.redb";
const SEGMENTS_DIR: &str = "segments";
const INDEX_DIR: &str = "index";

/// Tuning knobs of a store. The defaults suit both a tracker logging a few
/// points at a time and bulk ingests of millions of runs.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// A commit with at least this many new points writes them straight into a
    /// new segment; smaller commits stage them in the catalog.
    pub direct_segment_points: usize,
    /// When staged points exceed this, they are compacted into a segment.
    pub pending_flush_points: u64,
    /// When this many small segments exist, they are merged into one.
    pub merge_fan_in: usize,
    /// Segments with fewer points than this count as small.
    pub small_segment_points: u64,
    /// The catalog's page cache, in bytes.
    pub cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            direct_segment_points: 65_536,
            pending_flush_points: 1_000_000,
            merge_fan_in: 8,
            small_segment_points: 2_000_000,
            cache_bytes: 256 << 20,
        }
    }
}

enum Catalog {
    Writable(Database),
    ReadOnly(ReadOnlyDatabase),
}

/// State only the writer needs, behind one mutex so writes are serialised.
pub(crate) struct Writer {
    /// Cache of the key/value dictionaries.
    pub dict: Dict,
    /// The last batch's point columns, emptied: the next batch fills them
    /// again without growing (and page-faulting in) fresh buffers.
    pub spare_points: PointColumns,
    /// Likewise the last batch's table of touched runs, emptied.
    pub spare_runs: HashMap<u128, write::Touched>,
    /// Filter of stored run ids, built once the writer has looked up enough
    /// ids for it to pay ([`IdFilter`]).
    pub id_filter: Option<IdFilter>,
    /// Run-id lookups in the catalog so far (until the filter is built).
    pub id_lookups: u64,
}

/// An open store.
///
/// `Store` is `Send + Sync`: share it (e.g. in an `Arc`) between threads.
/// Reads never block writes and see the last committed state; writes are
/// serialised.
pub struct Store {
    dir: PathBuf,
    catalog: Catalog,
    writer: Option<Mutex<Writer>>,
    pub(crate) segments: SegmentCache,
    pub(crate) index: IndexCache,
    key_names: RwLock<Vec<Box<str>>>,
    /// Param/tag value texts by (key, code), as committed snapshots hold
    /// them (a committed code never changes meaning), for reading pages of
    /// runs without a catalog lookup per value.
    pub(crate) value_texts: RwLock<HashMap<(u32, u32), Arc<str>>>,
    pub(crate) options: StoreOptions,
}

impl Store {
    /// Opens the store in `dir` for reading and writing, creating it if needed.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// [`Store::open`] with explicit options.
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        for sub in [dir.clone(), dir.join(SEGMENTS_DIR), dir.join(INDEX_DIR)] {
            std::fs::create_dir_all(&sub).map_err(|e| Error::io(&sub, e))?;
        }
        let db = builder(&options)
            .create(dir.join(CATALOG_FILE))
            .map_err(|e| open_error(&dir, e))?;
        let artifact_root = default_artifact_root(&dir)?;
        let txn = db.begin_write()?;
        let dict;
        {
            let mut meta = txn.open_table(META)?;
            match StoreState::load(&meta)? {
                Some(state) => state.check_format(&dir)?,
                None => StoreState::new(artifact_root).save(&mut meta)?,
            }
            // Create every table, so readers never meet a missing one.
            txn.open_table(catalog::EXPERIMENTS)?;
            txn.open_table(catalog::EXPERIMENT_NAMES)?;
            txn.open_table(catalog::KEYS)?;
            txn.open_table(catalog::VALUES)?;
            txn.open_table(catalog::VALUE_NAMES)?;
            txn.open_table(catalog::RUNS)?;
            txn.open_table(catalog::RUN_IDS)?;
            txn.open_table(catalog::PENDING)?;
            txn.open_table(catalog::SEGMENTS)?;
            txn.open_table(catalog::CHANGES)?;
            dict = Dict::load(&txn.open_table(KEY_NAMES)?)?;
        }
        txn.commit()?;
        let store = Store {
            key_names: RwLock::new(Vec::new()),
            value_texts: RwLock::new(HashMap::default()),
            segments: SegmentCache::new(dir.join(SEGMENTS_DIR)),
            index: IndexCache::new(dir.join(INDEX_DIR)),
            writer: Some(Mutex::new(Writer {
                dict,
                spare_points: PointColumns::default(),
                spare_runs: HashMap::default(),
                id_filter: None,
                id_lookups: 0,
            })),
            catalog: Catalog::Writable(db),
            dir,
            options,
        };
        store.remove_orphan_segments()?;
        Ok(store)
    }

    /// Opens an existing store for reading only. Fails with
    /// [`Error::StoreNotFound`] when `dir` holds no store.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(CATALOG_FILE);
        if !path.is_file() {
            return Err(Error::StoreNotFound(dir));
        }
        let options = StoreOptions::default();
        let db = match builder(&options).open_read_only(&path) {
            Ok(db) => db,
            Err(DatabaseError::Storage(_)) | Err(DatabaseError::RepairAborted) => {
                // A crashed writer left the file needing repair, which only a
                // writable open performs. Repair, then open read-only again.
                drop(Store::open_with(&dir, options.clone())?);
                builder(&options)
                    .open_read_only(&path)
                    .map_err(|e| open_error(&dir, e))?
            }
            Err(e) => return Err(open_error(&dir, e)),
        };
        {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            match StoreState::load(&meta)? {
                Some(state) => state.check_format(&dir)?,
                None => return Err(Error::StoreNotFound(dir)),
            }
        }
        Ok(Store {
            key_names: RwLock::new(Vec::new()),
            value_texts: RwLock::new(HashMap::default()),
            segments: SegmentCache::new(dir.join(SEGMENTS_DIR)),
            index: IndexCache::new(dir.join(INDEX_DIR)),
            writer: None,
            catalog: Catalog::ReadOnly(db),
            dir,
            options,
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this handle may write.
    pub fn is_writable(&self) -> bool {
        self.writer.is_some()
    }

    /// Starts a write transaction. Everything done through the returned batch
    /// becomes visible, durably and at once, when it is committed; dropping it
    /// uncommitted discards it all.
    pub fn write(&self) -> Result<WriteBatch<'_>> {
        WriteBatch::begin(self)
    }

    /// Rewrites the catalog file without the free space that copy-on-write
    /// transactions leave behind (large ingests leave a lot). Needs the
    /// store to itself: `&mut` rules out transactions of this handle, and
    /// the catalog's file lock rules out other processes. Returns whether
    /// anything was reclaimed.
    pub fn compact_catalog(&mut self) -> Result<bool> {
        match &mut self.catalog {
            Catalog::Writable(db) => Ok(db.compact()?),
            Catalog::ReadOnly(_) => Err(read_only(&self.dir)),
        }
    }

    /// Bytes of the catalog file, and how many of them hold live pages.
    pub fn catalog_space(&self) -> Result<(u64, u64)> {
        let path = self.dir.join(CATALOG_FILE);
        let file = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        let _writer = self.lock_writer()?;
        let txn = self.database()?.begin_write()?;
        let stats = txn.stats()?;
        let live = stats.allocated_pages() * stats.page_size() as u64;
        txn.abort()?;
        Ok((file, live))
    }

    /// Compacts the catalog ([`Store::compact_catalog`]) when free space is
    /// at least an eighth of the file and at least `min_free` bytes — what a
    /// bulk ingest leaves (≈ 15% of the file at 100,000 runs, ≈ 45% at a
    /// million; compacting costs about what writing the live pages once
    /// did). Returns whether it compacted.
    pub fn compact_if_sparse(&mut self, min_free: u64) -> Result<bool> {
        let (file, live) = self.catalog_space()?;
        let free = file.saturating_sub(live);
        if free < min_free.max(1) || free < file / 8 {
            return Ok(false);
        }
        self.compact_catalog()
    }

    /// A consistent read-only view of the catalog as of now.
    pub(crate) fn begin_read(&self) -> Result<ReadTransaction> {
        Ok(match &self.catalog {
            Catalog::Writable(db) => db.begin_read()?,
            Catalog::ReadOnly(db) => db.begin_read()?,
        })
    }

    pub(crate) fn database(&self) -> Result<&Database> {
        match &self.catalog {
            Catalog::Writable(db) => Ok(db),
            Catalog::ReadOnly(_) => Err(read_only(&self.dir)),
        }
    }

    pub(crate) fn lock_writer(&self) -> Result<MutexGuard<'_, Writer>> {
        let writer = self.writer.as_ref().ok_or_else(|| read_only(&self.dir))?;
        // A writer that panicked mid-batch never committed; its dictionary
        // entries may linger in the cache, so rebuild the cache from the catalog.
        match writer.lock() {
            Ok(guard) => Ok(guard),
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                let txn = self.begin_read()?;
                guard.dict = Dict::load(&txn.open_table(KEY_NAMES)?)?;
                writer.clear_poison();
                Ok(guard)
            }
        }
    }

    /// The names of all keys, indexed by key id, as of `txn` (cached; refreshed
    /// when `txn` knows keys the cache does not).
    pub(crate) fn key_name(&self, txn: &ReadTransaction, id: u32) -> Result<Box<str>> {
        if let Ok(names) = self.key_names.read()
            && let Some(name) = names.get(id as usize)
        {
            return Ok(name.clone());
        }
        let names = catalog::dict::load_key_names(&txn.open_table(KEY_NAMES)?)?;
        let name = names
            .get(id as usize)
            .cloned()
            .ok_or_else(|| Error::corrupt("key dictionary", format!("no key with id {id}")))?;
        if let Ok(mut cache) = self.key_names.write() {
            *cache = names;
        }
        Ok(name)
    }

    /// Reads the store state as of `txn`.
    pub(crate) fn state(&self, txn: &ReadTransaction) -> Result<StoreState> {
        StoreState::load(&txn.open_table(META)?)?
            .ok_or_else(|| Error::corrupt("catalog", "store state missing"))
    }

    pub(crate) fn segments_dir(&self) -> PathBuf {
        self.dir.join(SEGMENTS_DIR)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("writable", &self.is_writable())
            .finish_non_exhaustive()
    }
}

fn builder(options: &StoreOptions) -> redb::Builder {
    let mut b = Database::builder();
    b.set_cache_size(options.cache_bytes);
    b.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    b
}

fn open_error(dir: &Path, e: DatabaseError) -> Error {
    match e {
        DatabaseError::DatabaseAlreadyOpen => Error::StoreLocked(dir.to_path_buf()),
        other => Error::Catalog(other.into()),
    }
}

fn read_only(dir: &Path) -> Error {
    Error::InvalidInput(format!(
        "store {} was opened read-only and cannot be written",
        dir.display()
    ))
}

fn default_artifact_root(dir: &Path) -> Result<String> {
    let abs = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    Ok(format!("file://{}/artifacts", abs.display()))
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
