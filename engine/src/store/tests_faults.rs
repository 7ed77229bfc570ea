//! Fault injection at every commit point (redb's own approach): the catalog
//! sits on a storage backend that keeps what was last synced apart from
//! what was written since, and fails the N-th write or sync. For every N
//! over a small workload of single calls, the store is then "crashed"
//! (reopened from the synced bytes only) and must hold every call that
//! returned Ok and nothing of the calls that never ran; the one call that
//! failed is wholly there or wholly absent.

use std::sync::{Arc, Mutex};

use super::{NewRun, RunUpdate, Store, StoreOptions};
use crate::metric::MetricPoint;
use crate::types::{ExperimentId, RunId, RunStatus};

#[derive(Debug, Default)]
struct Disk {
    current: Vec<u8>,
    durable: Vec<u8>,
    ops: u64,
    fail_at: Option<u64>,
    failed: bool,
}

/// The faulty backend; clones share one disk.
#[derive(Debug, Clone, Default)]
struct Faulty(Arc<Mutex<Disk>>);

fn io_fault() -> std::io::Error {
    std::io::Error::other("injected fault")
}

impl Faulty {
    /// Counts an operation; fails it if it is the chosen one (and every
    /// one after: a failed device stays failed).
    fn step(d: &mut Disk) -> std::io::Result<()> {
        d.ops += 1;
        if d.failed || d.fail_at == Some(d.ops) {
            d.failed = true;
            return Err(io_fault());
        }
        Ok(())
    }

    fn disk(&self) -> std::sync::MutexGuard<'_, Disk> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The disk after a crash: only what was synced.
    fn crashed(&self) -> Faulty {
        let d = self.disk();
        Faulty(Arc::new(Mutex::new(Disk {
            current: d.durable.clone(),
            durable: d.durable.clone(),
            ..Disk::default()
        })))
    }
}

impl redb::StorageBackend for Faulty {
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.disk().current.len() as u64)
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        let d = self.disk();
        let start = usize::try_from(offset).map_err(|_| io_fault())?;
        let src = d
            .current
            .get(start..start + out.len())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "past end"))?;
        out.copy_from_slice(src);
        Ok(())
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut d = self.disk();
        Faulty::step(&mut d)?;
        d.current
            .resize(usize::try_from(len).map_err(|_| io_fault())?, 0);
        Ok(())
    }
    fn sync_data(&self) -> std::io::Result<()> {
        let mut d = self.disk();
        Faulty::step(&mut d)?;
        d.durable = d.current.clone();
        Ok(())
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut d = self.disk();
        Faulty::step(&mut d)?;
        let start = usize::try_from(offset).map_err(|_| io_fault())?;
        if d.current.len() < start + data.len() {
            d.current.resize(start + data.len(), 0);
        }
        d.current[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }
}

const RUN_A: u128 = 0xa;
const RUN_B: u128 = 0xb;
const KEYS: [&str; 3] = ["loss", "acc", "lr"];

fn options() -> StoreOptions {
    StoreOptions {
        background_owner: false,
        ..StoreOptions::default()
    }
}

fn point(step: i64, value: f64) -> MetricPoint {
    MetricPoint {
        step,
        value,
        timestamp: 1_700_000_000_000 + step,
    }
}

type Call = Box<dyn Fn(&Store) -> crate::Result<()>>;

/// The workload: single calls, each its own commit.
fn calls() -> Vec<Call> {
    let a = RunId::from_u128(RUN_A);
    let b = RunId::from_u128(RUN_B);
    let exp = ExperimentId(0);
    vec![
        Box::new(|s| s.create_experiment("exp", None, &[]).map(|_| ())),
        Box::new(move |s| {
            s.create_run(
                exp,
                NewRun {
                    run_id: Some(a),
                    run_name: Some("a".into()),
                    start_time: Some(1),
                    ..NewRun::default()
                },
            )
            .map(|_| ())
        }),
        Box::new(move |s| s.log_param(a, "lr", "0.1")),
        Box::new(move |s| s.log_metric(a, "loss", point(0, 0.9))),
        Box::new(move |s| s.log_metric(a, "loss", point(1, 0.7))),
        Box::new(move |s| s.set_tag(a, "team", "vision")),
        Box::new(move |s| {
            s.log_batch(
                a,
                super::MetricBatch {
                    metrics: vec![
                        ("acc".into(), point(0, 0.5)),
                        ("acc".into(), point(1, 0.6)),
                        ("loss".into(), point(2, 0.5)),
                    ],
                    params: vec![("bs".into(), "32".into())],
                    tags: vec![("stage".into(), "dev".into())],
                },
            )
        }),
        Box::new(move |s| {
            s.create_run(
                exp,
                NewRun {
                    run_id: Some(b),
                    run_name: Some("b".into()),
                    start_time: Some(2),
                    ..NewRun::default()
                },
            )
            .map(|_| ())
        }),
        Box::new(move |s| s.log_metric(b, "loss", point(0, 1.5))),
        Box::new(move |s| {
            s.update_run(
                a,
                RunUpdate {
                    status: Some(RunStatus::Finished),
                    end_time: Some(99),
                    ..RunUpdate::default()
                },
            )
        }),
        Box::new(move |s| s.delete_tag(a, "team")),
        Box::new(move |s| s.delete_run(b)),
        Box::new(move |s| s.rename_experiment(exp, "exp2")),
    ]
}

/// Runs the first `limit` calls; stops at the first failure and returns
/// how many returned Ok.
fn workload(store: &Store, limit: usize) -> usize {
    for (i, call) in calls().iter().take(limit).enumerate() {
        if call(store).is_err() {
            return i;
        }
    }
    limit.min(calls().len())
}

/// Everything the workload can change, as text.
fn dump(store: &Store) -> String {
    let mut out = String::new();
    for e in store.experiments().unwrap_or_default() {
        out += &format!("exp {} {} {:?}\n", e.id.0, e.name, e.lifecycle_stage);
    }
    for id in [RUN_A, RUN_B] {
        let id = RunId::from_u128(id);
        let Ok(run) = store.get_run(id) else {
            out += &format!("run {id} absent\n");
            continue;
        };
        out += &format!(
            "run {id} {} {:?} {:?} {:?} {:?} {:?} {:?}\n",
            run.run_name,
            run.status,
            run.end_time,
            run.lifecycle_stage,
            run.params,
            run.tags,
            run.metrics
        );
        for key in KEYS {
            let history = store.metric_history(id, key).unwrap_or_default();
            out += &format!("  {key}: {history:?}\n");
        }
    }
    out
}

#[test]
fn every_failed_write_or_sync_leaves_each_call_wholly_there_or_absent() {
    let calls = calls().len();
    // The healthy runs: the state after each prefix of the workload, and
    // how many backend operations the whole of it makes.
    let mut states = Vec::new();
    let mut total_ops = 0;
    for k in 0..=calls {
        let d = tempfile::tempdir().expect("tempdir");
        let disk = Faulty::default();
        let s = Store::open_with_backend(d.path(), options(), disk.clone()).expect("open");
        assert_eq!(workload(&s, k), k, "the healthy workload fails nowhere");
        states.push(dump(&s));
        drop(s);
        total_ops = disk.disk().ops;
    }
    assert!(total_ops > 20, "the workload makes {total_ops} backend ops");

    let mut outcomes = [0usize; 2];
    for n in 1..=total_ops {
        let d = tempfile::tempdir().expect("tempdir");
        let disk = Faulty::default();
        disk.disk().fail_at = Some(n);
        let ok_calls = match Store::open_with_backend(d.path(), options(), disk.clone()) {
            Ok(store) => workload(&store, calls),
            Err(_) => 0,
        };
        assert!(disk.disk().failed, "fault {n} of {total_ops} was injected");
        // Crash: only what was synced survives. The store must open.
        let store = Store::open_with_backend(d.path(), options(), disk.crashed())
            .unwrap_or_else(|e| panic!("fault {n}: the crashed store does not open: {e}"));
        let got = dump(&store);
        let landed = if got == states[ok_calls] {
            0
        } else if ok_calls < calls && got == states[ok_calls + 1] {
            1 // the failed call had reached the disk whole
        } else {
            panic!(
                "fault {n}: {ok_calls} calls returned Ok, but the store holds neither their \
                 state nor one call more:\n{got}\nexpected:\n{}",
                states[ok_calls]
            );
        };
        outcomes[landed] += 1;
        // And it takes writes again.
        store
            .create_experiment(&format!("after-{n}"), None, &[])
            .unwrap_or_else(|e| panic!("fault {n}: the recovered store refuses a write: {e}"));
    }
    // Failures before a commit's sync lose that call; the test saw them.
    assert!(outcomes[0] > 0, "{outcomes:?}");
}
