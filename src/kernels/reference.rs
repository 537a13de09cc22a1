//! Scalar reference kernels: the test oracle and the fallback.
//!
//! Plain nested loops, written to be obviously right rather than fast. Every
//! fast kernel in [`crate::kernels`] is tested against these over a sweep of
//! shapes, and these are checked against PyTorch and finite differences.

use crate::kernels::gemm::MatmulSpec;
use crate::kernels::geometry::ConvGeometry;
use crate::scalar::Scalar;

/// Input coordinate read by output coordinate `o` at kernel tap `k`, or
/// `None` in the padding.
#[inline(always)]
pub(crate) fn tap(o: usize, k: usize, stride: usize, dilation: usize, pad: usize, size: usize) -> Option<usize> {
    let i = (o * stride + k * dilation) as isize - pad as isize;
    (i >= 0 && (i as usize) < size).then_some(i as usize)
}

/// Calls `mac(y_index, x_index, w_index)` for every multiply-accumulate of
/// the convolution of `n` samples: output element `y_index` gains
/// `x[x_index] · w[w_index]`. Taps that fall in the padding are skipped.
/// The three passes below differ only in what they do with each triple.
fn for_each_mac(g: &ConvGeometry, n: usize, mut mac: impl FnMut(usize, usize, usize)) {
    let (cig, cog) = (g.c_in / g.groups, g.c_out / g.groups);
    for ni in 0..n {
        for co in 0..g.c_out {
            let grp = co / cog;
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let yi = ((ni * g.c_out + co) * g.out_h + oy) * g.out_w + ox;
                    for cg in 0..cig {
                        let ci = grp * cig + cg;
                        for ky in 0..g.k_h {
                            let Some(iy) = tap(oy, ky, g.stride[0], g.dilation[0], g.pad_top, g.h) else {
                                continue;
                            };
                            for kx in 0..g.k_w {
                                let Some(ix) = tap(ox, kx, g.stride[1], g.dilation[1], g.pad_left, g.w) else {
                                    continue;
                                };
                                let xi = ((ni * g.c_in + ci) * g.h + iy) * g.w + ix;
                                let wi = ((co * cig + cg) * g.k_h + ky) * g.k_w + kx;
                                mac(yi, xi, wi);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Convolution (cross-correlation) forward.
///
/// `x` is `(n, c_in, h, w)`, `w` is `(c_out, c_in / groups, k_h, k_w)`,
/// `b` is `(c_out)`, `y` is `(n, c_out, out_h, out_w)` and is overwritten.
pub fn conv2d_forward<T: Scalar>(g: &ConvGeometry, n: usize, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    let p = g.out_h * g.out_w;
    for (i, v) in y[..n * g.out_len()].iter_mut().enumerate() {
        *v = b.map_or(T::zero(), |b| b[(i / p) % g.c_out]);
    }
    for_each_mac(g, n, |yi, xi, wi| y[yi] += x[xi] * w[wi]);
}

/// Gradient of the convolution with respect to its input: `dx` (shape of
/// `x`) is overwritten from `dy` (shape of `y`) and the weights.
pub fn conv2d_backward_data<T: Scalar>(g: &ConvGeometry, n: usize, dy: &[T], w: &[T], dx: &mut [T]) {
    dx[..n * g.in_len()].fill(T::zero());
    for_each_mac(g, n, |yi, xi, wi| dx[xi] += dy[yi] * w[wi]);
}

/// Gradients of the convolution with respect to weights and bias; `dw` and
/// `db` are overwritten.
pub fn conv2d_backward_weight<T: Scalar>(
    g: &ConvGeometry,
    n: usize,
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    db: Option<&mut [T]>,
) {
    dw.fill(T::zero());
    for_each_mac(g, n, |yi, xi, wi| dw[wi] += dy[yi] * x[xi]);
    if let Some(db) = db {
        let p = g.out_h * g.out_w;
        db.fill(T::zero());
        for (i, plane) in dy[..n * g.out_len()].chunks_exact(p.max(1)).enumerate() {
            db[i % g.c_out] += plane.iter().copied().sum::<T>();
        }
    }
}

/// The product described by `spec` (its `par` is ignored): plain loops,
/// the oracle of [`crate::kernels::gemm::matmul`]. Panics if a slice is
/// shorter than `spec` needs.
pub fn matmul<T: Scalar>(spec: &MatmulSpec, a: &[T], b: &[T], c: &mut [T]) {
    spec.assert_fits(a, b, c);
    let MatmulSpec {
        m,
        n,
        k,
        a_trans,
        b_trans,
        accumulate,
        ..
    } = *spec;
    for i in 0..m {
        for j in 0..n {
            let mut acc = T::zero();
            for p in 0..k {
                let av = if a_trans { a[p * m + i] } else { a[i * k + p] };
                let bv = if b_trans { b[j * k + p] } else { b[p * n + j] };
                acc += av * bv;
            }
            if accumulate {
                c[i * n + j] += acc;
            } else {
                c[i * n + j] = acc;
            }
        }
    }
}
