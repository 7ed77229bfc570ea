//! TEMPORARY stand-in for the segment layer (replaced by the tuned implementation).
#![allow(missing_docs)]
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};
use crate::metric::{MetricPoint, point_order, same_point};

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PointColumns {
    pub series: Vec<u64>,
    pub step: Vec<i64>,
    pub timestamp: Vec<i64>,
    pub value: Vec<f64>,
}

impl PointColumns {
    pub fn push(&mut self, series: u64, p: MetricPoint) {
        self.series.push(series);
        self.step.push(p.step);
        self.timestamp.push(p.timestamp);
        self.value.push(p.value);
    }
    pub fn len(&self) -> usize {
        self.series.len()
    }
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
    fn point(&self, i: usize) -> MetricPoint {
        MetricPoint {
            step: self.step[i],
            value: self.value[i],
            timestamp: self.timestamp[i],
        }
    }
    pub fn sort_dedup(&mut self) {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by(|&a, &b| {
            self.series[a]
                .cmp(&self.series[b])
                .then(point_order(&self.point(a), &self.point(b)))
        });
        let mut out = PointColumns::default();
        for i in idx {
            let n = out.len();
            if n > 0
                && out.series[n - 1] == self.series[i]
                && same_point(&out.point(n - 1), &self.point(i))
            {
                continue;
            }
            out.push(self.series[i], self.point(i));
        }
        *self = out;
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct SegmentInfo {
    pub rows: u64,
    pub bytes: u64,
    pub min_series: u64,
    pub max_series: u64,
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("series", DataType::UInt64, false),
        Field::new("step", DataType::Int64, false),
        Field::new("timestamp", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
    ]))
}

pub(crate) fn write_segment(path: &Path, p: &PointColumns) -> Result<SegmentInfo> {
    let seg = |e| Error::Segment {
        path: path.to_path_buf(),
        source: e,
    };
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(UInt64Array::from(p.series.clone())),
            Arc::new(Int64Array::from(p.step.clone())),
            Arc::new(Int64Array::from(p.timestamp.clone())),
            Arc::new(Float64Array::from(p.value.clone())),
        ],
    )?;
    let mut w = ArrowWriter::try_new(file, schema(), None).map_err(seg)?;
    w.write(&batch).map_err(seg)?;
    let file = w.into_inner().map_err(seg)?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    Ok(SegmentInfo {
        rows: p.len() as u64,
        bytes,
        min_series: p.series.first().copied().unwrap_or(0),
        max_series: p.series.last().copied().unwrap_or(0),
    })
}

pub(crate) struct Segment {
    all: PointColumns,
}

impl Segment {
    pub fn open(path: &Path) -> Result<Segment> {
        let seg = |e| Error::Segment {
            path: path.to_path_buf(),
            source: e,
        };
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(seg)?
            .build()
            .map_err(seg)?;
        let mut all = PointColumns::default();
        for b in reader {
            let b = b?;
            let s = b
                .column(0)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .ok_or_else(|| Error::corrupt("seg", "type"))?;
            let st = b
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| Error::corrupt("seg", "type"))?;
            let ts = b
                .column(2)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| Error::corrupt("seg", "type"))?;
            let v = b
                .column(3)
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| Error::corrupt("seg", "type"))?;
            for i in 0..b.num_rows() {
                all.push(
                    s.value(i),
                    MetricPoint {
                        step: st.value(i),
                        value: v.value(i),
                        timestamp: ts.value(i),
                    },
                );
            }
        }
        Ok(Segment { all })
    }
    pub fn read_series(&self, series: u64, out: &mut Vec<MetricPoint>) -> Result<()> {
        for i in 0..self.all.len() {
            if self.all.series[i] == series {
                out.push(self.all.point(i));
            }
        }
        Ok(())
    }
    pub fn read_series_many(&self, series: &[u64], out: &mut PointColumns) -> Result<()> {
        for i in 0..self.all.len() {
            if series.binary_search(&self.all.series[i]).is_ok() {
                out.push(self.all.series[i], self.all.point(i));
            }
        }
        Ok(())
    }
}

pub(crate) fn merge_segments(
    inputs: &[&Segment],
    extra: &PointColumns,
    out: &Path,
) -> Result<SegmentInfo> {
    let mut all = PointColumns::default();
    for s in inputs {
        for i in 0..s.all.len() {
            all.push(s.all.series[i], s.all.point(i));
        }
    }
    for i in 0..extra.len() {
        all.push(extra.series[i], extra.point(i));
    }
    all.sort_dedup();
    write_segment(out, &all)
}
