//! # runstore-bench
//!
//! The measuring kit of runstore: what the criterion benches (`benches/*.rs`)
//! and the end-to-end driver (`runstore-e2e`, run by `benches/run.sh`) share.
//!
//! * [`workload`]: run records shaped like the reference workload of
//!   `shared/bench/gen_workload.py`, generated in memory (no Python needed),
//!   for benches that build their own store;
//! * [`queries`]: the ten reference queries Q1–Q10 of `shared/bench/QUERIES.md`;
//! * [`measure`]: medians, peak RSS, on-disk sizes;
//! * [`parents`]: finding Q10's parent (the run with most children) in a
//!   workload file.
//!
//! Timing lives only in the benches and the driver; this library has no
//! clocks of its own beyond [`measure::time`].

pub mod measure;
pub mod parents;
pub mod queries;
pub mod workload;
