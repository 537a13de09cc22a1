//! The tensor type and shape arithmetic.
//!
//! A [`Tensor`] is a dense, row-major array with an owned shape. Batches of
//! images are `[n, c, h, w]` (NCHW), batches of signals `[n, c, l]` (NCL) and
//! batches of feature vectors `[n, f]`. Shapes are checked where tensors enter
//! the library; inside, kernels index raw slices.

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// A dense row-major array of `f32` (default) or `f64`.
#[derive(Clone, PartialEq)]
pub struct Tensor<T: Scalar = f32> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T: Scalar> std::fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{:?}", self.shape)?;
        if self.data.len() <= 16 {
            write!(f, " {:?}", self.data)?;
        }
        Ok(())
    }
}

impl<T: Scalar> Default for Tensor<T> {
    fn default() -> Self {
        Tensor {
            shape: vec![0],
            data: Vec::new(),
        }
    }
}

/// Number of elements of a shape, saturating at `usize::MAX`: a product
/// that overflows never wraps to a small number, so comparing it with a
/// real length fails. Shapes that come from files, flags or model files go
/// through [`checked_numel`] (or [`checked_size`]) first.
pub fn numel(shape: &[usize]) -> usize {
    checked_numel(shape).unwrap_or(usize::MAX)
}

/// Number of elements of a shape, `None` when the product overflows.
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Bytes of a shape of `item_size`-byte values, or an error naming `what`
/// (the file, the op) when the product overflows: the one helper for sizes
/// taken from files, flags and model files.
pub fn checked_size(shape: &[usize], item_size: usize, what: &str) -> Result<usize> {
    checked_numel(shape)
        .and_then(|n| n.checked_mul(item_size))
        .ok_or_else(|| {
            Error::invalid(
                what,
                format!("shape {} is too large (its size overflows)", fmt_shape(shape)),
            )
        })
}

/// Formats a batch of items of `item_shape`: `[n, 1, 28, 28]`.
pub fn batch_shape_str(item_shape: &[usize]) -> String {
    let dims: String = item_shape.iter().map(|d| format!(", {d}")).collect();
    format!("[n{dims}]")
}

/// Formats a shape the way the summary and errors print it: `[32, 26, 26]`.
pub fn fmt_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

impl<T: Scalar> Tensor<T> {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor {
            shape: shape.to_vec(),
            data: vec![T::zero(); numel(shape)],
        }
    }

    /// A tensor filled with `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        Tensor {
            shape: shape.to_vec(),
            data: vec![value; numel(shape)],
        }
    }

    /// Wraps `data` with `shape`; fails when the element counts differ.
    pub fn from_vec(shape: &[usize], data: Vec<T>) -> Result<Self> {
        if numel(shape) != data.len() {
            return Err(Error::shape(
                "Tensor::from_vec",
                format!("{} elements for shape {}", numel(shape), fmt_shape(shape)),
                &[data.len()],
            ));
        }
        Ok(Tensor {
            shape: shape.to_vec(),
            data,
        })
    }

    /// Builds a tensor from a function of the flat index.
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> T) -> Self {
        Tensor {
            shape: shape.to_vec(),
            data: (0..numel(shape)).map(f).collect(),
        }
    }

    /// Dimensions, outermost first (e.g. `[n, c, h, w]`).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements, row-major, for writing.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The elements, row-major, without copying.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Size of the leading (batch) dimension.
    pub fn batch(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Elements per item of the leading dimension.
    pub fn item_len(&self) -> usize {
        numel(self.shape.get(1..).unwrap_or(&[]))
    }

    /// The `i`-th item along the leading dimension, as a flat slice.
    pub fn item(&self, i: usize) -> &[T] {
        let k = self.item_len();
        &self.data[i * k..(i + 1) * k]
    }

    /// The `i`-th item along the leading dimension, as a flat mutable slice.
    pub fn item_mut(&mut self, i: usize) -> &mut [T] {
        let k = self.item_len();
        &mut self.data[i * k..(i + 1) * k]
    }

    /// Same data, new shape with the same number of elements.
    pub fn reshape(mut self, shape: &[usize]) -> Result<Self> {
        self.reshape_in_place(shape)?;
        Ok(self)
    }

    /// Gives the tensor a new shape with the same number of elements, in place; fails otherwise.
    pub fn reshape_in_place(&mut self, shape: &[usize]) -> Result<()> {
        if numel(shape) != self.data.len() {
            return Err(Error::shape(
                "reshape",
                format!("{} elements", numel(shape)),
                &self.shape,
            ));
        }
        self.shape.clear();
        self.shape.extend_from_slice(shape);
        Ok(())
    }

    /// Gives the tensor `shape`, reusing its allocation when it is big enough.
    /// Contents are unspecified afterwards: callers overwrite every element.
    pub(crate) fn resize_for(&mut self, shape: &[usize]) {
        self.shape.clear();
        self.shape.extend_from_slice(shape);
        let n = numel(shape);
        if self.data.len() != n {
            self.data.resize(n, T::zero());
        }
    }

    /// Like [`Tensor::resize_for`] with a leading batch dimension.
    pub(crate) fn resize_batch(&mut self, n: usize, item_shape: &[usize]) {
        self.shape.clear();
        self.shape.push(n);
        self.shape.extend_from_slice(item_shape);
        let len = n * numel(item_shape);
        if self.data.len() != len {
            self.data.resize(len, T::zero());
        }
    }

    /// Sets every element to zero.
    pub fn fill_zero(&mut self) {
        self.data.fill(T::zero());
    }

    /// Overwrites `self` with `src` converted to this element type, reusing
    /// `self`'s buffer once it has grown (a streamed batch taken into the
    /// trainer's input buffer).
    pub fn assign_cast<U: Scalar>(&mut self, src: &Tensor<U>) {
        self.shape.clear();
        self.shape.extend_from_slice(&src.shape);
        self.data.clear();
        self.data.extend(src.data.iter().map(|&v| T::lit(v.f64())));
    }

    /// Converts the element type.
    pub fn cast<U: Scalar>(&self) -> Tensor<U> {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.iter().map(|&v| U::lit(v.f64())).collect(),
        }
    }

    /// Largest absolute element-wise difference and its flat index.
    pub fn max_abs_diff(&self, other: &Tensor<T>) -> (f64, usize) {
        let mut best = (0.0, 0);
        for (i, (a, b)) in self.data.iter().zip(&other.data).enumerate() {
            let d = (a.f64() - b.f64()).abs();
            if d > best.0 || d.is_nan() {
                best = (d, i);
            }
        }
        best
    }

    /// Sum of all elements, accumulated in `f64`.
    pub fn sum(&self) -> f64 {
        self.data.iter().map(|v| v.f64()).sum()
    }

    /// True when every element is finite.
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }

    /// Checks that the tensor is a batch of items of `item_shape`.
    pub fn expect_batch_of(&self, op: &str, item_shape: &[usize]) -> Result<()> {
        if self.shape.len() != item_shape.len() + 1 || self.shape[1..] != *item_shape {
            return Err(Error::shape(op, batch_shape_str(item_shape), &self.shape));
        }
        Ok(())
    }

    /// Keeps only the items `keep` (ascending, each at most once) along the
    /// leading dimension, moving them forward in place and releasing the
    /// rest: no second copy of the tensor is ever held.
    pub fn retain_items(&mut self, keep: &[usize]) {
        debug_assert!(keep.windows(2).all(|w| w[0] < w[1]));
        let k = self.item_len();
        for (to, &from) in keep.iter().enumerate() {
            if to != from {
                self.data.copy_within(from * k..(from + 1) * k, to * k);
            }
        }
        self.data.truncate(keep.len() * k);
        self.data.shrink_to_fit();
        if let Some(n) = self.shape.first_mut() {
            *n = keep.len();
        }
    }

    /// Copies the items `indices` of `src` (along its leading dimension) into
    /// `self`, converting the element type; used to gather minibatches without
    /// allocating once the buffer has grown.
    pub fn gather_items<U: Scalar>(&mut self, src: &Tensor<U>, indices: &[usize]) {
        let k = src.item_len();
        self.resize_batch(indices.len(), &src.shape[1..]);
        for (dst, &i) in self.data.chunks_exact_mut(k.max(1)).zip(indices) {
            for (d, s) in dst.iter_mut().zip(src.item(i)) {
                *d = T::lit(s.f64());
            }
        }
    }
}
