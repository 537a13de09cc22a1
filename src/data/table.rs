//! Delimited text tables with one sample per row and a label column (the
//! layout of sklearn's `digits.csv.gz`: 64 pixel columns, then the label).
//!
//! The delimiter is `,` (`\t` for `.tsv`); a first row with non-numeric
//! feature cells is a header. Labels may be integers or names; names become
//! classes in sorted order.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::array::{Array, Elements, MAX_CLASSES};

/// Which column holds the label.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum LabelColumn {
    /// By position; negative counts from the end (`-1`: last, the default).
    Index(i64),
    /// By header name.
    Name(String),
}

impl Default for LabelColumn {
    fn default() -> Self {
        LabelColumn::Index(-1)
    }
}

/// A table split into features and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// `[n, features]`.
    pub features: Array,
    /// One class index per row.
    pub labels: Vec<u32>,
    /// Class names when the labels were text; empty for integer labels.
    pub class_names: Vec<String>,
}

/// Reads a table; `.gz` files are decompressed.
pub fn read(path: &Path, label: &LabelColumn) -> Result<Table> {
    let bytes = crate::io::read_maybe_gzip(path)?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let delim = if name.ends_with(".tsv") || name.ends_with(".tsv.gz") {
        b'\t'
    } else {
        b','
    };
    let mut rows = records(path, &bytes, delim)?;
    if rows.is_empty() {
        return Err(Error::format(path, "the table is empty"));
    }
    let width = rows[0].1.len();
    if width < 2 {
        return Err(Error::format(
            path,
            "a table needs at least one feature column and a label column",
        ));
    }
    let numeric = |s: &str| s.parse::<f64>().is_ok();
    let header: Option<Vec<String>> = {
        let first = &rows[0].1;
        let non_numeric = first.iter().filter(|f| !numeric(f)).count();
        // A header has (almost) no numbers; a data row at most one text cell (a label).
        (non_numeric > 1 || (width == 2 && non_numeric == 2)).then(|| first.iter().map(str::to_string).collect())
    };
    if header.is_some() {
        rows.remove(0);
    }
    let label_idx = label_index(path, label, width, header.as_deref())?;
    let n = rows.len();
    let mut feats = Vec::with_capacity(n * (width - 1));
    let mut raw_labels = Vec::with_capacity(n);
    for (line, rec) in &rows {
        if rec.len() != width {
            return Err(Error::format(
                path,
                format!("line {line}: {} columns, expected {width}", rec.len()),
            ));
        }
        for (c, field) in rec.iter().enumerate() {
            if c == label_idx {
                raw_labels.push(field.to_string());
                continue;
            }
            let v: f64 = field.parse().map_err(|_| {
                Error::format(
                    path,
                    format!("line {line}, column {}: {field:?} is not a number", c + 1),
                )
            })?;
            feats.push(v);
        }
    }
    let lines: Vec<u64> = rows.iter().map(|(line, _)| *line).collect();
    let (labels, class_names) = class_labels(path, &lines, raw_labels)?;
    Ok(Table {
        features: Array::new(vec![n, width - 1], "float64", Elements::F64(feats)),
        labels,
        class_names,
    })
}

/// The non-blank records of the table, with their line numbers.
fn records(path: &Path, bytes: &[u8], delim: u8) -> Result<Vec<(u64, csv::StringRecord)>> {
    let mut rdr = crate::io::csv::builder(delim, false).from_reader(bytes);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec =
            rec.map_err(|e| Error::format(path, format!("line {}: {e}", e.position().map_or(0, |p| p.line()))))?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        rows.push((line, rec));
    }
    Ok(rows)
}

/// Index of the label column among `width` columns.
fn label_index(path: &Path, label: &LabelColumn, width: usize, header: Option<&[String]>) -> Result<usize> {
    Ok(match label {
        LabelColumn::Index(i) => {
            let idx = if *i < 0 { width as i64 + i } else { *i };
            if idx < 0 || idx >= width as i64 {
                return Err(Error::format(
                    path,
                    format!("label column {i} is outside the {width} columns"),
                ));
            }
            idx as usize
        }
        LabelColumn::Name(n) => header
            .and_then(|h| h.iter().position(|c| c == n))
            .ok_or_else(|| Error::format(path, format!("no column named {n:?} (is there a header row?)")))?,
    })
}

/// Class indices and names from the label cells (`lines` are their line
/// numbers): integer labels stay indices; anything else names classes.
fn class_labels(path: &Path, lines: &[u64], raw_labels: Vec<String>) -> Result<(Vec<u32>, Vec<String>)> {
    let n = raw_labels.len();
    let ints: Option<Vec<i64>> = raw_labels
        .iter()
        .map(|s| s.parse::<f64>().ok().filter(|v| v.fract() == 0.0).map(|v| v as i64))
        .collect();
    Ok(match ints {
        Some(v) => {
            let mut out = Vec::with_capacity(n);
            for (i, &l) in v.iter().enumerate() {
                if l < 0 {
                    return Err(Error::format(path, format!("line {}: label {l} is negative", lines[i])));
                }
                if l >= MAX_CLASSES as i64 {
                    return Err(Error::format(
                        path,
                        format!("line {}: label {l} is not a class index below {MAX_CLASSES}", lines[i]),
                    ));
                }
                out.push(l as u32);
            }
            (out, Vec::new())
        }
        None => {
            let mut names: Vec<String> = raw_labels.clone();
            names.sort();
            names.dedup();
            let labels = raw_labels
                .iter()
                .map(|s| names.binary_search(s).unwrap_or(0) as u32)
                .collect();
            (labels, names)
        }
    })
}
