//! Classification metrics on small cases worked out by hand.

use striate::metrics::{ClassificationReport, accuracy, argmax_rows, auc, confusion_matrix, roc_curve, top_k_accuracy};

#[test]
fn accuracy_top_k_and_argmax() {
    let scores = [0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.2, 0.3, 0.5, 0.4, 0.4, 0.2];
    assert_eq!(argmax_rows(&scores, 3), [1, 0, 2, 0]);
    let labels = [1, 1, 2, 2];
    assert_eq!(accuracy(&argmax_rows(&scores, 3), &labels), 0.5);
    // Row 1: label 1 is second best; row 4: label 2 is third.
    assert_eq!(top_k_accuracy(&scores, 3, &labels, 2), 0.75);
    assert_eq!(top_k_accuracy(&scores, 3, &labels, 3), 1.0);
}

#[test]
fn report_matches_hand_computation() {
    // true:      0 0 0 1 1 2
    // predicted: 0 0 1 1 2 2
    let m = confusion_matrix(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2], 3);
    assert_eq!(m, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
    let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let r = ClassificationReport::from_confusion(&m, &names);
    let c0 = &r.per_class[0];
    assert_eq!((c0.precision, c0.recall, c0.support), (1.0, 2.0 / 3.0, 3));
    assert!((c0.f1 - 0.8).abs() < 1e-12);
    let c1 = &r.per_class[1];
    assert_eq!((c1.precision, c1.recall), (0.5, 0.5));
    let c2 = &r.per_class[2];
    assert_eq!((c2.precision, c2.recall), (0.5, 1.0));
    assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
    let macro_p = (1.0 + 0.5 + 0.5) / 3.0;
    assert!((r.macro_avg.precision - macro_p).abs() < 1e-12);
    let weighted_r = (3.0 * (2.0 / 3.0) + 2.0 * 0.5 + 1.0) / 6.0;
    assert!((r.weighted_avg.recall - weighted_r).abs() < 1e-12);
    let text = r.to_string();
    assert!(
        text.contains("precision") && text.contains("macro avg") && text.contains("weighted avg"),
        "{text}"
    );
}

#[test]
fn roc_and_auc_of_a_small_example() {
    // sklearn: roc_curve([0,0,1,1], [0.1,0.4,0.35,0.8]) -> fpr [0,0,0.5,0.5,1],
    // tpr [0,0.5,0.5,1,1], auc 0.75.
    let roc = roc_curve(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]).unwrap();
    assert_eq!(roc.fpr, [0.0, 0.0, 0.5, 0.5, 1.0]);
    assert_eq!(roc.tpr, [0.0, 0.5, 0.5, 1.0, 1.0]);
    assert_eq!(roc.thresholds[1..], [0.8, 0.4, 0.35, 0.1]);
    assert!((auc(&roc.fpr, &roc.tpr) - 0.75).abs() < 1e-12);
}

/// ROC curves, AUC and background rejection against scikit-learn 1.9 and
/// SciPy's interp1d (`tests/fixtures/gen_sklearn.py`), to 1e-9.
#[test]
fn roc_auc_and_rejection_match_scikit_learn() {
    use crate::common::cases;
    use striate::metrics::{background_rejection_at, one_vs_rest, roc_summary};
    let close = |what: &str, a: f64, b: f64| {
        assert!((a == b) || (a - b).abs() <= 1e-9 * b.abs(), "{what}: {a} vs {b}");
    };
    for c in cases("sklearn").into_iter().filter(|c| !c.name.starts_with('_')) {
        let effs: Vec<f64> = c.params["effs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        if c.str("kind") == "binary" {
            let labels: Vec<bool> = c.t::<f64>("labels").data().iter().map(|&v| v == 1.0).collect();
            let scores = c.t::<f64>("scores").into_vec();
            let roc = roc_curve(&labels, &scores).unwrap();
            assert_eq!(roc.fpr, c.t::<f64>("fpr").into_vec(), "{} fpr", c.name);
            assert_eq!(roc.tpr, c.t::<f64>("tpr").into_vec(), "{} tpr", c.name);
            assert_eq!(
                roc.thresholds,
                c.t::<f64>("thresholds").into_vec(),
                "{} thresholds",
                c.name
            );
            close(
                &format!("{} auc", c.name),
                auc(&roc.fpr, &roc.tpr),
                c.t::<f64>("auc").data()[0],
            );
            for (e, r) in effs.iter().zip(c.t::<f64>("rejection").data()) {
                close(
                    &format!("{} rejection at {e}", c.name),
                    background_rejection_at(&roc, *e).unwrap(),
                    *r,
                );
            }
            let s = roc_summary("signal", &labels, &scores, &effs).unwrap();
            assert!(s.fpr.len() <= 201 && s.fpr[0] == 0.0 && *s.fpr.last().unwrap() == 1.0);
        } else {
            let labels: Vec<u32> = c.t::<f64>("labels").data().iter().map(|&v| v as u32).collect();
            let probs: Vec<f32> = c.t::<f64>("probs").data().iter().map(|&v| v as f32).collect();
            let names: Vec<String> = (0..4).map(|i| i.to_string()).collect();
            // f64 scores for the exact comparison (f32 probabilities can tie).
            let p64 = c.t::<f64>("probs");
            for (k, expected) in c.t::<f64>("auc").data().iter().enumerate() {
                let pos: Vec<bool> = labels.iter().map(|&l| l as usize == k).collect();
                let sc: Vec<f64> = p64.data().chunks_exact(4).map(|r| r[k]).collect();
                let s = roc_summary(&k.to_string(), &pos, &sc, &effs).unwrap();
                close(&format!("ovr auc {k}"), s.auc, *expected);
                for (j, r) in s.rejection.iter().enumerate() {
                    let expected = c.t::<f64>("rejection").data()[k * effs.len() + j];
                    close(&format!("ovr rejection {k}"), r.background_rejection, expected);
                }
            }
            let ovr = one_vs_rest(&probs, 4, &labels, &names, &effs).unwrap();
            let macro_auc = ovr.iter().map(|s| s.auc).sum::<f64>() / ovr.len() as f64;
            assert!(
                (macro_auc - c.t::<f64>("auc_macro").data()[0]).abs() < 1e-4,
                "{macro_auc}"
            );
        }
    }
}
