//! Max and average pooling (PyTorch semantics) and global pooling.
//!
//! # Shapes
//! - input `(n, c, h, w)`, output `(n, c, out_h, out_w)` with
//!   `out = ⌊(in + 2·pad − k) / stride⌋ + 1` (⌈…⌉ with `ceil_mode`, minus one
//!   when the last window would start in the right padding, as PyTorch).
//! - 1-D pooling is 2-D pooling of a `1 × l` image with a `1 × k` window.
//! - global pooling: `(n, c, …)` → `(n, c)`.
//!
//! Max pooling ignores padding; average pooling counts padded zeros in the
//! divisor unless `count_include_pad` is false (PyTorch's default is true).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Which reduction a pooling window applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// Hyper-parameters of a 2-D pooling window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dParams {
    /// `[k_h, k_w]`.
    pub kernel: [usize; 2],
    /// `[stride_h, stride_w]`; PyTorch's default is the kernel size.
    pub stride: [usize; 2],
    /// `[pad_h, pad_w]` on both sides, at most half the kernel.
    pub padding: [usize; 2],
    pub ceil_mode: bool,
    /// Average pooling only: count padded zeros in the divisor.
    pub count_include_pad: bool,
}

impl Pool2dParams {
    /// A `k_h × k_w` window with stride equal to the window, no padding.
    pub fn new(kernel: [usize; 2]) -> Self {
        Pool2dParams {
            kernel,
            stride: kernel,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    pub fn with_padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    pub fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    pub fn with_count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// Validates the window against a `c × h × w` input.
    pub fn geometry(&self, c: usize, h: usize, w: usize) -> Result<PoolGeometry> {
        if self.kernel.contains(&0) || self.stride.contains(&0) {
            return Err(Error::invalid(
                "pooling",
                format!("kernel {:?} and stride {:?} must be positive", self.kernel, self.stride),
            ));
        }
        let mut out = [0; 2];
        for (axis, size) in [h, w].into_iter().enumerate() {
            let (k, s, p) = (self.kernel[axis], self.stride[axis], self.padding[axis]);
            if p > k / 2 {
                return Err(Error::invalid(
                    "pooling",
                    format!("padding {p} must be at most half the kernel size {k}"),
                ));
            }
            if size + 2 * p < k {
                return Err(Error::invalid(
                    "pooling",
                    format!(
                        "input {h}×{w} is smaller than the {}×{} window",
                        self.kernel[0], self.kernel[1]
                    ),
                ));
            }
            let span = size + 2 * p - k;
            let mut o = if self.ceil_mode { span.div_ceil(s) } else { span / s } + 1;
            if self.ceil_mode && (o - 1) * s >= size + p {
                o -= 1;
            }
            out[axis] = o;
        }
        Ok(PoolGeometry {
            c,
            h,
            w,
            k: self.kernel,
            stride: self.stride,
            pad: self.padding,
            out_h: out[0],
            out_w: out[1],
            count_include_pad: self.count_include_pad,
        })
    }
}

/// A pooling window with every size resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub out_h: usize,
    pub out_w: usize,
    pub count_include_pad: bool,
}

/// The clipped window `[start, end)` along one axis and the unclipped
/// (padded) size PyTorch divides by with `count_include_pad`.
#[inline]
fn window(o: usize, k: usize, s: usize, p: usize, size: usize) -> (usize, usize, usize) {
    let start = (o * s) as isize - p as isize;
    let end_padded = (start + k as isize).min((size + p) as isize);
    let padded = (end_padded - start) as usize;
    let lo = start.max(0) as usize;
    let hi = (end_padded.min(size as isize)).max(lo as isize) as usize;
    (lo, hi, padded)
}

const PLANES_PER_TASK: usize = 16;

/// Max pooling forward; records in `argmax` the flat in-plane index of each
/// maximum (first one on ties, as PyTorch).
pub fn max_pool2d_forward<T: Scalar>(g: &PoolGeometry, n: usize, x: &[T], y: &mut [T], argmax: &mut [u32]) {
    let (il, ol) = (g.h * g.w, g.out_h * g.out_w);
    let planes = n * g.c;
    // The common 2×2 window with stride 2 and every window inside the image.
    let halving = g.k == [2, 2] && g.stride == [2, 2] && g.pad == [0, 0] && 2 * g.out_h <= g.h && 2 * g.out_w <= g.w;
    y[..planes * ol]
        .par_chunks_mut(ol * PLANES_PER_TASK)
        .zip(argmax[..planes * ol].par_chunks_mut(ol * PLANES_PER_TASK))
        .zip(x[..planes * il].par_chunks(il * PLANES_PER_TASK))
        .for_each(|((yc, ac), xc)| {
            for ((yp, ap), xp) in yc
                .chunks_exact_mut(ol)
                .zip(ac.chunks_exact_mut(ol))
                .zip(xc.chunks_exact(il))
            {
                if halving {
                    max_pool_2x2(g, xp, yp, ap);
                    continue;
                }
                for oy in 0..g.out_h {
                    let (y0, y1, _) = window(oy, g.k[0], g.stride[0], g.pad[0], g.h);
                    for ox in 0..g.out_w {
                        let (x0, x1, _) = window(ox, g.k[1], g.stride[1], g.pad[1], g.w);
                        let mut best = T::neg_infinity();
                        let mut arg = y0 * g.w + x0;
                        for iy in y0..y1 {
                            for ix in x0..x1 {
                                let v = xp[iy * g.w + ix];
                                if v > best || v.is_nan() {
                                    best = v;
                                    arg = iy * g.w + ix;
                                    if v.is_nan() {
                                        break;
                                    }
                                }
                            }
                        }
                        yp[oy * g.out_w + ox] = best;
                        ap[oy * g.out_w + ox] = arg as u32;
                    }
                }
            }
        });
}

/// [`max_pool2d_forward`] of one plane for 2×2 windows with stride 2 that
/// lie inside the image: the same comparisons in the same order (first
/// maximum on ties, NaN wins), without the window arithmetic.
fn max_pool_2x2<T: Scalar>(g: &PoolGeometry, xp: &[T], yp: &mut [T], ap: &mut [u32]) {
    for oy in 0..g.out_h {
        let (r0, r1) = (2 * oy * g.w, (2 * oy + 1) * g.w);
        for ox in 0..g.out_w {
            let mut best = T::neg_infinity();
            let mut arg = r0 + 2 * ox;
            for i in [r0 + 2 * ox, r0 + 2 * ox + 1, r1 + 2 * ox, r1 + 2 * ox + 1] {
                let v = xp[i];
                if v > best || v.is_nan() {
                    best = v;
                    arg = i;
                    if v.is_nan() {
                        break;
                    }
                }
            }
            yp[oy * g.out_w + ox] = best;
            ap[oy * g.out_w + ox] = arg as u32;
        }
    }
}

/// Max pooling backward: each output gradient goes to its recorded maximum.
pub fn max_pool2d_backward<T: Scalar>(g: &PoolGeometry, n: usize, dy: &[T], argmax: &[u32], dx: &mut [T]) {
    let (il, ol) = (g.h * g.w, g.out_h * g.out_w);
    let planes = n * g.c;
    dx[..planes * il]
        .par_chunks_mut(il * PLANES_PER_TASK)
        .zip(dy[..planes * ol].par_chunks(ol * PLANES_PER_TASK))
        .zip(argmax[..planes * ol].par_chunks(ol * PLANES_PER_TASK))
        .for_each(|((dxc, dyc), ac)| {
            dxc.fill(T::zero());
            for ((dxp, dyp), ap) in dxc
                .chunks_exact_mut(il)
                .zip(dyc.chunks_exact(ol))
                .zip(ac.chunks_exact(ol))
            {
                for (&d, &a) in dyp.iter().zip(ap) {
                    dxp[a as usize] += d;
                }
            }
        });
}

/// Divisor of an average-pooling window.
#[inline]
fn avg_divisor(g: &PoolGeometry, oy: usize, ox: usize) -> (usize, usize, usize, usize, usize) {
    let (y0, y1, ph) = window(oy, g.k[0], g.stride[0], g.pad[0], g.h);
    let (x0, x1, pw) = window(ox, g.k[1], g.stride[1], g.pad[1], g.w);
    let div = if g.count_include_pad {
        ph * pw
    } else {
        (y1 - y0) * (x1 - x0)
    };
    (y0, y1, x0, x1, div.max(1))
}

/// Average pooling forward.
pub fn avg_pool2d_forward<T: Scalar>(g: &PoolGeometry, n: usize, x: &[T], y: &mut [T]) {
    let (il, ol) = (g.h * g.w, g.out_h * g.out_w);
    let planes = n * g.c;
    y[..planes * ol]
        .par_chunks_mut(ol * PLANES_PER_TASK)
        .zip(x[..planes * il].par_chunks(il * PLANES_PER_TASK))
        .for_each(|(yc, xc)| {
            for (yp, xp) in yc.chunks_exact_mut(ol).zip(xc.chunks_exact(il)) {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let (y0, y1, x0, x1, div) = avg_divisor(g, oy, ox);
                        let mut acc = T::zero();
                        for iy in y0..y1 {
                            acc += xp[iy * g.w + x0..iy * g.w + x1].iter().copied().sum::<T>();
                        }
                        yp[oy * g.out_w + ox] = acc / T::lit(div as f64);
                    }
                }
            }
        });
}

/// Average pooling backward.
pub fn avg_pool2d_backward<T: Scalar>(g: &PoolGeometry, n: usize, dy: &[T], dx: &mut [T]) {
    let (il, ol) = (g.h * g.w, g.out_h * g.out_w);
    let planes = n * g.c;
    dx[..planes * il]
        .par_chunks_mut(il * PLANES_PER_TASK)
        .zip(dy[..planes * ol].par_chunks(ol * PLANES_PER_TASK))
        .for_each(|(dxc, dyc)| {
            dxc.fill(T::zero());
            for (dxp, dyp) in dxc.chunks_exact_mut(il).zip(dyc.chunks_exact(ol)) {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let (y0, y1, x0, x1, div) = avg_divisor(g, oy, ox);
                        let d = dyp[oy * g.out_w + ox] / T::lit(div as f64);
                        for iy in y0..y1 {
                            dxp[iy * g.w + x0..iy * g.w + x1].iter_mut().for_each(|v| *v += d);
                        }
                    }
                }
            }
        });
}

/// Global pooling forward over the trailing `spatial` elements of each of the
/// `planes = n · c` planes; `argmax` is used by max pooling only.
pub fn global_pool_forward<T: Scalar>(kind: PoolKind, spatial: usize, x: &[T], y: &mut [T], argmax: &mut [u32]) {
    let inv = T::lit(1.0 / spatial as f64);
    for (i, (plane, out)) in x.chunks_exact(spatial).zip(y.iter_mut()).enumerate() {
        match kind {
            PoolKind::Avg => *out = plane.iter().copied().sum::<T>() * inv,
            PoolKind::Max => {
                let mut best = (T::neg_infinity(), 0);
                for (j, &v) in plane.iter().enumerate() {
                    if v > best.0 || v.is_nan() {
                        best = (v, j);
                        if v.is_nan() {
                            break;
                        }
                    }
                }
                *out = best.0;
                argmax[i] = best.1 as u32;
            }
        }
    }
}

/// Global pooling backward.
pub fn global_pool_backward<T: Scalar>(kind: PoolKind, spatial: usize, dy: &[T], argmax: &[u32], dx: &mut [T]) {
    let inv = T::lit(1.0 / spatial as f64);
    for (i, (plane, &d)) in dx.chunks_exact_mut(spatial).zip(dy).enumerate() {
        match kind {
            PoolKind::Avg => plane.iter_mut().for_each(|v| *v = d * inv),
            PoolKind::Max => {
                plane.fill(T::zero());
                plane[argmax[i] as usize] = d;
            }
        }
    }
}
