//! Tests of the segment layer as a whole: write, open, read, scan, merge.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, UInt64Array};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;

use super::format::{SegmentOptions, schema};
use super::merge::merge_segments_with;
use super::writer::{SegmentWriter, write_segment_with};
use super::*;
use crate::error::Error;
use crate::metric::MetricPoint;

/// Values drawn from a small set full of MLflow's special cases, so
/// collisions (duplicates) are frequent.
pub(crate) fn special_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(-f64::MAX),
        Just(f64::MIN_POSITIVE / 2.0),
        Just(1.5),
        any::<f64>(),
    ]
}

fn p(step: i64, value: f64, timestamp: i64) -> MetricPoint {
    MetricPoint {
        step,
        value,
        timestamp,
    }
}

/// Rows as comparable tuples, values as bits.
fn bits(c: &PointColumns) -> Vec<(u64, i64, i64, u64)> {
    (0..c.len())
        .map(|i| (c.series[i], c.step[i], c.timestamp[i], c.value[i].to_bits()))
        .collect()
}

fn point_bits(points: &[MetricPoint]) -> Vec<(i64, i64, u64)> {
    points
        .iter()
        .map(|p| (p.step, p.timestamp, p.value.to_bits()))
        .collect()
}

fn scan_all(seg: &Segment) -> PointColumns {
    let mut all = PointColumns::default();
    for batch in seg.scan().unwrap() {
        let batch = batch.unwrap();
        all.extend_from(&batch, 0..batch.len());
    }
    all
}

/// Small pages and row groups, so modest data spans many of both.
fn tiny() -> SegmentOptions {
    SegmentOptions {
        page_rows: 1024,
        row_group_rows: 5000,
        ..SegmentOptions::default()
    }
}

/// `series_count` series (ids spread out, with gaps) of `len(i)` points.
fn dataset(series_count: u64, len: impl Fn(u64) -> i64) -> PointColumns {
    let mut c = PointColumns::default();
    let mut rng = fastrand::Rng::with_seed(7);
    for s in 0..series_count {
        let id = ((s * 3 + 1) << 32) | (s % 7);
        for step in 0..len(s) {
            c.push(id, p(step, rng.f64(), 1_700_000_000_000 + step * 100));
        }
    }
    c
}

fn path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn special_values_round_trip_bit_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let specials = [
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN payload
        f64::from_bits(0xfff8_dead_beef_0001),
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        f64::MIN_POSITIVE / 3.0, // subnormal
        -f64::from_bits(1),      // smallest negative subnormal
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        std::f64::consts::PI,
    ];
    let mut c = PointColumns::default();
    for (i, v) in specials.iter().enumerate() {
        c.push(1, p(i as i64, *v, i64::MIN + i as i64));
    }
    c.push(2, p(i64::MIN, 1.0, i64::MAX));
    c.push(u64::MAX, p(i64::MAX, -1.0, 0));
    c.sort_dedup();
    assert_eq!(c.len(), specials.len() + 2);
    let f = path(&dir, "s.parquet");
    let info = write_segment(&f, &c).unwrap();
    assert_eq!(info.rows, c.len() as u64);
    assert_eq!((info.min_series, info.max_series), (1, u64::MAX));
    assert_eq!(info.bytes, std::fs::metadata(&f).unwrap().len());

    let seg = Segment::open(&f).unwrap();
    assert_eq!(seg.info(), info);
    assert_eq!(bits(&scan_all(&seg)), bits(&c));
    let mut out = Vec::new();
    seg.read_series(1, &mut out).unwrap();
    let want: Vec<MetricPoint> = (0..specials.len()).map(|i| c.point(i)).collect();
    assert_eq!(point_bits(&out), point_bits(&want));
    out.clear();
    seg.read_series(u64::MAX, &mut out).unwrap();
    assert_eq!(point_bits(&out), point_bits(&[p(i64::MAX, -1.0, 0)]));
}

#[test]
fn read_series_first_middle_last_absent() {
    let dir = tempfile::tempdir().unwrap();
    // 400 series of 1..=60 points: ~12k rows, many pages and 3 row groups.
    let c = dataset(400, |s| (s % 60) as i64 + 1);
    let f = path(&dir, "s.parquet");
    write_segment_with(&f, &c, &tiny()).unwrap();
    let seg = Segment::open(&f).unwrap();
    assert!(seg.info().rows > 10_000);

    let ids: Vec<u64> = {
        let mut v = c.series.clone();
        v.dedup();
        v
    };
    for &id in [ids[0], ids[1], ids[200], ids[ids.len() - 1]].iter() {
        let mut out = Vec::new();
        seg.read_series(id, &mut out).unwrap();
        let want: Vec<MetricPoint> = (0..c.len())
            .filter(|&i| c.series[i] == id)
            .map(|i| c.point(i))
            .collect();
        assert!(!want.is_empty());
        assert_eq!(point_bits(&out), point_bits(&want), "series {id:#x}");
    }
    // Absent: below, between and above the stored ids.
    for id in [0, ids[5] + 1, ids[ids.len() - 1] + 1, u64::MAX] {
        let mut out = Vec::new();
        seg.read_series(id, &mut out).unwrap();
        assert!(out.is_empty(), "series {id:#x}");
    }
    // Appends rather than overwrites.
    let mut out = vec![p(-1, -1.0, -1)];
    seg.read_series(ids[3], &mut out).unwrap();
    assert_eq!(out.len(), 1 + 4);
}

#[test]
fn read_series_spanning_many_pages_and_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = dataset(3, |_| 10);
    let long = 1u64 << 40;
    let mut rng = fastrand::Rng::with_seed(1);
    for step in 0..23_456 {
        c.push(long, p(step, rng.f64(), step));
    }
    let tail = dataset(3, |_| 5);
    for i in 0..tail.len() {
        c.push(tail.series[i] + (2 << 40), tail.point(i));
    }
    assert_eq!(c.first_disorder(), None);
    let f = path(&dir, "s.parquet");
    write_segment_with(&f, &c, &tiny()).unwrap();
    let seg = Segment::open(&f).unwrap();
    assert!(seg.pages.len() > 20, "{} pages", seg.pages.len());
    assert!(seg.row_group_starts.len() > 5);

    let mut out = Vec::new();
    seg.read_series(long, &mut out).unwrap();
    assert_eq!(out.len(), 23_456);
    let want: Vec<MetricPoint> = (0..c.len())
        .filter(|&i| c.series[i] == long)
        .map(|i| c.point(i))
        .collect();
    assert_eq!(point_bits(&out), point_bits(&want));
    // Only the pages around the series are candidates.
    let rows = seg.candidate_rows(long).unwrap();
    assert!(rows.end - rows.start <= 23_456 + 2 * 1024, "{rows:?}");
    let first = seg.candidate_rows(c.series[0]).unwrap();
    assert!(first.end - first.start <= 1024, "{first:?}");
}

#[test]
fn read_series_many_matches_filter() {
    let dir = tempfile::tempdir().unwrap();
    let c = dataset(500, |s| (s % 40) as i64 + 1);
    let f = path(&dir, "s.parquet");
    write_segment_with(&f, &c, &tiny()).unwrap();
    let seg = Segment::open(&f).unwrap();
    let mut ids: Vec<u64> = c.series.clone();
    ids.dedup();
    let mut rng = fastrand::Rng::with_seed(3);
    for round in 0..20 {
        let mut wanted: Vec<u64> = ids
            .iter()
            .copied()
            .filter(|_| rng.u32(0..10) < round % 10)
            .collect();
        // Absent ids too.
        wanted.extend([0, 5, ids[10] + 1, u64::MAX]);
        wanted.sort_unstable();
        wanted.dedup();
        let mut out = PointColumns::default();
        seg.read_series_many(&wanted, &mut out).unwrap();
        let mut want = PointColumns::default();
        for i in 0..c.len() {
            if wanted.binary_search(&c.series[i]).is_ok() {
                want.push(c.series[i], c.point(i));
            }
        }
        assert_eq!(bits(&out), bits(&want), "round {round}");
    }
    let mut out = PointColumns::default();
    seg.read_series_many(&[], &mut out).unwrap();
    seg.read_series_many(&ids, &mut out).unwrap();
    assert_eq!(bits(&out), bits(&c));
}

#[test]
fn empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    let f = path(&dir, "e.parquet");
    let info = write_segment(&f, &PointColumns::default()).unwrap();
    assert_eq!((info.rows, info.min_series, info.max_series), (0, 0, 0));
    let seg = Segment::open(&f).unwrap();
    assert_eq!(seg.info(), info);
    let mut out = Vec::new();
    seg.read_series(0, &mut out).unwrap();
    assert!(out.is_empty());
    let mut many = PointColumns::default();
    seg.read_series_many(&[0, 1], &mut many).unwrap();
    assert!(many.is_empty());
    assert!(scan_all(&seg).is_empty());
    let merged = merge_segments(&[&seg, &seg], &PointColumns::default(), &path(&dir, "m")).unwrap();
    assert_eq!(merged.rows, 0);
}

#[test]
fn unsorted_or_duplicate_input_is_refused_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = path(&dir, "u.parquet");
    let mut c = PointColumns::default();
    c.push(2, p(0, 1.0, 0));
    c.push(1, p(0, 1.0, 0));
    let err = write_segment(&f, &c).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    let mut c = PointColumns::default();
    c.push(1, p(0, -0.0, 0));
    c.push(1, p(0, 0.0, 0));
    assert!(write_segment(&f, &c).is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // The streaming writer checks the seam between batches too.
    let mut w = SegmentWriter::create(&f, &SegmentOptions::default()).unwrap();
    let mut a = PointColumns::default();
    a.push(5, p(0, 1.0, 0));
    w.write(&a).unwrap();
    assert!(w.write(&a).is_err());
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn file_uses_the_chosen_layout() {
    let dir = tempfile::tempdir().unwrap();
    let f = path(&dir, "l.parquet");
    write_segment(&f, &dataset(50, |_| 100)).unwrap();
    let seg = Segment::open(&f).unwrap();
    let meta = seg.meta.metadata();
    let rg = &meta.row_groups()[0];
    assert_eq!(
        rg.sorting_columns().map(|s| s.len()),
        Some(3),
        "series, step, timestamp"
    );
    for (i, col) in rg.columns().iter().enumerate() {
        assert!(matches!(col.compression(), Compression::ZSTD(_)));
        let enc: Vec<Encoding> = col.encodings().collect();
        assert!(!enc.contains(&Encoding::RLE_DICTIONARY), "{enc:?}");
        let want = if i == 3 {
            Encoding::BYTE_STREAM_SPLIT
        } else {
            Encoding::DELTA_BINARY_PACKED
        };
        assert!(enc.contains(&want), "column {i}: {enc:?}");
    }
    assert!(meta.column_index().is_some() && meta.offset_index().is_some());
    assert!(
        meta.file_metadata()
            .key_value_metadata()
            .unwrap()
            .iter()
            .all(|kv| kv.key != "ARROW:schema")
    );
}

/// Writes `batch` as a Parquet file with the segment schema and the given
/// key-value metadata (to fake foreign files).
fn write_foreign(path: &Path, kv: Option<Vec<KeyValue>>) {
    let props = WriterProperties::builder()
        .set_key_value_metadata(kv)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, schema(), Some(props)).unwrap();
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(UInt64Array::from(vec![1u64])),
            Arc::new(Int64Array::from(vec![0i64])),
            Arc::new(Int64Array::from(vec![0i64])),
            Arc::new(Float64Array::from(vec![0.5])),
        ],
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn format_version_mismatch_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = path(&dir, "v2.parquet");
    write_foreign(
        &f,
        Some(vec![KeyValue::new(
            "runstore.segment".into(),
            "2".to_owned(),
        )]),
    );
    let err = Segment::open(&f).unwrap_err().to_string();
    assert!(
        err.contains("version 2") && err.contains("version 1"),
        "{err}"
    );

    let f = path(&dir, "plain.parquet");
    write_foreign(&f, None);
    let err = Segment::open(&f).unwrap_err().to_string();
    assert!(err.contains("not a runstore segment"), "{err}");

    // Right version, wrong schema.
    let f = path(&dir, "schema.parquet");
    let other = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("series", arrow::datatypes::DataType::Int64, false),
    ]));
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "runstore.segment".into(),
            "1".to_owned(),
        )]))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&f).unwrap(),
        other.clone(),
        Some(props),
    )
    .unwrap();
    w.write(&RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1i64]))]).unwrap())
        .unwrap();
    w.close().unwrap();
    let err = Segment::open(&f).unwrap_err().to_string();
    assert!(err.contains("schema"), "{err}");
}

#[test]
fn truncated_garbage_and_empty_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = path(&dir, "good.parquet");
    write_segment_with(&good, &dataset(30, |_| 50), &tiny()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let f = path(&dir, "bad.parquet");
    let mut cut = 0;
    while cut < bytes.len() {
        std::fs::write(&f, &bytes[..cut]).unwrap();
        assert!(
            Segment::open(&f).is_err(),
            "cut at {cut} of {}",
            bytes.len()
        );
        cut += 1 + cut / 7;
    }
    // Garbage, and garbage dressed up with Parquet magic.
    let mut rng = fastrand::Rng::with_seed(9);
    for len in [1usize, 8, 12, 100, 5000] {
        let mut junk: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        std::fs::write(&f, &junk).unwrap();
        assert!(Segment::open(&f).is_err());
        if len >= 12 {
            junk[..4].copy_from_slice(b"PAR1");
            junk[len - 4..].copy_from_slice(b"PAR1");
            std::fs::write(&f, &junk).unwrap();
            assert!(Segment::open(&f).is_err());
        }
    }
    // The footer of a real file behind garbage of the wrong length.
    let mut shifted = vec![0u8; 64];
    shifted.extend_from_slice(&bytes[bytes.len() / 2..]);
    std::fs::write(&f, &shifted).unwrap();
    assert!(Segment::open(&f).is_err());
    // Zero-length and missing files.
    std::fs::write(&f, b"").unwrap();
    assert!(matches!(Segment::open(&f), Err(Error::Segment { .. })));
    assert!(matches!(
        Segment::open(&path(&dir, "missing")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn segment_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Segment>();
    check::<Arc<Segment>>();
}

#[test]
fn merge_streams_many_batches_with_overlap() {
    // Big enough for several scan batches per input and several output
    // batches: 3 inputs of ~100k rows overlapping on series and points.
    let dir = tempfile::tempdir().unwrap();
    let mut all = PointColumns::default();
    let mut segs = Vec::new();
    for k in 0..3u64 {
        let mut c = PointColumns::default();
        for s in 0..2000u64 {
            if (s + k) % 3 == 0 {
                continue;
            }
            for step in 0..50i64 {
                // Inputs share points for steps < 20 (value depends on step
                // only there), and differ otherwise.
                let v = if step < 20 {
                    step as f64
                } else {
                    (k * 1000) as f64 + step as f64
                };
                c.push(s << 32, p(step, v, step * 10));
            }
        }
        let f = path(&dir, &format!("in{k}.parquet"));
        write_segment(&f, &c).unwrap();
        all.extend_from(&c, 0..c.len());
        segs.push(Segment::open(&f).unwrap());
    }
    let mut extra = PointColumns::default();
    for s in (0..2000u64).step_by(7) {
        extra.push(s << 32, p(5, 5.0, 50)); // duplicate of inputs' point
        extra.push(s << 32, p(5, 6.0, 50)); // new
    }
    extra.sort_dedup();
    all.extend_from(&extra, 0..extra.len());
    all.sort_dedup();

    let refs: Vec<&Segment> = segs.iter().collect();
    let out = path(&dir, "out.parquet");
    let info = merge_segments(&refs, &extra, &out).unwrap();
    assert_eq!(info.rows, all.len() as u64);
    let merged = Segment::open(&out).unwrap();
    assert_eq!(merged.info(), info);
    assert_eq!(bits(&scan_all(&merged)), bits(&all));
}

fn rows_strategy() -> impl Strategy<Value = Vec<(u64, MetricPoint)>> {
    proptest::collection::vec(
        (0u64..6, 0i64..4, 0i64..3, special_value())
            .prop_map(|(s, step, ts, v)| (s, p(step, v, ts))),
        0..60,
    )
}

fn columns_of(rows: &[(u64, MetricPoint)]) -> PointColumns {
    let mut c = PointColumns::default();
    for (s, pt) in rows {
        c.push(*s, *pt);
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merge_equals_sort_dedup_of_concatenation(
        inputs in proptest::collection::vec(rows_strategy(), 0..4),
        extra in rows_strategy(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut concat = PointColumns::default();
        let mut segs = Vec::new();
        for (k, rows) in inputs.iter().enumerate() {
            let mut c = columns_of(rows);
            c.sort_dedup();
            let f = path(&dir, &format!("{k}.parquet"));
            // Tiny pages: exercise the page-index paths too.
            write_segment_with(&f, &c, &SegmentOptions { page_rows: 1, ..tiny() }).unwrap();
            concat.extend_from(&c, 0..c.len());
            segs.push(Segment::open(&f).unwrap());
        }
        let mut extra = columns_of(&extra);
        extra.sort_dedup();
        concat.extend_from(&extra, 0..extra.len());
        concat.sort_dedup();

        let refs: Vec<&Segment> = segs.iter().collect();
        let out = path(&dir, "out.parquet");
        let info = merge_segments_with(&refs, &extra, &out, &tiny()).unwrap();
        prop_assert_eq!(info.rows, concat.len() as u64);
        let merged = Segment::open(&out).unwrap();
        prop_assert_eq!(bits(&scan_all(&merged)), bits(&concat));

        // And every series reads back alone, and all together.
        let mut ids = concat.series.clone();
        ids.dedup();
        for &id in &ids {
            let mut got = Vec::new();
            merged.read_series(id, &mut got).unwrap();
            let want: Vec<MetricPoint> =
                (0..concat.len()).filter(|&i| concat.series[i] == id).map(|i| concat.point(i)).collect();
            prop_assert_eq!(point_bits(&got), point_bits(&want));
        }
        let mut many = PointColumns::default();
        merged.read_series_many(&ids, &mut many).unwrap();
        prop_assert_eq!(bits(&many), bits(&concat));
    }
}

#[test]
fn parallel_encoding_writes_what_the_streaming_writer_writes() {
    let dir = tempfile::tempdir().unwrap();
    // Enough rows for the parallel path, over many row groups and pages,
    // with a last row group shorter than the rest.
    let c = dataset(30_011, |s| (s % 13) as i64 + 4);
    assert!(c.len() > 300_000, "{} rows", c.len());
    let options = SegmentOptions {
        row_group_rows: 40_000,
        ..SegmentOptions::default()
    };
    let parallel = path(&dir, "parallel.parquet");
    let info = write_segment_with(&parallel, &c, &options).unwrap();
    let streamed = path(&dir, "streamed.parquet");
    let mut w = SegmentWriter::create(&streamed, &options).unwrap();
    w.write(&c).unwrap();
    let want = w.finish().unwrap();
    // Page breaks may fall elsewhere (the streaming writer's follow its
    // input batches), so only the sizes may differ.
    assert_eq!(
        (info.rows, info.min_series, info.max_series),
        (want.rows, want.min_series, want.max_series)
    );
    let diff = info.bytes.abs_diff(want.bytes);
    assert!(
        diff * 100 < want.bytes,
        "{} vs {} bytes",
        info.bytes,
        want.bytes
    );
    assert_eq!(info.bytes, std::fs::metadata(&parallel).unwrap().len());
    let (a, b) = (
        Segment::open(&parallel).unwrap(),
        Segment::open(&streamed).unwrap(),
    );
    assert_eq!(a.row_group_starts, b.row_group_starts);
    // One start per row group, and the end.
    assert_eq!(a.row_group_starts.len(), c.len().div_ceil(40_000) + 1);
    assert_eq!(bits(&scan_all(&a)), bits(&c));
    // Point reads go through the page index, so check it too.
    let mut out = Vec::new();
    for s in [0, 1, 9_999, 30_010] {
        let id = ((s * 3 + 1) << 32) | (s % 7);
        out.clear();
        a.read_series(id, &mut out).unwrap();
        let want: Vec<MetricPoint> = (0..c.len())
            .filter(|&i| c.series[i] == id)
            .map(|i| c.point(i))
            .collect();
        assert_eq!(out.len(), (s % 13) as usize + 4);
        assert_eq!(point_bits(&out), point_bits(&want));
    }
}
