//! striate's integration tests, one binary with a module per concern.

mod architecture;
mod atomic;
mod cli;
mod common;
mod filters;
mod gradcheck;
mod jets;
mod kernel_paths;
mod metrics;
mod model_build;
mod real_data;
mod recipes;
mod regression;
mod series;
mod torch_ref;
mod train_smoke;
mod weights_io;
