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
use std::sync::Arc;

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
    Ok(map_releasable(path)?.bytes)
}

/// A mapped file whose resident pages can be handed back ([`Mapped::release`]).
#[derive(Clone)]
pub(crate) struct Mapped {
    /// The file's bytes.
    pub bytes: Bytes,
    map: Option<Arc<memmap2::Mmap>>,
}

/// Owns the map behind a [`Bytes`].
struct SharedMap(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Mapped {
    /// Drops the pages this process has faulted in from its page tables:
    /// they stop counting in its resident set (the kernel keeps them in the
    /// page cache), and a later read faults the same bytes back in. A bulk
    /// reader calls it after each pass over a file much larger than memory.
    pub(crate) fn release(&self) {
        if let Some(map) = &self.map {
            // SAFETY: the map is a read-only, shared mapping of an immutable
            // file (see the module docs). MADV_DONTNEED on such a mapping
            // only discards page-table entries: nothing was written through
            // it, so nothing is lost, and every later access reads the same
            // file contents back. Slices of `bytes` stay valid (the mapping
            // itself is untouched).
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }
}

/// [`map_file`], keeping a handle to release the pages with.
pub(crate) fn map_releasable(path: &Path) -> Result<Mapped> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Ok(Mapped {
            bytes: Bytes::new(),
            map: None,
        });
    }
    // SAFETY: the file is an immutable segment: it was fully written and fsynced
    // under a temporary name before being renamed to `path`, and the engine
    // never writes to or truncates a file after the rename (it only unlinks
    // it, which keeps the mapped pages alive). So the mapped bytes do not
    // change for the lifetime of the map, which is what `Mmap::map` requires.
    // The map is read-only, and `Bytes::from_owner` keeps it alive for as long
    // as any slice of it is.
    let map = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(|e| Error::io(path, e))?;
    let map = Arc::new(map);
    Ok(Mapped {
        bytes: Bytes::from_owner(SharedMap(map.clone())),
        map: Some(map),
    })
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
    fn released_pages_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mapped = map_releasable(&path).unwrap();
        assert_eq!(&mapped.bytes[..], &data[..]);
        mapped.release();
        assert_eq!(&mapped.bytes[..], &data[..]);
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
