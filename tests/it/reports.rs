//! Reports stay bounded for any number of classes, and a chart that cannot
//! be drawn is a warning, not a failed run.

use striate::io::npy;
use striate::report::Chart;
use striate::run::RunDir;

use crate::cli::{ok, striate};

fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// A 1,000-class head on 2,000 flat samples: the run succeeds and every
/// result file stays small; metrics.json still holds every class.
#[test]
fn a_thousand_classes_give_small_reports() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let (n, k, f) = (2000, 1000, 16);
    let x: Vec<f32> = (0..n * f).map(|i| ((i * 7919) % 101) as f32 / 101.0).collect();
    let y: Vec<i64> = (0..n).map(|i| (i % k) as i64).collect();
    std::fs::write(p.join("x.npy"), npy::to_bytes_f32(&[n, f], &x)).unwrap();
    std::fs::write(p.join("x_labels.npy"), npy::to_bytes_i64(&[n], &y)).unwrap();
    std::fs::write(p.join("head.toml"), "[[layers]]\ntype = \"dense\"\nunits = 1000\n").unwrap();
    let out = striate(
        &[
            "train",
            "--model",
            "head.toml",
            "--data",
            "x.npy",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "r",
        ],
        p,
    );
    ok(&out);
    let run = RunDir::new(p.join("r"));
    let svg = std::fs::read_to_string(run.chart("confusion_matrix", "svg")).unwrap();
    assert!(
        svg.contains("most confused of 1000 classes"),
        "{}",
        &svg[..svg.len().min(400)]
    );
    assert!(size(&run.chart("confusion_matrix", "svg")) < 200_000);
    assert!(
        size(&run.metrics()) < 1_000_000,
        "metrics.json is {} bytes",
        size(&run.metrics())
    );
    assert!(
        size(&run.report()) < 2_000_000,
        "report.html is {} bytes",
        size(&run.report())
    );
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.metrics()).unwrap()).unwrap();
    assert_eq!(metrics["per_class"].as_array().unwrap().len(), k);
    let counted: u64 = metrics["confusion_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[2].as_u64().unwrap())
        .sum();
    assert_eq!(counted, metrics["n_samples"].as_u64().unwrap());
    let html = std::fs::read_to_string(run.report()).unwrap();
    assert!(html.contains("30 of 1000 classes shown"));
}

#[test]
fn a_chart_that_cannot_be_rendered_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path());
    let charts = [Chart {
        stem: "loss".into(),
        title: "Loss".into(),
        svg: "<svg this is not".into(),
    }];
    let warnings = striate::run::results::write_charts(&run, &charts).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("loss.png"), "{warnings:?}");
    assert!(run.chart("loss", "svg").exists());
    assert!(!run.chart("loss", "png").exists());
}
