//! Hooks into a training run (progress bars, loggers, checkpoints) and how
//! a run ended.

use crate::model::Sequential;
use crate::optim::Optimizer;
use crate::scalar::Scalar;

use super::history::{BatchLog, EpochLog, History};
use super::trainer::Trainer;

/// What a callback tells the trainer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// Stop after this batch or epoch, keeping a resumable state.
    Stop,
}

/// Hooks into a training run (progress bars, loggers, checkpoints).
pub trait Callback<T: Scalar> {
    /// Called once before the first epoch (also when resuming).
    fn on_train_begin(&mut self, _trainer: &Trainer, _model: &Sequential<T>) {}
    /// Called at the start of each epoch with its 1-based number and the batches it will have.
    fn on_epoch_begin(&mut self, _epoch: usize, _batches: usize) {}
    /// Called after each training batch with the epoch's running numbers; [`Control::Stop`] interrupts the run.
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
    /// Called after each training batch that did not stop the run except an
    /// epoch's last (then [`Callback::on_epoch_end`] follows), with the state
    /// a mid-epoch checkpoint saves (its progress counts the time spent so
    /// far); [`Control::Stop`] interrupts the run.
    fn on_batch_state(&mut self, _trainer: &Trainer, _model: &Sequential<T>, _opt: &Optimizer<T>) -> Control {
        Control::Continue
    }
    /// Called when a callback stopped the run in the middle of an epoch.
    fn on_interrupt(&mut self, _trainer: &Trainer, _model: &Sequential<T>, _opt: &Optimizer<T>) {}
    /// Called once after the run, with every epoch's logs.
    fn on_train_end(&mut self, _history: &History) {}
}

/// How a call to [`Trainer::fit`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All epochs ran.
    Completed,
    /// Early stopping ended the run after this (1-based) epoch.
    EarlyStopped {
        /// The last epoch trained, 1-based.
        epoch: usize,
    },
    /// A callback asked to stop; the state is resumable.
    Interrupted {
        /// The epoch that was running, 1-based.
        epoch: usize,
        /// Batches of that epoch completed (0: stopped at the epoch's end).
        batch: usize,
    },
}
