//! Classification metrics on small cases worked out by hand.

use striate::metrics::{
    ClassificationReport, accuracy, argmax_rows, auc, confusion_matrix, roc_curve, top_k_accuracy,
};

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
