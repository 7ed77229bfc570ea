//! TEMPORARY stand-in (replaced by the real read-only mapping module).
use crate::error::{Error, Result};
use std::path::Path;
pub(crate) fn map_file(path: &Path) -> Result<bytes::Bytes> {
    std::fs::read(path)
        .map(bytes::Bytes::from)
        .map_err(|e| Error::io(path, e))
}
