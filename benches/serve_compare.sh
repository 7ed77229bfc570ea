#!/usr/bin/env bash
# `runstore serve` vs `mlflow server` (SQLite) through the same mlflow client, on the
# reference workload: see benches/serve_compare.py.
#   benches/serve_compare.sh [--runs N] [--calls N] [--only runstore|mlflow] [--json FILE]
# Uses target/test-venv (made by .ci/run: mlflow) and the release binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/test-venv"
(cd "$root" && cargo build --release --workspace --all-targets --quiet)
if ! "$venv/bin/python" -c 'import mlflow' >/dev/null 2>&1; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/tests/python/requirements.txt"
fi
exec "$venv/bin/python" "$root/benches/serve_compare.py" --runstore-bin "$root/target/release/runstore" "$@"
