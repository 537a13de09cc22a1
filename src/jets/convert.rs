//! Constituent files to jet-image files, streaming: read a batch of jets,
//! pixelate it on all cores, append the images, repeat. This is `striate
//! pixelate`; memory stays at one batch whatever the file size.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};

use super::JetImager;
use super::pixelate::Channels;
use super::reader::{self, Batch};
use super::sink::{self, ImageSink};

/// Jets pixelated per batch.
pub const BATCH: usize = 2048;

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
    imager.validate()?;
    let mut source = reader::open(input)?;
    let mut sink: Option<Box<dyn ImageSink>> = None;
    let mut done = Converted::default();
    let limit = limit.unwrap_or(usize::MAX);
    let total = source.len_hint().map(|n| n.min(limit));
    while done.read < limit {
        let Some(batch) = source.next_batch(BATCH.min(limit - done.read))? else {
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
            None => sink.insert(sink::create(
                out,
                imager.pixels.npix,
                imager.pixels.channels.count(),
                batch.labels.is_some(),
            )?),
        };
        let (pixels, labels, skipped) = images_of(imager, &batch, input)?;
        sink.write(&pixels, batch.labels.as_ref().map(|_| labels.as_slice()))?;
        done.written += batch.p4.len() - skipped;
        done.skipped += skipped;
        done.read += batch.p4.len();
        progress(done.read, total);
    }
    let Some(sink) = sink else {
        return Err(Error::format(input, "no jets"));
    };
    done.files = sink.finish()?;
    Ok(done)
}

/// The images of one batch in parallel, in order: pixels (`f32`), the labels
/// of the jets kept, and how many empty jets were skipped.
fn images_of(imager: &JetImager, batch: &Batch, input: &Path) -> Result<(Vec<f32>, Vec<u32>, usize)> {
    let images: Vec<Option<Vec<f64>>> = batch
        .p4
        .par_iter()
        .enumerate()
        .map(|(i, p4)| {
            let pids = batch.pids.as_ref().map(|p| p[i].as_slice());
            imager
                .image(p4, pids)
                .map_err(|e| Error::format(input, format!("row {}: {e}", batch.first + i)))
        })
        .collect::<Result<_>>()?;
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
