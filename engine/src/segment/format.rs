//! The segment file format: schema, Parquet writer settings and the format
//! version.
//!
//! A segment is a plain Parquet file (written by parquet 59, readable by
//! DataFusion 55) with the schema `series UInt64, step Int64, timestamp Int64,
//! value Float64`, all non-null, rows sorted by series, step, timestamp and
//! then MLflow's value order, and no duplicate points. Its key-value metadata
//! holds `runstore.segment = 1`; a reader refuses any other version.
//!
//! # Settings, and why
//!
//! Measured with `segment/bench.rs` on data shaped like the reference
//! workload (release build, 2-core machine shared with other builds, so
//! timings are medians under load; warm page cache):
//!
//! | setting | S=10 | S=100 | one 100k series |
//! |---|---|---|---|
//! | **chosen: zstd 6, 8,192-row pages, BSS value, delta ints** | **7.14** | **7.11** | **7.06** |
//! | zstd 1 / 3 / 9 / 15 | 7.24 / 7.19 / 7.12 / 7.06 | 7.17 / 7.14 / 7.11 / 7.04 | 7.08 / 7.06 / 7.06 / 7.04 |
//! | 4,096 / 16,384 / 20,000-row pages | 7.20 / 7.08 / 6.91 | 7.17 / 7.08 / 6.92 | 7.10 / 7.05 / 6.91 |
//! | `value` PLAIN | 7.65 | 7.63 | 7.56 |
//! | integers PLAIN | 7.38 | 7.13 | 9.09 |
//!
//! (bytes per point, whole file). Of the chosen 7.14 at S=10, `value` is 7.01
//! and `series + step + timestamp` together 0.11.
//!
//! * **No dictionary**, **DELTA_BINARY_PACKED** for `series`, `step` and
//!   `timestamp`: sorted series ids, consecutive steps and evenly spaced
//!   timestamps delta-encode to (almost) zero bits, and zstd removes most of
//!   what is left at series boundaries.
//! * **BYTE_STREAM_SPLIT** for `value`: it groups the sign/exponent bytes of
//!   all values, which zstd then compresses; the mantissa bytes of random
//!   doubles stay incompressible (about 6.75 bytes of entropy per Python
//!   `random()` double).
//! * **zstd level 6**: smaller than 3 (mostly on the integer columns) and,
//!   measured, *faster* to read (10-point read 63 µs vs 73 µs); it writes
//!   about 10 % slower than 3. Level 9 gains 0.02 byte/point for another 10 %;
//!   15 writes 5× slower.
//! * **8,192-row data pages**: a short series costs one page per column. A
//!   10-point read took 66 µs (4,096 rows: 55 µs but +0.06 byte/point;
//!   20,000 rows: 109 µs, because a 160 KiB value page must be decompressed,
//!   though its files are 0.2 byte/point smaller since zstd then splits a
//!   page into two blocks). A 100,000-point read takes ~0.9 ms with any of
//!   them.
//! * 1 Mi-row row groups: the writer buffers one row group (~7.5 MB encoded).
//! * **Page statistics and the page index** on every column, so a reader finds
//!   the pages of one series from the `series` column index, and DataFusion can
//!   prune pages on `step` or `timestamp` ranges.
//! * **Sorting columns** metadata: `series, step, timestamp` ascending. `value`
//!   is deliberately not declared: MLflow's value order (NaN as 0, -0.0 equal
//!   to 0.0) is not Parquet's, and a query engine trusting the declaration
//!   could skip a sort it needs.
//! * No embedded Arrow schema (`ARROW:schema`): the Parquet logical types map
//!   back to exactly this schema, and it keeps small files small.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::Result as ParquetResult;
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

/// Key-value metadata key that marks a file as a runstore segment.
pub(crate) const FORMAT_KEY: &str = "runstore.segment";
/// The segment format version this build writes and reads.
pub(crate) const FORMAT_VERSION: &str = "1";

/// Column names, in schema order.
pub(crate) const COLUMNS: [&str; 4] = ["series", "step", "timestamp", "value"];
/// Index of the `series` column (also its leaf index).
pub(crate) const SERIES: usize = 0;

/// The Arrow schema of every segment.
pub(crate) fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(COLUMNS[0], DataType::UInt64, false),
        Field::new(COLUMNS[1], DataType::Int64, false),
        Field::new(COLUMNS[2], DataType::Int64, false),
        Field::new(COLUMNS[3], DataType::Float64, false),
    ]))
}

/// Tunable writer settings. [`Default`] is what the engine uses; the other
/// values exist for the measurements in `segment/bench.rs`.
#[derive(Clone, Debug)]
pub(crate) struct SegmentOptions {
    /// zstd compression level (1–22).
    pub zstd_level: i32,
    /// Best-effort maximum rows per data page (enforced in steps of 1,024).
    pub page_rows: usize,
    /// Maximum rows per row group.
    pub row_group_rows: usize,
    /// Encoding of `value`: `BYTE_STREAM_SPLIT` or `PLAIN`.
    pub value_encoding: Encoding,
    /// Encoding of `series`, `step` and `timestamp`: `DELTA_BINARY_PACKED`
    /// or `PLAIN`.
    pub int_encoding: Encoding,
}

impl Default for SegmentOptions {
    /// The chosen settings; the alternatives measured are in the module docs.
    fn default() -> Self {
        SegmentOptions {
            zstd_level: 6,
            page_rows: 8192,
            row_group_rows: 1024 * 1024,
            value_encoding: Encoding::BYTE_STREAM_SPLIT,
            int_encoding: Encoding::DELTA_BINARY_PACKED,
        }
    }
}

impl SegmentOptions {
    /// The Parquet writer properties for these settings.
    pub(crate) fn writer_properties(&self) -> ParquetResult<WriterProperties> {
        let mut b = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(self.zstd_level)?))
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_data_page_row_count_limit(self.page_rows)
            .set_write_batch_size(self.page_rows.clamp(1, 1024))
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_sorting_columns(Some(
                (0..3)
                    .map(|column_idx| SortingColumn {
                        column_idx,
                        descending: false,
                        nulls_first: false,
                    })
                    .collect(),
            ))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                FORMAT_KEY.to_owned(),
                FORMAT_VERSION.to_owned(),
            )]))
            .set_created_by(format!("runstore-engine {}", env!("CARGO_PKG_VERSION")));
        for name in &COLUMNS[..3] {
            b = b.set_column_encoding(ColumnPath::from(*name), self.int_encoding);
        }
        b = b.set_column_encoding(ColumnPath::from(COLUMNS[3]), self.value_encoding);
        Ok(b.build())
    }
}
