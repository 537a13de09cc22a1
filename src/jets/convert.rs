//! Constituent files to jet-image files, streaming: read a batch of jets,
//! pixelate it on all cores, append the images, repeat. This is `striate
//! pixelate`; memory stays at a few batches whatever the file size.
//!
//! The work is a pipeline: while the rayon pool pixelates batch `k` (the
//! jets of a batch in parallel), the calling thread reads batch `k + 1` and
//! writes batch `k − 1`. Results are written in the order the batches were
//! read, so the file is byte for byte the one the serial path
//! ([`Pipeline::Serial`]: read, pixelate jet after jet, write) makes; at most
//! [`IN_FLIGHT`] batches wait to be written.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use rayon::prelude::*;

use crate::error::{Error, Result};

use super::JetImager;
use super::pixelate::Channels;
use super::reader::{self, Batch};
use super::sink::{self, Compression, ImageDtype, ImageSink};

/// Jets pixelated per batch.
pub const BATCH: usize = 2048;

/// Batches pixelated ahead of the one being written.
pub const IN_FLIGHT: usize = 3;

/// What a conversion did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Converted {
    /// Jets read from the input.
    pub read: usize,
    /// Images written.
    pub written: usize,
    /// Jets with no particles, skipped.
    pub skipped: usize,
    /// The files written (images, and labels where the format keeps them apart).
    pub files: Vec<PathBuf>,
}

/// How the batches are worked through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pipeline {
    /// Batches pixelated on the rayon pool while the next is read (the default).
    #[default]
    Parallel,
    /// One jet after another on the calling thread: the reference the parallel path must equal.
    Serial,
}

/// Settings of a conversion beyond the recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvertOptions {
    /// How pixels are stored (default `float32`).
    pub dtype: ImageDtype,
    /// How an HDF5 output's images are compressed (default LZF).
    pub compression: Compression,
    /// Only the first this many jets.
    pub limit: Option<usize>,
    /// Jets per batch (default [`BATCH`]).
    pub batch: usize,
    /// Parallel or serial (default parallel).
    pub pipeline: Pipeline,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            dtype: ImageDtype::F32,
            compression: Compression::Lzf,
            limit: None,
            batch: BATCH,
            pipeline: Pipeline::Parallel,
        }
    }
}

/// Pixelates up to `limit` jets of `input` (any format [`reader::open`]
/// reads) into `out` (`.npy` or `.h5`) with `imager`. `progress` is told the
/// number of jets read after every batch, and how many there are when the
/// input says.
pub fn pixelate_file(
    input: &Path,
    out: &Path,
    imager: &JetImager,
    limit: Option<usize>,
    progress: &mut dyn FnMut(usize, Option<usize>),
) -> Result<Converted> {
    let opts = ConvertOptions {
        limit,
        ..ConvertOptions::default()
    };
    pixelate_file_with(input, out, imager, &opts, progress)
}

/// One batch's images: pixels, labels of the jets kept, empty jets skipped.
type Images = (Vec<f32>, Vec<u32>, usize);

/// [`pixelate_file`] with a storage type, batch size and pipeline.
pub fn pixelate_file_with(
    input: &Path,
    out: &Path,
    imager: &JetImager,
    opts: &ConvertOptions,
    progress: &mut dyn FnMut(usize, Option<usize>),
) -> Result<Converted> {
    imager.validate()?;
    opts.dtype.check(imager)?;
    if opts.batch == 0 {
        return Err(Error::invalid("batch", "must be at least 1 jet"));
    }
    let mut source = reader::open(input)?;
    let mut sink: Option<Box<dyn ImageSink>> = None;
    let mut done = Converted::default();
    let limit = opts.limit.unwrap_or(usize::MAX);
    let total = source.len_hint().map(|n| n.min(limit));
    let mut pending: VecDeque<(Receiver<Result<Images>>, bool)> = VecDeque::new();
    let shared = Arc::new((*imager, input.to_path_buf()));
    let write = |sink: &mut Box<dyn ImageSink>, (rx, labelled): (Receiver<Result<Images>>, bool)| -> Result<usize> {
        let (pixels, labels, skipped) = rx
            .recv()
            .map_err(|_| Error::internal("pixelating", "a batch was lost"))??;
        sink.write(&pixels, labelled.then_some(labels.as_slice()))?;
        Ok(skipped)
    };
    while done.read < limit {
        let Some(batch) = source.next_batch(opts.batch.min(limit - done.read))? else {
            break;
        };
        if imager.pixels.channels == Channels::PtChargedCounts && batch.pids.is_none() {
            return Err(Error::format(
                input,
                "--channels pt,charged needs PDG ids (PID_i columns or [n, particles, 5] arrays); this file has none",
            ));
        }
        let sink = match &mut sink {
            Some(s) => s,
            None => sink.insert(sink::create_as(
                out,
                imager.pixels.npix,
                imager.pixels.channels.count(),
                batch.labels.is_some(),
                opts.dtype,
                opts.compression,
            )?),
        };
        let (tx, rx) = sync_channel(1);
        let (n, labelled) = (batch.p4.len(), batch.labels.is_some());
        match opts.pipeline {
            Pipeline::Serial => {
                let _ = tx.send(images_of(&shared.0, &batch, &shared.1, false));
            }
            Pipeline::Parallel => {
                let shared = Arc::clone(&shared);
                rayon::spawn(move || {
                    let _ = tx.send(images_of(&shared.0, &batch, &shared.1, true));
                });
            }
        }
        pending.push_back((rx, labelled));
        while pending.len() > IN_FLIGHT || (opts.pipeline == Pipeline::Serial && !pending.is_empty()) {
            let job = pending
                .pop_front()
                .ok_or_else(|| Error::internal("pixelating", "no batch"))?;
            done.skipped += write(sink, job)?;
        }
        done.read += n;
        progress(done.read, total);
    }
    let Some(mut sink) = sink else {
        return Err(Error::format(input, "no jets"));
    };
    while let Some(job) = pending.pop_front() {
        done.skipped += write(&mut sink, job)?;
    }
    done.written = done.read - done.skipped;
    done.files = sink.finish()?;
    Ok(done)
}

/// The images of one batch (its jets in parallel when `parallel`), in
/// order: pixels (`f32`), the labels of the jets kept, and how many empty
/// jets were skipped.
fn images_of(imager: &JetImager, batch: &Batch, input: &Path, parallel: bool) -> Result<Images> {
    let one = |(i, p4): (usize, &Vec<[f64; 4]>)| {
        let pids = batch.pids.as_ref().map(|p| p[i].as_slice());
        imager
            .image(p4, pids)
            .map_err(|e| Error::format(input, format!("row {}: {e}", batch.first + i)))
    };
    let images: Vec<Option<Vec<f64>>> = if parallel {
        batch.p4.par_iter().enumerate().map(one).collect::<Result<_>>()?
    } else {
        batch.p4.iter().enumerate().map(one).collect::<Result<_>>()?
    };
    let mut pixels = Vec::with_capacity(images.len() * imager.image_len());
    let mut labels = Vec::new();
    let mut skipped = 0;
    for (i, img) in images.into_iter().enumerate() {
        match img {
            Some(v) => {
                pixels.extend(v.iter().map(|&x| x as f32));
                if let Some(l) = &batch.labels {
                    labels.push(l[i]);
                }
            }
            None => skipped += 1,
        }
    }
    Ok((pixels, labels, skipped))
}
