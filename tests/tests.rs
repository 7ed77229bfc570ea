//! runstore's integration tests: one binary, one module per topic.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

// Shared helpers: temporary stores, generated run records, running the CLI.
mod util;
// The Python (pyarrow, pandas, duckdb, mlflow and the runstore wheel) of the Python tests.
mod pyenv;

// Every field of a run record survives a write and a read; MLflow's rules.
mod roundtrip;
// Metric histories, including one of 1,000,000 points.
mod history;
// The `ingest` command: bad lines, stdin, re-ingest, the contract's output.
mod ingest_cli;
// A writer killed with SIGKILL at random moments never leaves a half-written run.
mod crash;
// Readers see whole runs while a writer ingests.
mod concurrency;
// Live logging: threads and processes writing one store, buffered writes,
// search inside an async runtime, a killed live writer, a short soak.
mod live;
// `runstore search`: formats, errors, page tokens, views, --extended.
mod search;
// The fast page path (`search_page`, `write_page_json`) against the owned one.
mod page_json;
// Every case of the MLflow-answered corpora gives MLflow's answer.
mod conformance;
// Logged models and the model registry: MLflow's SQL stores' outcomes, replayed.
mod registry_mlflow;
// `runstore export` read back by pyarrow, pandas and DuckDB with every value the
// records gave; `runstore sql` answers as DuckDB does over the exported files.
mod export_python;
// `runstore export`, `sql` and `compare`: every exported value read back, incremental
// re-export, failed exports, SQL answers and positioned errors, downsampling, charts.
mod analysis;
// The Python package's pytest suite: fluent API, run modes, MLflow plugin.
mod python_package;
// `runstore serve` under the real `mlflow` client: fluent API, artifacts, logged models,
// the registry, the conformance corpora, the web UI in Chromium, 8 clients under load.
mod server_mlflow;
// A real MLflow tracking server (python -m mlflow server) for the forwarding tests.
mod mlflow_server;
// Forwarding to that server: every write read back, an outage and a SIGKILL
// mid-delivery, refused writes parked, the `forward` commands.
mod forward;
