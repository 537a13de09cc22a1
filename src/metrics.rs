//! Classification metrics: accuracy, top-k accuracy, confusion matrix, the
//! per-class report (precision, recall, F1, support) and ROC curves.
//!
//! Scores are `(n, k)` row-major slices (logits or probabilities; only their
//! order matters), labels are class indices.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Index of the largest value of a row (the first one on ties).
pub fn argmax<T: PartialOrd>(row: &[T]) -> usize {
    let mut best = 0;
    for (j, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = j;
        }
    }
    best
}

/// Index of the largest score of each row (first one on ties).
pub fn argmax_rows(scores: &[f32], k: usize) -> Vec<u32> {
    scores.chunks_exact(k.max(1)).map(|row| argmax(row) as u32).collect()
}

/// Fraction of predictions equal to the labels.
pub fn accuracy(predicted: &[u32], labels: &[u32]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let hits = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    hits as f64 / labels.len() as f64
}

/// Fraction of rows whose label is among the `top` highest scores.
pub fn top_k_accuracy(scores: &[f32], k: usize, labels: &[u32], top: usize) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let hits = scores
        .chunks_exact(k)
        .zip(labels)
        .filter(|&(row, &l)| {
            let target = row[l as usize];
            // Rank = number of scores strictly greater than the label's.
            row.iter().filter(|&&v| v > target).count() < top
        })
        .count();
    hits as f64 / labels.len() as f64
}

/// `m[true][predicted]` counts, `n_classes × n_classes`.
pub fn confusion_matrix(predicted: &[u32], labels: &[u32], n_classes: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; n_classes]; n_classes];
    for (&p, &l) in predicted.iter().zip(labels) {
        if (l as usize) < n_classes && (p as usize) < n_classes {
            m[l as usize][p as usize] += 1;
        }
    }
    m
}

/// Precision, recall and F1 of one class, with its support.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// The class's name (its index when unnamed), or `macro avg` / `weighted avg` for the averages.
    pub name: String,
    /// Fraction of samples predicted as the class that belong to it, `tp / (tp + fp)`; 0 when none is predicted.
    pub precision: f64,
    /// Fraction of the class's samples predicted as it, `tp / (tp + fn)`; 0 when it has no samples.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Number of samples whose true class this is (all samples for the averages).
    pub support: u64,
}

/// scikit-learn's `classification_report`, as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// One entry per class, in label order.
    pub per_class: Vec<ClassScores>,
    /// Fraction of samples classified correctly.
    pub accuracy: f64,
    /// Unweighted mean over classes (scikit-learn's `macro avg`).
    pub macro_avg: ClassScores,
    /// Mean over classes weighted by support (scikit-learn's `weighted avg`).
    pub weighted_avg: ClassScores,
}

impl ClassificationReport {
    /// Builds the report from a confusion matrix (`m[true][predicted]`).
    /// Undefined ratios (no predictions or no samples of a class) are 0, as
    /// scikit-learn's `zero_division=0`.
    pub fn from_confusion(m: &[Vec<u64>], names: &[String]) -> Self {
        let k = m.len();
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per_class: Vec<ClassScores> = (0..k)
            .map(|c| {
                let tp = m[c][c];
                let predicted: u64 = (0..k).map(|r| m[r][c]).sum();
                let support: u64 = m[c].iter().sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassScores {
                    name: names.get(c).cloned().unwrap_or_else(|| c.to_string()),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let total: u64 = per_class.iter().map(|c| c.support).sum();
        let correct: u64 = (0..k).map(|c| m[c][c]).sum();
        let avg = |name: &str, weight: &dyn Fn(&ClassScores) -> f64| {
            let wsum: f64 = per_class.iter().map(weight).sum();
            let mean = |f: &dyn Fn(&ClassScores) -> f64| {
                if wsum == 0.0 {
                    0.0
                } else {
                    per_class.iter().map(|c| weight(c) * f(c)).sum::<f64>() / wsum
                }
            };
            ClassScores {
                name: name.into(),
                precision: mean(&|c| c.precision),
                recall: mean(&|c| c.recall),
                f1: mean(&|c| c.f1),
                support: total,
            }
        };
        let macro_avg = avg("macro avg", &|_| 1.0);
        let weighted_avg = avg("weighted avg", &|c| c.support as f64);
        ClassificationReport {
            accuracy: ratio(correct, total),
            per_class,
            macro_avg,
            weighted_avg,
        }
    }
}

impl std::fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self
            .per_class
            .iter()
            .map(|c| c.name.len())
            .chain([12])
            .max()
            .unwrap_or(12);
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {:>9} {:>9}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        writeln!(f)?;
        for c in &self.per_class {
            writeln!(
                f,
                "{:>w$}  {:>9.4} {:>9.4} {:>9.4} {:>9}",
                c.name, c.precision, c.recall, c.f1, c.support
            )?;
        }
        writeln!(f)?;
        let total = self.macro_avg.support;
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {:>9.4} {:>9}",
            "accuracy", "", "", self.accuracy, total
        )?;
        for c in [&self.macro_avg, &self.weighted_avg] {
            writeln!(
                f,
                "{:>w$}  {:>9.4} {:>9.4} {:>9.4} {:>9}",
                c.name, c.precision, c.recall, c.f1, c.support
            )?;
        }
        Ok(())
    }
}

/// A ROC curve: false- and true-positive rates at decreasing thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Roc {
    /// Background efficiency εB at each threshold.
    pub fpr: Vec<f64>,
    /// Signal efficiency εS at each threshold.
    pub tpr: Vec<f64>,
    /// Score threshold of each point, decreasing; the first is +∞.
    pub thresholds: Vec<f64>,
}

/// `sklearn.metrics.roc_curve(y_true, score, drop_intermediate=True)`:
/// one point per distinct score, collinear points dropped, starting at
/// (0, 0) with threshold +∞.
pub fn roc_curve(positive: &[bool], scores: &[f64]) -> Result<Roc> {
    if positive.len() != scores.len() {
        return Err(Error::invalid(
            "roc_curve",
            format!("{} labels for {} scores", positive.len(), scores.len()),
        ));
    }
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(Error::invalid("roc_curve", format!("score {i} is NaN")));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    // Cumulative true/false positives at the last index of each distinct score.
    let (mut tps, mut fps, mut thr) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    for (rank, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_value = order.get(rank + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_value {
            tps.push(tp);
            fps.push(fp);
            thr.push(scores[i]);
        }
    }
    // drop_intermediate: keep points where the curve changes direction.
    if tps.len() > 2 {
        let mut keep = vec![true; tps.len()];
        for i in 1..tps.len() - 1 {
            let d2f = fps[i + 1] - 2.0 * fps[i] + fps[i - 1];
            let d2t = tps[i + 1] - 2.0 * tps[i] + tps[i - 1];
            keep[i] = d2f != 0.0 || d2t != 0.0;
        }
        let filter = |v: &Vec<f64>| {
            v.iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect::<Vec<_>>()
        };
        tps = filter(&tps);
        fps = filter(&fps);
        thr = filter(&thr);
    }
    tps.insert(0, 0.0);
    fps.insert(0, 0.0);
    thr.insert(0, f64::INFINITY);
    let (p, n) = (tp, fp);
    let rate = |v: &[f64], total: f64| {
        v.iter()
            .map(|&x| if total > 0.0 { x / total } else { f64::NAN })
            .collect()
    };
    Ok(Roc {
        fpr: rate(&fps, n),
        tpr: rate(&tps, p),
        thresholds: thr,
    })
}

/// Area under a curve by the trapezoidal rule (`sklearn.metrics.auc`);
/// `x` must be monotonic.
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    let mut area = 0.0;
    for i in 1..x.len().min(y.len()) {
        area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
    }
    if x.len() >= 2 && x[x.len() - 1] < x[0] {
        -area
    } else {
        area
    }
}

/// Background rejection `1/εB` at signal efficiency `eff_s`, with εB
/// interpolated linearly in εS exactly as the course's
/// `scipy.interpolate.interp1d(tpr, fpr)(eff_s)`, which for this data is
/// `np.interp`: the last point with `tpr ≤ eff_s` (on a vertical stretch of
/// the curve, the one with the largest εB) and the next one. Infinite when
/// no background passes.
pub fn background_rejection_at(roc: &Roc, eff_s: f64) -> Result<f64> {
    let (x, y) = (&roc.tpr, &roc.fpr);
    let n = x.len();
    let (lo, hi) = (
        x.first().copied().unwrap_or(f64::NAN),
        x.last().copied().unwrap_or(f64::NAN),
    );
    if n < 2 || !(lo..=hi).contains(&eff_s) {
        return Err(Error::invalid(
            "signal efficiency",
            format!("{eff_s} is outside the ROC curve's range [{lo}, {hi}]"),
        ));
    }
    let j = x.partition_point(|&v| v <= eff_s) - 1;
    let eb = if j == n - 1 || x[j] == eff_s {
        y[j]
    } else {
        let slope = (y[j + 1] - y[j]) / (x[j + 1] - x[j]);
        let v = slope * (eff_s - x[j]) + y[j];
        if v.is_nan() {
            slope * (eff_s - x[j + 1]) + y[j + 1]
        } else {
            v
        }
    };
    Ok(if eb > 0.0 { 1.0 / eb } else { f64::INFINITY })
}

/// What physicists quote about a tagger: the ROC curve, its area and the
/// background rejection at chosen signal efficiencies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RocSummary {
    /// Name of the signal class (`1` of a binary task, or one class against the rest).
    pub signal: String,
    /// Area under the ROC curve (`sklearn.metrics.roc_auc_score`), in `[0, 1]`.
    pub auc: f64,
    /// Background rejection at the chosen signal efficiencies.
    pub rejection: Vec<Rejection>,
    /// The curve, thinned to at most 200 points for reports.
    pub fpr: Vec<f64>,
    /// Signal efficiencies (true-positive rates) matching `fpr`.
    pub tpr: Vec<f64>,
}

/// Background rejection `1/εB` at one signal efficiency εS.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// Signal efficiency εS at which the rejection is read, in `(0, 1]`.
    pub signal_efficiency: f64,
    /// `1/εB`; `null` in JSON when no background passes (infinite).
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_is_infinite")]
    pub background_rejection: f64,
}

fn finite_or_null<S: serde::Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

fn null_is_infinite<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

/// ROC summary of `scores` for the `positive` samples.
pub fn roc_summary(signal: &str, positive: &[bool], scores: &[f64], effs: &[f64]) -> Result<RocSummary> {
    let roc = roc_curve(positive, scores)?;
    if roc.tpr.iter().any(|v| v.is_nan()) || roc.fpr.iter().any(|v| v.is_nan()) {
        return Err(Error::invalid("ROC curve", "needs both signal and background samples"));
    }
    let rejection = effs
        .iter()
        .map(|&e| {
            background_rejection_at(&roc, e).map(|r| Rejection {
                signal_efficiency: e,
                background_rejection: r,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let step = roc.fpr.len().div_ceil(200).max(1);
    let keep = |v: &[f64]| -> Vec<f64> {
        let mut out: Vec<f64> = v.iter().step_by(step).copied().collect();
        if !(v.len() - 1).is_multiple_of(step) {
            out.push(v[v.len() - 1]);
        }
        out
    };
    Ok(RocSummary {
        signal: signal.to_string(),
        auc: auc(&roc.fpr, &roc.tpr),
        rejection,
        fpr: keep(&roc.fpr),
        tpr: keep(&roc.tpr),
    })
}

/// One-vs-rest ROC summaries of class probabilities `probs` (`n × k`), one
/// per class present with both signal and background.
pub fn one_vs_rest(probs: &[f32], k: usize, labels: &[u32], names: &[String], effs: &[f64]) -> Result<Vec<RocSummary>> {
    let mut out = Vec::new();
    for c in 0..k {
        let positive: Vec<bool> = labels.iter().map(|&l| l as usize == c).collect();
        if !positive.iter().any(|&p| p) || positive.iter().all(|&p| p) {
            continue;
        }
        let scores: Vec<f64> = probs.chunks_exact(k).map(|r| r[c] as f64).collect();
        let name = names.get(c).cloned().unwrap_or_else(|| c.to_string());
        out.push(roc_summary(&name, &positive, &scores, effs)?);
    }
    Ok(out)
}

/// What `metrics.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Number of samples evaluated.
    pub n_samples: usize,
    /// Mean loss per sample.
    pub loss: f64,
    /// Fraction of samples classified correctly.
    pub accuracy: f64,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// `confusion_matrix[true][predicted]`.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Precision, recall, F1 and support of each class, in label order.
    pub per_class: Vec<ClassScores>,
    /// Unweighted mean of the per-class scores (scikit-learn's `macro avg`).
    pub macro_avg: ClassScores,
    /// Support-weighted mean of the per-class scores (scikit-learn's `weighted avg`).
    pub weighted_avg: ClassScores,
    /// Top-5 accuracy when there are more than 5 classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top5_accuracy: Option<f64>,
    /// Area under the ROC curve, for two classes (class 1 is the signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    /// ROC summaries: class 1 against class 0 for two classes, each class
    /// against the rest otherwise (AUC and background rejection `1/εB` at
    /// chosen signal efficiencies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roc: Vec<RocSummary>,
    /// Mean one-vs-rest AUC (more than two classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auc_macro: Option<f64>,
}

/// Checks that every signal efficiency is in `[0, 1]`.
pub fn check_signal_efficiencies(effs: &[f64]) -> Result<()> {
    match effs.iter().find(|e| !(0.0..=1.0).contains(*e)) {
        Some(e) => Err(Error::invalid(
            "--signal-efficiency",
            format!("{e} must be between 0 and 1"),
        )),
        None => Ok(()),
    }
}

/// Signal efficiencies at which background rejection is reported by default.
pub const DEFAULT_SIGNAL_EFFICIENCIES: [f64; 2] = [0.3, 0.5];

impl EvalReport {
    /// The scikit-learn style text report.
    pub fn classification_report(&self) -> ClassificationReport {
        ClassificationReport {
            per_class: self.per_class.clone(),
            accuracy: self.accuracy,
            macro_avg: self.macro_avg.clone(),
            weighted_avg: self.weighted_avg.clone(),
        }
    }
}
