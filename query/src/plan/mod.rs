//! From a parsed search to a DataFusion logical plan over the index.
//!
//! ```text
//! Projection: _row, <sort values>
//!   Limit: fetch = max_results + 1
//!     Sort: <group, value>… , start_time DESC, run_id ASC
//!       Filter: <filter> AND <view> AND <experiments> [AND <after cursor>]
//!         TableScan: runs          (filters pushed down, evaluated by the index)
//! ```
//! Dataset conditions become `_row IN (SELECT _run_row FROM inputs WHERE …)`,
//! which DataFusion turns into semi joins.

pub mod columns;
pub mod compile;
pub mod order;
pub mod pushdown;
pub mod tables;
