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
    /// Epochs of cooldown left after a reduction (Keras's `cooldown_counter`).
    #[serde(default)]
    pub cooldown: usize,
}

impl Watch {
    /// Records `value`; true when it improved.
    pub fn observe(&mut self, value: f64, dir: Direction, min_delta: f64, epoch: usize) -> bool {
        let better = self.best.is_none_or(|b| dir.improved(value, b, min_delta));
        if better {
            self.mark_best(value, epoch);
        } else {
            self.wait += 1;
        }
        better
    }

    /// Records `value`, seen at `epoch`, as the new best.
    pub fn mark_best(&mut self, value: f64, epoch: usize) {
        self.best = Some(value);
        self.best_epoch = epoch;
        self.wait = 0;
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
    /// improved (by more than `min_delta`) for `patience` epochs, never below
    /// `min_lr`; after a reduction, `cooldown` epochs pass before counting
    /// again. `rule` says whose counting: PyTorch's (reduce after more than
    /// `patience` epochs without improvement) or Keras's (after `patience`).
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
        /// Smallest absolute change that counts as an improvement (Keras's `min_delta`, 1e-4 there); default 0.
        #[serde(default)]
        min_delta: f64,
        /// Epochs after a reduction during which no bad epochs are counted; default 0.
        #[serde(default)]
        cooldown: usize,
        /// PyTorch's or Keras's counting; default PyTorch's.
        #[serde(default)]
        rule: PlateauRule,
    },
}

/// Whose `ReduceLROnPlateau` the plateau schedule follows. They differ in
/// when they reduce and in what a reduction at the floor does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateauRule {
    /// `torch.optim.lr_scheduler.ReduceLROnPlateau` (threshold mode `abs`):
    /// reduce when more than `patience` epochs have not improved.
    #[default]
    Torch,
    /// `keras.callbacks.ReduceLROnPlateau` (Keras 3): reduce when `patience`
    /// epochs have not improved and the rate is above `min_lr`; at the floor
    /// the count is not reset.
    Keras,
}

impl LrSchedule {
    /// Keras's `ReduceLROnPlateau(monitor, factor, patience, min_lr)` with
    /// its defaults `min_delta=1e-4`, `cooldown=0`.
    pub fn keras_plateau(monitor: &str, factor: f64, patience: usize, min_lr: f64) -> Self {
        LrSchedule::Plateau {
            monitor: monitor.to_string(),
            factor,
            patience,
            min_lr,
            min_delta: 1e-4,
            cooldown: 0,
            rule: PlateauRule::Keras,
        }
    }
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
            LrSchedule::Plateau { monitor, .. } => match monitored {
                Some(v) => self.plateau_step(current, v, Direction::Auto.resolve(monitor), epochs_done, plateau),
                None => current,
            },
        }
    }

    /// One epoch of `ReduceLROnPlateau` with the monitored value `v`.
    fn plateau_step(&self, lr: f64, v: f64, dir: Direction, epoch: usize, watch: &mut Watch) -> f64 {
        let LrSchedule::Plateau {
            factor,
            patience,
            min_lr,
            min_delta,
            cooldown,
            rule,
            ..
        } = self
        else {
            return lr;
        };
        let improved = watch.best.is_none_or(|b| dir.improved(v, b, *min_delta));
        match rule {
            // torch.optim.lr_scheduler.ReduceLROnPlateau.step
            PlateauRule::Torch => {
                if improved {
                    watch.mark_best(v, epoch);
                } else {
                    watch.wait += 1;
                }
                if watch.cooldown > 0 {
                    watch.cooldown -= 1;
                    watch.wait = 0;
                }
                if watch.wait <= *patience {
                    return lr;
                }
            }
            // keras.callbacks.ReduceLROnPlateau.on_epoch_end (Keras 3)
            PlateauRule::Keras => {
                if watch.cooldown > 0 {
                    watch.cooldown -= 1;
                    watch.wait = 0;
                }
                if improved {
                    watch.mark_best(v, epoch);
                    return lr;
                }
                if watch.cooldown > 0 {
                    return lr;
                }
                watch.wait += 1;
                // The floor is compared in f32; at the floor the count is kept.
                if watch.wait < *patience || lr <= *min_lr as f32 as f64 {
                    return lr;
                }
            }
        }
        watch.wait = 0;
        watch.cooldown = *cooldown;
        (lr * factor).max(*min_lr)
    }

    /// The quantity the schedule watches, if any.
    pub fn monitor(&self) -> Option<&str> {
        match self {
            LrSchedule::Plateau { monitor, .. } => Some(monitor),
            _ => None,
        }
    }
}
