//! The end of a run: weights, history, the final evaluation, charts and the
//! HTML report, written into the run directory.

use crate::error::{Error, Result};
use crate::metrics::EvalReport;
use crate::report::bounded::MAX_CHART_CLASSES;
use crate::report::{self, Chart};

use super::dir::RunDir;
use super::session::Run;

/// What a finished run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    /// Which set the final evaluation used, in words.
    pub evaluated_on: String,
    /// Its metrics (as in `metrics.json`).
    pub metrics: EvalReport,
    /// Seconds of training.
    pub seconds: f64,
}

impl Results {
    /// `metrics.json`: the metrics plus where and how long they were measured.
    /// Past [`MAX_CHART_CLASSES`] classes it stays compact: the confusion
    /// matrix as its non-zero `[true, predicted, count]` entries
    /// (`confusion_entries`), ROC curve points only for the classes the
    /// ROC chart shows (every class keeps its AUC and rejections).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.metrics).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("evaluated_on".into(), self.evaluated_on.clone().into());
            obj.insert("training_seconds".into(), self.seconds.into());
            if self.is_large() {
                compact(obj, &self.metrics.confusion_matrix);
            }
        }
        v
    }

    /// More classes than a chart shows.
    fn is_large(&self) -> bool {
        self.metrics.classes.len() > MAX_CHART_CLASSES
    }

    /// The text of `metrics.json`: indented, or one line for many classes.
    pub fn to_json_text(&self) -> Result<String> {
        let v = self.to_json();
        let text = if self.is_large() {
            serde_json::to_string(&v)
        } else {
            serde_json::to_string_pretty(&v)
        };
        text.map_err(|e| Error::internal("metrics.json", e))
    }
}

/// The large parts of `metrics.json` for many classes, made small.
fn compact(obj: &mut serde_json::Map<String, serde_json::Value>, matrix: &[Vec<u64>]) {
    obj.remove("confusion_matrix");
    let entries: Vec<[u64; 3]> = matrix
        .iter()
        .enumerate()
        .flat_map(|(t, row)| {
            row.iter()
                .enumerate()
                .filter(|&(_, &n)| n > 0)
                .map(move |(p, &n)| [t as u64, p as u64, n])
        })
        .collect();
    obj.insert("confusion_entries".into(), serde_json::json!(entries));
    if let Some(rocs) = obj.get_mut("roc").and_then(|r| r.as_array_mut()) {
        for roc in rocs
            .iter_mut()
            .skip(MAX_CHART_CLASSES)
            .filter_map(|r| r.as_object_mut())
        {
            roc.remove("fpr");
            roc.remove("tpr");
        }
    }
}

/// Writes each chart as `STEM.svg` and `STEM.png`. A chart that cannot be
/// rendered as PNG is a warning (returned), not a failed run.
pub fn write_charts(dir: &RunDir, charts: &[Chart]) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for c in charts {
        crate::atomic::write_str(&dir.chart(&c.stem, "svg"), &c.svg)?;
        match report::png::svg_to_png(&c.svg, 1.5) {
            Ok(png) => crate::atomic::write(&dir.chart(&c.stem, "png"), &png)?,
            Err(e) => warnings.push(format!("{}.png was not drawn: {e}", c.stem)),
        }
    }
    Ok(warnings)
}

impl Run {
    /// Saves the weights and history, evaluates on the test set (else
    /// validation, else training data) with ROC summaries at the signal
    /// efficiencies `effs`, and writes `metrics.json`, the charts and
    /// `report.html`.
    pub fn finish(&mut self, effs: &[f64]) -> Result<Results> {
        crate::metrics::check_signal_efficiencies(effs)?;
        crate::weights::save_weights(&self.model, &self.dir.weights())?;
        crate::atomic::write_str(&self.dir.history(), &self.trainer.progress.history.to_csv())?;
        let (evaluated_on, eval_set) = self.sets.evaluation_set();
        let evaluation = crate::train::evaluate_samples(
            &mut self.model,
            eval_set.view(),
            self.trainer.loss(),
            self.trainer.config.eval_batch(),
        )?;
        let labels = eval_set.labels().unwrap_or(&[]);
        let metrics = evaluation.report(labels, &self.manifest.classes, effs)?;
        let results = Results {
            evaluated_on,
            metrics,
            seconds: self.seconds,
        };
        crate::atomic::write_str(&self.dir.metrics(), &results.to_json_text()?)?;

        let mut charts = report::learning_curves(&self.trainer.progress.history);
        charts.push(report::confusion_chart(&results.metrics));
        charts.extend(report::roc_chart(&results.metrics.roc));
        let shape = eval_set.sample_shape();
        if shape.len() == 3 {
            let classes = &self.manifest.classes;
            let per_class = (32 / classes.len().max(1)).clamp(2, 8);
            let picked = report::pick_samples(labels, per_class);
            let picked_x = eval_set.items(&picked)?;
            let images: Vec<&[f32]> = (0..picked.len()).map(|k| picked_x.item(k)).collect();
            let predicted: Vec<u32> = picked.iter().map(|&i| evaluation.predicted[i]).collect();
            let truth: Vec<u32> = picked.iter().map(|&i| labels[i]).collect();
            charts.push(report::samples_chart(
                &images,
                [shape[0], shape[1], shape[2]],
                &predicted,
                &truth,
                classes,
            ));
            // Class means need every sample: charted for sets held in memory.
            if let Some(d) = eval_set.in_memory() {
                charts.extend(report::class_means_chart(&d.x, labels, classes));
            }
        }
        let warnings = write_charts(&self.dir, &charts)?;
        self.notes.extend(warnings.iter().map(|w| format!("warning: {w}")));
        self.write_report(&results, &charts, &warnings)?;
        Ok(results)
    }

    fn write_report(&self, results: &Results, charts: &[Chart], warnings: &[String]) -> Result<()> {
        let m = &self.manifest;
        let (_, eval_set) = self.sets.evaluation_set();
        let facts = vec![
            (
                "training data".to_string(),
                format!("{} ({} samples)", m.data.train, self.sets.train.len()),
            ),
            (
                "evaluated on".to_string(),
                format!("{}, {} samples", results.evaluated_on, eval_set.len()),
            ),
            (
                "optimizer".to_string(),
                format!("{} lr {}", m.optimizer.name(), m.optimizer.lr()),
            ),
            (
                "epochs × batch".to_string(),
                format!(
                    "{} × {}",
                    self.trainer.progress.history.epochs.len(),
                    m.training.batch_size
                ),
            ),
            ("training time".to_string(), format!("{:.1} s", results.seconds)),
            ("threads".to_string(), rayon::current_num_threads().to_string()),
            ("striate".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ];
        let summary = self.model.summary();
        let page = report::ReportPage {
            title: format!("striate run: {}", m.model.name.as_deref().unwrap_or("model")),
            facts,
            summary: &summary,
            history: &self.trainer.progress.history,
            metrics: Some((&results.evaluated_on, &results.metrics)),
            charts,
            warnings,
        };
        crate::atomic::write_str(&self.dir.report(), &report::html(&page))
    }
}
