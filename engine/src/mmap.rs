//! Read-only memory maps of immutable files: the one module of the engine that
//! uses `unsafe`.
//!
//! Mapping a file is unsafe in Rust because the mapped bytes change (or the
//! process gets `SIGBUS`) if another process writes or truncates the file while
//! it is mapped. The engine only maps segment files, and a segment file is
//! immutable by construction: it is written under a temporary name, fsynced and
//! renamed into place, and from then on it is never written again; it is only
//! deleted (unlinked) after it has been merged away, which leaves existing maps
//! valid. The rest of the engine sees the map as a cheap, cloneable
//! [`Bytes`], never as the raw map.

#![allow(unsafe_code)]

use std::fs::File;
use std::path::Path;

use bytes::Bytes;

use crate::error::{Error, Result};

/// Maps the whole of `path` read-only.
///
/// A zero-length file cannot be mapped; it gives an empty [`Bytes`]. The map is
/// unmapped when the last clone of the returned `Bytes` is dropped.
///
/// The caller must only map files that nobody writes or truncates any more (see
/// the module docs); the engine's segment files are such files.
pub(crate) fn map_file(path: &Path) -> Result<Bytes> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: the file is an immutable segment: it was fully written and fsynced
    // under a temporary name before being renamed to `path`, and the engine
    // never writes to or truncates a file after the rename (it only unlinks
    // it, which keeps the mapped pages alive). So the mapped bytes do not
    // change for the lifetime of the map, which is what `Mmap::map` requires.
    // The map is read-only, and `Bytes::from_owner` keeps it alive for as long
    // as any slice of it is.
    let map = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(|e| Error::io(path, e))?;
    Ok(Bytes::from_owner(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello segment").unwrap();
        let bytes = map_file(&path).unwrap();
        assert_eq!(&bytes[..], b"hello segment");
        // Slices keep the map alive after the original handle is gone.
        let tail = bytes.slice(6..);
        drop(bytes);
        assert_eq!(&tail[..], b"segment");
    }

    #[test]
    fn zero_length_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        assert!(map_file(&path).unwrap().is_empty());
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = map_file(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }

    #[test]
    fn map_survives_unlink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 10_000]).unwrap();
        let bytes = map_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(bytes.iter().all(|&b| b == 7));
    }
}
