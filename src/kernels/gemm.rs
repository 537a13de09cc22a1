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

/// `c (m×n) = a (m×k) · b (k×n)`, or `c += …` with `accumulate`.
///
/// All matrices are row-major; `a_t` means `a` is stored as `k×m` and read
/// transposed, `b_t` that `b` is stored as `n×k`. Same contract as
/// [`crate::kernels::reference::matmul`], which is its test oracle.
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_t: bool,
    b: &[T],
    b_t: bool,
    c: &mut [T],
    accumulate: bool,
    par: Par,
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "matmul: slices too short"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(T::zero());
        }
        return;
    }
    let (a_rs, a_cs) = if a_t { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if b_t { (1, k as isize) } else { (n as isize, 1) };
    let parallelism = match par {
        Par::Threads(t) if t > 1 => gemm::Parallelism::Rayon(t),
        _ => gemm::Parallelism::None,
    };
    // SAFETY: the assertion above guarantees that every element addressed by
    // (row, col) with the strides chosen here lies inside its slice: the
    // largest offset of `a` is (m-1)·a_rs + (k-1)·a_cs = m·k - 1 in both
    // layouts, likewise k·n - 1 for `b` and m·n - 1 for `c`. `c` is borrowed
    // mutably, so it cannot alias `a` or `b`. T is f32 or f64 (the only
    // `Scalar` implementations), both supported by `gemm::gemm`.
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
