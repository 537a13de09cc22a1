//! Command-line arguments as clap parses them, and their validation into
//! library settings.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use striate::data::augment::Augment;
use striate::data::images::Channels;
use striate::data::preprocess::{Layout, Normalize, PrepOptions, Standardize};
use striate::data::source::ReadOptions;
use striate::data::table::LabelColumn;
use striate::init::Init;
use striate::optim::LrSchedule;
use striate::optim::OptimizerConfig;
use striate::optim::one_cycle::LrSlice;
use striate::train::{EarlyStopping, LossConfig};

#[derive(Parser, Debug)]
#[command(
    name = "striate",
    version,
    about = "Convolutional neural networks: train, evaluate and predict on image and signal data",
    after_help = "Examples:\n  striate train --model fashion_convnet --data ../shared/data/fashion-mnist\n  striate evaluate --run runs/fashion_convnet-1 --data ../shared/data/fashion-mnist\n  striate data info jet_images.h5"
)]
pub struct Cli {
    /// Worker threads (default: every core).
    #[arg(long, global = true, env = "STRIATE_THREADS")]
    pub threads: Option<usize>,
    /// Memory a model, its data and its flags may need, e.g. 8G or 512M
    /// (default: three quarters of physical memory). More is refused up front.
    #[arg(long, global = true, env = "STRIATE_MAX_MEMORY", value_parser = parse_memory)]
    pub max_memory: Option<u64>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a model's layers, output shapes and parameter counts.
    Summary(SummaryArgs),
    /// List the built-in models and data sets.
    Models,
    /// Train a model and write a run directory with weights, metrics, plots and a report.
    Train(Box<TrainArgs>),
    /// fastai's learning-rate finder: sweep the rate from 1e-7 to 10 over 100 batches, plot the
    /// smoothed loss and print the suggested rate (weights are left as they were).
    LrFind(Box<LrFindArgs>),
    /// Metrics of a trained model on a data set.
    Evaluate(EvaluateArgs),
    /// Class probabilities of a trained model for each sample.
    Predict(PredictArgs),
    /// Convolve an image with a fixed kernel (Sobel, the course's edge kernels, Gaussian, …).
    Filter(FilterArgs),
    /// Turn jet constituents (four-vectors) into jet images, EnergyFlow's recipe.
    Pixelate(PixelateArgs),
    /// Time training and inference of the reference models, beside PyTorch when it is installed.
    Bench(BenchArgs),
    /// Inspect data files.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Rows to run, comma-separated: m1, m2, m3, m3b256, m4, m5 (default: all).
    #[arg(long, value_delimiter = ',')]
    pub rows: Vec<String>,
    /// Timed epochs per training row (after one warm-up epoch); the median is reported.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// A tenth of the samples and one timed epoch: checks that the benchmark runs, measures nothing.
    #[arg(long)]
    pub smoke: bool,
    /// Python with torch installed: time PyTorch on the same rows (bench/torch_bench.py).
    #[arg(long)]
    pub torch: Option<PathBuf>,
    /// Print one JSON object per row as well as the table.
    #[arg(long)]
    pub json: bool,
    /// Runs of each side per row, alternating striate and PyTorch (striate
    /// first, then PyTorch first, …); the table shows each side's median
    /// (peak memory: the largest), so a machine whose speed drifts over a
    /// minute weighs on both sides alike.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Convolution kernels for striate's rows: `auto` (Winograd for 3×3
    /// stride-1 layers of 16 channels or more, direct loops for small first
    /// layers, im2col for the rest), `im2col` (neither), `winograd`
    /// (wherever it applies), `direct` (every stride-1 forward pass),
    /// `im2col-plain` (no fast paths) or `reference` (scalar loops).
    #[arg(long, value_enum, default_value_t = ConvArg::Auto)]
    pub conv: ConvArg,
    /// Internal: run one row in this process and print its RESULT line.
    #[arg(long, hide = true)]
    pub child: bool,
}

/// `--conv`: which convolution kernels run.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConvArg {
    /// Winograd for 3×3 stride-1 layers of 16 channels or more, direct loops for small first layers, im2col with its fast paths for the rest.
    #[default]
    Auto,
    /// im2col with its fast paths, never Winograd.
    Im2col,
    /// Winograd wherever it applies, im2col for the rest.
    Winograd,
    /// Direct loops for every stride-1 forward pass, im2col for the rest.
    Direct,
    /// im2col without fast paths.
    Im2colPlain,
    /// The scalar reference loops.
    Reference,
}

impl ConvArg {
    /// The library's choice it names.
    pub fn algo(self) -> striate::ops::conv::ConvAlgo {
        use striate::ops::conv::ConvAlgo;
        match self {
            ConvArg::Auto => ConvAlgo::Auto,
            ConvArg::Im2col => ConvAlgo::Im2colFast,
            ConvArg::Winograd => ConvAlgo::Winograd,
            ConvArg::Direct => ConvAlgo::Direct,
            ConvArg::Im2colPlain => ConvAlgo::Im2colGemm,
            ConvArg::Reference => ConvAlgo::Reference,
        }
    }

    /// Its command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            ConvArg::Auto => "auto",
            ConvArg::Im2col => "im2col",
            ConvArg::Winograd => "winograd",
            ConvArg::Direct => "direct",
            ConvArg::Im2colPlain => "im2col-plain",
            ConvArg::Reference => "reference",
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// What a data file holds: shapes, type, labels, value range, mean and std.
    Info(InfoArgs),
    /// Write generated top and QCD jets in the Top Quark Tagging layout (pandas HDF5, Parquet shards).
    Toptag(ToptagArgs),
}

#[derive(Args, Debug)]
pub struct ToptagArgs {
    /// Number of jets, half top and half QCD, shuffled.
    #[arg(long, default_value_t = 1_200_000)]
    pub jets: usize,
    /// pandas HDF5 file to write (format `table`, key `table`).
    #[arg(long)]
    pub h5: Option<PathBuf>,
    /// Folder to write Parquet shards into, as the Hub lays them out (DIR/data/train-00000-of-000NN.parquet).
    #[arg(long)]
    pub parquet: Option<PathBuf>,
    /// Seed of the generator and the shuffle.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Constituent columns per jet.
    #[arg(long, default_value_t = 200)]
    pub constituents: usize,
    /// Jets per Parquet shard.
    #[arg(long, default_value_t = 100_000)]
    pub shard_jets: usize,
    /// Jets generated at a time (one Parquet row group).
    #[arg(long, default_value_t = 10_000)]
    pub chunk_jets: usize,
}

#[derive(Args, Debug)]
pub struct SummaryArgs {
    /// A built-in model name (see `striate models`) or a model file (.toml/.json).
    #[arg(long, short)]
    pub model: String,
    /// Per-sample input shape, e.g. 1,28,28 (default: the model's own).
    #[arg(long, value_parser = parse_shape)]
    pub input: Option<Shape>,
    /// Number of classes (default: the model's own).
    #[arg(long)]
    pub classes: Option<usize>,
}

/// How to read a data source.
#[derive(Args, Debug, Clone, Default)]
pub struct ReadArgs {
    /// HDF5/NPZ dataset with the samples (default: images, x, X or data).
    #[arg(long)]
    pub x_key: Option<String>,
    /// HDF5/NPZ dataset with the labels (default: labels, y, Y or targets).
    #[arg(long)]
    pub y_key: Option<String>,
    /// One HDF5/NPZ dataset per class, in label order, e.g. QCD,TT.
    #[arg(long, value_delimiter = ',')]
    pub class_keys: Vec<String>,
    /// Labels of an .npy sample file (default: the one *label*.npy beside it).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Label column of a CSV table: index (negative from the end) or header name.
    #[arg(long, default_value = "-1", allow_hyphen_values = true)]
    pub label_col: String,
    /// Channels of an image folder.
    #[arg(long, value_enum, default_value_t = ChannelsArg::Auto)]
    pub channels: ChannelsArg,
    /// Resize images of a folder to HxW.
    #[arg(long, value_parser = parse_hw)]
    pub resize: Option<[usize; 2]>,
    /// Zero-pad time series of unequal lengths at the end (default: an error).
    #[arg(long)]
    pub pad_series: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum ChannelsArg {
    #[default]
    Auto,
    Gray,
    Rgb,
}

impl ReadArgs {
    pub fn options(&self) -> ReadOptions {
        let label_column = match self.label_col.parse::<i64>() {
            Ok(i) => LabelColumn::Index(i),
            Err(_) => LabelColumn::Name(self.label_col.clone()),
        };
        ReadOptions {
            x_key: self.x_key.clone(),
            y_key: self.y_key.clone(),
            class_keys: self.class_keys.clone(),
            labels_file: self.labels.clone(),
            label_column,
            channels: match self.channels {
                ChannelsArg::Auto => Channels::Auto,
                ChannelsArg::Gray => Channels::Gray,
                ChannelsArg::Rgb => Channels::Rgb,
            },
            resize: self.resize,
            pad_series: self.pad_series,
            allow_unlabeled: false,
        }
    }
}

/// How stored samples become model inputs.
#[derive(Args, Debug, Clone, Default)]
pub struct PrepArgs {
    /// Where the channel axis of stored images is.
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    pub layout: LayoutArg,
    /// Multiply stored values by this (default: 1/255 for byte data, else 1).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Standardise inputs with training-set statistics.
    #[arg(long, value_enum, default_value_t = StandardizeArg::None)]
    pub standardize: StandardizeArg,
    /// Per-sample shape, e.g. 1,8,8 for flat 64-value rows.
    #[arg(long, value_parser = parse_shape)]
    pub reshape: Option<Shape>,
    /// Zero-pad images to HxW (centred), e.g. 32x32.
    #[arg(long, value_parser = parse_hw)]
    pub pad_to: Option<[usize; 2]>,
    /// Z-normalise each series (time-series convention).
    #[arg(long)]
    pub znorm: bool,
    /// Fixed normalisation per channel as torchvision's Normalize(mean, std): MEAN/STD, one value
    /// for every channel or one per channel, e.g. 0.5/0.5 or 0.1,0.2,0.3/0.2,0.2,0.2.
    #[arg(long, value_name = "MEAN/STD", value_parser = parse_normalize, conflicts_with = "standardize")]
    pub normalize: Option<Normalize>,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LayoutArg {
    #[default]
    Auto,
    ChannelsFirst,
    ChannelsLast,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StandardizeArg {
    #[default]
    None,
    Global,
    Pixel,
}

impl PrepArgs {
    pub fn options(&self) -> PrepOptions {
        PrepOptions {
            layout: match self.layout {
                LayoutArg::Auto => Layout::Auto,
                LayoutArg::ChannelsFirst => Layout::ChannelsFirst,
                LayoutArg::ChannelsLast => Layout::ChannelsLast,
            },
            scale: self.scale,
            standardize: match self.standardize {
                StandardizeArg::None => Standardize::None,
                StandardizeArg::Global => Standardize::Global,
                StandardizeArg::Pixel => Standardize::PerPixel,
            },
            reshape: self.reshape.as_ref().map(|s| s.0.clone()),
            pad_to: self.pad_to,
            znorm: self.znorm,
            normalize: self.normalize.clone(),
        }
    }
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// A built-in model (see `striate models`) or a model file (.toml/.json).
    #[arg(long, short, required_unless_present = "resume")]
    pub model: Option<String>,
    /// Training data: a file, a folder or builtin:NAME.
    #[arg(long, short, required_unless_present = "resume")]
    pub data: Option<String>,
    /// Validation data.
    #[arg(long, conflicts_with = "valid_split")]
    pub valid: Option<String>,
    /// Hold out this fraction of the training data for validation (stratified).
    #[arg(long)]
    pub valid_split: Option<f64>,
    /// Test data, evaluated after training (an IDX folder's t10k files are used automatically).
    #[arg(long, conflicts_with = "test_split")]
    pub test: Option<String>,
    /// Hold out this fraction of the training data for the final test (stratified).
    #[arg(long)]
    pub test_split: Option<f64>,
    /// Use only N training samples (quick tries): a seeded draw, stratified by class, kept in file order.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Read the training data (.npy, HDF5, Parquet or a folder of Parquet shards) a batch at a
    /// time instead of whole (Parquet a row group at a time); chosen
    /// automatically when its samples would take more than a third of --max-memory.
    #[arg(long)]
    pub stream: bool,
    /// Rows of the shuffle buffer when streaming (default: 256 MiB of inputs); a buffer of the
    /// whole set shuffles exactly as in memory.
    #[arg(long, value_name = "ROWS")]
    pub shuffle_buffer: Option<usize>,
    /// Epochs (default: the model's recipe: 10 for image models, 100 for lenet1d; for fcn1d
    /// as many as 2,000 optimizer steps take).
    #[arg(long, short)]
    pub epochs: Option<usize>,
    /// Batch size (default: the model's recipe: 64 for image models, 8 for lenet1d,
    /// min(N/10, 16) but at least 8 of N training samples for fcn1d).
    #[arg(long, short)]
    pub batch: Option<usize>,
    /// Optimizer (default: adam; fastai's AdamW settings with --one-cycle or --fine-tune).
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate (default: 1e-3 for adam, adamw, nadam and fastai, 0.01 for sgd and rmsprop);
    /// START:STOP spreads rates geometrically over the layer groups (with --one-cycle or --fine-tune).
    #[arg(long)]
    pub lr: Option<String>,
    /// Train with fastai's fit_one_cycle: per-batch cosine warm-up to --lr over 25% of the steps,
    /// annealing to lr/1e5, momentum cycled 0.95→0.85→0.95.
    #[arg(long, conflicts_with_all = ["schedule", "fine_tune"])]
    pub one_cycle: bool,
    /// fastai's fine_tune(N, --lr): --freeze-epochs of one cycle with the body frozen (batch norm
    /// trained), then N epochs unfrozen at half the rate over slice(lr/200, lr/2).
    #[arg(long, value_name = "N", conflicts_with_all = ["schedule", "epochs"])]
    pub fine_tune: Option<usize>,
    /// Epochs with the body frozen before fine-tuning (fastai's freeze_epochs).
    #[arg(long, default_value_t = 1)]
    pub freeze_epochs: usize,
    /// A layer group of the body: comma-separated parameter-name prefixes (repeat, first group
    /// first); the parameters in none form the head (default: every layer but the last).
    #[arg(long = "layer-group", value_name = "PREFIXES")]
    pub layer_groups: Vec<String>,
    /// Momentum of sgd and rmsprop.
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Nesterov momentum (sgd).
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay (L2 for sgd/adam/rmsprop, decoupled for adamw/nadam).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule: none, cosine, step:EPOCHS:GAMMA, exp:GAMMA or plateau:PATIENCE:FACTOR
    /// (default: the model's recipe: cosine for lenet1d; for fcn1d Keras's ReduceLROnPlateau on the
    /// training loss, factor 0.5, patience 1/40 of the epochs, floor 1e-4).
    #[arg(long)]
    pub schedule: Option<String>,
    /// Stop when the monitored quantity has not improved for this many epochs.
    #[arg(long)]
    pub early_stopping: Option<usize>,
    /// Quantity early stopping and the plateau schedule watch.
    #[arg(long, default_value = "val_loss")]
    pub monitor: String,
    #[arg(long, value_enum, default_value_t = LossArg::CrossEntropy)]
    pub loss: LossArg,
    /// Label smoothing of the cross-entropy.
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f64,
    /// Weight initialisation (default: the model's own).
    #[arg(long, value_enum)]
    pub init: Option<InitArg>,
    /// Start from these weights (safetensors or a torch.save .pth, PyTorch names); what does not fit is left as initialised.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Transfer learning as fastai's vision_learner: the model's body with this head, the pretrained
    /// stem adapted to the data's channels (fastai: fastai's default head; linear: a new last layer).
    #[arg(long, value_enum)]
    pub head: Option<HeadArg>,
    /// Freeze parameters whose names start with this prefix (repeatable), e.g. conv.
    #[arg(long)]
    pub freeze: Vec<String>,
    /// Seed of initialisation, shuffling, splits and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run directory (default: runs/<model>-N).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Replace an existing run directory.
    #[arg(long)]
    pub overwrite: bool,
    /// Continue an interrupted run in this directory.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Within an epoch, write the resumable checkpoint every MINUTES (fractions allowed), so a
    /// killed run loses at most that much; 0: only after every epoch and on Ctrl-C.
    #[arg(long, value_name = "MINUTES", default_value_t = 10.0, value_parser = parse_minutes)]
    pub checkpoint_every: f64,
    /// Signal efficiencies at which to report the background rejection 1/εB.
    #[arg(long, value_delimiter = ',', default_values_t = [0.3, 0.5])]
    pub signal_efficiency: Vec<f64>,
    /// Augment every training batch, in this order: hflip, vflip, rot90, crop:PADDING, shift:PIXELS,
    /// eta, phi (jet images: reflections in rapidity and azimuth), e.g. hflip,crop:4.
    #[arg(long, value_name = "SPEC", value_parser = parse_augment)]
    pub augment: Option<Augment>,
    /// Print nothing while training.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print one JSON object per epoch (and the final metrics) instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub prep: PrepArgs,
}

/// `striate lr-find`: the model, data and optimizer flags of `train`, and the sweep's.
#[derive(Args, Debug)]
pub struct LrFindArgs {
    #[command(flatten)]
    pub train: TrainArgs,
    /// Rate of the first batch.
    #[arg(long, default_value_t = 1e-7)]
    pub start_lr: f64,
    /// Rate reached after --num-it batches.
    #[arg(long, default_value_t = 10.0)]
    pub end_lr: f64,
    /// Batches of the sweep.
    #[arg(long, default_value_t = 100)]
    pub num_it: usize,
    /// Suggestion to print: valley (fastai's default), minimum or steep.
    #[arg(long, default_value = "valley")]
    pub suggest: String,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerArg {
    /// fastai's default: AdamW with β (0.9, 0.99), eps 1e-5, weight decay 0.01.
    Fastai,
    Sgd,
    Adam,
    Adamw,
    Nadam,
    Rmsprop,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossArg {
    CrossEntropy,
    Bce,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadArg {
    Fastai,
    Linear,
}

impl HeadArg {
    pub fn head(self) -> striate::transfer::Head {
        match self {
            HeadArg::Fastai => striate::transfer::Head::Fastai,
            HeadArg::Linear => striate::transfer::Head::Linear,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitArg {
    Torch,
    Glorot,
    KaimingNormal,
}

impl InitArg {
    pub fn init(self) -> Init {
        match self {
            InitArg::Torch => Init::Torch,
            InitArg::Glorot => Init::Glorot,
            InitArg::KaimingNormal => Init::KaimingNormal,
        }
    }
}

impl TrainArgs {
    /// The optimizer asked for: adam, or fastai's with a one-cycle recipe.
    pub fn optimizer_arg(&self) -> OptimizerArg {
        let recipe = self.one_cycle || self.fine_tune.is_some();
        self.optimizer.unwrap_or(if recipe {
            OptimizerArg::Fastai
        } else {
            OptimizerArg::Adam
        })
    }

    /// The learning rates of `--lr`, when given.
    pub fn lr_slice(&self) -> Result<Option<LrSlice>> {
        let Some(s) = &self.lr else { return Ok(None) };
        let slice = LrSlice::parse(s).with_context(|| format!("--lr {s}"))?;
        if matches!(slice, LrSlice::Range { .. }) && !self.one_cycle && self.fine_tune.is_none() {
            bail!("--lr {s}: a range of rates needs --one-cycle or --fine-tune");
        }
        Ok(Some(slice))
    }

    pub fn optimizer(&self) -> Result<OptimizerConfig> {
        let arg = self.optimizer_arg();
        let mut cfg = match arg {
            OptimizerArg::Fastai => OptimizerConfig::fastai_adam(1e-3),
            other => OptimizerConfig::by_name(&format!("{other:?}").to_ascii_lowercase())?,
        };
        if let Some(lr) = self.lr_slice()? {
            cfg = cfg.with_lr(lr.stop());
        }
        match &mut cfg {
            OptimizerConfig::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                *momentum = self.momentum.unwrap_or(0.0);
                *nesterov = self.nesterov;
                *weight_decay = self.weight_decay.unwrap_or(0.0);
            }
            OptimizerConfig::RmsProp {
                momentum, weight_decay, ..
            } => {
                *momentum = self.momentum.unwrap_or(0.0);
                *weight_decay = self.weight_decay.unwrap_or(0.0);
            }
            OptimizerConfig::Adam { weight_decay, .. } | OptimizerConfig::Nadam { weight_decay, .. } => {
                *weight_decay = self.weight_decay.unwrap_or(0.0);
            }
            OptimizerConfig::AdamW { weight_decay, .. } => {
                if let Some(wd) = self.weight_decay {
                    *weight_decay = wd;
                }
            }
        }
        if self.momentum.is_some() && !matches!(arg, OptimizerArg::Sgd | OptimizerArg::Rmsprop) {
            bail!("--momentum applies to sgd and rmsprop only");
        }
        if self.nesterov && arg != OptimizerArg::Sgd {
            bail!("--nesterov applies to sgd only");
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// The schedule asked for, or the recipe's; `epochs` is the resolved count.
    pub fn schedule(&self, recipe: striate::zoo::Recipe, epochs: usize) -> Result<Option<LrSchedule>> {
        let Some(s) = &self.schedule else {
            return Ok(striate::run::plan::recipe_schedule(&recipe, epochs));
        };
        let parts: Vec<&str> = s.split(':').collect();
        let num = |i: usize, what: &str| -> Result<f64> {
            parts
                .get(i)
                .with_context(|| format!("--schedule {s}: missing {what}"))?
                .parse::<f64>()
                .with_context(|| format!("--schedule {s}: {what} is not a number"))
        };
        let sched = match parts[0] {
            "none" => return Ok(None),
            "cosine" => LrSchedule::Cosine {
                t_max: epochs.max(1),
                eta_min: 0.0,
            },
            "step" => LrSchedule::Step {
                step_size: num(1, "step size")? as usize,
                gamma: num(2, "gamma")?,
            },
            "exp" => LrSchedule::Exponential {
                gamma: num(1, "gamma")?,
            },
            "plateau" => LrSchedule::Plateau {
                monitor: self.monitor.clone(),
                patience: num(1, "patience")? as usize,
                factor: num(2, "factor")?,
                min_lr: 0.0,
                min_delta: 0.0,
                cooldown: 0,
                rule: striate::optim::PlateauRule::Torch,
            },
            other => bail!("--schedule {other:?}: use cosine, step:EPOCHS:GAMMA, exp:GAMMA or plateau:PATIENCE:FACTOR"),
        };
        Ok(Some(sched))
    }

    pub fn loss(&self) -> LossConfig {
        match self.loss {
            LossArg::CrossEntropy => LossConfig {
                label_smoothing: self.label_smoothing,
                ..LossConfig::cross_entropy()
            },
            LossArg::Bce => LossConfig {
                name: "binary_cross_entropy".into(),
                ..Default::default()
            },
        }
    }

    pub fn early_stopping(&self) -> Option<EarlyStopping> {
        self.early_stopping
            .map(|p| EarlyStopping::new(self.monitor.clone(), p).restore_best())
    }
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Run directory written by `striate train`.
    #[arg(long, short)]
    pub run: PathBuf,
    /// Data to evaluate on (default: the run's test data).
    #[arg(long, short)]
    pub data: Option<String>,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the metrics to this JSON file.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Signal efficiencies at which to report the background rejection 1/εB.
    #[arg(long, value_delimiter = ',', default_values_t = [0.3, 0.5])]
    pub signal_efficiency: Vec<f64>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Run directory written by `striate train`.
    #[arg(long, short)]
    pub run: PathBuf,
    /// Data to predict (labels are not needed).
    #[arg(long, short)]
    pub data: String,
    /// Output file: .csv (default: stdout) or .npy (probabilities as float32 [n, classes]).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Args, Debug)]
pub struct FilterArgs {
    /// A PNG/JPEG image, read as matplotlib's imread does (PNG values in [0, 1]),
    /// or a 1-D signal (.npy, .csv or .txt numbers) filtered as np.convolve/np.correlate.
    pub input: PathBuf,
    /// Kernel: sobel3-horizontal, sobel3-vertical, sobel7-horizontal, sobel7-vertical,
    /// edge-horizontal, edge-vertical, gaussian, box, laplacian, sharpen.
    #[arg(long, short, required_unless_present = "kernel_file")]
    pub kernel: Option<String>,
    /// A kernel from a CSV (one row per line) or 2-D .npy file.
    #[arg(long, conflicts_with = "kernel")]
    pub kernel_file: Option<PathBuf>,
    /// Kernel size (odd) for edge-*, gaussian and box.
    #[arg(long)]
    pub size: Option<usize>,
    /// Standard deviation of the gaussian kernel.
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Output window, as scipy.signal.convolve2d.
    #[arg(long, value_enum, default_value_t = FilterMode::Full)]
    pub mode: FilterMode,
    /// What lies beyond the image's edges.
    #[arg(long, value_enum, default_value_t = BoundaryArg::Fill)]
    pub boundary: BoundaryArg,
    /// Value outside the image with --boundary fill.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub fill_value: f64,
    /// Correlate (no kernel flip, as CNN layers do) instead of convolving.
    #[arg(long)]
    pub correlate: bool,
    /// How colour becomes grey: the sum of R, G, B (as the course), their mean, or luma.
    #[arg(long, value_enum, default_value_t = GrayArg::Sum)]
    pub gray: GrayArg,
    /// PNG intensity mapping: min–max, symmetric around zero (signed edges) or absolute value.
    #[arg(long, value_enum, default_value_t = NormalizeArg::Minmax)]
    pub normalize: NormalizeArg,
    /// PNG colours.
    #[arg(long, value_enum, default_value_t = ColormapArg::Gray)]
    pub colormap: ColormapArg,
    /// Output files: .png (images), .npy (exact float64 values), .csv (signals); repeatable.
    #[arg(long, short, required = true)]
    pub out: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PixelateArgs {
    /// Constituents: a pandas HDF5 file or Parquet table in the Top Quark Tagging layout
    /// (or a folder of Parquet shards as the Hugging Face Hub lays out dl4phys/top_tagging),
    /// .npy ([n, particles, 4|5] or [n, 4·particles]) or .csv with E_0, PX_0, … columns.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Pixels per side.
    #[arg(long, default_value_t = 33)]
    pub npix: usize,
    /// Image width in rapidity and azimuth (EnergyFlow's img_width).
    #[arg(long, default_value_t = 0.8, allow_hyphen_values = true)]
    pub width: f64,
    /// Channels: pt, pt,counts or pt,charged (charged counts need PDG ids).
    #[arg(long, default_value = "pt")]
    pub channels: String,
    /// Jet axis for centring.
    #[arg(long, value_enum, default_value_t = CentreArg::Escheme)]
    pub centre: CentreArg,
    /// Do not rotate the principal axis to vertical.
    #[arg(long)]
    pub no_rotate: bool,
    /// Do not reflect the jet so that most pt is at positive y and phi.
    #[arg(long)]
    pub no_reflect: bool,
    /// Normalise each image's pt channel to sum to 1.
    #[arg(long)]
    pub norm: bool,
    /// Output: .npy (images, and labels in <stem>_labels.npy) or .h5 (datasets images, labels).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub overwrite: bool,
    /// Only the first N jets.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Pixel type: f32, f16 (half the size, ~3 significant digits) or u8 (round(255·pt fraction);
    /// needs --norm with --channels pt; read back ×1/255).
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    pub dtype: DtypeArg,
    /// Compression of an .h5 output's images: lzf (h5py's LZF filter; files several times smaller)
    /// or none (larger; nothing to decompress when training streams them). .npy is never compressed.
    #[arg(long, value_enum, default_value_t = CompressionArg::Lzf)]
    pub compression: CompressionArg,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DtypeArg {
    #[default]
    F32,
    F16,
    U8,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CompressionArg {
    #[default]
    Lzf,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CentreArg {
    Escheme,
    Ptscheme,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterMode {
    Full,
    Same,
    Valid,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundaryArg {
    Fill,
    Wrap,
    Symm,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrayArg {
    Sum,
    Mean,
    Luma,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormalizeArg {
    Minmax,
    Symmetric,
    Abs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColormapArg {
    Gray,
    Rdbu,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// A file, a folder or builtin:NAME.
    pub data: String,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// A shape given on the command line. A newtype, not `Vec<usize>`: clap
/// treats an `Option<Vec<T>>` field as a list of `T` values and panics when
/// the parser returns the whole vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

/// `1,28,28` → `[1, 28, 28]`.
pub fn parse_shape(s: &str) -> std::result::Result<Shape, String> {
    parse_dims(s).map(Shape)
}

/// `1,28,28` → `[1, 28, 28]`: positive dimensions whose product fits.
fn parse_dims(s: &str) -> std::result::Result<Vec<usize>, String> {
    let dims: std::result::Result<Vec<usize>, _> = s.split([',', 'x']).map(|d| d.trim().parse::<usize>()).collect();
    match dims {
        Ok(d) if !d.is_empty() && !d.contains(&0) => {
            if striate::tensor::checked_numel(&d).is_none() {
                return Err(format!("{s:?} has more elements than a computer can address"));
            }
            Ok(d)
        }
        _ => Err(format!("{s:?} is not a shape like 1,28,28")),
    }
}

/// `8G`, `512M`, `1.5GiB` or bytes → bytes.
pub fn parse_memory(s: &str) -> std::result::Result<u64, String> {
    striate::budget::parse_bytes(s).ok_or_else(|| format!("{s:?} is not a size like 8G or 512M"))
}

/// `32x32` (or `32`) → `[32, 32]`.
fn parse_augment(s: &str) -> std::result::Result<Augment, String> {
    s.parse().map_err(|e: striate::Error| e.to_string())
}

fn parse_minutes(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(m) if m.is_finite() && (0.0..=1e6).contains(&m) => Ok(m),
        _ => Err(format!("{s:?} is not a number of minutes from 0 to 1000000")),
    }
}

fn parse_normalize(s: &str) -> std::result::Result<Normalize, String> {
    s.parse().map_err(|e: striate::Error| e.to_string())
}

pub fn parse_hw(s: &str) -> std::result::Result<[usize; 2], String> {
    let d = parse_dims(s)?;
    match *d.as_slice() {
        [n] => Ok([n, n]),
        [h, w] => Ok([h, w]),
        _ => Err(format!("{s:?} is not a size like 32x32")),
    }
}
