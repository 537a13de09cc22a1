//! `striate pixelate`: constituent files to jet images, streaming.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use striate::jets::pixelate::{Channels, PixelParams};
use striate::jets::{CentreScheme, JetImager, reader, sink};

use crate::args::{CentreArg, PixelateArgs};

/// Jets pixelated per batch.
const BATCH: usize = 2048;

pub fn pixelate(args: &PixelateArgs) -> Result<()> {
    let channels = match args.channels.replace(' ', "").as_str() {
        "pt" => Channels::Pt,
        "pt,counts" | "counts" => Channels::PtCounts,
        "pt,charged" | "charged" => Channels::PtChargedCounts,
        other => bail!("--channels {other:?}: use pt, pt,counts or pt,charged"),
    };
    let imager = JetImager {
        pixels: PixelParams {
            npix: args.npix,
            width: args.width,
            channels,
            norm: args.norm,
        },
        centre: match args.centre {
            CentreArg::Escheme => Some(CentreScheme::EScheme),
            CentreArg::Ptscheme => Some(CentreScheme::PtScheme),
            CentreArg::None => None,
        },
        rotate: !args.no_rotate,
        reflect: !args.no_reflect,
    };
    imager.validate()?;
    if args.out.exists() && !args.overwrite {
        bail!("{} exists; pass --overwrite to replace it", args.out.display());
    }
    let mut source = reader::open(&args.input)?;
    let total = source.len_hint().map(|n| args.limit.map_or(n, |l| l.min(n)));
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = total.map_or_else(ProgressBar::no_length, |n| ProgressBar::new(n as u64));
        bar.set_style(
            ProgressStyle::with_template("pixelating [{bar:30}] {pos}/{len} jets {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let per = imager.image_len();
    let mut out: Option<Box<dyn sink::ImageSink>> = None;
    let (mut read, mut written, mut skipped) = (0usize, 0usize, 0usize);
    let limit = args.limit.unwrap_or(usize::MAX);
    while read < limit {
        let Some(batch) = source.next_batch(BATCH.min(limit - read))? else {
            break;
        };
        if channels == Channels::PtChargedCounts && batch.pids.is_none() {
            bail!(
                "{}: --channels pt,charged needs PDG ids (PID_i columns or [n, particles, 5] arrays); this file has none",
                args.input.display()
            );
        }
        let sink = match &mut out {
            Some(s) => s,
            None => out.insert(sink::create(
                &args.out,
                args.npix,
                channels.count(),
                batch.labels.is_some(),
            )?),
        };
        let images: Vec<Option<Vec<f64>>> = batch
            .p4
            .par_iter()
            .enumerate()
            .map(|(i, p4)| {
                let pids = batch.pids.as_ref().map(|p| p[i].as_slice());
                imager
                    .image(p4, pids)
                    .map_err(|e| anyhow::anyhow!("{}: row {}: {e}", args.input.display(), batch.first + i))
            })
            .collect::<Result<_>>()?;
        let mut pixels = Vec::with_capacity(images.len() * per);
        let mut labels = Vec::new();
        for (i, img) in images.into_iter().enumerate() {
            match img {
                Some(v) => {
                    pixels.extend(v.iter().map(|&x| x as f32));
                    if let Some(l) = &batch.labels {
                        labels.push(l[i]);
                    }
                    written += 1;
                }
                None => skipped += 1,
            }
        }
        sink.write(&pixels, batch.labels.as_ref().map(|_| labels.as_slice()))?;
        read += batch.p4.len();
        if let Some(b) = &bar {
            b.set_position(read as u64);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let Some(sink) = out else {
        bail!("{}: no jets", args.input.display());
    };
    let files = sink.finish()?;
    if !args.quiet {
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        println!(
            "read {read} jets, wrote {written} images of {0}×{0}×{1} to {2}; {skipped} empty jets skipped",
            args.npix,
            channels.count(),
            names.join(" and ")
        );
    }
    Ok(())
}
