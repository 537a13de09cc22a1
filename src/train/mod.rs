//! The training loop: epochs of shuffled minibatches, validation, history,
//! early stopping, per-epoch learning-rate schedules, and callbacks for
//! progress bars, loggers and checkpoints.
//!
//! Training is reproducible: the order of epoch `e` is a permutation drawn
//! from `(seed, e)` alone, and dropout draws from the model's generator,
//! whose state checkpoints save. With the same seed and thread count, a run
//! gives the same numbers, and a run resumed from a checkpoint ends where the
//! uninterrupted one does.
//!
//! - [`config`]: [`TrainConfig`], [`LossConfig`], [`EarlyStopping`];
//! - [`trainer`]: [`Trainer::fit`] and the resumable [`Progress`];
//! - [`callback`]: the [`Callback`] hooks and how a run ended ([`Outcome`]);
//! - [`history`]: per-epoch and per-batch logs;
//! - [`evaluate`](mod@evaluate): a model over a data set in evaluation mode.
//!
//! Schedules live in [`crate::optim::schedule`].

pub mod callback;
pub mod config;
pub mod evaluate;
pub mod history;
pub mod lr_find;
pub mod recipe;
pub mod trainer;

pub use callback::{Callback, Control, Outcome};
pub use config::{EarlyStopping, LossConfig, TrainConfig};
pub use evaluate::{Evaluation, classification_summary, epoch_roc, evaluate, evaluate_samples};
pub use history::{BatchLog, EpochLog, History};
pub use trainer::{EpochSums, Progress, Trainer, epoch_order};
