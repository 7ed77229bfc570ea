//! Compiling a filter's syntax tree into a DataFusion expression over the
//! runs table, with MLflow's semantics spelled out so that DataFusion's own
//! rules (SQL NULLs, Arrow's total order on floats) give MLflow's answers:
//!
//! * a run lacking a key has NULL there, so no comparison matches it (not even `!=`);
//! * NaN sorts above every number in Arrow, so `>`/`>=` on a metric add
//!   `AND NOT isnan(m)` (MLflow: NaN never satisfies `= < <= > >=`, always `!=`);
//! * `-0.0` literals become `0.0` (stored values already are);
//! * a `datasets.*` condition is `_row IN (SELECT _run_row FROM inputs WHERE …)`:
//!   each condition may be met by a different input of the run.

use std::sync::Arc;

use datafusion::common::{ScalarValue, Spans};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::expr::InSubquery;
use datafusion::logical_expr::{Expr, Like, LogicalPlanBuilder, Subquery};
use datafusion::prelude::{ident, isnan, lit};
use runstore_engine::index::Field;

use super::columns::{self, INPUT_ROW, INPUTS, ROW};
use super::tables::InputsTable;
use crate::ast::{
    Attribute, Condition, DatasetField, Expr as Ast, NumOp, OrderBy, OrderKey, SetOp, StrOp,
    TextAttribute, TextOp, TimeAttribute, TimeValue,
};
use crate::error::{Error, Result};

/// The run field an attribute is.
pub fn attribute_field(a: Attribute) -> Field {
    match a {
        Attribute::RunId => Field::RunId,
        Attribute::RunName => Field::RunName,
        Attribute::Status => Field::Status,
        Attribute::StartTime => Field::StartTime,
        Attribute::EndTime => Field::EndTime,
        Attribute::UserId => Field::UserId,
        Attribute::ArtifactUri => Field::ArtifactUri,
    }
}

/// The run field an `order_by` clause orders on.
pub fn order_field(o: &OrderBy) -> Field {
    match &o.key {
        OrderKey::Metric(k) => Field::Metric(k.clone()),
        OrderKey::Param(k) => Field::Param(k.clone()),
        OrderKey::Tag(k) => Field::Tag(k.clone()),
        OrderKey::Attr(a) => attribute_field(*a),
    }
}

/// Compiles filter trees, remembering which runs-table fields they read.
pub struct Compiler {
    inputs: Arc<InputsTable>,
    /// Fields of the runs table the compiled expressions read, in first-use order.
    pub fields: Vec<Field>,
}

impl Compiler {
    /// A compiler whose dataset conditions scan `inputs`.
    pub fn new(inputs: Arc<InputsTable>) -> Self {
        Compiler {
            inputs,
            fields: Vec::new(),
        }
    }

    /// The column expression of `field`, noting that the query reads it.
    pub fn column(&mut self, field: &Field) -> Expr {
        if !self.fields.contains(field) {
            self.fields.push(field.clone());
        }
        ident(columns::name(field))
    }

    /// Compiles a filter tree.
    pub fn expr(&mut self, e: &Ast) -> Result<Expr> {
        Ok(match e {
            Ast::Cond(c) => self.condition(c)?,
            Ast::And(items) => self.fold(items, Expr::and)?,
            Ast::Or(items) => self.fold(items, Expr::or)?,
            Ast::Not(inner) => !self.expr(inner)?,
        })
    }

    fn fold(&mut self, items: &[Ast], op: fn(Expr, Expr) -> Expr) -> Result<Expr> {
        let mut out: Option<Expr> = None;
        for item in items {
            let e = self.expr(item)?;
            out = Some(match out {
                Some(acc) => op(acc, e),
                None => e,
            });
        }
        out.ok_or_else(|| Error::Internal("empty AND/OR".into()))
    }

    fn condition(&mut self, c: &Condition) -> Result<Expr> {
        Ok(match c {
            Condition::Metric { key, op, value } => {
                let m = self.column(&Field::Metric(key.clone()));
                let v = if *value == 0.0 { 0.0 } else { *value };
                let cmp = num(m.clone(), *op, lit(v));
                match op {
                    NumOp::Gt | NumOp::Ge => cmp.and(!isnan(m)),
                    _ => cmp,
                }
            }
            Condition::Param { key, op } => {
                let p = self.column(&Field::Param(key.clone()));
                text(p, op)
            }
            Condition::Tag { key, op } => {
                let t = self.column(&Field::Tag(key.clone()));
                text(t, op)
            }
            Condition::TimeAttr { attr, op, value } => {
                let field = match attr {
                    TimeAttribute::StartTime => Field::StartTime,
                    TimeAttribute::EndTime => Field::EndTime,
                };
                let col = self.column(&field);
                let v = match value {
                    TimeValue::Int(i) => lit(*i),
                    TimeValue::Float(f) => lit(if *f == 0.0 { 0.0 } else { *f }),
                };
                num(col, *op, v)
            }
            Condition::TextAttr { attr, op } => {
                let field = match attr {
                    TextAttribute::RunName => Field::RunName,
                    TextAttribute::Status => Field::Status,
                    TextAttribute::UserId => Field::UserId,
                    TextAttribute::ArtifactUri => Field::ArtifactUri,
                };
                let col = self.column(&field);
                string(col, op)
            }
            Condition::RunId(op) => {
                let col = self.column(&Field::RunId);
                set(col, op)
            }
            Condition::Dataset { field, op } => {
                let f = match field {
                    DatasetField::Name => Field::DatasetName,
                    DatasetField::Digest => Field::DatasetDigest,
                    DatasetField::Context => Field::DatasetContext,
                };
                let cond = set(ident(columns::name(&f)), op);
                let sub = LogicalPlanBuilder::scan(
                    INPUTS,
                    provider_as_source(self.inputs.clone()),
                    None,
                )?
                .filter(cond)?
                .project(vec![ident(INPUT_ROW)])?
                .build()?;
                Expr::InSubquery(InSubquery::new(
                    Box::new(ident(ROW)),
                    Subquery {
                        subquery: Arc::new(sub),
                        outer_ref_columns: vec![],
                        spans: Spans::new(),
                    },
                    false,
                ))
            }
        })
    }
}

fn num(col: Expr, op: NumOp, v: Expr) -> Expr {
    match op {
        NumOp::Eq => col.eq(v),
        NumOp::Ne => col.not_eq(v),
        NumOp::Lt => col.lt(v),
        NumOp::Le => col.lt_eq(v),
        NumOp::Gt => col.gt(v),
        NumOp::Ge => col.gt_eq(v),
    }
}

/// `LIKE`/`ILIKE` with no escape character (MLflow's SQL has none).
fn like(col: Expr, pattern: &str, case_insensitive: bool) -> Expr {
    Expr::Like(Like::new(
        false,
        Box::new(col),
        Box::new(Expr::Literal(
            ScalarValue::Utf8(Some(pattern.to_owned())),
            None,
        )),
        None,
        case_insensitive,
    ))
}

fn string(col: Expr, op: &StrOp) -> Expr {
    match op {
        StrOp::Eq(s) => col.eq(lit(s.as_str())),
        StrOp::Ne(s) => col.not_eq(lit(s.as_str())),
        StrOp::Like(p) => like(col, p, false),
        StrOp::ILike(p) => like(col, p, true),
    }
}

fn text(col: Expr, op: &TextOp) -> Expr {
    match op {
        TextOp::Str(s) => string(col, s),
        TextOp::IsNull => col.is_null(),
        TextOp::IsNotNull => col.is_not_null(),
    }
}

fn set(col: Expr, op: &SetOp) -> Expr {
    match op {
        SetOp::Str(s) => string(col, s),
        SetOp::In(list) => col.in_list(list.iter().map(|s| lit(s.as_str())).collect(), false),
        SetOp::NotIn(list) => col.in_list(list.iter().map(|s| lit(s.as_str())).collect(), true),
    }
}
