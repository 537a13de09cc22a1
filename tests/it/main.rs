//! striate's integration tests, one binary with a module per concern.

mod architecture;
mod atomic;
mod cli;
mod common;
mod crash_resume;
mod filters;
mod gradcheck;
mod hostile;
mod jets;
mod kernel_paths;
mod limits;
mod metrics;
mod model_build;
mod real_data;
mod regression;
mod reports;
mod series;
mod torch_ref;
mod train_smoke;
mod weights_io;
