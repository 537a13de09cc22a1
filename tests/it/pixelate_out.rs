//! `striate pixelate`'s output: the parallel pipeline writes the very bytes
//! the serial path writes, and `--dtype f16|u8` files read back through the
//! data loaders.

use std::path::{Path, PathBuf};

use striate::data::source::{ReadOptions, Role};
use striate::jets::convert::{ConvertOptions, Pipeline, pixelate_file_with};
use striate::jets::generator::{JetGenConfig, generate};
use striate::jets::pixelate::{Channels, PixelParams};
use striate::jets::sink::{Compression, ImageDtype};
use striate::jets::{JetImager, convert::Converted};

/// 250 generated jets as `float32 [n, particles, 5]` (`E, px, py, pz, pid`), zero-padded.
fn jets_file(dir: &Path) -> PathBuf {
    let jets = generate(&JetGenConfig::default(), 50, 11).unwrap();
    let particles = jets.iter().map(|j| j.p4.len()).max().unwrap();
    let mut flat = vec![0f32; jets.len() * particles * 5];
    for (j, jet) in jets.iter().enumerate() {
        for (k, (p, pid)) in jet.p4.iter().zip(&jet.pids).enumerate() {
            let at = (j * particles + k) * 5;
            for c in 0..4 {
                flat[at + c] = p[c] as f32;
            }
            flat[at + 4] = *pid as f32;
        }
    }
    let path = dir.join("jets.npy");
    std::fs::write(
        &path,
        striate::io::npy::to_bytes_f32(&[jets.len(), particles, 5], &flat),
    )
    .unwrap();
    path
}

fn imager(channels: Channels, norm: bool) -> JetImager {
    JetImager {
        pixels: PixelParams {
            npix: 16,
            width: 1.0,
            channels,
            norm,
        },
        ..Default::default()
    }
}

fn convert(input: &Path, out: &Path, imager: &JetImager, dtype: ImageDtype, pipeline: Pipeline) -> Converted {
    let opts = ConvertOptions {
        dtype,
        batch: 7,
        pipeline,
        ..Default::default()
    };
    pixelate_file_with(input, out, imager, &opts, &mut |_, _| {}).unwrap()
}

#[test]
fn the_parallel_pipeline_writes_the_serial_paths_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let jets = jets_file(dir.path());
    let cases = [
        ("f32.npy", Channels::PtChargedCounts, false, ImageDtype::F32),
        ("f16.h5", Channels::PtCounts, false, ImageDtype::F16),
        ("u8.h5", Channels::Pt, true, ImageDtype::U8),
    ];
    for (name, channels, norm, dtype) in cases {
        let im = imager(channels, norm);
        let (serial, parallel) = (
            dir.path().join(format!("s-{name}")),
            dir.path().join(format!("p-{name}")),
        );
        let a = convert(&jets, &serial, &im, dtype, Pipeline::Serial);
        let b = convert(&jets, &parallel, &im, dtype, Pipeline::Parallel);
        assert_eq!((a.read, a.written, a.skipped), (b.read, b.written, b.skipped), "{name}");
        assert_eq!(a.read, 250, "{name}");
        let (x, y) = (std::fs::read(&serial).unwrap(), std::fs::read(&parallel).unwrap());
        assert!(x == y, "{name}: the parallel file differs from the serial one");
    }
}

/// What the data loaders read from `path`: shape and values as `f32`
/// (`.h5` through the dataset reader the HDF5 loader uses, since these
/// files have no labels).
fn load(path: &Path) -> (Vec<usize>, Vec<f32>, bool) {
    let x = if path.extension().is_some_and(|e| e == "h5") {
        striate::io::hdf5::read(path, "images").unwrap()
    } else {
        let opts = ReadOptions {
            allow_unlabeled: true,
            ..Default::default()
        };
        let source = striate::sources::detect(path.to_str().unwrap()).unwrap();
        striate::sources::read(&source, Role::Train, &opts).unwrap().x
    };
    let values = x.to_f32();
    // The streamed reader (`--stream`) gives the same values, row by row.
    let opts = ReadOptions {
        allow_unlabeled: true,
        ..Default::default()
    };
    use striate::data::stream::{RowSource, files};
    let mut source: Box<dyn RowSource> = if path.extension().is_some_and(|e| e == "h5") {
        Box::new(files::Hdf5Rows::open(path, "images").unwrap())
    } else {
        files::open(path, striate::data::source::Role::Train, &opts)
            .unwrap()
            .source
    };
    assert_eq!(source.stored().shape, x.shape, "{}", path.display());
    let mut streamed = Vec::new();
    for (start, count) in [(0, 7), (7, x.shape[0] - 7)] {
        source.read_rows(start, count, &mut streamed).unwrap();
    }
    assert!(
        streamed.iter().zip(&values).all(|(a, b)| a.to_bits() == b.to_bits()) && streamed.len() == values.len(),
        "{}: streamed rows differ",
        path.display()
    );
    (x.shape.clone(), values, x.is_bytes())
}

#[test]
fn f16_and_u8_images_read_back_through_the_loaders() {
    let dir = tempfile::tempdir().unwrap();
    let jets = jets_file(dir.path());
    let im = imager(Channels::Pt, true);
    for ext in ["npy", "h5"] {
        let path = |t: &str| dir.path().join(format!("{t}.{ext}"));
        for (t, dtype) in [
            ("f32", ImageDtype::F32),
            ("f16", ImageDtype::F16),
            ("u8", ImageDtype::U8),
        ] {
            convert(&jets, &path(t), &im, dtype, Pipeline::Parallel);
        }
        let (shape, exact, _) = load(&path("f32"));
        assert_eq!(shape, [250, 16, 16, 1], "{ext}");
        assert!(exact.iter().any(|&v| v > 0.01), "{ext}: empty images");
        let (s16, half, bytes16) = load(&path("f16"));
        assert_eq!((s16.as_slice(), bytes16), (shape.as_slice(), false), "{ext}");
        for (i, (&h, &e)) in half.iter().zip(&exact).enumerate() {
            assert!(
                (h - e).abs() <= e.abs() / 1024.0 + 6e-8,
                "{ext} f16 value {i}: {h} vs {e}"
            );
        }
        let (s8, byte, bytes8) = load(&path("u8"));
        assert_eq!((s8.as_slice(), bytes8), (shape.as_slice(), true), "{ext}");
        for (i, (&b, &e)) in byte.iter().zip(&exact).enumerate() {
            assert_eq!(b, (e * 255.0).round(), "{ext} u8 value {i} of {e}");
        }
    }
}

#[test]
fn u8_images_need_normalised_pt() {
    let dir = tempfile::tempdir().unwrap();
    let jets = jets_file(dir.path());
    let args = [
        "pixelate",
        "--input",
        jets.to_str().unwrap(),
        "--out",
        "o.npy",
        "--dtype",
        "u8",
    ];
    let out = crate::cli::striate(&args, dir.path());
    crate::cli::user_error(&out, &["--dtype u8", "--norm"]);
    let mut args = args.to_vec();
    args.extend(["--norm", "--channels", "pt,counts"]);
    crate::cli::user_error(&crate::cli::striate(&args, dir.path()), &["--channels pt"]);
    assert!(!dir.path().join("o.npy").exists());
}

/// `--compression none` writes the images of an `.h5` output without the
/// LZF filter: the same values, read whole and streamed, in a larger file.
#[test]
fn hdf5_images_can_be_stored_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let jets = jets_file(dir.path());
    let im = imager(Channels::Pt, true);
    let written = |name: &str, compression: Compression| {
        let path = dir.path().join(name);
        let opts = ConvertOptions {
            dtype: ImageDtype::F16,
            compression,
            ..Default::default()
        };
        pixelate_file_with(&jets, &path, &im, &opts, &mut |_, _| {}).unwrap();
        let filters = hdf5_pure::File::open(&path)
            .unwrap()
            .dataset("images")
            .unwrap()
            .filters();
        (std::fs::metadata(&path).unwrap().len(), filters, load(&path))
    };
    let (lzf_size, lzf_filters, lzf) = written("lzf.h5", Compression::Lzf);
    let (raw_size, raw_filters, raw) = written("raw.h5", Compression::None);
    assert_eq!(lzf_filters, [32000], "h5py's LZF filter id");
    assert!(raw_filters.is_empty(), "{raw_filters:?}");
    assert!(raw_size > lzf_size, "{raw_size} vs {lzf_size} bytes");
    assert_eq!(raw.0, lzf.0);
    assert!(raw.1.iter().zip(&lzf.1).all(|(a, b)| a.to_bits() == b.to_bits()));
}
