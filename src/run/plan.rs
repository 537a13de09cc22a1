//! What a new run is asked to do: which model, which data, how to arrange
//! it, and how to train.

use std::path::{Path, PathBuf};

use crate::data::preprocess::PrepOptions;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::model::ModelSpec;
use crate::optim::{LrSchedule, OptimizerConfig};
use crate::train::TrainConfig;
use crate::transfer::{self, Head};
use crate::zoo::{self, RecipeSchedule};

use super::manifest::DataRecord;

/// Where a model comes from: a built-in architecture or a model file.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelSource {
    /// A model of [`zoo::MODELS`], sized to the data.
    Builtin(String),
    /// A model file (`.toml`/`.json`).
    File(ModelSpec),
}

impl ModelSource {
    /// A built-in model's name, or the path of a model file.
    pub fn parse(m: &str) -> Result<Self> {
        if zoo::is_builtin(m) {
            return Ok(ModelSource::Builtin(m.to_string()));
        }
        let path = Path::new(m);
        if path.extension().is_some() || path.exists() {
            return Ok(ModelSource::File(ModelSpec::from_file(path)?));
        }
        let names: Vec<&str> = zoo::MODELS.iter().map(|(n, _)| *n).collect();
        Err(Error::Model(format!(
            "unknown model {m:?}: not a built-in model ({}) nor a .toml/.json file",
            names.join(", ")
        )))
    }

    /// The rank of the per-sample input the model takes, when it says.
    pub fn input_rank(&self) -> Option<usize> {
        match self {
            ModelSource::Builtin(n) => zoo::default_shape(n).map(|(s, _)| s.len()),
            ModelSource::File(spec) => spec.input_rank(),
        }
    }

    /// Image size the model insists on, when it does not adapt to the data.
    pub fn fixed_hw(&self) -> Option<[usize; 2]> {
        match self {
            ModelSource::Builtin(n) => zoo::fixed_hw(n),
            ModelSource::File(spec) => spec.input.as_ref().filter(|i| i.len() == 3).map(|i| [i[1], i[2]]),
        }
    }

    /// Training settings for what a caller leaves out.
    pub fn recipe(&self) -> zoo::Recipe {
        match self {
            ModelSource::Builtin(n) => zoo::recipe(n),
            ModelSource::File(_) => zoo::recipe(""),
        }
    }

    /// The model's name (a file's `name`, else `model`).
    pub fn name(&self) -> String {
        match self {
            ModelSource::Builtin(n) => n.clone(),
            ModelSource::File(spec) => spec.name.clone().unwrap_or_else(|| "model".into()),
        }
    }

    /// The spec for transfer learning with `head` (fastai's cut and head, or
    /// the model's own classifier) for `input` and `classes`.
    pub fn transfer_spec(&self, input: &[usize], classes: usize, head: Head) -> Result<ModelSpec> {
        match (self, head) {
            (ModelSource::Builtin(n), _) => transfer::transfer_spec(n, input, classes, head),
            (ModelSource::File(_), Head::Fastai) => transfer::with_fastai_head(self.spec(input, classes)?, classes),
            (ModelSource::File(_), Head::Linear) => self.spec(input, classes),
        }
    }

    /// The spec for inputs of `input` shape and `classes` classes.
    pub fn spec(&self, input: &[usize], classes: usize) -> Result<ModelSpec> {
        Ok(match self {
            ModelSource::Builtin(n) => zoo::by_name(n, Some(input), Some(classes))?,
            ModelSource::File(spec) => {
                let mut s = spec.clone();
                match &s.input {
                    Some(i) if i.as_slice() != input => {
                        return Err(Error::Model(format!(
                            "the model file expects inputs of shape {i:?}, the data gives {input:?}"
                        )));
                    }
                    _ => s.input = Some(input.to_vec()),
                }
                s
            }
        })
    }
}

/// Everything a new run needs. [`RunPlan::new`] fills in the model's recipe
/// (epochs, batch size, schedule) and Adam; change the fields to taste.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The architecture.
    pub model: ModelSource,
    /// The data: sources, splits, limit and split seed.
    pub data: DataRecord,
    /// How raw samples are arranged for the model.
    pub prep: PrepOptions,
    /// Epochs, batches, loss, early stopping, schedule.
    pub training: TrainConfig,
    /// The optimizer and its settings.
    pub optimizer: OptimizerConfig,
    /// Seed of the model's initialisation and dropout.
    pub seed: u64,
    /// Weight initialisation instead of the model's own.
    pub init: Option<Init>,
    /// Start from these weights (safetensors or `torch.save` files, PyTorch names).
    pub weights: Option<PathBuf>,
    /// Transfer learning as fastai: the body of the model with this head,
    /// the pretrained stem adapted to the input's channels
    /// ([`crate::transfer`]); `None` loads `weights` as they are.
    pub head: Option<Head>,
    /// Parameter-name prefixes to freeze.
    pub freeze: Vec<String>,
    /// Which of `training`'s settings the model's recipe decides once the
    /// training set's size is known; `training`'s own values stand for the
    /// others. [`RunPlan::new`] sets only what the recipe sizes by the data
    /// (fcn1d's step budget and batch rule): clear these flags to keep values
    /// of your own for such a model. Runs with phases keep their epochs and
    /// rates.
    pub from_recipe: FromRecipe,
}

/// Which training settings a run takes from its model's [`zoo::Recipe`]
/// when the data are read (a recipe's step budget and batch rule depend on
/// the number of training samples).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FromRecipe {
    /// The number of epochs.
    pub epochs: bool,
    /// The batch size.
    pub batch: bool,
    /// The learning-rate schedule.
    pub schedule: bool,
}

impl FromRecipe {
    /// Everything from the recipe.
    pub fn all() -> Self {
        FromRecipe {
            epochs: true,
            batch: true,
            schedule: true,
        }
    }
}

impl RunPlan {
    /// A run of `model` on the data `data` (a path or `builtin:NAME`) with
    /// the model's recipe, Adam at 1e-3 and seed `seed`.
    pub fn new(model: ModelSource, data: &str, seed: u64) -> Self {
        let recipe = model.recipe();
        let batch = recipe.batch_size(0);
        let mut training = TrainConfig::new(recipe.epochs(0, batch), batch, seed);
        training.schedule = recipe_schedule(&recipe, training.epochs);
        // Only what depends on the data's size is left to `training_for`, so
        // that a field set here by hand is the one used.
        let sized = matches!(recipe.budget, zoo::Budget::Steps(_));
        RunPlan {
            model,
            data: DataRecord {
                train: data.to_string(),
                split_seed: seed,
                ..DataRecord::default()
            },
            prep: PrepOptions::default(),
            training,
            optimizer: OptimizerConfig::adam(1e-3),
            seed,
            init: None,
            weights: None,
            head: None,
            freeze: Vec::new(),
            from_recipe: FromRecipe {
                epochs: sized,
                batch: matches!(recipe.batch, zoo::BatchRule::TenthOfData { .. }),
                schedule: sized,
            },
        }
    }

    /// `training` with what the recipe decides for `n` training samples
    /// filled in (see [`RunPlan::from_recipe`]); a note says what it chose
    /// when that depends on `n`.
    pub fn training_for(&self, n: usize, notes: &mut Vec<String>) -> TrainConfig {
        let recipe = self.model.recipe();
        let from = self.from_recipe;
        let mut t = self.training.clone();
        if from.batch {
            t.batch_size = recipe.batch_size(n);
        }
        // Phases (one-cycle, fine-tune) decide their own epochs and rates.
        let per_epoch = t.phases.is_empty();
        if from.epochs && per_epoch {
            t.epochs = recipe.epochs(n, t.batch_size);
        }
        if from.schedule && per_epoch {
            t.schedule = recipe_schedule(&recipe, t.epochs);
        } else if let (true, Some(LrSchedule::Cosine { t_max, .. })) = (from.epochs && per_epoch, &mut t.schedule) {
            *t_max = t.epochs.max(1);
        }
        if let zoo::Budget::Steps(steps) = recipe.budget
            && (from.epochs || from.batch)
        {
            notes.push(format!(
                "{} recipe for {n} training samples: batch {}, {} epochs{}{}",
                self.model.name(),
                t.batch_size,
                t.epochs,
                if from.epochs && per_epoch {
                    format!(" (about {steps} steps)")
                } else {
                    String::new()
                },
                match &t.schedule {
                    Some(LrSchedule::Plateau { patience, .. }) => format!(", plateau patience {patience} epochs"),
                    _ => String::new(),
                }
            ));
        }
        t
    }
}

/// The learning-rate schedule of `recipe` for a run of `epochs` epochs.
pub fn recipe_schedule(recipe: &zoo::Recipe, epochs: usize) -> Option<LrSchedule> {
    match recipe.schedule {
        RecipeSchedule::Constant => None,
        RecipeSchedule::Cosine => Some(LrSchedule::Cosine {
            t_max: epochs.max(1),
            eta_min: 0.0,
        }),
        RecipeSchedule::Plateau { factor, min_lr, .. } => Some(LrSchedule::keras_plateau(
            "loss",
            factor,
            recipe.patience(epochs),
            min_lr,
        )),
    }
}
