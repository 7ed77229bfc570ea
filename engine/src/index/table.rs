//! The index as Arrow columns, for query engines: gather any field for a set
//! of rows.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringBuilder, UInt32Array};

use super::column::Slots;
use super::pred::Field;
use super::{ColKey, Column, NO_END_TIME, SearchIndex};
use crate::error::{Error, Result};
use crate::types::{LifecycleStage, RunStatus, TAG_RUN_NAME, TAG_USER};

/// The Arrow type a field is gathered as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowValue {
    /// `Utf8`, nullable.
    Text,
    /// `Int64`, nullable.
    Int,
    /// `Float64`, nullable.
    Float,
}

/// Helpers to read the index as a table.
pub trait IndexView {
    /// The Arrow type of `field`.
    fn field_type(field: &Field) -> RowValue;
    /// Gathers `field` at `rows`.
    fn gather(&self, field: &Field, rows: &[u32]) -> Result<ArrayRef>;
}

impl IndexView for SearchIndex {
    fn field_type(field: &Field) -> RowValue {
        match field {
            Field::StartTime | Field::EndTime | Field::Experiment => RowValue::Int,
            Field::Metric(_) => RowValue::Float,
            _ => RowValue::Text,
        }
    }

    fn gather(&self, field: &Field, rows: &[u32]) -> Result<ArrayRef> {
        Ok(match field {
            Field::StartTime | Field::EndTime => {
                let key = if *field == Field::StartTime {
                    ColKey::StartTime
                } else {
                    ColKey::EndTime
                };
                let col = match self.column(key)? {
                    Some(Column::I64(v)) => v.as_slice(),
                    _ => &[],
                };
                Arc::new(Int64Array::from_iter(rows.iter().map(|&r| {
                    col.get(r as usize).copied().filter(|&x| x != NO_END_TIME)
                })))
            }
            Field::Experiment => {
                let col = match self.column(ColKey::Experiment)? {
                    Some(Column::U32(v)) => v.as_slice(),
                    _ => &[],
                };
                Arc::new(Int64Array::from_iter(
                    rows.iter()
                        .map(|&r| col.get(r as usize).map(|&x| i64::from(x))),
                ))
            }
            Field::Metric(k) => {
                let col = match self.key_id(k) {
                    Some(id) => match self.column(ColKey::Metric(id))? {
                        Some(Column::Num(s)) => Some(s),
                        _ => None,
                    },
                    None => None,
                };
                Arc::new(Float64Array::from_iter(
                    rows.iter()
                        .map(|&r| col.and_then(|s: &Slots<f64>| s.get(r))),
                ))
            }
            Field::RunId => {
                let ids = self.run_ids()?;
                let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 32);
                for &r in rows {
                    match ids.get(r as usize) {
                        Some(&id) => b.append_value(crate::types::hex32(id).as_str()),
                        None => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Field::Status | Field::Lifecycle => {
                let (key, names): (ColKey, Vec<&str>) = if *field == Field::Status {
                    (
                        ColKey::Status,
                        RunStatus::ALL.iter().map(|s| s.as_str()).collect(),
                    )
                } else {
                    (
                        ColKey::Lifecycle,
                        LifecycleStage::ALL.iter().map(|s| s.as_str()).collect(),
                    )
                };
                let col = match self.column(key)? {
                    Some(Column::U8(v)) => v.as_slice(),
                    _ => &[],
                };
                let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
                for &r in rows {
                    b.append_option(
                        col.get(r as usize)
                            .and_then(|&c| names.get(usize::from(c)).copied()),
                    );
                }
                Arc::new(b.finish())
            }
            Field::ArtifactUri => {
                let ids = self.run_ids()?;
                let exps = match self.column(ColKey::Experiment)? {
                    Some(Column::U32(v)) => v.as_slice(),
                    _ => &[],
                };
                let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 64);
                for &r in rows {
                    let uri =
                        ids.get(r as usize)
                            .zip(exps.get(r as usize))
                            .and_then(|(id, exp)| {
                                self.experiments
                                    .get(exp)
                                    .map(|e| format!("{}/{id:032x}/artifacts", e.artifact_location))
                            });
                    b.append_option(uri);
                }
                Arc::new(b.finish())
            }
            Field::RunName => self.gather_text(Some(ColKey::RunName), rows)?,
            Field::UserId => self.gather_text(Some(ColKey::User), rows)?,
            Field::Tag(k) if k == TAG_RUN_NAME => self.gather_text(Some(ColKey::RunName), rows)?,
            Field::Tag(k) if k == TAG_USER => self.gather_text(Some(ColKey::User), rows)?,
            Field::Param(k) => self.gather_text(self.key_id(k).map(ColKey::Param), rows)?,
            Field::Tag(k) => self.gather_text(self.key_id(k).map(ColKey::Tag), rows)?,
            Field::DatasetName | Field::DatasetDigest | Field::DatasetContext => {
                return Err(Error::InvalidInput(
                    "dataset fields belong to the inputs table, not the runs table".into(),
                ));
            }
        })
    }
}

impl SearchIndex {
    /// Every row's run id (as the big-endian integer of its hex text).
    pub fn run_ids(&self) -> Result<&[u128]> {
        Ok(match self.column(ColKey::RunId)? {
            Some(Column::U128(v)) => v.as_slice(),
            _ => &[],
        })
    }

    /// Row numbers as an Arrow array.
    pub fn row_array(rows: &[u32]) -> ArrayRef {
        Arc::new(UInt32Array::from(rows.to_vec()))
    }

    fn gather_text(&self, key: Option<ColKey>, rows: &[u32]) -> Result<ArrayRef> {
        let col = match key {
            Some(k) => match self.column(k)? {
                Some(Column::Text(t)) => Some(t),
                _ => None,
            },
            None => None,
        };
        let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
        for &r in rows {
            b.append_option(col.and_then(|c| c.get(r)));
        }
        Ok(Arc::new(b.finish()))
    }

    /// The value of param or tag `key_id` (by code) as the index knows it.
    pub fn text_value(&self, kind: TextKind, key_id: u32, code: u32) -> Result<Option<&str>> {
        let key = match kind {
            TextKind::Param => ColKey::Param(key_id),
            TextKind::Tag => ColKey::Tag(key_id),
        };
        Ok(match self.column(key)? {
            Some(Column::Text(t)) => t.dict.get(code),
            _ => None,
        })
    }
}

/// Params or tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// A param.
    Param,
    /// A tag.
    Tag,
}
