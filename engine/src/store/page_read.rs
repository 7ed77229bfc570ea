//! Reading a [`PageRuns`] from a [`ReadView`]: one pass over the page's run
//! rows (a range scan when they lie close together, as a default-order page
//! does), decoded without allocating, then one text source per key.

use std::sync::Arc;

use foldhash::HashMap;
use redb::ReadTransaction;

use super::page::{PageRuns, RunSlot, Texts};
use super::view::ReadView;
use super::{RunParts, Store};
use crate::catalog::RUNS;
use crate::catalog::VALUE_NAMES;
use crate::catalog::dict::read_value;
use crate::catalog::row_view::{RowLists, decode_row};
use crate::error::{Error, Result};
use crate::index::ColKey;
use crate::types::{LifecycleStage, RunStatus};

/// A key's dictionary is read from the index snapshot for a page when it has
/// at most this many entries, or this many times the values the page needs
/// of it; else the page's values are looked up in the catalog.
const DICT_BUDGET_MIN: usize = 1 << 16;
const DICT_BUDGET_PER_VALUE: usize = 64;

/// Most value texts the store keeps cached for catalog lookups.
const VALUE_CACHE_MAX: usize = 4_000_000;

/// One key's value texts by value code, as read from the catalog.
type CodeTexts = HashMap<u32, Arc<str>>;

impl ReadView {
    /// The runs in `rows` of this read's index, in the order given, read
    /// for output (see [`PageRuns`]). Index rows stay inside the engine and
    /// its query layer.
    pub fn page_at_rows(&self, rows: &[u32]) -> Result<PageRuns> {
        self.page_at_rows_with(rows, RunParts::ALL)
    }

    /// [`ReadView::page_at_rows`] with only `parts` of each run.
    pub fn page_at_rows_with(&self, rows: &[u32], parts: RunParts) -> Result<PageRuns> {
        self.read_page(rows, parts, DICT_BUDGET_MIN)
    }

    fn read_page(&self, rows: &[u32], parts: RunParts, dict_budget: usize) -> Result<PageRuns> {
        let mut page = PageRuns {
            index: self.index().clone(),
            parts,
            runs: Vec::with_capacity(rows.len()),
            strings: String::new(),
            pairs: Vec::new(),
            metrics: Vec::new(),
            inputs: Vec::new(),
            experiments: Vec::new(),
            param_texts: Vec::new(),
            tag_texts: Vec::new(),
        };
        read_rows(&self.txn, rows, &mut page)?;
        name_order(&mut page)?;
        resolve_texts(&self.store, &self.txn, &mut page, dict_budget)?;
        Ok(page)
    }
}

/// Decodes the rows into `page.runs`, in the order of `rows`.
fn read_rows(txn: &ReadTransaction, rows: &[u32], page: &mut PageRuns) -> Result<()> {
    let table = txn.open_table(RUNS)?;
    let mut wanted: Vec<(u32, u32)> = rows
        .iter()
        .enumerate()
        .map(|(pos, &r)| (r, pos as u32))
        .collect();
    wanted.sort_unstable();
    let mut slots: Vec<Option<RunSlot>> = vec![None; rows.len()];
    let mut exp_slots: HashMap<u32, u32> = HashMap::default();
    let (Some(&(lo, _)), Some(&(hi, _))) = (wanted.first(), wanted.last()) else {
        return Ok(());
    };
    let span = u64::from(hi - lo) + 1;
    if span <= 4 * wanted.len() as u64 {
        // Close together: one scan, skipping the rows not asked for.
        let mut next = wanted.iter().peekable();
        for entry in table.range(lo..=hi)? {
            let (key, bytes) = entry?;
            let row = key.value();
            while let Some(&&(r, pos)) = next.peek()
                && r == row
            {
                let slot = decode_into(bytes.value(), page, &mut exp_slots)?;
                slots[pos as usize] = Some(slot);
                next.next();
            }
        }
    } else {
        for &(row, pos) in &wanted {
            if let Some(bytes) = table.get(row)? {
                let slot = decode_into(bytes.value(), page, &mut exp_slots)?;
                slots[pos as usize] = Some(slot);
            }
        }
    }
    for (slot, &row) in slots.into_iter().zip(rows) {
        let slot = slot
            .ok_or_else(|| Error::corrupt("search index", format!("row {row} not in catalog")))?;
        page.runs.push(slot);
    }
    Ok(())
}

/// Decodes one run row onto the end of the page's lists.
fn decode_into(
    bytes: &[u8],
    page: &mut PageRuns,
    exp_slots: &mut HashMap<u32, u32>,
) -> Result<RunSlot> {
    let parts = page.parts;
    let (p0, m0, i0) = (page.pairs.len(), page.metrics.len(), page.inputs.len());
    let mut tags = Vec::new();
    let head = decode_row(
        bytes,
        RowLists {
            params: parts.params.then_some(&mut page.pairs),
            tags: parts.tags.then_some(&mut tags),
            metrics: parts.metrics.then_some(&mut page.metrics),
            inputs: parts.inputs.then_some(&mut page.inputs),
        },
    )?;
    let p1 = page.pairs.len();
    page.pairs.append(&mut tags);
    let t1 = page.pairs.len();
    let status = RunStatus::from_code(head.status)
        .ok_or_else(|| Error::corrupt("run", format!("status code {}", head.status)))?;
    let lifecycle = LifecycleStage::from_code(head.lifecycle)
        .ok_or_else(|| Error::corrupt("run", format!("lifecycle code {}", head.lifecycle)))?;
    let experiment_slot = match exp_slots.get(&head.experiment) {
        Some(&s) => s,
        None => {
            let info = page
                .index
                .experiments()
                .get(&head.experiment)
                .ok_or_else(|| {
                    Error::corrupt("run", format!("experiment {} missing", head.experiment))
                })?;
            let s = page.experiments.len() as u32;
            page.experiments
                .push((info.name.clone(), info.artifact_location.clone()));
            exp_slots.insert(head.experiment, s);
            s
        }
    };
    let name = push_str(&mut page.strings, head.name);
    let user = push_str(&mut page.strings, head.user);
    Ok(RunSlot {
        id: head.id,
        experiment_slot,
        experiment: head.experiment,
        status,
        lifecycle,
        start_time: head.start_time,
        end_time: head.end_time,
        name,
        user,
        params: p0..p1,
        tags: p1..t1,
        metrics: m0..page.metrics.len(),
        inputs: i0..page.inputs.len(),
    })
}

fn push_str(strings: &mut String, s: &str) -> std::ops::Range<usize> {
    let start = strings.len();
    strings.push_str(s);
    start..strings.len()
}

/// Sorts each run's params, tags and metrics by key name (rows keep them by
/// key id), checking every key id against the index.
fn name_order(page: &mut PageRuns) -> Result<()> {
    let keys = page.index.key_count();
    let mut present = vec![false; keys];
    let mut mark = |k: u32| -> Result<()> {
        let slot = present
            .get_mut(k as usize)
            .ok_or_else(|| Error::corrupt("key dictionary", format!("no key with id {k}")))?;
        *slot = true;
        Ok(())
    };
    for &(k, _) in &page.pairs {
        mark(k)?;
    }
    for m in &page.metrics {
        mark(m.key)?;
    }
    let mut ids: Vec<u32> = (0..keys as u32).filter(|&k| present[k as usize]).collect();
    let index = &page.index;
    ids.sort_unstable_by(|&a, &b| index.key_name(a).cmp(&index.key_name(b)));
    let mut rank = vec![u32::MAX; keys];
    for (r, &k) in ids.iter().enumerate() {
        rank[k as usize] = r as u32;
    }
    let by_rank = |k: u32| rank[k as usize];
    for run in &page.runs {
        for range in [run.params.clone(), run.tags.clone()] {
            if let Some(list) = page.pairs.get_mut(range)
                && !list.is_sorted_by_key(|p| by_rank(p.0))
            {
                list.sort_unstable_by_key(|p| by_rank(p.0));
            }
        }
        if let Some(list) = page.metrics.get_mut(run.metrics.clone())
            && !list.is_sorted_by_key(|m| by_rank(m.key))
        {
            list.sort_unstable_by_key(|m| by_rank(m.key));
        }
    }
    Ok(())
}

/// Finds a text source for every param and tag key on the page and checks
/// that it has every value the page uses.
fn resolve_texts(
    store: &Store,
    txn: &ReadTransaction,
    page: &mut PageRuns,
    dict_budget: usize,
) -> Result<()> {
    let keys = page.index.key_count();
    // Values each key needs, params and tags apart (one key may be both).
    let mut need = [vec![0usize; keys], vec![0usize; keys]];
    for run in &page.runs {
        for (kind, range) in [(0, run.params.clone()), (1, run.tags.clone())] {
            for &(k, _) in page.pairs.get(range).unwrap_or_default() {
                need[kind][k as usize] += 1;
            }
        }
    }
    let mut tables: [Vec<Option<Texts>>; 2] = [Vec::new(), Vec::new()];
    for kind in 0..2 {
        let table = &mut tables[kind];
        table.resize_with(keys, || None);
        for k in 0..keys {
            let n = need[kind][k];
            if n == 0 {
                continue;
            }
            let col = if kind == 0 {
                ColKey::Param(k as u32)
            } else {
                ColKey::Tag(k as u32)
            };
            let budget = dict_budget.max(n.saturating_mul(DICT_BUDGET_PER_VALUE));
            table[k] = page.index.value_texts(col, budget)?.map(Texts::Index);
        }
    }
    // Keys the index cannot give cheaply (or lacks a value of: then it is
    // not trusted for the key's other values either): look the page's
    // values of them up in the catalog.
    let mut from_catalog: [Vec<Option<CodeTexts>>; 2] = [Vec::new(), Vec::new()];
    for list in &mut from_catalog {
        list.resize_with(keys, || None);
    }
    for run in &page.runs {
        for (kind, range) in [(0, run.params.clone()), (1, run.tags.clone())] {
            for &(k, code) in page.pairs.get(range).unwrap_or_default() {
                let found = tables[kind][k as usize]
                    .as_ref()
                    .is_some_and(|t| t.get(code).is_some());
                if !found {
                    from_catalog[kind][k as usize].get_or_insert_with(HashMap::default);
                }
            }
        }
    }
    if from_catalog.iter().flatten().any(Option::is_some) {
        let mut lookup = CatalogTexts::new(store, txn)?;
        for run in &page.runs {
            for (kind, range) in [(0, run.params.clone()), (1, run.tags.clone())] {
                for &(k, code) in page.pairs.get(range).unwrap_or_default() {
                    if let Some(Some(found)) = from_catalog[kind].get_mut(k as usize)
                        && !found.contains_key(&code)
                    {
                        found.insert(code, lookup.get(k, code)?);
                    }
                }
            }
        }
        lookup.publish();
        for kind in 0..2 {
            for (k, found) in from_catalog[kind].iter_mut().enumerate() {
                if let Some(found) = found.take() {
                    tables[kind][k] = Some(Texts::Catalog(found));
                }
            }
        }
    }
    let [params, tags] = tables;
    page.param_texts = params;
    page.tag_texts = tags;
    Ok(())
}

/// Value texts looked up in the catalog, through the store's cache.
struct CatalogTexts<'a> {
    store: &'a Store,
    value_names: redb::ReadOnlyTable<(u32, u32), &'static str>,
    fresh: HashMap<(u32, u32), Arc<str>>,
}

impl<'a> CatalogTexts<'a> {
    fn new(store: &'a Store, txn: &ReadTransaction) -> Result<Self> {
        Ok(CatalogTexts {
            store,
            value_names: txn.open_table(VALUE_NAMES)?,
            fresh: HashMap::default(),
        })
    }

    fn get(&mut self, key: u32, code: u32) -> Result<Arc<str>> {
        if let Some(v) = self.fresh.get(&(key, code)) {
            return Ok(v.clone());
        }
        if let Ok(cache) = self.store.value_texts.read()
            && let Some(v) = cache.get(&(key, code))
        {
            return Ok(v.clone());
        }
        let v: Arc<str> = Arc::from(read_value(&self.value_names, key, code)?);
        self.fresh.insert((key, code), v.clone());
        Ok(v)
    }

    /// Shares what was read with later reads.
    fn publish(&mut self) {
        if self.fresh.is_empty() {
            return;
        }
        if let Ok(mut cache) = self.store.value_texts.write() {
            if cache.len() + self.fresh.len() > VALUE_CACHE_MAX {
                cache.clear();
            }
            cache.extend(self.fresh.drain());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunRecord, StoreOptions};
    use crate::types::RunId;

    fn record(i: u64) -> RunRecord {
        RunRecord {
            experiment: Some("e".into()),
            run_id: Some(RunId::from_u128(u128::from(i) + 1)),
            params: vec![
                ("u".into(), format!("unique {i}")),
                ("c".into(), (i % 3).to_string()),
            ],
            tags: vec![("t".into(), format!("tag {i}"))],
            ..RunRecord::default()
        }
    }

    #[test]
    fn keys_with_large_dictionaries_are_read_from_the_catalog_and_give_the_same_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions {
            background_owner: false,
            ..StoreOptions::default()
        };
        let store = Store::open_with(dir.path(), options).expect("open");
        let mut batch = store.write().expect("batch");
        for i in 0..200 {
            batch.upsert_run(record(i)).expect("run");
        }
        batch.commit().expect("commit");
        store.refresh_index_snapshot().expect("snapshot");
        let reader = Store::open_read_only(dir.path()).expect("reader");
        let view = reader.read_view().expect("view");
        let rows = [199, 0, 57];
        // `u` and `t` have 200 values, more than 64 for each one needed.
        let small = view.read_page(&rows, RunParts::ALL, 0).expect("page");
        let index = view.index();
        let (u, c, t) = (
            index.key_id("u").expect("u"),
            index.key_id("c").expect("c"),
            index.key_id("t").expect("t"),
        );
        let from_catalog =
            |texts: &[Option<Texts>], k: u32| matches!(texts[k as usize], Some(Texts::Catalog(_)));
        assert!(from_catalog(&small.param_texts, u));
        assert!(!from_catalog(&small.param_texts, c));
        assert!(from_catalog(&small.tag_texts, t));
        let large = view
            .read_page(&rows, RunParts::ALL, usize::MAX)
            .expect("page");
        assert!(!from_catalog(&large.param_texts, u));
        assert!(!from_catalog(&large.tag_texts, t));
        assert_eq!(small.to_runs(), large.to_runs());
        for (run, i) in small.iter().zip([199, 0, 57]) {
            assert_eq!(
                run.to_run(),
                reader.get_run(RunId::from_u128(i + 1)).expect("run")
            );
            assert_eq!(run.params().count(), 2);
        }
        // Parts left out stay empty, as in `runs_at_rows_with`.
        let bare = view.read_page(&rows, RunParts::NONE, 0).expect("page");
        let run = bare.get(0).expect("run");
        assert_eq!((run.params().count(), run.tags().count()), (0, 0));
        assert_eq!(run.run_id(), RunId::from_u128(200));
    }

    #[test]
    fn a_row_missing_from_the_catalog_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut batch = store.write().expect("batch");
        batch.upsert_run(record(1)).expect("run");
        batch.commit().expect("commit");
        let view = store.read_view().expect("view");
        assert!(view.page_at_rows(&[0]).is_ok());
        assert!(view.page_at_rows(&[0, 5]).is_err());
        assert!(view.page_at_rows(&[]).expect("empty").is_empty());
        // The same row twice is read twice.
        assert_eq!(view.page_at_rows(&[0, 0]).expect("twice").len(), 2);
    }
}
