//! Parameter initialisation.
//!
//! - [`Init::Torch`] (default): PyTorch's `Conv*d`/`Linear` default,
//!   `kaiming_uniform_(a = √5)`, i.e. `U(−1/√fan_in, 1/√fan_in)` for weights
//!   and the same bound for biases.
//! - [`Init::Glorot`]: Keras's default, `U(−√(6/(fan_in + fan_out)), …)` for
//!   weights and zero biases.
//! - [`Init::KaimingNormal`]: torchvision's ResNet init, `N(0, 2/fan_out)` for
//!   weights and zero biases.
//!
//! `fan_in = c_in/groups · k_h · k_w` and `fan_out = c_out/groups · k_h · k_w`
//! for convolutions (`in` and `out` features for dense layers), as PyTorch.
//! Batch-norm scales start at 1 and shifts at 0 under every scheme.

use serde::{Deserialize, Serialize};

use crate::rng::SeededRng;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// How weights and biases are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// PyTorch's default, `U(−1/√fan_in, 1/√fan_in)` for weights and biases (the default).
    #[default]
    Torch,
    /// Keras's default (Glorot/Xavier uniform): `U(−√(6/(fan_in + fan_out)), …)` weights, zero biases.
    Glorot,
    /// torchvision's ResNet init (`kaiming_normal_(mode="fan_out")`): `N(0, 2/fan_out)` weights, zero biases.
    KaimingNormal,
}

impl Init {
    /// The scheme's name as spelt in model files: `torch`, `glorot` or `kaiming_normal`.
    pub fn name(&self) -> &'static str {
        match self {
            Init::Torch => "torch",
            Init::Glorot => "glorot",
            Init::KaimingNormal => "kaiming_normal",
        }
    }

    /// A weight tensor of `shape`.
    pub fn weight<T: Scalar>(&self, shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut SeededRng) -> Tensor<T> {
        match self {
            Init::Torch => {
                let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
                Tensor::from_fn(shape, |_| T::lit(rng.uniform_range(-bound, bound)))
            }
            Init::Glorot => {
                let bound = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
                Tensor::from_fn(shape, |_| T::lit(rng.uniform_range(-bound, bound)))
            }
            Init::KaimingNormal => {
                let std = (2.0 / fan_out.max(1) as f64).sqrt();
                Tensor::from_fn(shape, |_| T::lit(std * rng.normal()))
            }
        }
    }

    /// A bias vector of `len`.
    pub fn bias<T: Scalar>(&self, len: usize, fan_in: usize, rng: &mut SeededRng) -> Tensor<T> {
        match self {
            Init::Torch => {
                let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
                Tensor::from_fn(&[len], |_| T::lit(rng.uniform_range(-bound, bound)))
            }
            Init::Glorot | Init::KaimingNormal => Tensor::zeros(&[len]),
        }
    }
}
