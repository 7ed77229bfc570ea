//! `runstore export`, `sql` and `compare` against the store they read: every
//! exported value read back with the parquet crate, incremental re-export,
//! a failed export leaving nothing half-written, SQL answers and errors,
//! compare's shape, downsampling and charts.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, AsArray, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use runstore::{MetricPoint, Store};
use serde_json::Value;

use crate::util::{record, run_id, runstore};

const RUNS: u64 = 30;

/// A store of `RUNS` runs in 3 experiments, created in an order unlike
/// their ids, with 2 metrics of 40 steps each, plus live-logged points
/// (staged, not yet in a segment) and one deleted run.
fn fixture(dir: &Path) -> Arc<Store> {
    let store = Store::open(dir).unwrap();
    let mut order: Vec<u64> = (0..RUNS).collect();
    order.reverse();
    order.rotate_left(7);
    let records = order.iter().map(|&i| record(i, 2, 40)).collect();
    let (applied, err) = store.upsert_runs(records).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(applied, RUNS as usize);
    for step in 40..45 {
        store
            .log_metric(
                run_id(3),
                "m0",
                MetricPoint {
                    step,
                    value: 0.5 + step as f64,
                    timestamp: 1_800_000_000_000 + step,
                },
            )
            .unwrap();
    }
    let nan = MetricPoint {
        step: 0,
        value: f64::NAN,
        timestamp: 1_800_000_000_000,
    };
    store.log_metric(run_id(4), "spiky", nan).unwrap();
    store.delete_run(run_id(5)).unwrap();
    store
}

fn read(path: &Path) -> RecordBatch {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = reader.schema().clone();
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
    concat_batches(&schema, &batches).unwrap()
}

fn strings(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let col = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    let col = arrow::compute::cast(col, &DataType::Utf8).unwrap();
    let s: &StringArray = col.as_string();
    (0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_owned()))
        .collect()
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn same_value(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn export_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let store = fixture(&db);
    let out = dir.path().join("out");
    let report = json(&runstore(
        &db,
        &["export", out.to_str().unwrap(), "--format", "json"],
    ));
    assert_eq!(
        report["runs"],
        RUNS - 1,
        "the deleted run is left out: {report}"
    );

    // runs.parquet: types, order, every attribute, param, tag and latest metric.
    let runs = read(&out.join("runs.parquet"));
    let schema = runs.schema();
    let ty = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    assert_eq!(ty("status"), dict);
    assert_eq!(ty("experiment"), dict);
    assert_eq!(ty("start_time"), utc);
    assert_eq!(ty("end_time"), utc);
    assert_eq!(ty("metrics.m0"), DataType::Float64);
    assert_eq!(ty("params.lr"), DataType::Utf8);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let first_param = names.iter().position(|n| n.starts_with("params.")).unwrap();
    assert_eq!(
        &names[..first_param][..3],
        ["run_id", "run_name", "experiment_id"]
    );
    let ids = strings(&runs, "run_id");
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "runs sorted by run_id");
    assert_eq!(ids.len() as u64, RUNS - 1);
    let starts = runs
        .column_by_name("start_time")
        .unwrap()
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .unwrap()
        .clone();
    for (row, id) in ids.iter().enumerate() {
        let run = store
            .get_run(id.as_deref().unwrap().parse().unwrap())
            .unwrap();
        assert_eq!(
            strings(&runs, "run_name")[row].as_deref(),
            Some(run.run_name.as_str())
        );
        assert_eq!(
            strings(&runs, "experiment")[row].as_deref(),
            Some(run.experiment_name.as_str())
        );
        assert_eq!(
            strings(&runs, "status")[row].as_deref(),
            Some(run.status.as_str())
        );
        assert_eq!(starts.value(row), run.start_time);
        for (k, v) in &run.params {
            assert_eq!(
                strings(&runs, &format!("params.{k}"))[row].as_ref(),
                Some(v)
            );
        }
        for (k, v) in &run.tags {
            assert_eq!(strings(&runs, &format!("tags.{k}"))[row].as_ref(), Some(v));
        }
        for (k, p) in &run.metrics {
            let col = runs.column_by_name(&format!("metrics.{k}")).unwrap();
            let col = col.as_any().downcast_ref::<Float64Array>().unwrap();
            assert!(same_value(col.value(row), p.value), "run {id:?} metric {k}");
        }
        if !run.metrics.contains_key("spiky") {
            assert!(runs.column_by_name("metrics.spiky").unwrap().is_null(row));
        }
    }

    // metrics.parquet: every point of every exported run, sorted.
    let metrics = read(&out.join("metrics.parquet"));
    assert_eq!(
        metrics
            .schema()
            .field_with_name("timestamp")
            .unwrap()
            .data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, None)
    );
    let m_ids = strings(&metrics, "run_id");
    let keys = strings(&metrics, "key");
    let steps = metrics
        .column_by_name("step")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int64Type>()
        .clone();
    let values = metrics
        .column_by_name("value")
        .unwrap()
        .as_primitive::<arrow::datatypes::Float64Type>()
        .clone();
    let ts = metrics
        .column_by_name("timestamp")
        .unwrap()
        .as_primitive::<arrow::datatypes::TimestampMillisecondType>()
        .clone();
    let mut got: BTreeMap<(String, String), Vec<MetricPoint>> = BTreeMap::new();
    for i in 0..metrics.num_rows() {
        let k = (m_ids[i].clone().unwrap(), keys[i].clone().unwrap());
        if i > 0 {
            let prev = (m_ids[i - 1].clone().unwrap(), keys[i - 1].clone().unwrap());
            assert!(
                prev < k || (prev == k && steps.value(i - 1) <= steps.value(i)),
                "row {i} out of order"
            );
        }
        got.entry(k).or_default().push(MetricPoint {
            step: steps.value(i),
            timestamp: ts.value(i),
            value: values.value(i),
        });
    }
    let mut expected_points = 0;
    for id in ids.iter().flatten() {
        let run = store.get_run(id.parse().unwrap()).unwrap();
        for k in run.metrics.keys() {
            let want = store.metric_history(run.run_id, k).unwrap();
            let have = got.get(&(id.clone(), k.clone())).unwrap();
            assert_eq!(have.len(), want.len(), "{id} {k}");
            for (a, b) in have.iter().zip(&want) {
                assert!(
                    a.step == b.step && a.timestamp == b.timestamp && same_value(a.value, b.value)
                );
            }
            expected_points += want.len();
        }
    }
    assert_eq!(metrics.num_rows(), expected_points);
    assert_eq!(report["points"], expected_points as u64);
    assert!(got.contains_key(&(run_id(3).to_string(), "m0".into())));
    assert_eq!(
        got[&(run_id(3).to_string(), "m0".into())].len(),
        45,
        "staged points exported"
    );

    // params/tags long form; experiments; inputs.
    let params = read(&out.join("params.parquet"));
    assert_eq!(params.num_rows() as u64, 2 * (RUNS - 1));
    let tags = read(&out.join("tags.parquet"));
    assert!(
        strings(&tags, "key")
            .iter()
            .any(|k| k.as_deref() == Some("mlflow.runName"))
    );
    let exps = read(&out.join("experiments.parquet"));
    assert_eq!(exps.num_rows(), store.experiments().unwrap().len());
    assert!(matches!(
        exps.schema().field_with_name("tags").unwrap().data_type(),
        DataType::Map(..)
    ));
    assert_eq!(read(&out.join("inputs.parquet")).num_rows(), 0);
    // Nothing temporary is left.
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.ends_with(".tmp"), "{name} left behind");
    }
}

#[test]
fn reexport_rewrites_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let store = fixture(&db);
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let args = ["export", out_s, "--experiment", "exp-1", "--format", "json"];
    let first = json(&runstore(&db, &args));
    assert!(
        first["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["written"] == true)
    );
    let again = json(&runstore(&db, &args));
    for f in again["files"].as_array().unwrap() {
        assert_eq!(f["written"], false, "{f}");
    }
    // A run arrives in another experiment: exp-1's files stay.
    let (_, err) = store.upsert_runs(vec![record(100, 1, 5)]).unwrap(); // exp-1 (100 % 3 == 1)
    assert!(err.is_none());
    let (_, err) = store.upsert_runs(vec![record(101, 1, 5)]).unwrap(); // exp-2
    assert!(err.is_none());
    let third = json(&runstore(&db, &args));
    let by_file: BTreeMap<String, Value> = third["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap().to_owned(), f.clone()))
        .collect();
    assert_eq!(by_file["runs.parquet"]["written"], true);
    assert_eq!(by_file["metrics.parquet"]["written"], true);
    assert_eq!(by_file["experiments.parquet"]["written"], false, "{third}");
    assert!(
        by_file["metrics.parquet"]["reason"]
            .as_str()
            .unwrap()
            .contains("rewritten whole")
    );
    assert_eq!(third["runs"], first["runs"].as_u64().unwrap() + 1);
    let runs = read(&out.join("runs.parquet"));
    assert!(strings(&runs, "run_id").contains(&Some(run_id(100).to_string())));
    assert!(!strings(&runs, "run_id").contains(&Some(run_id(101).to_string())));
}

#[test]
fn a_failed_export_leaves_the_previous_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let _store = fixture(&db);
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    assert!(
        runstore(&db, &["export", out_s, "--experiment", "exp-0"])
            .status
            .success()
    );
    let before = std::fs::read(out.join("runs.parquet")).unwrap();
    // The metrics file cannot be created: the export fails after runs.parquet
    // was written under its temporary name.
    std::fs::create_dir(out.join(".metrics.parquet.tmp")).unwrap();
    let failed = runstore(&db, &["export", out_s]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).starts_with("error:"));
    assert_eq!(
        std::fs::read(out.join("runs.parquet")).unwrap(),
        before,
        "previous file kept"
    );
    assert!(!out.join(".runs.parquet.tmp").exists(), "no half file");
}

#[test]
fn sql_answers_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let store = fixture(&db);
    let id3 = run_id(3).to_string();
    let q = format!(
        "SELECT key, COUNT(*) AS n, MAX(step) AS last FROM metrics WHERE run_id = '{id3}' GROUP BY key ORDER BY key"
    );
    let answer = json(&runstore(&db, &["sql", "--format", "json", &q]));
    assert_eq!(answer["columns"], serde_json::json!(["key", "n", "last"]));
    assert_eq!(
        answer["rows"],
        serde_json::json!([["m0", 45, 44], ["m1", 40, 39]])
    );
    // The best run per experiment, checked against the store.
    let q = "SELECT experiment, run_id, \"metrics.m1\" AS best FROM (SELECT experiment, run_id, \"metrics.m1\", ROW_NUMBER() OVER (PARTITION BY experiment ORDER BY \"metrics.m1\" DESC, run_id) AS rn FROM runs) t WHERE rn = 1 ORDER BY experiment";
    let answer = json(&runstore(&db, &["sql", "--format", "json", q]));
    let rows = answer["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let exp = row[0].as_str().unwrap();
        let best = (0..RUNS)
            .filter(|&i| i != 5 && format!("exp-{}", i % 3) == exp)
            .map(|i| store.get_run(run_id(i)).unwrap().metrics["m1"].value)
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(row[2].as_f64().unwrap(), best, "{row}");
    }
    // Timestamps print as milliseconds; CSV and table work.
    let answer = json(&runstore(
        &db,
        &[
            "sql",
            "--format",
            "json",
            "SELECT MIN(start_time) AS t FROM runs",
        ],
    ));
    assert_eq!(answer["rows"][0][0], 1_700_000_000_000i64);
    let csv = runstore(
        &db,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT name FROM experiments ORDER BY name",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&csv.stdout),
        "name\nexp-0\nexp-1\nexp-2\n"
    );
    // --view all shows the deleted run.
    let all = json(&runstore(
        &db,
        &[
            "sql",
            "--view",
            "all",
            "--format",
            "json",
            "SELECT COUNT(*) FROM runs",
        ],
    ));
    assert_eq!(all["rows"][0][0], RUNS);

    for (bad, at) in [
        ("SELEC * FROM runs", "at line 1, column 1"),
        ("SELECT nope FROM runs", "nope"),
        ("SELECT * FROM nowhere", "nowhere"),
        ("DROP TABLE runs", "invalid SQL"),
    ] {
        let o = runstore(&db, &["sql", bad]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(err.starts_with("error: invalid SQL"), "{bad}: {err}");
        assert!(err.contains(at), "{bad}: {err}");
    }
}

#[test]
fn compare_downsamples_every_matching_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let _store = fixture(&db);
    let doc = json(&runstore(
        &db,
        &[
            "compare",
            "--experiment",
            "exp-0",
            "--metric",
            "m0",
            "--metric",
            "m1",
            "--max-points",
            "10",
            "--format",
            "json",
        ],
    ));
    assert_eq!(doc["metrics"], serde_json::json!(["m0", "m1"]));
    assert_eq!(doc["x"], "step");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2 * 10, "10 runs of exp-0, two metrics each");
    for (i, entry) in runs.iter().enumerate() {
        assert_eq!(
            entry["key"],
            if i % 2 == 0 { "m0" } else { "m1" },
            "metric order as asked"
        );
        let points = entry["points"].as_array().unwrap();
        assert!(points.len() <= 10);
        assert_eq!(points[0][0], 0, "first point kept");
        // Run 3 has 5 more steps of m0, logged live.
        let last = if entry["run_id"] == run_id(3).to_string() && i % 2 == 0 {
            44
        } else {
            39
        };
        assert_eq!(points.last().unwrap()[0], last, "last point kept");
        assert!(
            points
                .windows(2)
                .all(|w| w[0][0].as_i64() < w[1][0].as_i64())
        );
    }
    // A NaN spike survives downsampling and prints as the contract says.
    let doc = json(&runstore(
        &db,
        &[
            "compare",
            "--metric",
            "spiky",
            "--max-points",
            "2",
            "--format",
            "json",
        ],
    ));
    assert_eq!(doc["runs"][0]["points"][0][1], "NaN");
    // CSV: one row a point.
    let args = [
        "compare",
        "--experiment",
        "exp-0",
        "--metric",
        "m0",
        "--max-points",
        "6",
    ];
    let csv = runstore(&db, &[&args[..], &["--format", "csv"]].concat());
    let text = String::from_utf8_lossy(&csv.stdout);
    assert!(
        text.starts_with("run_id,run_name,key,step,value,timestamp\n"),
        "{text}"
    );
    let doc = json(&runstore(&db, &[&args[..], &["--format", "json"]].concat()));
    let points: usize = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["points"].as_array().unwrap().len())
        .sum();
    assert!(points > 10 * 2 && points <= 10 * 6, "{points}");
    assert_eq!(text.lines().count(), 1 + points);
    // Bad input.
    let o = runstore(
        &db,
        &["compare", "--metric", "m0", "--filter", "metrics.m0 >"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at character"));
    let o = runstore(&db, &["compare", "--metric", "m0", "--plot", "chart.gif"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn compare_draws_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let _store = fixture(&db);
    let svg = dir.path().join("c.svg");
    let o = runstore(
        &db,
        &[
            "compare",
            "--experiment",
            "exp-1",
            "--metric",
            "m0",
            "--plot",
            svg.to_str().unwrap(),
            "--width",
            "800",
            "--height",
            "500",
            "--format",
            "json",
        ],
    );
    let doc = json(&o);
    let curves = doc["runs"].as_array().unwrap().len();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{}", &text[..80]);
    assert!(text.contains("width=\"800\"") && text.contains("height=\"500\""));
    assert!(text.trim_end().ends_with("</svg>"));
    // Curves are 2 px wide; axes and ticks 1 px.
    assert_eq!(
        text.matches("stroke-width=\"2\"").count(),
        curves,
        "one path per run"
    );
    assert!(text.contains("run-1"), "legend names the runs");
    assert!(text.contains("\nstep\n"), "x axis label");

    let png_path = dir.path().join("c.png");
    let o = runstore(
        &db,
        &[
            "compare",
            "--metric",
            "m1",
            "--plot",
            png_path.to_str().unwrap(),
            "--width",
            "640",
            "--height",
            "400",
            "--log-y",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(File::open(&png_path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (640, 400));
}
