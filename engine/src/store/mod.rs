//! [`Store`]: opening a store directory and handing out reads and writes.
//!
//! A store is a directory:
//!
//! ```text
//! DIR/catalog.redb          the catalog (redb): experiments, runs, dictionaries,
//!                           pending points, segment manifest, change log
//! DIR/segments/*.parquet    metric histories, immutable once written
//! DIR/index/*.snap          search-index snapshots, derived from the catalog
//! DIR/owner.lock            held (flock) by the process whose maintenance
//!                           owner thread keeps the store compact
//! DIR/open.lock             held (flock) for a moment by a writable open
//! ```
//!
//! Any number of processes may open a store for writing at once (redb's
//! `MultiWriter` mode: a write transaction holds a byte-range lock on the
//! catalog for as long as it is open, a few hundred microseconds for a small
//! commit; a writer that finds it taken waits up to
//! [`StoreOptions::busy_timeout`], as SQLite's busy timeout does). Any number
//! may read alongside them and see each commit at their next read.
//!
//! Within a process, one [`Store`] (an `Arc`) is shared by every thread:
//! single calls ([`Store::log_metric`] and the rest of [`api`]) from
//! concurrent threads are committed together (group commit, [`commit`]);
//! [`Store::write`] opens an explicit batch for bulk loads. Background work
//! — flushing staged points into segments, merging segments, index
//! snapshots, change-log trimming — belongs to one owner thread ([`owner`]),
//! never to the caller of a write or a search.

mod api;
mod buffer;
mod commit;
mod compact;
mod forward;
mod indexing;
mod models;
mod owner;
mod page;
mod page_read;
mod read;
mod scan;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_outbox;
mod view;
mod write;

use foldhash::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redb::{
    ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, ReadTransaction, ReadableDatabase,
    TransactionError, WriteTransaction,
};

use crate::catalog::dict::Dict;
use crate::catalog::id_filter::IdFilter;
use crate::catalog::state::StoreState;
use crate::catalog::{self, KEY_NAMES, META};
use crate::error::{Error, Result};
use crate::index::IndexCache;
use crate::segment::PointColumns;

pub use api::MetricBatch;
pub use commit::WriteStats;
pub use owner::MaintenanceStatus;
pub use page::{PageRun, PageRuns};
pub use read::RunParts;
use read::SegmentCache;
pub use scan::{KeySets, PointPlan, RunDigests, Series, SeriesBatch};
pub use view::ReadView;
pub use write::{CommitSummary, NewRun, RunRecord, RunUpdate, WriteBatch};

const CATALOG_FILE: &str = "catalog.redb";
const SEGMENTS_DIR: &str = "segments";
const INDEX_DIR: &str = "index";
const OPEN_LOCK_FILE: &str = "open.lock";

/// Tuning knobs of a store. The defaults suit both a tracker logging a few
/// points at a time and bulk ingests of millions of runs.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// A commit with at least this many new points writes them straight into a
    /// new segment; smaller commits stage them in the catalog.
    pub direct_segment_points: usize,
    /// When staged points exceed this, the owner compacts them into a segment.
    pub pending_flush_points: u64,
    /// When this many small segments exist, the owner merges them into one.
    pub merge_fan_in: usize,
    /// Segments with fewer points than this count as small.
    pub small_segment_points: u64,
    /// The catalog's page cache, in bytes.
    pub cache_bytes: usize,
    /// How long a write waits for another process's write transaction
    /// before failing with [`Error::StoreBusy`].
    pub busy_timeout: Duration,
    /// Buffered writes ([`Store::log_metric_buffered`]) are committed at
    /// most this long after the call (or at [`Store::flush`]).
    pub buffer_interval: Duration,
    /// A buffer holding this many writes is committed by the next buffered
    /// call itself (back-pressure: memory stays bounded).
    pub buffer_max_ops: usize,
    /// Whether a writable handle starts the maintenance owner thread. Off,
    /// nothing is compacted or snapshotted unless called for
    /// ([`Store::maintain_now`]).
    pub background_owner: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            direct_segment_points: 65_536,
            pending_flush_points: 200_000,
            merge_fan_in: 8,
            small_segment_points: 2_000_000,
            cache_bytes: 256 << 20,
            busy_timeout: Duration::from_secs(30),
            buffer_interval: Duration::from_millis(250),
            buffer_max_ops: 1 << 20,
            background_owner: true,
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
    /// The commit sequence this process last wrote or saw while holding the
    /// write lock. A write transaction that finds another sequence knows
    /// another process committed in between, and drops its caches.
    pub last_seq: u64,
}

impl Writer {
    fn new(dict: Dict, last_seq: u64) -> Self {
        Writer {
            dict,
            spare_points: PointColumns::default(),
            spare_runs: HashMap::default(),
            id_filter: None,
            id_lookups: 0,
            last_seq,
        }
    }

    /// Forgets what another process's commits may have made stale: its new
    /// keys and values took the next ids, its new runs are not in the filter.
    fn resync(&mut self, txn: &WriteTransaction) -> Result<()> {
        self.dict = Dict::load(&txn.open_table(KEY_NAMES)?)?;
        self.id_filter = None;
        self.id_lookups = 0;
        Ok(())
    }
}

/// An open store.
///
/// `Store` is `Send + Sync` and handed out in an `Arc`: share it between
/// threads. Reads never block writes and see the last committed state;
/// writes of concurrent callers are committed together.
pub struct Store {
    dir: PathBuf,
    catalog: RwLock<Catalog>,
    writer: Option<Mutex<Writer>>,
    pub(crate) segments: SegmentCache,
    pub(crate) index: IndexCache,
    key_names: RwLock<Arc<Vec<Box<str>>>>,
    /// Param/tag value texts by (key, code), as committed snapshots hold
    /// them (a committed code never changes meaning), for reading pages of
    /// runs without a catalog lookup per value.
    pub(crate) value_texts: RwLock<read::ValueTexts>,
    pub(crate) options: StoreOptions,
    commits: commit::GroupCommit,
    buffer: buffer::Buffer,
    owner: owner::Owner,
}

impl Store {
    /// Opens the store in `dir` for reading and writing, creating it if
    /// needed, and starts its maintenance owner thread.
    pub fn open(dir: impl AsRef<Path>) -> Result<Arc<Store>> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// [`Store::open`] with explicit options.
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Arc<Store>> {
        Store::open_on(dir.as_ref(), options, None)
    }

    /// [`Store::open_with`] with the catalog on `backend` instead of
    /// `DIR/catalog.redb` (fault-injection tests; one process only).
    #[cfg(test)]
    pub(crate) fn open_with_backend(
        dir: &Path,
        options: StoreOptions,
        backend: impl redb::StorageBackend,
    ) -> Result<Arc<Store>> {
        Store::open_on(dir, options, Some(Box::new(backend)))
    }

    fn open_on(
        dir: &Path,
        options: StoreOptions,
        backend: Option<Box<dyn redb::StorageBackend>>,
    ) -> Result<Arc<Store>> {
        let dir = dir.to_path_buf();
        for sub in [dir.clone(), dir.join(SEGMENTS_DIR), dir.join(INDEX_DIR)] {
            std::fs::create_dir_all(&sub).map_err(|e| Error::io(&sub, e))?;
        }
        // Creating the catalog is not atomic: until redb writes its magic
        // number the file looks like an interrupted creation. Processes that
        // open the store at once take turns here, so none mistakes another's
        // creation in progress for a crashed one.
        let open_lock = OpenLock::take(&dir)?;
        let db = match backend {
            None => {
                set_aside_interrupted_creation(&dir.join(CATALOG_FILE))?;
                builder(&options).create(dir.join(CATALOG_FILE))
            }
            Some(backend) => {
                if creation_was_interrupted(|buf| backend.read(0, buf), backend.len().ok()) {
                    backend.set_len(0).map_err(|e| Error::io(&dir, e))?;
                }
                let mut b = builder(&options);
                b.set_concurrency_mode(ConcurrencyMode::ExclusiveWriter);
                b.create_with_backend(BoxedBackend(backend))
            }
        }
        .map_err(|e| open_error(&dir, e))?;
        let artifact_root = default_artifact_root(&dir)?;
        let started = Instant::now();
        let txn = begin_write_waiting(&db, &dir, options.busy_timeout, started)?;
        let dict;
        let seq;
        {
            let mut meta = txn.open_table(META)?;
            let state = match StoreState::load(&meta)? {
                Some(state) => {
                    state.check_format(&dir)?;
                    state
                }
                None => {
                    let state = StoreState::new(artifact_root);
                    state.save(&mut meta)?;
                    state
                }
            };
            seq = state.seq;
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
            catalog::models::create_tables(&txn)?;
            txn.open_table(catalog::OUTBOX)?;
            txn.open_table(catalog::OUTBOX_PARKED)?;
            txn.open_table(catalog::REMOTE_RUNS)?;
            txn.open_table(catalog::REMOTE_EXPERIMENTS)?;
            dict = Dict::load(&txn.open_table(KEY_NAMES)?)?;
        }
        // While this transaction holds the write lock no other process is
        // between writing a segment file and committing it: every file the
        // manifest does not list is a crash's leftover.
        compact::remove_orphan_segments(&txn, &dir.join(SEGMENTS_DIR))?;
        txn.commit()?;
        drop(open_lock);
        let background = options.background_owner;
        let store = Arc::new(Store {
            key_names: RwLock::new(Arc::default()),
            value_texts: RwLock::new(HashMap::default()),
            segments: SegmentCache::new(dir.join(SEGMENTS_DIR)),
            index: IndexCache::new(dir.join(INDEX_DIR)),
            writer: Some(Mutex::new(Writer::new(dict, seq))),
            catalog: RwLock::new(Catalog::Writable(db)),
            dir,
            options,
            commits: commit::GroupCommit::default(),
            buffer: buffer::Buffer::default(),
            owner: owner::Owner::default(),
        });
        if background {
            owner::start(&store)?;
        }
        Ok(store)
    }

    /// Opens an existing store for reading only. Fails with
    /// [`Error::StoreNotFound`] when `dir` holds no store. A read-only
    /// handle writes nothing into the store directory.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Arc<Store>> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(CATALOG_FILE);
        if !path.is_file() {
            return Err(Error::StoreNotFound(dir));
        }
        let options = StoreOptions {
            background_owner: false,
            ..StoreOptions::default()
        };
        let db = match builder(&options).open_read_only(&path) {
            Ok(db) => db,
            Err(DatabaseError::Storage(_)) | Err(DatabaseError::RepairAborted) => {
                // A crashed writer left the file needing repair, which only a
                // writable open performs (the catalog's own recovery, not a
                // write of this handle's). Repair, then open read-only again.
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
        Ok(Arc::new(Store {
            key_names: RwLock::new(Arc::default()),
            value_texts: RwLock::new(HashMap::default()),
            segments: SegmentCache::new(dir.join(SEGMENTS_DIR)),
            index: IndexCache::new(dir.join(INDEX_DIR)),
            writer: None,
            catalog: RwLock::new(Catalog::ReadOnly(db)),
            dir,
            options,
            commits: commit::GroupCommit::default(),
            buffer: buffer::Buffer::default(),
            owner: owner::Owner::default(),
        }))
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this handle may write.
    pub fn is_writable(&self) -> bool {
        self.writer.is_some()
    }

    /// Starts an explicit write transaction, for bulk loads. Everything done
    /// through the returned batch becomes visible, durably and at once, when
    /// it is committed; dropping it uncommitted discards it all. While it is
    /// open, other writers (single calls of this handle, other processes)
    /// wait: keep it short, or use the single calls of [`api`].
    pub fn write(&self) -> Result<WriteBatch<'_>> {
        WriteBatch::begin(self)
    }

    /// Rewrites the catalog file without the free space that copy-on-write
    /// transactions leave behind (large ingests leave a lot). Needs the
    /// handle to itself: it fails while a read or write transaction of this
    /// process is open (other processes' readers keep reading the pages they
    /// hold). Returns whether anything was reclaimed.
    pub fn compact_catalog(&self) -> Result<bool> {
        let _writer = self.lock_writer()?;
        let mut catalog = self
            .catalog
            .write()
            .map_err(|_| Error::corrupt("catalog", "lock poisoned"))?;
        match &mut *catalog {
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
        let txn = self.begin_write_txn()?;
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
    pub fn compact_if_sparse(&self, min_free: u64) -> Result<bool> {
        let (file, live) = self.catalog_space()?;
        let free = file.saturating_sub(live);
        if free < min_free.max(1) || free < file / 8 {
            return Ok(false);
        }
        self.compact_catalog()
    }

    /// A consistent read-only view of the catalog as of now.
    pub(crate) fn begin_read(&self) -> Result<ReadTransaction> {
        let catalog = self
            .catalog
            .read()
            .map_err(|_| Error::corrupt("catalog", "lock poisoned"))?;
        Ok(match &*catalog {
            Catalog::Writable(db) => db.begin_read()?,
            Catalog::ReadOnly(db) => db.begin_read()?,
        })
    }

    /// A write transaction, waiting up to the busy timeout for another
    /// process's to end. The caller holds the writer lock.
    pub(crate) fn begin_write_txn(&self) -> Result<WriteTransaction> {
        let catalog = self
            .catalog
            .read()
            .map_err(|_| Error::corrupt("catalog", "lock poisoned"))?;
        match &*catalog {
            Catalog::Writable(db) => {
                begin_write_waiting(db, &self.dir, self.options.busy_timeout, Instant::now())
            }
            Catalog::ReadOnly(_) => Err(read_only(&self.dir)),
        }
    }

    /// The writer lock, a write transaction and the store state in it, with
    /// the writer's caches dropped if another process committed since this
    /// one last wrote.
    pub(crate) fn begin_locked(
        &self,
    ) -> Result<(MutexGuard<'_, Writer>, WriteTransaction, StoreState)> {
        let mut writer = self.lock_writer()?;
        let mut txn = self.begin_write_txn()?;
        txn.set_quick_repair(true);
        let state = StoreState::load(&txn.open_table(META)?)?
            .ok_or_else(|| Error::corrupt("catalog", "store state missing"))?;
        if state.seq != writer.last_seq {
            writer.resync(&txn)?;
            writer.last_seq = state.seq;
        }
        Ok((writer, txn, state))
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
                guard.id_filter = None;
                guard.id_lookups = 0;
                writer.clear_poison();
                Ok(guard)
            }
        }
    }

    /// The cached key names, reloaded as of `txn` when they lack key `id`.
    pub(crate) fn key_names_holding(
        &self,
        txn: &ReadTransaction,
        id: u32,
    ) -> Result<Arc<Vec<Box<str>>>> {
        if let Ok(names) = self.key_names.read()
            && (id as usize) < names.len()
        {
            return Ok(names.clone());
        }
        let names = Arc::new(catalog::dict::load_key_names(&txn.open_table(KEY_NAMES)?)?);
        if let Ok(mut cache) = self.key_names.write() {
            *cache = names.clone();
        }
        Ok(names)
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

impl Drop for Store {
    /// Commits what is buffered (a failure there can only be dropped: the
    /// caller who wanted to know called [`Store::flush`]) and stops the
    /// owner thread.
    fn drop(&mut self) {
        if self.is_writable() {
            let _ = self.flush_buffer_in_background();
        }
        self.owner.stop();
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

/// redb's magic number, which it writes into a new database file last, after
/// the rest of the header is synced.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// Whether a catalog of `len` bytes (`read` fills its first bytes) is the
/// leftover of a creation that crashed before redb wrote its magic number:
/// such a file never held a commit. (redb refuses any non-empty file
/// without the magic, so the store would never open again.)
fn creation_was_interrupted(
    read: impl FnOnce(&mut [u8]) -> std::io::Result<()>,
    len: Option<u64>,
) -> bool {
    let mut magic = [0u8; REDB_MAGIC.len()];
    match len {
        Some(0) | None => false,
        Some(n) if n < REDB_MAGIC.len() as u64 => true,
        Some(_) => read(&mut magic).is_ok() && magic != REDB_MAGIC,
    }
}

/// `DIR/open.lock`, held (flock) while a writable handle creates or first
/// opens the catalog; released when dropped, or when the process dies.
struct OpenLock(std::fs::File);

impl OpenLock {
    fn take(dir: &Path) -> Result<OpenLock> {
        let path = dir.join(OPEN_LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(OpenLock(file))
    }
}

impl Drop for OpenLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Moves an interrupted creation's catalog file aside (to
/// `catalog.redb.interrupted`), so the open starts a fresh one.
fn set_aside_interrupted_creation(path: &Path) -> Result<()> {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let len = file.metadata().ok().map(|m| m.len());
    if creation_was_interrupted(|buf| file.read_exact(buf), len) {
        let aside = path.with_extension("redb.interrupted");
        std::fs::rename(path, &aside).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// A boxed backend is a backend (redb takes `impl StorageBackend`).
#[derive(Debug)]
struct BoxedBackend(Box<dyn redb::StorageBackend>);

impl redb::StorageBackend for BoxedBackend {
    fn len(&self) -> std::io::Result<u64> {
        self.0.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.0.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.0.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.0.write(offset, data)
    }
}

fn builder(options: &StoreOptions) -> redb::Builder {
    let mut b = Database::builder();
    b.set_cache_size(options.cache_bytes);
    b.set_concurrency_mode(ConcurrencyMode::MultiWriter);
    b
}

/// Begins a write transaction on `db`, polling while another process holds
/// the write lock (with a growing pause, 20 µs to 2 ms) until `timeout` has
/// passed since `started`.
fn begin_write_waiting(
    db: &Database,
    dir: &Path,
    timeout: Duration,
    started: Instant,
) -> Result<WriteTransaction> {
    let mut pause = Duration::from_micros(20);
    loop {
        match db.try_begin_write() {
            Ok(txn) => return Ok(txn),
            Err(TransactionError::WouldBlock) => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(Error::StoreBusy {
                        path: dir.to_path_buf(),
                        waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                    });
                }
                std::thread::sleep(pause.min(timeout - waited));
                pause = (pause * 2).min(Duration::from_millis(2));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn open_error(dir: &Path, e: DatabaseError) -> Error {
    match e {
        DatabaseError::DatabaseAlreadyOpen => Error::StoreLocked(dir.to_path_buf()),
        other => other.into(),
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
