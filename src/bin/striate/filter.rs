//! `striate filter`: an image or a signal convolved with a fixed kernel.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use striate::filter::image::{Colormap, Gray, Normalize, imread, png_bytes, to_gray};
use striate::filter::{Boundary, Mode, convolve, convolve2d, correlate, correlate2d, is_separable, kernel_bank};

use crate::args::{BoundaryArg, ColormapArg, FilterArgs, FilterMode, GrayArg, NormalizeArg};

fn extension(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn mode(args: &FilterArgs) -> Mode {
    match args.mode {
        FilterMode::Full => Mode::Full,
        FilterMode::Same => Mode::Same,
        FilterMode::Valid => Mode::Valid,
    }
}

pub fn filter(args: &FilterArgs) -> Result<()> {
    match extension(&args.input).as_str() {
        "npy" | "csv" | "txt" => filter_signal(args),
        _ => filter_image(args),
    }
}

fn filter_image(args: &FilterArgs) -> Result<()> {
    let kernel = match (&args.kernel, &args.kernel_file) {
        (_, Some(f)) => kernel_bank::from_file(f)?,
        (Some(name), None) => kernel_bank::named(name, args.size, args.sigma)?,
        (None, None) => bail!("give --kernel NAME or --kernel-file FILE"),
    };
    for out in &args.out {
        if !matches!(extension(out).as_str(), "png" | "npy") {
            bail!("--out {}: images are written as .png or .npy", out.display());
        }
    }
    let picture = imread(&args.input)?;
    let gray = to_gray(
        &picture,
        match args.gray {
            GrayArg::Sum => Gray::Sum,
            GrayArg::Mean => Gray::Mean,
            GrayArg::Luma => Gray::Luma,
        },
    );
    let boundary = match args.boundary {
        BoundaryArg::Fill => Boundary::Fill(args.fill_value),
        BoundaryArg::Wrap => Boundary::Wrap,
        BoundaryArg::Symm => Boundary::Symm,
    };
    let started = Instant::now();
    let out = if args.correlate {
        correlate2d(&gray, &kernel, mode(args), boundary)?
    } else {
        convolve2d(&gray, &kernel, mode(args), boundary)?
    };
    let seconds = started.elapsed().as_secs_f64();
    let (lo, hi) = out
        .data
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    println!(
        "{}: {}×{} ({} channel{}) → {} with a {}×{} kernel{}, {:?} mode: {}×{} output, min {lo:.6}, max {hi:.6}, {:.3} s",
        args.input.display(),
        picture.h,
        picture.w,
        picture.channels,
        if picture.channels == 1 { "" } else { "s" },
        if args.correlate { "correlation" } else { "convolution" },
        kernel.h,
        kernel.w,
        if is_separable(&kernel) {
            " (separable: two 1-D passes)"
        } else {
            ""
        },
        args.mode,
        out.h,
        out.w,
        seconds
    );
    for path in &args.out {
        if extension(path) == "npy" {
            striate::atomic::write(path, &striate::io::npy::to_bytes_f64(&[out.h, out.w], &out.data))?;
        } else {
            let norm = match args.normalize {
                NormalizeArg::Minmax => Normalize::MinMax,
                NormalizeArg::Symmetric => Normalize::Symmetric,
                NormalizeArg::Abs => Normalize::Abs,
            };
            let cmap = match args.colormap {
                ColormapArg::Gray => Colormap::Gray,
                ColormapArg::Rdbu => Colormap::RdBu,
            };
            striate::atomic::write(path, &png_bytes(&out, norm, cmap)?)?;
        }
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Numbers of a 1-D signal file: a 1-D `.npy`, or text numbers separated by
/// commas, whitespace or newlines.
fn read_signal(path: &Path) -> Result<Vec<f64>> {
    if extension(path) == "npy" {
        let a = striate::io::npy::read(path)?;
        if a.shape.iter().filter(|&&d| d > 1).count() > 1 {
            bail!(
                "{}: a signal must be 1-D, this array has shape {:?}",
                path.display(),
                a.shape
            );
        }
        return Ok((0..a.len()).map(|i| a.get(i)).collect());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for tok in line.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
            v.push(
                tok.parse::<f64>()
                    .map_err(|_| anyhow::anyhow!("{}: line {}: {tok:?} is not a number", path.display(), i + 1))?,
            );
        }
    }
    if v.is_empty() {
        bail!("{}: no numbers", path.display());
    }
    Ok(v)
}

fn filter_signal(args: &FilterArgs) -> Result<()> {
    let kernel = match (&args.kernel, &args.kernel_file) {
        (_, Some(f)) => read_signal(f)?,
        (Some(name), None) => kernel_bank::named_1d(name, args.size, args.sigma)?,
        (None, None) => bail!("give --kernel NAME or --kernel-file FILE"),
    };
    for out in &args.out {
        if !matches!(extension(out).as_str(), "npy" | "csv") {
            bail!("--out {}: signals are written as .npy or .csv", out.display());
        }
    }
    let x = read_signal(&args.input)?;
    let y = if args.correlate {
        correlate(&x, &kernel, mode(args))?
    } else {
        convolve(&x, &kernel, mode(args))?
    };
    println!(
        "{}: {} values → {} with {} taps, {:?} mode: {} values",
        args.input.display(),
        x.len(),
        if args.correlate { "np.correlate" } else { "np.convolve" },
        kernel.len(),
        args.mode,
        y.len()
    );
    for path in &args.out {
        if extension(path) == "npy" {
            striate::atomic::write(path, &striate::io::npy::to_bytes_f64(&[y.len()], &y))?;
        } else {
            let text: String = y.iter().map(|v| format!("{v}\n")).collect();
            striate::atomic::write_str(path, &text)?;
        }
        println!("wrote {}", path.display());
    }
    Ok(())
}
