#!/usr/bin/env bash
# Per-call cost of one log_metric through C, the Python package, MLflow on the
# runstore plugin and MLflow's SQLite store: see benches/per_call.py.
#   benches/per_call.sh [--calls N]
# Uses target/test-venv (made by .ci/run: mlflow, pandas, pyarrow and the runstore
# wheel) and the release build of the C API; builds both when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/test-venv"
(cd "$root" && cargo build --release --quiet --workspace --all-targets)
if ! "$venv/bin/python" -c 'import runstore, mlflow' >/dev/null 2>&1; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/tests/python/requirements.txt"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root/python"
fi
cd "$root"
exec "$venv/bin/python" "$root/benches/per_call.py" "$@"
