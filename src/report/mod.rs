//! Run reports: learning curves, confusion matrix and sample images as SVG
//! and PNG, and one self-contained `report.html` that shows them with the
//! model summary and the metrics, readable offline.
//!
//! Charts are written as SVG by [`charts`]; PNGs are the same SVG rendered
//! by `resvg` ([`png`]) with an embedded font.

pub mod bounded;
pub mod charts;
pub mod png;
pub mod svg;

use std::fmt::Write;

use crate::metrics::EvalReport;
use crate::model::Summary;
use crate::train::History;
use charts::{LineChart, Series, Tile};
use svg::escape;

/// A chart ready to write: file stem, title and SVG text.
pub struct Chart {
    /// Short name the chart's files are named after (`loss` → `loss.svg`, `loss.png`).
    pub stem: String,
    /// Heading shown above the chart in the report.
    pub title: String,
    /// The chart as an SVG document.
    pub svg: String,
}

/// Loss and accuracy curves from a history (train and validation).
pub fn learning_curves(history: &History) -> Vec<Chart> {
    let mut out = Vec::new();
    for (stem, title, train_key, val_key) in [
        ("loss", "Loss", "loss", "val_loss"),
        ("accuracy", "Accuracy", "accuracy", "val_accuracy"),
        ("auc", "Validation AUC", "", "val_auc"),
    ] {
        let series_of = |key: &str, name: &str, dashed: bool| -> Option<Series> {
            let points: Vec<(f64, f64)> = history
                .epochs
                .iter()
                .filter_map(|e| e.get(key).map(|v| (e.epoch as f64, v)))
                .collect();
            (!points.is_empty()).then(|| Series {
                name: name.into(),
                points,
                dashed,
            })
        };
        let series: Vec<Series> = [
            series_of(train_key, "training", false),
            series_of(val_key, "validation", true),
        ]
        .into_iter()
        .flatten()
        .collect();
        if series.is_empty() {
            continue;
        }
        let chart = LineChart {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: title.to_lowercase(),
            series,
            log_y: false,
            log_x: false,
            markers: true,
        };
        out.push(Chart {
            stem: stem.into(),
            title: title.into(),
            svg: chart.to_svg(),
        });
    }
    out
}

/// What the HTML report shows.
pub struct ReportPage<'a> {
    /// Page title (the run's name).
    pub title: String,
    /// Key facts: data, command, timing (label, value).
    pub facts: Vec<(String, String)>,
    /// The model's layers and parameter counts.
    pub summary: &'a Summary,
    /// Per-epoch logs, shown as a table.
    pub history: &'a History,
    /// Metrics of the final evaluation, and on which set.
    pub metrics: Option<(&'a str, &'a EvalReport)>,
    /// Charts shown on the page, in order.
    pub charts: &'a [Chart],
    /// What could not be drawn or written, one sentence each.
    pub warnings: &'a [String],
}

/// A self-contained HTML page (inline CSS and SVG, no scripts or links).
pub fn html(page: &ReportPage<'_>) -> String {
    let mut h = String::new();
    push_head(&mut h, &page.title);
    push_facts(&mut h, &page.facts);
    push_warnings(&mut h, page.warnings);
    if let Some((set, m)) = page.metrics {
        push_metrics(&mut h, set, m);
    }
    push_charts(&mut h, page.charts);
    h.push_str("<h2>Model</h2>\n<pre>");
    h.push_str(&escape(&page.summary.to_string()));
    h.push_str("</pre>\n");
    push_history(&mut h, page.history);
    h.push_str("</body></html>\n");
    h
}

/// The doctype, `<head>` with the inline CSS, and the `<h1>` title.
fn push_head(h: &mut String, title: &str) {
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}}
h1{{font-size:1.6em}} h2{{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}}
table{{border-collapse:collapse;margin:.5em 0}} td,th{{padding:.25em .7em;border-bottom:1px solid #eee;text-align:right}}
th{{background:#f5f5f5}} td:first-child,th:first-child{{text-align:left}}
pre{{background:#f8f8f8;padding:1em;overflow-x:auto;font-size:.85em}}
.charts{{display:flex;flex-wrap:wrap;gap:1em}} .charts figure{{margin:0}} .big{{font-size:1.4em;font-weight:bold}}
</style></head><body>
<h1>{title}</h1>
"#,
        title = escape(title)
    );
}

/// The key facts as a two-column table.
fn push_facts(h: &mut String, facts: &[(String, String)]) {
    h.push_str("<table>\n");
    for (k, v) in facts {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    h.push_str("</table>\n");
}

/// The warnings as a list; nothing when there are none.
fn push_warnings(h: &mut String, warnings: &[String]) {
    if !warnings.is_empty() {
        h.push_str("<h2>Warnings</h2>\n<ul>\n");
        for w in warnings {
            let _ = writeln!(h, "<li>{}</li>", escape(w));
        }
        h.push_str("</ul>\n");
    }
}

/// The metrics on `set`: headline numbers, the per-class table and the ROC table.
fn push_metrics(h: &mut String, set: &str, m: &EvalReport) {
    let _ = writeln!(h, "<h2>Metrics on the {}</h2>", escape(set));
    let _ = write!(
        h,
        "<p><span class=\"big\">accuracy {:.4}</span> &nbsp; loss {:.4} &nbsp; {} samples",
        m.accuracy, m.loss, m.n_samples
    );
    if let Some(auc) = m.auc {
        let _ = write!(h, " &nbsp; <span class=\"big\">AUC {auc:.4}</span>");
    }
    if let Some(t5) = m.top5_accuracy {
        let _ = write!(h, " &nbsp; top-5 accuracy {t5:.4}");
    }
    h.push_str(
        "</p>\n<table><tr><th>class</th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr>\n",
    );
    let (rows, note) = bounded::per_class_rows(m);
    for c in rows.into_iter().chain([&m.macro_avg, &m.weighted_avg]) {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>",
            escape(&c.name),
            c.precision,
            c.recall,
            c.f1,
            c.support
        );
    }
    h.push_str("</table>\n");
    if let Some(note) = note {
        let _ = writeln!(h, "<p>{}</p>", escape(&note));
    }
    push_roc_table(h, m);
}

/// AUC and `1/εB` per signal class; nothing without ROC summaries.
fn push_roc_table(h: &mut String, m: &EvalReport) {
    if !m.roc.is_empty() {
        let effs: Vec<f64> = m.roc[0].rejection.iter().map(|r| r.signal_efficiency).collect();
        h.push_str("<table><tr><th>signal</th><th>AUC</th>");
        for e in &effs {
            let _ = write!(h, "<th>1/εB at εS = {e}</th>");
        }
        h.push_str("</tr>\n");
        for r in m.roc.iter().take(bounded::MAX_TABLE_ROWS) {
            let _ = write!(h, "<tr><td>{}</td><td>{:.4}</td>", escape(&r.signal), r.auc);
            for x in &r.rejection {
                let _ = write!(h, "<td>{}</td>", fmt_rejection(x.background_rejection));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
}

/// The charts as inline SVG figures; nothing when there are none.
fn push_charts(h: &mut String, charts: &[Chart]) {
    if !charts.is_empty() {
        h.push_str("<h2>Charts</h2>\n<div class=\"charts\">\n");
        for c in charts {
            let _ = writeln!(
                h,
                "<figure title=\"{}\">{}</figure>",
                escape(&c.title),
                strip_xml_header(&c.svg)
            );
        }
        h.push_str("</div>\n");
    }
}

/// The per-epoch table; nothing without epochs.
fn push_history(h: &mut String, history: &History) {
    if !history.epochs.is_empty() {
        h.push_str("<h2>History</h2>\n<table><tr><th>epoch</th><th>loss</th><th>accuracy</th><th>val_loss</th><th>val_accuracy</th><th>lr</th><th>seconds</th></tr>\n");
        let f = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.4}"));
        for e in &history.epochs {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3e}</td><td>{:.1}</td></tr>",
                e.epoch,
                e.loss,
                f(e.accuracy),
                f(e.val_loss),
                f(e.val_accuracy),
                e.lr,
                e.seconds
            );
        }
        h.push_str("</table>\n");
    }
}

/// `1/εB` for people: `∞` when no background passes.
pub fn fmt_rejection(r: f64) -> String {
    if r.is_finite() { format!("{r:.1}") } else { "∞".into() }
}

fn strip_xml_header(svg: &str) -> &str {
    svg.trim_start_matches(|c: char| c != '<')
}

/// Up to `per_class` sample indices of each class, in data order, grouped
/// by class.
pub fn pick_samples(labels: &[u32], per_class: usize) -> Vec<usize> {
    let k = labels
        .iter()
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0)
        .min(bounded::MAX_CHART_CLASSES);
    let mut out = Vec::new();
    for c in 0..k as u32 {
        out.extend(
            labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == c)
                .map(|(i, _)| i)
                .take(per_class),
        );
    }
    out
}

/// A grid of samples, one row per class, with predicted and true class names.
pub fn samples_chart(
    images: &[&[f32]],
    shape: [usize; 3],
    predicted: &[u32],
    truth: &[u32],
    classes: &[String],
) -> Chart {
    let name = |c: u32| classes.get(c as usize).cloned().unwrap_or_else(|| c.to_string());
    let tiles: Vec<Tile<'_>> = images
        .iter()
        .zip(predicted.iter().zip(truth))
        .map(|(px, (&p, &t))| Tile {
            pixels: px,
            shape,
            caption: format!("{} / {}", name(p), name(t)),
            highlight: p != t,
            log: charts::is_sparse(px),
        })
        .collect();
    let per_row = truth
        .iter()
        .filter(|&&t| t == truth.first().copied().unwrap_or(0))
        .count()
        .clamp(1, 8);
    Chart {
        stem: "samples".into(),
        title: "Samples".into(),
        svg: charts::image_grid_svg(&tiles, per_row, "Samples by class: predicted / true (wrong in red)"),
    }
}

/// The mean image of each class.
pub fn class_means_chart(x: &crate::Tensor<f32>, labels: &[u32], classes: &[String]) -> Option<Chart> {
    let shape = x.shape();
    if shape.len() != 4 {
        return None;
    }
    let item = x.item_len();
    let k = classes.len();
    let mut sums = vec![vec![0f64; item]; k];
    let mut counts = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        if (l as usize) < k {
            counts[l as usize] += 1;
            sums[l as usize]
                .iter_mut()
                .zip(x.item(i))
                .for_each(|(s, &v)| *s += v as f64);
        }
    }
    let means: Vec<Vec<f32>> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &n)| s.iter().map(|&v| (v / n.max(1) as f64) as f32).collect())
        .collect();
    // Sparse samples (jet images) make means best read on a log scale.
    let log = labels
        .iter()
        .take(50)
        .enumerate()
        .all(|(i, _)| charts::is_sparse(x.item(i)));
    let tiles: Vec<Tile<'_>> = means
        .iter()
        .zip(classes)
        .zip(&counts)
        .filter(|(_, n)| **n > 0)
        .take(bounded::MAX_CHART_CLASSES)
        .map(|((m, c), n)| Tile {
            pixels: m,
            shape: [shape[1], shape[2], shape[3]],
            caption: format!("{c} (mean of {n})"),
            highlight: false,
            log,
        })
        .collect();
    Some(Chart {
        stem: "class_means".into(),
        title: "Mean image per class".into(),
        svg: charts::image_grid_svg(&tiles, tiles.len().min(8), "Mean image per class"),
    })
}

/// ROC curves as physicists draw them: signal efficiency εS on x,
/// background rejection 1/εB on a log y axis.
pub fn roc_chart(rocs: &[crate::metrics::RocSummary]) -> Option<Chart> {
    if rocs.is_empty() {
        return None;
    }
    let series = rocs
        .iter()
        .take(bounded::MAX_CHART_CLASSES)
        .map(|r| Series {
            name: format!("{} (AUC {:.3})", r.signal, r.auc),
            points: r
                .tpr
                .iter()
                .zip(&r.fpr)
                .filter(|(_, f)| **f > 0.0)
                .map(|(&t, &f)| (t, 1.0 / f))
                .collect(),
            dashed: false,
        })
        .collect();
    let chart = LineChart {
        title: "ROC: background rejection vs signal efficiency".into(),
        x_label: "signal efficiency εS".into(),
        y_label: "background rejection 1/εB".into(),
        series,
        log_y: true,
        log_x: false,
        markers: false,
    };
    Some(Chart {
        stem: "roc".into(),
        title: "ROC".into(),
        svg: chart.to_svg(),
    })
}

/// The confusion matrix chart.
/// The confusion matrix chart; past [`bounded::MAX_CHART_CLASSES`] classes,
/// the most confused ones only.
pub fn confusion_chart(m: &EvalReport) -> Chart {
    let k = m.confusion_matrix.len();
    let svg = if k <= bounded::MAX_CHART_CLASSES {
        charts::confusion_svg(&m.confusion_matrix, &m.classes, "Confusion matrix")
    } else {
        let shown = bounded::most_confused(&m.confusion_matrix, bounded::MAX_CHART_CLASSES);
        let names: Vec<String> = shown
            .iter()
            .map(|&c| m.classes.get(c).cloned().unwrap_or_else(|| c.to_string()))
            .collect();
        let title = format!("Confusion matrix: the {} most confused of {k} classes", shown.len());
        charts::confusion_svg(&bounded::sub_matrix(&m.confusion_matrix, &shown), &names, &title)
    };
    Chart {
        stem: "confusion_matrix".into(),
        title: "Confusion matrix".into(),
        svg,
    }
}

/// fastai's lr_find plot: smoothed loss against the learning rate on a log
/// axis, without the last five points, with each suggestion marked.
pub fn lr_find_chart(finding: &crate::train::lr_find::LrFinding, marks: &[(&str, f64, f64)]) -> Chart {
    let keep = finding.lrs.len().saturating_sub(5).max(1.min(finding.lrs.len()));
    let curve = Series {
        name: "smoothed loss".into(),
        points: finding
            .lrs
            .iter()
            .copied()
            .zip(finding.losses.iter().copied())
            .take(keep)
            .collect(),
        dashed: false,
    };
    let mut series = vec![curve];
    for &(name, lr, loss) in marks {
        series.push(Series {
            name: format!("{name}: {lr:.2e}"),
            points: vec![(lr, loss)],
            dashed: false,
        });
    }
    let chart = LineChart {
        title: "Learning-rate finder".into(),
        x_label: "learning rate".into(),
        y_label: "loss".into(),
        series,
        log_y: false,
        log_x: true,
        markers: false,
    };
    Chart {
        stem: "lr_find".into(),
        title: "Learning-rate finder".into(),
        svg: chart.to_svg(),
    }
}
