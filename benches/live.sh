#!/usr/bin/env bash
# The live-logging benchmark: what training loops, sweeps of trial processes
# and long-lived trackers do to a store.
#
#   benches/live.sh [N]      on a store of N reference-workload runs (default 100000)
#
# Prints: single-point log_metric p50/p99 at 1, 8 and 32 threads; 8 processes
# x 2000 steps x 5 metrics; one JSON Lines record a call (rs_ingest_jsonl's
# path) from 1 and 4 processes; buffered calls/s; a 1000-run page read at
# 10,000 runs, in-process and as a `runstore search` process; and, with
# SOAK_SECS set (600 for the 10-minute soak), the soak curve. MLflow's own
# figures on SQLite: benches/mlflow_baseline.sh.
set -euo pipefail
n="${1:-100000}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="${RUNSTORE_BENCH_DIR:-$target/bench-live}"
mkdir -p "$work"
(cd "$root" && cargo build --release --quiet --workspace --all-targets)
live="$target/release/runstore-live"
fresh() { rm -rf "$work/$1"; cp -r "$work/base-$n" "$work/$1"; }
if [[ ! -d "$work/base-$n" ]]; then "$live" prepare "$work/base-$n" "$n"; fi
if [[ ! -d "$work/base-10000" ]]; then "$live" prepare "$work/base-10000" 10000; fi
fresh t; "$live" latency "$work/t" 2000
fresh t; "$live" processes "$work/t" 8 2000
fresh t; "$live" jsonl "$work/t" 2000 1
fresh t; "$live" jsonl "$work/t" 1000 4
fresh t; "$live" buffered "$work/t" 2000000
"$live" page "$work/base-10000" 1000
# The same page as a whole `runstore search` process (start-up, open, search,
# JSON to a pipe), when hyperfine is installed (Debian: apt-get install hyperfine).
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 5 --runs 60 \
    "$target/release/runstore --db $work/base-10000 search --max-results 1000 --format json"
fi
if [[ -n "${SOAK_SECS:-}" ]]; then fresh soak; "$live" soak "$work/soak" "$SOAK_SECS"; fi
rm -rf "$work/t" "$work/soak"
