//! Q10's parent: the run with most children in a JSON Lines workload file.
//!
//! A run's parent is its `parent_run_id` field or, failing that, its tag
//! `mlflow.parentRunId`. Lines are scanned for those keys rather than parsed
//! as JSON, so a multi-gigabyte file takes seconds; ties go to the larger id,
//! as `gen_workload.py` breaks them.
//!
//! ```
//! use runstore_bench::parents::top_parent;
//!
//! let file = concat!(
//!     r#"{"experiment":"e","run_id":"aa","parent_run_id":null}"#, "\n",
//!     r#"{"experiment":"e","parent_run_id":"aa"}"#, "\n",
//!     r#"{"experiment":"e","tags":{"mlflow.parentRunId": "bb"}}"#, "\n",
//!     r#"{"experiment":"e","parent_run_id": "aa"}"#, "\n",
//! );
//! assert_eq!(top_parent(file.as_bytes())?, Some(("aa".to_owned(), 2)));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashMap;
use std::io::{self, BufRead};

use memchr::memmem;

/// The parent with most children in the JSON Lines `input`, with their count;
/// `None` when no run has a parent.
pub fn top_parent(mut input: impl BufRead) -> io::Result<Option<(String, u64)>> {
    let field = memmem::Finder::new(b"\"parent_run_id\"");
    let tag = memmem::Finder::new(b"\"mlflow.parentRunId\"");
    let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let parent = string_after(&line, &field).or_else(|| string_after(&line, &tag));
        if let Some(p) = parent {
            *counts.entry(p.to_vec()).or_default() += 1;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(id, n)| (n, id))
        .max()
        .map(|(n, id)| (String::from_utf8_lossy(&id).into_owned(), n)))
}

/// The string value of the first `"key": "value"` pair in a JSON `line`
/// (found by scanning, not parsing), if it is a string without escapes.
///
/// ```
/// use runstore_bench::parents::string_field;
///
/// let line = br#"{"experiment":"e","run_id": "00ff","parent_run_id":null}"#;
/// assert_eq!(string_field(line, "run_id"), Some(&b"00ff"[..]));
/// assert_eq!(string_field(line, "parent_run_id"), None);
/// ```
pub fn string_field<'a>(line: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let quoted = format!("\"{key}\"");
    string_after(line, &memmem::Finder::new(quoted.as_bytes()))
}

/// The JSON string value after the first occurrence of `key` (a quoted key
/// followed by `:`), if it is a string (not `null`) without escapes.
fn string_after<'a>(line: &'a [u8], key: &memmem::Finder<'_>) -> Option<&'a [u8]> {
    let at = key.find(line)? + key.needle().len();
    let rest = skip_space(&line[at..]);
    let rest = skip_space(rest.strip_prefix(b":")?);
    let rest = rest.strip_prefix(b"\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    (rest[end] == b'"').then_some(&rest[..end])
}

fn skip_space(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_larger_id() -> io::Result<()> {
        let file = "{\"parent_run_id\":\"aa\"}\n{\"parent_run_id\":\"bb\"}\n";
        assert_eq!(top_parent(file.as_bytes())?, Some(("bb".to_owned(), 1)));
        Ok(())
    }

    #[test]
    fn no_parents_is_none() -> io::Result<()> {
        assert_eq!(top_parent(&b"{\"parent_run_id\":null}\n"[..])?, None);
        assert_eq!(top_parent(&b""[..])?, None);
        Ok(())
    }

    #[test]
    fn the_field_wins_over_the_tag() -> io::Result<()> {
        let file = "{\"parent_run_id\":\"aa\",\"tags\":{\"mlflow.parentRunId\":\"aa\"}}\n";
        assert_eq!(top_parent(file.as_bytes())?, Some(("aa".to_owned(), 1)));
        Ok(())
    }
}
