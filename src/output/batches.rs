//! Arrow record batches (a SQL answer) in each format: JSON and CSV are
//! streamed batch by batch; a table needs every row first (column widths).
//!
//! JSON: `{"columns": [...], "rows": [[...], ...]}` — integers and floats as
//! numbers (NaN and infinities as the strings `NaN`, `Infinity`,
//! `-Infinity`), booleans, strings, null; timestamps as integer
//! milliseconds since the epoch; anything else as its text.

use std::io::Write;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, UInt64Array,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value;

use super::{Format, json::number, table, value_text};
use crate::error::{Error, Result};

fn io(e: std::io::Error) -> Error {
    Error::Io {
        path: "<stdout>".into(),
        source: e,
    }
}

/// Writes a stream of batches with columns `schema` in `format`.
pub struct BatchWriter<'w> {
    out: &'w mut dyn Write,
    format: Format,
    header: Vec<String>,
    rows: u64,
    /// Rows kept for a table.
    table_rows: Vec<Vec<String>>,
}

impl<'w> BatchWriter<'w> {
    /// Starts the output (a JSON opening or a CSV header).
    pub fn new(out: &'w mut dyn Write, format: Format, schema: &SchemaRef) -> Result<Self> {
        let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut w = BatchWriter {
            out,
            format,
            header,
            rows: 0,
            table_rows: Vec::new(),
        };
        match format {
            Format::Json => {
                let cols = serde_json::to_string(&w.header).map_err(|e| io(e.into()))?;
                write!(w.out, "{{\"columns\": {cols}, \"rows\": [").map_err(io)?;
            }
            Format::Csv => {
                let header = w.header.clone();
                w.csv_rows(std::iter::once(header))?;
            }
            Format::Table => {}
        }
        Ok(w)
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self.format {
            Format::Json => {
                let cols: Vec<JsonColumn> = batch
                    .columns()
                    .iter()
                    .map(JsonColumn::new)
                    .collect::<Result<_>>()?;
                for i in 0..batch.num_rows() {
                    let row: Vec<Value> = cols.iter().map(|c| c.value(i)).collect();
                    let text = serde_json::to_string(&row).map_err(|e| io(e.into()))?;
                    let sep = if self.rows == 0 { "" } else { ", " };
                    write!(self.out, "{sep}{text}").map_err(io)?;
                    self.rows += 1;
                }
            }
            Format::Csv | Format::Table => {
                let options = FormatOptions::default().with_null("");
                let mut texts = Vec::with_capacity(batch.num_columns());
                for col in batch.columns() {
                    texts.push(TextColumn::new(col, &options)?);
                }
                let rows = (0..batch.num_rows()).map(|i| texts.iter().map(|c| c.text(i)).collect());
                self.rows += batch.num_rows() as u64;
                if self.format == Format::Csv {
                    self.csv_rows(rows)?;
                } else {
                    self.table_rows.extend(rows);
                }
            }
        }
        Ok(())
    }

    /// Ends the output.
    pub fn finish(self) -> Result<u64> {
        match self.format {
            Format::Json => writeln!(self.out, "]}}").map_err(io)?,
            Format::Csv => {}
            Format::Table => {
                let text = table::render(&self.header, &self.table_rows);
                writeln!(self.out, "{text}").map_err(io)?;
                let s = if self.rows == 1 { "" } else { "s" };
                writeln!(self.out, "{} row{s}", self.rows).map_err(io)?;
            }
        }
        Ok(self.rows)
    }

    fn csv_rows(&mut self, rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
        let mut w = csv::Writer::from_writer(&mut *self.out);
        for row in rows {
            w.write_record(&row).map_err(csv_error)?;
        }
        w.flush().map_err(io)
    }
}

fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => io(e),
        other => Error::Output(format!("csv: {other:?}")),
    }
}

/// A column's cells as text (floats as the contract prints them).
enum TextColumn<'a> {
    Float(Float64Array),
    Other(ArrayFormatter<'a>),
}

impl<'a> TextColumn<'a> {
    fn new(col: &'a ArrayRef, options: &'a FormatOptions<'a>) -> Result<Self> {
        Ok(match col.data_type() {
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                TextColumn::Float(floats(col)?)
            }
            _ => TextColumn::Other(
                ArrayFormatter::try_new(col.as_ref(), options).map_err(arrow_error)?,
            ),
        })
    }

    fn text(&self, i: usize) -> String {
        match self {
            TextColumn::Float(a) if a.is_null(i) => String::new(),
            TextColumn::Float(a) => value_text(a.value(i)),
            TextColumn::Other(f) => f.value(i).to_string(),
        }
    }
}

/// A column's cells as JSON values.
enum JsonColumn {
    Int(Int64Array),
    UInt(UInt64Array),
    Float(Float64Array),
    Bool(BooleanArray),
    Text(Vec<Option<String>>),
}

impl JsonColumn {
    fn new(col: &ArrayRef) -> Result<Self> {
        use DataType::*;
        let to = |t: &DataType| cast(col, t).map_err(arrow_error);
        Ok(match col.data_type() {
            Int8 | Int16 | Int32 | Int64 => JsonColumn::Int(downcast::<Int64Array>(&to(&Int64)?)?),
            UInt8 | UInt16 | UInt32 | UInt64 => {
                JsonColumn::UInt(downcast::<UInt64Array>(&to(&UInt64)?)?)
            }
            Float16 | Float32 | Float64 => JsonColumn::Float(floats(col)?),
            Boolean => JsonColumn::Bool(downcast::<BooleanArray>(col)?),
            Timestamp(_, tz) => {
                let ms = to(&Timestamp(TimeUnit::Millisecond, tz.clone()))?;
                let ms = cast(&ms, &Int64).map_err(arrow_error)?;
                JsonColumn::Int(downcast::<Int64Array>(&ms)?)
            }
            _ => {
                let options = FormatOptions::default();
                let f = ArrayFormatter::try_new(col.as_ref(), &options).map_err(arrow_error)?;
                JsonColumn::Text(
                    (0..col.len())
                        .map(|i| (!col.is_null(i)).then(|| f.value(i).to_string()))
                        .collect(),
                )
            }
        })
    }

    fn value(&self, i: usize) -> Value {
        match self {
            JsonColumn::Int(a) if a.is_valid(i) => Value::from(a.value(i)),
            JsonColumn::UInt(a) if a.is_valid(i) => Value::from(a.value(i)),
            JsonColumn::Float(a) if a.is_valid(i) => number(a.value(i)),
            JsonColumn::Bool(a) if a.is_valid(i) => Value::Bool(a.value(i)),
            JsonColumn::Text(v) => v[i].clone().map_or(Value::Null, Value::String),
            _ => Value::Null,
        }
    }
}

fn floats(col: &ArrayRef) -> Result<Float64Array> {
    let c = cast(col, &DataType::Float64).map_err(arrow_error)?;
    downcast::<Float64Array>(&c)
}

fn downcast<T: Array + Clone + 'static>(col: &ArrayRef) -> Result<T> {
    col.as_any()
        .downcast_ref::<T>()
        .cloned()
        .ok_or_else(|| Error::Output(format!("unexpected column type {}", col.data_type())))
}

fn arrow_error(e: arrow::error::ArrowError) -> Error {
    Error::Output(format!("cannot print a column: {e}"))
}
