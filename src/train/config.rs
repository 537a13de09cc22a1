//! What a training run is asked to do: epochs, batches, loss, early
//! stopping and the learning-rate schedule, as one serialisable config.

use serde::{Deserialize, Serialize};

use crate::data::augment::Augment;
use crate::error::{Error, Result};
use crate::ops::loss::Loss;
use crate::optim::one_cycle::Phase;
use crate::optim::schedule::{Direction, LrSchedule};

/// Keras's `EarlyStopping`: stop when `monitor` has not improved by more than
/// `min_delta` for `patience` epochs; optionally restore the best weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// `val_loss`, `val_accuracy`, `loss` or `accuracy`.
    pub monitor: String,
    /// Epochs without improvement before stopping (Keras's `patience`; 0 acts as 1).
    pub patience: usize,
    /// Smallest change that counts as an improvement (Keras's `min_delta`); default 0.
    #[serde(default)]
    pub min_delta: f64,
    /// Whether the monitored quantity should go down or up; default [`Direction::Auto`] (down for losses).
    #[serde(default)]
    pub mode: Direction,
    /// Put back the weights of the best epoch when stopping (Keras's `restore_best_weights`); default false.
    #[serde(default)]
    pub restore_best_weights: bool,
}

impl EarlyStopping {
    /// Stop after `patience` epochs without improvement in `monitor`; `min_delta` 0, direction from the name.
    pub fn new(monitor: impl Into<String>, patience: usize) -> Self {
        EarlyStopping {
            monitor: monitor.into(),
            patience,
            min_delta: 0.0,
            mode: Direction::Auto,
            restore_best_weights: false,
        }
    }

    /// Restores the best epoch's weights when stopping.
    pub fn restore_best(mut self) -> Self {
        self.restore_best_weights = true;
        self
    }
}

/// Settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Number of passes over the training data (Keras's `epochs`).
    pub epochs: usize,
    /// Samples per training batch (Keras's `batch_size`, PyTorch's `DataLoader(batch_size=…)`); the last batch may be smaller.
    pub batch_size: usize,
    /// Reshuffle the training samples every epoch (seeded by `seed`); default true.
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// Seed of the epoch permutations.
    pub seed: u64,
    /// The loss to minimise; default cross-entropy.
    pub loss: LossConfig,
    /// Stop early when a monitored quantity stops improving; default off.
    #[serde(default)]
    pub early_stopping: Option<EarlyStopping>,
    /// How the learning rate changes from epoch to epoch; default constant.
    #[serde(default)]
    pub schedule: Option<LrSchedule>,
    /// Batch size of validation and evaluation passes; `None` (the
    /// default) uses `batch_size`, as Keras's `validation_batch_size` and
    /// fastai's `val_bs` do, so evaluation never needs more activation
    /// memory than a training step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_batch_size: Option<usize>,
    /// Per-batch recipe (fastai's `fit_one_cycle`, `fine_tune`): phases
    /// that together last `epochs`; excludes `schedule`.
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Layer groups for discriminative rates and freezing, first to last,
    /// each a list of parameter-name prefixes; parameters in none of them
    /// form the last group (the head). Left empty with phases, the body is
    /// every layer but the last one with parameters.
    #[serde(default)]
    pub layer_groups: Vec<Vec<String>>,
    /// With phases: apply weight decay to batch-norm parameters and biases
    /// too (fastai's `wd_bn_bias`); default false, as fastai.
    #[serde(default)]
    pub wd_bn_bias: bool,
    /// Signal efficiencies at which each epoch logs the validation
    /// background rejection (`val_rejection@EFF`).
    #[serde(default)]
    pub signal_efficiencies: Vec<f64>,
    /// Augmentation of every training batch (never of evaluation); default none.
    #[serde(default, skip_serializing_if = "Augment::is_empty")]
    pub augment: Augment,
}

fn yes() -> bool {
    true
}

/// Serialisable form of [`Loss`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct LossConfig {
    /// Which loss: `cross_entropy` (`ce`, the default), `binary_cross_entropy` (`bce`) or `mse`.
    #[serde(default = "ce_name")]
    pub name: String,
    /// Cross-entropy: one weight per class (PyTorch's `weight`); `None` weighs every class 1.
    #[serde(default)]
    pub class_weights: Option<Vec<f64>>,
    /// Cross-entropy: label smoothing in `[0, 1]` (PyTorch's `label_smoothing`); default 0.
    #[serde(default)]
    pub label_smoothing: f64,
    /// Binary cross-entropy: weight of positive examples per output (PyTorch's `pos_weight`); `None` means 1.
    #[serde(default)]
    pub pos_weight: Option<Vec<f64>>,
}

fn ce_name() -> String {
    "cross_entropy".into()
}

impl LossConfig {
    /// Plain cross-entropy (`nn.CrossEntropyLoss()`), no class weights, no smoothing.
    pub fn cross_entropy() -> Self {
        LossConfig {
            name: ce_name(),
            ..Default::default()
        }
    }

    /// The loss this config names; fails for an unknown name or smoothing outside `[0, 1]`.
    pub fn to_loss(&self) -> Result<Loss> {
        Ok(match self.name.as_str() {
            "cross_entropy" | "ce" => {
                if !(0.0..=1.0).contains(&self.label_smoothing) {
                    return Err(Error::invalid(
                        "label smoothing",
                        format!("{} must be in [0, 1]", self.label_smoothing),
                    ));
                }
                Loss::CrossEntropy {
                    class_weights: self.class_weights.clone(),
                    label_smoothing: self.label_smoothing,
                }
            }
            "binary_cross_entropy" | "bce" => Loss::BinaryCrossEntropy {
                pos_weight: self.pos_weight.clone(),
            },
            "mse" | "mean_squared_error" => Loss::MeanSquaredError,
            other => {
                return Err(Error::invalid(
                    "loss",
                    format!("unknown loss {other:?}; choose cross_entropy, binary_cross_entropy or mse"),
                ));
            }
        })
    }
}

impl TrainConfig {
    /// `epochs` of shuffled `batch_size` batches seeded by `seed`, cross-entropy, no early stopping or schedule, evaluation in batches of `batch_size`.
    pub fn new(epochs: usize, batch_size: usize, seed: u64) -> Self {
        TrainConfig {
            epochs,
            batch_size,
            shuffle: true,
            seed,
            loss: LossConfig::cross_entropy(),
            early_stopping: None,
            schedule: None,
            eval_batch_size: None,
            phases: Vec::new(),
            layer_groups: Vec::new(),
            wd_bn_bias: false,
            signal_efficiencies: Vec::new(),
            augment: Augment::default(),
        }
    }

    /// Trains with per-batch `phases` (e.g. [`crate::optim::one_cycle::fine_tune`])
    /// for as many epochs as they last, instead of a per-epoch schedule.
    pub fn with_phases(mut self, phases: Vec<Phase>) -> Self {
        self.epochs = phases.iter().map(|p| p.epochs).sum();
        self.phases = phases;
        self.schedule = None;
        self
    }

    /// The batch size of evaluation passes.
    pub fn eval_batch(&self) -> usize {
        self.eval_batch_size.unwrap_or(self.batch_size)
    }

    /// Checks that the batch sizes are positive, the schedule can work and the loss is known.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::invalid("batch size", "must be positive"));
        }
        if self.eval_batch_size == Some(0) {
            return Err(Error::invalid("evaluation batch size", "must be positive"));
        }
        if let Some(s) = &self.schedule {
            s.validate()?;
        }
        if !self.phases.is_empty() {
            if self.schedule.is_some() {
                return Err(Error::invalid(
                    "schedule",
                    "a one-cycle recipe sets the rate per batch; drop the per-epoch schedule",
                ));
            }
            for p in &self.phases {
                p.cycle.validate()?;
            }
        }
        crate::metrics::check_signal_efficiencies(&self.signal_efficiencies)?;
        self.loss.to_loss().map(|_| ())
    }
}
