//! Unfolding image patches into matrix columns and back.
//!
//! `im2col` turns the input channels of one group of one sample into a
//! `(c_in_g · k_h · k_w) × (out_h · out_w)` matrix whose product with the
//! group's weights is the convolution; `col2im` scatters such a matrix back,
//! summing overlaps, which is the adjoint used by the data gradient.

use crate::kernels::geometry::ConvGeometry;
use crate::scalar::Scalar;

/// Stride 1, no dilation, no padding: the case the general loops below
/// handle with per-row bounds arithmetic that costs more than the copy when
/// images are small (M1's second layer copies runs of 4 floats).
#[inline]
fn is_plain(g: &ConvGeometry) -> bool {
    g.stride == [1, 1]
        && g.dilation == [1, 1]
        && g.pad_top + g.pad_bottom + g.pad_left + g.pad_right == 0
        && g.out_w > 0
}

/// Output rows of a compile-time width `N` from input rows `w` apart: a
/// copy of known length is a few vector moves where a `memcpy` call of a
/// run-time length costs more than the copy.
#[inline(always)]
fn copy_rows<T: Scalar, const N: usize>(dst: &mut [T], src: &[T], w: usize) {
    for (oy, d) in dst.as_chunks_mut::<N>().0.iter_mut().enumerate() {
        d.copy_from_slice(&src[oy * w..oy * w + N]);
    }
}

/// `dst` (rows of `ow`) from rows `step` apart in `src`: a fixed-length
/// copy for the short rows of small images (ResNet's 10, 5, 3 and 2 pixels)
/// where a `memcpy` call of run-time length costs more than the copy, and
/// [`copy_run`] for longer ones.
#[inline]
fn copy_short_rows<T: Scalar>(dst: &mut [T], src: &[T], ow: usize, step: usize) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match ow {
                $($n => copy_rows::<T, $n>(dst, src, step),)*
                _ => {
                    for (oy, d) in dst.chunks_exact_mut(ow).enumerate() {
                        copy_run(d, &src[oy * step..oy * step + ow]);
                    }
                }
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
}

/// Rows up to this long are copied by [`copy_run`]'s fixed-size moves;
/// longer ones by `memcpy`, whose call then pays for itself.
const SHORT_RUN: usize = 64;

/// `d = s`; for a row of 8 to [`SHORT_RUN`] elements, a fixed-size copy of the
/// first multiple of 8 below the length and one of the last 8, which
/// overlaps it where the length is not a multiple of 8 (rows of 9 to 64
/// pixels: the jet CNN's 36 and 14 on 40×40 images). Fixed sizes, because
/// a loop over the row is turned into a `memcpy` call of run-time length.
#[inline(always)]
fn copy_run<T: Scalar>(d: &mut [T], s: &[T]) {
    /// The first `N` elements.
    #[inline(always)]
    fn head<T: Scalar, const N: usize>(d: &mut [T], s: &[T]) {
        let d: &mut [T; N] = (&mut d[..N]).try_into().expect("N elements");
        *d = s[..N].try_into().expect("N elements");
    }
    let n = d.len();
    // Under 8 elements the overlapping copy does not apply; over
    // `SHORT_RUN`, `memcpy` pays for its call.
    if !(8..=SHORT_RUN).contains(&n) {
        d.copy_from_slice(s);
        return;
    }
    let s = &s[..n];
    match (n - 1) / 8 {
        1 => head::<T, 8>(d, s),
        2 => head::<T, 16>(d, s),
        3 => head::<T, 24>(d, s),
        4 => head::<T, 32>(d, s),
        5 => head::<T, 40>(d, s),
        6 => head::<T, 48>(d, s),
        7 => head::<T, 56>(d, s),
        _ => {}
    }
    head::<T, 8>(&mut d[n - 8..], &s[n - 8..]);
}

/// Adds the rows of `src` (packed, `N` wide) onto rows `step` apart in `dst`.
#[inline(always)]
fn add_rows<T: Scalar, const N: usize>(dst: &mut [T], src: &[T], step: usize) {
    for (oy, s) in src.as_chunks::<N>().0.iter().enumerate() {
        let d = &mut dst[oy * step..oy * step + N];
        d.iter_mut().zip(s).for_each(|(d, &v)| *d += v);
    }
}

/// The adjoint of [`copy_short_rows`]: rows of `ow` from `src` added onto
/// rows `step` apart in `dst`, with fixed-length loops for short rows.
#[inline]
fn add_short_rows<T: Scalar>(dst: &mut [T], src: &[T], ow: usize, step: usize) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match ow {
                $($n => add_rows::<T, $n>(dst, src, step),)*
                _ => {
                    for (oy, s) in src.chunks_exact(ow).enumerate() {
                        let d = &mut dst[oy * step..oy * step + ow];
                        d.iter_mut().zip(s).for_each(|(d, &v)| *d += v);
                    }
                }
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
}

/// Whether [`im2col_padded`] serves `g`: padding, and the buffer it needs.
pub fn is_padded(g: &ConvGeometry) -> bool {
    g.pad_top + g.pad_bottom + g.pad_left + g.pad_right > 0 && g.out_w > 0
}

/// The zero-padded plane size `(rows, columns)` of `g`.
fn padded_size(g: &ConvGeometry) -> (usize, usize) {
    (g.h + g.pad_top + g.pad_bottom, g.w + g.pad_left + g.pad_right)
}

/// [`im2col`] for a padded convolution ([`is_padded`]): each input plane is
/// copied once into the zero-bordered `buf`, and every window row is then a
/// read with no bounds to check and no zero fill: the general loops spend
/// more on per-row bounds and short fills than on copying when images are
/// small.
pub fn im2col_padded<T: Scalar>(g: &ConvGeometry, x_s: &[T], c0: usize, col: &mut [T], ld: usize, buf: &mut Vec<T>) {
    let (ph, pw) = padded_size(g);
    if buf.len() < ph * pw {
        buf.resize(ph * pw, T::zero());
    }
    let buf = &mut buf[..ph * pw];
    buf.fill(T::zero());
    let (p, ow, plane_len) = (g.out_h * g.out_w, g.out_w, g.h * g.w);
    let step = g.stride[0] * pw;
    let mut row = 0;
    for cg in 0..g.c_in / g.groups {
        let plane = &x_s[(c0 + cg) * plane_len..(c0 + cg + 1) * plane_len];
        let interior = &mut buf[g.pad_top * pw + g.pad_left..];
        copy_short_rows_into(interior, plane, g.w, pw);
        for ky in 0..g.k_h {
            for kx in 0..g.k_w {
                let dst = &mut col[row * ld..row * ld + p];
                let src = &buf[ky * g.dilation[0] * pw + kx * g.dilation[1]..];
                if g.stride[1] == 1 {
                    copy_short_rows(dst, src, ow, step);
                } else {
                    for (oy, d) in dst.chunks_exact_mut(ow).enumerate() {
                        let s = src[oy * step..].iter().step_by(g.stride[1]);
                        d.iter_mut().zip(s).for_each(|(d, &v)| *d = v);
                    }
                }
                row += 1;
            }
        }
    }
}

/// Rows of `w` from `src` (packed) into `dst` at rows `pw` apart.
#[inline]
fn copy_short_rows_into<T: Scalar>(dst: &mut [T], src: &[T], w: usize, pw: usize) {
    for (iy, s) in src.chunks_exact(w).enumerate() {
        copy_run(&mut dst[iy * pw..iy * pw + w], s);
    }
}

/// [`col2im`] for a padded convolution: the adjoint of [`im2col_padded`],
/// summing each channel's window rows into the zero-bordered `buf` and
/// adding its interior onto `dx_s`.
pub fn col2im_padded<T: Scalar>(g: &ConvGeometry, col: &[T], c0: usize, dx_s: &mut [T], ld: usize, buf: &mut Vec<T>) {
    let (ph, pw) = padded_size(g);
    if buf.len() < ph * pw {
        buf.resize(ph * pw, T::zero());
    }
    let buf = &mut buf[..ph * pw];
    let (p, ow, plane_len) = (g.out_h * g.out_w, g.out_w, g.h * g.w);
    let step = g.stride[0] * pw;
    let mut row = 0;
    for cg in 0..g.c_in / g.groups {
        buf.fill(T::zero());
        for ky in 0..g.k_h {
            for kx in 0..g.k_w {
                let src = &col[row * ld..row * ld + p];
                let dst = &mut buf[ky * g.dilation[0] * pw + kx * g.dilation[1]..];
                if g.stride[1] == 1 {
                    add_short_rows(dst, src, ow, step);
                } else {
                    for (oy, s) in src.chunks_exact(ow).enumerate() {
                        let d = dst[oy * step..].iter_mut().step_by(g.stride[1]);
                        d.zip(s).for_each(|(d, &v)| *d += v);
                    }
                }
                row += 1;
            }
        }
        let plane = &mut dx_s[(c0 + cg) * plane_len..(c0 + cg + 1) * plane_len];
        for (iy, d) in plane.chunks_exact_mut(g.w).enumerate() {
            let at = (iy + g.pad_top) * pw + g.pad_left;
            d.iter_mut().zip(&buf[at..at + g.w]).for_each(|(d, &v)| *d += v);
        }
    }
}

/// Range of output columns `ox` whose input column `ox·stride + offset` lies
/// in `0..size`.
#[inline]
fn valid_range(out: usize, stride: usize, offset: isize, size: usize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if offset >= 0 { 0 } else { ((-offset) + s - 1) / s };
    let hi_excl = if offset >= size as isize {
        0
    } else {
        ((size as isize - 1 - offset) / s + 1).max(0)
    };
    let lo = (lo as usize).min(out);
    let hi = (hi_excl as usize).min(out).max(lo);
    (lo, hi)
}

/// Fills `col` (`k × p`, row `r` starting at `r · ld`, `ld ≥ p`) from
/// channels `c0 .. c0 + c_in/groups` of one sample `x_s` (`c_in × h × w`).
/// With `ld = nb · p` and `col` offset by `s · p`, the patches of `nb`
/// samples sit side by side and one matrix product serves them all.
pub fn im2col<T: Scalar>(g: &ConvGeometry, x_s: &[T], c0: usize, col: &mut [T], ld: usize) {
    let cig = g.c_in / g.groups;
    let p = g.out_h * g.out_w;
    if is_plain(g) {
        // Every output row reads a whole run of one input row: no bounds,
        // no zero fill, nothing to compute per row but two offsets.
        let ow = g.out_w;
        let mut row = 0;
        for cg in 0..cig {
            let plane = &x_s[(c0 + cg) * g.h * g.w..(c0 + cg + 1) * g.h * g.w];
            for ky in 0..g.k_h {
                for kx in 0..g.k_w {
                    let dst = &mut col[row * ld..row * ld + p];
                    copy_short_rows(dst, &plane[ky * g.w + kx..], ow, g.w);
                    row += 1;
                }
            }
        }
        return;
    }
    let mut row = 0;
    for cg in 0..cig {
        let plane = &x_s[(c0 + cg) * g.h * g.w..(c0 + cg + 1) * g.h * g.w];
        for ky in 0..g.k_h {
            for kx in 0..g.k_w {
                let dst = &mut col[row * ld..row * ld + p];
                let offset = (kx * g.dilation[1]) as isize - g.pad_left as isize;
                let (lo, hi) = valid_range(g.out_w, g.stride[1], offset, g.w);
                for oy in 0..g.out_h {
                    let d = &mut dst[oy * g.out_w..(oy + 1) * g.out_w];
                    let iy = (oy * g.stride[0] + ky * g.dilation[0]) as isize - g.pad_top as isize;
                    if iy < 0 || iy as usize >= g.h {
                        d.fill(T::zero());
                        continue;
                    }
                    let src = &plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    d[..lo].fill(T::zero());
                    d[hi..].fill(T::zero());
                    if hi == lo {
                        continue;
                    }
                    let start = (lo as isize * g.stride[1] as isize + offset) as usize;
                    if g.stride[1] == 1 {
                        d[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                    } else {
                        for (j, v) in d[lo..hi].iter_mut().enumerate() {
                            *v = src[start + j * g.stride[1]];
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// A 1×1 window without padding or dilation, any stride: its patches are a
/// strided gather of the input, with no bounds to check.
pub fn is_1x1_unpadded(g: &ConvGeometry) -> bool {
    g.k_h == 1 && g.k_w == 1 && g.pad_top + g.pad_bottom + g.pad_left + g.pad_right == 0
}

/// [`im2col`] for a 1×1 unpadded window ([`is_1x1_unpadded`]): row `cg` of
/// `col` is channel `c0 + cg` sampled every `stride` pixels.
pub fn gather_1x1<T: Scalar>(g: &ConvGeometry, x_s: &[T], c0: usize, col: &mut [T], ld: usize) {
    let (p, [sh, sw], ow) = (g.out_h * g.out_w, g.stride, g.out_w);
    for cg in 0..g.c_in / g.groups {
        let plane = &x_s[(c0 + cg) * g.h * g.w..(c0 + cg + 1) * g.h * g.w];
        let dst = &mut col[cg * ld..cg * ld + p];
        for (oy, d) in dst.chunks_exact_mut(ow).enumerate() {
            let src = &plane[oy * sh * g.w..];
            if sw == 1 {
                d.copy_from_slice(&src[..ow]);
            } else {
                d.iter_mut().zip(src.iter().step_by(sw)).for_each(|(d, &v)| *d = v);
            }
        }
    }
}

/// [`col2im`] for a 1×1 unpadded window: the adjoint of [`gather_1x1`].
pub fn scatter_1x1<T: Scalar>(g: &ConvGeometry, col: &[T], c0: usize, dx_s: &mut [T], ld: usize) {
    let (p, [sh, sw], ow) = (g.out_h * g.out_w, g.stride, g.out_w);
    for cg in 0..g.c_in / g.groups {
        let plane = &mut dx_s[(c0 + cg) * g.h * g.w..(c0 + cg + 1) * g.h * g.w];
        let src = &col[cg * ld..cg * ld + p];
        for (oy, s) in src.chunks_exact(ow).enumerate() {
            let dst = &mut plane[oy * sh * g.w..];
            dst.iter_mut().step_by(sw).zip(s).for_each(|(d, &v)| *d += v);
        }
    }
}

/// Adds the columns of `col` (laid out as for [`im2col`]) back onto
/// channels `c0 ..` of `dx_s`.
pub fn col2im<T: Scalar>(g: &ConvGeometry, col: &[T], c0: usize, dx_s: &mut [T], ld: usize) {
    let cig = g.c_in / g.groups;
    let p = g.out_h * g.out_w;
    if is_plain(g) {
        let ow = g.out_w;
        let mut row = 0;
        for cg in 0..cig {
            let plane = &mut dx_s[(c0 + cg) * g.h * g.w..(c0 + cg + 1) * g.h * g.w];
            for ky in 0..g.k_h {
                for kx in 0..g.k_w {
                    let srcrow = &col[row * ld..row * ld + p];
                    for (oy, s) in srcrow.chunks_exact(ow).enumerate() {
                        let at = (oy + ky) * g.w + kx;
                        for (d, v) in plane[at..at + ow].iter_mut().zip(s) {
                            *d += *v;
                        }
                    }
                    row += 1;
                }
            }
        }
        return;
    }
    let mut row = 0;
    for cg in 0..cig {
        let plane = &mut dx_s[(c0 + cg) * g.h * g.w..(c0 + cg + 1) * g.h * g.w];
        for ky in 0..g.k_h {
            for kx in 0..g.k_w {
                let srcrow = &col[row * ld..row * ld + p];
                let offset = (kx * g.dilation[1]) as isize - g.pad_left as isize;
                let (lo, hi) = valid_range(g.out_w, g.stride[1], offset, g.w);
                for oy in 0..g.out_h {
                    let iy = (oy * g.stride[0] + ky * g.dilation[0]) as isize - g.pad_top as isize;
                    if iy < 0 || iy as usize >= g.h || hi == lo {
                        continue;
                    }
                    let s = &srcrow[oy * g.out_w..(oy + 1) * g.out_w];
                    let dst = &mut plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    let start = (lo as isize * g.stride[1] as isize + offset) as usize;
                    if g.stride[1] == 1 {
                        for (d, v) in dst[start..start + (hi - lo)].iter_mut().zip(&s[lo..hi]) {
                            *d += *v;
                        }
                    } else {
                        for (j, v) in s[lo..hi].iter().enumerate() {
                            dst[start + j * g.stride[1]] += *v;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}
