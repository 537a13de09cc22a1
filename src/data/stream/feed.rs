//! Assembling batches of streamed samples: [`Feeder`] reads blocks as the
//! order needs them and keeps the rows read but not yet sent out;
//! [`Prefetch`] runs a feeder on a background thread, a bounded channel
//! ahead of the model.

use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::RowSource;
use crate::data::preprocess::Preprocess;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Batches the reader thread keeps ready ahead of the model.
pub const PREFETCH_BATCHES: usize = 2;

/// A batch: the samples' indices in their set and their model inputs.
pub type Batch = (Vec<usize>, Tensor<f32>);

/// What a feeder reads from: the source, the file row of each sample, the
/// blocks as ranges of samples, and the preprocessing.
pub struct Shared {
    /// The rows as stored.
    pub source: Box<dyn RowSource>,
    /// File row of each sample, increasing.
    pub rows: Arc<Vec<usize>>,
    /// Blocks as ranges of samples.
    pub blocks: Arc<Vec<Range<usize>>>,
    /// Arranges each row and standardises each batch.
    pub prep: Arc<Preprocess>,
}

const NONE: u32 = u32::MAX;

/// Sends out the samples of an order in batches, reading each block once,
/// when the order first needs a sample of it; rows read and not yet sent out
/// wait in a pool of slots (at most the shuffle buffer plus a block).
pub struct Feeder {
    shared: Shared,
    order: Vec<usize>,
    at: usize,
    seq: Vec<usize>,
    next_block: usize,
    batch: usize,
    /// True for the samples still to be sent out.
    needed: Vec<bool>,
    slot_of: Vec<u32>,
    pool: Vec<f32>,
    free: Vec<u32>,
    item: usize,
    stored_item: usize,
    scratch: Vec<f32>,
}

impl Feeder {
    /// A feeder of `order` (sample indices, each at most once) in batches of
    /// `batch`, reading the blocks in the order `seq` first.
    pub fn new(shared: Shared, order: Vec<usize>, seq: Vec<usize>, batch: usize) -> Result<Self> {
        let n = shared.rows.len();
        if n >= NONE as usize {
            return Err(Error::Data(format!("{n} samples are too many to stream")));
        }
        let mut needed = vec![false; n];
        for &s in &order {
            match needed.get_mut(s) {
                Some(v) => *v = true,
                None => return Err(Error::Data(format!("sample {s} of {n} does not exist"))),
            }
        }
        let item = shared.prep.input_shape().iter().product::<usize>();
        let stored_item = shared.source.stored().shape[1..].iter().product::<usize>();
        Ok(Feeder {
            shared,
            order,
            at: 0,
            seq,
            next_block: 0,
            batch: batch.max(1),
            needed,
            slot_of: vec![NONE; n],
            pool: Vec::new(),
            free: Vec::new(),
            item,
            stored_item,
            scratch: Vec::new(),
        })
    }

    /// Reads the next block of `seq` that holds a needed sample; false when
    /// none is left.
    fn load_next_block(&mut self) -> Result<bool> {
        while let Some(&b) = self.seq.get(self.next_block) {
            self.next_block += 1;
            let range = self.shared.blocks[b].clone();
            let Some(first) = range.clone().find(|&s| self.needed[s]) else {
                continue;
            };
            let last = range.clone().rev().find(|&s| self.needed[s]).unwrap_or(first);
            let rows = &self.shared.rows;
            let (lo, hi) = (rows[first], rows[last] + 1);
            self.scratch.clear();
            self.shared.source.read_rows(lo, hi - lo, &mut self.scratch)?;
            for s in first..=last {
                if !self.needed[s] || self.slot_of[s] != NONE {
                    continue;
                }
                let slot = match self.free.pop() {
                    Some(f) => f as usize,
                    None => {
                        self.pool.resize(self.pool.len() + self.item, 0.0);
                        self.pool.len() / self.item.max(1) - 1
                    }
                };
                let dst = &mut self.pool[slot * self.item..(slot + 1) * self.item];
                let at = (self.shared.rows[s] - lo) * self.stored_item;
                self.shared
                    .prep
                    .arrange_row(&self.scratch[at..at + self.stored_item], dst);
                self.slot_of[s] = slot as u32;
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// The next batch, or `None` when the order is done.
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        if self.at >= self.order.len() {
            return Ok(None);
        }
        let end = (self.at + self.batch).min(self.order.len());
        let indices = self.order[self.at..end].to_vec();
        let mut shape = vec![indices.len()];
        shape.extend(self.shared.prep.input_shape());
        // Filled row by row from the pool: no zeroing first.
        let mut data = Vec::with_capacity(indices.len() * self.item);
        for &s in &indices {
            while self.slot_of[s] == NONE {
                if !self.load_next_block()? {
                    return Err(Error::Data(format!("sample {s} is in no block of the source")));
                }
            }
            let slot = self.slot_of[s] as usize;
            data.extend_from_slice(&self.pool[slot * self.item..(slot + 1) * self.item]);
            self.slot_of[s] = NONE;
            self.needed[s] = false;
            self.free.push(slot as u32);
        }
        let mut x = Tensor::from_vec(&shape, data)?;
        self.shared.prep.standardize_batch(&mut x);
        self.at = end;
        Ok(Some((indices, x)))
    }
}

/// A [`Feeder`] running on its own thread, [`PREFETCH_BATCHES`] batches
/// ahead. A reader error arrives as the error of the batch it stopped at;
/// dropping the prefetcher (training stopped early) ends the thread.
pub struct Prefetch {
    rx: Option<Receiver<Result<Batch>>>,
    handle: Option<JoinHandle<()>>,
    /// Time spent waiting for the reader (the model starved of data).
    waited: Duration,
}

fn run(mut feeder: Feeder, tx: SyncSender<Result<Batch>>) {
    loop {
        let item = feeder.next_batch();
        let stop = !matches!(item, Ok(Some(_)));
        let sent = match item {
            Ok(Some(b)) => tx.send(Ok(b)),
            Ok(None) => return,
            Err(e) => tx.send(Err(e)),
        };
        if stop || sent.is_err() {
            return;
        }
    }
}

impl Prefetch {
    /// Starts the reader thread.
    pub fn spawn(feeder: Feeder) -> Result<Self> {
        let (tx, rx) = sync_channel(PREFETCH_BATCHES);
        let handle = std::thread::Builder::new()
            .name("striate-reader".into())
            .spawn(move || run(feeder, tx))
            .map_err(|e| Error::Data(format!("cannot start the reader thread: {e}")))?;
        Ok(Prefetch {
            rx: Some(rx),
            handle: Some(handle),
            waited: Duration::ZERO,
        })
    }

    /// The next batch, or `None` when the reader has sent them all.
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        let asked = Instant::now();
        let got = match &self.rx {
            Some(rx) => rx.recv().ok(),
            None => None,
        };
        self.waited += asked.elapsed();
        match got {
            Some(item) => item.map(Some),
            None => {
                self.rx = None;
                match self.handle.take().map(JoinHandle::join) {
                    Some(Err(_)) => Err(Error::Data("the reader thread failed".into())),
                    _ => Ok(None),
                }
            }
        }
    }
}

impl Prefetch {
    /// Time [`Prefetch::next_batch`] has spent waiting for the reader: near
    /// zero when reading keeps ahead of training.
    pub fn waited(&self) -> Duration {
        self.waited
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Closing the channel first makes a reader blocked on a full channel
        // return, so the join below cannot hang.
        self.rx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
