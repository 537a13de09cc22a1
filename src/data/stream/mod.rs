//! Samples read from disk a batch at a time instead of held in memory.
//!
//! A [`RowSource`] is one file's rows as stored (`.npy` through positioned
//! reads, an HDF5 dataset through windowed chunk reads, a Parquet table —
//! one file or one split of a folder of shards — a row group at a
//! time, images decoded row by row): its shape, its natural blocks of rows
//! (HDF5 chunks, Parquet row groups across the shards, fixed-size blocks of
//! a `.npy`) and a read of a row range widened to `f32`. A [`StreamSet`] is
//! a set of rows of one source (all of them, or a split) with their labels
//! in memory and the preprocessing to apply; the trainer and evaluation read
//! it through [`crate::data::batches::Samples`], the same path as an
//! in-memory [`crate::data::Dataset`].
//!
//! # Shuffling
//! An epoch's order ([`stream_order`]) is a seeded permutation, recomputable
//! from (seed, epoch) alone, so a run resumes mid-epoch exactly:
//! - the blocks are visited in a permuted order, and their rows pass through
//!   a shuffle buffer of `buffer` rows: once the buffer is full, each new row
//!   sends out a uniformly chosen row of the buffer; at the end the rest is
//!   sent out in random order. At most `buffer` rows plus one block are held
//!   (for Parquet a block is a whole row group, however the file was written).
//! - when the buffer covers the whole set, the order is exactly the
//!   in-memory [`epoch_order`], so a set that fits trains to the same weights
//!   streamed and in memory.
//!
//! Batches are assembled on a background thread ([`feed`]) two batches ahead
//! of the model.

pub mod feed;
pub mod files;

use std::ops::Range;
use std::sync::Arc;

use super::Targets;
use super::batches::epoch_order;
use super::preprocess::{Preprocess, StatsFit};
use super::source::Stored;
use crate::error::{Error, Result};
use crate::rng::SeededRng;
use crate::tensor::Tensor;

/// Bytes of model inputs the shuffle buffer holds by default.
pub const DEFAULT_BUFFER_BYTES: usize = 256 << 20;

/// One file's rows as stored, read a range at a time. Implemented for
/// `.npy`, HDF5 and Parquet (row groups as blocks) in [`files`].
pub trait RowSource: Send {
    /// Where the rows come from, for messages (`path`, `path:dataset`).
    fn origin(&self) -> String;
    /// The stored shape (`[n, …]`) and kind of the rows.
    fn stored(&self) -> Stored;
    /// The source's natural blocks of rows, in file order, covering `0..n`
    /// without gaps: reading a block is efficient (one chunk, one row group).
    fn blocks(&self) -> Vec<Range<usize>>;
    /// Rows `start..start + count` widened to `f32`, appended to `out`
    /// (`count · row length` values); a short or corrupt file is an error.
    fn read_rows(&mut self, start: usize, count: usize, out: &mut Vec<f32>) -> Result<()>;
    /// A second, independent reader of the same rows (for a reader thread).
    fn reopen(&self) -> Result<Box<dyn RowSource>>;
}

/// A set of rows of one [`RowSource`] with their labels, read on demand.
pub struct StreamSet {
    source: Box<dyn RowSource>,
    /// File row of each sample, increasing.
    rows: Arc<Vec<usize>>,
    /// The source's blocks as ranges of samples (non-empty ones only).
    blocks: Arc<Vec<Range<usize>>>,
    prep: Arc<Preprocess>,
    /// What the samples are labelled with (one entry per sample).
    pub targets: Targets,
    /// Names of the classes, in label order (empty when unknown).
    pub class_names: Vec<String>,
    /// Rows the shuffle buffer holds (see the module's docs).
    pub buffer: usize,
}

impl StreamSet {
    /// Every row of `source`, labelled with `labels`, arranged by `prep`
    /// (whose statistics may be fitted later, [`StreamSet::fit`]).
    pub fn new(source: Box<dyn RowSource>, labels: Vec<u32>, prep: &Preprocess) -> Result<Self> {
        let stored = source.stored().shape;
        if stored.get(1..) != Some(prep.stored_shape.as_slice()) {
            return Err(Error::Data(format!(
                "{}: samples have shape {} but the model was trained on {}",
                source.origin(),
                crate::tensor::fmt_shape(stored.get(1..).unwrap_or(&[])),
                crate::tensor::fmt_shape(&prep.stored_shape)
            )));
        }
        let n = stored[0];
        if labels.len() != n {
            return Err(Error::Data(format!(
                "{}: {n} samples but {} labels",
                source.origin(),
                labels.len()
            )));
        }
        let n_classes = crate::io::array::n_classes(&labels);
        let mut set = StreamSet {
            source,
            rows: Arc::new((0..n).collect()),
            blocks: Arc::new(Vec::new()),
            prep: Arc::new(prep.clone()),
            targets: Targets::Classes { labels, n_classes },
            class_names: Vec::new(),
            buffer: 1,
        };
        set.blocks = Arc::new(set.sample_blocks());
        set.buffer = set.default_buffer();
        Ok(set)
    }

    fn default_buffer(&self) -> usize {
        let item = self.sample_shape().iter().product::<usize>().max(1) * 4;
        (DEFAULT_BUFFER_BYTES / item).max(1)
    }

    /// The source's blocks as ranges of this set's samples.
    fn sample_blocks(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        for b in self.source.blocks() {
            let lo = self.rows.partition_point(|&r| r < b.start);
            let hi = self.rows.partition_point(|&r| r < b.end);
            if hi > lo {
                out.push(lo..hi);
            }
        }
        out
    }

    /// The samples at `indices` (increasing), as a new set of the same source.
    pub fn subset(&self, indices: &[usize]) -> Result<StreamSet> {
        let targets = self.targets.subset(indices);
        let mut set = StreamSet {
            source: self.source.reopen()?,
            rows: Arc::new(indices.iter().map(|&i| self.rows[i]).collect()),
            blocks: Arc::new(Vec::new()),
            prep: self.prep.clone(),
            targets,
            class_names: self.class_names.clone(),
            buffer: self.buffer,
        };
        set.blocks = Arc::new(set.sample_blocks());
        Ok(set)
    }

    /// Where the samples come from.
    pub fn origin(&self) -> String {
        self.source.origin()
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the set has no samples.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Shape of one model input (after preprocessing).
    pub fn sample_shape(&self) -> Vec<usize> {
        self.prep.input_shape()
    }

    /// The preprocessing applied to each batch.
    pub fn prep(&self) -> &Preprocess {
        &self.prep
    }

    /// Uses `prep` (with its fitted statistics) from now on.
    pub fn set_prep(&mut self, prep: &Preprocess) {
        self.prep = Arc::new(prep.clone());
    }

    /// Fits `prep`'s standardisation statistics with passes over this set's
    /// rows in order, a batch at a time, and sets it on this set.
    pub fn fit(&mut self, prep: &mut Preprocess) -> Result<()> {
        let mut unfitted = prep.clone();
        unfitted.mean.clear();
        unfitted.std.clear();
        self.prep = Arc::new(unfitted);
        let mut fit = StatsFit::new(prep.standardize, self.sample_shape().iter().product());
        for _ in 0..fit.passes() {
            let mut feed = self.feeder((0..self.len()).collect(), (0..self.blocks.len()).collect(), 256)?;
            while let Some((_, x)) = feed.next_batch()? {
                fit.add(x.data());
            }
            fit.next_pass();
        }
        prep.set_stats(fit);
        self.set_prep(prep);
        Ok(())
    }

    /// The order of epoch `epoch` and the order its blocks are read in.
    pub fn order(&self, seed: u64, epoch: usize, shuffle: bool) -> (Vec<usize>, Vec<usize>) {
        stream_order(seed, epoch, self.len(), &self.blocks, self.buffer, shuffle)
    }

    /// A reader of the samples `order` (each at most once) in batches of
    /// `batch`, reading blocks in the order `blocks` first.
    pub fn feeder(&self, order: Vec<usize>, blocks: Vec<usize>, batch: usize) -> Result<feed::Feeder> {
        feed::Feeder::new(
            feed::Shared {
                source: self.source.reopen()?,
                rows: self.rows.clone(),
                blocks: self.blocks.clone(),
                prep: self.prep.clone(),
            },
            order,
            blocks,
            batch,
        )
    }

    /// The samples at `indices` (a few, for charts), preprocessed.
    pub fn read(&self, indices: &[usize]) -> Result<Tensor<f32>> {
        let mut feed = self.feeder(indices.to_vec(), (0..self.blocks.len()).collect(), indices.len().max(1))?;
        match feed.next_batch()? {
            Some((_, x)) => Ok(x),
            None => Ok(Tensor::default()),
        }
    }
}

/// The order of `n` samples in epoch `epoch` (see the module's docs) and the
/// order the `blocks` (ranges of samples) are read in.
pub fn stream_order(
    seed: u64,
    epoch: usize,
    n: usize,
    blocks: &[Range<usize>],
    buffer: usize,
    shuffle: bool,
) -> (Vec<usize>, Vec<usize>) {
    let natural: Vec<usize> = (0..blocks.len()).collect();
    if !shuffle || buffer >= n {
        return (epoch_order(seed, epoch, n, shuffle), natural);
    }
    let mut rng = SeededRng::new(seed ^ (epoch as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let seq = rng.permutation(blocks.len());
    let mut held: Vec<usize> = Vec::with_capacity(buffer + 1);
    let mut out = Vec::with_capacity(n);
    for &b in &seq {
        for s in blocks[b].clone() {
            held.push(s);
            if held.len() > buffer {
                let j = rng.below(held.len() as u64) as usize;
                out.push(held.swap_remove(j));
            }
        }
    }
    while !held.is_empty() {
        let j = rng.below(held.len() as u64) as usize;
        out.push(held.swap_remove(j));
    }
    (out, seq)
}
