//! IEEE half precision (`float16`), as NumPy's `<f2` and safetensors' `F16`
//! store it, widened to `f32`.

/// IEEE half-precision bits to `f32` (subnormals, infinities and NaN included).
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exp = ((bits >> 10) & 0x1f) as u32;
    let frac = (bits & 0x3ff) as u32;
    let out = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            let shift = f.leading_zeros() - 21;
            sign | ((127 - 15 + 1 - shift) << 23) | (((f << shift) & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(out)
}

/// Every half's `f32` value, indexed by its bits: [`f16_to_f32`] computed
/// once (256 KiB), so that widening a stored array is one load a value.
fn table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..=u16::MAX).map(f16_to_f32).collect())
}

/// Little-endian half-precision bytes (two a value; a trailing odd byte is
/// ignored) widened to `f32`, appended to `out`: what streamed `f16` files
/// and NumPy's `<f2` arrays are read through, 8 at a time with F16C where
/// the CPU has it. Equal to [`f16_to_f32`] on every value, bit for bit but
/// for signalling NaNs, which F16C returns quieted
/// (`tests::the_bulk_widening_is_the_scalar_conversion`).
pub fn widen_le(raw: &[u8], out: &mut Vec<f32>) {
    crate::kernels::half::widen_le_append(raw, out, table(), true);
}

/// `f32` to the nearest IEEE half precision, ties to even (NumPy's
/// `astype(float16)`): too large for half becomes ±∞, too small ±0 or a
/// subnormal, NaN stays NaN.
pub fn f32_to_f16(v: f32) -> u16 {
    let x = v.to_bits();
    let sign = (x >> 16) & 0x8000;
    let exp = (x >> 23) & 0xff;
    let man = x & 0x007f_ffff;
    if exp == 0xff {
        let nan = if man == 0 { 0 } else { 0x0200 };
        return (sign | 0x7c00 | nan | (man >> 13)) as u16;
    }
    let half_exp = exp as i32 - 127 + 15;
    if half_exp >= 0x1f {
        return (sign | 0x7c00) as u16;
    }
    // Rounds `m >> shift` to nearest, ties to even.
    let round = |m: u32, shift: u32| -> u32 {
        let kept = m >> shift;
        let half = 1u32 << (shift - 1);
        let rest = m & ((1u32 << shift) - 1);
        kept + u32::from(rest > half || (rest == half && kept & 1 == 1))
    };
    if half_exp <= 0 {
        let shift = (14 - half_exp) as u32;
        if shift > 24 {
            return sign as u16;
        }
        // A subnormal half; rounding up may reach the smallest normal, which the bits encode correctly.
        return (sign | round(man | 0x0080_0000, shift)) as u16;
    }
    // Rounding up may carry into the exponent (and up to ∞), which the bits encode correctly.
    (sign | (((half_exp as u32) << 10) + round(man, 13))) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every half through each bulk path this CPU runs (F16C where present,
    /// the table always), appended after a value already there, at lengths
    /// that leave a tail after the 8-wide blocks and with a trailing odd
    /// byte: bit for bit the scalar conversion, or NaN for NaN.
    #[test]
    fn the_bulk_widening_is_the_scalar_conversion() {
        use crate::kernels::half;
        if !half::f16c_available() {
            eprintln!("no F16C on this CPU: only the table path runs here");
        }
        let all: Vec<u16> = (0..=u16::MAX).collect();
        let raw: Vec<u8> = all.iter().flat_map(|b| b.to_le_bytes()).collect();
        for len in [0, 5, 8, 13, 65536] {
            for f16c in [false, true] {
                let mut bytes = raw[..2 * len].to_vec();
                bytes.push(7);
                let mut out = vec![1.5];
                half::widen_le_append(&bytes, &mut out, table(), f16c);
                assert_eq!((out.len(), out[0]), (len + 1, 1.5));
                for (bits, v) in all.iter().zip(&out[1..]) {
                    let want = f16_to_f32(*bits);
                    let same = v.to_bits() == want.to_bits() || (v.is_nan() && want.is_nan());
                    assert!(same, "{bits:#06x}, F16C {f16c}: {v} vs {want}");
                }
            }
        }
    }

    #[test]
    fn every_half_survives_the_round_trip() {
        for bits in 0..=u16::MAX {
            let v = f16_to_f32(bits);
            if v.is_nan() {
                assert!(f16_to_f32(f32_to_f16(v)).is_nan(), "{bits:#06x}");
            } else {
                assert_eq!(f32_to_f16(v), bits, "{bits:#06x} = {v}");
            }
        }
    }

    #[test]
    fn halfway_values_round_to_even_and_overflow_to_infinity() {
        // Between two neighbouring finite halves of the same sign, the exact midpoint goes to the even one.
        for bits in (0..0x7bffu16).chain(0x8000..0xfbff) {
            let (a, b) = (f16_to_f32(bits), f16_to_f32(bits + 1));
            let mid = ((a as f64 + b as f64) / 2.0) as f32;
            let even = if bits % 2 == 0 { bits } else { bits + 1 };
            assert_eq!(f32_to_f16(mid), even, "midpoint of {bits:#06x} and the next");
            let below = f32::from_bits(mid.to_bits() - 1);
            if below.abs() > a.abs() {
                assert_eq!(f32_to_f16(below), bits, "just below the midpoint of {bits:#06x}");
            }
        }
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(-1e10), 0xfc00);
        assert_eq!(f32_to_f16(1e-10), 0);
    }
}
