//! Parquet in the Hugging Face Hub's layouts, written by `gen_parquet.py`
//! (pyarrow and `datasets`): jets for `striate pixelate`, images and arrays
//! for `striate train`; and bad Parquet as one clear line.

use std::path::{Path, PathBuf};

use striate::data::source::{ReadOptions, Role};
use striate::io::array::Elements;
use striate::weights::read_safetensors;

use crate::cli::{striate, user_error};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected(name: &str) -> (Vec<usize>, Vec<f64>) {
    let f = read_safetensors(&fixtures().join("parquet_expected.safetensors")).unwrap();
    let t = &f.tensors[name];
    (t.shape.clone(), t.values.clone())
}

fn load(spec: &Path, role: Role) -> striate::Result<striate::data::source::RawData> {
    let src = striate::sources::detect(spec.to_str().unwrap())?;
    striate::sources::read(&src, role, &ReadOptions::default())
}

/// The jets of `toptag.parquet` (dl4phys/top_tagging's columns, two row
/// groups) are those of `toptag.safetensors`, constituent by constituent,
/// however the batches fall across the row groups.
#[test]
fn top_tagging_parquet_reads_the_same_jets() {
    use striate::jets::reader::{open, read_all};
    let jets = read_safetensors(&fixtures().join("toptag.safetensors")).unwrap();
    let (p4, labels) = (&jets.tensors["p4"], &jets.tensors["labels"]);
    let m = p4.shape[1];
    let file = fixtures().join("toptag.parquet");
    let all = read_all(&file).unwrap();
    assert_eq!(all.p4.len(), p4.shape[0]);
    let want: Vec<u32> = labels.values.iter().map(|&v| v as u32).collect();
    assert_eq!(all.labels.as_deref(), Some(&want[..]));
    for (j, jet) in all.p4.iter().enumerate() {
        assert_eq!(jet.len(), 30, "jet {j}: the file keeps 30 constituents");
        for i in 0..m {
            for k in 0..4 {
                let stored = p4.values[(j * m + i) * 4 + k];
                let read = jet.get(i).map_or(0.0, |p| p[k]);
                assert_eq!(read, stored, "jet {j} particle {i} component {k}");
            }
        }
    }
    // Batches of 3 split the row groups of 5 rows: 3, 2, 3, 2.
    let mut src = open(&file).unwrap();
    assert_eq!(src.len_hint(), Some(10));
    let mut sizes = Vec::new();
    while let Some(b) = src.next_batch(3).unwrap() {
        assert_eq!(b.first, sizes.iter().sum::<usize>());
        sizes.push(b.p4.len());
    }
    assert_eq!(sizes, [3, 2, 3, 2]);
}

/// `striate pixelate` makes the same images from the Parquet jets as from the
/// pandas HDF5 file of the same jets.
#[test]
fn pixelate_from_parquet_matches_hdf5() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixtures();
    for (input, out) in [("toptag.parquet", "pq.npy"), ("toptag_table.h5", "h5.npy")] {
        let args = [
            "pixelate",
            "--input",
            fx.join(input).to_str().unwrap(),
            "--npix",
            "40",
            "--channels",
            "pt,counts",
            "--out",
            out,
        ]
        .map(str::to_string);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = striate(&args, dir.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("read 10 jets, wrote 9 images"), "{}", run.stdout);
    }
    let read = |n: &str| striate::io::npy::read(&dir.path().join(n)).unwrap();
    let (a, b) = (read("pq.npy"), read("h5.npy"));
    assert_eq!(a.shape, [9, 40, 40, 2]);
    assert_eq!(a.shape, b.shape);
    assert_eq!(a.to_f32(), b.to_f32());
    assert!(a.to_f32().iter().any(|&v| v > 0.0));
    assert_eq!(read("pq_labels.npy").to_f32(), read("h5_labels.npy").to_f32());
}

/// dl4phys/top_tagging_images' layout: a folder of shards whose `train`
/// split is two files and `test` one; PNG pixels and ClassLabel names.
#[test]
fn image_shards_load_by_split() {
    let dir = fixtures().join("toptag_images");
    for (role, split) in [(Role::Train, "train"), (Role::Test, "test")] {
        let raw = load(&dir, role).unwrap();
        let (shape, pixels) = expected(&format!("{split}_pixels"));
        let (_, labels) = expected(&format!("{split}_labels"));
        assert_eq!(raw.x.shape, [shape[0], 1, 40, 40], "{split}");
        assert!(raw.channels_first);
        let Elements::U8(bytes) = &raw.x.elems else {
            panic!("{split}: images should stay bytes, got {}", raw.x.dtype)
        };
        let want: Vec<u8> = pixels.iter().map(|&v| v as u8).collect();
        assert_eq!(*bytes, want, "{split} pixels");
        let want: Vec<u32> = labels.iter().map(|&v| v as u32).collect();
        assert_eq!(raw.labels, want, "{split} labels");
        assert_eq!(raw.class_names, ["qcd", "top"]);
    }
    // One shard as a file.
    let one = load(&dir.join("data/test-00000-of-00001.parquet"), Role::Train).unwrap();
    assert_eq!(one.x.shape[0], 4);
}

/// A table with a fixed-size-list column and a label column, in row groups of 3.
#[test]
fn array_column_and_labels_load() {
    let raw = load(&fixtures().join("arrays.parquet"), Role::Train).unwrap();
    let (shape, x) = expected("arrays_x");
    let (_, labels) = expected("arrays_labels");
    assert_eq!(raw.x.shape, shape);
    let got = raw.x.to_f32();
    for (i, (&g, &w)) in got.iter().zip(&x).enumerate() {
        assert_eq!(g, w as f32, "value {i}");
    }
    let want: Vec<u32> = labels.iter().map(|&v| v as u32).collect();
    assert_eq!(raw.labels, want);
    // Keys named explicitly; a missing one is an error that names it.
    let src = striate::sources::detect(fixtures().join("arrays.parquet").to_str().unwrap()).unwrap();
    let opts = ReadOptions {
        x_key: Some("nope".into()),
        ..ReadOptions::default()
    };
    let err = striate::sources::read(&src, Role::Train, &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"nope\""), "{err}");
}

/// `striate train` on the image shards, and the wrong layouts, truncated and
/// corrupt files as one line and exit 2.
#[test]
fn train_on_image_shards_and_bad_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let images = fixtures().join("toptag_images");
    let run = striate(
        &[
            "train",
            "--model",
            "keras_small",
            "--data",
            images.to_str().unwrap(),
            "--epochs",
            "1",
            "--out",
            "r",
        ],
        p,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("[1, 40, 40]"), "{}", run.stdout);
    let jets = fixtures().join("toptag.parquet");
    user_error(
        &striate(
            &["train", "--model", "keras_small", "--data", jets.to_str().unwrap()],
            p,
        ),
        &["toptag.parquet", "pixelate"],
    );
    let arrays = fixtures().join("arrays.parquet");
    user_error(
        &striate(&["pixelate", "--input", arrays.to_str().unwrap(), "--out", "o.npy"], p),
        &["arrays.parquet", "E_0"],
    );
    let bytes = std::fs::read(&jets).unwrap();
    for (name, data) in [
        ("cut.parquet", bytes[..bytes.len() / 2].to_vec()),
        ("nofooter.parquet", bytes[..bytes.len() - 3].to_vec()),
        ("head.parquet", bytes[..4].to_vec()),
        ("text.parquet", b"E_0,PX_0\n1,2\n".to_vec()),
    ] {
        std::fs::write(p.join(name), &data).unwrap();
        user_error(
            &striate(&["pixelate", "--input", name, "--out", "o.npy"], p),
            &[name, "Parquet"],
        );
    }
    // A page in the middle overwritten: an error, whichever part it hits.
    let mut bad = bytes.clone();
    let mid = bad.len() / 3;
    bad[mid..mid + 64].fill(0xA5);
    std::fs::write(p.join("bad.parquet"), &bad).unwrap();
    let run = striate(&["pixelate", "--input", "bad.parquet", "--out", "o.npy"], p);
    if run.code != 0 {
        user_error(&run, &["bad.parquet"]);
    }
}

/// The scaled-down path of `scripts/make-toptag.sh`: generated top and QCD
/// jets written as pandas HDF5 and as Parquet shards, pixelated from both
/// into identical images, balanced.
#[test]
fn generated_top_tagging_files_pixelate_alike() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let run = striate(
        &[
            "data",
            "toptag",
            "--jets",
            "3000",
            "--h5",
            "t.h5",
            "--parquet",
            "pq",
            "--shard-jets",
            "1000",
            "--chunk-jets",
            "400",
        ],
        p,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1500 top, 1500 QCD"), "{}", run.stdout);
    let shards: Vec<String> = (0..3)
        .map(|k| format!("pq/data/train-{k:05}-of-00003.parquet"))
        .collect();
    for s in &shards {
        let f = striate::io::parquet::ParquetFile::open(&p.join(s)).unwrap();
        assert_eq!(f.group_rows(), [400, 400, 200], "{s}");
        assert_eq!(f.columns().len(), 806);
    }
    for (input, out) in [("t.h5", "h5.npy"), ("pq", "pq.npy")] {
        let run = striate(&["pixelate", "--input", input, "--npix", "40", "--out", out], p);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("read 3000 jets"), "{}", run.stdout);
    }
    let read = |n: &str| striate::io::npy::read(&p.join(n)).unwrap().to_f32();
    let (a, b) = (read("h5.npy"), read("pq.npy"));
    assert_eq!(a.len(), 3000 * 40 * 40);
    assert_eq!(a, b);
    let labels = read("pq_labels.npy");
    assert_eq!(labels, read("h5_labels.npy"));
    assert_eq!(labels.iter().filter(|&&l| l == 1.0).count(), 1500);
    // Shuffled: the first 100 jets are not all one class.
    assert!(labels[..100].contains(&0.0) && labels[..100].contains(&1.0));
}

/// `--valid` on a folder of Hub shards reads its `validation` split (not the
/// training shards), and says so when the folder has none.
#[test]
fn a_validation_folder_reads_its_validation_split() {
    let data = fixtures().join("toptag_images/data");
    let err = load(&data, Role::Valid).unwrap_err().to_string();
    assert!(
        err.contains("no validation split among the Parquet files' splits"),
        "{err}"
    );
    let tmp = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("train-00000-of-00002.parquet", "train-00000-of-00001.parquet"),
        ("test-00000-of-00001.parquet", "validation-00000-of-00001.parquet"),
    ] {
        std::fs::copy(data.join(from), tmp.path().join(to)).unwrap();
    }
    let valid = load(tmp.path(), Role::Valid).unwrap();
    let test = load(&data.join("test-00000-of-00001.parquet"), Role::Train).unwrap();
    assert_eq!(valid.x, test.x);
    assert_eq!(valid.labels, test.labels);
    assert!(valid.origin.ends_with("(validation)"), "{}", valid.origin);
}
