//! [`PageRuns`]: a page of runs read for output, without a `String` or a
//! map per value.
//!
//! A [`Run`] owns every text it holds — about sixty allocations and two
//! B-trees for a run with twenty params, ten tags and ten metrics, which is
//! most of what reading a page of them costs. A `PageRuns` keeps each run's
//! row as the catalog stores it (key ids and value codes, in flat lists
//! shared by the page) and resolves texts when asked: key names from the
//! search index, value texts from the index's dictionaries (or, for a key
//! whose dictionary is too large to read for one page, from the catalog).
//! Each run is a [`PageRun`] of borrowed `&str`s, in the order a [`Run`]'s
//! maps iterate; [`PageRun::to_run`] makes the owned `Run`.
//!
//! Pages are built by [`super::ReadView::page_at_rows`] (`page_read.rs`).

use std::ops::Range;
use std::sync::Arc;

use foldhash::HashMap;

use crate::catalog::rows::LatestRow;
use crate::index::{SearchIndex, ValueTexts};
use crate::metric::MetricPoint;
use crate::store::RunParts;
use crate::types::{
    DatasetInput, ExperimentId, LifecycleStage, Run, RunId, RunStatus, TAG_RUN_NAME, TAG_USER,
};

/// A page of runs, in order. See the module docs.
pub struct PageRuns {
    pub(super) index: Arc<SearchIndex>,
    pub(super) parts: RunParts,
    pub(super) runs: Vec<RunSlot>,
    /// Run names and users.
    pub(super) strings: String,
    /// (key id, value code) of params and tags; each run's stretch sorted by key name.
    pub(super) pairs: Vec<(u32, u32)>,
    /// Latest points; each run's stretch sorted by key name.
    pub(super) metrics: Vec<LatestRow>,
    pub(super) inputs: Vec<DatasetInput>,
    /// (name, artifact location) of the page's experiments.
    pub(super) experiments: Vec<(String, String)>,
    /// Value texts of params, by key id (keys on this page only).
    pub(super) param_texts: Vec<Option<Texts>>,
    /// Value texts of tags, by key id (keys on this page only).
    pub(super) tag_texts: Vec<Option<Texts>>,
}

/// Where the value texts of one key come from.
pub(super) enum Texts {
    /// The search index's dictionary.
    Index(ValueTexts),
    /// The codes this page uses, read from the catalog.
    Catalog(HashMap<u32, Arc<str>>),
}

impl Texts {
    #[inline]
    pub(super) fn get(&self, code: u32) -> Option<&str> {
        match self {
            Texts::Index(t) => t.get(code),
            Texts::Catalog(m) => m.get(&code).map(|s| &**s),
        }
    }
}

/// One run of a page, as stored: ranges into the page's lists.
#[derive(Clone, Debug)]
pub(super) struct RunSlot {
    pub id: u128,
    /// Position in [`PageRuns::experiments`].
    pub experiment_slot: u32,
    pub experiment: u32,
    pub status: RunStatus,
    pub lifecycle: LifecycleStage,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub name: Range<usize>,
    pub user: Range<usize>,
    pub params: Range<usize>,
    pub tags: Range<usize>,
    pub metrics: Range<usize>,
    pub inputs: Range<usize>,
}

impl PageRuns {
    /// Number of runs.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// True when the page holds no run.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Run `i` of the page.
    pub fn get(&self, i: usize) -> Option<PageRun<'_>> {
        self.runs.get(i).map(|slot| PageRun { page: self, slot })
    }

    /// The runs, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = PageRun<'_>> + '_ {
        self.runs.iter().map(|slot| PageRun { page: self, slot })
    }

    /// The runs as owned [`Run`]s, in order.
    pub fn to_runs(&self) -> Vec<Run> {
        self.iter().map(|r| r.to_run()).collect()
    }

    #[inline]
    fn key_name(&self, key: u32) -> &str {
        // Every key id on the page was checked against the index when it was read.
        self.index.key_name(key).unwrap_or_default()
    }

    #[inline]
    fn text(table: &[Option<Texts>], key: u32, code: u32) -> &str {
        // Every code on the page was resolved when it was read.
        table
            .get(key as usize)
            .and_then(Option::as_ref)
            .and_then(|t| t.get(code))
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for PageRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One run of a [`PageRuns`]: everything a [`Run`] holds, borrowed.
#[derive(Clone, Copy)]
pub struct PageRun<'a> {
    page: &'a PageRuns,
    slot: &'a RunSlot,
}

impl<'a> PageRun<'a> {
    /// Its id.
    pub fn run_id(&self) -> RunId {
        RunId::from_u128(self.slot.id)
    }

    /// Its name.
    pub fn run_name(&self) -> &'a str {
        self.page
            .strings
            .get(self.slot.name.clone())
            .unwrap_or_default()
    }

    /// Its experiment.
    pub fn experiment_id(&self) -> ExperimentId {
        ExperimentId(self.slot.experiment)
    }

    fn experiment(&self) -> (&'a str, &'a str) {
        self.page
            .experiments
            .get(self.slot.experiment_slot as usize)
            .map(|(n, a)| (n.as_str(), a.as_str()))
            .unwrap_or_default()
    }

    /// The experiment's name.
    pub fn experiment_name(&self) -> &'a str {
        self.experiment().0
    }

    /// The experiment's artifact location; the run's artifact URI is
    /// `{location}/{run_id}/artifacts` ([`PageRun::artifact_uri`]).
    pub fn artifact_location(&self) -> &'a str {
        self.experiment().1
    }

    /// Where its artifacts go.
    pub fn artifact_uri(&self) -> String {
        format!("{}/{}/artifacts", self.artifact_location(), self.run_id())
    }

    /// Status.
    pub fn status(&self) -> RunStatus {
        self.slot.status
    }

    /// Start, ms since the epoch.
    pub fn start_time(&self) -> i64 {
        self.slot.start_time
    }

    /// End, ms since the epoch, if ended.
    pub fn end_time(&self) -> Option<i64> {
        self.slot.end_time
    }

    /// Who ran it; empty when unknown.
    pub fn user(&self) -> &'a str {
        self.page
            .strings
            .get(self.slot.user.clone())
            .unwrap_or_default()
    }

    /// Live or deleted.
    pub fn lifecycle_stage(&self) -> LifecycleStage {
        self.slot.lifecycle
    }

    /// Params, by key (the order of [`Run::params`]).
    pub fn params(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let page = self.page;
        let pairs = page.pairs.get(self.slot.params.clone()).unwrap_or_default();
        pairs
            .iter()
            .map(move |&(k, code)| (page.key_name(k), PageRuns::text(&page.param_texts, k, code)))
    }

    /// Tags, by key, with `mlflow.runName` and `mlflow.user` (the order and
    /// content of [`Run::tags`]).
    pub fn tags(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let page = self.page;
        let pairs = page.pairs.get(self.slot.tags.clone()).unwrap_or_default();
        let stored = pairs
            .iter()
            .map(move |&(k, code)| (page.key_name(k), PageRuns::text(&page.tag_texts, k, code)));
        let mut derived: [Option<(&'a str, &'a str)>; 2] = [None, None];
        if page.parts.tags {
            derived[0] = Some((TAG_RUN_NAME, self.run_name()));
            let user = self.user();
            if !user.is_empty() {
                derived[1] = Some((TAG_USER, user));
            }
        }
        Merge {
            stored: stored.peekable(),
            derived,
        }
    }

    /// Each metric's latest point, by key (the order of [`Run::metrics`]).
    pub fn metrics(&self) -> impl Iterator<Item = (&'a str, MetricPoint)> + 'a {
        let page = self.page;
        let list = page
            .metrics
            .get(self.slot.metrics.clone())
            .unwrap_or_default();
        list.iter().map(move |m| (page.key_name(m.key), m.point))
    }

    /// Dataset inputs.
    pub fn inputs(&self) -> &'a [DatasetInput] {
        self.page
            .inputs
            .get(self.slot.inputs.clone())
            .unwrap_or_default()
    }

    /// The run as an owned [`Run`].
    pub fn to_run(&self) -> Run {
        let own = |(k, v): (&str, &str)| (k.to_owned(), v.to_owned());
        Run {
            run_id: self.run_id(),
            run_name: self.run_name().to_owned(),
            experiment_id: self.experiment_id(),
            experiment_name: self.experiment_name().to_owned(),
            status: self.status(),
            start_time: self.start_time(),
            end_time: self.end_time(),
            user: self.user().to_owned(),
            lifecycle_stage: self.lifecycle_stage(),
            artifact_uri: self.artifact_uri(),
            params: self.params().map(own).collect(),
            tags: self.tags().map(own).collect(),
            metrics: self.metrics().map(|(k, p)| (k.to_owned(), p)).collect(),
            inputs: self.inputs().to_vec(),
        }
    }
}

impl std::fmt::Debug for PageRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_run().fmt(f)
    }
}

/// Stored tags with the two derived ones merged in at their place by name.
struct Merge<'a, I: Iterator<Item = (&'a str, &'a str)>> {
    stored: std::iter::Peekable<I>,
    /// `mlflow.runName`, `mlflow.user` (in name order), taken as emitted.
    derived: [Option<(&'a str, &'a str)>; 2],
}

impl<'a, I: Iterator<Item = (&'a str, &'a str)>> Iterator for Merge<'a, I> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let next_derived = self.derived.iter_mut().find(|d| d.is_some());
        match (next_derived, self.stored.peek()) {
            (Some(d), Some(&(k, _))) => {
                let dk = d.map(|(k, _)| k).unwrap_or_default();
                // A stored tag never has a derived tag's key; if one did, the
                // derived value wins (it would overwrite it in a map).
                if dk < k {
                    d.take()
                } else if dk == k {
                    self.stored.next();
                    d.take()
                } else {
                    self.stored.next()
                }
            }
            (Some(d), None) => d.take(),
            (None, _) => self.stored.next(),
        }
    }
}
