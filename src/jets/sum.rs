//! NumPy's pairwise summation of `float64` arrays, reproduced so that sums
//! deciding a pixel or a flip round exactly as EnergyFlow's do.

/// `np.sum` of a 1-D `float64` array: a plain running sum below 8 values,
/// eight interleaved accumulators up to 128, and recursive halving (at a
/// multiple of 8) above.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut s = 0.0;
        for &v in a {
            s += v;
        }
        return s;
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[i..] {
            s += v;
        }
        return s;
    }
    let half = n / 2;
    let n2 = half - half % 8;
    pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
}
