//! `Display` for the syntax tree: the canonical text, which parses back to
//! the same tree.
//!
//! Keys print bare when they read back unchanged (`metrics.val.acc`), else in
//! the first of backticks, double and single quotes that do (checked with
//! the parser itself). Strings print in single quotes, or in double quotes
//! when single ones would not read back. Text no MLflow literal can hold (for
//! example a value with a lone `'` *and* a lone `"`, which the parser never
//! produces) prints in backticks or single quotes and does not read back.

use std::fmt::{self, Display, Formatter, Write};

use super::Dialect;
use super::filter::filter;
use super::ident::reads_back_as;
use super::lex::{fits_at_end, fits_in_quotes};
use super::order_by::order_key_reads_back;
use crate::ast::{
    Attribute, Condition, Expr, NumOp, OrderBy, OrderKey, SetOp, StrOp, TextOp, TimeValue,
};

/// Prints a tree left to right, remembering which quote characters must not
/// appear any more: after a string that only reads back at the end of the
/// input (`'x\'`), no later text may contain its quote character.
struct Printer {
    banned: Vec<char>,
    /// Which quote to try first for a string that only reads back at the end.
    end_quotes: [char; 2],
    /// Whether such a string was printed.
    ended_early: bool,
}

impl Default for Printer {
    fn default() -> Self {
        Printer {
            banned: Vec::new(),
            end_quotes: ['\'', '"'],
            ended_early: false,
        }
    }
}

impl Printer {
    fn expr(&mut self, f: &mut dyn Write, e: &Expr) -> fmt::Result {
        match e {
            Expr::Cond(c) => self.condition(f, c),
            Expr::And(operands) => self.join(f, operands, " AND ", |e| {
                matches!(e, Expr::And(_) | Expr::Or(_))
            }),
            Expr::Or(operands) => self.join(f, operands, " OR ", |e| matches!(e, Expr::Or(_))),
            Expr::Not(operand) => {
                f.write_str("NOT ")?;
                self.group(f, operand, matches!(**operand, Expr::And(_) | Expr::Or(_)))
            }
        }
    }

    fn join(
        &mut self,
        f: &mut dyn Write,
        operands: &[Expr],
        separator: &str,
        needs_parentheses: fn(&Expr) -> bool,
    ) -> fmt::Result {
        for (n, e) in operands.iter().enumerate() {
            if n > 0 {
                f.write_str(separator)?;
            }
            self.group(f, e, needs_parentheses(e))?;
        }
        Ok(())
    }

    fn group(&mut self, f: &mut dyn Write, e: &Expr, parentheses: bool) -> fmt::Result {
        if parentheses {
            f.write_str("(")?;
            self.expr(f, e)?;
            f.write_str(")")
        } else {
            self.expr(f, e)
        }
    }

    fn condition(&mut self, f: &mut dyn Write, c: &Condition) -> fmt::Result {
        match c {
            Condition::Metric { key, op, value } => {
                f.write_str("metrics.")?;
                self.key(f, key)?;
                write!(f, " {op} {}", Number(*value))
            }
            Condition::Param { key, op } => {
                f.write_str("params.")?;
                self.key(f, key)?;
                self.text_op(f, op)
            }
            Condition::Tag { key, op } => {
                f.write_str("tags.")?;
                self.key(f, key)?;
                self.text_op(f, op)
            }
            Condition::TimeAttr { attr, op, value } => {
                write!(
                    f,
                    "attributes.{} {op} {value}",
                    Attribute::from(*attr).name()
                )
            }
            Condition::TextAttr { attr, op } => {
                write!(f, "attributes.{}", Attribute::from(*attr).name())?;
                self.str_op(f, op)
            }
            Condition::RunId(op) => {
                f.write_str("attributes.run_id")?;
                self.set_op(f, op)
            }
            Condition::Dataset { field, op } => {
                write!(f, "datasets.{}", field.name())?;
                self.set_op(f, op)
            }
        }
    }

    fn allowed(&self, text: &str) -> bool {
        !text.contains(self.banned.as_slice())
    }

    /// The key bare if it reads back, else in the first quotes that do.
    fn key(&mut self, f: &mut dyn Write, key: &str) -> fmt::Result {
        let written = key_candidates(key)
            .find(|c| self.allowed(c) && reads_back_as(c) == Some(key))
            .unwrap_or_else(|| format!("`{key}`"));
        f.write_str(&written)
    }

    fn text_op(&mut self, f: &mut dyn Write, op: &TextOp) -> fmt::Result {
        match op {
            TextOp::Str(op) => self.str_op(f, op),
            TextOp::IsNull => f.write_str(" IS NULL"),
            TextOp::IsNotNull => f.write_str(" IS NOT NULL"),
        }
    }

    fn str_op(&mut self, f: &mut dyn Write, op: &StrOp) -> fmt::Result {
        let (op, value) = match op {
            StrOp::Eq(v) => ("=", v),
            StrOp::Ne(v) => ("!=", v),
            StrOp::Like(v) => ("LIKE", v),
            StrOp::ILike(v) => ("ILIKE", v),
        };
        write!(f, " {op} ")?;
        self.text(f, value)
    }

    /// A string in the first quotes it reads back from; one that only reads
    /// back at the end of the input bans its quote for the rest.
    fn text(&mut self, f: &mut dyn Write, value: &str) -> fmt::Result {
        let banned = self.banned.clone();
        let usable = |q: &char| !banned.contains(q) && !value.contains(banned.as_slice());
        let fitting = ['\'', '"']
            .into_iter()
            .filter(usable)
            .find(|&q| fits_in_quotes(value, q));
        let q = match fitting {
            Some(q) => q,
            None => {
                let at_end = self.end_quotes.into_iter().filter(usable);
                let q = at_end
                    .clone()
                    .find(|&q| fits_at_end(value, q))
                    .unwrap_or('\'');
                self.banned.push(q);
                self.ended_early = true;
                q
            }
        };
        write!(f, "{q}{value}{q}")
    }

    fn set_op(&mut self, f: &mut dyn Write, op: &SetOp) -> fmt::Result {
        let (op, items) = match op {
            SetOp::Str(op) => return self.str_op(f, op),
            SetOp::In(items) => ("IN", items),
            SetOp::NotIn(items) => ("NOT IN", items),
        };
        write!(f, " {op} (")?;
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            let q = if item.contains('\'') || self.banned.contains(&'\'') {
                '"'
            } else {
                '\''
            };
            write!(f, "{q}{item}{q}")?;
        }
        f.write_str(")")
    }
}

/// The ways to write a key, simplest first (MLflow strips `"…"` and then
/// backticks, so ``"`k`"`` is a way to write a key that is itself in backticks).
fn key_candidates(key: &str) -> impl Iterator<Item = String> + '_ {
    ["", "`", "\"", "'", "\"`", "'`"]
        .into_iter()
        .map(move |open| {
            let close: String = open.chars().rev().collect();
            format!("{open}{key}{close}")
        })
}

impl Display for Expr {
    /// A string that only reads back at the end of the input forbids its
    /// quote character in everything after it; which of `'` and `"` it must
    /// use depends on the rest, so such a tree is printed both ways and the
    /// way that reads back is kept.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        let mut printer = Printer::default();
        printer.expr(&mut text, self)?;
        if printer.ended_early && !reads_back(&text, self) {
            let mut other = String::new();
            let mut printer = Printer {
                end_quotes: ['"', '\''],
                ..Printer::default()
            };
            printer.expr(&mut other, self)?;
            if reads_back(&other, self) {
                text = other;
            }
        }
        f.write_str(&text)
    }
}

fn reads_back(text: &str, tree: &Expr) -> bool {
    matches!(filter(text, Dialect::Extended), Ok(Some(parsed)) if parsed == *tree)
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Printer::default().condition(f, self)
    }
}

impl Display for NumOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumOp::Eq => "=",
            NumOp::Ne => "!=",
            NumOp::Lt => "<",
            NumOp::Le => "<=",
            NumOp::Gt => ">",
            NumOp::Ge => ">=",
        })
    }
}

/// `= 'value'`, `LIKE 'pattern'`, …
impl Display for StrOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        Printer::default().str_op(&mut text, self)?;
        f.write_str(text.trim_start())
    }
}

impl Display for TimeValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TimeValue::Int(n) => write!(f, "{n}"),
            TimeValue::Float(x) => Number(*x).fmt(f),
        }
    }
}

impl Display for OrderKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (prefix, key) = match self {
            OrderKey::Metric(key) => ("metrics", key),
            OrderKey::Param(key) => ("params", key),
            OrderKey::Tag(key) => ("tags", key),
            OrderKey::Attr(attr) => return write!(f, "attributes.{}", attr.name()),
        };
        let written = key_candidates(key)
            .find(|c| order_key_reads_back(c).as_deref() == Some(key.as_str()))
            .unwrap_or_else(|| format!("`{key}`"));
        write!(f, "{prefix}.{written}")
    }
}

impl Display for OrderBy {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let direction = if self.ascending { "ASC" } else { "DESC" };
        write!(f, "{} {direction}", self.key)
    }
}

/// A float as a literal MLflow reads back to the same value: shortest
/// round-trip digits, always with a `.` or an exponent; infinities as
/// `±1e999` (which overflow back to infinity). NaN has no literal.
struct Number(f64);

impl Display for Number {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            x if x == f64::INFINITY => f.write_str("1e999"),
            x if x == f64::NEG_INFINITY => f.write_str("-1e999"),
            x => write!(f, "{x:?}"),
        }
    }
}
