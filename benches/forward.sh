#!/usr/bin/env bash
# The forwarding benchmark: delivery to a real `mlflow server`, and what
# forwarding costs the writer.
#
#   benches/forward.sh [RUNS] [OUTAGE_SECS]     defaults: 1000 runs, 600 s
#
# Starts `python -m mlflow server` (SQLite backend, one worker) on a free port
# with the Python of the tests (RUNSTORE_TEST_PYTHON, else target/test-venv),
# then prints three tables (runstore-forward):
#   throughput  RUNS reference runs (100 points each) delivered from a backlog,
#               and one 100,000-point history: metric points/s;
#   overhead    single-point log_metric p50/p99 with forwarding off / on / on
#               with the server down;
#   outage      OUTAGE_SECS seconds of the reference workload's rate (one run
#               a second) with the server unreachable: outbox entries and bytes.
set -euo pipefail
runs="${1:-1000}"
secs="${2:-600}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="${RUNSTORE_BENCH_DIR:-$target/bench-forward}"
python="${RUNSTORE_TEST_PYTHON:-$target/test-venv/bin/python}"
rm -rf "$work"; mkdir -p "$work"
(cd "$root" && cargo build --release --quiet --workspace --all-targets)
bench="$target/release/runstore-forward"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
uri="http://127.0.0.1:$port"
MLFLOW_DISABLE_TELEMETRY=1 MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$python" -m mlflow server \
  --backend-store-uri "sqlite:///$work/mlflow.db" --default-artifact-root "$work/artifacts" \
  --host 127.0.0.1 --port "$port" --workers 1 >"$work/server.log" 2>&1 &
server=$!
trap 'kill -TERM -- "-$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  if "$python" -c "import urllib.request; urllib.request.urlopen('$uri/health')" 2>/dev/null; then break; fi
  sleep 1
done
echo "## forwarding to $uri ($("$python" -c 'import mlflow; print("mlflow", mlflow.__version__)'))"
echo
"$bench" throughput "$uri" "$work/t" "$runs"
echo
"$bench" overhead "$uri" "$work/o" 2000
echo
"$bench" outage "$work/u" "$secs"
