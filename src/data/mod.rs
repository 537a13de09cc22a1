//! Data sets: samples with class labels (or real targets), preprocessing,
//! and one small loader per source format (over [`crate::io`], which owns
//! the formats themselves). `data` knows nothing of jets: the data specs
//! that name jet sources are dispatched by [`crate::sources`].

pub mod augment;
pub mod batches;
pub mod idx;
pub mod images;
pub mod preprocess;
pub mod series;
pub mod source;
pub mod stream;
pub mod synthetic;
pub mod table;

use crate::error::{Error, Result};
use crate::rng::SeededRng;
use crate::tensor::{Tensor, fmt_shape};

/// What a data set's samples are labelled with.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per sample, each below `n_classes`.
    Classes {
        /// Class index of each sample, in `0..n_classes`.
        labels: Vec<u32>,
        /// Number of classes (may exceed the largest label present).
        n_classes: usize,
    },
    /// Real-valued targets, one row per sample.
    Values(Tensor<f32>),
}

impl Targets {
    /// Class labels, when the targets are classes.
    pub fn labels(&self) -> Option<&[u32]> {
        match self {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Values(_) => None,
        }
    }

    /// The targets of the samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Targets {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
            Targets::Values(y) => {
                let mut t = Tensor::default();
                t.gather_items(y, indices);
                Targets::Values(t)
            }
        }
    }
}

/// Samples `x` (`[n, …]`) with their targets and optional class names.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Samples, `[n, …]` (e.g. `[n, c, h, w]` images, `[n, c, l]` series, `[n, features]` vectors).
    pub x: Tensor<f32>,
    /// What each sample is labelled with (class indices or real values).
    pub targets: Targets,
    /// Names of the classes, in label order (empty when unknown).
    pub class_names: Vec<String>,
}

impl Dataset {
    /// A classification data set; checks sizes, label range and that every
    /// value is finite.
    pub fn classification(x: Tensor<f32>, labels: Vec<u32>, n_classes: usize) -> Result<Self> {
        if x.ndim() < 2 {
            return Err(Error::Data(format!(
                "samples must be an [n, …] array, got shape {}",
                fmt_shape(x.shape())
            )));
        }
        if x.batch() != labels.len() {
            return Err(Error::Data(format!(
                "{} samples but {} labels",
                x.batch(),
                labels.len()
            )));
        }
        if let Some(i) = labels.iter().position(|&l| l as usize >= n_classes) {
            return Err(Error::LabelOutOfRange {
                sample: i,
                label: labels[i] as i64,
                n_classes,
            });
        }
        let ds = Dataset {
            x,
            targets: Targets::Classes { labels, n_classes },
            class_names: Vec::new(),
        };
        ds.check_finite()?;
        Ok(ds)
    }

    /// A data set with real-valued targets (`[n, …]`).
    pub fn regression(x: Tensor<f32>, y: Tensor<f32>) -> Result<Self> {
        if x.batch() != y.batch() {
            return Err(Error::Data(format!("{} samples but {} targets", x.batch(), y.batch())));
        }
        let ds = Dataset {
            x,
            targets: Targets::Values(y),
            class_names: Vec::new(),
        };
        ds.check_finite()?;
        Ok(ds)
    }

    /// Sets the class names (in label order) and returns the data set.
    pub fn with_class_names(mut self, names: Vec<String>) -> Self {
        self.class_names = names;
        self
    }

    fn check_finite(&self) -> Result<()> {
        if let Some(i) = self.x.data().iter().position(|v| !v.is_finite()) {
            let k = self.x.item_len().max(1);
            return Err(Error::Data(format!(
                "sample {} has a non-finite value ({}) at element {}",
                i / k,
                self.x.data()[i],
                i % k
            )));
        }
        if let Targets::Values(y) = &self.targets
            && let Some(i) = y.data().iter().position(|v| !v.is_finite())
        {
            return Err(Error::Data(format!("target {} is not finite", i / y.item_len().max(1))));
        }
        Ok(())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.batch()
    }

    /// True when the data set has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one sample.
    pub fn sample_shape(&self) -> &[usize] {
        &self.x.shape()[1..]
    }

    /// Class labels, when the targets are classes.
    pub fn labels(&self) -> Option<&[u32]> {
        self.targets.labels()
    }

    /// Number of classes (0 for real-valued targets).
    pub fn n_classes(&self) -> usize {
        match &self.targets {
            Targets::Classes { n_classes, .. } => *n_classes,
            Targets::Values(_) => 0,
        }
    }

    /// Class names, generated as `0, 1, …` when the data has none.
    pub fn class_names_or_indices(&self) -> Vec<String> {
        if self.class_names.len() == self.n_classes() {
            self.class_names.clone()
        } else {
            (0..self.n_classes()).map(|c| c.to_string()).collect()
        }
    }

    /// Samples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes()];
        if let Some(labels) = self.labels() {
            for &l in labels {
                counts[l as usize] += 1;
            }
        }
        counts
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut x = Tensor::default();
        x.gather_items(&self.x, indices);
        Dataset {
            x,
            targets: self.targets.subset(indices),
            class_names: self.class_names.clone(),
        }
    }

    /// The first `n` samples (all when fewer).
    pub fn take(&self, n: usize) -> Dataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.subset(&idx)
    }

    /// `n` samples drawn at random with `seed` (all when fewer), kept in
    /// their original order. For class targets the draw is stratified: each
    /// class keeps its share (largest remainders round), so a file sorted by
    /// class still gives every class, where [`Dataset::take`] would give one.
    pub fn sample(&self, n: usize, seed: u64) -> Dataset {
        if n >= self.len() {
            return self.clone();
        }
        self.subset(&sample_indices(self.len(), self.labels(), n, seed))
    }

    /// Splits off a fraction for validation after a seeded shuffle:
    /// returns (rest, held out). The split is stratified by class for
    /// classification data, so each class keeps its share.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        let (keep, held) = split_indices(self.len(), self.labels(), self.n_classes(), fraction, seed)?;
        Ok((self.subset(&keep), self.subset(&held)))
    }

    /// [`Dataset::split`] in place: the held-out samples are returned and
    /// the rest stay in `self`, moved forward without a second copy of the
    /// set (what a large set read whole needs).
    pub fn split_off(&mut self, fraction: f64, seed: u64) -> Result<Dataset> {
        let (keep, held) = split_indices(self.len(), self.labels(), self.n_classes(), fraction, seed)?;
        let out = self.subset(&held);
        self.x.retain_items(&keep);
        self.targets = self.targets.subset(&keep);
        Ok(out)
    }
}

/// The indices [`Dataset::sample`] keeps: `n` of `len` drawn with `seed`,
/// stratified by class when `labels` are given, in ascending order.
pub fn sample_indices(len: usize, labels: Option<&[u32]>, n: usize, seed: u64) -> Vec<usize> {
    if n >= len {
        return (0..len).collect();
    }
    let mut rng = SeededRng::new(seed);
    let mut chosen = match labels {
        Some(labels) => {
            let n_classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
            let mut counts = vec![0usize; n_classes];
            for &l in labels {
                counts[l as usize] += 1;
            }
            let quotas = largest_remainder_quotas(&counts, n);
            let mut chosen = Vec::with_capacity(n);
            for (c, &quota) in quotas.iter().enumerate() {
                let mut idx: Vec<usize> = (0..len).filter(|&i| labels[i] as usize == c).collect();
                rng.shuffle(&mut idx);
                chosen.extend_from_slice(&idx[..quota]);
            }
            chosen
        }
        None => rng.permutation(len)[..n].to_vec(),
    };
    chosen.sort_unstable();
    chosen
}

/// The sample indices (sorted) of [`Dataset::split`]: (rest, held out), from
/// the labels alone, so that a streamed set splits exactly as it would in
/// memory.
pub fn split_indices(
    n: usize,
    labels: Option<&[u32]>,
    n_classes: usize,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::invalid(
            "split fraction",
            format!("{fraction} must be between 0 and 1"),
        ));
    }
    let mut rng = SeededRng::new(seed);
    let (mut keep, mut held) = (Vec::new(), Vec::new());
    match labels {
        Some(labels) => {
            for c in 0..n_classes {
                let mut idx: Vec<usize> = (0..n).filter(|&i| labels[i] as usize == c).collect();
                rng.shuffle(&mut idx);
                let n_held = (idx.len() as f64 * fraction).round() as usize;
                held.extend_from_slice(&idx[..n_held]);
                keep.extend_from_slice(&idx[n_held..]);
            }
        }
        None => {
            let idx = rng.permutation(n);
            let n_held = (n as f64 * fraction).round() as usize;
            held.extend_from_slice(&idx[..n_held]);
            keep.extend_from_slice(&idx[n_held..]);
        }
    }
    keep.sort_unstable();
    held.sort_unstable();
    if keep.is_empty() || held.is_empty() {
        return Err(Error::Data(format!(
            "splitting {n} samples by {fraction} leaves an empty part"
        )));
    }
    Ok((keep, held))
}

/// Splits `n` over groups of sizes `counts` in proportion to them: floors
/// first, then one more to the groups with the largest remainders (ties to
/// the lower index). Never gives a group more than it has.
fn largest_remainder_quotas(counts: &[usize], n: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let n = n.min(total);
    let exact: Vec<u128> = counts.iter().map(|&c| c as u128 * n as u128).collect();
    let mut quotas: Vec<usize> = exact.iter().map(|&e| (e / total as u128) as usize).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(exact[i] % total as u128));
    let mut left = n - quotas.iter().sum::<usize>();
    for &i in order.iter().cycle().take(counts.len() * 2) {
        if left == 0 {
            break;
        }
        if quotas[i] < counts[i] {
            quotas[i] += 1;
            left -= 1;
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_follow_the_class_shares_and_add_up() {
        assert_eq!(largest_remainder_quotas(&[10, 10, 10], 7), vec![3, 2, 2]);
        assert_eq!(largest_remainder_quotas(&[90, 10], 10), vec![9, 1]);
        assert_eq!(largest_remainder_quotas(&[1, 1000], 500), vec![0, 500]);
        assert_eq!(largest_remainder_quotas(&[2, 3], 9), vec![2, 3]);
    }

    #[test]
    fn a_sample_of_a_class_sorted_set_has_every_class_in_order() {
        let labels: Vec<u32> = (0..100).map(|i| (i / 20) as u32).collect();
        let x = Tensor::from_vec(&[100, 1], (0..100).map(|i| i as f32).collect()).unwrap();
        let d = Dataset::classification(x, labels, 5).unwrap();
        let s = d.sample(10, 7);
        assert_eq!(s.class_counts(), vec![2; 5]);
        let xs = s.x.data();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "kept in file order: {xs:?}");
        assert_eq!(s.x.data(), d.sample(10, 7).x.data(), "seeded");
        assert_ne!(s.x.data(), d.sample(10, 8).x.data());
        assert_eq!(d.sample(1000, 1).len(), 100);
    }

    #[test]
    fn splitting_off_in_place_equals_the_copying_split() {
        let labels: Vec<u32> = (0..97).map(|i| (i % 3) as u32).collect();
        let x = Tensor::from_vec(&[97, 2, 3], (0..97 * 6).map(|i| i as f32).collect()).unwrap();
        let d = Dataset::classification(x, labels, 3).unwrap();
        for (fraction, seed) in [(0.2, 1), (0.5, 9), (0.05, 3)] {
            let (rest, held) = d.split(fraction, seed).unwrap();
            let mut in_place = d.clone();
            let off = in_place.split_off(fraction, seed).unwrap();
            assert_eq!(off, held, "{fraction}");
            assert_eq!(in_place, rest, "{fraction}");
            assert_eq!(in_place.x.shape(), [rest.len(), 2, 3]);
        }
    }
}
