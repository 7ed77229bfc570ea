//! MLflow's run order as DataFusion sort expressions, and the page-token
//! cursor: "the rows after this one" in that order.
//!
//! For each `order_by` clause, runs with a value come first, then (metrics
//! only) runs whose latest value is NaN, then runs lacking the key — in both
//! directions. That is a *group* key (0, 1, 2) sorted ascending before the
//! value. Ties break by start time descending (unless a clause orders on it)
//! and then run id, which makes the order total, so a cursor of the last
//! row's keys finds exactly the next page even while new runs arrive.

use datafusion::logical_expr::SortExpr;
use datafusion::prelude::{Expr, isnan, lit, when};
use runstore_engine::index::Field;
use serde_json::Value;

use super::compile::{Compiler, order_field};
use crate::ast::OrderBy;
use crate::error::{Error, Result};

/// How a clause's values are typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Float64, may be NULL or NaN.
    Metric,
    /// Utf8.
    Text,
    /// Int64.
    Int,
}

/// One sort key.
#[derive(Clone, Debug)]
struct Clause {
    field: Field,
    value: Expr,
    /// NULL/NaN placement, for columns that can be NULL.
    group: Option<Expr>,
    ascending: bool,
    kind: Kind,
}

/// The full order of a search.
#[derive(Clone, Debug)]
pub struct Order {
    clauses: Vec<Clause>,
}

impl Order {
    /// The order for `order_by` (MLflow's default when empty).
    pub fn new(compiler: &mut Compiler, order_by: &[OrderBy]) -> Self {
        let mut clauses = Vec::new();
        let mut seen: Vec<Field> = Vec::new();
        let wanted = order_by
            .iter()
            .map(|o| (order_field(o), o.ascending))
            .chain([(Field::StartTime, false), (Field::RunId, true)]);
        for (field, ascending) in wanted {
            // A key already ordered on leaves no ties for a second mention
            // (the default tie-breakers, or two aliases of one column) to break.
            if !seen.contains(&field) {
                clauses.push(clause(compiler, &field, ascending));
                seen.push(field);
            }
        }
        Order { clauses }
    }

    /// Whether this is MLflow's default order (start time descending, then
    /// run id) — the order the runs table scans in, so no sort is needed.
    pub fn is_default(&self) -> bool {
        matches!(
            self.clauses.as_slice(),
            [
                Clause {
                    field: Field::StartTime,
                    ascending: false,
                    ..
                },
                Clause {
                    field: Field::RunId,
                    ascending: true,
                    ..
                },
            ]
        )
    }

    /// The (start time, run id) a default-order cursor holds.
    pub fn default_cursor(&self, cursor: &[Value]) -> Result<(i64, u128)> {
        self.check_cursor(cursor)?;
        match cursor {
            [Value::Number(start), Value::String(id)] if self.is_default() => {
                let start = start.as_i64().ok_or_else(bad_token)?;
                let id: runstore_engine::RunId = id.parse().map_err(|_| bad_token())?;
                Ok((start, id.as_u128()))
            }
            _ => Err(bad_token()),
        }
    }

    /// The sort expressions, group keys before values.
    pub fn sort_exprs(&self) -> Vec<SortExpr> {
        let mut out = Vec::new();
        for c in &self.clauses {
            if let Some(g) = &c.group {
                out.push(g.clone().sort(true, false));
            }
            out.push(c.value.clone().sort(c.ascending, false));
        }
        out
    }

    /// The value expressions, to project for building a cursor.
    pub fn value_exprs(&self) -> Vec<Expr> {
        self.clauses.iter().map(|c| c.value.clone()).collect()
    }

    /// A cursor value read from result column `i` (as JSON).
    pub fn check_cursor(&self, cursor: &[Value]) -> Result<()> {
        if cursor.len() != self.clauses.len() {
            return Err(bad_token());
        }
        for (c, v) in self.clauses.iter().zip(cursor) {
            let ok = match (c.kind, v) {
                (_, Value::Null) => true,
                (Kind::Metric, Value::Number(_)) => true,
                (Kind::Metric, Value::String(s)) => s == "NaN",
                (Kind::Text, Value::String(_)) => true,
                (Kind::Int, Value::Number(n)) => n.is_i64(),
                _ => false,
            };
            if !ok {
                return Err(bad_token());
            }
        }
        Ok(())
    }

    /// "Rows after the row whose sort values are `cursor`".
    pub fn after(&self, cursor: &[Value]) -> Result<Expr> {
        self.check_cursor(cursor)?;
        let mut acc: Option<Expr> = None;
        for (c, v) in self.clauses.iter().zip(cursor).rev() {
            let (gt, eq) = c.after_and_equal(v)?;
            acc = Some(match acc {
                None => gt,
                Some(rest) => gt.or(eq.and(rest)),
            });
        }
        acc.ok_or_else(bad_token)
    }
}

fn clause(compiler: &mut Compiler, field: &Field, ascending: bool) -> Clause {
    let value = compiler.column(field);
    let kind = match field {
        Field::Metric(_) => Kind::Metric,
        Field::StartTime | Field::EndTime => Kind::Int,
        _ => Kind::Text,
    };
    let nullable = !matches!(field, Field::StartTime | Field::RunId | Field::Status);
    let group = match (kind, nullable) {
        (Kind::Metric, _) => when(value.clone().is_null(), lit(2i64))
            .when(isnan(value.clone()), lit(1i64))
            .otherwise(lit(0i64))
            .ok(),
        (_, true) => when(value.clone().is_null(), lit(1i64))
            .otherwise(lit(0i64))
            .ok(),
        (_, false) => None,
    };
    Clause {
        field: field.clone(),
        value,
        group,
        ascending,
        kind,
    }
}

impl Clause {
    /// The group a cursor value falls in, and the value as a literal (group 0 only).
    fn cursor_group(&self, v: &Value) -> Result<(i64, Option<Expr>)> {
        Ok(match (self.kind, v) {
            (_, Value::Null) => (if self.kind == Kind::Metric { 2 } else { 1 }, None),
            (Kind::Metric, Value::String(_)) => (1, None),
            (Kind::Metric, Value::Number(n)) => (0, Some(lit(n.as_f64().ok_or_else(bad_token)?))),
            (Kind::Int, Value::Number(n)) => (0, Some(lit(n.as_i64().ok_or_else(bad_token)?))),
            (Kind::Text, Value::String(s)) => (0, Some(lit(s.as_str()))),
            _ => return Err(bad_token()),
        })
    }

    /// (this key sorts after the cursor's, this key equals the cursor's).
    fn after_and_equal(&self, v: &Value) -> Result<(Expr, Expr)> {
        let (cg, cv) = self.cursor_group(v)?;
        let value_after = |cv: Expr| {
            if self.ascending {
                self.value.clone().gt(cv)
            } else {
                self.value.clone().lt(cv)
            }
        };
        Ok(match (&self.group, cv) {
            (None, Some(cv)) => (value_after(cv.clone()), self.value.clone().eq(cv)),
            (None, None) => return Err(bad_token()),
            (Some(g), Some(cv)) => (
                g.clone()
                    .gt(lit(0i64))
                    .or(g.clone().eq(lit(0i64)).and(value_after(cv.clone()))),
                g.clone().eq(lit(0i64)).and(self.value.clone().eq(cv)),
            ),
            (Some(g), None) => (g.clone().gt(lit(cg)), g.clone().eq(lit(cg))),
        })
    }
}

/// The cursor value of a result cell (`None` when the column type is unexpected).
pub fn cursor_value(array: &dyn datafusion::arrow::array::Array, i: usize) -> Option<Value> {
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    if array.is_null(i) {
        return Some(Value::Null);
    }
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        let x = a.value(i);
        return Some(match serde_json::Number::from_f64(x) {
            Some(n) => Value::Number(n),
            None if x.is_nan() => Value::String("NaN".into()),
            // ±Infinity never reaches the index (it is stored as ±MAX).
            None => Value::Null,
        });
    }
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Some(Value::from(a.value(i)));
    }
    any.downcast_ref::<StringArray>()
        .map(|a| Value::String(a.value(i).to_owned()))
}

fn bad_token() -> Error {
    Error::InvalidRequest("invalid page token: it does not belong to this search".into())
}
