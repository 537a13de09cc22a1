//! `BatchNorm1d` and `BatchNorm2d`.

use serde::{Deserialize, Serialize};

use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta, Param, layer_state};
use crate::error::{Error, Result};
use crate::kernels::grads::BackwardIn;
use crate::ops::norm::{self, NormDims};
use crate::scalar::{Scalar, is_positive};
use crate::tensor::{Tensor, numel};

/// Batch normalisation settings, PyTorch's defaults (`eps = 1e-5`,
/// `momentum = 0.1`; note Keras's `momentum = 0.99` means `1 − 0.99` here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchNormConfig {
    /// Added to the variance before the square root.
    pub eps: f64,
    /// Weight of the new batch in the running statistics.
    pub momentum: f64,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            eps: 1e-5,
            momentum: 0.1,
        }
    }
}

impl BatchNormConfig {
    /// `BatchNorm2d` over `[c, h, w]` inputs.
    pub fn init_2d<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<BatchNorm<T>> {
        if ctx.input.len() != 3 {
            return Err(Error::shape(
                Kind::BatchNorm2d.display_name(),
                "[channels, height, width] input",
                ctx.input,
            ));
        }
        self.build(ctx, Kind::BatchNorm2d)
    }

    /// `BatchNorm1d` over `[features]` or `[channels, length]` inputs.
    pub fn init_1d<T: Scalar>(&self, ctx: BuildCtx<'_>) -> Result<BatchNorm<T>> {
        if !(1..=2).contains(&ctx.input.len()) {
            return Err(Error::shape(
                Kind::BatchNorm1d.display_name(),
                "[features] or [channels, length] input",
                ctx.input,
            ));
        }
        self.build(ctx, Kind::BatchNorm1d)
    }

    fn build<T: Scalar>(&self, ctx: BuildCtx<'_>, kind: Kind) -> Result<BatchNorm<T>> {
        if !is_positive(self.eps) || !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::invalid(
                "batch norm",
                format!(
                    "eps = {} must be positive and momentum = {} in [0, 1]",
                    self.eps, self.momentum
                ),
            ));
        }
        let c = ctx.input[0];
        Ok(BatchNorm {
            meta: ctx.meta(kind, ctx.input.to_vec()),
            c,
            s: numel(&ctx.input[1..]),
            eps: self.eps,
            momentum: self.momentum,
            gamma: Param::new(Tensor::full(&[c], T::one())),
            beta: Param::new(Tensor::zeros(&[c])),
            running_mean: Tensor::zeros(&[c]),
            running_var: Tensor::full(&[c], T::one()),
            num_batches_tracked: Tensor::zeros(&[]),
            mean: vec![T::zero(); c],
            inv_std: vec![T::zero(); c],
            var_unbiased: vec![T::zero(); c],
            used_batch_stats: false,
            fold_scale: Vec::new(),
            fold_shift: Vec::new(),
        })
    }
}

/// Batch normalisation over the channel axis, with running statistics.
///
/// Training normalises with batch statistics and updates the running ones;
/// evaluation uses the running ones. A training batch with a single value
/// per channel (PyTorch raises an error) normalises to `beta` and leaves the
/// running statistics untouched.
///
/// # Shapes
/// output shape = input shape; `weight`, `bias`, `running_mean`,
/// `running_var`: `[c]`; `num_batches_tracked`: `[]`.
pub struct BatchNorm<T: Scalar> {
    meta: LayerMeta,
    c: usize,
    s: usize,
    eps: f64,
    momentum: f64,
    gamma: Param<T>,
    beta: Param<T>,
    running_mean: Tensor<T>,
    running_var: Tensor<T>,
    num_batches_tracked: Tensor<T>,
    // Statistics of the last forward pass, for backward.
    mean: Vec<T>,
    inv_std: Vec<T>,
    var_unbiased: Vec<T>,
    used_batch_stats: bool,
    /// Evaluation mode as `x · scale + shift` per channel, for folding into
    /// a convolution (see [`BatchNorm::folded`]).
    fold_scale: Vec<T>,
    fold_shift: Vec<T>,
}

impl<T: Scalar> BatchNorm<T> {
    /// Evaluation mode as a per-channel `(scale, shift)`, the same numbers
    /// `normalize` uses: `y = x · scale + shift` with
    /// `scale = gamma / √(running_var + eps)`, `shift = beta − running_mean · scale`.
    /// With a preceding `bias`, `(x + bias) · scale + shift` is folded into
    /// the shift. For a convolution's epilogue in inference.
    pub(super) fn folded(&mut self, bias: Option<&[T]>) -> (&[T], &[T]) {
        let (gamma, beta) = (self.gamma.value.data(), self.beta.value.data());
        let (mean, var) = (self.running_mean.data(), self.running_var.data());
        self.fold_scale.resize(self.c, T::zero());
        self.fold_shift.resize(self.c, T::zero());
        for ci in 0..self.c {
            let inv_std = T::lit(1.0 / (var[ci].f64() + self.eps).sqrt());
            let scale = gamma[ci] * inv_std;
            let b = bias.map_or(T::zero(), |b| b[ci] * scale);
            self.fold_scale[ci] = scale;
            self.fold_shift[ci] = beta[ci] - mean[ci] * scale + b;
        }
        (&self.fold_scale, &self.fold_shift)
    }

    fn dims(&self, n: usize) -> NormDims {
        NormDims {
            n,
            c: self.c,
            s: self.s,
        }
    }
}

impl<T: Scalar> Layer<T> for BatchNorm<T> {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, ctx: &mut ForwardCtx<'_>) {
        y.resize_for(x.shape());
        let d = self.dims(x.batch());
        self.used_batch_stats = ctx.train;
        let inp = norm::NormIn {
            x: x.data(),
            gamma: self.gamma.value.data(),
            beta: self.beta.value.data(),
        };
        if ctx.train {
            let stats = norm::BatchStatsOut {
                mean: &mut self.mean,
                inv_std: &mut self.inv_std,
                var_unbiased: &mut self.var_unbiased,
            };
            norm::batch_norm_train_forward(d, self.eps, inp, y.data_mut(), stats);
            if d.count() > 1 {
                let m = T::lit(self.momentum);
                let keep = T::one() - m;
                let rm = self.running_mean.data_mut().iter_mut().zip(&self.mean);
                rm.for_each(|(r, &v)| *r = keep * *r + m * v);
                let rv = self.running_var.data_mut().iter_mut().zip(&self.var_unbiased);
                rv.for_each(|(r, &v)| *r = keep * *r + m * v);
                self.num_batches_tracked.data_mut()[0] += T::one();
            }
        } else {
            self.mean.copy_from_slice(self.running_mean.data());
            let running = norm::RunningStats {
                mean: self.running_mean.data(),
                var: self.running_var.data(),
            };
            norm::batch_norm_eval_forward(d, self.eps, inp, running, y.data_mut(), &mut self.inv_std);
        }
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let d = self.dims(x.batch());
        let dx = dx.map(|dx| {
            dx.resize_for(x.shape());
            dx.data_mut()
        });
        let inp = BackwardIn {
            x: x.data(),
            w: self.gamma.value.data(),
            dy: dy.data(),
        };
        let stats = norm::UsedStats {
            mean: &self.mean,
            inv_std: &self.inv_std,
            from_batch: self.used_batch_stats,
        };
        let grads = norm::NormGrads {
            d_input: dx,
            d_gamma: self.gamma.grad.data_mut(),
            d_beta: self.beta.grad.data_mut(),
        };
        norm::batch_norm_backward(d, inp, stats, grads);
    }

    layer_state! {
        param "weight" => gamma,
        param "bias" => beta,
        buffer "running_mean" => running_mean,
        buffer "running_var" => running_var,
        buffer "num_batches_tracked" => num_batches_tracked,
    }
}
