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
//! ## Modules
//! - [`tensor`]: the tensor type and shape arithmetic
//! - [`ops`]: convolution, pooling, dense, activations, batch norm, losses
//! - [`kernels`]: GEMM and scalar reference kernels (the only `unsafe` code)
//! - [`layers`]: layers with parameters and forward/backward passes
//! - [`model`]: `Sequential`, model specs and the summary table
//! - [`init`]: PyTorch and Glorot initialisation
//! - [`optim`]: SGD, Adam, AdamW, RMSprop, Nadam
//! - [`train`]: the training loop, history, early stopping, callbacks
//! - [`metrics`]: accuracy, confusion matrix, classification report
//! - [`weights`]: safetensors and `torch.save` checkpoints with PyTorch parameter names
//! - [`transfer`]: fastai's transfer learning: stem adaptation, body cut, head, layer groups
//! - [`filter`]: fixed-kernel convolution with SciPy/NumPy semantics, named kernels, images
//! - [`jets`]: four-vectors to jet images (EnergyFlow's recipe), the built-in jet generator
//! - [`zoo`]: built-in models (course models, LeNet-5, VGG, ResNet, FCN; torchvision's ResNet-34/50, AlexNet, VGG-16)
//! - [`io`]: every file format once (NPY/NPZ, HDF5, IDX, CSV, images/PNG, safetensors, PyTorch .pth, f16)
//! - [`data`]: data sets, preprocessing and one loader per source format
//! - [`sources`]: every data spec striate accepts (data's formats plus jets'), detected and read
//! - [`atomic`]: crash-safe file writes
//! - [`run`]: run directories: manifest, checkpoints, metrics
//! - [`report`]: charts (SVG and PNG) and the HTML report

pub mod atomic;
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
