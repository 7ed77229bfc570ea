//! Index snapshots: the search index written to one file, so a new process
//! can open a large store without rebuilding the index.
//!
//! ```text
//! "RSIDX002"  sections (little-endian arrays, 8-byte aligned, each
//!             byte-stream-split by its value width and zstd-compressed
//!             when that makes it smaller)…
//!             header (postcard: sequence, rows, where each column's sections are)
//!             header length (u64 LE)  "RSIDXEND"
//! ```
//!
//! The file is mapped and each column is decoded only when a query first
//! touches it. Files are named `snapshot-<seq>.snap`, written under a temporary
//! name, synced and renamed into place, and never modified afterwards. They are
//! derived data: a missing or damaged snapshot only means a slower open.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::column::{Dictionary, InputEntry, NO_CODE, Slots, TextColumn};
use super::texts::TextTable;
use super::{ColKey, Column, SearchIndex};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"RSIDX002";
/// zstd level of snapshot sections: fast, and most of the gain.
const ZSTD_LEVEL: i32 = 3;
/// Sections smaller than this are stored as they are.
const MIN_COMPRESS: usize = 4096;
/// No decompressed section is larger (a damaged header cannot make us allocate more).
const MAX_SECTION: u64 = 1 << 36;
const END_MAGIC: &[u8; 8] = b"RSIDXEND";
const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".snap";

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Sec {
    off: u64,
    len: u64,
    /// Length before compression; `None` when stored as is.
    raw: Option<u64>,
    /// Value width the bytes were split by before compressing (byte `j` of
    /// every value together, so zstd sees exponents with exponents); 1 = none.
    split: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum SlotsDesc {
    Dense(Sec),
    Sparse { rows: Sec, vals: Sec },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum ColDesc {
    U128(Sec),
    U32(Sec),
    U8(Sec),
    I64(Sec),
    Text {
        dict_offsets: Sec,
        dict_bytes: Sec,
        codes: SlotsDesc,
    },
    Num(SlotsDesc),
    Inputs(Sec),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    seq: u64,
    rows: u32,
    columns: Vec<(ColKey, ColDesc)>,
    order: Option<Sec>,
}

/// An open snapshot file.
#[derive(Debug)]
pub(crate) struct Snapshot {
    path: PathBuf,
    bytes: Bytes,
    header: Header,
}

impl Snapshot {
    /// Maps and checks the file at `path`.
    pub fn open(path: &Path) -> Result<Snapshot> {
        let bytes = crate::mmap::map_file(path)?;
        let bad = |d: &str| Error::corrupt(path.display().to_string(), d);
        let n = bytes.len();
        if n < 24 || &bytes[..8] != MAGIC || &bytes[n - 8..] != END_MAGIC {
            return Err(bad("not a complete index snapshot"));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[n - 16..n - 8]);
        let hlen = usize::try_from(u64::from_le_bytes(len)).map_err(|_| bad("header length"))?;
        if hlen > n - 24 {
            return Err(bad("header length out of range"));
        }
        let header: Header = postcard::from_bytes(&bytes[n - 16 - hlen..n - 16])
            .map_err(|e| bad(&format!("header: {e}")))?;
        let snap = Snapshot {
            path: path.to_path_buf(),
            bytes,
            header,
        };
        snap.check_sections()?;
        Ok(snap)
    }

    fn check_sections(&self) -> Result<()> {
        let limit = self.bytes.len() as u64;
        let mut secs: Vec<Sec> = self.header.order.into_iter().collect();
        for (_, d) in &self.header.columns {
            match d {
                ColDesc::U128(s) | ColDesc::U32(s) | ColDesc::U8(s) | ColDesc::I64(s) => {
                    secs.push(*s)
                }
                ColDesc::Inputs(s) => secs.push(*s),
                ColDesc::Text {
                    dict_offsets,
                    dict_bytes,
                    codes,
                } => {
                    secs.push(*dict_offsets);
                    secs.push(*dict_bytes);
                    push_slots(&mut secs, codes);
                }
                ColDesc::Num(s) => push_slots(&mut secs, s),
            }
        }
        for s in secs {
            if s.off.checked_add(s.len).is_none_or(|end| end > limit) {
                return Err(self.bad("section out of range"));
            }
        }
        Ok(())
    }

    fn bad(&self, detail: &str) -> Error {
        Error::corrupt(self.path.display().to_string(), detail)
    }

    /// The commit sequence it reflects.
    pub fn seq(&self) -> u64 {
        self.header.seq
    }

    /// Its number of rows.
    pub fn rows(&self) -> u32 {
        self.header.rows
    }

    /// The columns it holds.
    pub fn column_keys(&self) -> impl Iterator<Item = ColKey> + '_ {
        self.header.columns.iter().map(|(k, _)| *k)
    }

    /// The stored default order, if any.
    pub fn order(&self) -> Result<Option<Vec<u32>>> {
        match self.header.order {
            Some(s) => {
                let v = self.u32s(s)?;
                if v.len() != self.header.rows as usize || v.iter().any(|&r| r >= self.header.rows)
                {
                    return Err(self.bad("order does not cover the rows"));
                }
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }

    /// Decodes column `key`.
    pub fn load(&self, key: ColKey) -> Result<Column> {
        let desc = self
            .header
            .columns
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, d)| d)
            .ok_or_else(|| self.bad("column missing"))?;
        Ok(match desc {
            ColDesc::U128(s) => Column::U128(
                self.sec(*s, 16)?
                    .chunks_exact(16)
                    .map(|c| u128::from_le_bytes(arr(c)))
                    .collect(),
            ),
            ColDesc::U32(s) => Column::U32(self.u32s(*s)?),
            ColDesc::U8(s) => Column::U8(self.sec(*s, 1)?.to_vec()),
            ColDesc::I64(s) => Column::I64(
                self.sec(*s, 8)?
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(arr(c)))
                    .collect(),
            ),
            ColDesc::Text {
                dict_offsets,
                dict_bytes,
                codes,
            } => {
                let offs = self.u32s(*dict_offsets)?;
                let data = self.sec(*dict_bytes, 1)?;
                let mut values = Vec::with_capacity(offs.len().saturating_sub(1));
                for w in offs.windows(2) {
                    let (a, b) = (w[0] as usize, w[1] as usize);
                    let s = data
                        .get(a..b)
                        .and_then(|s| std::str::from_utf8(s).ok())
                        .ok_or_else(|| self.bad("dictionary entry"))?;
                    values.push(Box::from(s));
                }
                let n = values.len() as u32;
                let codes = self.slots(codes, |b| u32::from_le_bytes(arr(b)), 4)?;
                let mut valid = true;
                codes.for_each(|_, c| valid &= c < n || c == NO_CODE);
                if !valid {
                    return Err(self.bad("code out of dictionary range"));
                }
                Column::Text(TextColumn {
                    dict: Dictionary::from_values(values),
                    codes,
                })
            }
            ColDesc::Num(s) => {
                Column::Num(self.slots(s, |b| f64::from_bits(u64::from_le_bytes(arr(b))), 8)?)
            }
            ColDesc::Inputs(s) => {
                let list: Vec<InputEntry> = postcard::from_bytes(&self.sec(*s, 1)?)
                    .map_err(|e| self.bad(&format!("inputs: {e}")))?;
                Column::Inputs(list)
            }
        })
    }

    /// The (dictionary) description of text column `key`.
    fn text_desc(&self, key: ColKey) -> Option<(Sec, Sec)> {
        self.header.columns.iter().find_map(|(k, d)| match d {
            ColDesc::Text {
                dict_offsets,
                dict_bytes,
                ..
            } if *k == key => Some((*dict_offsets, *dict_bytes)),
            _ => None,
        })
    }

    /// How many entries text column `key`'s dictionary has, without
    /// reading it; `None` when the snapshot has no such text column.
    pub fn dict_len(&self, key: ColKey) -> Option<usize> {
        let (offsets, _) = self.text_desc(key)?;
        let bytes = offsets.raw.unwrap_or(offsets.len);
        usize::try_from(bytes / 4).ok().map(|n| n.saturating_sub(1))
    }

    /// Text column `key`'s dictionary alone (not its per-row codes): what
    /// reading a page of runs needs of it.
    pub fn load_texts(&self, key: ColKey) -> Result<TextTable> {
        let (offsets, bytes) = self
            .text_desc(key)
            .ok_or_else(|| self.bad("text column missing"))?;
        let offsets = self.u32s(offsets)?;
        let text = String::from_utf8(self.sec(bytes, 1)?.into_owned())
            .map_err(|_| self.bad("dictionary text"))?;
        TextTable::new(offsets, text).ok_or_else(|| self.bad("dictionary entry"))
    }

    fn sec(&self, s: Sec, width: u64) -> Result<Cow<'_, [u8]>> {
        let (a, b) = (s.off as usize, (s.off + s.len) as usize);
        let stored = self
            .bytes
            .get(a..b)
            .ok_or_else(|| self.bad("section out of range"))?;
        let bytes = match s.raw {
            None => Cow::Borrowed(stored),
            Some(raw) if raw <= MAX_SECTION => {
                let out = zstd::bulk::decompress(stored, raw as usize)
                    .map_err(|e| self.bad(&format!("section does not decompress: {e}")))?;
                if out.len() as u64 != raw {
                    return Err(self.bad("decompressed section length"));
                }
                let out = match s.split {
                    0 | 1 => out,
                    w => unsplit(&out, usize::from(w)).ok_or_else(|| self.bad("split width"))?,
                };
                Cow::Owned(out)
            }
            Some(_) => return Err(self.bad("section too large")),
        };
        if !(bytes.len() as u64).is_multiple_of(width) {
            return Err(self.bad("section length"));
        }
        Ok(bytes)
    }

    fn u32s(&self, s: Sec) -> Result<Vec<u32>> {
        Ok(self
            .sec(s, 4)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(arr(c)))
            .collect())
    }

    fn slots<T: super::column::Missing>(
        &self,
        d: &SlotsDesc,
        read: impl Fn(&[u8]) -> T,
        width: usize,
    ) -> Result<Slots<T>> {
        Ok(match d {
            SlotsDesc::Dense(s) => Slots::Dense(
                self.sec(*s, width as u64)?
                    .chunks_exact(width)
                    .map(&read)
                    .collect(),
            ),
            SlotsDesc::Sparse { rows, vals } => {
                let rows = self.u32s(*rows)?;
                let vals: Vec<T> = self
                    .sec(*vals, width as u64)?
                    .chunks_exact(width)
                    .map(&read)
                    .collect();
                if rows.len() != vals.len() || rows.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(self.bad("sparse column rows"));
                }
                Slots::Sparse { rows, vals }
            }
        })
    }
}

fn push_slots(secs: &mut Vec<Sec>, d: &SlotsDesc) {
    match d {
        SlotsDesc::Dense(s) => secs.push(*s),
        SlotsDesc::Sparse { rows, vals } => {
            secs.push(*rows);
            secs.push(*vals);
        }
    }
}

/// Byte `j` of every `width`-byte value together: `[a0 a1 b0 b1] -> [a0 b0 a1 b1]`.
fn split_bytes(bytes: &[u8], width: usize) -> Vec<u8> {
    let n = bytes.len() / width;
    let mut out = vec![0u8; bytes.len()];
    for (i, value) in bytes.chunks_exact(width).enumerate() {
        for (j, &b) in value.iter().enumerate() {
            out[j * n + i] = b;
        }
    }
    out
}

/// The inverse of [`split_bytes`]; `None` when the length is not whole values.
fn unsplit(bytes: &[u8], width: usize) -> Option<Vec<u8>> {
    if width == 0 || !bytes.len().is_multiple_of(width) {
        return None;
    }
    let n = bytes.len() / width;
    let mut out = vec![0u8; bytes.len()];
    for (i, value) in out.chunks_exact_mut(width).enumerate() {
        for (j, b) in value.iter_mut().enumerate() {
            *b = bytes[j * n + i];
        }
    }
    Some(out)
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

/// Appends aligned sections to a file.
struct SectionWriter {
    out: BufWriter<File>,
    pos: u64,
    path: PathBuf,
}

impl SectionWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes a section of values `width` bytes wide, compressed when that
    /// makes it smaller.
    fn section(&mut self, width: u8, fill: impl FnOnce(&mut Vec<u8>)) -> Result<Sec> {
        let pad = (8 - self.pos % 8) % 8;
        self.write(&[0u8; 8][..pad as usize])?;
        let mut buf = Vec::new();
        fill(&mut buf);
        let mut sec = Sec {
            off: self.pos,
            len: buf.len() as u64,
            raw: None,
            split: 1,
        };
        if buf.len() >= MIN_COMPRESS {
            let split = width > 1 && buf.len().is_multiple_of(usize::from(width));
            let input = if split {
                Cow::Owned(split_bytes(&buf, usize::from(width)))
            } else {
                Cow::Borrowed(buf.as_slice())
            };
            let packed =
                zstd::bulk::compress(&input, ZSTD_LEVEL).map_err(|e| Error::io(&self.path, e))?;
            if packed.len() < buf.len() - buf.len() / 16 {
                sec.len = packed.len() as u64;
                sec.raw = Some(buf.len() as u64);
                sec.split = if split { width } else { 1 };
                self.write(&packed)?;
                return Ok(sec);
            }
        }
        self.write(&buf)?;
        Ok(sec)
    }

    fn slots<T: super::column::Missing>(
        &mut self,
        s: &Slots<T>,
        rows: u32,
        width: u8,
        put: impl Fn(&mut Vec<u8>, T),
    ) -> Result<SlotsDesc> {
        let count = s.count();
        let dense = count > 0 && count * 4 >= rows as usize;
        if dense {
            let sec = self.section(width, |b| {
                let mut next = 0u32;
                s.for_each(|r, v| {
                    while next < r {
                        put(b, T::missing());
                        next += 1;
                    }
                    put(b, v);
                    next = r + 1;
                });
                while next < rows {
                    put(b, T::missing());
                    next += 1;
                }
            })?;
            Ok(SlotsDesc::Dense(sec))
        } else {
            let rows_sec = self.section(4, |b| {
                s.for_each(|r, _| b.extend_from_slice(&r.to_le_bytes()))
            })?;
            let vals_sec = self.section(width, |b| s.for_each(|_, v| put(b, v)))?;
            Ok(SlotsDesc::Sparse {
                rows: rows_sec,
                vals: vals_sec,
            })
        }
    }
}

/// Writes `idx` as a new snapshot in `dir`, returning it opened.
pub(crate) fn write(dir: &Path, idx: &SearchIndex) -> Result<Snapshot> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(format!("{PREFIX}{:016x}{SUFFIX}", idx.seq()));
    let tmp = dir.join(format!(
        "{PREFIX}{:016x}.{}.tmp",
        idx.seq(),
        std::process::id()
    ));
    let order = idx.default_order()?;
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut w = SectionWriter {
        out: BufWriter::with_capacity(1 << 20, file),
        pos: 0,
        path: tmp.clone(),
    };
    w.write(MAGIC)?;
    let rows = idx.rows();
    let mut keys: Vec<ColKey> = idx.column_keys().collect();
    keys.sort_unstable();
    let mut columns = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(col) = idx.column(key)? else {
            continue;
        };
        let desc = match col {
            Column::U128(v) => ColDesc::U128(w.section(16, |b| {
                v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()))
            })?),
            Column::U32(v) => ColDesc::U32(w.section(4, |b| {
                v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()))
            })?),
            Column::U8(v) => ColDesc::U8(w.section(1, |b| b.extend_from_slice(v))?),
            Column::I64(v) => ColDesc::I64(w.section(8, |b| {
                v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()))
            })?),
            Column::Text(t) => {
                let mut offsets = Vec::with_capacity(t.dict.len() + 1);
                let mut total = 0u32;
                offsets.push(0u32);
                for v in t.dict.values() {
                    total = total.saturating_add(v.len() as u32);
                    offsets.push(total);
                }
                let dict_offsets = w.section(4, |b| {
                    offsets
                        .iter()
                        .for_each(|x| b.extend_from_slice(&x.to_le_bytes()))
                })?;
                let dict_bytes = w.section(1, |b| {
                    t.dict
                        .values()
                        .iter()
                        .for_each(|v| b.extend_from_slice(v.as_bytes()))
                })?;
                let codes = w.slots(&t.codes, rows, 4, |b, c: u32| {
                    b.extend_from_slice(&c.to_le_bytes())
                })?;
                ColDesc::Text {
                    dict_offsets,
                    dict_bytes,
                    codes,
                }
            }
            Column::Num(s) => ColDesc::Num(w.slots(s, rows, 8, |b, v: f64| {
                b.extend_from_slice(&v.to_bits().to_le_bytes())
            })?),
            Column::Inputs(list) => {
                let bytes = postcard::to_stdvec(list)
                    .map_err(|e| Error::corrupt("index inputs", format!("encode: {e}")))?;
                ColDesc::Inputs(w.section(1, |b| b.extend_from_slice(&bytes))?)
            }
        };
        columns.push((key, desc));
    }
    let order_sec = w.section(4, |b| {
        order
            .iter()
            .for_each(|x| b.extend_from_slice(&x.to_le_bytes()))
    })?;
    let header = Header {
        seq: idx.seq(),
        rows,
        columns,
        order: Some(order_sec),
    };
    let hbytes = postcard::to_stdvec(&header)
        .map_err(|e| Error::corrupt("index snapshot", format!("encode: {e}")))?;
    w.write(&hbytes)?;
    w.write(&(hbytes.len() as u64).to_le_bytes())?;
    w.write(END_MAGIC)?;
    let file = w
        .out
        .into_inner()
        .map_err(|e| Error::io(&tmp, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    sync_dir(dir)?;
    Snapshot::open(&path)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Snapshot files in `dir` with their sequence numbers, newest first.
fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(hex) = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_suffix(SUFFIX))
            && let Ok(seq) = u64::from_str_radix(hex, 16)
        {
            out.push((seq, entry.path()));
        }
    }
    out.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
    Ok(out)
}

/// Opens the newest valid snapshot whose sequence is at most `max_seq`.
pub(crate) fn open_latest(dir: &Path, max_seq: u64) -> Result<Option<Snapshot>> {
    for (seq, path) in list(dir)? {
        if seq > max_seq {
            continue;
        }
        if let Ok(snap) = Snapshot::open(&path) {
            return Ok(Some(snap));
        }
    }
    Ok(None)
}

/// The newest snapshot's sequence number.
pub(crate) fn latest_seq(dir: &Path) -> Result<Option<u64>> {
    Ok(list(dir)?.first().map(|(s, _)| *s))
}

/// Deletes snapshots older than `seq` and abandoned temporary files.
pub(crate) fn remove_older(dir: &Path, seq: u64) -> Result<()> {
    for (s, path) in list(dir)? {
        if s < seq {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_split_round_trips_and_groups_bytes() {
        let values: Vec<u8> = (0..24u8).collect();
        let split = split_bytes(&values, 8);
        assert_eq!(&split[..3], &[0, 8, 16]);
        assert_eq!(unsplit(&split, 8).unwrap(), values);
        assert!(unsplit(&values[..5], 4).is_none());
        assert!(unsplit(&values, 0).is_none());
    }

    #[test]
    fn compressed_sections_read_back_and_damage_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let file = File::create(&path).unwrap();
        let mut w = SectionWriter {
            out: BufWriter::new(file),
            pos: 0,
            path: path.clone(),
        };
        let words: Vec<u64> = (0..4096u64).map(|i| i % 7).collect();
        let sec = w
            .section(8, |b| {
                words
                    .iter()
                    .for_each(|x| b.extend_from_slice(&x.to_le_bytes()))
            })
            .unwrap();
        assert!(sec.raw.is_some() && sec.len < 4096 * 8 / 4, "{sec:?}");
        let file = w.out.into_inner().unwrap();
        file.sync_all().unwrap();
        let snap = Snapshot {
            path: path.clone(),
            bytes: crate::mmap::map_file(&path).unwrap(),
            header: Header {
                seq: 1,
                rows: 0,
                columns: vec![],
                order: None,
            },
        };
        let back = snap.sec(sec, 8).unwrap();
        let got: Vec<u64> = back
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(arr(c)))
            .collect();
        assert_eq!(got, words);
        let lying = Sec {
            raw: Some(sec.raw.unwrap() + 8),
            ..sec
        };
        assert!(snap.sec(lying, 8).is_err());
        let huge = Sec {
            raw: Some(MAX_SECTION + 1),
            ..sec
        };
        assert!(snap.sec(huge, 8).is_err());
    }
}
