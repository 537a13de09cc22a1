//! The end of a run: weights, history, the final evaluation, charts and the
//! HTML report, written into the run directory.

use crate::error::{Error, Result};
use crate::metrics::EvalReport;
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
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.metrics).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("evaluated_on".into(), self.evaluated_on.clone().into());
            obj.insert("training_seconds".into(), self.seconds.into());
        }
        v
    }
}

/// Writes each chart as `STEM.svg` and `STEM.png`.
pub fn write_charts(dir: &RunDir, charts: &[Chart]) -> Result<()> {
    for c in charts {
        crate::atomic::write_str(&dir.chart(&c.stem, "svg"), &c.svg)?;
        crate::atomic::write(&dir.chart(&c.stem, "png"), &report::png::svg_to_png(&c.svg, 1.5)?)?;
    }
    Ok(())
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
        let evaluation = self.trainer.evaluate(&mut self.model, eval_set)?;
        let labels = eval_set.labels().unwrap_or(&[]);
        let metrics = evaluation.report(labels, &self.manifest.classes, effs)?;
        let results = Results {
            evaluated_on,
            metrics,
            seconds: self.seconds,
        };
        let json = serde_json::to_string_pretty(&results.to_json()).map_err(|e| Error::internal("metrics.json", e))?;
        crate::atomic::write_str(&self.dir.metrics(), &json)?;

        let mut charts = report::learning_curves(&self.trainer.progress.history);
        charts.push(report::confusion_chart(&results.metrics));
        charts.extend(report::roc_chart(&results.metrics.roc));
        let shape = eval_set.sample_shape();
        if shape.len() == 3 {
            let classes = &self.manifest.classes;
            let per_class = (32 / classes.len().max(1)).clamp(2, 8);
            let picked = report::pick_samples(labels, per_class);
            let images: Vec<&[f32]> = picked.iter().map(|&i| eval_set.x.item(i)).collect();
            let predicted: Vec<u32> = picked.iter().map(|&i| evaluation.predicted[i]).collect();
            let truth: Vec<u32> = picked.iter().map(|&i| labels[i]).collect();
            charts.push(report::samples_chart(
                &images,
                [shape[0], shape[1], shape[2]],
                &predicted,
                &truth,
                classes,
            ));
            charts.extend(report::class_means_chart(&eval_set.x, labels, classes));
        }
        write_charts(&self.dir, &charts)?;
        self.write_report(&results, &charts)?;
        Ok(results)
    }

    fn write_report(&self, results: &Results, charts: &[Chart]) -> Result<()> {
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
        };
        crate::atomic::write_str(&self.dir.report(), &report::html(&page))
    }
}
