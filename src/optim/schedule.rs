//! Learning-rate schedules (PyTorch's schedulers, stepped once per epoch)
//! and the memory of a monitored quantity that the plateau schedule and early
//! stopping share.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Whether a monitored quantity should go down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Lower is better for names containing `loss`, higher otherwise.
    #[default]
    Auto,
    /// Lower is better (losses).
    Min,
    /// Higher is better (accuracies, AUC).
    Max,
}

impl Direction {
    /// `Auto` resolved for a monitored quantity's name.
    pub fn resolve(self, monitor: &str) -> Direction {
        match self {
            Direction::Auto if monitor.contains("loss") => Direction::Min,
            Direction::Auto => Direction::Max,
            d => d,
        }
    }

    /// True when `value` beats `best` by more than `min_delta`.
    pub fn improved(self, value: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Direction::Max => value > best + min_delta,
            _ => value < best - min_delta,
        }
    }
}

/// Early stopping's and the plateau schedule's memory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Watch {
    /// Best value seen so far; `None` before the first observation.
    pub best: Option<f64>,
    /// Epoch (1-based) at which `best` was seen.
    pub best_epoch: usize,
    /// Observations since the last improvement.
    pub wait: usize,
}

impl Watch {
    /// Records `value`; true when it improved.
    pub fn observe(&mut self, value: f64, dir: Direction, min_delta: f64, epoch: usize) -> bool {
        let better = self.best.is_none_or(|b| dir.improved(value, b, min_delta));
        if better {
            self.best = Some(value);
            self.best_epoch = epoch;
            self.wait = 0;
        } else {
            self.wait += 1;
        }
        better
    }
}

/// How the learning rate moves from epoch to epoch (PyTorch's schedulers,
/// stepped once per epoch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// `StepLR`: multiply by `gamma` every `step_size` epochs.
    Step {
        /// Epochs between decays.
        step_size: usize,
        /// Factor the rate is multiplied by (e.g. 0.1).
        gamma: f64,
    },
    /// `ExponentialLR`: multiply by `gamma` every epoch.
    Exponential {
        /// Factor the rate is multiplied by each epoch (e.g. 0.95).
        gamma: f64,
    },
    /// `CosineAnnealingLR` from the base rate to `eta_min` over `t_max` epochs.
    Cosine {
        /// Epochs of the half cosine; the rate stays at `eta_min` after.
        t_max: usize,
        /// Smallest learning rate, reached at epoch `t_max`.
        eta_min: f64,
    },
    /// `ReduceLROnPlateau`: multiply by `factor` when `monitor` has not
    /// improved for `patience` epochs, never below `min_lr`.
    Plateau {
        /// Logged quantity to watch (`val_loss`, `val_accuracy`, `loss`, …); lower is better for losses.
        monitor: String,
        /// Factor the rate is multiplied by on a plateau (e.g. 0.1).
        factor: f64,
        /// Epochs without improvement tolerated before reducing.
        patience: usize,
        /// Floor of the learning rate; default 0.
        #[serde(default)]
        min_lr: f64,
    },
}

impl LrSchedule {
    /// Checks that the settings can work.
    pub fn validate(&self) -> Result<()> {
        let ok = match self {
            LrSchedule::Step { step_size, gamma } => *step_size > 0 && *gamma > 0.0,
            LrSchedule::Exponential { gamma } => *gamma > 0.0,
            LrSchedule::Cosine { t_max, eta_min } => *t_max > 0 && *eta_min >= 0.0,
            LrSchedule::Plateau { factor, .. } => *factor > 0.0 && *factor < 1.0,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "learning-rate schedule",
                format!("{self:?} has out-of-range settings"),
            ))
        }
    }
}

impl LrSchedule {
    /// The learning rate after `epochs_done` completed epochs, from the base
    /// rate `base` and the rate `current` used so far. The plateau schedule
    /// reads `monitored` (the epoch's value of its monitor, when logged) and
    /// keeps its memory in `plateau`.
    pub fn lr_after(
        &self,
        base: f64,
        current: f64,
        epochs_done: usize,
        monitored: Option<f64>,
        plateau: &mut Watch,
    ) -> f64 {
        match self {
            LrSchedule::Step { step_size, gamma } => base * gamma.powi((epochs_done / step_size) as i32),
            LrSchedule::Exponential { gamma } => base * gamma.powi(epochs_done as i32),
            LrSchedule::Cosine { t_max, eta_min } => {
                let t = epochs_done.min(*t_max) as f64 / *t_max as f64;
                eta_min + (base - eta_min) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
            }
            LrSchedule::Plateau {
                monitor,
                factor,
                patience,
                min_lr,
            } => {
                let mut lr = current;
                if let Some(v) = monitored {
                    let dir = Direction::Auto.resolve(monitor);
                    plateau.observe(v, dir, 0.0, epochs_done);
                    if plateau.wait > *patience {
                        lr = (lr * factor).max(*min_lr);
                        plateau.wait = 0;
                    }
                }
                lr
            }
        }
    }

    /// The quantity the schedule watches, if any.
    pub fn monitor(&self) -> Option<&str> {
        match self {
            LrSchedule::Plateau { monitor, .. } => Some(monitor),
            _ => None,
        }
    }
}
