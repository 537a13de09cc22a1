//! Matrix multiplication through the `gemm` crate's micro-kernels.
//!
//! This is the one place striate calls into `gemm`; the unsafe call is
//! wrapped in a safe function whose slice lengths are checked first.

use crate::scalar::Scalar;

/// How a single matrix product may use threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Par {
    /// On the calling thread (the caller parallelises over the batch).
    Seq,
    /// Split inside the product across this many rayon threads.
    Threads(usize),
}

/// What a matrix product computes: `c (m×n) = a (m×k) · b (k×n)`, or
/// `c += …` with `accumulate`.
///
/// All matrices are row-major; `a_trans` means `a` is stored as `k×m` and
/// read transposed, `b_trans` that `b` is stored as `n×k`. Build it with
/// [`MatmulSpec::new`] and the switches below, or as a struct literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulSpec {
    /// Rows of `c` (and of `a` as read).
    pub m: usize,
    /// Columns of `c` (and of `b` as read).
    pub n: usize,
    /// The summed dimension.
    pub k: usize,
    /// `a` is stored `k×m` and read transposed.
    pub a_trans: bool,
    /// `b` is stored `n×k` and read transposed.
    pub b_trans: bool,
    /// Add the product to `c` instead of overwriting it.
    pub accumulate: bool,
    /// Threads inside the product (ignored by the reference kernel).
    pub par: Par,
}

impl MatmulSpec {
    /// `c (m×n) = a (m×k) · b (k×n)`: nothing transposed, `c` overwritten,
    /// on the calling thread.
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        MatmulSpec {
            m,
            n,
            k,
            a_trans: false,
            b_trans: false,
            accumulate: false,
            par: Par::Seq,
        }
    }

    /// Reads `a`, stored `k×m`, transposed.
    pub fn a_trans(mut self) -> Self {
        self.a_trans = true;
        self
    }

    /// Reads `b`, stored `n×k`, transposed.
    pub fn b_trans(mut self) -> Self {
        self.b_trans = true;
        self
    }

    /// Adds the product to `c` instead of overwriting it.
    pub fn accumulate(mut self) -> Self {
        self.accumulate = true;
        self
    }

    /// Threads inside the product.
    pub fn par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    /// Panics unless `a`, `b` and `c` hold at least `m·k`, `k·n` and `m·n`
    /// elements. The products are checked: a wrapping product would let a
    /// short slice through.
    pub(crate) fn assert_fits<T>(&self, a: &[T], b: &[T], c: &[T]) {
        let fits = |len: usize, rows: usize, cols: usize| rows.checked_mul(cols).is_some_and(|need| len >= need);
        assert!(
            fits(a.len(), self.m, self.k) && fits(b.len(), self.k, self.n) && fits(c.len(), self.m, self.n),
            "matmul: slices of {}, {} and {} elements are too short for {self:?}",
            a.len(),
            b.len(),
            c.len()
        );
    }
}

/// The product described by `spec` on the `gemm` crate's micro-kernels.
///
/// Same contract as [`crate::kernels::reference::matmul`], which is its
/// test oracle. Panics if a slice is shorter than `spec` needs.
pub fn matmul<T: Scalar>(spec: &MatmulSpec, a: &[T], b: &[T], c: &mut [T]) {
    spec.assert_fits(a, b, c);
    let MatmulSpec {
        m,
        n,
        k,
        a_trans,
        b_trans,
        accumulate,
        par,
    } = *spec;
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(T::zero());
        }
        return;
    }
    let (a_rs, a_cs) = if a_trans { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if b_trans { (1, k as isize) } else { (n as isize, 1) };
    let parallelism = match par {
        Par::Threads(t) if t > 1 => gemm::Parallelism::Rayon(t),
        _ => gemm::Parallelism::None,
    };
    // SAFETY: `assert_fits` guarantees (with checked products) that `a`, `b`
    // and `c` hold m·k, k·n and m·n elements, so every element addressed by
    // (row, col) with the strides chosen here lies inside its slice: the
    // largest offset of `a` is (m-1)·a_rs + (k-1)·a_cs = m·k - 1 in both
    // layouts, likewise k·n - 1 for `b` and m·n - 1 for `c`. m, n, k ≥ 1
    // here and each product fits in a slice, so the `as isize` casts do not
    // wrap. `c` is borrowed mutably, so it cannot alias `a` or `b`. T is f32
    // or f64 (the only `Scalar` implementations), both supported by
    // `gemm::gemm`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}
