#!/usr/bin/env bash
# Figures of the analysis end point: Parquet export, SQL over the live store,
# and compare.
#
#   benches/analysis.sh [N]     N runs of the reference workload (default 100000)
#
# 1. Generates (cached) and ingests the reference workload of N runs
#    (10 metrics x 10 steps each, so 100 points a run), then times
#    `runstore export` of all of it under GNU time: wall time, points/s and
#    peak RSS, and a second export into the same directory (nothing changed).
# 2. Times the three `runstore sql --help` examples on that store, with the
#    workload's keys (m00 accuracy-like, m01 loss-like, p02 optimizer, p00 lr).
# 3. On a second store of 10,000 runs with one metric ("loss") of 1,000 steps
#    (spikes every 97 steps), times `runstore compare --metric loss
#    --max-points 200` over all 10,000 runs.
#
# Environment: RUNSTORE_BENCH_DIR (default target/bench-analysis), RUNSTORE_BENCH_REPS (3).
set -euo pipefail

n="${1:-100000}"
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: benches/analysis.sh [N]" >&2
    exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="${RUNSTORE_BENCH_DIR:-$target/bench-analysis}"
reps="${RUNSTORE_BENCH_REPS:-3}"
bin="$target/release/runstore"
mkdir -p "$work"

echo "== building (the same feature set as the test build: no second DataFusion build)" >&2
(cd "$root" && cargo build --release --quiet --workspace --all-targets)

store() { # store NAME RUNS STEPS -> path of an ingested store
    local name="$1" runs="$2" steps="$3"
    local w="$work/$name.jsonl" db="$work/$name.store"
    if [[ ! -s "$w" ]]; then
        echo "== generating $runs runs x $steps steps" >&2
        python3 "$root/benches/gen_workload.py" --runs "$runs" --steps "$steps" --out "$w.tmp" >&2
        mv "$w.tmp" "$w"
    fi
    if [[ ! -d "$db" ]]; then
        echo "== ingesting $w" >&2
        "$bin" --db "$db.tmp" ingest "$w" >&2
        mv "$db.tmp" "$db"
    fi
    echo "$db"
}

timed() { # timed LABEL CMD... : prints "LABEL  wall s  peak RSS MiB"
    local label="$1"; shift
    local log="$work/time.log"
    /usr/bin/time -f '%e %M' -o "$log" "$@" > "$work/out.txt"
    read -r wall kib < "$log"
    printf '| %s | %s s | %d MiB |\n' "$label" "$wall" "$((kib / 1024))"
}

db="$(store "workload-$n" "$n" 10)"
out="$work/export-$n"
rm -rf "$out"
echo
echo "### $n runs ($(du -sh "$db" | cut -f1) store)"
echo
echo "| what | wall | peak RSS |"
echo "| --- | --- | --- |"
timed "export (all files, first time)" "$bin" --db "$db" export "$out" --format json
points=$(python3 -c "import json,sys; print(json.load(open('$work/out.txt'))['points'])")
timed "export again (unchanged: all kept)" "$bin" --db "$db" export "$out" --format json
timed "export --experiment exp-03" "$bin" --db "$db" export "$out-exp03" --experiment exp-03 --format json
best='SELECT experiment, run_id, "metrics.m00" AS accuracy FROM (SELECT experiment, run_id, "metrics.m00", ROW_NUMBER() OVER (PARTITION BY experiment ORDER BY "metrics.m00" DESC, run_id) AS rn FROM runs WHERE "metrics.m00" IS NOT NULL) t WHERE rn = 1 ORDER BY experiment'
mean="SELECT m.step, AVG(m.value) AS mean_loss, COUNT(*) AS n FROM metrics m JOIN params p ON m.run_id = p.run_id WHERE m.key = 'm01' AND p.key = 'p02' AND p.value = 'adam' GROUP BY m.step ORDER BY m.step"
join="SELECT p.value AS lr, MIN(m.value) AS best_loss, COUNT(DISTINCT m.run_id) AS runs FROM metrics m JOIN params p ON p.run_id = m.run_id AND p.key = 'p00' WHERE m.key = 'm01' GROUP BY p.value ORDER BY p.value"
for i in $(seq "$reps"); do
    timed "sql: best run per experiment (rep $i)" "$bin" --db "$db" sql --format json "$best"
    timed "sql: mean loss per step for p02 = adam (rep $i)" "$bin" --db "$db" sql --format json "$mean"
    timed "sql: best loss by p00 (join) (rep $i)" "$bin" --db "$db" sql --format json "$join"
done
echo
echo "export: $points metric points; files:"
du -b "$out"/*.parquet | awk '{printf "  %s %d bytes\n", $2, $1}'

cw="$work/compare-10000x1000.jsonl"
cdb="$work/compare-10000x1000.store"
if [[ ! -d "$cdb" ]]; then
    echo "== generating and ingesting 10,000 runs x 1,000 steps" >&2
    python3 - "$cw" <<'PY'
import json, math, sys
with open(sys.argv[1], "w") as f:
    for i in range(10_000):
        pts = [[s, (5.0 if s % 97 == 0 else 1.0) * math.exp(-s / 300) * (1 + 0.1 * math.sin(i + s)),
                1_700_000_000_000 + i * 10_000_000 + s * 1000] for s in range(1000)]
        f.write(json.dumps({"experiment": f"sweep-{i % 4}", "run_id": f"{i:032x}",
                            "run_name": f"trial-{i}", "params": {"lr": str(10 ** -(1 + i % 4))},
                            "metrics": {"loss": pts}}) + "\n")
PY
    "$bin" --db "$cdb.tmp" ingest "$cw" >&2
    mv "$cdb.tmp" "$cdb"
fi
echo
echo "### compare: 10,000 runs x 1,000 points of loss -> 200 points a run"
echo
echo "| what | wall | peak RSS |"
echo "| --- | --- | --- |"
for i in $(seq "$reps"); do
    timed "compare --metric loss --max-points 200 --format json (rep $i)" \
        "$bin" --db "$cdb" compare --metric loss --max-points 200 --format json
done
python3 - "$work/out.txt" <<'PY'
import json, sys  # the last compare's answer
doc = json.load(open(sys.argv[1]))
runs = doc["runs"]
print(f"\n{len(runs)} curves, {sum(len(r['points']) for r in runs)} points out of "
      f"{sum(r['total_points'] for r in runs)}")
PY
