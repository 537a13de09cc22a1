//! A raw N-dimensional array as read from a file, before it becomes samples
//! or labels: its shape, its NumPy dtype name and its values in a compact
//! representation (bytes stay bytes, integers stay exact).

use std::path::Path;

use crate::error::{Error, Result};
use crate::tensor::checked_numel;

/// The most classes a label file may name: a label sizes per-class tables
/// (counts, confusion matrices, a model's head), so one stray label of
/// 4294967295 must be an error rather than a request for 100 GB.
pub const MAX_CLASSES: usize = 100_000;

/// Number of classes the labels imply: one more than the largest.
pub fn n_classes(labels: &[u32]) -> usize {
    labels.iter().copied().max().map_or(0, |m| m as usize + 1)
}

/// The values of an [`Array`].
#[derive(Clone, Debug, PartialEq)]
pub enum Elements {
    /// Unsigned bytes (`uint8`), kept as bytes.
    U8(Vec<u8>),
    /// Any other integer type, widened.
    Int(Vec<i64>),
    /// Single-precision floats (`float32`).
    F32(Vec<f32>),
    /// Double-precision floats (`float64`).
    F64(Vec<f64>),
}

impl Elements {
    /// Appends the values as `f32` to `out` (taking the vector itself when
    /// `out` is empty and they are `f32` already).
    pub fn append_f32(self, out: &mut Vec<f32>) {
        match self {
            Elements::U8(v) => out.extend(v.iter().map(|&x| f32::from(x))),
            Elements::Int(v) => out.extend(v.iter().map(|&x| x as f32)),
            Elements::F32(v) if out.is_empty() => *out = v,
            Elements::F32(v) => out.extend_from_slice(&v),
            Elements::F64(v) => out.extend(v.iter().map(|&x| x as f32)),
        }
    }
}

/// An array read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first (C order).
    pub shape: Vec<usize>,
    /// NumPy's name of the stored type: `uint8`, `int64`, `float32`, …
    pub dtype: String,
    /// The values, row-major, in the narrowest exact representation.
    pub elems: Elements,
}

impl Array {
    /// An array from its shape, NumPy dtype name and values (not checked against each other).
    pub fn new(shape: Vec<usize>, dtype: impl Into<String>, elems: Elements) -> Self {
        Array {
            shape,
            dtype: dtype.into(),
            elems,
        }
    }

    /// A `float32` array of `shape` holding `data`.
    pub fn from_f32(shape: &[usize], data: Vec<f32>) -> Self {
        Array::new(shape.to_vec(), "float32", Elements::F32(data))
    }

    /// Number of values stored (the product of `shape` when consistent).
    pub fn len(&self) -> usize {
        match &self.elems {
            Elements::U8(v) => v.len(),
            Elements::Int(v) => v.len(),
            Elements::F32(v) => v.len(),
            Elements::F64(v) => v.len(),
        }
    }

    /// True when no values are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for integer (and byte) types.
    pub fn is_integer(&self) -> bool {
        matches!(self.elems, Elements::U8(_) | Elements::Int(_))
    }

    /// True when the values are bytes (pixel data to scale by 1/255).
    pub fn is_bytes(&self) -> bool {
        matches!(self.elems, Elements::U8(_))
    }

    /// Element `i` as `f64`.
    pub fn get(&self, i: usize) -> f64 {
        match &self.elems {
            Elements::U8(v) => v[i] as f64,
            Elements::Int(v) => v[i] as f64,
            Elements::F32(v) => v[i] as f64,
            Elements::F64(v) => v[i],
        }
    }

    /// Values `range` as `f32`, written over `out` (resized to fit): a row
    /// at a time, with no copy of the whole array.
    pub fn range_f32(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        out.clear();
        match &self.elems {
            Elements::U8(v) => out.extend(v[range].iter().map(|&x| x as f32)),
            Elements::Int(v) => out.extend(v[range].iter().map(|&x| x as f32)),
            Elements::F32(v) => out.extend_from_slice(&v[range]),
            Elements::F64(v) => out.extend(v[range].iter().map(|&x| x as f32)),
        }
    }

    /// All values as `f32`.
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.elems {
            Elements::U8(v) => v.iter().map(|&x| x as f32).collect(),
            Elements::Int(v) => v.iter().map(|&x| x as f32).collect(),
            Elements::F32(v) => v.clone(),
            Elements::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The values as class labels: non-negative integers (integral floats
    /// are accepted). `path` and `what` name the source in errors.
    pub fn to_labels(&self, path: &Path, what: &str) -> Result<Vec<u32>> {
        let mut out = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            let v = self.get(i);
            if !(v >= 0.0 && v.fract() == 0.0) {
                return Err(Error::format(
                    path,
                    format!("{what} {i} is {v}: labels must be non-negative integers (class indices)"),
                ));
            }
            if v >= MAX_CLASSES as f64 {
                return Err(Error::format(
                    path,
                    format!("{what} {i} is {v}: class indices must be below {MAX_CLASSES}"),
                ));
            }
            out.push(v as u32);
        }
        Ok(out)
    }

    /// Checks that the shape accounts for every value.
    pub fn check(&self, path: &Path) -> Result<()> {
        match checked_numel(&self.shape) {
            Some(n) if n == self.len() => Ok(()),
            Some(n) => Err(Error::format(
                path,
                format!("shape {:?} needs {n} values, found {}", self.shape, self.len()),
            )),
            None => Err(Error::format(path, format!("shape {:?} overflows", self.shape))),
        }
    }

    /// Minimum, maximum, mean and standard deviation of the values (f64
    /// accumulation); `None` for an empty array.
    pub fn stats(&self) -> Option<(f64, f64, f64, f64)> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for i in 0..n {
            let v = self.get(i);
            lo = lo.min(v);
            hi = hi.max(v);
            sum += v;
        }
        let mean = sum / n as f64;
        let var = (0..n).map(|i| (self.get(i) - mean).powi(2)).sum::<f64>() / n as f64;
        Some((lo, hi, mean, var.sqrt()))
    }
}
