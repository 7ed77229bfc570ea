"""Reads everything an MLflow tracking server holds through the mlflow client and
prints it as one JSON document (for the forwarding tests to compare with the store).

    python mlflow_dump.py URI

{"experiments": {name: {"lifecycle_stage", "tags"}},
 "runs": [{"experiment", "run_id", "run_name", "user_id", "status", "start_time",
           "end_time", "lifecycle_stage", "params", "tags",
           "metrics": {key: [[step, value, timestamp], ...]},   # every point, sorted
           "inputs": [[name, digest, context or ""], ...]}]}

Values that JSON cannot hold are strings: "NaN", "Infinity", "-Infinity".
"""

import json
import math
import sys

from mlflow import MlflowClient
from mlflow.entities import ViewType


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def main():
    client = MlflowClient(tracking_uri=sys.argv[1])
    out = {"experiments": {}, "runs": []}
    for exp in client.search_experiments(view_type=ViewType.ALL):
        out["experiments"][exp.name] = {"lifecycle_stage": exp.lifecycle_stage, "tags": dict(exp.tags)}
        token = None
        while True:
            page = client.search_runs(
                [exp.experiment_id], run_view_type=ViewType.ALL, max_results=1000, page_token=token
            )
            for r in page:
                metrics = {}
                for key in r.data.metrics:
                    points = client.get_metric_history(r.info.run_id, key)
                    rows = [[m.step, number(m.value), m.timestamp] for m in points]
                    rows.sort(key=lambda p: (p[0], p[2], str(p[1])))
                    metrics[key] = rows
                inputs = []
                for d in r.inputs.dataset_inputs:
                    context = next((t.value for t in d.tags if t.key == "mlflow.data.context"), "")
                    inputs.append([d.dataset.name, d.dataset.digest, context])
                out["runs"].append(
                    {
                        "experiment": exp.name,
                        "run_id": r.info.run_id,
                        "run_name": r.info.run_name,
                        "user_id": r.info.user_id or "",
                        "status": r.info.status,
                        "start_time": r.info.start_time,
                        "end_time": r.info.end_time,
                        "lifecycle_stage": r.info.lifecycle_stage,
                        "params": dict(r.data.params),
                        "tags": dict(r.data.tags),
                        "metrics": metrics,
                        "inputs": sorted(inputs),
                    }
                )
            token = page.token
            if not token:
                break
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
