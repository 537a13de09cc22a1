//! Where training and evaluation draw batches from: a [`Dataset`] in
//! memory or a [`StreamSet`] read from disk, behind one [`Samples`] view,
//! so both share one training path.

use super::stream::StreamSet;
use super::stream::feed::Prefetch;
use super::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::rng::SeededRng;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The permutation of epoch `epoch` (0-based) for `n` samples.
pub fn epoch_order(seed: u64, epoch: usize, n: usize, shuffle: bool) -> Vec<usize> {
    if shuffle {
        SeededRng::new(seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)).permutation(n)
    } else {
        (0..n).collect()
    }
}

/// A set of samples, held in memory or streamed from disk.
pub enum SampleSet {
    /// Every sample in memory.
    Memory(Dataset),
    /// Samples read from disk a batch at a time.
    Stream(StreamSet),
}

/// A borrowed [`SampleSet`] (or a bare [`Dataset`]): what the trainer and
/// evaluation read.
#[derive(Clone, Copy)]
pub enum Samples<'a> {
    /// Every sample in memory.
    Memory(&'a Dataset),
    /// Samples read from disk a batch at a time.
    Stream(&'a StreamSet),
}

impl<'a> From<&'a Dataset> for Samples<'a> {
    fn from(d: &'a Dataset) -> Self {
        Samples::Memory(d)
    }
}

impl SampleSet {
    /// The set as the trainer reads it.
    pub fn view(&self) -> Samples<'_> {
        match self {
            SampleSet::Memory(d) => Samples::Memory(d),
            SampleSet::Stream(s) => Samples::Stream(s),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    /// True when the set has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one model input.
    pub fn sample_shape(&self) -> Vec<usize> {
        self.view().sample_shape()
    }

    /// Class labels, when the targets are classes.
    pub fn labels(&self) -> Option<&[u32]> {
        self.targets().labels()
    }

    /// What the samples are labelled with.
    pub fn targets(&self) -> &Targets {
        match self {
            SampleSet::Memory(d) => &d.targets,
            SampleSet::Stream(s) => &s.targets,
        }
    }

    /// What the samples are labelled with, to change the number of classes.
    pub fn targets_mut(&mut self) -> &mut Targets {
        match self {
            SampleSet::Memory(d) => &mut d.targets,
            SampleSet::Stream(s) => &mut s.targets,
        }
    }

    /// The data set, when it is held in memory.
    pub fn in_memory(&self) -> Option<&Dataset> {
        match self {
            SampleSet::Memory(d) => Some(d),
            SampleSet::Stream(_) => None,
        }
    }

    /// True when the samples are streamed from disk.
    pub fn is_streamed(&self) -> bool {
        matches!(self, SampleSet::Stream(_))
    }

    /// The samples at `indices` as model inputs (read from disk when streamed).
    pub fn items(&self, indices: &[usize]) -> Result<Tensor<f32>> {
        match self {
            SampleSet::Memory(d) => {
                let mut x = Tensor::default();
                x.gather_items(&d.x, indices);
                Ok(x)
            }
            SampleSet::Stream(s) => {
                let mut sorted = indices.to_vec();
                sorted.sort_unstable();
                sorted.dedup();
                let x = s.read(&sorted)?;
                let mut out = Tensor::default();
                let at: Vec<usize> = indices.iter().map(|i| sorted.partition_point(|s| s < i)).collect();
                out.gather_items(&x, &at);
                Ok(out)
            }
        }
    }
}

impl<'a> Samples<'a> {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Samples::Memory(d) => d.len(),
            Samples::Stream(s) => s.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one model input.
    pub fn sample_shape(&self) -> Vec<usize> {
        match self {
            Samples::Memory(d) => d.sample_shape().to_vec(),
            Samples::Stream(s) => s.sample_shape(),
        }
    }

    /// What the samples are labelled with.
    pub fn targets(&self) -> &'a Targets {
        match self {
            Samples::Memory(d) => &d.targets,
            Samples::Stream(s) => &s.targets,
        }
    }

    /// Class labels, when the targets are classes.
    pub fn labels(&self) -> Option<&'a [u32]> {
        self.targets().labels()
    }

    /// True when the samples are streamed from disk.
    pub fn is_streamed(&self) -> bool {
        matches!(self, Samples::Stream(_))
    }

    /// The batches of epoch `epoch` from batch `first` on: the order of
    /// [`epoch_order`] in memory, of [`crate::data::stream::stream_order`]
    /// streamed (read on a background thread).
    pub fn epoch(
        &self,
        seed: u64,
        epoch: usize,
        shuffle: bool,
        batch: usize,
        first: usize,
    ) -> Result<EpochBatches<'a>> {
        let batch = batch.max(1);
        match *self {
            Samples::Memory(data) => Ok(EpochBatches::Memory {
                data,
                order: epoch_order(seed, epoch, data.len(), shuffle),
                at: first.saturating_mul(batch),
                batch,
            }),
            Samples::Stream(s) => {
                let (order, blocks) = s.order(seed, epoch, shuffle);
                let rest = order.get(first.saturating_mul(batch)..).unwrap_or(&[]).to_vec();
                let feeder = s.feeder(rest, blocks, batch)?;
                Ok(EpochBatches::Stream {
                    reader: Prefetch::spawn(feeder)?,
                })
            }
        }
    }
}

/// The batches of one epoch (or one pass of evaluation), in order.
pub enum EpochBatches<'a> {
    /// Gathered from memory.
    Memory {
        /// The samples.
        data: &'a Dataset,
        /// The epoch's order.
        order: Vec<usize>,
        /// Position of the next batch in `order`.
        at: usize,
        /// Samples per batch.
        batch: usize,
    },
    /// Read by a background thread.
    Stream {
        /// The reader.
        reader: Prefetch,
    },
}

impl EpochBatches<'_> {
    /// Seconds this epoch has waited for streamed batches (0 in memory).
    pub fn waited(&self) -> f64 {
        match self {
            EpochBatches::Memory { .. } => 0.0,
            EpochBatches::Stream { reader } => reader.waited().as_secs_f64(),
        }
    }

    /// Puts the next batch's inputs in `x` and the samples' indices in
    /// `indices`; false when the epoch is done.
    pub fn next_into<T: Scalar>(&mut self, x: &mut Tensor<T>, indices: &mut Vec<usize>) -> Result<bool> {
        indices.clear();
        match self {
            EpochBatches::Memory { data, order, at, batch } => {
                if *at >= order.len() {
                    return Ok(false);
                }
                let end = (*at + *batch).min(order.len());
                indices.extend_from_slice(&order[*at..end]);
                x.gather_items(&data.x, indices);
                *at = end;
                Ok(true)
            }
            EpochBatches::Stream { reader } => match reader.next_batch()? {
                None => Ok(false),
                Some((idx, xb)) => {
                    if xb.batch() != idx.len() {
                        return Err(Error::Data("the reader sent a malformed batch".into()));
                    }
                    x.assign_cast(&xb);
                    indices.extend_from_slice(&idx);
                    Ok(true)
                }
            },
        }
    }
}
