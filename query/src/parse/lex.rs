//! Character classes, whitespace, keywords and MLflow's quoted-token rule:
//! the lexical layer shared by every production.

use nom::{IResult, Parser, bytes::complete::take_while};

use super::{Fail, PResult};

/// Whitespace as MLflow's tokenizer (Python's `\s`) sees it: Unicode
/// `White_Space` plus the four ASCII separators U+001C..U+001F.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// A character of an unquoted key or keyword: Python's `\w` (letters,
/// digits, `_`), as MLflow's tokenizer sees it.
pub(crate) fn is_word(c: char) -> bool {
    super::unicode::is_python_word(c)
}

/// Zero or more whitespace characters.
pub(crate) fn ws0(i: &str) -> PResult<'_, &str> {
    take_while(is_space).parse(i)
}

/// True when `i` starts with the ASCII keyword `kw` (any letter case) and no
/// word character follows it.
pub(crate) fn at_keyword(i: &str, kw: &str) -> bool {
    keyword_len(i, kw).is_some()
}

fn keyword_len(i: &str, kw: &str) -> Option<usize> {
    let (head, rest) = i.split_at_checked(kw.len())?;
    (head.eq_ignore_ascii_case(kw) && !rest.starts_with(is_word)).then_some(kw.len())
}

/// Matches the keyword `kw` (ASCII letters in any case, followed by a
/// non-word character or the end). Only ASCII case folding: `LİKE` is not
/// `LIKE`.
pub(crate) fn keyword<'a>(kw: &'static str) -> impl Fn(&'a str) -> PResult<'a, &'a str> {
    move |i: &'a str| match keyword_len(i, kw).and_then(|n| i.split_at_checked(n)) {
        Some((head, rest)) => Ok((rest, head)),
        None => Err(nom::Err::Error(Fail::new(i, format!("expected {kw}")))),
    }
}

/// Where a quoted token ends, by the rule of MLflow's tokenizer (sqlparse's
/// regex `'(''|\\'|[^'])*'`): a doubled quote, and for `'` and `"` a
/// backslash-quote, stay inside the token; the first other quote closes it.
/// No escape is ever *processed*.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The closing quote is at this byte offset of the body.
    Closed(usize),
    /// No closing quote at all.
    Unterminated,
    /// The input ran out inside the token, so the regex backtracked and took
    /// the last doubled or backslash-escaped quote as the closing one, at
    /// this byte offset (`'x\'` at the end of a filter is the string `x\`).
    Rescued(usize),
}

/// Scans `body` (the text after an opening quote `q`).
pub(crate) fn scan_quoted(body: &str, q: u8, backslash_quote: bool) -> Scan {
    let b = body.as_bytes();
    let mut i = 0;
    let mut last_pair: Option<(usize, bool)> = None;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        if c == q && next == Some(q) || backslash_quote && c == b'\\' && next == Some(q) {
            last_pair = Some((i, c == b'\\'));
            i += 2;
        } else if c == q {
            return Scan::Closed(i);
        } else {
            i += 1;
        }
    }
    match last_pair {
        // `''`: the first quote closes; `\'`: the backslash is content, the quote closes.
        Some((at, escaped)) => Scan::Rescued(if escaped { at + 1 } else { at }),
        None => Scan::Unterminated,
    }
}

/// The quote characters and whether `\q` stays inside a token quoted by them.
pub(crate) fn quote_kind(c: char) -> Option<(u8, bool)> {
    match c {
        '\'' => Some((b'\'', true)),
        '"' => Some((b'"', true)),
        '`' => Some((b'`', false)),
        _ => None,
    }
}

/// A quoted token at the start of `i`: returns its content (raw) and the rest.
pub(crate) fn quoted_token(i: &str) -> IResult<&str, (char, &str), Fail<'_>> {
    let Some(open) = i.chars().next() else {
        return Err(nom::Err::Error(Fail::new(i, "expected a quote")));
    };
    let Some((q, backslash_quote)) = quote_kind(open) else {
        return Err(nom::Err::Error(Fail::new(i, "expected a quote")));
    };
    let body = i.get(1..).unwrap_or("");
    match scan_quoted(body, q, backslash_quote) {
        Scan::Closed(end) | Scan::Rescued(end) => {
            let content = body.get(..end).unwrap_or("");
            let rest = body.get(end + 1..).unwrap_or("");
            Ok((rest, (open, content)))
        }
        Scan::Unterminated => Err(nom::Err::Failure(Fail::new(
            i,
            format!("unterminated {open}-quoted text (no closing {open})"),
        ))),
    }
}

/// True when `content` written between two `q` quotes reads back as exactly
/// `content` wherever it stands (even when another lone `q` follows later).
/// Text that reads back only at the end of the input (`x\` in `'x\'`) does
/// not fit; see [`fits_at_end`].
pub(crate) fn fits_in_quotes(content: &str, q: char) -> bool {
    let Some((qb, backslash_quote)) = quote_kind(q) else {
        return false;
    };
    let mut probe = String::with_capacity(content.len() + 3);
    probe.push_str(content);
    probe.push(q);
    probe.push(' ');
    probe.push(q);
    scan_quoted(&probe, qb, backslash_quote) == Scan::Closed(content.len())
}

/// True when `q content q` reads back as `content` provided no `q` follows
/// anywhere later (sqlparse's backtracking closes it at the end).
pub(crate) fn fits_at_end(content: &str, q: char) -> bool {
    let Some((qb, backslash_quote)) = quote_kind(q) else {
        return false;
    };
    let mut probe = String::with_capacity(content.len() + 1);
    probe.push_str(content);
    probe.push(q);
    matches!(
        scan_quoted(&probe, qb, backslash_quote),
        Scan::Closed(n) | Scan::Rescued(n) if n == content.len()
    )
}

/// Describes the character at the start of `i` for an error message.
pub(crate) fn describe_next(i: &str) -> String {
    match i.chars().next() {
        None => "the end of the input".to_owned(),
        Some('\'' | '"') => "a quoted string".to_owned(),
        Some(_) if i.starts_with(is_word) => {
            let word: String = i.chars().take_while(|&c| is_word(c)).take(20).collect();
            format!("'{}'", word.escape_debug())
        }
        Some(c) => format!("'{}'", c.escape_debug()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_tokens_follow_sqlparse() {
        assert_eq!(scan_quoted("abc' rest", b'\'', true), Scan::Closed(3));
        assert_eq!(scan_quoted("it''s' x", b'\'', true), Scan::Closed(5));
        assert_eq!(scan_quoted(r"it\'s' x", b'\'', true), Scan::Closed(5));
        assert_eq!(
            scan_quoted(r"a\' AND b = 'c'", b'\'', true),
            Scan::Closed(12)
        );
        assert_eq!(scan_quoted("abc", b'\'', true), Scan::Unterminated);
        assert_eq!(scan_quoted(r"x\'", b'\'', true), Scan::Rescued(2));
        assert_eq!(scan_quoted("a''", b'\'', true), Scan::Rescued(1));
        assert_eq!(scan_quoted("a``b` ", b'`', false), Scan::Closed(4));
        assert_eq!(scan_quoted(r"a\` ", b'`', false), Scan::Closed(2));
    }

    #[test]
    fn fitting_in_quotes() {
        assert!(fits_in_quotes("it's", '"'));
        assert!(!fits_in_quotes("it's", '\''));
        assert!(fits_in_quotes("it''s", '\''));
        assert!(fits_in_quotes("''", '\''));
        assert!(!fits_in_quotes("'", '\''));
        assert!(!fits_in_quotes(r"a\", '\''));
        assert!(!fits_in_quotes(r"a\", '"'));
        assert!(fits_in_quotes(r"a\", '`'));
        assert!(fits_in_quotes("", '`'));
        assert!(fits_at_end(r"a\", '\''));
        assert!(!fits_at_end("a'", '\''));
    }

    #[test]
    fn keywords_fold_ascii_only() {
        assert!(at_keyword("and x", "AND"));
        assert!(at_keyword("AnD(", "AND"));
        assert!(!at_keyword("ANDx", "AND"));
        assert!(!at_keyword("AN", "AND"));
        assert!(!at_keyword("LİKE", "LIKE"));
        assert!(!at_keyword("LI\u{212a}E 'x'", "LIKE"));
        assert!(is_space('\u{1c}') && is_space('\u{a0}') && !is_space('\u{0}'));
    }
}
