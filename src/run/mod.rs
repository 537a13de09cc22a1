//! Run directories: everything `striate train` writes and `evaluate`,
//! `predict` and `--resume` read, produced by the same few calls from a
//! library: [`RunPlan`] → [`Run::create`] → [`Run::fit`] → [`Run::finish`].
//!
//! | file | content |
//! |---|---|
//! | `model.safetensors` | weights, PyTorch names |
//! | `model.toml` | [`Manifest`]: architecture, preprocessing, classes, settings, data |
//! | `checkpoint.safetensors` | weights + optimizer moments, with progress and RNG state as metadata |
//! | `history.csv`, `metrics.json`, charts, `report.html` | results |
//!
//! [`RunDir`] owns every file name; every file is written atomically.
//! Rendering (SVG, PNG, HTML) is [`crate::report`]'s; this module decides
//! what goes where.
//!
//! - [`plan`]: what a new run is asked to do ([`RunPlan`], [`ModelSource`]);
//! - [`session`]: [`Run`] — create, resume, fit;
//! - [`results`]: [`Run::finish`] — evaluation, metrics, charts, report;
//! - [`sets`]: the training, validation and test data of a run;
//! - [`manifest`], [`checkpoint`], [`dir`]: the files.

pub mod checkpoint;
pub mod dir;
pub mod manifest;
pub mod plan;
pub mod results;
pub mod session;
pub mod sets;

pub use checkpoint::{Checkpoint, Checkpointer, load_checkpoint, save_checkpoint};
pub use dir::RunDir;
pub use manifest::{DataRecord, Manifest};
pub use plan::{FromRecipe, ModelSource, RunPlan};
pub use results::Results;
pub use session::{DEFAULT_CHECKPOINT_EVERY, Run};
pub use sets::Sets;
