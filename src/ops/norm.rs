//! Batch normalisation over the channel axis (PyTorch semantics).
//!
//! # Shapes
//! Data is `(n, c, s)`: `s = h·w` for `BatchNorm2d`, `s = l` for
//! `BatchNorm1d` on sequences and `s = 1` on feature vectors. `gamma`, `beta`,
//! the running statistics and the saved batch statistics are `(c)`.
//!
//! Training normalises with the batch mean and the *biased* variance and
//! updates the running variance with the *unbiased* one:
//! `running = (1 − momentum)·running + momentum·batch`.
//! Channel reductions accumulate in `f64`.

use rayon::prelude::*;

use crate::kernels::grads::BackwardIn;
use crate::scalar::Scalar;

/// Sizes of a batch-norm call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormDims {
    /// Samples in the batch.
    pub n: usize,
    /// Channels (each normalised on its own).
    pub c: usize,
    /// Elements per channel of one sample.
    pub s: usize,
}

/// What a batch-norm forward pass reads.
#[derive(Clone, Copy, Debug)]
pub struct NormIn<'a, T> {
    /// Input `(n, c, s)`.
    pub x: &'a [T],
    /// Scale `(c)`.
    pub gamma: &'a [T],
    /// Shift `(c)`.
    pub beta: &'a [T],
}

/// The batch statistics a training forward pass writes, each `(c)`.
#[derive(Debug)]
pub struct BatchStatsOut<'a, T> {
    /// Batch mean.
    pub mean: &'a mut [T],
    /// `1/√(var + eps)` with the biased batch variance.
    pub inv_std: &'a mut [T],
    /// Unbiased batch variance (for the running statistics).
    pub var_unbiased: &'a mut [T],
}

/// Running statistics an evaluation forward pass normalises with, each `(c)`.
#[derive(Clone, Copy, Debug)]
pub struct RunningStats<'a, T> {
    /// Running mean.
    pub mean: &'a [T],
    /// Running (unbiased) variance.
    pub var: &'a [T],
}

/// The statistics a forward pass normalised with, as the backward pass needs them.
#[derive(Clone, Copy, Debug)]
pub struct UsedStats<'a, T> {
    /// Mean `(c)`.
    pub mean: &'a [T],
    /// `1/√(var + eps)` `(c)`.
    pub inv_std: &'a [T],
    /// Batch statistics (training), which depend on `x`, rather than running ones.
    pub from_batch: bool,
}

/// The gradients a batch-norm backward pass overwrites.
#[derive(Debug)]
pub struct NormGrads<'a, T> {
    /// Gradient of the input; `None` where nothing needs it.
    pub d_input: Option<&'a mut [T]>,
    /// Gradient of the scale `(c)`.
    pub d_gamma: &'a mut [T],
    /// Gradient of the shift `(c)`.
    pub d_beta: &'a mut [T],
}

impl NormDims {
    /// Elements per channel in the batch.
    pub fn count(&self) -> usize {
        self.n * self.s
    }

    /// Visits channel `ci`'s elements of `v` as contiguous runs of `s`.
    #[inline]
    fn runs<'a, T>(&self, v: &'a [T], ci: usize) -> impl Iterator<Item = &'a [T]> + 'a {
        let (c, s) = (self.c, self.s);
        (0..self.n).map(move |ni| &v[(ni * c + ci) * s..(ni * c + ci + 1) * s])
    }
}

/// Training-mode forward: writes `y` and the batch statistics.
pub fn batch_norm_train_forward<T: Scalar>(
    d: NormDims,
    eps: f64,
    inp: NormIn<'_, T>,
    y: &mut [T],
    stats: BatchStatsOut<'_, T>,
) {
    let NormIn { x, gamma, beta } = inp;
    let BatchStatsOut {
        mean,
        inv_std,
        var_unbiased,
    } = stats;
    let m = d.count() as f64;
    mean.par_iter_mut()
        .zip(inv_std.par_iter_mut())
        .zip(var_unbiased.par_iter_mut())
        .enumerate()
        .for_each(|(ci, ((mu, is), vu))| {
            let sum: f64 = d.runs(x, ci).flat_map(|r| r.iter()).map(|v| v.f64()).sum();
            let mean = sum / m;
            let ss: f64 = d
                .runs(x, ci)
                .flat_map(|r| r.iter())
                .map(|v| (v.f64() - mean).powi(2))
                .sum();
            let var = ss / m;
            *mu = T::lit(mean);
            *is = T::lit(1.0 / (var + eps).sqrt());
            *vu = T::lit(if m > 1.0 { ss / (m - 1.0) } else { f64::NAN });
        });
    normalize(d, x, mean, inv_std, gamma, beta, y);
}

/// Evaluation-mode forward with running statistics; also fills `inv_std`
/// for the backward pass.
pub fn batch_norm_eval_forward<T: Scalar>(
    d: NormDims,
    eps: f64,
    inp: NormIn<'_, T>,
    running: RunningStats<'_, T>,
    y: &mut [T],
    inv_std: &mut [T],
) {
    let NormIn { x, gamma, beta } = inp;
    for (is, &v) in inv_std.iter_mut().zip(running.var) {
        *is = T::lit(1.0 / (v.f64() + eps).sqrt());
    }
    normalize(d, x, running.mean, inv_std, gamma, beta, y);
}

/// `y = gamma · (x − mean) · inv_std + beta`, parallel over samples.
fn normalize<T: Scalar>(d: NormDims, x: &[T], mean: &[T], inv_std: &[T], gamma: &[T], beta: &[T], y: &mut [T]) {
    let item = d.c * d.s;
    y[..d.n * item]
        .par_chunks_mut(item)
        .zip(x[..d.n * item].par_chunks(item))
        .for_each(|(ys, xs)| {
            for ci in 0..d.c {
                let scale = gamma[ci] * inv_std[ci];
                let shift = beta[ci] - mean[ci] * scale;
                let r = ci * d.s..(ci + 1) * d.s;
                ys[r.clone()]
                    .iter_mut()
                    .zip(&xs[r])
                    .for_each(|(y, &x)| *y = x * scale + shift);
            }
        });
}

/// Backward for both modes. `stats` are the statistics the forward pass
/// used (batch statistics in training, running ones in evaluation); `inp.w`
/// is `gamma`.
pub fn batch_norm_backward<T: Scalar>(
    d: NormDims,
    inp: BackwardIn<'_, T>,
    stats: UsedStats<'_, T>,
    grads: NormGrads<'_, T>,
) {
    let BackwardIn { x, w: gamma, dy } = inp;
    let UsedStats {
        mean,
        inv_std,
        from_batch: batch_stats,
    } = stats;
    let NormGrads {
        d_input: dx,
        d_gamma,
        d_beta,
    } = grads;
    // Per channel: Σ dy and Σ dy·x̂.
    d_gamma
        .par_iter_mut()
        .zip(d_beta.par_iter_mut())
        .enumerate()
        .for_each(|(ci, (dg, db))| {
            let (mu, is) = (mean[ci].f64(), inv_std[ci].f64());
            let mut sum_dy = 0.0;
            let mut sum_dy_xhat = 0.0;
            for (xr, dr) in d.runs(x, ci).zip(d.runs(dy, ci)) {
                for (&xv, &dv) in xr.iter().zip(dr) {
                    sum_dy += dv.f64();
                    sum_dy_xhat += dv.f64() * (xv.f64() - mu) * is;
                }
            }
            *dg = T::lit(sum_dy_xhat);
            *db = T::lit(sum_dy);
        });
    let Some(dx) = dx else { return };
    let m = T::lit(d.count() as f64);
    let item = d.c * d.s;
    dx[..d.n * item]
        .par_chunks_mut(item)
        .zip(x[..d.n * item].par_chunks(item))
        .zip(dy[..d.n * item].par_chunks(item))
        .for_each(|((dxs, xs), dys)| {
            for ci in 0..d.c {
                let r = ci * d.s..(ci + 1) * d.s;
                let k = gamma[ci] * inv_std[ci];
                if batch_stats {
                    // dx = γ·σ⁻¹/m · (m·dy − Σdy − x̂·Σ(dy·x̂))
                    let (sdy, sdyx) = (d_beta[ci] / m, d_gamma[ci] / m);
                    for ((dx, &x), &dy) in dxs[r.clone()].iter_mut().zip(&xs[r.clone()]).zip(&dys[r]) {
                        let xhat = (x - mean[ci]) * inv_std[ci];
                        *dx = k * (dy - sdy - xhat * sdyx);
                    }
                } else {
                    dxs[r.clone()]
                        .iter_mut()
                        .zip(&dys[r])
                        .for_each(|(dx, &dy)| *dx = k * dy);
                }
            }
        });
}
