//! The training loop: epochs of shuffled minibatches, validation after each
//! epoch, early stopping and the schedule, with every piece of state a
//! checkpoint needs kept in [`Progress`].

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::augment::Draw;
use crate::data::batches::Samples;
pub use crate::data::batches::epoch_order;
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::model::Sequential;
use crate::ops::loss::Loss;
use crate::optim::Optimizer;
use crate::optim::schedule::Watch;
use crate::scalar::Scalar;
use crate::weights::Stored;

use super::callback::{Callback, Control, Outcome};
use super::config::TrainConfig;
use super::evaluate::{Buffers, Evaluation, batch_loss, epoch_roc, evaluate_samples};
use super::history::{BatchLog, EpochLog, History};
use super::recipe::{self, PhaseStep};

/// Sums over the batches of the current epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochSums {
    /// Sum of batch losses, each weighted by its number of samples.
    pub loss_sum: f64,
    /// Correctly classified samples.
    pub correct: u64,
    /// Samples seen.
    pub seen: u64,
    /// Seconds spent on the epoch's batches so far.
    pub seconds: f64,
    /// Of those, seconds spent waiting for streamed batches.
    #[serde(default)]
    pub data_wait: f64,
}

/// Where a run stands: everything besides the model and optimizer that a
/// checkpoint must hold to resume exactly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Completed epochs.
    pub epoch: usize,
    /// Completed batches of the current epoch.
    pub batch: usize,
    /// Sums over the batches of the current, unfinished epoch.
    pub sums: EpochSums,
    /// Logs of the completed epochs.
    pub history: History,
    /// Early stopping's memory of the monitored quantity.
    pub early: Watch,
    /// The plateau schedule's memory of its monitored quantity.
    pub plateau: Watch,
    /// Set when early stopping ended the run.
    pub finished: bool,
}

/// The training loop. Construct with a config, call [`Trainer::fit`];
/// [`Trainer::progress`] and the model/optimizer are what to checkpoint.
pub struct Trainer {
    /// Settings of the run.
    pub config: TrainConfig,
    /// Where the run stands (what a checkpoint saves).
    pub progress: Progress,
    loss: Loss,
    best_weights: Option<Snapshot>,
    /// Layer group of each optimizer parameter group (per-batch recipes).
    layer_of: Vec<usize>,
}

/// What one training step works on: the model, its optimizer and the
/// callbacks watching.
struct Step<'m, 'c, 'd, T: Scalar> {
    model: &'m mut Sequential<T>,
    opt: &'m mut Optimizer<T>,
    callbacks: &'c mut [&'d mut dyn Callback<T>],
}

impl Trainer {
    /// A trainer at epoch 0; fails when the config cannot work or names an unknown loss.
    pub fn new(config: TrainConfig) -> Result<Self> {
        config.validate()?;
        let loss = config.loss.to_loss()?;
        Ok(Trainer {
            config,
            progress: Progress::default(),
            loss,
            best_weights: None,
            layer_of: Vec::new(),
        })
    }

    /// A trainer that continues from saved progress.
    pub fn resume(config: TrainConfig, progress: Progress) -> Result<Self> {
        let mut t = Trainer::new(config)?;
        t.progress = progress;
        Ok(t)
    }

    /// The loss being minimised.
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
        self.fit_samples(model, opt, train.into(), valid.map(Samples::from), callbacks)
    }

    /// [`Trainer::fit`] on samples in memory or streamed from disk.
    pub fn fit_samples<T: Scalar>(
        &mut self,
        model: &mut Sequential<T>,
        opt: &mut Optimizer<T>,
        train: Samples<'_>,
        valid: Option<Samples<'_>>,
        callbacks: &mut [&mut dyn Callback<T>],
    ) -> Result<Outcome> {
        self.check_data(model, train, "training")?;
        self.config.augment.check_shape(&train.sample_shape())?;
        if let Some(v) = valid {
            self.check_data(model, v, "validation")?;
        }
        self.check_roc_monitors(valid)?;
        if !self.config.phases.is_empty() {
            if self.config.layer_groups.is_empty() {
                self.config.layer_groups = recipe::default_split(model);
            }
            let (groups, layer_of) = recipe::param_groups(model, &self.config.layer_groups, self.config.wd_bn_bias)?;
            opt.set_groups(groups);
            self.layer_of = layer_of;
        }
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
            let started = Instant::now();
            let mut step = Step {
                model: &mut *model,
                opt: &mut *opt,
                callbacks: &mut *callbacks,
            };
            if let Some(stopped) = self.train_epoch(&mut step, train, &mut buf, started)? {
                return Ok(stopped);
            }
            if let Some(ended) = self.end_epoch(&mut step, train, valid, started)? {
                return Ok(ended);
            }
        }
        // Best weights are only kept when early stopping asks to restore them.
        self.restore_best(model)?;
        for cb in callbacks.iter_mut() {
            cb.on_train_end(&self.progress.history);
        }
        Ok(Outcome::Completed)
    }

    /// The remaining batches of the current epoch; `Some` when a callback
    /// interrupted it.
    fn train_epoch<T: Scalar>(
        &mut self,
        step: &mut Step<'_, '_, '_, T>,
        train: Samples<'_>,
        buf: &mut Buffers<T>,
        started: Instant,
    ) -> Result<Option<Outcome>> {
        let epoch = self.progress.epoch;
        let (n, bs) = (train.len(), self.config.batch_size);
        let batches = n.div_ceil(bs);
        let (seed, shuffle) = (self.config.seed, self.config.shuffle);
        let mut reader = train.epoch(seed, epoch, shuffle, bs, self.progress.batch)?;
        let mut indices = Vec::with_capacity(bs);
        for cb in step.callbacks.iter_mut() {
            cb.on_epoch_begin(epoch + 1, batches);
        }
        let phases = PhaseStep {
            phases: &self.config.phases,
            layer_groups: &self.config.layer_groups,
            layer_of: &self.layer_of,
        };
        phases.begin_epoch(step.model, step.opt, epoch, self.progress.batch, batches);
        let waited_before = self.progress.sums.data_wait;
        while self.progress.batch < batches {
            let b = self.progress.batch;
            phases.before_batch(step.opt, epoch, b, batches);
            if !reader.next_into(&mut buf.x, &mut indices)? {
                return Err(Error::Data(format!(
                    "the training data ended after {b} of {batches} batches"
                )));
            }
            let (loss, correct) = self.train_batch(step.model, step.opt, train.targets(), &indices, buf)?;
            if !loss.is_finite() {
                return Err(Error::NonFiniteLoss {
                    epoch: epoch + 1,
                    batch: b + 1,
                    value: loss,
                });
            }
            let s = &mut self.progress.sums;
            s.data_wait = waited_before + reader.waited();
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
                lr: step.opt.lr(),
                momentum: step.opt.config().momentum(),
            };
            let mut stop = false;
            for cb in step.callbacks.iter_mut() {
                stop |= cb.on_batch_end(&log) == Control::Stop;
            }
            if !stop && self.progress.batch < batches {
                // What a checkpoint saved now would hold: the time so far counted.
                let seconds = self.progress.sums.seconds;
                self.progress.sums.seconds = seconds + started.elapsed().as_secs_f64();
                for cb in step.callbacks.iter_mut() {
                    stop |= cb.on_batch_state(self, step.model, step.opt) == Control::Stop;
                }
                self.progress.sums.seconds = seconds;
            }
            if stop && self.progress.batch < batches {
                self.progress.sums.seconds += started.elapsed().as_secs_f64();
                for cb in step.callbacks.iter_mut() {
                    cb.on_interrupt(self, step.model, step.opt);
                }
                return Ok(Some(Outcome::Interrupted {
                    epoch: epoch + 1,
                    batch: self.progress.batch,
                }));
            }
        }
        Ok(None)
    }

    /// Validation, the epoch's log, early stopping and the schedule after the
    /// last batch of an epoch; `Some` when the run ends here.
    fn end_epoch<T: Scalar>(
        &mut self,
        step: &mut Step<'_, '_, '_, T>,
        train: Samples<'_>,
        valid: Option<Samples<'_>>,
        started: Instant,
    ) -> Result<Option<Outcome>> {
        let epoch = self.progress.epoch;
        let s = self.progress.sums;
        let wants_classes = train.labels().is_some() && self.loss.wants_classes();
        let (val_loss, val_accuracy, roc) = match valid {
            Some(v) => {
                let e = evaluate_samples(step.model, v, &self.loss, self.config.eval_batch())?;
                let roc = v
                    .labels()
                    .and_then(|l| epoch_roc(&e, l, &self.config.signal_efficiencies));
                (Some(e.loss), e.accuracy, roc)
            }
            None => (None, None, None),
        };
        let (val_auc, val_rejection) = roc.map_or((None, Vec::new()), |(a, r)| (Some(a), r));
        let log = EpochLog {
            epoch: epoch + 1,
            loss: s.loss_sum / s.seen.max(1) as f64,
            accuracy: wants_classes.then(|| s.correct as f64 / s.seen.max(1) as f64),
            val_loss,
            val_accuracy,
            val_auc,
            val_rejection,
            lr: step.opt.lr(),
            seconds: s.seconds + started.elapsed().as_secs_f64(),
            data_wait: train.is_streamed().then_some(s.data_wait),
        };
        self.progress.history.epochs.push(log.clone());
        self.progress.epoch += 1;
        self.progress.batch = 0;
        self.progress.sums = EpochSums::default();
        let stop_early = self.watch(&log, step.model)?;
        self.step_schedule(&log, step.opt);
        if stop_early {
            self.progress.finished = true;
            self.restore_best(step.model)?;
        }
        let mut stop = false;
        for cb in step.callbacks.iter_mut() {
            stop |= cb.on_epoch_end(&log, self, step.model, step.opt) == Control::Stop;
        }
        if stop_early {
            for cb in step.callbacks.iter_mut() {
                cb.on_train_end(&self.progress.history);
            }
            return Ok(Some(Outcome::EarlyStopped { epoch: epoch + 1 }));
        }
        if stop && self.progress.epoch < self.config.epochs {
            return Ok(Some(Outcome::Interrupted {
                epoch: epoch + 1,
                batch: 0,
            }));
        }
        Ok(None)
    }

    pub(super) fn check_data<T: Scalar>(&self, model: &Sequential<T>, data: Samples<'_>, what: &str) -> Result<()> {
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
        match (data.targets(), &self.loss) {
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

    /// A monitored `val_auc` or `val_rejection@…` needs a validation set
    /// with signal and background: without them the quantity is never
    /// logged, so say so before the first epoch rather than after it.
    fn check_roc_monitors(&self, valid: Option<Samples<'_>>) -> Result<()> {
        let monitors = self
            .config
            .early_stopping
            .iter()
            .map(|es| es.monitor.as_str())
            .chain(self.config.schedule.as_ref().and_then(|s| s.monitor()));
        for m in monitors.filter(|m| m.starts_with("val_auc") || m.starts_with("val_rejection")) {
            let classes = valid.and_then(|v| v.labels()).map(|labels| {
                let mut seen = std::collections::BTreeSet::new();
                seen.extend(labels.iter().map(|&l| l.min(1)));
                seen.len()
            });
            if classes != Some(2) {
                return Err(Error::invalid(
                    "--monitor",
                    format!("{m} needs a validation set with both signal (class 1 and above) and background (class 0)"),
                ));
            }
        }
        Ok(())
    }

    /// One optimisation step on the batch in `buf.x` (the samples at
    /// `indices` of a set labelled by `targets`); returns the batch's mean
    /// loss and, for class targets, the number of correct predictions.
    pub(super) fn train_batch<T: Scalar>(
        &self,
        model: &mut Sequential<T>,
        opt: &mut Optimizer<T>,
        targets: &Targets,
        indices: &[usize],
        buf: &mut Buffers<T>,
    ) -> Result<(f64, Option<u64>)> {
        self.config.augment.apply(&mut buf.x, self.draw())?;
        let logits = model.forward_logits(&buf.x, true)?;
        let (loss, correct) = batch_loss(
            &self.loss,
            logits,
            targets,
            indices,
            &mut buf.labels,
            &mut buf.values,
            Some(&mut buf.grad),
        )?;
        model.backward(&buf.x, &buf.grad)?;
        opt.step(model);
        Ok((loss, correct))
    }

    /// Where the batch being trained sits, for the augmentation's draws
    /// (the progress counts the batches done, so it names this one).
    fn draw(&self) -> Draw {
        Draw {
            seed: self.config.seed,
            epoch: self.progress.epoch,
            batch: self.progress.batch,
        }
    }

    /// Loss, accuracy and outputs of `model` on `data` in evaluation mode.
    pub fn evaluate<T: Scalar>(&self, model: &mut Sequential<T>, data: &Dataset) -> Result<Evaluation> {
        evaluate_samples(model, data.into(), &self.loss, self.config.eval_batch())
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

    fn restore_best<T: Scalar>(&mut self, model: &mut Sequential<T>) -> Result<()> {
        match &self.best_weights {
            Some(best) => restore(model, best),
            None => Ok(()),
        }
    }

    fn step_schedule<T: Scalar>(&mut self, log: &EpochLog, opt: &mut Optimizer<T>) {
        let Some(schedule) = &self.config.schedule else {
            return;
        };
        let monitored = schedule.monitor().and_then(|m| log.get(m));
        let lr = schedule.lr_after(
            opt.config().lr(),
            opt.lr(),
            self.progress.epoch,
            monitored,
            &mut self.progress.plateau,
        );
        opt.set_lr(lr);
    }
}

/// Every parameter and buffer by name (for restoring the best epoch, or
/// the weights before a learning-rate sweep).
pub(super) type Snapshot = BTreeMap<String, Stored>;

/// The model's state now, as [`crate::weights::model_state`] reads it.
pub(super) fn snapshot<T: Scalar>(model: &Sequential<T>) -> Snapshot {
    crate::weights::model_state(model).into_iter().collect()
}

/// Puts a [`snapshot`] of the same model back.
pub(super) fn restore<T: Scalar>(model: &mut Sequential<T>, saved: &Snapshot) -> Result<()> {
    crate::weights::load_state(model, saved, true).map(|_| ())
}
