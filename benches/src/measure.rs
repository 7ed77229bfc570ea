//! Small measuring helpers: timing, medians, peak RSS, directory sizes.
//!
//! ```
//! use std::time::Duration;
//! use runstore_bench::measure::median;
//!
//! let d = |ms| Duration::from_millis(ms);
//! assert_eq!(median(&[d(5), d(1), d(3)]), Some(d(3)));
//! assert_eq!(median(&[]), None);
//! ```

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `f` once, returning its result and how long it took.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// The median of `samples` (the lower middle one for an even count).
pub fn median(samples: &[Duration]) -> Option<Duration> {
    let mut s = samples.to_vec();
    s.sort_unstable();
    s.get(s.len().saturating_sub(1) / 2).copied()
}

/// A duration in milliseconds, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// This process's peak resident set size in KiB (`VmHWM` of
/// `/proc/self/status`), or `None` where that is not available.
pub fn peak_rss_kib() -> Option<u64> {
    status_field_kib(Path::new("/proc/self/status"), "VmHWM:")
}

/// A `… kB` field of a `/proc/<pid>/status` file, in KiB.
pub fn status_field_kib(path: &Path, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// Total size in bytes of the regular files under `dir` (recursively).
pub fn dir_size(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += dir_size(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_count_is_lower_middle() {
        let d = Duration::from_millis;
        assert_eq!(median(&[d(4), d(1), d(3), d(2)]), Some(d(2)));
    }

    #[test]
    fn dir_size_counts_nested_files() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("runstore-bench-size-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub"))?;
        std::fs::write(dir.join("a"), [0u8; 10])?;
        std::fs::write(dir.join("sub").join("b"), [0u8; 5])?;
        let size = dir_size(&dir);
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(size?, 15);
        Ok(())
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_kib().is_some_and(|kib| kib > 0));
        }
    }
}
