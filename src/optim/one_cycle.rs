//! fastai's per-batch schedules: `fit_one_cycle`'s cosine warm-up and
//! annealing of the learning rate with the opposite cycle of momentum,
//! discriminative rates spread over layer groups (`even_mults`), and the
//! learning-rate finder's exponential sweep (`callback/schedule.py`).
//!
//! A position `pos` in `[0, 1)` is `step / total_steps`, with `step` the
//! 0-based index of the batch about to be trained, as fastai's
//! `ParamScheduler.before_batch` computes it.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// fastai's `sched_cos`: from `start` at `pos = 0` to `end` at `pos = 1`
/// along half a cosine.
pub fn sched_cos(start: f64, end: f64, pos: f64) -> f64 {
    start + (1.0 + (PI * (1.0 - pos)).cos()) * (end - start) / 2.0
}

/// fastai's `sched_exp`: `start · (end/start)^pos`.
pub fn sched_exp(start: f64, end: f64, pos: f64) -> f64 {
    start * (end / start).powf(pos)
}

/// fastai's `combined_cos(pct, start, middle, end)` at `pos`: cosine from
/// `start` to `middle` over the first `pct` of the steps, then from `middle`
/// to `end`.
pub fn combined_cos(pct: f64, start: f64, middle: f64, end: f64, pos: f64) -> f64 {
    if pos < pct || pct >= 1.0 {
        sched_cos(start, middle, if pct > 0.0 { pos / pct } else { 1.0 })
    } else {
        sched_cos(middle, end, (pos - pct) / (1.0 - pct))
    }
}

/// fastai's `even_mults(start, stop, n)`: `n` rates from `start` to `stop`
/// in geometric progression (`[stop]` when `n` is 1).
pub fn even_mults(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n <= 1 {
        return vec![stop; n];
    }
    let step = (stop / start).powf(1.0 / (n - 1) as f64);
    (0..n).map(|i| start * step.powi(i as i32)).collect()
}

/// Learning rates for layer groups, as fastai's `Optimizer.set_hyper` reads
/// a number or a `slice`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSlice {
    /// The same rate for every group (`lr`).
    Single {
        /// The rate.
        lr: f64,
    },
    /// `slice(stop)`: `stop/10` for every group but the last, `stop` for it.
    UpTo {
        /// The last group's rate.
        stop: f64,
    },
    /// `slice(start, stop)`: geometric from `start` (first group) to `stop`
    /// (last group, the head).
    Range {
        /// The first group's rate.
        start: f64,
        /// The last group's rate.
        stop: f64,
    },
}

impl LrSlice {
    /// Parses `RATE` or `START:STOP` (the command line's `--lr 1e-5:1e-3`).
    pub fn parse(s: &str) -> Result<LrSlice> {
        let num = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| Error::invalid("learning rate", format!("{v:?} is not a positive number")))
        };
        Ok(match s.split_once(':') {
            Some((a, b)) => LrSlice::Range {
                start: num(a)?,
                stop: num(b)?,
            },
            None => LrSlice::Single { lr: num(s)? },
        })
    }

    /// The largest rate (the last group's).
    pub fn stop(&self) -> f64 {
        match *self {
            LrSlice::Single { lr } => lr,
            LrSlice::UpTo { stop } | LrSlice::Range { stop, .. } => stop,
        }
    }

    /// One rate per group, first group first.
    pub fn rates(&self, n_groups: usize) -> Vec<f64> {
        let n = n_groups.max(1);
        match *self {
            LrSlice::Single { lr } => vec![lr; n],
            LrSlice::UpTo { stop } => {
                let mut v = vec![stop / 10.0; n - 1];
                v.push(stop);
                v
            }
            LrSlice::Range { start, stop } => even_mults(start, stop, n),
        }
    }

    /// `self` with every rate multiplied by `f`.
    pub fn scaled(&self, f: f64) -> LrSlice {
        match *self {
            LrSlice::Single { lr } => LrSlice::Single { lr: lr * f },
            LrSlice::UpTo { stop } => LrSlice::UpTo { stop: stop * f },
            LrSlice::Range { start, stop } => LrSlice::Range {
                start: start * f,
                stop: stop * f,
            },
        }
    }
}

/// fastai's `fit_one_cycle` settings besides the rates.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneCycle {
    /// The warm-up starts at `lr_max / div`.
    pub div: f64,
    /// The annealing ends at `lr_max / div_final`.
    pub div_final: f64,
    /// Fraction of the steps spent warming up.
    pub pct_start: f64,
    /// Momentum (SGD) or β₁ (Adam) at the start, the peak of the rate, and
    /// the end.
    pub moms: (f64, f64, f64),
}

impl Default for OneCycle {
    /// fastai's defaults: `div=25`, `div_final=1e5`, `pct_start=0.25`,
    /// `moms=(0.95, 0.85, 0.95)`.
    fn default() -> Self {
        OneCycle {
            div: 25.0,
            div_final: 1e5,
            pct_start: 0.25,
            moms: (0.95, 0.85, 0.95),
        }
    }
}

impl OneCycle {
    /// Checks that the settings can work.
    pub fn validate(&self) -> Result<()> {
        let (a, b, c) = self.moms;
        let ok = self.div > 0.0
            && self.div_final > 0.0
            && (0.0..=1.0).contains(&self.pct_start)
            && [a, b, c].iter().all(|m| (0.0..1.0).contains(m));
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "one-cycle schedule",
                format!("{self:?} has out-of-range settings"),
            ))
        }
    }

    /// The rate at `pos` for a group whose peak rate is `lr_max`.
    pub fn lr(&self, lr_max: f64, pos: f64) -> f64 {
        combined_cos(self.pct_start, lr_max / self.div, lr_max, lr_max / self.div_final, pos)
    }

    /// Momentum (β₁) at `pos`.
    pub fn momentum(&self, pos: f64) -> f64 {
        let (a, b, c) = self.moms;
        combined_cos(self.pct_start, a, b, c, pos)
    }
}

/// One stretch of per-batch scheduled training: `epochs` epochs of one cycle
/// with peak rates `lr_max`, with the body frozen or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Epochs of the phase.
    pub epochs: usize,
    /// Peak rates of the layer groups.
    pub lr_max: LrSlice,
    /// The cycle's shape.
    pub cycle: OneCycle,
    /// Freeze every layer group but the last (batch-norm layers stay
    /// trainable, fastai's `train_bn=True`).
    pub frozen: bool,
}

/// `fit_one_cycle(epochs, lr_max)` with fastai's defaults.
pub fn fit_one_cycle(epochs: usize, lr_max: LrSlice) -> Vec<Phase> {
    vec![Phase {
        epochs,
        lr_max,
        cycle: OneCycle::default(),
        frozen: false,
    }]
}

/// fastai's `fine_tune` settings besides the epochs and the base rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FineTune {
    /// Epochs with the body frozen.
    pub freeze_epochs: usize,
    /// Ratio of the head's rate to the first group's after unfreezing.
    pub lr_mult: f64,
    /// Warm-up fraction after unfreezing.
    pub pct_start: f64,
    /// Warm-up starts at the peak over `div` after unfreezing.
    pub div: f64,
}

impl Default for FineTune {
    /// fastai's defaults: one frozen epoch, `lr_mult=100`, `pct_start=0.3`,
    /// `div=5`.
    fn default() -> Self {
        FineTune {
            freeze_epochs: 1,
            lr_mult: 100.0,
            pct_start: 0.3,
            div: 5.0,
        }
    }
}

/// `Learner.fine_tune(epochs, base_lr)`: `freeze_epochs` of one cycle over
/// `slice(base_lr)` with the body frozen and `pct_start=0.99`, then, at half
/// the base rate, `epochs` of one cycle over `slice(base_lr/2/lr_mult,
/// base_lr/2)` with everything trainable.
pub fn fine_tune(epochs: usize, base_lr: f64, ft: FineTune) -> Vec<Phase> {
    let frozen = Phase {
        epochs: ft.freeze_epochs,
        lr_max: LrSlice::UpTo { stop: base_lr },
        cycle: OneCycle {
            pct_start: 0.99,
            ..OneCycle::default()
        },
        frozen: true,
    };
    let half = base_lr / 2.0;
    let unfrozen = Phase {
        epochs,
        lr_max: LrSlice::Range {
            start: half / ft.lr_mult,
            stop: half,
        },
        cycle: OneCycle {
            pct_start: ft.pct_start,
            div: ft.div,
            ..OneCycle::default()
        },
        frozen: false,
    };
    [frozen, unfrozen].into_iter().filter(|p| p.epochs > 0).collect()
}

/// Where a run stands within its phases.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhasePosition {
    /// Index of the phase.
    pub index: usize,
    /// First epoch (0-based) of the phase.
    pub first_epoch: usize,
    /// Position in the phase's cycle, `step / steps`.
    pub pos: f64,
}

/// The phase that epoch `epoch` (0-based), batch `batch` of
/// `batches_per_epoch` falls in; `None` past the last phase.
pub fn locate(phases: &[Phase], epoch: usize, batch: usize, batches_per_epoch: usize) -> Option<PhasePosition> {
    let mut first = 0;
    for (index, p) in phases.iter().enumerate() {
        if epoch < first + p.epochs {
            let step = (epoch - first) * batches_per_epoch + batch;
            let total = (p.epochs * batches_per_epoch).max(1);
            return Some(PhasePosition {
                index,
                first_epoch: first,
                pos: step as f64 / total as f64,
            });
        }
        first += p.epochs;
    }
    None
}

/// The rate of each of `n_groups` layer groups (first to last) and the
/// momentum for batch `batch` of epoch `epoch` (0-based); `None` past the
/// last phase.
pub fn rates_at(
    phases: &[Phase],
    n_groups: usize,
    epoch: usize,
    batch: usize,
    batches_per_epoch: usize,
) -> Option<(Vec<f64>, f64)> {
    let at = locate(phases, epoch, batch, batches_per_epoch)?;
    let phase = &phases[at.index];
    let rates = phase
        .lr_max
        .rates(n_groups)
        .iter()
        .map(|&r| phase.cycle.lr(r, at.pos))
        .collect();
    Some((rates, phase.cycle.momentum(at.pos)))
}
