//! Loss functions with their gradients, PyTorch's definitions and mean
//! reduction.
//!
//! Each function returns the loss and, when asked, overwrites `grad` with
//! `dL/dlogits` in the same pass. Sums accumulate in `f64`.

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// What a batch's outputs are compared with.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a, T: Scalar> {
    /// One class index per sample.
    Classes(&'a [u32]),
    /// One real value per output element (same shape as the outputs).
    Values(&'a [T]),
}

/// A training objective.
#[derive(Clone, Debug, PartialEq)]
pub enum Loss {
    /// Cross-entropy of softmax(logits) with integer labels
    /// (`nn.CrossEntropyLoss`), optionally with per-class weights and label
    /// smoothing ε: the target becomes `(1 − ε)·onehot + ε / C`.
    CrossEntropy {
        /// Weight of each class in the mean; `None` weighs all alike.
        class_weights: Option<Vec<f64>>,
        /// ε of the smoothed target, in `[0, 1)`.
        label_smoothing: f64,
    },
    /// Binary cross-entropy of sigmoid(logits) (`nn.BCEWithLogitsLoss`),
    /// with an optional weight for positives per output. Takes real targets,
    /// or class labels 0/1 when the model has one output.
    BinaryCrossEntropy {
        /// Weight of positive targets per output; `None` weighs them as negatives.
        pos_weight: Option<Vec<f64>>,
    },
    /// Mean squared error (`nn.MSELoss`).
    MeanSquaredError,
}

impl Default for Loss {
    fn default() -> Self {
        Loss::cross_entropy()
    }
}

impl Loss {
    /// Plain cross-entropy, no weights or smoothing.
    pub fn cross_entropy() -> Self {
        Loss::CrossEntropy {
            class_weights: None,
            label_smoothing: 0.0,
        }
    }

    /// The loss's name in configs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::CrossEntropy { .. } => "cross_entropy",
            Loss::BinaryCrossEntropy { .. } => "binary_cross_entropy",
            Loss::MeanSquaredError => "mse",
        }
    }

    /// True when the loss compares with class labels.
    pub fn wants_classes(&self) -> bool {
        !matches!(self, Loss::MeanSquaredError)
    }

    /// Loss of `outputs` `(n, k)` against `targets`; writes `dL/doutputs`
    /// into `grad` (resized to the outputs' shape) when given.
    pub fn compute<T: Scalar>(
        &self,
        outputs: &Tensor<T>,
        targets: Targets<'_, T>,
        grad: Option<&mut Tensor<T>>,
    ) -> Result<f64> {
        let n = outputs.batch();
        let k = outputs.item_len();
        let grad = grad.map(|g| {
            g.resize_for(outputs.shape());
            g.data_mut()
        });
        let w = |v: &Option<Vec<f64>>, what: &str| -> Result<Option<Vec<T>>> {
            match v {
                Some(v) if v.len() != k => Err(Error::invalid(
                    format!("{} {what}", self.name()),
                    format!("{} values given for {k} outputs", v.len()),
                )),
                Some(v) => Ok(Some(v.iter().map(|&x| T::lit(x)).collect())),
                None => Ok(None),
            }
        };
        match (self, targets) {
            (
                Loss::CrossEntropy {
                    class_weights,
                    label_smoothing,
                },
                Targets::Classes(labels),
            ) => {
                check_len("cross_entropy labels", n, labels.len())?;
                let weights = w(class_weights, "class weights")?;
                cross_entropy(n, k, outputs.data(), labels, weights.as_deref(), *label_smoothing, grad)
            }
            (Loss::BinaryCrossEntropy { pos_weight }, Targets::Values(t)) => {
                check_len("binary_cross_entropy targets", n * k, t.len())?;
                let pw = w(pos_weight, "pos_weight")?;
                Ok(bce_with_logits(
                    n,
                    k,
                    outputs.data(),
                    |i| t[i].f64(),
                    pw.as_deref(),
                    grad,
                ))
            }
            (Loss::BinaryCrossEntropy { pos_weight }, Targets::Classes(labels)) => {
                if k != 1 {
                    return Err(Error::invalid(
                        "binary_cross_entropy",
                        format!("class labels need a model with 1 output, this one has {k}"),
                    ));
                }
                check_len("binary_cross_entropy labels", n, labels.len())?;
                if let Some(i) = labels.iter().position(|&l| l > 1) {
                    return Err(Error::LabelOutOfRange {
                        sample: i,
                        label: labels[i] as i64,
                        n_classes: 2,
                    });
                }
                let pw = w(pos_weight, "pos_weight")?;
                Ok(bce_with_logits(
                    n,
                    1,
                    outputs.data(),
                    |i| labels[i] as f64,
                    pw.as_deref(),
                    grad,
                ))
            }
            (Loss::MeanSquaredError, Targets::Values(t)) => {
                check_len("mse targets", n * k, t.len())?;
                Ok(mse(outputs.data(), t, grad))
            }
            (loss, Targets::Classes(_)) => Err(Error::invalid(
                loss.name(),
                "needs real-valued targets, got class labels",
            )),
            (loss, Targets::Values(_)) => Err(Error::invalid(
                loss.name(),
                "needs class labels, got real-valued targets",
            )),
        }
    }
}

fn check_len(what: &str, expected: usize, actual: usize) -> Result<()> {
    if expected != actual {
        return Err(Error::invalid(
            what,
            format!("expected {expected} values, got {actual}"),
        ));
    }
    Ok(())
}

/// Cross-entropy from logits `(n, c)` with labels, mean-reduced as PyTorch:
/// with class weights the sum is divided by `Σ_i w[y_i]`, and label smoothing
/// adds `ε/C · Σ_c −w_c·log p_c` per sample under the same divisor.
pub fn cross_entropy<T: Scalar>(
    n: usize,
    c: usize,
    logits: &[T],
    labels: &[u32],
    weights: Option<&[T]>,
    smoothing: f64,
    mut grad: Option<&mut [T]>,
) -> Result<f64> {
    if let Some(i) = labels.iter().position(|&l| l as usize >= c) {
        return Err(Error::LabelOutOfRange {
            sample: i,
            label: labels[i] as i64,
            n_classes: c,
        });
    }
    let wt = |j: usize| weights.map_or(1.0, |w| w[j].f64());
    let sum_w_all: f64 = (0..c).map(wt).sum();
    let denom: f64 = labels.iter().map(|&l| wt(l as usize)).sum();
    if n == 0 || denom == 0.0 {
        if let Some(g) = grad {
            g.fill(T::zero());
        }
        return Ok(if n == 0 { 0.0 } else { f64::NAN });
    }
    let eps_c = smoothing / c as f64;
    let mut total = 0.0;
    for (i, (z, &label)) in logits.chunks_exact(c).zip(labels).enumerate() {
        let y = label as usize;
        let max = z.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.f64()));
        let sum_exp: f64 = z.iter().map(|v| (v.f64() - max).exp()).sum();
        let lse = max + sum_exp.ln();
        let nll = -wt(y) * (z[y].f64() - lse);
        let smooth = if smoothing > 0.0 {
            -(0..c).map(|j| wt(j) * (z[j].f64() - lse)).sum::<f64>()
        } else {
            0.0
        };
        total += (1.0 - smoothing) * nll + eps_c * smooth;
        if let Some(g) = grad.as_deref_mut() {
            for (j, gj) in g[i * c..(i + 1) * c].iter_mut().enumerate() {
                let p = (z[j].f64() - lse).exp();
                let hard = wt(y) * (p - if j == y { 1.0 } else { 0.0 });
                let soft = p * sum_w_all - wt(j);
                *gj = T::lit(((1.0 - smoothing) * hard + eps_c * soft) / denom);
            }
        }
    }
    Ok(total / denom)
}

/// Binary cross-entropy with logits over `n·k` elements, mean-reduced:
/// `ℓ = (1 − t)·x + (1 + (pw − 1)·t)·softplus(−x)`.
pub fn bce_with_logits<T: Scalar>(
    n: usize,
    k: usize,
    logits: &[T],
    target: impl Fn(usize) -> f64,
    pos_weight: Option<&[T]>,
    mut grad: Option<&mut [T]>,
) -> f64 {
    let count = (n * k) as f64;
    let mut total = 0.0;
    for (i, &xv) in logits[..n * k].iter().enumerate() {
        let x = xv.f64();
        let t = target(i);
        let lw = 1.0 + (pos_weight.map_or(1.0, |p| p[i % k].f64()) - 1.0) * t;
        let softplus_neg = (-x.abs()).exp().ln_1p() + (-x).max(0.0);
        total += (1.0 - t) * x + lw * softplus_neg;
        if let Some(g) = grad.as_deref_mut() {
            let sig_neg = 1.0 / (1.0 + x.exp());
            g[i] = T::lit(((1.0 - t) - lw * sig_neg) / count);
        }
    }
    total / count
}

/// Mean squared error.
pub fn mse<T: Scalar>(pred: &[T], target: &[T], mut grad: Option<&mut [T]>) -> f64 {
    let count = pred.len() as f64;
    let mut total = 0.0;
    for (i, (&p, &t)) in pred.iter().zip(target).enumerate() {
        let d = p.f64() - t.f64();
        total += d * d;
        if let Some(g) = grad.as_deref_mut() {
            g[i] = T::lit(2.0 * d / count);
        }
    }
    if count == 0.0 { 0.0 } else { total / count }
}
