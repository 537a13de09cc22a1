//! Tables that pandas writes with `HDFStore` (key `table`), read a batch of
//! rows at a time: the `table` format (one compound dataset `/table/table`,
//! column names pickled into `values_block_K_kind` attributes) and the
//! `fixed` format (`/table/blockK_items` naming the columns of
//! `/table/blockK_values`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::tensor::checked_numel;

/// The stored type of a numeric pandas column.
#[derive(Clone, Copy, Debug)]
enum ColumnType {
    F32,
    F64,
    I64,
}

impl ColumnType {
    fn of(dt: &hdf5_pure::Datatype) -> Option<Self> {
        use hdf5_pure::Datatype as D;
        match dt {
            D::FloatingPoint { size: 4, .. } => Some(ColumnType::F32),
            D::FloatingPoint { size: 8, .. } => Some(ColumnType::F64),
            D::FixedPoint { size: 8, .. } => Some(ColumnType::I64),
            _ => None,
        }
    }

    fn width(self) -> usize {
        match self {
            ColumnType::F32 => 4,
            _ => 8,
        }
    }

    fn read(self, bytes: &[u8], at: usize) -> f64 {
        match self {
            ColumnType::F32 => f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4])) as f64,
            ColumnType::F64 => f64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8])),
            ColumnType::I64 => i64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8])) as f64,
        }
    }
}

enum Layout {
    /// `/table/table`: records of `size` bytes; column `c` at `offsets[c]`.
    Table {
        size: usize,
        offsets: Vec<(usize, ColumnType)>,
    },
    /// `/table/blockK_values`: each column as (block, index within block).
    Fixed {
        blocks: Vec<(String, usize, ColumnType)>,
        at: Vec<(usize, usize)>,
    },
}

/// What [`PandasTable::read_rows`] calls per row: the row's index in the
/// file and a getter of its column values.
pub type RowVisitor<'a> = dyn FnMut(usize, &dyn Fn(usize) -> f64) -> Result<()> + 'a;

/// A pandas HDF5 table opened for reading rows in batches.
pub struct PandasTable {
    path: PathBuf,
    file: hdf5_pure::File,
    layout: Layout,
    names: Vec<String>,
    n: usize,
    next: usize,
}

/// Names in a pickle (protocol 0) of a list of strings, as pandas stores
/// column names in attributes: the `V…` tokens up to each newline.
fn pickled_names(s: &str) -> Vec<String> {
    s.split('\n')
        .filter_map(|line| line.strip_prefix('V').or_else(|| line.strip_prefix("aV")))
        .map(str::to_string)
        .collect()
}

fn attr_text(v: &hdf5_pure::AttrValue) -> Option<String> {
    use hdf5_pure::AttrValue as A;
    match v {
        A::String(s) | A::AsciiString(s) => Some(s.clone()),
        A::StringSized { value, .. } => Some(value.clone()),
        A::U8Array(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

fn h5err(path: &Path) -> impl Fn(hdf5_pure::Error) -> Error + '_ {
    move |e| Error::format(path, format!("HDF5: {e}"))
}

/// Refuses `n` rows of `row_bytes` each that could not be in the file, even
/// compressed, or rows of no bytes.
fn check_rows(path: &Path, what: &str, n: usize, row_bytes: usize) -> Result<()> {
    let file_len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    let total = (n as u64).checked_mul(row_bytes as u64);
    if row_bytes == 0 || total.is_none_or(|t| t > file_len.saturating_mul(crate::io::MAX_INFLATE_RATIO)) {
        return Err(Error::format(
            path,
            format!("{what} declares {n} rows of {row_bytes} bytes, which a {file_len}-byte file cannot hold"),
        ));
    }
    Ok(())
}

/// The `table` format: column names and offsets inside each record.
fn table_layout(path: &Path, ds: &hdf5_pure::Dataset) -> Result<(Layout, Vec<String>, usize)> {
    let h5 = h5err(path);
    let attrs = ds.attrs().map_err(&h5)?;
    let hdf5_pure::Datatype::Compound { size, members } = ds.datatype().map_err(&h5)? else {
        return Err(Error::format(path, "/table/table is not a compound dataset"));
    };
    let mut names = Vec::new();
    let mut offsets = Vec::new();
    for m in &members {
        let (base, count) = match &m.datatype {
            hdf5_pure::Datatype::Array { base_type, dimensions } => {
                let dims: Vec<usize> = dimensions.iter().map(|&d| d as usize).collect();
                (base_type.as_ref(), checked_numel(&dims).unwrap_or(usize::MAX))
            }
            other => (other, 1),
        };
        let Some(t) = ColumnType::of(base) else { continue };
        let end = count
            .checked_mul(t.width())
            .and_then(|b| b.checked_add(m.byte_offset as usize));
        if end.is_none_or(|end| end > size as usize) {
            return Err(Error::format(
                path,
                format!("column block {} does not fit its {size}-byte records", m.name),
            ));
        }
        let block_names = attrs
            .get(&format!("{}_kind", m.name))
            .and_then(attr_text)
            .map(|s| pickled_names(&s))
            .unwrap_or_default();
        for k in 0..count {
            names.push(
                block_names
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| format!("{}[{k}]", m.name)),
            );
            offsets.push((m.byte_offset as usize + k * t.width(), t));
        }
    }
    let n = ds.shape().map_err(&h5)?.first().copied().unwrap_or(0) as usize;
    check_rows(path, "/table/table", n, size as usize)?;
    let layout = Layout::Table {
        size: size as usize,
        offsets,
    };
    Ok((layout, names, n))
}

/// The `fixed` format: `/table/blockK_items` name the columns of `blockK_values`.
fn fixed_layout(path: &Path, file: &hdf5_pure::File) -> Result<(Layout, Vec<String>, usize)> {
    let h5 = h5err(path);
    let mut names = Vec::new();
    let mut blocks = Vec::new();
    let mut at = Vec::new();
    let mut n = 0;
    for k in 0.. {
        let (Ok(items), Ok(values)) = (
            file.dataset(&format!("table/block{k}_items")),
            file.dataset(&format!("table/block{k}_values")),
        ) else {
            break;
        };
        let item_names = items.read_string().map_err(&h5)?;
        let shape = values.shape().map_err(&h5)?;
        let t = values
            .datatype()
            .ok()
            .as_ref()
            .and_then(ColumnType::of)
            .ok_or_else(|| Error::format(path, format!("block{k}_values has a type striate cannot read")))?;
        let rows = shape.first().copied().unwrap_or(0) as usize;
        let width = shape.get(1).copied().unwrap_or(1) as usize;
        if k > 0 && rows != n {
            return Err(Error::format(
                path,
                format!("block{k}_values has {rows} rows, block0 {n}"),
            ));
        }
        n = rows;
        if item_names.len() > width {
            return Err(Error::format(
                path,
                format!(
                    "block{k}_items names {} columns, block{k}_values has {width}",
                    item_names.len()
                ),
            ));
        }
        check_rows(path, &format!("block{k}_values"), n, width.saturating_mul(t.width()))?;
        for (i, name) in item_names.into_iter().enumerate() {
            names.push(name);
            at.push((blocks.len(), i));
        }
        blocks.push((format!("table/block{k}_values"), width, t));
    }
    if blocks.is_empty() {
        return Err(Error::format(
            path,
            "neither /table/table nor /table/block0_values: not a pandas jet-constituent file",
        ));
    }
    Ok((Layout::Fixed { blocks, at }, names, n))
}

/// An error when a window of rows read back shorter than its rows need.
fn short_read(path: &Path, what: &str, got: usize, need: usize) -> Result<()> {
    if got < need {
        return Err(Error::format(
            path,
            format!("{what}: read {got} bytes where the rows need {need}"),
        ));
    }
    Ok(())
}

impl PandasTable {
    /// Opens the table under key `table` of `path`, streaming.
    pub fn open(path: &Path) -> Result<Self> {
        let file = hdf5_pure::File::open_streaming(path).map_err(h5err(path))?;
        let (layout, names, n) = match file.dataset("table/table") {
            Ok(ds) => table_layout(path, &ds)?,
            Err(_) => fixed_layout(path, &file)?,
        };
        Ok(PandasTable {
            path: path.to_path_buf(),
            file,
            layout,
            names,
            n,
            next: 0,
        })
    }

    /// The numeric columns' names, in the order [`Self::read_rows`] indexes them.
    pub fn column_names(&self) -> &[String] {
        &self.names
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Index of the next row to be read.
    pub fn position(&self) -> usize {
        self.next
    }

    /// Reads the next at most `max` rows, handing each to `row` with its
    /// index in the file and a getter of its column values; returns `false`
    /// at the end of the table.
    pub fn read_rows(&mut self, max: usize, row: &mut RowVisitor<'_>) -> Result<bool> {
        let Some(rows) = super::super::rows_left(self.next, self.n, max) else {
            return Ok(false);
        };
        let h5 = h5err(&self.path);
        match &self.layout {
            Layout::Table { size, offsets } => {
                let ds = self.file.dataset("table/table").map_err(&h5)?;
                let raw = ds.read_raw_rows(self.next as u64, rows as u64).map_err(&h5)?;
                short_read(&self.path, "/table/table", raw.len(), rows * size)?;
                for (r, rec) in raw.chunks_exact(*size).enumerate() {
                    row(self.next + r, &|c: usize| offsets[c].1.read(rec, offsets[c].0))?;
                }
            }
            Layout::Fixed { blocks, at } => {
                let mut data = Vec::new();
                for (name, width, t) in blocks {
                    let ds = self.file.dataset(name).map_err(&h5)?;
                    let raw = ds.read_raw_rows(self.next as u64, rows as u64).map_err(&h5)?;
                    short_read(&self.path, name, raw.len(), rows * width * t.width())?;
                    data.push((raw, *width, *t));
                }
                for r in 0..rows {
                    let get = |c: usize| {
                        let (b, i) = at[c];
                        let (raw, width, t) = &data[b];
                        t.read(raw, (r * width + i) * t.width())
                    };
                    row(self.next + r, &get)?;
                }
            }
        }
        self.next += rows;
        Ok(true)
    }
}

/// `names` as pandas pickles a list of strings (protocol 0) into a
/// `values_block_K_kind` attribute; [`pickled_names`] reads it back.
fn pickle_names(names: &[String]) -> String {
    let mut s = String::from("(lp1\n");
    for (k, n) in names.iter().enumerate() {
        s.push_str(&format!("V{n}\np{}\na", k + 2));
    }
    s.push('.');
    s
}

/// Writes a pandas `table`-format HDFStore under key `table` as the Top
/// Quark Tagging files hold it: one compound dataset `/table/table` of
/// records (`index` int64, `values_block_0` float32 columns,
/// `values_block_1` int64 columns), chunked, LZF-compressed and appended a
/// batch of rows at a time; written under a temporary name and renamed
/// into place when complete. Readable by [`PandasTable`].
pub struct PandasWriter {
    final_path: PathBuf,
    temp: PathBuf,
    file: hdf5_pure::File,
    floats: usize,
    ints: usize,
    rows: usize,
}

impl PandasWriter {
    /// Creates `path` (under a temporary name) with the named float32 and
    /// int64 columns, in chunks of `chunk_rows` records.
    pub fn create(path: &Path, floats: &[String], ints: &[String], chunk_rows: usize) -> Result<Self> {
        let h5 = h5err(path);
        let array = |base: hdf5_pure::Datatype, n: usize| hdf5_pure::Datatype::Array {
            base_type: Box::new(base),
            dimensions: vec![n as u32],
        };
        let (f_at, i_at) = (8u64, 8 + 4 * floats.len() as u64);
        let size = i_at + 8 * ints.len() as u64;
        let size = u32::try_from(size).map_err(|_| Error::invalid("pandas columns", "too many columns"))?;
        let dtype = hdf5_pure::CompoundTypeBuilder::with_size(size)
            .i64_field("index", 0)
            .field("values_block_0", f_at, array(hdf5_pure::make_f32_type(), floats.len()))
            .field("values_block_1", i_at, array(hdf5_pure::make_i64_type(), ints.len()))
            .build()
            .map_err(|e| Error::invalid("pandas columns", e.to_string()))?;
        let temp = crate::atomic::temp_path(path);
        let mut b = hdf5_pure::FileBuilder::new();
        let mut group = b.create_group("table");
        group
            .create_dataset("table")
            .with_dtype(dtype)
            .with_shape(&[0])
            .with_maxshape(&[hdf5_pure::MaxExtent::Unlimited])
            .with_chunks(&[chunk_rows.max(1) as u64])
            .with_lzf()
            .set_attr(
                "values_block_0_kind",
                hdf5_pure::AttrValue::String(pickle_names(floats)),
            )
            .set_attr("values_block_1_kind", hdf5_pure::AttrValue::String(pickle_names(ints)));
        b.add_group(group.finish());
        b.write(&temp).map_err(&h5)?;
        let file = hdf5_pure::File::open_rw(&temp).map_err(&h5)?;
        Ok(PandasWriter {
            final_path: path.to_path_buf(),
            temp,
            file,
            floats: floats.len(),
            ints: ints.len(),
            rows: 0,
        })
    }

    /// Appends rows: `floats` and `ints` row-major, as many rows of each.
    pub fn append(&mut self, floats: &[f32], ints: &[i64]) -> Result<()> {
        let n = floats.len() / self.floats.max(1);
        if floats.len() != n * self.floats || ints.len() != n * self.ints {
            return Err(Error::internal(
                "appending pandas rows",
                format!("{} floats and {} ints are not whole rows", floats.len(), ints.len()),
            ));
        }
        let mut raw = Vec::with_capacity(n * (8 + 4 * self.floats + 8 * self.ints));
        for r in 0..n {
            raw.extend_from_slice(&((self.rows + r) as i64).to_le_bytes());
            for v in &floats[r * self.floats..(r + 1) * self.floats] {
                raw.extend_from_slice(&v.to_le_bytes());
            }
            for v in &ints[r * self.ints..(r + 1) * self.ints] {
                raw.extend_from_slice(&v.to_le_bytes());
            }
        }
        let h5 = h5err(&self.final_path);
        self.file
            .dataset("table/table")
            .map_err(&h5)?
            .append_raw(&raw)
            .map_err(&h5)?;
        self.rows += n;
        Ok(())
    }

    /// Closes the file and renames it into place.
    pub fn finish(self) -> Result<PathBuf> {
        let path = self.final_path;
        self.file.close().map_err(h5err(&path))?;
        std::fs::rename(&self.temp, &path).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }
}
