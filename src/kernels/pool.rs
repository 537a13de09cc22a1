//! Pooling kernels: max and average windows, and global pooling.
//!
//! Every kernel works plane by plane (`n · c` planes of `h × w`), parallel
//! over groups of planes. Max pooling has a fast path for the common 2×2
//! window with stride 2 beside the general window loop, which is its
//! oracle; [`PoolAlgo`] chooses at run time, so tests reach both.
//!
//! Max pooling follows PyTorch: the first maximum wins ties, NaN wins over
//! everything, and `argmax` records the flat in-plane index of the winner.

use rayon::prelude::*;

use crate::kernels::geometry::PoolGeometry;
use crate::scalar::Scalar;

/// Which reduction a pooling window applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// The largest value (NaN if any).
    Max,
    /// The mean.
    Avg,
}

/// Which kernel computes max pooling. A runtime choice, so tests reach every path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PoolAlgo {
    /// Let striate choose: the 2×2 / stride-2 fast path where it applies,
    /// the general window loop elsewhere.
    #[default]
    Auto,
    /// The general window loop everywhere: slow, obviously right.
    Reference,
}

/// Planes per parallel task.
const PLANES_PER_TASK: usize = 16;

/// Max pooling forward of `n` samples; records in `argmax`, where given,
/// the flat in-plane index of each maximum (first one on ties, as
/// PyTorch). Without it (inference, which keeps nothing for backward) only
/// the values are computed, the same ones.
pub fn max_pool2d_forward<T: Scalar>(
    g: &PoolGeometry,
    algo: PoolAlgo,
    n: usize,
    x: &[T],
    y: &mut [T],
    argmax: Option<&mut [u32]>,
) {
    let (il, ol) = (g.in_plane(), g.out_plane());
    let planes = n * g.c;
    let halving = algo == PoolAlgo::Auto && g.is_halving();
    let (ys, xs) = (
        y[..planes * ol].par_chunks_mut(ol * PLANES_PER_TASK),
        x[..planes * il].par_chunks(il * PLANES_PER_TASK),
    );
    let Some(argmax) = argmax else {
        ys.zip(xs).for_each(|(yc, xc)| {
            for (yp, xp) in yc.chunks_exact_mut(ol).zip(xc.chunks_exact(il)) {
                if halving {
                    max_pool_2x2_values(g, xp, yp);
                } else {
                    max_pool_plane(g, xp, yp, None);
                }
            }
        });
        return;
    };
    ys.zip(argmax[..planes * ol].par_chunks_mut(ol * PLANES_PER_TASK))
        .zip(xs)
        .for_each(|((yc, ac), xc)| {
            for ((yp, ap), xp) in yc
                .chunks_exact_mut(ol)
                .zip(ac.chunks_exact_mut(ol))
                .zip(xc.chunks_exact(il))
            {
                if halving {
                    max_pool_2x2(g, xp, yp, ap);
                } else {
                    max_pool_plane(g, xp, yp, Some(ap));
                }
            }
        });
}

/// Max pooling of one plane through the general window loop: the
/// reference, and the kernel for every window without a fast path; the
/// indices of the maxima go to `ap` where given.
fn max_pool_plane<T: Scalar>(g: &PoolGeometry, xp: &[T], yp: &mut [T], mut ap: Option<&mut [u32]>) {
    for oy in 0..g.out_h {
        let (y0, y1, _) = g.rows(oy);
        for ox in 0..g.out_w {
            let (x0, x1, _) = g.cols(ox);
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
            if let Some(ap) = ap.as_deref_mut() {
                ap[oy * g.out_w + ox] = arg as u32;
            }
        }
    }
}

/// [`max_pool2d_forward`] of one plane for 2×2 windows with stride 2 that
/// lie inside the image: the same comparisons in the same order (first
/// maximum on ties, NaN wins), without the window arithmetic and without
/// branches (each comparison picks with a select: on real data the
/// branches were mispredicted often enough to make this a third of a small
/// CNN's inference).
fn max_pool_2x2<T: Scalar>(g: &PoolGeometry, xp: &[T], yp: &mut [T], ap: &mut [u32]) {
    let (w, ow) = (g.w, g.out_w);
    for oy in 0..g.out_h {
        let (r0, r1) = (2 * oy * w, (2 * oy + 1) * w);
        let top = xp[r0..r0 + 2 * ow].as_chunks::<2>().0;
        let bottom = xp[r1..r1 + 2 * ow].as_chunks::<2>().0;
        let ys = &mut yp[oy * ow..(oy + 1) * ow];
        let args = &mut ap[oy * ow..(oy + 1) * ow];
        for (ox, (((y, a), t), b)) in ys.iter_mut().zip(args).zip(top).zip(bottom).enumerate() {
            let at = (r0 + 2 * ox) as u32;
            let (mut best, mut arg) = (t[0], at);
            let below = at + w as u32;
            for (v, i) in [(t[1], at + 1), (b[0], below), (b[1], below + 1)] {
                let take = later_wins(v, best);
                best = if take { v } else { best };
                arg = if take { i } else { arg };
            }
            *y = best;
            *a = arg;
        }
    }
}

/// Whether a later value `v` of a 2×2 window replaces the `best` so far:
/// when larger, or when it is the first NaN (the general loop's order,
/// as one select with no branch).
#[inline(always)]
fn later_wins<T: Scalar>(v: T, best: T) -> bool {
    (v > best) | (v.is_nan() & !best.is_nan())
}

/// [`max_pool_2x2`] without the indices: the same comparisons in the same
/// order, so the same values (NaN payloads included).
fn max_pool_2x2_values<T: Scalar>(g: &PoolGeometry, xp: &[T], yp: &mut [T]) {
    let (w, ow) = (g.w, g.out_w);
    for oy in 0..g.out_h {
        let (r0, r1) = (2 * oy * w, (2 * oy + 1) * w);
        let top = xp[r0..r0 + 2 * ow].as_chunks::<2>().0;
        let bottom = xp[r1..r1 + 2 * ow].as_chunks::<2>().0;
        for ((y, t), b) in yp[oy * ow..(oy + 1) * ow].iter_mut().zip(top).zip(bottom) {
            let mut best = t[0];
            for v in [t[1], b[0], b[1]] {
                best = if later_wins(v, best) { v } else { best };
            }
            *y = best;
        }
    }
}

/// Max pooling backward: each output gradient goes to its recorded maximum.
pub fn max_pool2d_backward<T: Scalar>(g: &PoolGeometry, n: usize, dy: &[T], argmax: &[u32], dx: &mut [T]) {
    let (il, ol) = (g.in_plane(), g.out_plane());
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

/// The clipped window `(y0, y1, x0, x1)` of an average-pooling output and
/// its divisor.
#[inline]
fn avg_divisor(g: &PoolGeometry, oy: usize, ox: usize) -> (usize, usize, usize, usize, usize) {
    let (y0, y1, ph) = g.rows(oy);
    let (x0, x1, pw) = g.cols(ox);
    let div = if g.count_include_pad {
        ph * pw
    } else {
        (y1 - y0) * (x1 - x0)
    };
    (y0, y1, x0, x1, div.max(1))
}

/// Average pooling forward.
pub fn avg_pool2d_forward<T: Scalar>(g: &PoolGeometry, n: usize, x: &[T], y: &mut [T]) {
    let (il, ol) = (g.in_plane(), g.out_plane());
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
    let (il, ol) = (g.in_plane(), g.out_plane());
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

/// The window `[start, end)` of adaptive-pooling output `i` of `out` over an
/// axis of `len` (PyTorch: `start = ⌊i·len/out⌋`, `end = ⌈(i+1)·len/out⌉`).
#[inline]
pub fn adaptive_window(i: usize, out: usize, len: usize) -> (usize, usize) {
    (i * len / out, ((i + 1) * len).div_ceil(out))
}

/// Every adaptive-pooling window of an `h × w` plane pooled to
/// `out_h × out_w`: (flat output index, rows `y0..y1`, columns `x0..x1`).
fn adaptive_windows(
    [h, w]: [usize; 2],
    [out_h, out_w]: [usize; 2],
) -> impl Iterator<Item = (usize, std::ops::Range<usize>, std::ops::Range<usize>)> {
    (0..out_h).flat_map(move |oy| {
        let (y0, y1) = adaptive_window(oy, out_h, h);
        (0..out_w).map(move |ox| {
            let (x0, x1) = adaptive_window(ox, out_w, w);
            (oy * out_w + ox, y0..y1, x0..x1)
        })
    })
}

/// Adaptive pooling of `planes` planes of `h × w` to `out_h × out_w`
/// (`nn.AdaptiveAvgPool2d` / `nn.AdaptiveMaxPool2d`); `argmax` (max only)
/// gets the flat in-plane index of each maximum, the first one on ties and
/// any NaN winning, as PyTorch.
///
/// Shapes: `x` is `(planes, h, w)`, `y` and `argmax` are `(planes, out_h, out_w)`.
pub fn adaptive_pool2d_forward<T: Scalar>(
    kind: PoolKind,
    planes: usize,
    [h, w]: [usize; 2],
    [out_h, out_w]: [usize; 2],
    x: &[T],
    y: &mut [T],
    argmax: &mut [u32],
) {
    let (il, ol) = (h * w, out_h * out_w);
    for ((xp, yp), ap) in x[..planes * il]
        .chunks_exact(il)
        .zip(y[..planes * ol].chunks_exact_mut(ol))
        .zip(argmax[..planes * ol].chunks_exact_mut(ol))
    {
        for (o, rows, cols) in adaptive_windows([h, w], [out_h, out_w]) {
            let area = rows.len() * cols.len();
            match kind {
                PoolKind::Avg => {
                    let sum: T = rows
                        .map(|iy| xp[iy * w + cols.start..iy * w + cols.end].iter().copied().sum::<T>())
                        .sum();
                    yp[o] = sum / T::lit(area as f64);
                }
                PoolKind::Max => {
                    let (mut best, mut arg) = (T::neg_infinity(), rows.start * w + cols.start);
                    'window: for iy in rows {
                        for ix in cols.clone() {
                            let v = xp[iy * w + ix];
                            if v > best || v.is_nan() {
                                (best, arg) = (v, iy * w + ix);
                                if v.is_nan() {
                                    break 'window;
                                }
                            }
                        }
                    }
                    yp[o] = best;
                    ap[o] = arg as u32;
                }
            }
        }
    }
}

/// Adaptive pooling backward: average spreads each output gradient evenly
/// over its window (windows may overlap, so contributions add up); max sends
/// it to the recorded maximum. Shapes as [`adaptive_pool2d_forward`].
pub fn adaptive_pool2d_backward<T: Scalar>(
    kind: PoolKind,
    planes: usize,
    [h, w]: [usize; 2],
    [out_h, out_w]: [usize; 2],
    dy: &[T],
    argmax: &[u32],
    dx: &mut [T],
) {
    let (il, ol) = (h * w, out_h * out_w);
    for ((dxp, dyp), ap) in dx[..planes * il]
        .chunks_exact_mut(il)
        .zip(dy[..planes * ol].chunks_exact(ol))
        .zip(argmax[..planes * ol].chunks_exact(ol))
    {
        dxp.fill(T::zero());
        for (o, rows, cols) in adaptive_windows([h, w], [out_h, out_w]) {
            match kind {
                PoolKind::Avg => {
                    let d = dyp[o] / T::lit((rows.len() * cols.len()) as f64);
                    for iy in rows {
                        dxp[iy * w + cols.start..iy * w + cols.end]
                            .iter_mut()
                            .for_each(|v| *v += d);
                    }
                }
                PoolKind::Max => dxp[ap[o] as usize] += dyp[o],
            }
        }
    }
}
