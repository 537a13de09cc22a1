//! Keeping reports readable and small for any number of classes: charts
//! show at most [`MAX_CHART_CLASSES`] classes (the most confused ones), HTML
//! tables at most [`MAX_TABLE_ROWS`] rows; the full numbers stay in
//! `metrics.json`.

use crate::metrics::{ClassScores, EvalReport};

/// Classes a chart shows at most (confusion matrix, samples, class means,
/// ROC curves).
pub const MAX_CHART_CLASSES: usize = 20;

/// Rows a per-class table of the HTML report shows at most.
pub const MAX_TABLE_ROWS: usize = 30;

/// Cells of a confusion matrix side up to which each cell shows its count.
pub const LABELLED_CELLS: usize = 30;

/// The `k` classes (indices, ascending) with the most misclassified samples,
/// counting both wrong predictions of the class and wrong predictions as it.
pub fn most_confused(matrix: &[Vec<u64>], k: usize) -> Vec<usize> {
    let n = matrix.len();
    let mut errors = vec![0u64; n];
    for (r, row) in matrix.iter().enumerate() {
        for (c, &v) in row.iter().enumerate().filter(|&(c, _)| c != r && c < n) {
            errors[r] += v;
            errors[c] += v;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| errors[b].cmp(&errors[a]).then(a.cmp(&b)));
    order.truncate(k);
    order.sort_unstable();
    order
}

/// The confusion matrix restricted to `classes` (rows and columns).
pub fn sub_matrix(matrix: &[Vec<u64>], classes: &[usize]) -> Vec<Vec<u64>> {
    classes
        .iter()
        .map(|&r| {
            classes
                .iter()
                .map(|&c| matrix.get(r).and_then(|row| row.get(c)).copied().unwrap_or(0))
                .collect()
        })
        .collect()
}

/// The per-class rows a report table shows: every class when there are few,
/// else the [`MAX_TABLE_ROWS`] with the lowest F1-score (in class order),
/// and a note saying so.
pub fn per_class_rows(m: &EvalReport) -> (Vec<&ClassScores>, Option<String>) {
    let all = &m.per_class;
    if all.len() <= MAX_TABLE_ROWS {
        return (all.iter().collect(), None);
    }
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].f1.total_cmp(&all[b].f1).then(a.cmp(&b)));
    order.truncate(MAX_TABLE_ROWS);
    order.sort_unstable();
    let note = format!(
        "{MAX_TABLE_ROWS} of {} classes shown (the lowest F1-scores); metrics.json has every class.",
        all.len()
    );
    (order.into_iter().map(|i| &all[i]).collect(), Some(note))
}
