//! Running a model over a data set in evaluation mode: loss, accuracy,
//! probabilities and predicted classes.

use crate::data::batches::Samples;
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::metrics::{self, EvalReport};
use crate::model::Sequential;
use crate::ops::activation;
use crate::ops::loss::{self, Loss};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Loss and accuracy of a model on a data set, with its outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss per sample, as in training (class weights and smoothing included).
    pub loss: f64,
    /// `None` for real-valued targets.
    pub accuracy: Option<f64>,
    /// Per sample: class probabilities (softmax of the logits, or sigmoid
    /// for a single-output binary model), or the raw outputs for regression.
    pub outputs: Vec<f32>,
    /// Outputs per sample.
    pub width: usize,
    /// Predicted class per sample (argmax; threshold 0.5 for one output).
    pub predicted: Vec<u32>,
}

/// Reused per-batch buffers.
pub(super) struct Buffers<T: Scalar> {
    pub(super) x: Tensor<T>,
    pub(super) labels: Vec<u32>,
    pub(super) values: Tensor<T>,
    pub(super) grad: Tensor<T>,
}

impl<T: Scalar> Default for Buffers<T> {
    fn default() -> Self {
        Buffers {
            x: Tensor::default(),
            labels: Vec::new(),
            values: Tensor::default(),
            grad: Tensor::default(),
        }
    }
}

/// Loss of a batch of outputs against the `targets` at `indices`,
/// with the gradient when asked; also counts correct predictions for class
/// targets.
pub(super) fn batch_loss<T: Scalar>(
    loss: &Loss,
    outputs: &Tensor<T>,
    targets: &Targets,
    indices: &[usize],
    labels: &mut Vec<u32>,
    values: &mut Tensor<T>,
    grad: Option<&mut Tensor<T>>,
) -> Result<(f64, Option<u64>)> {
    match targets {
        Targets::Classes { labels: all, .. } => {
            labels.clear();
            labels.extend(indices.iter().map(|&i| all[i]));
            let value = loss.compute(outputs, loss::Targets::Classes(labels), grad)?;
            let k = outputs.item_len();
            let correct = outputs
                .data()
                .chunks_exact(k.max(1))
                .zip(labels.iter())
                .filter(|&(row, &l)| predicted_class(row) == l)
                .count() as u64;
            Ok((value, Some(correct)))
        }
        Targets::Values(y) => {
            values.gather_items(y, indices);
            let value = loss.compute(outputs, loss::Targets::Values(values.data()), grad)?;
            Ok((value, None))
        }
    }
}

/// Class of one row of logits: argmax, or `logit > 0` for a single output.
fn predicted_class<T: Scalar>(row: &[T]) -> u32 {
    if row.len() == 1 {
        return u32::from(row[0] > T::zero());
    }
    metrics::argmax(row) as u32
}

/// Loss, accuracy and outputs of `model` on `data`, in evaluation mode, in
/// batches of `batch_size`.
pub fn evaluate<T: Scalar>(
    model: &mut Sequential<T>,
    data: &Dataset,
    loss: &Loss,
    batch_size: usize,
) -> Result<Evaluation> {
    evaluate_samples(model, data.into(), loss, batch_size)
}

/// [`evaluate`] on samples in memory or streamed from disk (in order).
pub fn evaluate_samples<T: Scalar>(
    model: &mut Sequential<T>,
    data: Samples<'_>,
    loss: &Loss,
    batch_size: usize,
) -> Result<Evaluation> {
    if data.sample_shape() != model.input_shape() {
        return Err(Error::Data(format!(
            "samples have shape {:?} but the model expects {:?}",
            data.sample_shape(),
            model.input_shape()
        )));
    }
    let n = data.len();
    let width = model.n_outputs();
    let mut outputs = Vec::with_capacity(n * width);
    let mut predicted = Vec::with_capacity(n);
    let (mut loss_sum, mut correct) = (0.0, 0u64);
    let mut buf = Buffers::<T>::default();
    let mut indices = Vec::with_capacity(batch_size.min(n));
    let mut scratch = (Vec::new(), Vec::new());
    let classes = data.labels().is_some();
    let mut reader = data.epoch(0, 0, false, batch_size, 0)?;
    while reader.next_into(&mut buf.x, &mut indices)? {
        let logits = model.forward_logits(&buf.x, false)?;
        let (l, c) = batch_loss(
            loss,
            logits,
            data.targets(),
            &indices,
            &mut buf.labels,
            &mut buf.values,
            None,
        )?;
        loss_sum += l * indices.len() as f64;
        correct += c.unwrap_or(0);
        for row in logits.data().chunks_exact(width.max(1)) {
            predicted.push(predicted_class(row));
            append_outputs(loss, row, classes, &mut scratch, &mut outputs);
        }
    }
    Ok(Evaluation {
        loss: loss_sum / n.max(1) as f64,
        accuracy: classes.then(|| correct as f64 / n.max(1) as f64),
        outputs,
        width,
        predicted,
    })
}

/// Turns one row of logits into what users read: probabilities for
/// classifiers, raw values otherwise (computed in `f64`).
/// `scratch` holds the row in `f64` and its probabilities, reused across rows.
fn append_outputs<T: Scalar>(
    loss: &Loss,
    row: &[T],
    classes: bool,
    scratch: &mut (Vec<f64>, Vec<f64>),
    out: &mut Vec<f32>,
) {
    let logits = row.iter().map(|v| v.f64());
    match loss {
        Loss::CrossEntropy { .. } if classes => {
            let (x, p) = scratch;
            x.clear();
            x.extend(logits);
            p.resize(x.len(), 0.0);
            activation::softmax_forward(1, x.len(), 1, x, p);
            out.extend(p.iter().map(|&v| v as f32));
        }
        Loss::BinaryCrossEntropy { .. } => out.extend(logits.map(|v| activation::sigmoid(v) as f32)),
        _ => out.extend(logits.map(|v| v as f32)),
    }
}

/// Accuracy, confusion matrix and report of an evaluation against labels.
pub fn classification_summary(
    e: &Evaluation,
    labels: &[u32],
    names: &[String],
) -> (Vec<Vec<u64>>, metrics::ClassificationReport) {
    let k = names.len().max(e.width).max(2);
    let cm = metrics::confusion_matrix(&e.predicted, labels, k);
    let report = metrics::ClassificationReport::from_confusion(&cm, names);
    (cm, report)
}

impl Evaluation {
    /// Metrics of this evaluation against `labels`, with ROC summaries at the
    /// signal efficiencies `effs` (what `metrics.json` holds).
    pub fn report(&self, labels: &[u32], classes: &[String], effs: &[f64]) -> Result<EvalReport> {
        let e = self;
        let k = classes.len().max(e.width).max(2);
        let names: Vec<String> = (0..k)
            .map(|c| classes.get(c).cloned().unwrap_or_else(|| c.to_string()))
            .collect();
        let (cm, report) = classification_summary(e, labels, &names);
        let top5 = (e.width > 5).then(|| metrics::top_k_accuracy(&e.outputs, e.width, labels, 5));
        let both_present = |c: u32| labels.contains(&c) && labels.iter().any(|&l| l != c);
        let roc = if k == 2 {
            if both_present(1) {
                let score: Vec<f64> = if e.width == 1 {
                    e.outputs.iter().map(|&v| v as f64).collect()
                } else {
                    e.outputs.chunks_exact(e.width).map(|r| r[1] as f64).collect()
                };
                let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
                vec![metrics::roc_summary(&names[1], &positive, &score, effs)?]
            } else {
                Vec::new()
            }
        } else {
            metrics::one_vs_rest(&e.outputs, e.width, labels, &names, effs)?
        };
        let auc = (k == 2).then(|| roc.first().map(|r| r.auc)).flatten();
        let auc_macro = (k > 2 && !roc.is_empty()).then(|| roc.iter().map(|r| r.auc).sum::<f64>() / roc.len() as f64);
        Ok(EvalReport {
            n_samples: labels.len(),
            loss: e.loss,
            accuracy: report.accuracy,
            classes: names,
            confusion_matrix: cm,
            per_class: report.per_class,
            macro_avg: report.macro_avg,
            weighted_avg: report.weighted_avg,
            top5_accuracy: top5,
            auc,
            roc,
            auc_macro,
        })
    }
}

/// The validation AUC of an evaluation (signal: class 1 of two classes; the
/// mean one-vs-rest AUC of more) and, for two classes, the background
/// rejection at `effs`. `None` without class labels or without both signal
/// and background.
pub fn epoch_roc(e: &Evaluation, labels: &[u32], effs: &[f64]) -> Option<(f64, Vec<metrics::Rejection>)> {
    let k = e.width;
    if k <= 2 {
        let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        let scores: Vec<f64> = e.outputs.chunks_exact(k.max(1)).map(|r| r[k - 1] as f64).collect();
        let roc = metrics::roc_summary("1", &positive, &scores, effs).ok()?;
        return Some((roc.auc, roc.rejection));
    }
    let names: Vec<String> = (0..k).map(|c| c.to_string()).collect();
    let rocs = metrics::one_vs_rest(&e.outputs, k, labels, &names, &[]).ok()?;
    (!rocs.is_empty()).then(|| (rocs.iter().map(|r| r.auc).sum::<f64>() / rocs.len() as f64, Vec::new()))
}
