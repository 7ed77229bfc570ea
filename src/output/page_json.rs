//! The contract's search JSON written straight from a [`PageRuns`]: the same
//! bytes as [`super::write_runs`] writes for the same runs, without making a
//! [`crate::Run`] (or a `String`) per run.
//!
//! Numbers are formatted by serde_json's own formatter and any string that
//! needs escaping is escaped by serde_json, so the output cannot drift from
//! the serde path's; strings that need no escaping (nearly all) are copied.

use std::io::{self, Write};

use serde_json::ser::{CompactFormatter, Formatter};

use super::value_text;
use crate::engine::{PageRun, PageRuns};
use crate::error::{Error, Result};

/// Bytes gathered before they are written to the output.
const CHUNK: usize = 256 << 10;

/// Writes `runs` and `next_page_token` as the contract's search JSON (one
/// line, ending in a newline), exactly as [`super::write_runs`] does with
/// [`super::Format::Json`].
pub fn write_page_json(
    out: &mut dyn Write,
    runs: &PageRuns,
    next_page_token: Option<&str>,
) -> Result<()> {
    let io = |e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    };
    let mut buf = Vec::with_capacity(CHUNK + (16 << 10));
    buf.extend_from_slice(b"{\"runs\":[");
    for (i, run) in runs.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_run(&mut buf, &run).map_err(io)?;
        if buf.len() >= CHUNK {
            out.write_all(&buf).map_err(io)?;
            buf.clear();
        }
    }
    buf.extend_from_slice(b"],\"next_page_token\":");
    match next_page_token {
        Some(t) => string(&mut buf, t).map_err(io)?,
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b"}\n");
    out.write_all(&buf).map_err(io)
}

fn write_run(b: &mut Vec<u8>, r: &PageRun<'_>) -> io::Result<()> {
    b.extend_from_slice(b"{\"run_id\":\"");
    b.extend_from_slice(r.run_id().hex().as_str().as_bytes());
    b.extend_from_slice(b"\",\"run_name\":");
    string(b, r.run_name())?;
    b.extend_from_slice(b",\"experiment\":");
    string(b, r.experiment_name())?;
    b.extend_from_slice(b",\"experiment_id\":\"");
    CompactFormatter.write_u32(b, r.experiment_id().0)?;
    b.extend_from_slice(b"\",\"status\":\"");
    b.extend_from_slice(r.status().as_str().as_bytes());
    b.extend_from_slice(b"\",\"start_time\":");
    CompactFormatter.write_i64(b, r.start_time())?;
    b.extend_from_slice(b",\"end_time\":");
    match r.end_time() {
        Some(t) => CompactFormatter.write_i64(b, t)?,
        None => b.extend_from_slice(b"null"),
    }
    b.extend_from_slice(b",\"user\":");
    string(b, r.user())?;
    b.extend_from_slice(b",\"lifecycle_stage\":\"");
    b.extend_from_slice(r.lifecycle_stage().as_str().as_bytes());
    b.extend_from_slice(b"\",\"artifact_uri\":");
    let location = r.artifact_location();
    if needs_escape(location) {
        string(b, &r.artifact_uri())?;
    } else {
        b.push(b'"');
        b.extend_from_slice(location.as_bytes());
        b.push(b'/');
        b.extend_from_slice(r.run_id().hex().as_str().as_bytes());
        b.extend_from_slice(b"/artifacts\"");
    }
    b.extend_from_slice(b",\"params\":");
    text_map(b, r.params())?;
    b.extend_from_slice(b",\"metrics\":{");
    for (i, (key, point)) in r.metrics().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        string(b, key)?;
        b.push(b':');
        if point.value.is_finite() {
            CompactFormatter.write_f64(b, point.value)?;
        } else {
            string(b, &value_text(point.value))?;
        }
    }
    b.extend_from_slice(b"},\"tags\":");
    text_map(b, r.tags())?;
    b.extend_from_slice(b",\"inputs\":[");
    for (i, input) in r.inputs().iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(b"{\"name\":");
        string(b, &input.name)?;
        b.extend_from_slice(b",\"digest\":");
        string(b, &input.digest)?;
        b.extend_from_slice(b",\"source_type\":");
        string(b, &input.source_type)?;
        b.extend_from_slice(b",\"source\":");
        string(b, &input.source)?;
        b.extend_from_slice(b",\"context\":");
        match &input.context {
            Some(c) => string(b, c)?,
            None => b.extend_from_slice(b"null"),
        }
        b.push(b'}');
    }
    b.extend_from_slice(b"]}");
    Ok(())
}

fn text_map<'a>(
    b: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'a str, &'a str)>,
) -> io::Result<()> {
    b.push(b'{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            b.push(b',');
        }
        string(b, k)?;
        b.push(b':');
        string(b, v)?;
    }
    b.push(b'}');
    Ok(())
}

/// Whether serde_json would escape any byte of `s`: a quote, a backslash or
/// a control character below U+0020 (it writes everything else as is).
#[inline]
fn needs_escape(s: &str) -> bool {
    // No early exit: the loop vectorises, and texts are short.
    s.bytes().fold(false, |acc, c| {
        acc | (c < 0x20) | (c == b'"') | (c == b'\\')
    })
}

/// `s` as a JSON string, exactly as serde_json writes it.
#[inline]
fn string(b: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if needs_escape(s) {
        serde_json::to_writer(&mut *b, s).map_err(io::Error::other)
    } else {
        b.reserve(s.len() + 2);
        b.push(b'"');
        b.extend_from_slice(s.as_bytes());
        b.push(b'"');
        Ok(())
    }
}
