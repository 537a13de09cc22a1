//! Time-series files of the UCR/UEA archive.
//!
//! - `.ts` (sktime/aeon): `#` comments, `@` header tags up to `@data`, then
//!   one case per line: values `,`-separated, dimensions `:`-separated, the
//!   class label after the last `:`. Class names come from `@classLabel` in
//!   their declared order.
//! - classic UCR text (`.txt`, `.tsv`, or no extension): one case per line,
//!   label first, values separated by commas, tabs or spaces; class names are
//!   the distinct labels in numeric order. Trailing `NaN`s (the 2018
//!   archive's padding of short series) are dropped.
//!
//! Series must have equal lengths, unless `pad` zero-pads shorter ones at
//! the end to the longest length.
//!
//! Samples come out as `[n, dimensions, length]`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::array::{Array, Elements};
use crate::tensor::checked_numel;

/// Series with labels and class names.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSet {
    /// Values as `f32`, `[n, dimensions, length]`.
    pub x: Array,
    /// Class index of each series, into `class_names`.
    pub labels: Vec<u32>,
    /// Class names, in label order (declared order for `.ts`, numeric order for UCR text).
    pub class_names: Vec<String>,
}

fn bad(path: &Path, line: usize, detail: impl std::fmt::Display) -> Error {
    Error::format(path, format!("line {line}: {detail}"))
}

fn parse_value(path: &Path, line: usize, tok: &str, missing_ok: bool) -> Result<f64> {
    let t = tok.trim();
    if t == "?" || t.eq_ignore_ascii_case("nan") {
        if missing_ok {
            return Ok(f64::NAN);
        }
        return Err(bad(
            path,
            line,
            format!("missing value {t:?} (the file does not declare @missing true)"),
        ));
    }
    t.parse::<f64>()
        .map_err(|_| bad(path, line, format!("{t:?} is not a number")))
}

/// How many times the values in a file padding may make them.
const MAX_PADDING: usize = 64;

/// Stacks cases (each a list of dimensions) into `[n, dims, length]`.
fn stack(path: &Path, cases: Vec<(usize, Vec<Vec<f64>>)>, pad: bool) -> Result<Array> {
    let dims = cases[0].1.len();
    let longest = cases
        .iter()
        .flat_map(|(_, d)| d.iter().map(Vec::len))
        .max()
        .unwrap_or(0);
    let first_len = cases[0].1.first().map_or(0, Vec::len);
    // Padding multiplies the data: a stray long series must not turn a small
    // file into terabytes. Allow what plausible unequal lengths need.
    let present: usize = cases.iter().flat_map(|(_, d)| d.iter().map(Vec::len)).sum();
    let padded = checked_numel(&[cases.len(), dims, longest]).unwrap_or(usize::MAX);
    if padded > present.saturating_mul(MAX_PADDING).max(1 << 20) {
        return Err(Error::format(
            path,
            format!(
                "padding {} cases to length {longest} needs {padded} values, more than {MAX_PADDING} times the {present} in the file",
                cases.len()
            ),
        ));
    }
    let mut data = Vec::with_capacity(padded);
    for (line, case) in &cases {
        if case.len() != dims {
            return Err(bad(
                path,
                *line,
                format!("{} dimensions, the first case has {dims}", case.len()),
            ));
        }
        for d in case {
            if d.is_empty() {
                return Err(bad(path, *line, "an empty series"));
            }
            if d.len() != first_len && !pad {
                return Err(bad(
                    path,
                    *line,
                    format!(
                        "series of length {}, the first has {first_len}; pass --pad-series to zero-pad",
                        d.len()
                    ),
                ));
            }
            data.extend_from_slice(d);
            data.extend(std::iter::repeat_n(0.0, longest - d.len()));
        }
    }
    Ok(Array::new(
        vec![cases.len(), dims, longest],
        "float64",
        Elements::F64(data),
    ))
}

/// Reads a `.ts` file, gzip-compressed or not.
pub fn read_ts(path: &Path, pad: bool) -> Result<SeriesSet> {
    let bytes = crate::io::read_maybe_gzip(path)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::format(path, "not UTF-8 text"))?;
    let mut class_names: Option<Vec<String>> = None;
    let mut missing_ok = false;
    let mut in_data = false;
    let mut cases = Vec::new();
    let mut raw_labels = Vec::new();
    for (i, raw_line) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_data {
            let Some(tag) = line.strip_prefix('@') else {
                return Err(bad(path, n, "data before @data"));
            };
            let mut words = tag.split_whitespace();
            let name = words.next().unwrap_or("").to_ascii_lowercase();
            let rest: Vec<&str> = words.collect();
            let flag = rest.first().is_some_and(|w| w.eq_ignore_ascii_case("true"));
            match name.as_str() {
                "data" => in_data = true,
                "timestamps" if flag => {
                    return Err(bad(path, n, "time-stamped series are not supported"));
                }
                "missing" => missing_ok = flag,
                "targetlabel" if flag => {
                    return Err(bad(path, n, "regression targets are not supported; striate classifies"));
                }
                "classlabel" => {
                    class_names = flag.then(|| rest[1..].iter().map(|s| s.to_string()).collect());
                }
                _ => {}
            }
            continue;
        }
        let mut parts: Vec<&str> = line.split(':').collect();
        let label = if class_names.is_some() {
            if parts.len() < 2 {
                return Err(bad(path, n, "no class label after a ':'"));
            }
            parts.pop().map(str::trim)
        } else {
            None
        };
        let dims = parts
            .iter()
            .map(|d| {
                d.split(',')
                    .map(|t| parse_value(path, n, t, missing_ok))
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        cases.push((n, dims));
        raw_labels.push((n, label.unwrap_or("").to_string()));
    }
    if !in_data {
        return Err(Error::format(path, "no @data line: not a .ts file"));
    }
    if cases.is_empty() {
        return Err(Error::format(path, "no series after @data"));
    }
    let names =
        class_names.ok_or_else(|| Error::format(path, "@classLabel is false or missing: the file has no classes"))?;
    let labels = raw_labels
        .iter()
        .map(|(n, l)| {
            names.iter().position(|c| c == l).map(|p| p as u32).ok_or_else(|| {
                bad(
                    path,
                    *n,
                    format!("class {l:?} is not declared in @classLabel ({})", names.join(" ")),
                )
            })
        })
        .collect::<Result<Vec<u32>>>()?;
    Ok(SeriesSet {
        x: stack(path, cases, pad)?,
        labels,
        class_names: names,
    })
}

/// Reads a classic UCR text file (label first).
pub fn read_ucr_text(path: &Path, pad: bool) -> Result<SeriesSet> {
    let bytes = crate::io::read_maybe_gzip(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut cases = Vec::new();
    let mut raw_labels = Vec::new();
    for (i, raw_line) in text.lines().enumerate() {
        let n = i + 1;
        let toks: Vec<&str> = raw_line.split([',', '\t', ' ']).filter(|t| !t.is_empty()).collect();
        if toks.is_empty() {
            continue;
        }
        if toks.len() < 2 {
            return Err(bad(path, n, "a label and at least one value are needed"));
        }
        let label = parse_value(path, n, toks[0], false)?;
        let mut values = toks[1..]
            .iter()
            .map(|t| parse_value(path, n, t, true))
            .collect::<Result<Vec<f64>>>()?;
        while values.last().is_some_and(|v| v.is_nan()) {
            values.pop();
        }
        if values.iter().any(|v| v.is_nan()) {
            return Err(bad(path, n, "a missing value inside the series"));
        }
        cases.push((n, vec![values]));
        raw_labels.push(label);
    }
    if cases.is_empty() {
        return Err(Error::format(path, "the file is empty"));
    }
    let mut distinct = raw_labels.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    let class_names = distinct
        .iter()
        .map(|v| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                v.to_string()
            }
        })
        .collect();
    let labels = raw_labels
        .iter()
        .map(|v| distinct.iter().position(|d| d == v).unwrap_or(0) as u32)
        .collect();
    Ok(SeriesSet {
        x: stack(path, cases, pad)?,
        labels,
        class_names,
    })
}
