//! # striate
//!
//! Convolutional neural networks in Rust, end to end: convolution and its
//! gradients, the layers of the course material, losses, optimizers, a
//! Sequential model with shape inference and a Keras-style summary, and a
//! training loop — all written here, agreeing with PyTorch.
//!
//! Models train in `f32`; the same code runs in `f64` for gradient checks
//! (see [`Scalar`]).
//!
//! ## Modules, lowest layer first
//! Each module uses only the ones listed before it (`tests/it/architecture.rs`
//! checks this).
//! - [`error`], [`scalar`], [`rng`], [`atomic`]: the error enum, `f32`/`f64`
//!   genericity, the seeded generator, crash-safe file writes
//! - [`tensor`]: the tensor type and shape arithmetic
//! - [`budget`]: checked size arithmetic and the memory limit (`--max-memory`)
//! - [`metrics`]: accuracy, confusion matrix, classification report, ROC, 1/εB
//! - [`io`]: every file format once (NPY/NPZ, HDF5, IDX, CSV, images/PNG, safetensors, PyTorch .pth, f16)
//! - [`kernels`]: every bulk loop — GEMM, im2col, the conv driver, pooling,
//!   the scalar reference oracle (the only `unsafe` code)
//! - [`ops`]: hyper-parameters, validation and forward/backward wrappers
//! - [`filter`]: fixed-kernel convolution with SciPy/NumPy semantics, named kernels, images
//! - [`init`]: PyTorch and Glorot initialisation
//! - [`layers`]: layers with parameters and forward/backward passes
//! - [`model`]: `Sequential`, model specs and the summary table
//! - [`zoo`]: built-in models (course models, LeNet-5, VGG, ResNet, FCN; torchvision's ResNet-34/50, AlexNet, VGG-16) and their recipes
//! - [`weights`]: a model's state with PyTorch parameter names: safetensors and `torch.save` checkpoints
//! - [`transfer`]: fastai's transfer learning: stem adaptation, body cut, head, layer groups
//! - [`optim`]: SGD, Adam, AdamW, RMSprop, Nadam and learning-rate schedules
//! - [`data`]: data sets, preprocessing and one loader per source format
//! - [`train`]: the training loop, history, early stopping, callbacks, evaluation
//! - [`jets`]: four-vectors to jet images (EnergyFlow's recipe), the built-in jet generator
//! - [`sources`]: every data spec striate accepts (data's formats plus jets'), detected and read
//! - [`report`]: charts (SVG and PNG) and the HTML page, from plain numbers
//! - [`run`]: run directories from plan to report: manifest, checkpoints, metrics, charts

pub mod atomic;
pub mod budget;
pub mod data;
pub mod error;
pub mod filter;
pub mod init;
pub mod io;
pub mod jets;
#[allow(unsafe_code)] // The one home of `unsafe`; each block has a SAFETY note.
pub mod kernels;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod optim;
pub mod report;
pub mod rng;
pub mod run;
pub mod scalar;
pub mod sources;
pub mod tensor;
pub mod train;
pub mod transfer;
pub mod weights;
pub mod zoo;

pub use error::{Error, Result};
pub use model::{Sequential, Summary};
pub use scalar::Scalar;
pub use tensor::Tensor;
