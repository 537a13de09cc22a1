//! Direct convolution: the forward pass of a stride-1 convolution computed
//! from the input plane itself, with no patch matrix.
//!
//! im2col copies every input value `k_h · k_w` times before a product whose
//! other side has `c_out` columns. For the first layer of an image model
//! (one or three input channels, a handful of filters) those copies cost
//! more than the product, and a product with five columns keeps the GEMM
//! micro-kernels far below their speed. Here each sample's input is laid
//! once into a zero-bordered plane, and each output row is accumulated
//! [`COLS`] pixels and up to [`CHANS`] output channels at a time: a load of
//! eight neighbouring inputs feeds one multiply-add per channel, a weight
//! broadcast once feeds two.
//!
//! The loops are plain Rust over fixed-size arrays, compiled twice through
//! `cpu::dispatch!`: for the baseline target and for AVX2 + FMA, chosen at run
//! time ([`Isa`]). Both builds multiply and add separately in the same
//! order, so they agree bit for bit. The scalar oracle is
//! [`crate::kernels::reference::conv2d_forward`].

use crate::kernels::cpu::{Isa, dispatch};
use crate::kernels::geometry::ConvGeometry;
use crate::scalar::Scalar;

/// Output pixels of one row accumulated together: two 256-bit vectors of
/// `f32` a channel, so that each broadcast weight feeds two multiply-adds.
pub const COLS: usize = 16;

/// Most output channels accumulated together: a block of `N ≤ CHANS`
/// channels keeps `2·N` vectors of `f32` sums in registers (12 of AVX2's
/// 16, the rest for the inputs and a weight), and every input vector loaded
/// feeds `N` multiply-adds. (`f64`, for gradient checks, needs twice the
/// registers and spills: correct, not fast.)
pub const CHANS: usize = 6;

/// True when the direct loops compute `g`'s forward pass: stride 1, no
/// dilation, one group.
pub fn applies(g: &ConvGeometry) -> bool {
    g.stride == [1, 1] && g.dilation == [1, 1] && g.groups == 1 && g.out_h > 0 && g.out_w > 0
}

/// Largest patch (`c_in · k_h · k_w`) for which
/// [`crate::kernels::conv_gemm::ConvAlgo::Auto`] takes the direct loops.
pub const AUTO_MAX_PATCH: usize = 32;

/// Most output channels for which `Auto` takes the direct loops (one
/// block): im2col copies each input `k_h · k_w` times whatever the number of
/// filters, while the product runs faster per multiply-add than these loops,
/// so from some number of filters the product wins. On a 2-core AVX2 EPYC,
/// `cargo bench --bench conv -- conv1` (the kernels called in turn): the jet
/// CNN's first layer (5 filters of 5×5, at 20² and 40²) 1.3–1.9× faster
/// direct, LeNet's (6 of 5×5) as fast; 3×3 filters on one channel, 8 of
/// them 1.1×, 16 of them 1.2× and 32 of them 1.4× faster through im2col.
pub const AUTO_MAX_CHANNELS: usize = CHANS;

/// True when `Auto` should take the direct loops for `g`: few input values
/// per output, at most [`AUTO_MAX_CHANNELS`] filters, and output rows of at
/// least [`COLS`] pixels (on rows of 8, im2col was as fast).
pub fn worth_it(g: &ConvGeometry) -> bool {
    applies(g) && g.patch_len() <= AUTO_MAX_PATCH && g.c_out <= AUTO_MAX_CHANNELS && g.out_w >= COLS
}

/// Elements of one row of the bordered plane: the output row rounded up to
/// whole [`COLS`] chunks, plus the kernel's reach, so that every load is in
/// bounds.
fn plane_row(g: &ConvGeometry) -> usize {
    g.out_w.next_multiple_of(COLS) + g.k_w - 1
}

/// Elements of one input channel's bordered plane.
fn plane_len(g: &ConvGeometry) -> usize {
    (g.out_h + g.k_h - 1) * plane_row(g)
}

/// The output channels split into blocks of at most [`CHANS`], as even as
/// possible (5 → 5, 8 → 4 + 4, 10 → 5 + 5): `(first channel, channels)`.
fn blocks(c_out: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = c_out.div_ceil(CHANS).max(1);
    let size = c_out.div_ceil(count);
    (0..c_out).step_by(size).map(move |c0| (c0, size.min(c_out - c0)))
}

/// Elements of the weight buffer [`forward`] needs (the filters regrouped).
pub fn weights_len(g: &ConvGeometry) -> usize {
    g.c_out * g.patch_len()
}

/// `y = conv(x, w)` (no bias) for `samples` samples on `isa`, each
/// sample's outputs passed to `finish` right after they are computed (an
/// epilogue, while they are in cache). `wbuf` holds at least
/// [`weights_len`] elements and `plane` is grown as needed.
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Scalar>(
    isa: Isa,
    g: &ConvGeometry,
    samples: usize,
    x: &[T],
    w: &[T],
    y: &mut [T],
    wbuf: &mut [T],
    plane: &mut Vec<T>,
    finish: impl Fn(&mut [T]),
) {
    debug_assert!(applies(g));
    let k = g.patch_len();
    // Each block of `n` filters regrouped tap-major: [tap][channel of the block].
    let wb = &mut wbuf[..weights_len(g)];
    for (c0, n) in blocks(g.c_out) {
        for (tap, lanes) in wb[c0 * k..(c0 + n) * k].chunks_exact_mut(n).enumerate() {
            for (c, v) in lanes.iter_mut().enumerate() {
                *v = w[(c0 + c) * k + tap];
            }
        }
    }
    let pl = plane_len(g) * g.c_in;
    if plane.len() < pl {
        plane.resize(pl, T::zero());
    }
    let plane = &mut plane[..pl];
    for (xs, ys) in x[..samples * g.in_len()]
        .chunks_exact(g.in_len())
        .zip(y[..samples * g.out_len()].chunks_exact_mut(g.out_len()))
    {
        lay_out(g, xs, plane);
        sample(isa, g, plane, wb, ys);
        finish(ys);
    }
}

/// One sample's input channels copied into their zero-bordered planes.
fn lay_out<T: Scalar>(g: &ConvGeometry, xs: &[T], plane: &mut [T]) {
    plane.fill(T::zero());
    let (row, len) = (plane_row(g), plane_len(g));
    for (src, dst) in xs.chunks_exact(g.h * g.w).zip(plane.chunks_exact_mut(len)) {
        for (r, src_row) in src.chunks_exact(g.w).enumerate() {
            let at = (r + g.pad_top) * row + g.pad_left;
            dst[at..at + g.w].copy_from_slice(src_row);
        }
    }
}

dispatch!(sample, sample_avx2, sample_body, (g: &ConvGeometry, plane: &[T], wb: &[T], ys: &mut [T]));

/// Every output of one sample from its bordered `plane`, a block of
/// channels at a time.
#[inline(always)]
fn sample_body<T: Scalar>(g: &ConvGeometry, plane: &[T], wb: &[T], ys: &mut [T]) {
    let k = g.patch_len();
    let p = g.out_h * g.out_w;
    for (c0, n) in blocks(g.c_out) {
        let (block, out) = (&wb[c0 * k..(c0 + n) * k], &mut ys[c0 * p..(c0 + n) * p]);
        debug_assert!((1..=CHANS).contains(&n), "blocks() makes 1 to CHANS channels");
        match n {
            1 => channels::<T, 1>(g, plane, block, out),
            2 => channels::<T, 2>(g, plane, block, out),
            3 => channels::<T, 3>(g, plane, block, out),
            4 => channels::<T, 4>(g, plane, block, out),
            5 => channels::<T, 5>(g, plane, block, out),
            _ => channels::<T, CHANS>(g, plane, block, out),
        }
    }
}

/// `N` output channels (the planes of `out`) from their regrouped filters
/// `block`, [`COLS`] pixels of a row at a time.
#[inline(always)]
fn channels<T: Scalar, const N: usize>(g: &ConvGeometry, plane: &[T], block: &[T], out: &mut [T]) {
    let (row, len) = (plane_row(g), plane_len(g));
    let (ow, p) = (g.out_w, g.out_h * g.out_w);
    let reach = g.k_w - 1 + COLS;
    for oy in 0..g.out_h {
        for x0 in (0..ow).step_by(COLS) {
            let mut acc = [[T::zero(); COLS]; N];
            let mut filters = block.chunks_exact(g.k_w * N);
            for ci in 0..g.c_in {
                for ky in 0..g.k_h {
                    let start = ci * len + (oy + ky) * row + x0;
                    let src = &plane[start..start + reach];
                    let taps = filters.next().expect("one filter row per input row");
                    for (v, wt) in src.windows(COLS).zip(taps.chunks_exact(N)) {
                        for (a, &wv) in acc.iter_mut().zip(wt) {
                            for (s, &xv) in a.iter_mut().zip(v) {
                                *s += wv * xv;
                            }
                        }
                    }
                }
            }
            let m = COLS.min(ow - x0);
            for (c, &a) in acc.iter().enumerate() {
                // A copy (`&a`) is cut to the row's end, so that the sums
                // themselves are only ever indexed by constants and stay
                // in registers through the loops above.
                let at = c * p + oy * ow + x0;
                out[at..at + m].copy_from_slice(&a[..m]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::cpu::every_isa::{self, values};
    use crate::kernels::reference;

    fn geometry(c_in: usize, h: usize, w: usize, c_out: usize, k: [usize; 2], pad: [usize; 4]) -> ConvGeometry {
        let [top, bottom, left, right] = pad;
        ConvGeometry {
            c_in,
            h,
            w,
            c_out,
            k_h: k[0],
            k_w: k[1],
            stride: [1, 1],
            dilation: [1, 1],
            pad_top: top,
            pad_bottom: bottom,
            pad_left: left,
            pad_right: right,
            groups: 1,
            out_h: h + top + bottom + 1 - k[0],
            out_w: w + left + right + 1 - k[1],
        }
    }

    /// The jet CNN's and LeNet's first layers, RGB, output widths below,
    /// at and past one and two vectors, and blocks of every size (1 to 6
    /// channels).
    fn geometries() -> Vec<ConvGeometry> {
        vec![
            geometry(1, 20, 20, 5, [5, 5], [0; 4]),
            geometry(1, 28, 28, 6, [5, 5], [2; 4]),
            geometry(3, 9, 11, 8, [3, 3], [1; 4]),
            geometry(2, 6, 5, 3, [3, 2], [0, 2, 1, 0]),
            geometry(1, 4, 3, 1, [1, 1], [0; 4]),
            geometry(1, 7, 25, 7, [2, 4], [1, 0, 0, 3]),
            geometry(2, 5, 12, 19, [3, 3], [1; 4]),
            geometry(1, 6, 9, 8, [2, 2], [0; 4]),
            geometry(1, 6, 9, 4, [2, 2], [0; 4]),
            geometry(3, 4, 17, 2, [1, 3], [0, 0, 1, 1]),
        ]
    }

    fn run<T: Scalar>(g: &ConvGeometry, isa: Isa, samples: usize, x: &[T], w: &[T]) -> Vec<T> {
        let mut y = vec![T::lit(f64::NAN); samples * g.out_len()];
        let mut wbuf = vec![T::zero(); weights_len(g)];
        forward(isa, g, samples, x, w, &mut y, &mut wbuf, &mut Vec::new(), |_| {});
        y
    }

    /// Every build this CPU runs (the baseline always, AVX2 where it has
    /// it) against the reference loops in f64, and the AVX2 build equal to
    /// the baseline bit for bit in f32.
    #[test]
    fn direct_loops_match_reference_on_every_isa() {
        let (isas, avx2) = every_isa::builds("direct loops");
        for g in geometries() {
            assert!(applies(&g), "{g:?}");
            let samples = 3;
            let x = values::<f64>(samples * g.in_len(), 37);
            let w = values::<f64>(g.c_out * g.patch_len(), 53);
            let mut expected = vec![0.0; samples * g.out_len()];
            reference::conv2d_forward(&g, samples, &x, &w, None, &mut expected);
            every_isa::assert_close(&format!("{g:?}"), &isas, &expected, |isa| run(&g, isa, samples, &x, &w));
            if let Some(avx2) = avx2 {
                let x = values::<f32>(samples * g.in_len(), 37);
                let w = values::<f32>(g.c_out * g.patch_len(), 53);
                assert_eq!(
                    run(&g, Isa::BASELINE, samples, &x, &w),
                    run(&g, avx2, samples, &x, &w),
                    "{g:?}"
                );
            }
        }
    }

    #[test]
    fn auto_takes_small_first_layers_only() {
        assert!(worth_it(&geometry(1, 20, 20, 5, [5, 5], [0; 4])));
        assert!(worth_it(&geometry(3, 32, 32, 6, [3, 3], [1; 4])));
        assert!(!worth_it(&geometry(3, 32, 32, 8, [3, 3], [1; 4])));
        // Too many filters, too many input values, rows narrower than a vector.
        let sizes = |c: usize| blocks(c).map(|(_, n)| n).collect::<Vec<_>>();
        assert_eq!(sizes(5), [5]);
        assert_eq!(sizes(8), [4, 4]);
        assert_eq!(sizes(10), [5, 5]);
        assert_eq!(sizes(9), [5, 4]);
        assert_eq!(sizes(17), [6, 6, 5]);
        assert_eq!(sizes(1), [1]);
        assert!(!worth_it(&geometry(1, 28, 28, 32, [3, 3], [0; 4])));
        assert!(!worth_it(&geometry(5, 8, 8, 10, [5, 5], [2; 4])));
        assert!(!worth_it(&geometry(1, 8, 8, 5, [5, 5], [0; 4])));
    }
}
