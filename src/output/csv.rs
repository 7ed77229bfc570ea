//! CSV writing on top of the `csv` crate.

use std::io::Write;

use crate::error::{Error, Result};

/// Writes `header` and `rows` as CSV.
pub fn write(out: &mut dyn Write, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Io {
            path: "<stdout>".into(),
            source: io,
        },
        other => Error::Usage(format!("csv: {other:?}")),
    };
    w.write_record(header).map_err(err)?;
    for row in rows {
        w.write_record(row).map_err(err)?;
    }
    w.flush().map_err(|e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    })
}
