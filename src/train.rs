//! The training loop: epochs of shuffled minibatches, validation, history,
//! learning-rate schedules, early stopping, and callbacks for progress bars,
//! loggers and checkpoints.
//!
//! Training is reproducible: the order of epoch `e` is a permutation drawn
//! from `(seed, e)` alone, and dropout draws from the model's generator,
//! whose state checkpoints save. With the same seed and thread count, a run
//! gives the same numbers, and a run resumed from a checkpoint ends where the
//! uninterrupted one does.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::layers::{StateMut, StateRef};
use crate::metrics;
use crate::model::Sequential;
use crate::ops::loss::{self, Loss};
use crate::optim::Optimizer;
use crate::rng::SeededRng;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Whether a monitored quantity should go down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Lower is better for names containing `loss`, higher otherwise.
    #[default]
    Auto,
    Min,
    Max,
}

impl Direction {
    fn resolve(self, monitor: &str) -> Direction {
        match self {
            Direction::Auto if monitor.contains("loss") => Direction::Min,
            Direction::Auto => Direction::Max,
            d => d,
        }
    }

    fn improved(self, value: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Direction::Max => value > best + min_delta,
            _ => value < best - min_delta,
        }
    }
}

/// Keras's `EarlyStopping`: stop when `monitor` has not improved by more than
/// `min_delta` for `patience` epochs; optionally restore the best weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// `val_loss`, `val_accuracy`, `loss` or `accuracy`.
    pub monitor: String,
    pub patience: usize,
    #[serde(default)]
    pub min_delta: f64,
    #[serde(default)]
    pub mode: Direction,
    #[serde(default)]
    pub restore_best_weights: bool,
}

impl EarlyStopping {
    pub fn new(monitor: impl Into<String>, patience: usize) -> Self {
        EarlyStopping {
            monitor: monitor.into(),
            patience,
            min_delta: 0.0,
            mode: Direction::Auto,
            restore_best_weights: false,
        }
    }

    pub fn restore_best(mut self) -> Self {
        self.restore_best_weights = true;
        self
    }
}

/// How the learning rate moves from epoch to epoch (PyTorch's schedulers,
/// stepped once per epoch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// `StepLR`: multiply by `gamma` every `step_size` epochs.
    Step { step_size: usize, gamma: f64 },
    /// `ExponentialLR`: multiply by `gamma` every epoch.
    Exponential { gamma: f64 },
    /// `CosineAnnealingLR` from the base rate to `eta_min` over `t_max` epochs.
    Cosine { t_max: usize, eta_min: f64 },
    /// `ReduceLROnPlateau`: multiply by `factor` when `monitor` has not
    /// improved for `patience` epochs, never below `min_lr`.
    Plateau {
        monitor: String,
        factor: f64,
        patience: usize,
        #[serde(default)]
        min_lr: f64,
    },
}

impl LrSchedule {
    fn validate(&self) -> Result<()> {
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

/// Settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// Seed of the epoch permutations.
    pub seed: u64,
    pub loss: LossConfig,
    #[serde(default)]
    pub early_stopping: Option<EarlyStopping>,
    #[serde(default)]
    pub schedule: Option<LrSchedule>,
    /// Batch size for validation and evaluation passes.
    #[serde(default = "default_eval_batch")]
    pub eval_batch_size: usize,
}

fn yes() -> bool {
    true
}
fn default_eval_batch() -> usize {
    1000
}

/// Serialisable form of [`Loss`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct LossConfig {
    #[serde(default = "ce_name")]
    pub name: String,
    #[serde(default)]
    pub class_weights: Option<Vec<f64>>,
    #[serde(default)]
    pub label_smoothing: f64,
    #[serde(default)]
    pub pos_weight: Option<Vec<f64>>,
}

fn ce_name() -> String {
    "cross_entropy".into()
}

impl LossConfig {
    pub fn cross_entropy() -> Self {
        LossConfig {
            name: ce_name(),
            ..Default::default()
        }
    }

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
    pub fn new(epochs: usize, batch_size: usize, seed: u64) -> Self {
        TrainConfig {
            epochs,
            batch_size,
            shuffle: true,
            seed,
            loss: LossConfig::cross_entropy(),
            early_stopping: None,
            schedule: None,
            eval_batch_size: 1000,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::invalid("batch size", "must be positive"));
        }
        if self.eval_batch_size == 0 {
            return Err(Error::invalid("evaluation batch size", "must be positive"));
        }
        if let Some(s) = &self.schedule {
            s.validate()?;
        }
        self.loss.to_loss().map(|_| ())
    }
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch number.
    pub epoch: usize,
    pub loss: f64,
    pub accuracy: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// Learning rate used during the epoch.
    pub lr: f64,
    pub seconds: f64,
}

impl EpochLog {
    /// A logged quantity by its Keras name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            "accuracy" | "acc" => self.accuracy,
            "val_loss" => self.val_loss,
            "val_accuracy" | "val_acc" => self.val_accuracy,
            "lr" => Some(self.lr),
            _ => None,
        }
    }
}

/// Per-epoch logs of a run (Keras's `History`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub epochs: Vec<EpochLog>,
}

impl History {
    /// The values of one quantity over the epochs that logged it.
    pub fn series(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.get(name)).collect()
    }

    /// `epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds` rows.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n");
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
        for e in &self.epochs {
            s.push_str(&format!(
                "{},{:.6},{},{},{},{},{:.3}\n",
                e.epoch,
                e.loss,
                opt(e.accuracy),
                opt(e.val_loss),
                opt(e.val_accuracy),
                e.lr,
                e.seconds
            ));
        }
        s
    }
}

/// What a callback tells the trainer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// Stop after this batch or epoch, keeping a resumable state.
    Stop,
}

/// Running numbers of the current epoch, as seen after a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchLog {
    pub epoch: usize,
    /// 1-based batch number and batches per epoch.
    pub batch: usize,
    pub batches: usize,
    /// Samples seen this epoch.
    pub samples: usize,
    /// Mean loss and accuracy over the epoch so far.
    pub loss: f64,
    pub accuracy: Option<f64>,
}

/// Hooks into a training run (progress bars, loggers, checkpoints).
pub trait Callback<T: Scalar> {
    fn on_train_begin(&mut self, _trainer: &Trainer, _model: &Sequential<T>) {}
    fn on_epoch_begin(&mut self, _epoch: usize, _batches: usize) {}
    fn on_batch_end(&mut self, _log: &BatchLog) -> Control {
        Control::Continue
    }
    /// Called with the trainer's state after the epoch (and after early
    /// stopping and the schedule have acted), so a checkpoint can be written.
    fn on_epoch_end(
        &mut self,
        _log: &EpochLog,
        _trainer: &Trainer,
        _model: &Sequential<T>,
        _opt: &Optimizer<T>,
    ) -> Control {
        Control::Continue
    }
    /// Called when a callback stopped the run in the middle of an epoch.
    fn on_interrupt(&mut self, _trainer: &Trainer, _model: &Sequential<T>, _opt: &Optimizer<T>) {}
    fn on_train_end(&mut self, _history: &History) {}
}

/// How a call to [`Trainer::fit`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All epochs ran.
    Completed,
    /// Early stopping ended the run after this (1-based) epoch.
    EarlyStopped { epoch: usize },
    /// A callback asked to stop; the state is resumable.
    Interrupted { epoch: usize, batch: usize },
}

/// Sums over the batches of the current epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochSums {
    pub loss_sum: f64,
    pub correct: u64,
    pub seen: u64,
    pub seconds: f64,
}

/// Early stopping's and the plateau schedule's memory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Watch {
    pub best: Option<f64>,
    pub best_epoch: usize,
    pub wait: usize,
}

impl Watch {
    /// Records `value`; true when it improved.
    fn observe(&mut self, value: f64, dir: Direction, min_delta: f64, epoch: usize) -> bool {
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

/// Where a run stands: everything besides the model and optimizer that a
/// checkpoint must hold to resume exactly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Completed epochs.
    pub epoch: usize,
    /// Completed batches of the current epoch.
    pub batch: usize,
    pub sums: EpochSums,
    pub history: History,
    pub early: Watch,
    pub plateau: Watch,
    /// Set when early stopping ended the run.
    pub finished: bool,
}

/// The training loop. Construct with a config, call [`Trainer::fit`];
/// [`Trainer::progress`] and the model/optimizer are what to checkpoint.
pub struct Trainer {
    pub config: TrainConfig,
    pub progress: Progress,
    loss: Loss,
    best_weights: Option<Vec<(String, Vec<f64>)>>,
}

/// Reused per-batch buffers.
struct Buffers<T: Scalar> {
    x: Tensor<T>,
    labels: Vec<u32>,
    values: Tensor<T>,
    grad: Tensor<T>,
}

impl<T: Scalar> Default for Buffers<T> {
    fn default() -> Self {
        Buffers {
            x: Tensor::default(),
            labels: Vec::new(),
            values: Tensor::default(),
            grad: Tensor::default(),
        }
    }
}

/// The permutation of epoch `epoch` (0-based) for `n` samples.
pub fn epoch_order(seed: u64, epoch: usize, n: usize, shuffle: bool) -> Vec<usize> {
    if shuffle {
        SeededRng::new(seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)).permutation(n)
    } else {
        (0..n).collect()
    }
}

/// Loss and accuracy of a model on a data set, with its outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    /// `None` for real-valued targets.
    pub accuracy: Option<f64>,
    /// Per sample: class probabilities (softmax of the logits, or sigmoid
    /// for a single-output binary model), or the raw outputs for regression.
    pub outputs: Vec<f32>,
    /// Outputs per sample.
    pub width: usize,
    /// Predicted class per sample (argmax; threshold 0.5 for one output).
    pub predicted: Vec<u32>,
}

impl Trainer {
    pub fn new(config: TrainConfig) -> Result<Self> {
        config.validate()?;
        let loss = config.loss.to_loss()?;
        Ok(Trainer {
            config,
            progress: Progress::default(),
            loss,
            best_weights: None,
        })
    }

    /// A trainer that continues from saved progress.
    pub fn resume(config: TrainConfig, progress: Progress) -> Result<Self> {
        let mut t = Trainer::new(config)?;
        t.progress = progress;
        Ok(t)
    }

    pub fn loss(&self) -> &Loss {
        &self.loss
    }

    /// Trains `model` on `train`, validating on `valid` after each epoch.
    pub fn fit<T: Scalar>(
        &mut self,
        model: &mut Sequential<T>,
        opt: &mut Optimizer<T>,
        train: &Dataset,
        valid: Option<&Dataset>,
        callbacks: &mut [&mut dyn Callback<T>],
    ) -> Result<Outcome> {
        self.check_data(model, train, "training")?;
        if let Some(v) = valid {
            self.check_data(model, v, "validation")?;
        }
        let n = train.len();
        let bs = self.config.batch_size;
        let batches = n.div_ceil(bs);
        let mut buf = Buffers::<T>::default();
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self, model);
        }
        if self.progress.finished {
            return Ok(Outcome::EarlyStopped {
                epoch: self.progress.epoch,
            });
        }
        while self.progress.epoch < self.config.epochs {
            let epoch = self.progress.epoch;
            let started = Instant::now();
            let order = epoch_order(self.config.seed, epoch, n, self.config.shuffle);
            for cb in callbacks.iter_mut() {
                cb.on_epoch_begin(epoch + 1, batches);
            }
            while self.progress.batch < batches {
                let b = self.progress.batch;
                let idx_end = ((b + 1) * bs).min(n);
                let indices = &order[b * bs..idx_end];
                let (loss, correct) = self.train_batch(model, opt, train, indices, &mut buf)?;
                if !loss.is_finite() {
                    return Err(Error::NonFiniteLoss {
                        epoch: epoch + 1,
                        batch: b + 1,
                        value: loss,
                    });
                }
                let s = &mut self.progress.sums;
                s.loss_sum += loss * indices.len() as f64;
                s.correct += correct.unwrap_or(0);
                s.seen += indices.len() as u64;
                self.progress.batch += 1;
                let log = BatchLog {
                    epoch: epoch + 1,
                    batch: b + 1,
                    batches,
                    samples: s.seen as usize,
                    loss: s.loss_sum / s.seen as f64,
                    accuracy: correct.map(|_| s.correct as f64 / s.seen as f64),
                };
                let mut stop = false;
                for cb in callbacks.iter_mut() {
                    stop |= cb.on_batch_end(&log) == Control::Stop;
                }
                if stop && self.progress.batch < batches {
                    self.progress.sums.seconds += started.elapsed().as_secs_f64();
                    for cb in callbacks.iter_mut() {
                        cb.on_interrupt(self, model, opt);
                    }
                    return Ok(Outcome::Interrupted {
                        epoch: epoch + 1,
                        batch: self.progress.batch,
                    });
                }
            }
            // End of epoch.
            let s = self.progress.sums;
            let wants_classes = train.labels().is_some() && self.loss.wants_classes();
            let (val_loss, val_accuracy) = match valid {
                Some(v) => {
                    let e = self.evaluate(model, v)?;
                    (Some(e.loss), e.accuracy)
                }
                None => (None, None),
            };
            let log = EpochLog {
                epoch: epoch + 1,
                loss: s.loss_sum / s.seen.max(1) as f64,
                accuracy: wants_classes.then(|| s.correct as f64 / s.seen.max(1) as f64),
                val_loss,
                val_accuracy,
                lr: opt.lr(),
                seconds: s.seconds + started.elapsed().as_secs_f64(),
            };
            self.progress.history.epochs.push(log.clone());
            self.progress.epoch += 1;
            self.progress.batch = 0;
            self.progress.sums = EpochSums::default();
            let stop_early = self.watch(&log, model)?;
            self.step_schedule(&log, opt);
            if stop_early {
                self.progress.finished = true;
                self.restore_best(model);
            }
            let mut stop = false;
            for cb in callbacks.iter_mut() {
                stop |= cb.on_epoch_end(&log, self, model, opt) == Control::Stop;
            }
            if stop_early {
                for cb in callbacks.iter_mut() {
                    cb.on_train_end(&self.progress.history);
                }
                return Ok(Outcome::EarlyStopped { epoch: epoch + 1 });
            }
            if stop && self.progress.epoch < self.config.epochs {
                return Ok(Outcome::Interrupted {
                    epoch: epoch + 1,
                    batch: 0,
                });
            }
        }
        if self
            .config
            .early_stopping
            .as_ref()
            .is_some_and(|e| e.restore_best_weights)
        {
            self.restore_best(model);
        }
        for cb in callbacks.iter_mut() {
            cb.on_train_end(&self.progress.history);
        }
        Ok(Outcome::Completed)
    }

    fn check_data<T: Scalar>(&self, model: &Sequential<T>, data: &Dataset, what: &str) -> Result<()> {
        if data.is_empty() {
            return Err(Error::Data(format!("the {what} set is empty")));
        }
        if data.sample_shape() != model.input_shape() {
            return Err(Error::Data(format!(
                "{what} samples have shape {:?} but the model expects {:?}",
                data.sample_shape(),
                model.input_shape()
            )));
        }
        let outputs = model.n_outputs();
        match (&data.targets, &self.loss) {
            (Targets::Classes { n_classes, .. }, Loss::CrossEntropy { .. }) if *n_classes > outputs => {
                Err(Error::Data(format!(
                    "the {what} set has {n_classes} classes but the model has {outputs} outputs"
                )))
            }
            (Targets::Classes { n_classes, .. }, Loss::BinaryCrossEntropy { .. }) if outputs == 1 && *n_classes > 2 => {
                Err(Error::Data(format!(
                    "binary cross-entropy with one output needs 2 classes, the {what} set has {n_classes}"
                )))
            }
            _ => Ok(()),
        }
    }

    /// One optimisation step; returns the batch's mean loss and, for class
    /// targets, the number of correct predictions.
    fn train_batch<T: Scalar>(
        &self,
        model: &mut Sequential<T>,
        opt: &mut Optimizer<T>,
        data: &Dataset,
        indices: &[usize],
        buf: &mut Buffers<T>,
    ) -> Result<(f64, Option<u64>)> {
        buf.x.gather_items(&data.x, indices);
        let logits = model.forward_logits(&buf.x, true)?;
        let (loss, correct) = batch_loss(
            &self.loss,
            logits,
            data,
            indices,
            &mut buf.labels,
            &mut buf.values,
            Some(&mut buf.grad),
        )?;
        model.backward(&buf.x, &buf.grad)?;
        opt.step(model);
        Ok((loss, correct))
    }

    /// Loss, accuracy and outputs of `model` on `data` in evaluation mode.
    pub fn evaluate<T: Scalar>(&self, model: &mut Sequential<T>, data: &Dataset) -> Result<Evaluation> {
        evaluate(model, data, &self.loss, self.config.eval_batch_size)
    }

    /// Early stopping bookkeeping; true when training should stop.
    fn watch<T: Scalar>(&mut self, log: &EpochLog, model: &Sequential<T>) -> Result<bool> {
        let Some(es) = self.config.early_stopping.clone() else {
            return Ok(false);
        };
        let value = log.get(&es.monitor).ok_or_else(|| {
            Error::invalid(
                "early stopping",
                format!(
                    "monitored quantity {:?} is not logged (is there a validation set?)",
                    es.monitor
                ),
            )
        })?;
        let dir = es.mode.resolve(&es.monitor);
        if self.progress.early.observe(value, dir, es.min_delta, log.epoch) && es.restore_best_weights {
            self.best_weights = Some(snapshot(model));
        }
        Ok(self.progress.early.wait >= es.patience.max(1))
    }

    fn restore_best<T: Scalar>(&mut self, model: &mut Sequential<T>) {
        if let Some(best) = &self.best_weights {
            restore(model, best);
        }
    }

    fn step_schedule<T: Scalar>(&mut self, log: &EpochLog, opt: &mut Optimizer<T>) {
        let Some(schedule) = &self.config.schedule else {
            return;
        };
        let base = opt.config().lr();
        let done = self.progress.epoch;
        let lr = match schedule {
            LrSchedule::Step { step_size, gamma } => base * gamma.powi((done / step_size) as i32),
            LrSchedule::Exponential { gamma } => base * gamma.powi(done as i32),
            LrSchedule::Cosine { t_max, eta_min } => {
                let t = done.min(*t_max) as f64 / *t_max as f64;
                eta_min + (base - eta_min) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
            }
            LrSchedule::Plateau {
                monitor,
                factor,
                patience,
                min_lr,
            } => {
                let mut lr = opt.lr();
                if let Some(v) = log.get(monitor) {
                    let dir = Direction::Auto.resolve(monitor);
                    self.progress.plateau.observe(v, dir, 0.0, log.epoch);
                    if self.progress.plateau.wait > *patience {
                        lr = (lr * factor).max(*min_lr);
                        self.progress.plateau.wait = 0;
                    }
                }
                lr
            }
        };
        opt.set_lr(lr);
    }
}

/// Copies every parameter and buffer (for restoring the best epoch).
fn snapshot<T: Scalar>(model: &Sequential<T>) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    model.visit_state(&mut |name, s| {
        let t = match s {
            StateRef::Param(p) => &p.value,
            StateRef::Buffer(b) => b,
        };
        out.push((name, t.data().iter().map(|v| v.f64()).collect()));
    });
    out
}

fn restore<T: Scalar>(model: &mut Sequential<T>, saved: &[(String, Vec<f64>)]) {
    let map: std::collections::HashMap<&str, &Vec<f64>> = saved.iter().map(|(n, v)| (n.as_str(), v)).collect();
    model.visit_state_mut(&mut |name, s| {
        let t = match s {
            StateMut::Param(p) => &mut p.value,
            StateMut::Buffer(b) => b,
        };
        if let Some(v) = map.get(name.as_str()) {
            t.data_mut().iter_mut().zip(v.iter()).for_each(|(d, &s)| *d = T::lit(s));
        }
    });
}

/// Loss of a batch of outputs against the targets of `data` at `indices`,
/// with the gradient when asked; also counts correct predictions for class
/// targets.
fn batch_loss<T: Scalar>(
    loss: &Loss,
    outputs: &Tensor<T>,
    data: &Dataset,
    indices: &[usize],
    labels: &mut Vec<u32>,
    values: &mut Tensor<T>,
    grad: Option<&mut Tensor<T>>,
) -> Result<(f64, Option<u64>)> {
    match &data.targets {
        Targets::Classes { labels: all, .. } => {
            labels.clear();
            labels.extend(indices.iter().map(|&i| all[i]));
            let value = loss.compute(outputs, loss::Targets::Classes(labels), grad)?;
            let k = outputs.item_len();
            let correct = outputs
                .data()
                .chunks_exact(k.max(1))
                .zip(labels.iter())
                .filter(|&(row, &l)| predicted_class(row) == l)
                .count() as u64;
            Ok((value, Some(correct)))
        }
        Targets::Values(y) => {
            values.gather_items(y, indices);
            let value = loss.compute(outputs, loss::Targets::Values(values.data()), grad)?;
            Ok((value, None))
        }
    }
}

/// Class of one row of logits: argmax, or `logit > 0` for a single output.
fn predicted_class<T: Scalar>(row: &[T]) -> u32 {
    if row.len() == 1 {
        return u32::from(row[0] > T::zero());
    }
    let mut best = 0;
    for (j, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = j;
        }
    }
    best as u32
}

/// Loss, accuracy and outputs of `model` on `data`, in evaluation mode, in
/// batches of `batch_size`.
pub fn evaluate<T: Scalar>(
    model: &mut Sequential<T>,
    data: &Dataset,
    loss: &Loss,
    batch_size: usize,
) -> Result<Evaluation> {
    if data.sample_shape() != model.input_shape() {
        return Err(Error::Data(format!(
            "samples have shape {:?} but the model expects {:?}",
            data.sample_shape(),
            model.input_shape()
        )));
    }
    let n = data.len();
    let width = model.n_outputs();
    let mut outputs = Vec::with_capacity(n * width);
    let mut predicted = Vec::with_capacity(n);
    let (mut loss_sum, mut correct) = (0.0, 0u64);
    let mut buf = Buffers::<T>::default();
    let classes = data.labels().is_some();
    for start in (0..n).step_by(batch_size.max(1)) {
        let indices: Vec<usize> = (start..(start + batch_size).min(n)).collect();
        buf.x.gather_items(&data.x, &indices);
        let logits = model.forward_logits(&buf.x, false)?;
        let (l, c) = batch_loss(loss, logits, data, &indices, &mut buf.labels, &mut buf.values, None)?;
        loss_sum += l * indices.len() as f64;
        correct += c.unwrap_or(0);
        for row in logits.data().chunks_exact(width.max(1)) {
            predicted.push(predicted_class(row));
            append_outputs(loss, row, classes, &mut outputs);
        }
    }
    Ok(Evaluation {
        loss: loss_sum / n.max(1) as f64,
        accuracy: classes.then(|| correct as f64 / n.max(1) as f64),
        outputs,
        width,
        predicted,
    })
}

/// Turns one row of logits into what users read: probabilities for
/// classifiers, raw values otherwise.
fn append_outputs<T: Scalar>(loss: &Loss, row: &[T], classes: bool, out: &mut Vec<f32>) {
    match loss {
        Loss::CrossEntropy { .. } if classes => {
            let max = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.f64()));
            let sum: f64 = row.iter().map(|v| (v.f64() - max).exp()).sum();
            out.extend(row.iter().map(|v| ((v.f64() - max).exp() / sum) as f32));
        }
        Loss::BinaryCrossEntropy { .. } => out.extend(row.iter().map(|v| (1.0 / (1.0 + (-v.f64()).exp())) as f32)),
        _ => out.extend(row.iter().map(|v| v.f64() as f32)),
    }
}

/// Accuracy, confusion matrix and report of an evaluation against labels.
pub fn classification_summary(
    e: &Evaluation,
    labels: &[u32],
    names: &[String],
) -> (Vec<Vec<u64>>, metrics::ClassificationReport) {
    let k = names.len().max(e.width).max(2);
    let cm = metrics::confusion_matrix(&e.predicted, labels, k);
    let report = metrics::ClassificationReport::from_confusion(&cm, names);
    (cm, report)
}
