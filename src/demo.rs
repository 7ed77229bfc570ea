//! A sample store: a few hundred runs with realistic training curves, for
//! `runstore demo` and for trying the tool out.
//!
//! Three experiments (image classification, churn prediction, language-model
//! fine-tuning), each with hyper-parameter sweeps whose trials are nested
//! under a parent run, learning-rate schedules, validation curves that depend
//! on the hyper-parameters, a few diverged runs whose loss turns NaN, failed
//! and still-running runs, and dataset inputs. Deterministic for a given seed.

use crate::engine::{DatasetInput, MetricPoint, RunId, RunRecord, RunStatus, TAG_PARENT_RUN_ID};

/// A small deterministic random generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    /// Roughly normal noise (sum of uniforms), mean 0, deviation about `sd`.
    fn noise(&mut self, sd: f64) -> f64 {
        (self.unit() + self.unit() + self.unit() - 1.5) * sd * 2.0
    }
}

struct ExperimentSpec {
    name: &'static str,
    models: &'static [&'static str],
    metric: &'static str,
    ceiling: f64,
    steps: i64,
    dataset: &'static str,
}

const EXPERIMENTS: &[ExperimentSpec] = &[
    ExperimentSpec {
        name: "mnist-cnn",
        models: &["lenet", "resnet18", "convnext-tiny"],
        metric: "val_accuracy",
        ceiling: 0.995,
        steps: 60,
        dataset: "mnist",
    },
    ExperimentSpec {
        name: "churn-xgb",
        models: &["xgboost", "lightgbm", "logreg"],
        metric: "val_auc",
        ceiling: 0.93,
        steps: 40,
        dataset: "churn-2024q3",
    },
    ExperimentSpec {
        name: "llm-finetune",
        models: &["llama-3-8b", "mistral-7b", "phi-3-mini"],
        metric: "val_accuracy",
        ceiling: 0.82,
        steps: 100,
        dataset: "support-tickets",
    },
];

const USERS: &[&str] = &["alice", "bob", "carol", "dave"];
const TEAMS: &[&str] = &["vision", "growth", "nlp-platform"];
const OPTIMIZERS: &[&str] = &["adam", "adamw", "sgd"];
const LRS: &[f64] = &[0.1, 0.03, 0.01, 0.003, 0.001, 0.0003];
const BATCHES: &[u32] = &[32, 64, 128, 256];

/// Start of the demo's timeline (2024-06-01 UTC), in ms.
const T0: i64 = 1_717_200_000_000;

/// The sample runs, parents before their children. About `runs` of them.
pub fn sample_runs(runs: usize, seed: u64) -> Vec<RunRecord> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(runs);
    let per_experiment = runs.div_ceil(EXPERIMENTS.len()).max(2);
    let mut clock = T0;
    for (ei, spec) in EXPERIMENTS.iter().enumerate() {
        let mut made = 0;
        let mut sweep = 0;
        while made < per_experiment {
            sweep += 1;
            let trials = (8 + rng.next() % 13) as usize;
            let trials = trials.min(per_experiment - made - 1).max(1);
            let parent_id = RunId::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next()));
            let parent_start = clock;
            let mut best = f64::MIN;
            let mut children = Vec::with_capacity(trials);
            for t in 0..trials {
                clock += 60_000 + (rng.next() % 600_000) as i64;
                let (rec, score) = trial(&mut rng, spec, ei, sweep, t, clock, parent_id);
                if score.is_finite() {
                    best = best.max(score);
                }
                children.push(rec);
            }
            clock += 3_600_000;
            out.push(RunRecord {
                experiment: Some(spec.name.into()),
                run_id: Some(parent_id),
                run_name: Some(format!("{}-sweep-{sweep}", spec.name)),
                status: Some(RunStatus::Finished),
                start_time: Some(parent_start),
                end_time: Some(clock),
                user: Some((*rng.pick(USERS)).into()),
                tags: vec![
                    ("team".into(), TEAMS[ei].into()),
                    ("kind".into(), "sweep".into()),
                ],
                metrics: vec![(
                    format!("best_{}", spec.metric),
                    vec![MetricPoint {
                        step: 0,
                        value: best,
                        timestamp: clock,
                    }],
                )],
                ..Default::default()
            });
            made += 1 + children.len();
            out.extend(children);
        }
    }
    out
}

/// One sweep trial; returns the record and its final validation score.
fn trial(
    rng: &mut Rng,
    spec: &ExperimentSpec,
    ei: usize,
    sweep: usize,
    t: usize,
    start: i64,
    parent: RunId,
) -> (RunRecord, f64) {
    let model = *rng.pick(spec.models);
    let optimizer = *rng.pick(OPTIMIZERS);
    let lr = *rng.pick(LRS);
    let batch = *rng.pick(BATCHES);
    // How good these hyper-parameters are: best near lr 0.003 with adam(w).
    let lr_fit = (-((lr.log10() + 2.5).powi(2)) / 1.5).exp();
    let opt_fit = if optimizer == "sgd" { 0.9 } else { 1.0 };
    let model_fit = 0.92 + 0.04 * spec.models.iter().position(|m| *m == model).unwrap_or(0) as f64;
    let quality = (lr_fit * opt_fit * model_fit).clamp(0.05, 1.0);
    let ceiling = spec.ceiling * (0.55 + 0.45 * quality);
    let speed = 0.04 + 0.1 * quality + 0.02 * rng.unit();
    let diverges = lr >= 0.1 && optimizer == "sgd" || rng.unit() < 0.03;
    let roll = rng.unit();
    let (status, steps) = if diverges {
        (RunStatus::Failed, 5 + (rng.next() % 15) as i64)
    } else if roll < 0.04 {
        (RunStatus::Killed, spec.steps / 2)
    } else if roll < 0.08 {
        (RunStatus::Running, spec.steps / 3)
    } else {
        (RunStatus::Finished, spec.steps)
    };
    let mut loss = Vec::new();
    let mut val_loss = Vec::new();
    let mut score = Vec::new();
    let mut lrs = Vec::new();
    let mut final_score = f64::NAN;
    for s in 0..steps {
        let ts = start + (s + 1) * 30_000;
        let progress = 1.0 - (-speed * s as f64).exp();
        let mut l = 2.3 * (1.0 - progress) + 0.15 * (1.0 - quality) + rng.noise(0.02).abs();
        if diverges && s > steps / 2 {
            l = if s == steps - 1 {
                f64::NAN
            } else {
                l * 10f64.powi((s - steps / 2) as i32)
            };
        }
        let v = (ceiling * progress + rng.noise(0.005)).clamp(0.0, 1.0);
        let schedule =
            lr * 0.5 * (1.0 + (std::f64::consts::PI * s as f64 / spec.steps as f64).cos());
        loss.push(MetricPoint {
            step: s,
            value: l,
            timestamp: ts,
        });
        val_loss.push(MetricPoint {
            step: s,
            value: if l.is_nan() {
                f64::NAN
            } else {
                l * 1.08 + rng.noise(0.01).abs()
            },
            timestamp: ts,
        });
        score.push(MetricPoint {
            step: s,
            value: v,
            timestamp: ts,
        });
        lrs.push(MetricPoint {
            step: s,
            value: schedule,
            timestamp: ts,
        });
        final_score = if diverges { f64::NAN } else { v };
    }
    let end = start + (steps + 1) * 30_000;
    let run_name = format!("{model}-s{sweep}-t{t}");
    let params = vec![
        ("model".into(), model.into()),
        ("optimizer".into(), optimizer.into()),
        ("learning_rate".into(), lr.to_string()),
        ("batch_size".into(), batch.to_string()),
        ("epochs".into(), spec.steps.to_string()),
        ("seed".into(), (rng.next() % 10_000).to_string()),
    ];
    let tags = vec![
        ("team".into(), TEAMS[ei].into()),
        ("kind".into(), "trial".into()),
        (
            "git_commit".into(),
            format!("{:07x}", rng.next() & 0xfff_ffff),
        ),
        (TAG_PARENT_RUN_ID.into(), parent.to_string()),
    ];
    let inputs = vec![
        DatasetInput {
            name: format!("{}-train", spec.dataset),
            digest: format!("{:08x}", (ei as u64 + 1) * 0x1f3d_5b79),
            source_type: "local".into(),
            source: format!("data/{}/train.parquet", spec.dataset),
            context: Some("training".into()),
            ..Default::default()
        },
        DatasetInput {
            name: format!("{}-eval", spec.dataset),
            digest: format!("{:08x}", (ei as u64 + 1) * 0x2e4c_6a88),
            source_type: "local".into(),
            source: format!("data/{}/eval.parquet", spec.dataset),
            context: Some("evaluation".into()),
            ..Default::default()
        },
    ];
    let rec = RunRecord {
        experiment: Some(spec.name.into()),
        run_id: Some(RunId::from_u128(
            u128::from(rng.next()) << 64 | u128::from(rng.next()),
        )),
        run_name: Some(run_name),
        status: Some(status),
        start_time: Some(start),
        end_time: (status != RunStatus::Running).then_some(end),
        user: Some((*rng.pick(USERS)).into()),
        lifecycle_stage: None,
        params,
        tags,
        metrics: vec![
            ("train_loss".into(), loss),
            ("val_loss".into(), val_loss),
            (spec.metric.into(), score),
            ("learning_rate".into(), lrs),
        ],
        inputs,
    };
    (rec, final_score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_about_the_size_asked() {
        let a = sample_runs(300, 7);
        let b = sample_runs(300, 7);
        // Debug text, because NaN != NaN would fail a plain comparison.
        assert!(
            format!("{a:?}") == format!("{b:?}"),
            "same seed, different runs"
        );
        assert!((290..=320).contains(&a.len()), "{}", a.len());
        assert!(a.iter().any(|r| r.status == Some(RunStatus::Failed)));
        assert!(a.iter().any(|r| r.status == Some(RunStatus::Running)));
        let diverged = a
            .iter()
            .flat_map(|r| &r.metrics)
            .any(|(_, pts)| pts.iter().any(|p| p.value.is_nan()));
        assert!(diverged);
    }
}
