//! fastai's learning-rate finder (`Learner.lr_find`): train on batches
//! while the rate grows exponentially from `start_lr` to `end_lr` over
//! `num_it` batches, record the smoothed loss, stop when it exceeds four
//! times its minimum, and put the weights and optimizer back. The
//! suggestions `valley`, `minimum` and `steep` are fastai's functions over
//! the recorded curve without its first tenth and last five points.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Sequential;
use crate::optim::Optimizer;
use crate::optim::one_cycle::sched_exp;
use crate::scalar::Scalar;

use super::evaluate::Buffers;
use super::trainer::{Trainer, epoch_order, restore, snapshot};

/// The sweep's settings (fastai's defaults by [`Default`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrFindConfig {
    /// Rate of the first batch.
    pub start_lr: f64,
    /// Rate the sweep would reach after `num_it` batches.
    pub end_lr: f64,
    /// Batches of the sweep (at least 6).
    pub num_it: usize,
    /// Stop when the smoothed loss exceeds four times its minimum.
    pub stop_div: bool,
    /// Smoothing of the loss (`AvgSmoothLoss`), debiased.
    pub beta: f64,
}

impl Default for LrFindConfig {
    /// 1e-7 to 10 over 100 batches, stopping on divergence, β = 0.98.
    fn default() -> Self {
        LrFindConfig {
            start_lr: 1e-7,
            end_lr: 10.0,
            num_it: 100,
            stop_div: true,
            beta: 0.98,
        }
    }
}

/// A suggestion rule of fastai's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suggestion {
    /// Middle of the longest descending stretch of the curve (the default).
    Valley,
    /// A tenth of the rate at the lowest loss.
    Minimum,
    /// The rate where the loss falls fastest against log(rate).
    Steep,
}

impl Suggestion {
    /// The rule named `valley`, `minimum` or `steep`.
    pub fn parse(s: &str) -> Result<Suggestion> {
        match s {
            "valley" => Ok(Suggestion::Valley),
            "minimum" => Ok(Suggestion::Minimum),
            "steep" => Ok(Suggestion::Steep),
            other => Err(Error::invalid(
                "suggestion",
                format!("unknown rule {other:?}; choose valley, minimum or steep"),
            )),
        }
    }

    /// The rule's name.
    pub fn name(self) -> &'static str {
        match self {
            Suggestion::Valley => "valley",
            Suggestion::Minimum => "minimum",
            Suggestion::Steep => "steep",
        }
    }
}

/// The recorded sweep: the rate and smoothed loss of every batch trained.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LrFinding {
    /// Rate of each batch.
    pub lrs: Vec<f64>,
    /// Smoothed (debiased exponential average) loss after each batch.
    pub losses: Vec<f64>,
    /// The sweep's planned length (fastai skips its first tenth).
    pub num_it: usize,
}

impl LrFinding {
    /// The part of the curve the suggestions read: without the first
    /// `num_it/10` and the last 5 points, and cut at the first NaN.
    pub fn window(&self) -> (&[f64], &[f64]) {
        let lo = self.num_it / 10;
        let hi = self.losses.len().saturating_sub(5).max(lo);
        let mut losses = &self.losses[lo.min(hi)..hi];
        if let Some(nan) = losses.iter().position(|l| l.is_nan()) {
            losses = &losses[..nan];
        }
        let lrs = &self.lrs[lo.min(hi)..lo.min(hi) + losses.len()];
        (lrs, losses)
    }

    /// The suggested rate and the point (rate, loss) fastai marks on the
    /// plot; `None` when the sweep is too short.
    pub fn suggest(&self, rule: Suggestion) -> Option<(f64, (f64, f64))> {
        let (lrs, losses) = self.window();
        if losses.len() < 2 {
            return None;
        }
        Some(match rule {
            Suggestion::Valley => valley(lrs, losses),
            Suggestion::Minimum => minimum(lrs, losses),
            Suggestion::Steep => steep(lrs, losses),
        })
    }
}

/// fastai's `valley`: the longest decreasing subsequence of the losses,
/// and the point half-way between its first third and its middle (`start + ⌊len/3⌋ + ⌊len/6⌋`).
pub fn valley(lrs: &[f64], losses: &[f64]) -> (f64, (f64, f64)) {
    let n = losses.len();
    let (mut max_start, mut max_end) = (0usize, 0usize);
    let mut lds = vec![1usize; n];
    for i in 1..n {
        for j in 0..i {
            if losses[i] < losses[j] && lds[i] < lds[j] + 1 {
                lds[i] = lds[j] + 1;
            }
            if lds[max_end] < lds[i] {
                max_end = i;
                max_start = max_end - lds[max_end];
            }
        }
    }
    let sections = (max_end - max_start) as f64 / 3.0;
    let idx = max_start + sections as usize + (sections / 2.0) as usize;
    (lrs[idx], (lrs[idx], losses[idx]))
}

/// fastai's `minimum`: a tenth of the rate at the lowest loss.
pub fn minimum(lrs: &[f64], losses: &[f64]) -> (f64, (f64, f64)) {
    let i = argmin(losses);
    (lrs[i] / 10.0, (lrs[i], losses[i]))
}

/// fastai's `steep`: the rate where `Δloss / Δlog(lr)` is most negative.
pub fn steep(lrs: &[f64], losses: &[f64]) -> (f64, (f64, f64)) {
    let grads: Vec<f64> = (1..losses.len())
        .map(|i| (losses[i] - losses[i - 1]) / (lrs[i].ln() - lrs[i - 1].ln()))
        .collect();
    let i = argmin(&grads);
    (lrs[i], (lrs[i], losses[i]))
}

/// Index of the first smallest value (NaN never wins).
fn argmin(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x < v[best] || v[best].is_nan() {
            best = i;
        }
    }
    best
}

impl Trainer {
    /// Runs fastai's learning-rate sweep on `train` with the trainer's batch
    /// size, loss and shuffling; `model` and `opt` are as before afterwards.
    pub fn lr_find<T: Scalar>(
        &self,
        model: &mut Sequential<T>,
        opt: &mut Optimizer<T>,
        train: &Dataset,
        find: &LrFindConfig,
    ) -> Result<LrFinding> {
        if !(find.start_lr > 0.0 && find.end_lr > find.start_lr) {
            return Err(Error::invalid(
                "lr_find",
                format!("needs 0 < start ({}) < end ({})", find.start_lr, find.end_lr),
            ));
        }
        self.check_data(model, train.into(), "training")?;
        let (saved, rng, saved_opt) = (snapshot(model), model.rng_state().clone(), opt.clone());
        let result = self.sweep(model, opt, train, find);
        let restored = restore(model, &saved);
        model.set_rng_state(rng);
        *opt = saved_opt;
        restored?;
        result
    }

    fn sweep<T: Scalar>(
        &self,
        model: &mut Sequential<T>,
        opt: &mut Optimizer<T>,
        train: &Dataset,
        find: &LrFindConfig,
    ) -> Result<LrFinding> {
        let num_it = find.num_it.max(6);
        let (n, bs) = (train.len(), self.config.batch_size);
        let mut buf = Buffers::<T>::default();
        let mut out = LrFinding {
            num_it,
            ..LrFinding::default()
        };
        let (mut val, mut best) = (0.0f64, f64::INFINITY);
        let groups = opt.groups().len();
        for epoch in 0.. {
            let order = epoch_order(self.config.seed, epoch, n, self.config.shuffle);
            for indices in order.chunks(bs) {
                let it = out.lrs.len();
                let lr = sched_exp(find.start_lr, find.end_lr, it as f64 / num_it as f64);
                opt.set_rates(lr, &vec![lr; groups]);
                buf.x.gather_items(&train.x, indices);
                let (loss, _) = self.train_batch(model, opt, &train.targets, indices, &mut buf)?;
                val = loss + (val - loss) * find.beta;
                let smooth = val / (1.0 - find.beta.powi(it as i32 + 1));
                out.lrs.push(lr);
                out.losses.push(smooth);
                best = best.min(smooth);
                let diverged = !smooth.is_finite() || (find.stop_div && smooth > 4.0 * best);
                if diverged || out.lrs.len() >= num_it {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }
}
