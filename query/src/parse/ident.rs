//! Identifiers: `[entity '.'] key`, with MLflow's entity aliases, keys split
//! at the first dot, and keys quoted with backticks, double or single quotes.

use nom::{Parser, bytes::complete::take_while};

use super::lex::{is_word, quote_kind, quoted_token};
use super::{Fail, PResult, fail};

/// What an identifier names, with aliases resolved (`metric` = `metrics`,
/// `run` = `attr` = `attributes`, …). A bare key is an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    Metric,
    Param,
    Tag,
    Attr,
    Dataset,
}

/// A parsed identifier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ident<'a> {
    pub(crate) entity: Entity,
    /// The key as MLflow reads it: the text after the first dot, minus one
    /// pair of surrounding quotes and then one pair of backticks. Nothing is unescaped.
    pub(crate) key: &'a str,
    /// The input at the start of the key (the identifier's start for a bare key).
    pub(crate) key_at: &'a str,
    /// The key as written (after the entity's dot).
    pub(crate) raw: &'a str,
    /// The quote character when the key is one quoted part, `None` otherwise.
    pub(crate) quote: Option<char>,
}

/// MLflow's entity prefixes, case-sensitive, and whether sqlparse reads the
/// word as a keyword (then a key part right after the dot can't start with a digit).
fn entity_of(word: &str) -> Option<(Entity, bool)> {
    Some(match word {
        "metric" | "metrics" => (Entity::Metric, false),
        "param" | "params" => (Entity::Param, false),
        "parameter" | "parameters" => (Entity::Param, true),
        "tag" | "tags" => (Entity::Tag, false),
        "attribute" | "attributes" | "attr" | "run" => (Entity::Attr, false),
        "dataset" | "datasets" => (Entity::Dataset, false),
        _ => return None,
    })
}

fn unknown_entity<'a, T>(at: &'a str, word: &str) -> PResult<'a, T> {
    fail(
        at,
        format!(
            "unknown entity '{}' (expected metrics, params, tags, attributes or datasets; \
             prefixes are case-sensitive)",
            word.escape_debug()
        ),
    )
}

/// MLflow's final reading of a key: one pair of `'` or `"` around the whole
/// text is removed, then one pair of backticks.
pub(crate) fn mlflow_key(raw: &str) -> &str {
    let strip = |s: &'_ str, quotes: &[char]| -> Option<usize> {
        let first = s.chars().next()?;
        (s.len() >= 2 && quotes.contains(&first) && s.ends_with(first)).then_some(1)
    };
    let inner = |s| {
        if strip(s, &['\'', '"']).is_some() {
            s.get(1..s.len() - 1).unwrap_or(s)
        } else {
            s
        }
    };
    let once = inner(raw);
    if strip(once, &['`']).is_some() {
        once.get(1..once.len() - 1).unwrap_or(once)
    } else {
        once
    }
}

/// Parses an identifier. A recoverable error means the input does not start
/// like one at all.
pub(crate) fn identifier(i: &str) -> PResult<'_, Ident<'_>> {
    match i.chars().next() {
        Some(c) if quote_kind(c).is_some() => quoted_start(i),
        Some(c) if is_word(c) => {
            let (rest, word) = take_while(is_word).parse(i)?;
            match rest.strip_prefix('.') {
                Some(after_dot) => {
                    let Some((entity, keyword)) = entity_of(word) else {
                        return unknown_entity(i, word);
                    };
                    prefixed_key(entity, keyword, after_dot)
                }
                None => Ok((rest, bare(word, i, None))),
            }
        }
        _ => Err(nom::Err::Error(Fail::new(
            i,
            "expected a key such as metrics.acc or params.lr",
        ))),
    }
}

fn bare<'a>(raw: &'a str, at: &'a str, quote: Option<char>) -> Ident<'a> {
    Ident {
        entity: Entity::Attr,
        key: mlflow_key(raw),
        key_at: at,
        raw,
        quote,
    }
}

/// An identifier starting with a quote: a quoted bare key, or a backtick-quoted entity.
fn quoted_start(i: &str) -> PResult<'_, Ident<'_>> {
    let (rest, (q, content)) = quoted_token(i)?;
    if let Some(after_dot) = rest.strip_prefix('.') {
        if q != '`' {
            return fail(
                i,
                "an entity prefix can only be quoted with backticks, e.g. `params`.lr",
            );
        }
        let Some((entity, _)) = entity_of(content) else {
            return unknown_entity(i, content);
        };
        return prefixed_key(entity, false, after_dot);
    }
    if q == '\'' {
        return fail(
            i,
            "single quotes make a value, not a key: quote a bare attribute with backticks \
             or double quotes",
        );
    }
    let raw = i.get(..i.len() - rest.len()).unwrap_or_default();
    Ok((rest, bare(raw, i, Some(q))))
}

/// One part of a key as sqlparse groups it into an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Word,
    Quoted(char),
    Bracket,
    Star,
}

/// The key after `entity.`: parts joined by dots, as sqlparse chains them.
fn prefixed_key(entity: Entity, keyword_entity: bool, i: &str) -> PResult<'_, Ident<'_>> {
    let mut rest = i;
    let mut parts = 0;
    let last = loop {
        let (after, part) = key_part(rest, parts == 0 && keyword_entity)?;
        parts += 1;
        let Some(next) = after.strip_prefix('.') else {
            rest = after;
            break part;
        };
        if matches!(part, Part::Quoted('\'') | Part::Star) {
            return fail(
                after,
                "a '…' or * part can only end a key: quote the whole key",
            );
        }
        rest = next;
    };
    if rest.starts_with(|c: char| quote_kind(c).is_some() || c == '[') {
        return fail(
            rest,
            "a key can't be partly quoted: quote the whole key, e.g. tags.`a b`",
        );
    }
    let raw = i.get(..i.len() - rest.len()).unwrap_or_default();
    let quote = match last {
        Part::Quoted(q) if parts == 1 => Some(q),
        _ => None,
    };
    Ok((
        rest,
        Ident {
            entity,
            key: mlflow_key(raw),
            key_at: i,
            raw,
            quote,
        },
    ))
}

/// One key part: a word, a quoted name, `[name]` or `*`.
fn key_part(i: &str, after_keyword: bool) -> PResult<'_, Part> {
    match i.chars().next() {
        Some(c) if quote_kind(c).is_some() => {
            quoted_token(i).map(|(rest, (q, _))| (rest, Part::Quoted(q)))
        }
        Some('[') => {
            let body = i.get(1..).unwrap_or_default();
            match body.find(['[', ']']) {
                Some(end) if body.get(end..).is_some_and(|r| r.starts_with(']')) => {
                    Ok((body.get(end + 1..).unwrap_or_default(), Part::Bracket))
                }
                _ => fail(i, "unterminated [name] in the key"),
            }
        }
        Some('*') => Ok((i.get(1..).unwrap_or_default(), Part::Star)),
        Some(c) if is_word(c) => {
            if let Some(problem) = digit_start_problem(i, after_keyword) {
                return fail(i, problem);
            }
            let (rest, word) = take_while(is_word).parse(i)?;
            if is_reserved(word) {
                return fail(
                    i,
                    format!("'{word}' is a keyword: quote the key, e.g. metrics.`{word}`"),
                );
            }
            Ok((rest, Part::Word))
        }
        _ => fail(
            i,
            "expected a key part (an empty part before or after '.'); quote unusual keys, \
             e.g. metrics.`a..b`",
        ),
    }
}

/// The characters sqlparse's number rules treat as letters (`[_A-ZÀ-Ü]`,
/// case-insensitive, Python's case folding).
fn sqlparse_letter(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{c0}'..='\u{dc}' | '\u{e0}'..='\u{f6}' | '\u{f8}'..='\u{fc}'
        | '\u{130}' | '\u{131}' | '\u{17f}' | '\u{212a}' | '\u{212b}')
}

/// Why MLflow does not read a key part starting with a digit as a name, if
/// it does not. sqlparse reads `.1a` as `.` and the name `1a`, but `.12a`,
/// `.1`, `.1é…`, `.1e5`, `.0x1f` as numbers, and after the keyword-like
/// prefixes `parameter`/`parameters` never as a name.
fn digit_start_problem(i: &str, after_keyword: bool) -> Option<&'static str> {
    let mut chars = i.chars();
    let first = chars.next()?;
    if !first.is_numeric() {
        return None;
    }
    let message = "MLflow reads this key part as a number: quote the key, e.g. metrics.`1st`";
    if !first.is_ascii_digit() || after_keyword {
        return Some(message);
    }
    let (second, third, fourth) = (chars.next(), chars.next(), chars.next());
    let numeric = |c: Option<char>| c.is_some_and(char::is_numeric);
    let Some(second) = second.filter(|&c| sqlparse_letter(c)) else {
        return Some(message);
    };
    let exponent =
        matches!(second, 'e' | 'E') && (numeric(third) || third == Some('-') && numeric(fourth));
    let hex = first == '0'
        && matches!(second, 'x' | 'X')
        && third.is_some_and(|c| c.is_ascii_hexdigit() || c.is_numeric());
    (exponent || hex).then_some(message)
}

/// The words MLflow's tokenizer never reads as a key part unless quoted.
const RESERVED: [&str; 6] = ["as", "case", "from", "in", "using", "values"];

/// Folds a character the way Python's case-insensitive regexes match ASCII letters.
fn python_fold(c: char) -> char {
    match c {
        '\u{130}' | '\u{131}' => 'i',
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        c => c.to_ascii_lowercase(),
    }
}

fn is_reserved(part: &str) -> bool {
    RESERVED.iter().any(|word| {
        part.chars().count() == word.len() && part.chars().map(python_fold).eq(word.chars())
    })
}

/// Parses `text` as the key after `metrics.`, for printing: the key it
/// means, if the whole text is the key wherever it stands (a quoted part that
/// only closes at the end of the input does not count).
pub(crate) fn reads_back_as(text: &str) -> Option<&str> {
    const CONTEXT: &str = " '\"`";
    let probe = format!("{text}{CONTEXT}");
    match prefixed_key(Entity::Metric, false, &probe) {
        Ok((CONTEXT, id)) => text.get(..id.raw.len()).map(mlflow_key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(i: &str) -> (Entity, String, Option<char>, &str) {
        let (rest, id) = identifier(i).expect(i);
        (id.entity, id.key.to_owned(), id.quote, rest)
    }

    #[test]
    fn entities_keys_and_quotes() {
        assert_eq!(
            ident("metrics.acc >"),
            (Entity::Metric, "acc".into(), None, " >")
        );
        assert_eq!(
            ident("tags.mlflow.runName="),
            (Entity::Tag, "mlflow.runName".into(), None, "=")
        );
        assert_eq!(
            ident("param.`a b` ="),
            (Entity::Param, "a b".into(), Some('`'), " =")
        );
        assert_eq!(
            ident("`attr`.\"x\""),
            (Entity::Attr, "x".into(), Some('"'), "")
        );
        assert_eq!(
            ident("params.名前 ="),
            (Entity::Param, "名前".into(), None, " =")
        );
        assert_eq!(
            ident("`run name` ="),
            (Entity::Attr, "run name".into(), Some('`'), " =")
        );
        assert_eq!(ident("status"), (Entity::Attr, "status".into(), None, ""));
        // MLflow's readings of odd keys.
        assert_eq!(ident("metrics.1abc >").1, "1abc");
        assert_eq!(ident("metrics.acc.`x` >").1, "acc.`x`");
        assert_eq!(ident("metrics.[acc] >").1, "[acc]");
        assert_eq!(ident("metrics.a.* >").1, "a.*");
        assert_eq!(ident("metrics.`a`.`b` >").1, "a`.`b");
        assert_eq!(ident("params.\"`a`\" =").1, "a");
    }

    #[test]
    fn rejected_identifiers() {
        for bad in [
            "Metrics.a",
            "metrics.in",
            "metrics.a.FROM",
            "metrics.ın",
            "metrics.12a",
            "metrics.1",
            "metrics.1e5x",
            "metrics.0xa",
            "metrics.1α",
            "parameter.1a",
            "metrics. a",
            "metrics.a.",
            "metrics.a..b",
            "metrics.a`b`",
            "metrics.'a'.b",
            "metrics.*.a",
            "\"metrics\".a",
            "'status'",
            "params.'abc",
        ] {
            assert!(
                matches!(identifier(bad), Err(nom::Err::Failure(_))),
                "{bad}"
            );
        }
        assert!(matches!(identifier("= 1"), Err(nom::Err::Error(_))));
    }

    #[test]
    fn reading_keys_back() {
        assert_eq!(reads_back_as("mlflow.runName"), Some("mlflow.runName"));
        assert_eq!(reads_back_as("`a b`"), Some("a b"));
        assert_eq!(reads_back_as("a b"), None);
        assert_eq!(reads_back_as("from"), None);
        assert_eq!(reads_back_as("x.1"), None);
    }
}
