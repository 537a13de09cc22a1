//! Adaptive pooling to a fixed output size (`nn.AdaptiveAvgPool2d`,
//! `nn.AdaptiveMaxPool2d`) and fastai's `AdaptiveConcatPool2d`.

use serde::{Deserialize, Serialize};

use super::serde_util::pair;
use super::{BuildCtx, ForwardCtx, Kind, Layer, LayerMeta};
use crate::error::{Error, Result};
use crate::kernels::pool;
use crate::ops::pool::PoolKind;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Adaptive pooling to `output = [out_h, out_w]` with PyTorch's windows:
/// output row `i` pools input rows `⌊i·h/out_h⌋ .. ⌈(i+1)·h/out_h⌉`.
///
/// # Shapes
/// input `[c, h, w]`, output `[c, out_h, out_w]`; the concat form (fastai's
/// `AdaptiveConcatPool2d`: max, then average, along channels) gives
/// `[2·c, out_h, out_w]`. An output larger than the input repeats pixels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptivePool2dConfig {
    /// `[out_h, out_w]`, or one number for both; 1 when absent.
    #[serde(with = "pair", default = "one_by_one")]
    pub output: [usize; 2],
}

fn one_by_one() -> [usize; 2] {
    [1, 1]
}

impl Default for AdaptivePool2dConfig {
    fn default() -> Self {
        AdaptivePool2dConfig { output: [1, 1] }
    }
}

impl AdaptivePool2dConfig {
    /// Pooling to `out_h × out_w`.
    pub fn new(output: [usize; 2]) -> Self {
        AdaptivePool2dConfig { output }
    }

    /// Builds the layer: `kind` is [`Kind::AdaptiveAvgPool2d`],
    /// [`Kind::AdaptiveMaxPool2d`] or [`Kind::AdaptiveConcatPool2d`].
    pub fn init<T: Scalar>(&self, kind: Kind, ctx: BuildCtx<'_>) -> Result<AdaptivePool<T>> {
        let &[c, h, w] = ctx.input else {
            return Err(Error::shape(
                kind.display_name(),
                "[channels, height, width] input",
                ctx.input,
            ));
        };
        let [out_h, out_w] = self.output;
        if out_h == 0 || out_w == 0 {
            return Err(Error::invalid(kind.display_name(), "the output size must be positive"));
        }
        let reductions = match kind {
            Kind::AdaptiveAvgPool2d => vec![PoolKind::Avg],
            Kind::AdaptiveMaxPool2d => vec![PoolKind::Max],
            Kind::AdaptiveConcatPool2d => vec![PoolKind::Max, PoolKind::Avg],
            other => return Err(Error::invalid(other.display_name(), "is not an adaptive pooling layer")),
        };
        let out = vec![c * reductions.len(), out_h, out_w];
        Ok(AdaptivePool {
            meta: ctx.meta(kind, out),
            reductions,
            c,
            hw: [h, w],
            out_hw: self.output,
            argmax: Vec::new(),
            _marker: std::marker::PhantomData,
        })
    }
}

/// An adaptive pooling layer; see [`AdaptivePool2dConfig`].
pub struct AdaptivePool<T: Scalar> {
    meta: LayerMeta,
    /// One block of `c` output channels per reduction, in this order.
    reductions: Vec<PoolKind>,
    c: usize,
    hw: [usize; 2],
    out_hw: [usize; 2],
    argmax: Vec<u32>,
    _marker: std::marker::PhantomData<T>,
}

impl<T: Scalar> AdaptivePool<T> {
    /// Elements of one reduction's block of one sample's output.
    fn block(&self) -> usize {
        self.c * self.out_hw[0] * self.out_hw[1]
    }
}

impl<T: Scalar> Layer<T> for AdaptivePool<T> {
    fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    fn forward(&mut self, x: &Tensor<T>, y: &mut Tensor<T>, _ctx: &mut ForwardCtx<'_>) {
        y.resize_batch(x.batch(), &self.meta.output_shape);
        if self.argmax.len() < y.len() {
            self.argmax.resize(y.len(), 0);
        }
        let (block, il) = (self.block(), self.c * self.hw[0] * self.hw[1]);
        let out_blocks = y
            .data_mut()
            .chunks_exact_mut(block)
            .zip(self.argmax.chunks_exact_mut(block));
        for (i, (yb, ab)) in out_blocks.enumerate() {
            let (sample, r) = (i / self.reductions.len(), i % self.reductions.len());
            let xs = &x.data()[sample * il..(sample + 1) * il];
            pool::adaptive_pool2d_forward(self.reductions[r], self.c, self.hw, self.out_hw, xs, yb, ab);
        }
    }

    fn backward(&mut self, x: &Tensor<T>, _y: &Tensor<T>, dy: &Tensor<T>, dx: Option<&mut Tensor<T>>) {
        let Some(dx) = dx else { return };
        dx.resize_for(x.shape());
        let (block, il) = (self.block(), self.c * self.hw[0] * self.hw[1]);
        let k = self.reductions.len();
        let mut part = vec![T::zero(); il];
        for (sample, dxs) in dx.data_mut().chunks_exact_mut(il).enumerate() {
            dxs.fill(T::zero());
            for (r, &kind) in self.reductions.iter().enumerate() {
                let at = (sample * k + r) * block;
                let (dyb, ab) = (&dy.data()[at..at + block], &self.argmax[at..at + block]);
                pool::adaptive_pool2d_backward(kind, self.c, self.hw, self.out_hw, dyb, ab, &mut part);
                dxs.iter_mut().zip(&part).for_each(|(d, &p)| *d += p);
            }
        }
    }
}
