//! Literals: numbers as MLflow's tokenizer reads them, quoted strings (never
//! unescaped) and the string lists of `IN`.

use nom::{
    Parser,
    bytes::complete::take_while,
    character::complete::{char, digit1, one_of},
    combinator::{opt, recognize},
    sequence::preceded,
};

use super::lex::{is_word, quoted_token};
use super::{Fail, PResult, fail};

/// A numeric literal's text and whether MLflow reads it as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Number<'a> {
    pub(crate) text: &'a str,
    /// No fraction and no exponent (sqlparse's `Number.Integer`).
    pub(crate) integer: bool,
}

fn digits0(i: &str) -> PResult<'_, &str> {
    take_while(|c: char| c.is_ascii_digit()).parse(i)
}

/// `-? (digits ('.' digits?)? | '.' digits)`, then `[eE] -? digits` when the
/// mantissa has digits on both sides of any dot. `+1`, `- 1`, `1e+3`, `0x10`,
/// `1_000`, `NaN` and `inf` are not numbers. A recoverable error means no
/// number starts here.
pub(crate) fn number(i: &str) -> PResult<'_, Number<'_>> {
    let start = i;
    let (i, _) = opt(char('-')).parse(i)?;
    let (i, whole) = digits0(i)?;
    let (i, fraction) = opt(preceded(char('.'), digits0)).parse(i)?;
    if whole.is_empty() && fraction.is_none_or(str::is_empty) {
        return Err(nom::Err::Error(Fail::new(start, "expected a number")));
    }
    let exponent_allowed = !whole.is_empty() && fraction.is_none_or(|f| !f.is_empty());
    let (i, exponent) = if exponent_allowed {
        opt(recognize((one_of("eE"), opt(char('-')), digit1))).parse(i)?
    } else {
        (i, None)
    };
    let text = start.get(..start.len() - i.len()).unwrap_or_default();
    if i.starts_with(|c: char| is_word(c) || c == '.') {
        let tail: String = i
            .chars()
            .take_while(|&c| is_word(c) || c == '.')
            .take(12)
            .collect();
        return fail(
            start,
            format!(
                "malformed number '{text}{}': write numbers like 5, -0.5, .5, 5. or 1e3 \
                 (no +, hex, _, NaN or inf) and end them with a space",
                tail.escape_debug()
            ),
        );
    }
    let integer = fraction.is_none() && exponent.is_none();
    Ok((i, Number { text, integer }))
}

/// A string value in single or double quotes. Backticks quote keys only.
pub(crate) fn string(i: &str) -> PResult<'_, &str> {
    match i.chars().next() {
        Some('\'' | '"') => quoted_token(i).map(|(rest, (_, content))| (rest, content)),
        Some('`') => fail(
            i,
            "backticks quote keys, not values: write the value in single or double quotes",
        ),
        _ => Err(nom::Err::Error(Fail::new(i, "expected a quoted string"))),
    }
}

/// Whitespace Python accepts between the items of a list.
fn list_ws(i: &str) -> &str {
    i.trim_start_matches([' ', '\t', '\n', '\r', '\u{c}'])
}

/// `( 'a' , "b" [,] )`: at least one quoted string.
///
/// MLflow evaluates the list as a Python literal, so escapes *are* processed
/// and adjacent strings concatenate there. runstore accepts only lists whose
/// meaning is the same under both readings: no backslashes, no adjacent
/// strings, no line breaks or NUL inside a value.
pub(crate) fn string_list(i: &str) -> PResult<'_, Vec<&str>> {
    let Some(inner) = i.strip_prefix('(') else {
        return Err(nom::Err::Error(Fail::new(i, "expected '('")));
    };
    let mut rest = list_ws(inner);
    if rest.starts_with(')') {
        return fail(rest, "an IN list needs at least one value");
    }
    let mut items = Vec::new();
    loop {
        let (after, item) = list_item(rest)?;
        items.push(item);
        rest = list_ws(after);
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = list_ws(after_comma);
            if let Some(after) = rest.strip_prefix(')') {
                return Ok((after, items));
            }
        } else if let Some(after) = rest.strip_prefix(')') {
            return Ok((after, items));
        } else {
            return fail(rest, "expected ',' or ')' in the IN list");
        }
    }
}

fn list_item(i: &str) -> PResult<'_, &str> {
    let q = match i.chars().next() {
        Some(q @ ('\'' | '"')) => q,
        None => return fail(i, "unterminated IN list (no closing ')')"),
        Some(_) => return fail(i, "an IN list holds quoted strings, e.g. ('a', 'b')"),
    };
    let body = i.get(1..).unwrap_or_default();
    for (at, c) in body.char_indices() {
        let here = body.get(at..).unwrap_or_default();
        if c == q {
            let rest = body.get(at + 1..).unwrap_or_default();
            if rest.starts_with(q) {
                return fail(
                    here,
                    "adjacent strings in an IN list (MLflow would concatenate them): separate \
                     values with ','",
                );
            }
            return Ok((rest, body.get(..at).unwrap_or_default()));
        }
        match c {
            '\\' => {
                return fail(
                    here,
                    "a backslash in an IN list value (MLflow would read it as a Python escape)",
                );
            }
            '\n' | '\r' | '\0' => {
                return fail(
                    here,
                    "line breaks and NUL characters can't appear in IN list values",
                );
            }
            _ => {}
        }
    }
    fail(
        i,
        format!("unterminated string in the IN list (no closing {q})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(i: &str) -> Option<(&str, bool)> {
        number(i).ok().map(|(_, n)| (n.text, n.integer))
    }

    #[test]
    fn numbers_as_mlflow_reads_them() {
        assert_eq!(num(".5 "), Some((".5", false)));
        assert_eq!(num("5."), Some(("5.", false)));
        assert_eq!(num("1e3"), Some(("1e3", false)));
        assert_eq!(num("-0.5"), Some(("-0.5", false)));
        assert_eq!(num("1.5E-5)"), Some(("1.5E-5", false)));
        assert_eq!(num("00012"), Some(("00012", true)));
        assert_eq!(num("-7"), Some(("-7", true)));
        for bad in [
            "+1", "- 0.5", "0x10", "1_000", "NaN", "inf", "1e+3", "5.e3", ".5e3", "1.5.5", "-", ".",
        ] {
            assert_eq!(num(bad), None, "{bad}");
        }
    }

    #[test]
    fn lists() {
        assert_eq!(string_list("('a', \"b\" ,) x"), Ok((" x", vec!["a", "b"])));
        assert_eq!(string_list("(\n'a'\t)").map(|(_, v)| v), Ok(vec!["a"]));
        for bad in [
            "()",
            "('a' 'b')",
            "('a''b')",
            "('a\\'b')",
            "(1)",
            "('a',,)",
            "('a'",
            "(\u{a0}'a')",
        ] {
            assert!(string_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_are_raw() {
        assert_eq!(string("'it''s'").map(|(_, s)| s), Ok("it''s"));
        assert_eq!(string("\"it's\"").map(|(_, s)| s), Ok("it's"));
        assert_eq!(string("'a\\'b' x").map(|(_, s)| s), Ok("a\\'b"));
        assert!(string("`x`").is_err());
        assert!(string("'x").is_err());
    }
}
