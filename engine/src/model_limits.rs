//! MLflow's rules for registry names, aliases, versions and tags, and for
//! logged-model names — checked before anything is stored, with MLflow's
//! messages (`mlflow/utils/validation.py`).
//!
//! Lengths count characters, as Python's `len` does.

use crate::error::{Error, Result};

/// Longest registered-model or model-version tag key.
pub const MAX_MODEL_REGISTRY_TAG_KEY_LENGTH: usize = 250;
/// Longest registered-model or model-version tag value.
pub const MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH: usize = 100_000;
/// Longest alias.
pub const MAX_REGISTERED_MODEL_ALIAS_LENGTH: usize = 255;
/// The tag MLflow's prompt registry marks prompts with (value `true`).
pub const IS_PROMPT_TAG_KEY: &str = "mlflow.prompt.is_prompt";
/// The reserved alias that always means the highest live version.
pub const ALIAS_LATEST: &str = "latest";

/// MLflow's `missing_value`.
fn missing_value(path: &str) -> Error {
    Error::InvalidInput(format!("Missing value for required parameter '{path}'."))
}

/// MLflow's `invalid_value`: the value printed as JSON.
fn invalid_value(path: &str, value: &str, message: &str) -> Error {
    Error::InvalidInput(format!(
        "Invalid value {} for parameter '{path}' supplied: {message}",
        json_string(value)
    ))
}

/// MLflow's `exceeds_maximum_length`.
fn check_length(path: &str, value: &str, limit: usize) -> Result<()> {
    if value.len() > limit && value.chars().count() > limit {
        return Err(Error::InvalidInput(format!(
            "'{path}' exceeds the maximum length of {limit} characters"
        )));
    }
    Ok(())
}

/// Python's `str.strip()` emptiness: only whitespace (or nothing).
fn is_blank(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}'))
}

/// `json.dumps(value)` of a string (ASCII only, as Python prints it).
fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Python's `posixpath.normpath`.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let initial = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        if part.is_empty() || part == "." {
            continue;
        }
        if part != ".." || (initial == 0 && parts.is_empty()) || parts.last() == Some(&"..") {
            parts.push(part);
        } else if !parts.is_empty() {
            parts.pop();
        }
    }
    let joined = parts.join("/");
    let out = format!("{}{joined}", "/".repeat(initial));
    if out.is_empty() { ".".into() } else { out }
}

/// MLflow's `path_not_unique`: the name, read as a path, would resolve to
/// another name.
fn path_not_unique(name: &str) -> bool {
    let norm = normpath(name);
    norm != name || norm == "." || norm.starts_with("..") || norm.starts_with('/')
}

fn bad_path_message(name: &str) -> String {
    format!(
        "Names may be treated as files in certain cases, and must not resolve to other names \
         when treated as such. This name would resolve to '{}'",
        normpath(name)
    )
}

/// MLflow's `_validate_model_name`: a registered model's name.
pub fn check_model_name(name: &str) -> Result<()> {
    if is_blank(name) {
        return Err(missing_value("name"));
    }
    if name.contains(['/', ':']) {
        return Err(Error::InvalidInput(format!(
            "Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )));
    }
    if path_not_unique(name) {
        return Err(invalid_value("name", name, &bad_path_message(name)));
    }
    Ok(())
}

/// MLflow's `_validate_model_renaming`: the new name of a rename.
pub fn check_model_new_name(new_name: &str) -> Result<()> {
    if is_blank(new_name) {
        return Err(missing_value("new_name"));
    }
    check_model_name(new_name)
}

/// MLflow's `_validate_tag_name` (registry tags, with path `key`).
pub fn check_tag_name(key: &str) -> Result<()> {
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':');
    if !key.chars().all(allowed) {
        return Err(invalid_value(
            "key",
            key,
            "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), \
             spaces ( ), colon(:) and slashes (/).",
        ));
    }
    if path_not_unique(key) {
        return Err(invalid_value("key", key, &bad_path_message(key)));
    }
    Ok(())
}

/// MLflow's `_validate_registered_model_tag` and `_validate_model_version_tag`.
pub fn check_registry_tag(key: &str, value: &str) -> Result<()> {
    check_tag_name(key)?;
    check_length("key", key, MAX_MODEL_REGISTRY_TAG_KEY_LENGTH)?;
    check_length("value", value, MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH)
}

/// MLflow's `_validate_model_version`: a version number given as text
/// (Python's `int()`: surrounding whitespace, a sign and `_` between digits
/// allowed). Returns the number; whether such a version exists is another
/// question (`0` and negatives never do).
pub fn parse_model_version(version: &str) -> Result<i64> {
    let not_integer = || {
        Error::InvalidInput(format!(
            "Parameter 'version' must be an integer, got '{version}'."
        ))
    };
    let t = version.trim_matches(|c: char| c.is_whitespace());
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(not_integer());
    }
    let clean: String = digits.chars().filter(char::is_ascii_digit).collect();
    // Python's int() has no upper bound; a number beyond i64 names no version.
    let magnitude = clean.parse::<i64>().unwrap_or(i64::MAX);
    Ok(if negative { -magnitude } else { magnitude })
}

/// MLflow's `_validate_model_alias_name`.
pub fn check_alias(alias: &str) -> Result<()> {
    if alias.is_empty() {
        return Err(Error::InvalidInput(
            "Registered model alias name cannot be empty.".into(),
        ));
    }
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::InvalidInput(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores \
             (_), and dashes (-)."
        )));
    }
    check_length(
        "Registered model alias name",
        alias,
        MAX_REGISTERED_MODEL_ALIAS_LENGTH,
    )
}

/// MLflow's `_validate_model_alias_name_reserved`: `latest` (any case) and
/// `v<digits>` name versions, not aliases.
pub fn check_alias_not_reserved(alias: &str) -> Result<()> {
    if alias.to_lowercase() == ALIAS_LATEST {
        return Err(Error::InvalidInput(
            "'latest' alias name (case insensitive) is reserved.".into(),
        ));
    }
    let mut chars = alias.chars();
    if matches!(chars.next(), Some('v' | 'V')) {
        let rest = chars.as_str();
        if !rest.is_empty() && rest.chars().all(|c| c.is_numeric()) {
            return Err(Error::InvalidInput(format!(
                "Version alias name '{alias}' is reserved."
            )));
        }
    }
    Ok(())
}

/// MLflow's `_validate_logged_model_name`: a logged model's name, when given.
pub fn check_logged_model_name(name: &str) -> Result<()> {
    const BAD: [char; 6] = ['/', ':', '.', '%', '"', '\''];
    if name.is_empty() || name.contains(BAD) {
        return Err(Error::InvalidInput(format!(
            "Invalid model name ('{name}') provided. Model name must be a non-empty string and \
             cannot contain the following characters: ('/', ':', '.', '%', '\"', \"'\")"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normpath_matches_python() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("a/./b", "a/b"),
            ("a//b/", "a/b"),
            ("/a/../..", "/"),
            ("//a", "//a"),
            ("///a", "/a"),
            ("../a", "../a"),
            ("a/../../b", "../b"),
            ("..a", "..a"),
        ] {
            assert_eq!(normpath(input), want, "{input}");
        }
    }

    #[test]
    fn model_names() {
        assert!(check_model_name("my model-1.0").is_ok());
        let msg = |n: &str| check_model_name(n).unwrap_err().to_string();
        assert_eq!(msg(""), "Missing value for required parameter 'name'.");
        assert_eq!(msg("  "), "Missing value for required parameter 'name'.");
        assert_eq!(
            msg("a/b"),
            "Invalid model name 'a/b'. Names cannot contain '/' or ':'."
        );
        assert!(msg("..x").starts_with("Invalid value \"..x\" for parameter 'name' supplied"));
        assert!(msg(".").contains("would resolve to '.'"));
        assert_eq!(
            check_model_new_name("").unwrap_err().to_string(),
            "Missing value for required parameter 'new_name'."
        );
    }

    #[test]
    fn versions_parse_like_python_int() {
        assert_eq!(parse_model_version(" 3 ").unwrap(), 3);
        assert_eq!(parse_model_version("+1_0").unwrap(), 10);
        assert_eq!(parse_model_version("-2").unwrap(), -2);
        for bad in ["", "1.0", "a", "1__0", "_1", "0x1", "- 1"] {
            assert_eq!(
                parse_model_version(bad).unwrap_err().to_string(),
                format!("Parameter 'version' must be an integer, got '{bad}'."),
            );
        }
    }

    #[test]
    fn aliases() {
        assert!(check_alias("champion_2-b").is_ok());
        assert!(check_alias("名前").is_ok());
        assert!(check_alias("").is_err());
        assert!(check_alias("a.b").is_err());
        assert!(check_alias(&"a".repeat(256)).is_err());
        assert!(check_alias_not_reserved("Latest").is_err());
        assert!(check_alias_not_reserved("v12").is_err());
        assert!(check_alias_not_reserved("V1").is_err());
        assert!(check_alias_not_reserved("v").is_ok());
        assert!(check_alias_not_reserved("v1a").is_ok());
    }

    #[test]
    fn tags_and_logged_model_names() {
        assert!(check_registry_tag("a/b c:d", "v").is_ok());
        assert!(check_registry_tag("", "v").is_err());
        assert!(check_registry_tag("a//b", "v").is_err());
        assert!(check_registry_tag("a$", "v").is_err());
        assert_eq!(
            check_registry_tag("k", &"v".repeat(100_001))
                .unwrap_err()
                .to_string(),
            "'value' exceeds the maximum length of 100000 characters"
        );
        assert!(check_logged_model_name("model").is_ok());
        assert!(check_logged_model_name("a.b").is_err());
        assert!(check_logged_model_name("").is_err());
        assert_eq!(json_string("é\"\n"), "\"\\u00e9\\\"\\n\"");
    }
}
