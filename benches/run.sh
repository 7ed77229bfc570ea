#!/usr/bin/env bash
# The end-to-end benchmark of runstore on the reference workload.
#
#   benches/run.sh [N]        N runs (default 100000)
#
# Builds the release binaries, generates the workload with
# benches/gen_workload.py (N runs x 10 metrics x 10 steps, plus a
# 100,000-point history on run 0; cached per N), then runs `runstore-e2e`,
# which ingests it with `target/release/runstore ingest` and prints one
# markdown table of every figure (also saved next to the workload).
#
# Environment:
#   RUNSTORE_SHARED     a shared/ folder whose bench/gen_workload.py to use instead
#   RUNSTORE_BENCH_DIR  where the workload, store and results go (default: target/bench-e2e)
#   RUNSTORE_BENCH_REPS repetitions per timed figure (default 5)
set -euo pipefail

n="${1:-100000}"
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: benches/run.sh [N]   (N = number of runs, a positive integer)" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gen="${RUNSTORE_SHARED:+$RUNSTORE_SHARED/bench/gen_workload.py}"
gen="${gen:-$root/benches/gen_workload.py}"
if [[ ! -f "$gen" ]]; then
    echo "error: no $gen" >&2
    exit 2
fi
target="${CARGO_TARGET_DIR:-$root/target}"
work="${RUNSTORE_BENCH_DIR:-$target/bench-e2e}"
reps="${RUNSTORE_BENCH_REPS:-5}"
mkdir -p "$work"
started=$(date +%s)

echo "== building release binaries" >&2
(cd "$root" && cargo build --release --quiet --workspace --all-targets)

workload="$work/workload-$n.jsonl"
if [[ -s "$workload" ]]; then
    echo "== using cached workload $workload" >&2
else
    echo "== generating $n runs into $workload" >&2
    python3 "$gen" --runs "$n" --steps 10 --long-run-steps 100000 --out "$workload.tmp" >&2
    mv "$workload.tmp" "$workload"
fi

results="$work/results-$n.md"
echo "== measuring (store in $work/store-$n)" >&2
"$target/release/runstore-e2e" run \
    --runstore "$target/release/runstore" \
    --workload "$workload" \
    --db "$work/store-$n" \
    --reps "$reps" \
    --replace | tee "$results"

{
    echo
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "runstore $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo '+dirty'), $(date -u +%Y-%m-%d)"
} | tee -a "$results"
echo "== done in $(( $(date +%s) - started )) s; table saved to $results" >&2
