//! Run reports: learning curves, confusion matrix and sample images as SVG
//! and PNG, and one self-contained `report.html` that shows them with the
//! model summary and the metrics, readable offline.
//!
//! Charts are written as SVG by [`charts`]; PNGs are the same SVG rendered
//! by `resvg` ([`png`]) with an embedded font.

pub mod charts;
pub mod png;
pub mod svg;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::model::Summary;
use crate::run::EvalReport;
use crate::train::History;
use charts::{LineChart, Series, Tile};
use svg::escape;

/// A chart ready to write: file stem, title and SVG text.
pub struct Chart {
    pub stem: String,
    pub title: String,
    pub svg: String,
}

/// Loss and accuracy curves from a history (train and validation).
pub fn learning_curves(history: &History) -> Vec<Chart> {
    let mut out = Vec::new();
    for (stem, title, train_key, val_key) in [
        ("loss", "Loss", "loss", "val_loss"),
        ("accuracy", "Accuracy", "accuracy", "val_accuracy"),
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

/// Writes each chart as `stem.svg` and `stem.png` in `dir`; returns the paths.
pub fn write_charts(dir: &Path, charts: &[Chart]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for c in charts {
        let svg_path = dir.join(format!("{}.svg", c.stem));
        crate::atomic::write_str(&svg_path, &c.svg)?;
        let png_path = dir.join(format!("{}.png", c.stem));
        crate::atomic::write(&png_path, &png::svg_to_png(&c.svg, 1.5)?)?;
        written.push(svg_path);
        written.push(png_path);
    }
    Ok(written)
}

/// What the HTML report shows.
pub struct ReportPage<'a> {
    pub title: String,
    /// Key facts: data, command, timing (label, value).
    pub facts: Vec<(String, String)>,
    pub summary: &'a Summary,
    pub history: &'a History,
    /// Metrics of the final evaluation, and on which set.
    pub metrics: Option<(&'a str, &'a EvalReport)>,
    pub charts: &'a [Chart],
}

/// A self-contained HTML page (inline CSS and SVG, no scripts or links).
pub fn html(page: &ReportPage<'_>) -> String {
    let mut h = String::new();
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
        title = escape(&page.title)
    );
    h.push_str("<table>\n");
    for (k, v) in &page.facts {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    h.push_str("</table>\n");
    if let Some((set, m)) = page.metrics {
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
        h.push_str("</p>\n<table><tr><th>class</th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr>\n");
        for c in m.per_class.iter().chain([&m.macro_avg, &m.weighted_avg]) {
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
    }
    if !page.charts.is_empty() {
        h.push_str("<h2>Charts</h2>\n<div class=\"charts\">\n");
        for c in page.charts {
            let _ = writeln!(
                h,
                "<figure title=\"{}\">{}</figure>",
                escape(&c.title),
                strip_xml_header(&c.svg)
            );
        }
        h.push_str("</div>\n");
    }
    h.push_str("<h2>Model</h2>\n<pre>");
    h.push_str(&escape(&page.summary.to_string()));
    h.push_str("</pre>\n");
    if !page.history.epochs.is_empty() {
        h.push_str("<h2>History</h2>\n<table><tr><th>epoch</th><th>loss</th><th>accuracy</th><th>val_loss</th><th>val_accuracy</th><th>lr</th><th>seconds</th></tr>\n");
        let f = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.4}"));
        for e in &page.history.epochs {
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
    h.push_str("</body></html>\n");
    h
}

fn strip_xml_header(svg: &str) -> &str {
    svg.trim_start_matches(|c: char| c != '<')
}

/// Up to `count` sample indices taken round-robin over the true classes, so
/// every class shows, in data order within a class.
pub fn pick_samples(labels: &[u32], count: usize) -> Vec<usize> {
    let k = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut by_class: Vec<std::collections::VecDeque<usize>> = vec![Default::default(); k];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push_back(i);
    }
    let mut out = Vec::with_capacity(count);
    while out.len() < count && by_class.iter().any(|q| !q.is_empty()) {
        for q in by_class.iter_mut() {
            if let Some(i) = q.pop_front() {
                if out.len() < count {
                    out.push(i);
                }
            }
        }
    }
    out
}

/// A grid chart of samples with predicted and true class names.
pub fn samples_chart(
    images: &[&[f32]],
    shape: [usize; 3],
    predicted: &[u32],
    truth: &[u32],
    classes: &[String],
) -> Chart {
    let name = |c: u32| {
        classes
            .get(c as usize)
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    let tiles: Vec<Tile<'_>> = images
        .iter()
        .zip(predicted.iter().zip(truth))
        .map(|(px, (&p, &t))| Tile {
            pixels: px,
            shape,
            caption: format!("{} / {}", name(p), name(t)),
            highlight: p != t,
        })
        .collect();
    Chart {
        stem: "samples".into(),
        title: "Samples".into(),
        svg: charts::image_grid_svg(&tiles, 8, "Samples: predicted / true (wrong in red)"),
    }
}

/// The confusion matrix chart.
pub fn confusion_chart(m: &EvalReport) -> Chart {
    Chart {
        stem: "confusion_matrix".into(),
        title: "Confusion matrix".into(),
        svg: charts::confusion_svg(&m.confusion_matrix, &m.classes, "Confusion matrix"),
    }
}
