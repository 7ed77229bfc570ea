//! The nom parsers, one module per production, and the public entry points.
//!
//! Every production is a function over `&str` returning [`PResult`]. A
//! recoverable `nom::Err::Error` means "not this production"; a committed
//! `nom::Err::Failure` carries the message and position that reach the user.

mod comparison;
mod filter;
pub(crate) mod ident;
pub(crate) mod lex;
pub(crate) mod literal;
mod order_by;
mod print;
mod unicode;

use std::borrow::Cow;

use crate::ast::{Expr, OrderBy};
use crate::error::ParseError;

/// Which filter language to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// Exactly what MLflow's `search_runs` accepts: conditions joined by `AND`.
    #[default]
    Mlflow,
    /// runstore's extension (not MLflow): also `OR`, `NOT` and parentheses,
    /// with precedence `NOT` > `AND` > `OR` and at most [`MAX_DEPTH`] levels
    /// of nesting.
    Extended,
}

/// The deepest nesting of parentheses and `NOT` the extended dialect accepts.
pub const MAX_DEPTH: usize = 64;

/// Parses a filter string. The empty string is no filter (`Ok(None)`); a
/// string of only whitespace is an error, as in MLflow.
///
/// ```
/// use runstore_query::{parse_filter, Dialect, Expr, Condition, NumOp};
///
/// let expr = parse_filter("metrics.acc > .5", Dialect::Mlflow)?;
/// assert_eq!(
///     expr,
///     Some(Expr::Cond(Condition::Metric { key: "acc".into(), op: NumOp::Gt, value: 0.5 }))
/// );
/// assert_eq!(parse_filter("", Dialect::Mlflow)?, None);
/// assert!(parse_filter("  ", Dialect::Mlflow).is_err());
/// # Ok::<(), runstore_query::ParseError>(())
/// ```
pub fn parse_filter(filter: &str, dialect: Dialect) -> Result<Option<Expr>, ParseError> {
    filter::filter(filter, dialect).map_err(|f| ParseError::Filter {
        message: f.message.into_owned(),
        offset: char_offset(filter, f.at),
    })
}

/// Parses one `order_by` clause, e.g. `metrics.f1 DESC`. Errors name clause 1.
pub fn parse_order_by_clause(clause: &str) -> Result<OrderBy, ParseError> {
    order_by::clause(clause, 0)
}

/// Parses a list of `order_by` clauses (one clause per element, as MLflow
/// takes them). The same key twice is an error; aliases count
/// (`metric.acc` = `metrics.acc`, `created` = `start_time`).
///
/// ```
/// use runstore_query::{parse_order_by, Attribute, OrderBy, OrderKey};
///
/// let order = parse_order_by(&["metrics.f1 DESC", "created"])?;
/// assert_eq!(order[0], OrderBy { key: OrderKey::Metric("f1".into()), ascending: false });
/// assert_eq!(order[1].key, OrderKey::Attr(Attribute::StartTime));
/// assert!(parse_order_by(&["start_time", "attributes.created DESC"]).is_err());
/// # Ok::<(), runstore_query::ParseError>(())
/// ```
pub fn parse_order_by<S: AsRef<str>>(clauses: &[S]) -> Result<Vec<OrderBy>, ParseError> {
    order_by::clauses(clauses)
}

/// A parse failure inside the parsers: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail<'a> {
    /// The unparsed input at the point of failure (a suffix of the whole input).
    pub(crate) at: &'a str,
    /// One line saying what is wrong.
    pub(crate) message: Cow<'static, str>,
}

impl<'a> Fail<'a> {
    pub(crate) fn new(at: &'a str, message: impl Into<Cow<'static, str>>) -> Self {
        Fail {
            at,
            message: message.into(),
        }
    }
}

impl<'a> nom::error::ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(at: &'a str, kind: nom::error::ErrorKind) -> Self {
        Fail::new(at, format!("unexpected input ({})", kind.description()))
    }

    fn append(_: &'a str, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two alternatives that both failed, report the one that got further.
    fn or(self, other: Self) -> Self {
        if other.at.len() < self.at.len() {
            other
        } else {
            self
        }
    }
}

/// The result type of every production.
pub(crate) type PResult<'a, T> = nom::IResult<&'a str, T, Fail<'a>>;

/// A committed failure at `at`.
pub(crate) fn fail<'a, T>(at: &'a str, message: impl Into<Cow<'static, str>>) -> PResult<'a, T> {
    Err(nom::Err::Failure(Fail::new(at, message)))
}

/// Runs a production over a whole input and turns any error into a [`Fail`].
pub(crate) fn finish<'a, T>(result: PResult<'a, T>) -> Result<(&'a str, T), Fail<'a>> {
    result.map_err(|e| match e {
        nom::Err::Error(f) | nom::Err::Failure(f) => f,
        nom::Err::Incomplete(_) => Fail::new("", "incomplete input"),
    })
}

/// The 0-based character offset of the suffix `at` within `whole`.
pub(crate) fn char_offset(whole: &str, at: &str) -> usize {
    let byte = whole.len().saturating_sub(at.len());
    whole.get(..byte).map_or(0, |head| head.chars().count())
}
