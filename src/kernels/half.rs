//! Half-precision (`f16`) values widened to `f32` in bulk: what a streamed
//! `f16` file spends most of its reader's time on.
//!
//! The F16C instruction `vcvtph2ps` widens 8 halves at once, exactly
//! (subnormals included); it is used where the CPU reports F16C and AVX,
//! and the lookup table of `crate::io::f16` (the scalar reference beside
//! it, always compiled) elsewhere and for the tail. The two agree bit for
//! bit on every half but signalling NaNs, which the instruction quiets (a
//! NaN either way).

/// Widens `bits` into `out` (the same length), through F16C where `f16c`
/// is true (see [`f16c_available`]), else through `table` (the scalar
/// reference: every half's `f32`, indexed by its bits).
pub fn widen(bits: &[u16], out: &mut [f32], table: &[f32], f16c: bool) {
    assert_eq!(bits.len(), out.len(), "one output per half");
    #[cfg(target_arch = "x86_64")]
    if f16c && f16c_available() {
        let whole = bits.len() / 8 * 8;
        // SAFETY: F16C and AVX were reported by the CPU just above, so the
        // instructions `widen_f16c` is compiled with exist here.
        unsafe { widen_f16c(&bits[..whole], &mut out[..whole]) };
        widen_table(&bits[whole..], &mut out[whole..], table);
        return;
    }
    let _ = f16c;
    widen_table(bits, out, table);
}

/// Widens little-endian halves `raw` (two bytes a value; `out.len()` of
/// them) into `out`, as [`widen`] does, without first copying them out as
/// `u16`.
pub fn widen_le_bytes(raw: &[u8], out: &mut [f32], table: &[f32], f16c: bool) {
    assert_eq!(raw.len() / 2, out.len(), "one output per half");
    let (mut raw, mut out) = (raw, out);
    #[cfg(target_arch = "x86_64")]
    if f16c && f16c_available() {
        let whole = out.len() / 8 * 8;
        // SAFETY: as in `widen`: F16C and AVX were reported by the CPU; x86
        // is little-endian, so the bytes are the halves' bits in order.
        unsafe { widen_f16c_bytes(&raw[..2 * whole], &mut out[..whole]) };
        (raw, out) = (&raw[2 * whole..], &mut out[whole..]);
    }
    let _ = f16c;
    for (o, c) in out.iter_mut().zip(raw.chunks_exact(2)) {
        *o = table[usize::from(u16::from_le_bytes([c[0], c[1]]))];
    }
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

/// The scalar reference: one table lookup a value.
fn widen_table(bits: &[u16], out: &mut [f32], table: &[f32]) {
    for (o, &b) in out.iter_mut().zip(bits) {
        *o = table[usize::from(b)];
    }
}

/// 8 halves at a time through `vcvtph2ps`; `bits.len()` a multiple of 8
/// and equal to `out.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn widen_f16c(bits: &[u16], out: &mut [f32]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm256_cvtph_ps, _mm256_storeu_ps};
    let (src, _) = bits.as_chunks::<8>();
    let (dst, _) = out.as_chunks_mut::<8>();
    for (s, d) in src.iter().zip(dst) {
        // SAFETY: `s` is 8 `u16` (16 bytes) and `d` 8 `f32` (32 bytes),
        // both in bounds; the unaligned load and store need no alignment.
        unsafe {
            let h = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
            _mm256_storeu_ps(d.as_mut_ptr(), _mm256_cvtph_ps(h));
        }
    }
}

/// [`widen_f16c`] from little-endian bytes: `raw.len() == 2 · out.len()`,
/// a multiple of 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn widen_f16c_bytes(raw: &[u8], out: &mut [f32]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm256_cvtph_ps, _mm256_storeu_ps};
    let (src, _) = raw.as_chunks::<16>();
    let (dst, _) = out.as_chunks_mut::<8>();
    for (s, d) in src.iter().zip(dst) {
        // SAFETY: `s` is 16 bytes and `d` 8 `f32` (32 bytes), both in
        // bounds; the unaligned load and store need no alignment.
        unsafe {
            let h = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
            _mm256_storeu_ps(d.as_mut_ptr(), _mm256_cvtph_ps(h));
        }
    }
}
