//! Metric-history segments: immutable, sorted, columnar Parquet files.
//!
//! A segment holds points of many series (one series = one metric key of one
//! run) as four non-null columns, `series UInt64, step Int64, timestamp Int64,
//! value Float64`, sorted by series and then by MLflow's point order
//! ([`point_order`](crate::metric::point_order)), with no two rows that are the
//! same point ([`same_point`](crate::metric::same_point)).
//!
//! * [`write_segment`] writes one from sorted, deduplicated columns
//!   (temporary name, fsync, rename, fsync of the directory).
//! * [`Segment`] is an open segment: the file is memory-mapped and the footer
//!   and page index are parsed once, so reading one series touches only the
//!   pages that can hold it.
//! * [`merge_segments`] merges segments (and staged points) into a new one in
//!   bounded memory, dropping duplicate points.
//!
//! The layout choices (encodings, compression, page size) and the figures they
//! were measured with are in [`format`](mod@format).

mod columns;
pub(crate) mod format;
mod merge;
mod reader;
mod writer;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;

pub(crate) use columns::PointColumns;
pub(crate) use merge::merge_segments;
pub(crate) use reader::Segment;
pub(crate) use writer::write_segment;

/// Size and series range of a segment, as recorded in the catalog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SegmentInfo {
    /// Number of points (rows).
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Smallest series id in the segment (0 when it is empty).
    pub min_series: u64,
    /// Largest series id in the segment (0 when it is empty).
    pub max_series: u64,
}
