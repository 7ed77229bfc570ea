//! Translating the filters DataFusion pushes into a scan back into engine
//! predicates, which the index evaluates on its columns.
//!
//! Every shape the compiler produces translates, so in practice every filter
//! reaches the engine; anything else is reported unsupported and DataFusion
//! evaluates it itself. Both evaluate with the same semantics (SQL NULLs,
//! Arrow's total order on floats), so either answer is the same.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Like, Operator};
use runstore_engine::index::{CmpOp, Field, Literal, Pred};

/// Maps a column name to the field it holds (`None` for columns such as `_row`).
pub type Resolve<'a> = &'a dyn Fn(&str) -> Option<Field>;

/// The engine predicate equivalent to `e`, if there is one.
pub fn to_pred(e: &Expr, resolve: Resolve<'_>) -> Option<Pred> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => Some(Pred::And(vec![
                to_pred(left, resolve)?,
                to_pred(right, resolve)?,
            ])),
            Operator::Or => Some(Pred::Or(vec![
                to_pred(left, resolve)?,
                to_pred(right, resolve)?,
            ])),
            _ => {
                let cmp = cmp_op(*op)?;
                if let (Some(f), Some(l)) = (field(left, resolve), literal(right)) {
                    Some(Pred::Cmp(f, cmp, l))
                } else if let (Some(l), Some(f)) = (literal(left), field(right, resolve)) {
                    Some(Pred::Cmp(f, flip(cmp), l))
                } else {
                    None
                }
            }
        },
        Expr::Not(inner) => Some(Pred::Not(Box::new(to_pred(inner, resolve)?))),
        Expr::Like(Like {
            negated,
            expr,
            pattern,
            escape_char: None,
            case_insensitive,
        }) => match literal(pattern)? {
            Literal::Str(p) => Some(Pred::Like {
                field: field(expr, resolve)?,
                pattern: p,
                case_insensitive: *case_insensitive,
                negated: *negated,
            }),
            Literal::Num(_) => None,
        },
        Expr::InList(list) => Some(Pred::In {
            field: field(&list.expr, resolve)?,
            list: list.list.iter().map(literal).collect::<Option<_>>()?,
            negated: list.negated,
        }),
        Expr::IsNull(inner) => Some(Pred::IsNull {
            field: field(inner, resolve)?,
            negated: false,
        }),
        Expr::IsNotNull(inner) => Some(Pred::IsNull {
            field: field(inner, resolve)?,
            negated: true,
        }),
        Expr::ScalarFunction(f) if f.name() == "isnan" && f.args.len() == 1 => Some(Pred::IsNan {
            field: field(&f.args[0], resolve)?,
            negated: false,
        }),
        Expr::Literal(ScalarValue::Boolean(Some(b)), _) => Some(Pred::Const(*b)),
        // DataFusion rewrites `x LIKE '%'` into
        // `CASE x IS NOT NULL WHEN true THEN true END` (NULL for a NULL x).
        Expr::Case(case) => {
            let on = case.expr.as_deref()?;
            let Expr::IsNotNull(inner) = on else {
                return None;
            };
            let [(when, then)] = case.when_then_expr.as_slice() else {
                return None;
            };
            if case.else_expr.is_some()
                || !matches!(
                    when.as_ref(),
                    Expr::Literal(ScalarValue::Boolean(Some(true)), _)
                )
            {
                return None;
            }
            let Expr::Literal(ScalarValue::Boolean(Some(value)), _) = then.as_ref() else {
                return None;
            };
            Some(Pred::Like {
                field: field(inner, resolve)?,
                pattern: "%".into(),
                case_insensitive: false,
                negated: !*value,
            })
        }
        _ => None,
    }
}

fn cmp_op(op: Operator) -> Option<CmpOp> {
    Some(match op {
        Operator::Eq => CmpOp::Eq,
        Operator::NotEq => CmpOp::Ne,
        Operator::Lt => CmpOp::Lt,
        Operator::LtEq => CmpOp::Le,
        Operator::Gt => CmpOp::Gt,
        Operator::GtEq => CmpOp::Ge,
        _ => return None,
    })
}

/// `lit op col` as `col op' lit`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// The field a column expression reads (casts added by type coercion are
/// transparent: the engine compares numbers as numbers).
fn field(e: &Expr, resolve: Resolve<'_>) -> Option<Field> {
    match e {
        Expr::Column(c) => resolve(&c.name),
        Expr::Cast(c) => field(&c.expr, resolve),
        Expr::TryCast(c) => field(&c.expr, resolve),
        _ => None,
    }
}

fn literal(e: &Expr) -> Option<Literal> {
    let Expr::Literal(v, _) = e else {
        return None;
    };
    Some(match v {
        ScalarValue::Float64(Some(x)) => Literal::Num(*x),
        ScalarValue::Float32(Some(x)) => Literal::Num(f64::from(*x)),
        ScalarValue::Int64(Some(x)) => Literal::Num(*x as f64),
        ScalarValue::Int32(Some(x)) => Literal::Num(f64::from(*x)),
        ScalarValue::UInt32(Some(x)) => Literal::Num(f64::from(*x)),
        ScalarValue::UInt64(Some(x)) => Literal::Num(*x as f64),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Literal::Str(s.clone()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{ident, isnan, lit};

    use super::*;

    fn resolve(name: &str) -> Option<Field> {
        name.strip_prefix("metrics.")
            .map(|k| Field::Metric(k.into()))
            .or_else(|| name.strip_prefix("params.").map(|k| Field::Param(k.into())))
    }

    #[test]
    fn translates_the_shapes_the_compiler_makes() {
        let m = ident("metrics.a b");
        let e = m.clone().gt(lit(0.5)).and(!isnan(m.clone()));
        assert_eq!(
            to_pred(&e, &resolve),
            Some(Pred::And(vec![
                Pred::Cmp(Field::Metric("a b".into()), CmpOp::Gt, Literal::Num(0.5)),
                Pred::Not(Box::new(Pred::IsNan {
                    field: Field::Metric("a b".into()),
                    negated: false
                })),
            ]))
        );
        let flipped = lit(1.0).lt(m);
        assert_eq!(
            to_pred(&flipped, &resolve),
            Some(Pred::Cmp(
                Field::Metric("a b".into()),
                CmpOp::Gt,
                Literal::Num(1.0)
            ))
        );
        let p = ident("params.lr");
        assert!(to_pred(&p.clone().like(lit("0.%")), &resolve).is_some());
        assert!(to_pred(&p.clone().in_list(vec![lit("a")], true), &resolve).is_some());
        assert!(to_pred(&ident("_row").eq(lit(1u32)), &resolve).is_none());
        assert!(to_pred(&(p.clone() + lit(1)).eq(lit(2)), &resolve).is_none());
    }
}
