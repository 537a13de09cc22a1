//! A correctly rounded `atanh`.
//!
//! A particle's rapidity decides its pixel, and at a pixel edge the last
//! bit decides. EnergyFlow gets `atanh` from NumPy, whose SIMD version is
//! correctly rounded (733 of the 734 fixture rows), while the C library's
//! (what `f64::atanh` calls) is 1–2 ulp off in one row out of seven. So
//! striate computes `atanh` in double-double arithmetic (about 100 bits)
//! and rounds once.
//!
//! `atanh(x) = ½·ln((1 + x)/(1 − x))`: the quotient is formed in
//! double-double, its logarithm by one Newton step `y + a·e^(−y) − 1` from
//! the `f64` logarithm, with a double-double `exp`.

/// An unevaluated sum `hi + lo` with `|lo| ≤ ulp(hi)/2`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Dd {
    hi: f64,
    lo: f64,
}

#[inline]
fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    Dd { hi: s, lo: e }
}

#[inline]
fn quick_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd { hi: s, lo: b - (s - a) }
}

/// Dekker's split of `a` into two 26-bit halves.
#[inline]
fn split(a: f64) -> (f64, f64) {
    let t = 134_217_729.0 * a; // 2^27 + 1
    let hi = t - (t - a);
    (hi, a - hi)
}

/// `a · b` exactly, as `hi + lo` (Dekker).
#[inline]
fn two_prod(a: f64, b: f64) -> Dd {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    Dd { hi: p, lo: e }
}

impl Dd {
    fn from(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    fn add(self, o: Dd) -> Dd {
        let s = two_sum(self.hi, o.hi);
        let t = two_sum(self.lo, o.lo);
        let s = quick_two_sum(s.hi, s.lo + t.hi);
        quick_two_sum(s.hi, s.lo + t.lo)
    }

    fn mul(self, o: Dd) -> Dd {
        let p = two_prod(self.hi, o.hi);
        quick_two_sum(p.hi, p.lo + (self.hi * o.lo + self.lo * o.hi))
    }

    fn mul_f(self, b: f64) -> Dd {
        let p = two_prod(self.hi, b);
        quick_two_sum(p.hi, p.lo + self.lo * b)
    }

    fn div(self, o: Dd) -> Dd {
        let q1 = self.hi / o.hi;
        let r = self.add(o.mul_f(-q1));
        let q2 = r.hi / o.hi;
        let r = r.add(o.mul_f(-q2));
        let q3 = r.hi / o.hi;
        quick_two_sum(q1, q2).add(Dd::from(q3))
    }
}

const LN2: Dd = Dd {
    hi: std::f64::consts::LN_2,
    lo: 2.319_046_813_846_299_6e-17,
};

/// `e^r` in double-double: `r = k·ln 2 + s`, `e^(s/1024)` by Taylor series,
/// squared ten times.
fn exp_dd(r: Dd) -> Dd {
    let k = (r.hi / LN2.hi).round();
    let s = r.add(LN2.mul_f(-k)).mul_f(1.0 / 1024.0);
    // Taylor series to order 11: the remainder is below 1e-40 for |s| < 4e-4.
    let mut term = Dd::from(1.0);
    let mut sum = Dd::from(1.0);
    for i in 1..=11 {
        term = term.mul(s).mul_f(1.0 / i as f64);
        sum = sum.add(term);
    }
    for _ in 0..10 {
        sum = sum.mul(sum);
    }
    let scale = 2f64.powi(k as i32);
    Dd {
        hi: sum.hi * scale,
        lo: sum.lo * scale,
    }
}

/// `ln a` for `a > 0` in double-double.
fn ln_dd(a: Dd) -> Dd {
    let y = Dd::from(a.hi.ln());
    // Newton: y + a·e^(−y) − 1.
    let corr = a.mul(exp_dd(Dd { hi: -y.hi, lo: -y.lo })).add(Dd::from(-1.0));
    y.add(corr)
}

/// `atanh(x)`, correctly rounded except within ~2⁻¹⁰⁰ of a rounding
/// boundary; ±∞ at ±1 and NaN outside `[−1, 1]`, like `f64::atanh`.
pub fn atanh(x: f64) -> f64 {
    let ax = x.abs();
    if !(1e-300..1.0).contains(&ax) {
        // ±1, |x| > 1, NaN, zero and subnormals: the C library is exact here.
        return x.atanh();
    }
    if ax < 1e-5 {
        // Series x + x³/3 + x⁵/5 + … in double-double.
        let x2 = two_prod(x, x);
        let mut pow = Dd::from(x);
        let mut sum = Dd::from(x);
        for k in (3..=15).step_by(2) {
            pow = pow.mul(x2);
            sum = sum.add(pow.mul_f(1.0 / k as f64));
        }
        return sum.hi + sum.lo;
    }
    let num = two_sum(1.0, x);
    let den = two_sum(1.0, -x);
    let y = ln_dd(num.div(den)).mul_f(0.5);
    y.hi + y.lo
}
