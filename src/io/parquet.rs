//! Apache Parquet files, the format of the Hugging Face Hub's data sets,
//! through the `parquet` crate's column readers (no arrow): opened from
//! their footer, read one row group at a time and, within a group, a slice
//! of rows at a time ([`ColumnCursor`]), so that memory follows the rows
//! asked for and not the file.
//!
//! Leaf columns are read as numbers (boolean, int32, int64, float, double)
//! or as bytes (binary, string). A column is *scalar* (one value per row),
//! or a *list* (pyarrow's `list`/`fixed_size_list`, one or two levels deep,
//! as `datasets`' `Sequence` and `Array2D` features store): every row of a
//! list column read as an array must hold the same number of values. A null
//! value is an error naming its row.
//!
//! [`TableWriter`] writes tables of `float`/`int64` columns and `float`
//! list columns (pyarrow's `list<float>`) a row group at a time (snappy-compressed, as pyarrow writes by default), under
//! a temporary name renamed into place when complete.
//!
//! For a row-group-level consumer: [`ParquetFile::open`], then
//! [`ParquetFile::group_rows`], then [`ParquetFile::read_f32`] /
//! [`ParquetFile::read_bytes`] (whole groups) or a [`ColumnCursor`] per
//! column (slices of a group).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::column::reader::ColumnReader;
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};

use crate::error::{Error, Result};

/// What one leaf column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// Booleans, integers or floats, read as numbers.
    Numeric,
    /// Byte strings (`binary`, `string`), e.g. PNG files.
    Bytes,
    /// Anything else (int96, fixed-length byte arrays).
    Other,
}

/// A leaf column of a Parquet file's schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The top-level field this leaf belongs to (`image` for `image.bytes`).
    pub field: String,
    /// The dotted path of the leaf (`image.bytes`, `x.list.element`).
    pub path: String,
    /// What the leaf holds.
    pub kind: ColumnKind,
    /// List levels above the leaf (0: one value per row).
    pub depth: usize,
    max_def: i16,
}

/// A Parquet file opened for reading: its schema and row groups, from the footer.
pub struct ParquetFile {
    path: PathBuf,
    reader: SerializedFileReader<File>,
    columns: Vec<Column>,
    group_rows: Vec<usize>,
}

/// The one-line error of a Parquet failure in `path`.
pub(crate) fn pq_err(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> Error + '_ {
    move |e| Error::format(path, format!("corrupt or unreadable Parquet: {e}"))
}

/// True when `path` starts with Parquet's magic bytes (`PAR1`).
pub fn is_parquet(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|_| &magic == b"PAR1")
}

impl ParquetFile {
    /// Opens `path` and reads its footer; checks that the row groups'
    /// counts add up to the file's and that each could be in the file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if !is_parquet(path) {
            return Err(Error::format(path, "not a Parquet file (no PAR1 magic)"));
        }
        let reader = SerializedFileReader::new(file).map_err(pq_err(path))?;
        let meta = reader.metadata();
        let columns = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| {
                use parquet::basic::Type as T;
                let kind = match c.physical_type() {
                    T::BOOLEAN | T::INT32 | T::INT64 | T::FLOAT | T::DOUBLE => ColumnKind::Numeric,
                    T::BYTE_ARRAY => ColumnKind::Bytes,
                    _ => ColumnKind::Other,
                };
                Column {
                    field: c.path().parts().first().cloned().unwrap_or_default(),
                    path: c.path().string(),
                    kind,
                    depth: c.max_rep_level().max(0) as usize,
                    max_def: c.max_def_level(),
                }
            })
            .collect();
        let mut group_rows = Vec::with_capacity(meta.num_row_groups());
        let mut total: u64 = 0;
        for (g, rg) in meta.row_groups().iter().enumerate() {
            let rows = u64::try_from(rg.num_rows()).ok();
            let stored = u64::try_from(rg.compressed_size()).ok();
            let (Some(rows), Some(stored)) = (rows, stored) else {
                return Err(Error::format(path, format!("row group {g} declares a negative size")));
            };
            if stored > file_len {
                return Err(Error::format(
                    path,
                    format!("row group {g} declares {stored} bytes, more than the {file_len}-byte file"),
                ));
            }
            for (c, col) in rg.columns().iter().enumerate() {
                let start = col.dictionary_page_offset().unwrap_or(col.data_page_offset());
                let (start, len) = (u64::try_from(start).ok(), u64::try_from(col.compressed_size()).ok());
                let data = u64::try_from(col.data_page_offset()).ok();
                let end = start.zip(len).and_then(|(s, l)| s.checked_add(l));
                if data.is_none() || end.is_none_or(|e| e > file_len) {
                    return Err(Error::format(
                        path,
                        format!("row group {g}, column {c}: its pages lie outside the {file_len}-byte file"),
                    ));
                }
            }
            total = total.saturating_add(rows);
            group_rows.push(rows as usize);
        }
        let declared = meta.file_metadata().num_rows();
        if u64::try_from(declared).ok() != Some(total) {
            return Err(Error::format(
                path,
                format!("the footer declares {declared} rows, its row groups {total}"),
            ));
        }
        Ok(ParquetFile {
            path: path.to_path_buf(),
            reader,
            columns,
            group_rows,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The leaf columns, in schema order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Index of the leaf column whose dotted path is `name`, or of the only
    /// leaf of the top-level field `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.columns.iter().position(|c| c.path == name) {
            return Some(i);
        }
        let mut leaves = self.columns.iter().enumerate().filter(|(_, c)| c.field == name);
        match (leaves.next(), leaves.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    /// Number of rows in each row group.
    pub fn group_rows(&self) -> &[usize] {
        &self.group_rows
    }

    /// Number of rows in the file.
    pub fn rows(&self) -> usize {
        self.group_rows.iter().sum()
    }

    /// A metadata value of the footer (`huggingface`, `pandas`, …).
    pub fn metadata(&self, key: &str) -> Option<String> {
        let kv = self.reader.metadata().file_metadata().key_value_metadata()?;
        kv.iter().find(|k| k.key == key).and_then(|k| k.value.clone())
    }

    /// A cursor over column `col` of row group `group`.
    pub fn cursor(&self, group: usize, col: usize) -> Result<ColumnCursor> {
        let column = self
            .columns
            .get(col)
            .ok_or_else(|| Error::format(&self.path, format!("no column {col}")))?
            .clone();
        if group >= self.group_rows.len() {
            return Err(Error::format(&self.path, format!("no row group {group}")));
        }
        let first = self.group_rows[..group].iter().sum();
        let err = pq_err(&self.path);
        let row_group = self.reader.get_row_group(group).map_err(&err)?;
        self.check_first_page(row_group.as_ref(), group, col)?;
        let reader = row_group.get_column_reader(col).map_err(&err)?;
        Ok(ColumnCursor {
            path: self.path.clone(),
            column,
            reader,
            rows: self.group_rows[group],
            next: first,
            end: first + self.group_rows[group],
            def: Vec::new(),
            rep: Vec::new(),
        })
    }

    /// A column chunk whose first page is a data page encoded with a
    /// dictionary has lost its dictionary: an error here, where the
    /// `parquet` crate would panic.
    fn check_first_page(&self, row_group: &dyn RowGroupReader, group: usize, col: usize) -> Result<()> {
        use parquet::basic::{Encoding, PageType};
        let mut pages = row_group.get_column_page_reader(col).map_err(pq_err(&self.path))?;
        let Some(page) = pages.get_next_page().map_err(pq_err(&self.path))? else {
            return Ok(());
        };
        let dict = matches!(page.encoding(), Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY);
        if page.page_type() != PageType::DICTIONARY_PAGE && dict {
            return Err(Error::format(
                &self.path,
                format!("row group {group}, column {col}: a dictionary-encoded page without its dictionary"),
            ));
        }
        Ok(())
    }

    /// Every row of a numeric column (scalar or list) in row group `group`
    /// as `f32`, with the number of values per row.
    pub fn read_f32(&self, group: usize, col: usize) -> Result<(Vec<f32>, usize)> {
        let mut cursor = self.cursor(group, col)?;
        let mut out = Vec::new();
        let mut row_len = None;
        let mut buf = Vec::new();
        while let Some(len) = cursor.numbers(4096, &mut buf)? {
            if *row_len.get_or_insert(len) != len {
                return Err(cursor.ragged(row_len.unwrap_or(0), len));
            }
            out.extend(buf.drain(..).map(|v| v as f32));
        }
        Ok((out, row_len.unwrap_or(0)))
    }

    /// Every row of a byte-string column in row group `group`.
    pub fn read_bytes(&self, group: usize, col: usize) -> Result<Vec<Vec<u8>>> {
        let mut cursor = self.cursor(group, col)?;
        let mut out = Vec::new();
        while cursor.bytes(4096, &mut out)? > 0 {}
        Ok(out)
    }
}

/// Reads one column of one row group, a slice of rows at a time.
pub struct ColumnCursor {
    path: PathBuf,
    column: Column,
    reader: ColumnReader,
    rows: usize,
    next: usize,
    end: usize,
    def: Vec<i16>,
    rep: Vec<i16>,
}

impl ColumnCursor {
    /// Rows in this cursor's row group.
    pub fn group_len(&self) -> usize {
        self.rows
    }

    /// Index in the file of the next row to be read.
    pub fn position(&self) -> usize {
        self.next
    }

    /// Index in the file of the row after this cursor's row group.
    pub fn group_end(&self) -> usize {
        self.end
    }

    fn ragged(&self, first: usize, len: usize) -> Error {
        Error::format(
            &self.path,
            format!(
                "column {}: rows of {len} and of {first} values; an array column needs one length",
                self.column.path
            ),
        )
    }

    /// The next at most `max` rows of a numeric column, their values appended
    /// to `out` (flattened); returns the number of values per row, or `None`
    /// at the end of the group. Rows of unequal length are an error.
    pub fn numbers(&mut self, max: usize, out: &mut Vec<f64>) -> Result<Option<usize>> {
        let want = max.min(self.end - self.next);
        if want == 0 {
            return Ok(None);
        }
        self.def.clear();
        self.rep.clear();
        let (def, rep) = (Some(&mut self.def), Some(&mut self.rep));
        let start = out.len();
        macro_rules! read {
            ($r:expr, $conv:expr) => {{
                let mut v = Vec::new();
                let n = $r
                    .read_records(want, def, rep, &mut v)
                    .map_err(pq_err(&self.path))?;
                out.extend(v.into_iter().map($conv));
                n
            }};
        }
        let (records, _, levels) = match &mut self.reader {
            ColumnReader::FloatColumnReader(r) => read!(r, f64::from),
            ColumnReader::DoubleColumnReader(r) => read!(r, |x| x),
            ColumnReader::Int32ColumnReader(r) => read!(r, f64::from),
            ColumnReader::Int64ColumnReader(r) => read!(r, |x| x as f64),
            ColumnReader::BoolColumnReader(r) => read!(r, |x| f64::from(u8::from(x))),
            _ => {
                return Err(Error::format(
                    &self.path,
                    format!("column {} is not numeric", self.column.path),
                ));
            }
        };
        let len = self.row_lengths(records, levels, out.len() - start)?;
        Ok(Some(len))
    }

    /// The next at most `max` rows of a byte-string column appended to
    /// `out`; returns how many were read (0 at the end of the group).
    pub fn bytes(&mut self, max: usize, out: &mut Vec<Vec<u8>>) -> Result<usize> {
        let want = max.min(self.end - self.next);
        if want == 0 {
            return Ok(0);
        }
        self.def.clear();
        self.rep.clear();
        let ColumnReader::ByteArrayColumnReader(r) = &mut self.reader else {
            return Err(Error::format(
                &self.path,
                format!("column {} does not hold bytes", self.column.path),
            ));
        };
        let mut v = Vec::new();
        let (records, values, levels) = r
            .read_records(want, Some(&mut self.def), Some(&mut self.rep), &mut v)
            .map_err(pq_err(&self.path))?;
        if self.column.depth > 0 {
            return Err(Error::format(
                &self.path,
                format!(
                    "column {} holds lists of byte strings, not one per row",
                    self.column.path
                ),
            ));
        }
        self.row_lengths(records, levels, values)?;
        out.extend(v.into_iter().map(|b| b.data().to_vec()));
        Ok(records)
    }

    /// Checks the levels of `records` rows just read (no nulls, rows of one
    /// length) and returns that length; advances the cursor.
    fn row_lengths(&mut self, records: usize, levels: usize, values: usize) -> Result<usize> {
        let first = self.next;
        if records == 0 {
            return Err(Error::format(
                &self.path,
                format!(
                    "column {}: the row group ends at row {first}, before its declared {} rows",
                    self.column.path, self.rows
                ),
            ));
        }
        let max_def = self.column.max_def;
        let null = |row: usize| {
            Error::format(
                &self.path,
                format!("column {}: row {row} holds a null value", self.column.path),
            )
        };
        let len = if self.column.depth == 0 {
            if let Some(r) = self.def.iter().take(levels).position(|&d| d < max_def) {
                return Err(null(first + r));
            }
            1
        } else {
            // A row starts at repetition level 0; an empty list is one level
            // below the leaf's definition level and no value.
            let mut row_len: Option<usize> = None;
            let (mut row, mut count, mut empty) = (first, 0usize, false);
            for i in 0..=levels {
                if i == levels || (i > 0 && self.rep.get(i) == Some(&0)) {
                    let len = if empty { 0 } else { count };
                    if *row_len.get_or_insert(len) != len {
                        return Err(self.ragged(row_len.unwrap_or(0), len));
                    }
                    if i == levels {
                        break;
                    }
                    (row, count, empty) = (row + 1, 0, false);
                }
                if self.def.get(i).copied().unwrap_or(max_def) == max_def {
                    count += 1;
                } else if count == 0 && self.rep.get(i + 1).is_none_or(|&r| r == 0) && !empty {
                    empty = true;
                } else {
                    return Err(null(row));
                }
            }
            row_len.unwrap_or(0)
        };
        if values != records * len {
            return Err(Error::format(
                &self.path,
                format!("column {}: {values} values for {records} rows", self.column.path),
            ));
        }
        self.next += records;
        Ok(len)
    }
}

/// The element type of a [`TableWriter`] column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteType {
    /// `float` (32-bit).
    F32,
    /// `int64`.
    I64,
    /// A list of `float`s per row (pyarrow's `list<float>`, three-level).
    F32List,
}

/// Writes a table (`float`, `int64` and `float` list columns, no nulls) a
/// row group at a time, snappy-compressed, under a temporary name.
pub struct TableWriter {
    final_path: PathBuf,
    temp: PathBuf,
    writer: parquet::file::writer::SerializedFileWriter<File>,
    types: Vec<WriteType>,
}

/// The values of one column of a row group.
pub enum ColumnValues<'a> {
    /// Values of a [`WriteType::F32`] column.
    F32(&'a [f32]),
    /// Values of a [`WriteType::I64`] column.
    I64(&'a [i64]),
    /// Values of a [`WriteType::F32List`] column, `len` (at least 1) per
    /// row, rows one after another.
    F32List {
        /// Every row's values.
        values: &'a [f32],
        /// Values per row.
        len: usize,
    },
}

impl TableWriter {
    /// Creates `path` (under a temporary name) for `columns` (name and type).
    pub fn create(path: &Path, columns: &[(String, WriteType)]) -> Result<Self> {
        use parquet::basic::Compression;
        use parquet::file::properties::WriterProperties;
        let fields: String = columns
            .iter()
            .map(|(name, t)| match t {
                WriteType::F32 => format!("required float {name}; "),
                WriteType::I64 => format!("required int64 {name}; "),
                WriteType::F32List => {
                    format!("required group {name} (LIST) {{ repeated group list {{ required float element; }} }} ")
                }
            })
            .collect();
        let err = pq_err(path);
        let schema = parquet::schema::parser::parse_message_type(&format!("message schema {{ {fields}}}"))
            .map_err(|e| Error::invalid("Parquet columns", e.to_string()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by("striate".into())
            .build();
        let temp = crate::atomic::temp_path(path);
        let file = File::create(&temp).map_err(|e| Error::io(&temp, e))?;
        let writer =
            parquet::file::writer::SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).map_err(&err)?;
        Ok(TableWriter {
            final_path: path.to_path_buf(),
            temp,
            writer,
            types: columns.iter().map(|c| c.1).collect(),
        })
    }

    /// Writes one row group: the values of every column, in order, all of one length.
    pub fn write_group(&mut self, values: &[ColumnValues<'_>]) -> Result<()> {
        use parquet::data_type::{FloatType, Int64Type};
        let path = self.final_path.clone();
        let err = pq_err(&path);
        if values.len() != self.types.len() {
            return Err(Error::internal(
                "writing a Parquet row group",
                format!("{} columns given, the schema has {}", values.len(), self.types.len()),
            ));
        }
        let mut group = self.writer.next_row_group().map_err(&err)?;
        for v in values {
            let Some(mut col) = group.next_column().map_err(&err)? else {
                break;
            };
            match v {
                ColumnValues::F32(x) => col.typed::<FloatType>().write_batch(x, None, None),
                ColumnValues::I64(x) => col.typed::<Int64Type>().write_batch(x, None, None),
                ColumnValues::F32List { values, len } => {
                    if *len == 0 || values.len() % len != 0 {
                        return Err(Error::internal(
                            "writing a Parquet list column",
                            format!("{} values in rows of {len}", values.len()),
                        ));
                    }
                    // Every value is defined (level 1); a row starts at repetition level 0.
                    let def = vec![1i16; values.len()];
                    let rep: Vec<i16> = (0..values.len()).map(|i| i16::from(i % len != 0)).collect();
                    col.typed::<FloatType>().write_batch(values, Some(&def), Some(&rep))
                }
            }
            .map_err(&err)?;
            col.close().map_err(&err)?;
        }
        group.close().map_err(&err)?;
        Ok(())
    }

    /// Completes the file and renames it into place.
    pub fn finish(self) -> Result<PathBuf> {
        let path = self.final_path;
        self.writer.close().map_err(pq_err(&path))?;
        std::fs::rename(&self.temp, &path).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }
}
