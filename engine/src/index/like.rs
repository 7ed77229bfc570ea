//! `LIKE` and `ILIKE` as MLflow's SQL store answers them: `%` matches any run
//! of characters, `_` exactly one character (not byte), there is no escape
//! character (a backslash is an ordinary character), `LIKE` is case-sensitive
//! and `ILIKE` folds ASCII letters only.

use memchr::memmem;

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct LikePattern {
    fold: bool,
    shape: Shape,
}

#[derive(Clone, Debug)]
enum Shape {
    /// No wildcards.
    Exact(Vec<u8>),
    /// `abc%`.
    Prefix(Vec<u8>),
    /// `%abc`.
    Suffix(Vec<u8>),
    /// `%abc%`.
    Contains(Box<memmem::Finder<'static>>),
    /// `%`, `%%`…
    Any,
    /// Everything else: literal/`_` segments separated by `%`.
    General {
        segments: Vec<Vec<Elem>>,
        anchored_start: bool,
        anchored_end: bool,
    },
}

#[derive(Clone, Debug)]
enum Elem {
    Lit(Vec<u8>),
    AnyChar,
}

impl LikePattern {
    /// Compiles `pattern`; `case_insensitive` for `ILIKE`.
    pub fn new(pattern: &str, case_insensitive: bool) -> Self {
        let fold = case_insensitive;
        let bytes: Vec<u8> = if fold {
            pattern.bytes().map(|b| b.to_ascii_lowercase()).collect()
        } else {
            pattern.as_bytes().to_vec()
        };
        let has_any_char = bytes.contains(&b'_');
        let pct = bytes.iter().filter(|&&b| b == b'%').count();
        let shape = if bytes.iter().all(|&b| b == b'%') && pct > 0 {
            Shape::Any
        } else if !has_any_char && pct == 0 {
            Shape::Exact(bytes)
        } else if !has_any_char && pct == 1 && bytes.last() == Some(&b'%') {
            Shape::Prefix(bytes[..bytes.len() - 1].to_vec())
        } else if !has_any_char && pct == 1 && bytes.first() == Some(&b'%') {
            Shape::Suffix(bytes[1..].to_vec())
        } else if !has_any_char
            && pct == 2
            && bytes.len() > 2
            && bytes.first() == Some(&b'%')
            && bytes.last() == Some(&b'%')
        {
            Shape::Contains(Box::new(
                memmem::Finder::new(&bytes[1..bytes.len() - 1]).into_owned(),
            ))
        } else {
            let anchored_start = bytes.first() != Some(&b'%');
            let anchored_end = bytes.last() != Some(&b'%');
            let segments = bytes
                .split(|&b| b == b'%')
                .filter(|s| !s.is_empty())
                .map(parse_segment)
                .collect();
            Shape::General {
                segments,
                anchored_start,
                anchored_end,
            }
        };
        LikePattern { fold, shape }
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        if self.fold && text.bytes().any(|b| b.is_ascii_uppercase()) {
            let folded: Vec<u8> = text.bytes().map(|b| b.to_ascii_lowercase()).collect();
            self.matches_bytes(&folded)
        } else {
            self.matches_bytes(text.as_bytes())
        }
    }

    fn matches_bytes(&self, t: &[u8]) -> bool {
        match &self.shape {
            Shape::Exact(p) => t == p.as_slice(),
            Shape::Prefix(p) => t.starts_with(p),
            Shape::Suffix(p) => t.ends_with(p),
            Shape::Contains(f) => f.find(t).is_some(),
            Shape::Any => true,
            Shape::General {
                segments,
                anchored_start,
                anchored_end,
            } => general(t, segments, *anchored_start, *anchored_end),
        }
    }
}

fn parse_segment(seg: &[u8]) -> Vec<Elem> {
    let mut out = Vec::new();
    let mut lit = Vec::new();
    for &b in seg {
        if b == b'_' {
            if !lit.is_empty() {
                out.push(Elem::Lit(std::mem::take(&mut lit)));
            }
            out.push(Elem::AnyChar);
        } else {
            lit.push(b);
        }
    }
    if !lit.is_empty() {
        out.push(Elem::Lit(lit));
    }
    out
}

/// Length of the UTF-8 character starting with byte `b`.
#[inline]
fn char_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Matches `seg` at the start of `t`; returns the bytes consumed.
fn match_at(t: &[u8], seg: &[Elem]) -> Option<usize> {
    let mut i = 0;
    for e in seg {
        match e {
            Elem::Lit(l) => {
                if t.len() < i + l.len() || &t[i..i + l.len()] != l.as_slice() {
                    return None;
                }
                i += l.len();
            }
            Elem::AnyChar => {
                let b = *t.get(i)?;
                i += char_len(b);
                if i > t.len() {
                    return None;
                }
            }
        }
    }
    Some(i)
}

/// Number of characters `seg` consumes (it has a fixed length in characters,
/// but not in bytes, so an anchored last segment is matched from the end by
/// trying the start of each of the last candidate characters).
fn general(t: &[u8], segments: &[Vec<Elem>], anchored_start: bool, anchored_end: bool) -> bool {
    let Some((last, init)) = segments.split_last() else {
        // Only possible for an empty pattern (no `%`): matches the empty string.
        return t.is_empty() || !anchored_start || !anchored_end;
    };
    let mut pos = 0;
    let mut rest = init;
    let mut last_seg = last;
    if anchored_start {
        let (first, tail) = match segments.split_first() {
            Some(x) => x,
            None => return t.is_empty(),
        };
        match match_at(t, first) {
            Some(n) => pos = n,
            None => return false,
        }
        if tail.is_empty() {
            // A single segment: anchored at the start; at the end too unless `%` follows.
            return !anchored_end || pos == t.len();
        }
        rest = &tail[..tail.len() - 1];
        last_seg = &tail[tail.len() - 1];
    }
    // Middle segments: leftmost match is always safe for `%`-separated segments.
    for seg in rest {
        match find_from(t, pos, seg) {
            Some(end) => pos = end,
            None => return false,
        }
    }
    if anchored_end {
        // The last segment must end exactly at the end of the text, starting at or after `pos`.
        let mut start = pos;
        while start <= t.len() {
            if let Some(n) = match_at(&t[start..], last_seg)
                && start + n == t.len()
            {
                return true;
            }
            if start == t.len() {
                break;
            }
            start += char_len(t[start]);
        }
        false
    } else {
        find_from(t, pos, last_seg).is_some()
    }
}

/// Leftmost match of `seg` starting at a character boundary at or after `pos`;
/// returns where the match ends.
fn find_from(t: &[u8], mut pos: usize, seg: &[Elem]) -> Option<usize> {
    loop {
        if let Some(n) = match_at(&t[pos..], seg) {
            return Some(pos + n);
        }
        if pos >= t.len() {
            return None;
        }
        pos += char_len(t[pos]);
        if pos > t.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LikePattern;

    fn like(p: &str, t: &str) -> bool {
        LikePattern::new(p, false).matches(t)
    }

    fn ilike(p: &str, t: &str) -> bool {
        LikePattern::new(p, true).matches(t)
    }

    #[test]
    fn wildcards() {
        assert!(like("res%", "res_net"));
        assert!(!like("res%", "Res_net"));
        assert!(like("%net%", "res_net"));
        assert!(like("%_%", "a"));
        assert!(!like("%_%", ""));
        assert!(like("_es%", "res"));
        assert!(like("a_b", "a_b"));
        assert!(like("a_b", "axb"));
        assert!(!like("a_b", "ab"));
        assert!(like("%", ""));
        assert!(like("", ""));
        assert!(!like("", "a"));
        assert!(like("a%b%c", "aXbYc"));
        assert!(like("a%b%c", "abc"));
        assert!(!like("a%b%c", "acb"));
        assert!(like("%a_c", "xxabcabc"));
        assert!(like("a%%c", "ac"));
        assert!(like("_%_", "ab"));
        assert!(!like("_%_", "a"));
    }

    #[test]
    fn underscore_is_one_character() {
        assert!(like("_", "é"));
        assert!(like("__", "名前"));
        assert!(!like("_", "名前"));
        assert!(like("%前", "名前"));
        assert!(like("名_", "名前"));
    }

    #[test]
    fn backslash_is_ordinary() {
        assert!(like("%\\%%", "a\\b"));
        assert!(!like("%\\%%", "100%"));
        assert!(like("a\\_b", "a\\xb"));
    }

    #[test]
    fn ilike_folds_ascii_only() {
        assert!(ilike("FRAUD%", "fraud-ops"));
        assert!(ilike("%ED", "finished"));
        assert!(!ilike("é", "É"));
        assert!(ilike("carol", "Carol"));
        assert!(!like("carol", "Carol"));
    }
}
