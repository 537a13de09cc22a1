//! `striate pixelate`: constituent files to jet images, streaming.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use striate::jets::pixelate::{Channels, PixelParams};
use striate::jets::sink::{Compression, ImageDtype};
use striate::jets::{CentreScheme, JetImager, convert};

use crate::args::{CentreArg, CompressionArg, DtypeArg, PixelateArgs, ToptagArgs};

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
    if args.out.exists() && !args.overwrite {
        bail!("{} exists; pass --overwrite to replace it", args.out.display());
    }
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::no_length();
        bar.set_style(
            ProgressStyle::with_template("pixelating [{bar:30}] {pos}/{len} jets {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let mut progress = |read: usize, total: Option<usize>| {
        if let Some(b) = &bar {
            if let Some(n) = total {
                b.set_length(n as u64);
            }
            b.set_position(read as u64);
        }
    };
    let opts = convert::ConvertOptions {
        dtype: match args.dtype {
            DtypeArg::F32 => ImageDtype::F32,
            DtypeArg::F16 => ImageDtype::F16,
            DtypeArg::U8 => ImageDtype::U8,
        },
        compression: match args.compression {
            CompressionArg::Lzf => Compression::Lzf,
            CompressionArg::None => Compression::None,
        },
        limit: args.limit,
        ..Default::default()
    };
    let done = convert::pixelate_file_with(&args.input, &args.out, &imager, &opts, &mut progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !args.quiet {
        let names: Vec<String> = done.files.iter().map(|p| p.display().to_string()).collect();
        println!(
            "read {} jets, wrote {} images of {3}×{3}×{4} to {2}; {5} empty jets skipped",
            done.read,
            done.written,
            names.join(" and "),
            args.npix,
            channels.count(),
            done.skipped
        );
    }
    Ok(())
}

/// `striate data toptag`: generated jets in the Top Quark Tagging layout.
pub fn toptag(args: &ToptagArgs) -> Result<()> {
    use striate::jets::toptag::{TopTagSpec, write};
    let spec = TopTagSpec {
        jets: args.jets,
        seed: args.seed,
        constituents: args.constituents,
        shard_jets: args.shard_jets,
        chunk_jets: args.chunk_jets,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(args.jets as u64);
        bar.set_style(
            ProgressStyle::with_template("generating [{bar:30}] {pos}/{len} jets {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let mut progress = |n: usize| {
        if let Some(b) = &bar {
            b.set_position(n as u64);
        }
    };
    let files = write(&spec, args.h5.as_deref(), args.parquet.as_deref(), &mut progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    println!(
        "wrote {} jets ({} top, {} QCD) to {} files:",
        args.jets,
        args.jets / 2,
        args.jets - args.jets / 2,
        files.len()
    );
    for f in files {
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        println!("  {} ({})", f.display(), striate::budget::human_bytes(u128::from(size)));
    }
    Ok(())
}
