//! Predicates over the index and their evaluation.
//!
//! Evaluation follows SQL's three-valued logic, as MLflow's SQL store does: a
//! comparison on a key a run lacks (or on a NULL end time) is *unknown*, which
//! no filter accepts, and `NOT unknown` is still unknown.
//!
//! Numbers compare as Arrow (and so DataFusion) compares them: by IEEE total
//! order, where NaN is greater than every number and equal to itself. Keeping
//! exactly DataFusion's semantics means any rewrite its optimizer makes (such
//! as `NOT (a < b)` into `a >= b`) means the same here. MLflow's own NaN rule
//! (NaN fails `> >=`) is the query compiler's job: it writes `m > v AND NOT
//! isnan(m)`.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::bitmap::Bitmap;
use super::column::{InputEntry, TextColumn};
use super::like::LikePattern;
use super::{ColKey, Column, NO_END_TIME, SearchIndex};
use crate::error::{Error, Result};
use crate::types::{LifecycleStage, RunStatus};

/// A field of a run that a predicate can test.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `attributes.run_id` (text, 32 hex).
    RunId,
    /// `attributes.run_name`.
    RunName,
    /// `attributes.status`.
    Status,
    /// `attributes.user_id`.
    UserId,
    /// `attributes.artifact_uri`.
    ArtifactUri,
    /// `attributes.start_time` (number).
    StartTime,
    /// `attributes.end_time` (number, NULL while running).
    EndTime,
    /// The experiment id (number).
    Experiment,
    /// The lifecycle stage (`active`/`deleted`).
    Lifecycle,
    /// `params.KEY`.
    Param(String),
    /// `tags.KEY` (`mlflow.runName` and `mlflow.user` are the run name and user).
    Tag(String),
    /// `metrics.KEY`, the latest value (number).
    Metric(String),
    /// `datasets.name`: true when *some* input of the run matches.
    DatasetName,
    /// `datasets.digest`.
    DatasetDigest,
    /// `datasets.context`.
    DatasetContext,
}

/// A literal a field is compared with.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    #[inline]
    fn test<T: PartialOrd + ?Sized>(self, a: &T, b: &T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// A number ordered by IEEE total order (as Arrow orders floats), with the
/// index's values, where `-0.0` never occurs (it is stored as `0.0`).
#[derive(Clone, Copy)]
struct OrdF64(f64);

impl PartialEq for OrdF64 {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0).is_eq()
    }
}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.0.total_cmp(&o.0))
    }
}

/// A boolean condition on a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Pred {
    /// Always true or always false.
    Const(bool),
    /// All hold.
    And(Vec<Pred>),
    /// Any holds.
    Or(Vec<Pred>),
    /// Negation (unknown stays unknown).
    Not(Box<Pred>),
    /// `field op literal`.
    Cmp(Field, CmpOp, Literal),
    /// `field [NOT] LIKE/ILIKE pattern`.
    Like {
        /// The field.
        field: Field,
        /// The pattern.
        pattern: String,
        /// ILIKE.
        case_insensitive: bool,
        /// NOT LIKE.
        negated: bool,
    },
    /// `field [NOT] IN (list)`.
    In {
        /// The field.
        field: Field,
        /// The list.
        list: Vec<Literal>,
        /// NOT IN.
        negated: bool,
    },
    /// `field IS [NOT] NULL`.
    IsNull {
        /// The field.
        field: Field,
        /// IS NOT NULL.
        negated: bool,
    },
    /// `[NOT] isnan(field)`, for a metric.
    IsNan {
        /// The field.
        field: Field,
        /// NOT isnan.
        negated: bool,
    },
}

/// The outcome of a predicate on every row: true rows and unknown rows (the
/// rest are false).
#[derive(Clone, Debug)]
pub struct Truth {
    /// Rows where it holds.
    pub t: Bitmap,
    /// Rows where it is unknown.
    pub u: Bitmap,
}

impl Truth {
    fn constant(rows: usize, value: bool) -> Self {
        Truth {
            t: if value {
                Bitmap::full(rows)
            } else {
                Bitmap::new(rows)
            },
            u: Bitmap::new(rows),
        }
    }

    fn and(mut self, other: &Truth) -> Self {
        // true: both true; unknown: neither false and not both true.
        let mut not_false_a = self.t.clone();
        not_false_a.or(&self.u);
        let mut not_false_b = other.t.clone();
        not_false_b.or(&other.u);
        self.t.and(&other.t);
        not_false_a.and(&not_false_b);
        not_false_a.and_not(&self.t);
        self.u = not_false_a;
        self
    }

    fn or(mut self, other: &Truth) -> Self {
        self.t.or(&other.t);
        self.u.or(&other.u);
        self.u.and_not(&self.t);
        self
    }

    fn not(mut self) -> Self {
        let mut t = self.t;
        t.or(&self.u);
        t.not();
        self.t = t;
        self
    }
}

/// What one row's value is, for a leaf test.
enum Leaf<'a> {
    Num(f64),
    Text(&'a str),
}

impl SearchIndex {
    /// Evaluates `pred` on every row.
    pub fn eval(&self, pred: &Pred) -> Result<Truth> {
        let rows = self.rows as usize;
        Ok(match pred {
            Pred::Const(v) => Truth::constant(rows, *v),
            Pred::And(ps) => {
                let mut acc = Truth::constant(rows, true);
                for p in ps {
                    acc = acc.and(&self.eval(p)?);
                }
                acc
            }
            Pred::Or(ps) => {
                let mut acc = Truth::constant(rows, false);
                for p in ps {
                    acc = acc.or(&self.eval(p)?);
                }
                acc
            }
            Pred::Not(p) => self.eval(p)?.not(),
            leaf => self.eval_leaf(leaf)?,
        })
    }

    fn eval_leaf(&self, pred: &Pred) -> Result<Truth> {
        let field = leaf_field(pred)?;
        if matches!(
            field,
            Field::DatasetName | Field::DatasetDigest | Field::DatasetContext
        ) {
            return self.eval_dataset(pred);
        }
        let test = LeafTest::new(pred)?;
        let rows = self.rows as usize;
        let mut out = Truth {
            t: Bitmap::new(rows),
            u: Bitmap::new(rows),
        };
        match field {
            Field::Param(k) => self.eval_keyed(ColKey::Param, k, &test, &mut out)?,
            Field::Tag(k) if k == crate::types::TAG_RUN_NAME => {
                self.eval_text_col(ColKey::RunName, &test, &mut out)?
            }
            Field::Tag(k) if k == crate::types::TAG_USER => {
                self.eval_text_col(ColKey::User, &test, &mut out)?
            }
            Field::Tag(k) => self.eval_keyed(ColKey::Tag, k, &test, &mut out)?,
            Field::RunName => self.eval_text_col(ColKey::RunName, &test, &mut out)?,
            Field::UserId => self.eval_text_col(ColKey::User, &test, &mut out)?,
            Field::Metric(k) => match self.key_id(k) {
                Some(id) => self.eval_metric(id, &test, &mut out)?,
                None => out = self.all_missing(&test),
            },
            Field::StartTime | Field::EndTime => {
                let key = if *field == Field::StartTime {
                    ColKey::StartTime
                } else {
                    ColKey::EndTime
                };
                if let Some(Column::I64(v)) = self.column(key)? {
                    for r in 0..rows {
                        match v.get(r).copied() {
                            Some(x) if x != NO_END_TIME => {
                                if test.test(&Leaf::Num(x as f64)) {
                                    out.t.set(r);
                                }
                            }
                            _ => test.missing(&mut out, r),
                        }
                    }
                }
            }
            Field::Experiment => {
                if let Some(Column::U32(v)) = self.column(ColKey::Experiment)? {
                    for (r, x) in v.iter().enumerate() {
                        if test.test(&Leaf::Num(f64::from(*x))) {
                            out.t.set(r);
                        }
                    }
                }
            }
            Field::Status | Field::Lifecycle => {
                let (key, names): (ColKey, Vec<&str>) = if *field == Field::Status {
                    (
                        ColKey::Status,
                        RunStatus::ALL.iter().map(|s| s.as_str()).collect(),
                    )
                } else {
                    (
                        ColKey::Lifecycle,
                        LifecycleStage::ALL.iter().map(|s| s.as_str()).collect(),
                    )
                };
                let hits: Vec<bool> = names.iter().map(|n| test.test(&Leaf::Text(n))).collect();
                if let Some(Column::U8(v)) = self.column(key)? {
                    for (r, c) in v.iter().enumerate() {
                        if hits.get(usize::from(*c)).copied().unwrap_or(false) {
                            out.t.set(r);
                        }
                    }
                }
            }
            Field::RunId => {
                if let Some(Column::U128(ids)) = self.column(ColKey::RunId)? {
                    for (r, &id) in ids.iter().enumerate() {
                        if test.test(&Leaf::Text(crate::types::hex32(id).as_str())) {
                            out.t.set(r);
                        }
                    }
                }
            }
            Field::ArtifactUri => {
                let (Some(Column::U128(ids)), Some(Column::U32(exps))) = (
                    self.column(ColKey::RunId)?,
                    self.column(ColKey::Experiment)?,
                ) else {
                    return Ok(out);
                };
                let mut buf = String::new();
                for (r, (id, exp)) in ids.iter().zip(exps).enumerate() {
                    buf.clear();
                    if let Some(e) = self.experiments.get(exp) {
                        let _ = write!(buf, "{}/{id:032x}/artifacts", e.artifact_location);
                    }
                    if test.test(&Leaf::Text(&buf)) {
                        out.t.set(r);
                    }
                }
            }
            Field::DatasetName | Field::DatasetDigest | Field::DatasetContext => {}
        }
        Ok(out)
    }

    /// A test on a key no run has: every row lacks it.
    fn all_missing(&self, test: &LeafTest) -> Truth {
        let rows = self.rows as usize;
        let mut out = Truth {
            t: Bitmap::new(rows),
            u: Bitmap::new(rows),
        };
        match test.on_missing {
            Some(true) => out.t = Bitmap::full(rows),
            Some(false) => {}
            None => out.u = Bitmap::full(rows),
        }
        out
    }

    fn eval_keyed(
        &self,
        make: fn(u32) -> ColKey,
        key: &str,
        test: &LeafTest,
        out: &mut Truth,
    ) -> Result<()> {
        match self.key_id(key) {
            Some(id) => self.eval_text_col(make(id), test, out),
            None => {
                *out = self.all_missing(test);
                Ok(())
            }
        }
    }

    fn eval_text_col(&self, key: ColKey, test: &LeafTest, out: &mut Truth) -> Result<()> {
        match self.column(key)? {
            Some(Column::Text(col)) => eval_text(col, test, self.rows, out),
            _ => *out = self.all_missing(test),
        }
        Ok(())
    }

    fn eval_metric(&self, key: u32, test: &LeafTest, out: &mut Truth) -> Result<()> {
        let Some(Column::Num(slots)) = self.column(ColKey::Metric(key))? else {
            *out = self.all_missing(test);
            return Ok(());
        };
        let rows = self.rows as usize;
        // The common comparisons get a loop of their own, monomorphized.
        let (present, hits) = match &test.kind {
            TestKind::Num(op, x) => {
                let x = *x;
                match op {
                    CmpOp::Eq => slots.scan_bits(rows, |v| v.total_cmp(&x).is_eq()),
                    CmpOp::Ne => slots.scan_bits(rows, |v| v.total_cmp(&x).is_ne()),
                    CmpOp::Lt => slots.scan_bits(rows, |v| v.total_cmp(&x).is_lt()),
                    CmpOp::Le => slots.scan_bits(rows, |v| v.total_cmp(&x).is_le()),
                    CmpOp::Gt => slots.scan_bits(rows, |v| v.total_cmp(&x).is_gt()),
                    CmpOp::Ge => slots.scan_bits(rows, |v| v.total_cmp(&x).is_ge()),
                }
            }
            _ => slots.scan_bits(rows, |v| test.test(&Leaf::Num(v))),
        };
        out.t.or(&hits);
        apply_missing(test, &present, out);
        Ok(())
    }

    fn eval_dataset(&self, pred: &Pred) -> Result<Truth> {
        let rows = self.rows as usize;
        let mut out = Truth {
            t: Bitmap::new(rows),
            u: Bitmap::new(rows),
        };
        if let Some(Column::Inputs(list)) = self.column(ColKey::Inputs)? {
            let hits = eval_inputs(list, pred)?;
            for (e, hit) in list.iter().zip(hits) {
                if hit {
                    out.t.set(e.row as usize);
                }
            }
        }
        Ok(out)
    }

    /// The dataset inputs of every run (one entry per input).
    pub fn inputs(&self) -> Result<&[InputEntry]> {
        Ok(match self.column(ColKey::Inputs)? {
            Some(Column::Inputs(list)) => list,
            _ => &[],
        })
    }

    /// Evaluates a dataset predicate on each input entry of
    /// [`SearchIndex::inputs`]; true entries are returned as positions.
    pub fn eval_inputs(&self, pred: &Pred) -> Result<Vec<bool>> {
        eval_inputs(self.inputs()?, pred)
    }
}

fn eval_inputs(list: &[InputEntry], pred: &Pred) -> Result<Vec<bool>> {
    Ok(match pred {
        Pred::Const(v) => vec![*v; list.len()],
        Pred::And(ps) => {
            let mut acc = vec![true; list.len()];
            for p in ps {
                for (a, b) in acc.iter_mut().zip(eval_inputs(list, p)?) {
                    *a &= b;
                }
            }
            acc
        }
        Pred::Or(ps) => {
            let mut acc = vec![false; list.len()];
            for p in ps {
                for (a, b) in acc.iter_mut().zip(eval_inputs(list, p)?) {
                    *a |= b;
                }
            }
            acc
        }
        Pred::Not(p) => eval_inputs(list, p)?.into_iter().map(|b| !b).collect(),
        leaf => {
            let test = LeafTest::new(leaf)?;
            let field = leaf_field(leaf)?;
            list.iter()
                .map(|e| {
                    let v: Option<&str> = match field {
                        Field::DatasetName => Some(&e.name),
                        Field::DatasetDigest => Some(&e.digest),
                        Field::DatasetContext => e.context.as_deref(),
                        _ => None,
                    };
                    match v {
                        Some(s) => test.test(&Leaf::Text(s)),
                        None => test.on_missing.unwrap_or(false),
                    }
                })
                .collect()
        }
    })
}

fn eval_text(col: &TextColumn, test: &LeafTest, rows: u32, out: &mut Truth) {
    // Decide once per distinct value, then map codes.
    let hits: Vec<bool> = col
        .dict
        .values()
        .iter()
        .map(|v| test.test(&Leaf::Text(v)))
        .collect();
    let (present, matched) = col.codes.scan_bits(rows as usize, |code| {
        hits.get(code as usize).copied().unwrap_or(false)
    });
    out.t.or(&matched);
    apply_missing(test, &present, out);
}

/// Marks the rows not in `present` according to how `test` treats a missing value.
fn apply_missing(test: &LeafTest, present: &Bitmap, out: &mut Truth) {
    let mut missing = present.clone();
    missing.not();
    match test.on_missing {
        Some(true) => out.t.or(&missing),
        Some(false) => {}
        None => out.u.or(&missing),
    }
}

fn leaf_field(pred: &Pred) -> Result<&Field> {
    match pred {
        Pred::Cmp(f, _, _)
        | Pred::Like { field: f, .. }
        | Pred::In { field: f, .. }
        | Pred::IsNull { field: f, .. }
        | Pred::IsNan { field: f, .. } => Ok(f),
        _ => Err(Error::corrupt("predicate", "not a leaf")),
    }
}

/// A compiled leaf test.
struct LeafTest {
    kind: TestKind,
    /// Outcome for a row lacking the value: `None` = unknown.
    on_missing: Option<bool>,
}

enum TestKind {
    Num(CmpOp, f64),
    Text(CmpOp, String),
    Like(Box<LikePattern>, bool),
    InText(HashSet<String>, bool),
    InNum(Vec<f64>, bool),
    NotNull(bool),
    IsNan(bool),
}

impl LeafTest {
    fn new(pred: &Pred) -> Result<Self> {
        let kind = match pred {
            Pred::Cmp(_, op, Literal::Num(x)) => TestKind::Num(*op, *x),
            Pred::Cmp(_, op, Literal::Str(s)) => TestKind::Text(*op, s.clone()),
            Pred::Like {
                pattern,
                case_insensitive,
                negated,
                ..
            } => TestKind::Like(
                Box::new(LikePattern::new(pattern, *case_insensitive)),
                *negated,
            ),
            Pred::In { list, negated, .. } => {
                if list.iter().all(|l| matches!(l, Literal::Num(_))) && !list.is_empty() {
                    TestKind::InNum(
                        list.iter()
                            .filter_map(|l| match l {
                                Literal::Num(x) => Some(*x),
                                Literal::Str(_) => None,
                            })
                            .collect(),
                        *negated,
                    )
                } else {
                    TestKind::InText(
                        list.iter()
                            .map(|l| match l {
                                Literal::Str(s) => s.clone(),
                                Literal::Num(x) => x.to_string(),
                            })
                            .collect(),
                        *negated,
                    )
                }
            }
            Pred::IsNull { negated, .. } => TestKind::NotNull(*negated),
            Pred::IsNan { negated, .. } => TestKind::IsNan(*negated),
            _ => return Err(Error::corrupt("predicate", "not a leaf")),
        };
        let on_missing = match &kind {
            TestKind::NotNull(negated) => Some(!*negated),
            _ => None,
        };
        Ok(LeafTest { kind, on_missing })
    }

    #[inline]
    fn test(&self, v: &Leaf<'_>) -> bool {
        match (&self.kind, v) {
            (TestKind::Num(op, x), Leaf::Num(v)) => op.test(&OrdF64(*v), &OrdF64(*x)),
            (TestKind::Text(op, x), Leaf::Text(v)) => op.test(*v, x.as_str()),
            (TestKind::Like(p, negated), Leaf::Text(v)) => p.matches(v) != *negated,
            (TestKind::InText(set, negated), Leaf::Text(v)) => set.contains(*v) != *negated,
            (TestKind::InNum(list, negated), Leaf::Num(v)) => list.contains(v) != *negated,
            (TestKind::NotNull(negated), _) => *negated,
            (TestKind::IsNan(negated), Leaf::Num(v)) => v.is_nan() != *negated,
            // A type mismatch (text literal for a number…) never matches.
            _ => false,
        }
    }

    fn missing(&self, out: &mut Truth, row: usize) {
        match self.on_missing {
            Some(true) => out.t.set(row),
            Some(false) => {}
            None => out.u.set(row),
        }
    }
}
