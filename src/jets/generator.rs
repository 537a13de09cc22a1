//! A built-in source of boosted jets: a seeded toy simulation that needs no
//! download.
//!
//! **It is not a physics generator** (no matrix elements, no parton shower
//! with real splitting functions, no hadronisation model). It draws jets
//! whose structure is realistic enough for tagging exercises, for the five
//! classes of the course, in its order:
//!
//! | label | class | how it is made |
//! |---|---|---|
//! | 0 | `g` | one-prong shower: wide, many constituents, soft fragmentation |
//! | 1 | `q` | one-prong shower: narrower, fewer constituents, harder leading particle |
//! | 2 | `t` | three prongs: `t → b W`, `W → q q'`, top mass 173 GeV |
//! | 3 | `W` | two prongs: `W → q q'`, mass 80.4 GeV |
//! | 4 | `Z` | two prongs: `Z → q q̄`, mass 91.2 GeV (so W and Z are hard to tell apart) |
//!
//! Decays are isotropic in the rest frame and boosted exactly (masses drawn
//! from Breit–Wigner shapes). Each quark or gluon fragments into particles
//! whose momentum fractions and angles from the parton follow simple laws
//! (harder particles closer to the axis); for the decays, the particles'
//! angular offsets from the jet axis are then scaled so that they carry the
//! resonance's mass, as momentum conservation would in a real shower. Soft
//! radiation is added around the
//! jet axis, particles get PDG ids (charged pions, photons, neutral
//! hadrons), and a detector-like smearing of momenta and angles is applied;
//! particles below 0.5 GeV are dropped. Jet `pT` is uniform in a range
//! (default 500–1000 GeV), rapidity uniform in ±1.5 and `phi` in [0, 2π).
//!
//! Every jet `i` of a sample draws from its own generator seeded by
//! `(seed, i)`, so samples are reproducible whatever the thread count.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::SeededRng;

/// Class names in label order.
pub const CLASSES: [&str; 5] = ["g", "q", "t", "W", "Z"];

/// Generator settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct JetGenConfig {
    /// Smallest jet transverse momentum in GeV, drawn uniformly up to `pt_max` (default 500).
    pub pt_min: f64,
    /// Largest jet transverse momentum in GeV (default 1000).
    pub pt_max: f64,
    /// Mean number of soft particles added around the jet axis.
    pub soft_particles: f64,
    /// Relative momentum resolution at 1 GeV (scales as `1/√pT`), plus 2% constant.
    pub resolution: f64,
}

impl Default for JetGenConfig {
    fn default() -> Self {
        JetGenConfig {
            pt_min: 500.0,
            pt_max: 1000.0,
            soft_particles: 4.0,
            resolution: 0.3,
        }
    }
}

/// One generated jet: massless constituents `[E, px, py, pz]` with PDG ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Jet {
    /// Constituents' four-vectors `[E, px, py, pz]` in GeV.
    pub p4: Vec<[f64; 4]>,
    /// PDG id of each constituent (e.g. ±211 for charged pions, 22 for photons).
    pub pids: Vec<i64>,
    /// Class index into [`CLASSES`] (0 `g`, 1 `q`, 2 `t`, 3 `W`, 4 `Z`).
    pub label: u32,
}

/// A four-vector `[E, px, py, pz]`.
type P4 = [f64; 4];

fn from_pt_y_phi_m(pt: f64, y: f64, phi: f64, m: f64) -> P4 {
    let mt = (pt * pt + m * m).sqrt();
    [mt * y.cosh(), pt * phi.cos(), pt * phi.sin(), mt * y.sinh()]
}

fn pt_y_phi(p: &P4) -> (f64, f64, f64) {
    let pt = (p[1] * p[1] + p[2] * p[2]).sqrt();
    let y = 0.5 * ((p[0] + p[3]) / (p[0] - p[3])).ln();
    (pt, y, p[2].atan2(p[1]))
}

/// Boosts `p` by the velocity of `frame` (a four-vector).
fn boost(p: &P4, frame: &P4) -> P4 {
    let b = [frame[1] / frame[0], frame[2] / frame[0], frame[3] / frame[0]];
    let b2 = b[0] * b[0] + b[1] * b[1] + b[2] * b[2];
    if b2 <= 0.0 {
        return *p;
    }
    let gamma = 1.0 / (1.0 - b2).sqrt();
    let bp = b[0] * p[1] + b[1] * p[2] + b[2] * p[3];
    let g2 = (gamma - 1.0) / b2;
    let e = gamma * (p[0] + bp);
    let k = g2 * bp + gamma * p[0];
    [e, p[1] + k * b[0], p[2] + k * b[1], p[3] + k * b[2]]
}

/// An isotropic unit vector.
fn direction(rng: &mut SeededRng) -> [f64; 3] {
    let cos = rng.uniform_range(-1.0, 1.0);
    let sin = (1.0 - cos * cos).max(0.0).sqrt();
    let phi = rng.uniform_range(0.0, std::f64::consts::TAU);
    [sin * phi.cos(), sin * phi.sin(), cos]
}

/// Two-body decay of a particle of mass `m` at rest into masses `m1`, `m2`.
fn two_body(rng: &mut SeededRng, m: f64, m1: f64, m2: f64) -> (P4, P4) {
    let p = ((m * m - (m1 + m2).powi(2)) * (m * m - (m1 - m2).powi(2)))
        .max(0.0)
        .sqrt()
        / (2.0 * m);
    let n = direction(rng);
    let e1 = (m1 * m1 + p * p).sqrt();
    let e2 = (m2 * m2 + p * p).sqrt();
    (
        [e1, p * n[0], p * n[1], p * n[2]],
        [e2, -p * n[0], -p * n[1], -p * n[2]],
    )
}

/// A mass drawn from a Breit–Wigner of width `gamma`, truncated at ±5 widths.
fn breit_wigner(rng: &mut SeededRng, mass: f64, gamma: f64) -> f64 {
    let t = (std::f64::consts::PI * (rng.uniform() - 0.5)).tan() * gamma / 2.0;
    mass + t.clamp(-5.0 * gamma, 5.0 * gamma)
}

/// A Poisson count (Knuth's method; means here are below 100).
fn poisson(rng: &mut SeededRng, mean: f64) -> usize {
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = rng.uniform();
    while p > limit && k < 1000 {
        k += 1;
        p *= rng.uniform();
    }
    k
}

/// How a parton fragments.
#[derive(Clone, Copy)]
struct Fragmentation {
    /// Mean multiplicity per 100 GeV^0.5 of parton pT.
    multiplicity: f64,
    /// Exponent of the momentum-fraction law (higher: harder leading particle).
    hardness: f64,
    /// Angular width at the leading particle.
    width: f64,
}

const QUARK: Fragmentation = Fragmentation {
    multiplicity: 1.5,
    hardness: 2.4,
    width: 0.021,
};
const GLUON: Fragmentation = Fragmentation {
    multiplicity: 2.15,
    hardness: 2.0,
    width: 0.032,
};

/// Particles `(pt, y, phi)` of a parton fragmenting.
fn fragment(rng: &mut SeededRng, pt: f64, y: f64, phi: f64, f: Fragmentation, out: &mut Vec<(f64, f64, f64)>) {
    // Shower-to-shower fluctuations (log-normal) make quarks and gluons overlap.
    let spread = (0.25 * rng.normal()).exp();
    let f = Fragmentation {
        multiplicity: f.multiplicity * (0.2 * rng.normal()).exp(),
        width: f.width * spread,
        ..f
    };
    let n = 1 + poisson(rng, f.multiplicity * pt.sqrt());
    let weights: Vec<f64> = (0..n).map(|_| (-(1.0 - rng.uniform()).ln()).powf(f.hardness)).collect();
    let total: f64 = weights.iter().sum();
    let lead = weights.iter().cloned().fold(0.0, f64::max);
    for w in weights {
        let z = w / total;
        // Harder particles stay closer to the parton.
        let sigma = f.width * (w / lead).powf(-0.35);
        let dy = sigma * rng.normal();
        let dphi = sigma * rng.normal();
        out.push((z * pt, y + dy, phi + dphi));
    }
}

fn add(a: &P4, b: &P4) -> P4 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
}

fn mass(p: &P4) -> f64 {
    (p[0] * p[0] - p[1] * p[1] - p[2] * p[2] - p[3] * p[3]).max(0.0).sqrt()
}

/// Scales the `(y, phi)` offsets of massless particles `(pt, y, phi)` from
/// the axis `(y0, phi0)` until their invariant mass is `target`. For small
/// angles the mass is proportional to the angular spread, so a few
/// multiplicative steps converge.
fn restore_mass(particles: &mut [(f64, f64, f64)], y0: f64, phi0: f64, target: f64) {
    for _ in 0..4 {
        let total = particles
            .iter()
            .fold([0.0; 4], |a, &(pt, y, phi)| add(&a, &from_pt_y_phi_m(pt, y, phi, 0.0)));
        let m = mass(&total);
        if m <= 0.0 || target <= 0.0 {
            return;
        }
        let scale = target / m;
        for (_, y, phi) in particles.iter_mut() {
            *y = y0 + scale * (*y - y0);
            *phi = phi0 + scale * (*phi - phi0);
        }
    }
}

/// Generates jet `index` of class `label` (0..5) with `seed`.
pub fn generate_jet(cfg: &JetGenConfig, label: u32, seed: u64, index: u64) -> Jet {
    let mut rng = SeededRng::new(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((label as u64) << 56));
    let pt = rng.uniform_range(cfg.pt_min, cfg.pt_max);
    let y = rng.uniform_range(-1.5, 1.5);
    let phi = rng.uniform_range(0.0, std::f64::consts::TAU);
    let mut partons: Vec<(P4, Fragmentation)> = Vec::new();
    match label {
        0 | 1 => {
            let f = if label == 0 { GLUON } else { QUARK };
            partons.push((from_pt_y_phi_m(pt, y, phi, 0.0), f));
        }
        3 | 4 => {
            let m = if label == 3 {
                breit_wigner(&mut rng, 80.4, 2.1)
            } else {
                breit_wigner(&mut rng, 91.2, 2.5)
            };
            let boson = from_pt_y_phi_m(pt, y, phi, m);
            let (q1, q2) = two_body(&mut rng, m, 0.0, 0.0);
            partons.push((boost(&q1, &boson), QUARK));
            partons.push((boost(&q2, &boson), QUARK));
        }
        _ => {
            let mt = breit_wigner(&mut rng, 173.0, 1.4);
            let mw = breit_wigner(&mut rng, 80.4, 2.1);
            let top = from_pt_y_phi_m(pt, y, phi, mt);
            let (w, b) = two_body(&mut rng, mt, mw, 4.8);
            let (q1, q2) = two_body(&mut rng, mw, 0.0, 0.0);
            let bottom = Fragmentation { width: 0.022, ..QUARK };
            partons.push((boost(&b, &top), bottom));
            partons.push((boost(&boost(&q1, &w), &top), QUARK));
            partons.push((boost(&boost(&q2, &w), &top), QUARK));
        }
    }
    let mut particles = Vec::with_capacity(64);
    for (p, f) in &partons {
        let (ppt, py, pphi) = pt_y_phi(p);
        fragment(&mut rng, ppt, py, pphi, *f, &mut particles);
    }
    if partons.len() > 1 {
        // Fragmentation as drawn does not conserve four-momentum, and the
        // angular spread of each prong adds mass. Pull the particles towards
        // the jet axis until the decay products carry the resonance's mass
        // again, as momentum conservation would in a real shower.
        let total = partons.iter().fold([0.0; 4], |a, (p, _)| add(&a, p));
        restore_mass(&mut particles, y, phi, mass(&total));
    }
    // Soft radiation spread over the jet area.
    for _ in 0..poisson(&mut rng, cfg.soft_particles) {
        let r = 0.8 * rng.uniform().sqrt();
        let a = rng.uniform_range(0.0, std::f64::consts::TAU);
        let spt = -(1.0 - rng.uniform()).ln() * 1.5;
        particles.push((spt, y + r * a.cos(), phi + r * a.sin()));
    }
    // Particle species, detector smearing and the threshold.
    let mut jet = Jet {
        p4: Vec::with_capacity(particles.len()),
        pids: Vec::with_capacity(particles.len()),
        label,
    };
    for (ppt, py, pphi) in particles {
        let u = rng.uniform();
        let (pid, extra) = if u < 0.62 {
            (if rng.bernoulli(0.5) { 211 } else { -211 }, 1.0)
        } else if u < 0.87 {
            (22, 1.0)
        } else {
            (130, 2.5) // neutral hadrons are measured worse
        };
        let rel = extra * (cfg.resolution / ppt.max(1e-3).sqrt() + 0.02);
        let spt = ppt * (1.0 + rel * rng.normal()).max(0.05);
        if spt < 0.5 {
            continue;
        }
        let sy = py + 0.002 * rng.normal();
        let sphi = pphi + 0.002 * rng.normal();
        jet.p4.push(from_pt_y_phi_m(spt, sy, sphi, 0.0));
        jet.pids.push(pid);
    }
    jet
}

/// `per_class` jets of each class, in class-major order (all `g`, then
/// all `q`, …), generated in parallel.
pub fn generate(cfg: &JetGenConfig, per_class: usize, seed: u64) -> Result<Vec<Jet>> {
    if !(cfg.pt_min > 0.0 && cfg.pt_max >= cfg.pt_min) {
        return Err(Error::invalid(
            "jet generator",
            format!(
                "pT range [{}, {}] must be positive and increasing",
                cfg.pt_min, cfg.pt_max
            ),
        ));
    }
    Ok((0..CLASSES.len() * per_class)
        .into_par_iter()
        .map(|i| generate_jet(cfg, (i / per_class.max(1)) as u32, seed, (i % per_class.max(1)) as u64))
        .collect())
}
