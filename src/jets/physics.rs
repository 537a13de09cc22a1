//! Four-vectors to hadronic coordinates, centring, rotation and reflection,
//! with EnergyFlow 1.4's semantics operation by operation (so that pixel
//! assignments agree with EnergyFlow's even at bin edges).
//!
//! A particle in Cartesian form is `[E, px, py, pz]`; in hadronic form
//! `[pt, y, phi, m]` (the rapidity with a correctly rounded `atanh`, as
//! NumPy's; see [`super::exact`]). Jets may hold all-zero padding rows; every function
//! lets them pass (they have `pt = 0` and weigh nothing).

use crate::error::{Error, Result};

use super::sum::pairwise_sum;

/// 2π as EnergyFlow writes it (`2*np.pi`).
pub const TWO_PI: f64 = 2.0 * std::f64::consts::PI;

/// What `phi` is measured near.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum PhiRef {
    /// `phi` in `[0, 2π]`.
    #[default]
    None,
    /// Within π of this value (one shift of ±2π at most).
    Value(f64),
    /// Within π of the hardest particle's `phi`.
    Hardest,
}

/// `phi` moved by ±2π to within π of `reference` (EnergyFlow's `phi_fix`):
/// strict comparisons, at most one shift.
#[inline]
pub fn phi_fix(phi: f64, reference: f64) -> f64 {
    let d = phi - reference;
    if d > std::f64::consts::PI {
        phi - TWO_PI
    } else if d < -std::f64::consts::PI {
        phi + TWO_PI
    } else {
        phi
    }
}

/// True for a row whose four components all equal zero (`-0.0` included).
fn is_zero_row(p: &[f64; 4]) -> bool {
    p.iter().all(|&v| v == 0.0)
}

/// `[E, px, py, pz]` → `[pt, y, phi, m]` (EnergyFlow's `ptyphims_from_p4s`):
/// `pt = √(px² + py²)`, `y = atanh(pz/E)` (0 for zero rows; ±∞ or NaN by
/// IEEE rules otherwise), `phi = atan2(py, px)` plus 2π when negative, and
/// the signed mass `sign(m²)·√|m²|` with `m² = ((E² − px²) − py²) − pz²`.
pub fn ptyphims_from_p4s(p4s: &[[f64; 4]], phi_ref: PhiRef) -> Vec<[f64; 4]> {
    let mut out: Vec<[f64; 4]> = p4s
        .iter()
        .map(|p| {
            let [e, px, py, pz] = *p;
            let pt = (px * px + py * py).sqrt();
            let y = if is_zero_row(p) {
                0.0
            } else {
                super::exact::atanh(pz / e)
            };
            let mut phi = py.atan2(px);
            if phi < 0.0 {
                phi += TWO_PI;
            }
            let m2 = ((e * e - px * px) - py * py) - pz * pz;
            let m = if m2 > 0.0 {
                m2.sqrt()
            } else if m2 < 0.0 {
                -(-m2).sqrt()
            } else {
                m2 // 0, or NaN
            };
            [pt, y, phi, m]
        })
        .collect();
    let reference = match phi_ref {
        PhiRef::None => None,
        PhiRef::Value(r) => Some(r),
        PhiRef::Hardest => hardest(&out).map(|i| out[i][2]),
    };
    if let Some(r) = reference {
        for p in &mut out {
            p[2] = phi_fix(p[2], r);
        }
    }
    out
}

/// Index of the particle with the largest `pt` (the first on ties), as
/// `np.argmax`; `None` for an empty jet.
pub fn hardest(particles: &[[f64; 4]]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, p) in particles.iter().enumerate() {
        match best {
            None => best = Some(i),
            Some(b) if p[0] > particles[b][0] || (particles[b][0].is_nan() && !p[0].is_nan()) => best = Some(i),
            _ => {}
        }
    }
    best
}

/// How the jet axis is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Centre {
    /// Sum of the four-vectors (rebuilt from `pt, y, phi, m`): EnergyFlow's
    /// `escheme`.
    #[default]
    EScheme,
    /// `pt`-weighted mean of `y` and `phi`: EnergyFlow's `ptscheme`.
    PtScheme,
}

/// The jet axis `(y, phi)`.
pub fn jet_axis(particles: &[[f64; 4]], centre: Centre) -> Result<(f64, f64)> {
    match centre {
        Centre::EScheme => {
            let Some(h) = hardest(particles) else {
                return Err(Error::Data("an empty jet has no axis".into()));
            };
            let r = particles[h][2];
            let mut sum = [0.0f64; 4];
            for p in particles {
                let [pt, y, phi, m] = *p;
                let et = (pt * pt + m * m).sqrt();
                let v = [et * y.cosh(), pt * phi.cos(), pt * phi.sin(), et * y.sinh()];
                for k in 0..4 {
                    sum[k] += v[k];
                }
            }
            let axis = ptyphims_from_p4s(&[sum], PhiRef::Value(r))[0];
            Ok((axis[1], axis[2]))
        }
        Centre::PtScheme => {
            let pts: Vec<f64> = particles.iter().map(|p| p[0]).collect();
            let total = pairwise_sum(&pts);
            if total == 0.0 {
                return Err(Error::Data("the jet has no transverse momentum".into()));
            }
            // np.average: numerators are running sums of the products.
            let (mut sy, mut sphi) = (0.0, 0.0);
            for p in particles {
                sy += p[1] * p[0];
                sphi += p[2] * p[0];
            }
            Ok((sy / total, sphi / total))
        }
    }
}

/// Moves the jet axis to `(0, 0)` (every row, padding included); returns the axis.
pub fn center(particles: &mut [[f64; 4]], centre: Centre) -> Result<(f64, f64)> {
    let (y0, phi0) = jet_axis(particles, centre)?;
    for p in particles.iter_mut() {
        p[1] -= y0;
        p[2] -= phi0;
    }
    Ok((y0, phi0))
}

/// Turns the principal axis of the `pt`-weighted `(y, phi)` distribution
/// (second moments about the origin: centre first) into the `phi` axis, so
/// that it is vertical in the image, with at least as much `pt` at
/// `phi > 0` as below (EnergyFlow's `rotate_ptyphims`). Like EnergyFlow's,
/// the map is a rotation followed by a mirror (determinant −1), except when
/// the distribution is already vertical.
pub fn rotate(particles: &mut [[f64; 4]]) {
    let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
    for p in particles.iter() {
        let (z, y, phi) = (p[0], p[1], p[2]);
        a += z * y * y;
        b += z * y * phi;
        c += z * phi * phi;
    }
    // LAPACK treats a negligible off-diagonal as zero.
    let negligible = b == 0.0 || b.abs() <= f64::EPSILON / 2.0 * a.abs().sqrt() * c.abs().sqrt();
    let (cy, cphi, identity) = if negligible {
        if c < a {
            (0.0, 0.0, false) // swap: y' = phi, phi' = y
        } else {
            (0.0, 0.0, true)
        }
    } else {
        // Unit principal vector v1 = (c1, s1) of [[a, b], [b, c]].
        let h = (a - c) / 2.0;
        let r = h.hypot(b);
        let (vx, vy) = if h >= 0.0 { (h + r, b) } else { (b, r - h) };
        let n = vx.hypot(vy);
        (vx / n, vy / n, false)
    };
    for p in particles.iter_mut() {
        let (y, phi) = (p[1], p[2]);
        if identity {
            continue;
        }
        if negligible {
            (p[1], p[2]) = (phi, y);
        } else {
            p[2] = cy * y + cphi * phi; // projection on the principal axis
            p[1] = cy * phi - cphi * y; // v1 × p
        }
    }
    // More pt at phi' > 0 than below, flipping both coordinates otherwise.
    if side_sums(particles, 2) {
        for p in particles.iter_mut() {
            p[1] = -p[1];
            p[2] = -p[2];
        }
    }
}

/// True when less `pt` lies at positive than at negative values of column
/// `col` (strict comparisons, particles on the axis count for neither).
fn side_sums(particles: &[[f64; 4]], col: usize) -> bool {
    let pos: Vec<f64> = particles.iter().filter(|p| p[col] > 0.0).map(|p| p[0]).collect();
    let neg: Vec<f64> = particles.iter().filter(|p| p[col] < 0.0).map(|p| p[0]).collect();
    pairwise_sum(&pos) < pairwise_sum(&neg)
}

/// Which coordinates [`reflect`] may flip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reflect {
    /// Rapidity, then `phi` (EnergyFlow's `'both'`).
    #[default]
    Both,
    /// Rapidity only (`'x'`).
    Y,
    /// `phi` only (`'y'`).
    Phi,
}

/// Flips the sign of `y` (and/or `phi`) so that at least as much `pt` lies
/// on the positive side (EnergyFlow's `reflect_ptyphims`).
pub fn reflect(particles: &mut [[f64; 4]], which: Reflect) {
    if matches!(which, Reflect::Both | Reflect::Y) && side_sums(particles, 1) {
        particles.iter_mut().for_each(|p| p[1] = -p[1]);
    }
    if matches!(which, Reflect::Both | Reflect::Phi) && side_sums(particles, 2) {
        particles.iter_mut().for_each(|p| p[2] = -p[2]);
    }
}
