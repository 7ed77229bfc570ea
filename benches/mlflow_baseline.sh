#!/usr/bin/env bash
# MLflow baseline: runs benches/mlflow_baseline.py (MLflow's SQL store doing single
# log_metric calls) in a venv with mlflow from PyPI. All arguments go to the script:
#   benches/mlflow_baseline.sh [--calls N] [--threads N] [--procs N] [--proc-steps N]
#                              [--prepopulate N] [--only single,threads,procs,fluent] [--json FILE]
# VENV (default /tmp/runstore-venv) is reused when it already has mlflow; PYTHON picks
# the interpreter that creates it (default python3.11, else python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VENV:-/tmp/runstore-venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if ! "$VENV/bin/python" -c 'import mlflow' >/dev/null 2>&1; then
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check mlflow
fi
export MLFLOW_DISABLE_TELEMETRY=1
exec "$VENV/bin/python" "$here/mlflow_baseline.py" "$@"
