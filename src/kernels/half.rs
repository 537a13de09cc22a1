//! Half-precision (`f16`) values widened to `f32` in bulk: what a streamed
//! `f16` file spends most of its reader's time on.
//!
//! The F16C instruction `vcvtph2ps` widens 8 halves at once, exactly
//! (subnormals included); it is used where the CPU reports F16C and AVX,
//! and the lookup table of `crate::io::f16` (the scalar reference beside
//! it, always compiled) elsewhere and for the tail. The two agree bit for
//! bit on every half but signalling NaNs, which the instruction quiets (a
//! NaN either way).

use std::mem::MaybeUninit;

/// Appends the little-endian halves `raw` (two bytes a value; a trailing
/// odd byte is ignored), widened, to `out`: through F16C where `f16c` is
/// true and the CPU has it ([`f16c_available`]), else through `table` (the
/// scalar reference: every half's `f32`, indexed by its bits). The values
/// are written once, into `out`'s spare capacity, with no zero fill first.
pub fn widen_le_append(raw: &[u8], out: &mut Vec<f32>, table: &[f32], f16c: bool) {
    let n = raw.len() / 2;
    out.reserve(n);
    let dst = &mut out.spare_capacity_mut()[..n];
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if f16c && f16c_available() {
        done = n / 8 * 8;
        // SAFETY: F16C and AVX were reported by the CPU just above, so the
        // instructions `widen_f16c` is compiled with exist here; x86 is
        // little-endian, so the bytes are the halves' bits in order.
        unsafe { widen_f16c(&raw[..2 * done], &mut dst[..done]) };
    }
    let _ = f16c;
    for (o, c) in dst[done..].iter_mut().zip(raw[2 * done..].chunks_exact(2)) {
        o.write(table[usize::from(u16::from_le_bytes([c[0], c[1]]))]);
    }
    // SAFETY: the `n` values after the old length were all written above
    // (the F16C loop the first `done`, the table loop the rest).
    unsafe { out.set_len(out.len() + n) };
}

/// True when this CPU has F16C and AVX.
pub fn f16c_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// 8 halves at a time through `vcvtph2ps`: `raw.len() == 2 · out.len()`, a
/// multiple of 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn widen_f16c(raw: &[u8], out: &mut [MaybeUninit<f32>]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm256_cvtph_ps, _mm256_storeu_ps};
    let (src, _) = raw.as_chunks::<16>();
    let (dst, _) = out.as_chunks_mut::<8>();
    for (s, d) in src.iter().zip(dst) {
        // SAFETY: `s` is 16 bytes and `d` 8 `f32` slots (32 bytes), both in
        // bounds; the unaligned load and store need no alignment, and a
        // store into `MaybeUninit` slots initialises them.
        unsafe {
            let h = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
            _mm256_storeu_ps(d.as_mut_ptr().cast::<f32>(), _mm256_cvtph_ps(h));
        }
    }
}
