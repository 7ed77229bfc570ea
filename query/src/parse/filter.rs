//! The boolean structure of a filter: `AND` (MLflow), plus `OR`, `NOT` and
//! parentheses in the extended dialect, with a nesting limit.

use super::comparison::condition;
use super::lex::{at_keyword, describe_next, keyword, ws0};
use super::{Dialect, Fail, MAX_DEPTH, PResult, fail, finish};
use crate::ast::Expr;

/// Parses a whole filter string.
pub(crate) fn filter(input: &str, dialect: Dialect) -> Result<Option<Expr>, Fail<'_>> {
    if input.is_empty() {
        return Ok(None);
    }
    let (i, _) = finish(ws0(input))?;
    if i.is_empty() {
        return Err(Fail::new(
            input,
            "a filter of only whitespace is rejected by MLflow (use an empty string for no filter)",
        ));
    }
    let (rest, expr) = finish(or_expr(i, dialect, 0))?;
    let (rest, _) = finish(ws0(rest))?;
    if rest.is_empty() {
        return Ok(Some(expr));
    }
    Err(trailing(rest, dialect))
}

/// The error for input left over after a complete expression.
fn trailing(rest: &str, dialect: Dialect) -> Fail<'_> {
    if let Some(m) = extension_used(rest, dialect) {
        return Fail::new(rest, m);
    }
    if rest.starts_with(')') {
        return Fail::new(rest, "unbalanced ')'");
    }
    let expected = match dialect {
        Dialect::Mlflow => "AND",
        Dialect::Extended => "AND or OR",
    };
    Fail::new(
        rest,
        format!(
            "expected {expected} between conditions, found {}",
            describe_next(rest)
        ),
    )
}

/// In the MLflow dialect, names the runstore-only construct at `i`, if any.
fn extension_used(i: &str, dialect: Dialect) -> Option<String> {
    if dialect == Dialect::Extended {
        return None;
    }
    let what = if at_keyword(i, "OR") {
        "OR"
    } else if at_keyword(i, "NOT") {
        "NOT"
    } else if i.starts_with(['(', ')']) {
        "parentheses"
    } else {
        return None;
    };
    Some(format!(
        "{what} is not supported by MLflow (it is a runstore extension: use the extended dialect)"
    ))
}

/// `and ('OR' and)*`. In the MLflow dialect `OR` is never reached: the
/// leftover is reported by `trailing`.
fn or_expr(i: &str, dialect: Dialect, depth: usize) -> PResult<'_, Expr> {
    let (mut i, first) = and_expr(i, dialect, depth)?;
    let mut operands = vec![first];
    if dialect == Dialect::Extended {
        loop {
            let (after_ws, _) = ws0(i)?;
            let Ok((after_or, _)) = keyword("OR")(after_ws) else {
                break;
            };
            let (rest, next) = and_expr(after_or, dialect, depth)?;
            operands.push(next);
            i = rest;
        }
    }
    Ok((i, collapse(operands, Expr::Or)))
}

/// `unary ('AND' unary)*`.
fn and_expr(i: &str, dialect: Dialect, depth: usize) -> PResult<'_, Expr> {
    let (mut i, first) = unary(i, dialect, depth)?;
    let mut operands = vec![first];
    loop {
        let (after_ws, _) = ws0(i)?;
        let Ok((after_and, _)) = keyword("AND")(after_ws) else {
            break;
        };
        let (rest, next) = unary(after_and, dialect, depth)?;
        operands.push(next);
        i = rest;
    }
    Ok((i, collapse(operands, Expr::And)))
}

fn collapse(mut operands: Vec<Expr>, join: fn(Vec<Expr>) -> Expr) -> Expr {
    match operands.pop() {
        Some(only) if operands.is_empty() => only,
        Some(last) => {
            operands.push(last);
            join(operands)
        }
        None => join(operands),
    }
}

/// `NOT unary | '(' or ')' | condition` (only conditions in the MLflow dialect).
fn unary(i: &str, dialect: Dialect, depth: usize) -> PResult<'_, Expr> {
    let (i, _) = ws0(i)?;
    if let Some(m) = extension_used(i, dialect) {
        return fail(i, m);
    }
    if dialect == Dialect::Extended {
        if let Ok((rest, _)) = keyword("NOT")(i) {
            let depth = deeper(i, depth)?;
            let (rest, operand) = unary(rest, dialect, depth)?;
            return Ok((rest, Expr::Not(Box::new(operand))));
        }
        if let Some(inner) = i.strip_prefix('(') {
            let depth = deeper(i, depth)?;
            let (rest, expr) = or_expr(inner, dialect, depth)?;
            let (rest, _) = ws0(rest)?;
            return match rest.strip_prefix(')') {
                Some(rest) => Ok((rest, expr)),
                None if rest.is_empty() => fail(i, "unclosed '('"),
                None => fail(
                    rest,
                    format!("expected AND, OR or ')', found {}", describe_next(rest)),
                ),
            };
        }
    }
    if at_keyword(i, "AND") || at_keyword(i, "OR") {
        return fail(i, missing_condition(i));
    }
    match condition(i) {
        Ok((rest, c)) => Ok((rest, Expr::Cond(c))),
        Err(nom::Err::Error(_)) => fail(i, missing_condition(i)),
        Err(e) => Err(e),
    }
}

fn deeper(at: &str, depth: usize) -> Result<usize, nom::Err<Fail<'_>>> {
    if depth >= MAX_DEPTH {
        return Err(nom::Err::Failure(Fail::new(
            at,
            format!("nesting deeper than {MAX_DEPTH} levels of parentheses and NOT"),
        )));
    }
    Ok(depth + 1)
}

fn missing_condition(i: &str) -> String {
    if i.is_empty() {
        "expected a condition, found the end of the filter (a trailing AND?)".to_owned()
    } else if at_keyword(i, "AND") || at_keyword(i, "OR") {
        format!("expected a condition, found {}", describe_next(i))
    } else {
        format!(
            "expected a condition such as metrics.acc > 0.5, found {}",
            describe_next(i)
        )
    }
}
