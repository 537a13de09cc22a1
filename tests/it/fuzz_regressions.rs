//! Inputs that once crashed or misled the readers (issue 12), kept as files
//! under `tests/fixtures/regressions/` (written by `make.py` there), each
//! test named after the bug it pins. The fuzzing harness is `fuzz.rs`.

use std::path::{Path, PathBuf};

use striate::data::table::{LabelColumn, read as read_table};
use striate::io::{hdf5, idx, npy, npz};
use striate::model::ModelSpec;

use crate::alloc_probe;
use crate::cli::{striate, user_error};

fn regression(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/regressions")
        .join(name)
}

/// The error text of `r`, which must be an error.
#[track_caller]
fn error_of<T>(r: striate::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// Runs `f` and returns its result with the largest single allocation it made.
fn peak<R>(f: impl FnOnce() -> R) -> (R, usize) {
    alloc_probe::measure("regression", 0, usize::MAX, f)
}

#[test]
fn npy_shape_product_wraps_is_refused() {
    let (r, bytes) = peak(|| npy::read(&regression("npy_shape_product_wraps.npy")));
    assert!(error_of(r).contains("overflows"));
    assert!(bytes < 1 << 20, "{bytes} bytes allocated");
    // The tensor guard the dense layer relied on no longer wraps either.
    let wrapped = striate::Tensor::<f32>::from_vec(&[4, 1 << 62], Vec::new());
    assert!(wrapped.is_err());
    assert_eq!(striate::tensor::checked_numel(&[4, 1 << 62]), None);
}

#[test]
fn npy_empty_dtype_is_an_error_not_a_panic() {
    let msg = error_of(npy::read(&regression("npy_empty_dtype.npy")));
    assert!(msg.contains("NumPy type string"), "{msg}");
}

#[test]
fn npy_non_ascii_dtype_is_an_error_not_a_panic() {
    let msg = error_of(npy::read(&regression("npy_non_ascii_dtype.npy")));
    assert!(msg.contains("NumPy type string"), "{msg}");
}

#[test]
fn jets_npy_huge_shape_is_refused_before_allocating() {
    let (r, bytes) = peak(|| striate::jets::reader::open(&regression("jets_npy_huge_shape.npy")).map(|_| ()));
    let msg = error_of(r);
    assert!(msg.contains("overflow") || msg.contains("truncated"), "{msg}");
    assert!(bytes < 1 << 20, "{bytes} bytes allocated");
}

#[test]
fn idx_dims_overflow_is_an_error() {
    let msg = error_of(idx::read(&regression("idx_dims_overflow.idx")));
    assert!(msg.contains("overflow"), "{msg}");
}

#[test]
fn label_u32_max_does_not_size_anything() {
    let path = regression("labels_u32_max.npy");
    let arr = npy::read(&path).expect("a valid array");
    let (r, bytes) = peak(|| arr.to_labels(&path, "label"));
    let msg = error_of(r);
    assert!(msg.contains("4294967295") && msg.contains("below"), "{msg}");
    assert!(bytes < 1 << 20, "{bytes} bytes allocated");
}

#[test]
fn csv_label_2_pow_32_is_not_class_0() {
    let msg = error_of(read_table(
        &regression("csv_label_2_pow_32.csv"),
        &LabelColumn::default(),
    ));
    assert!(msg.contains("line 2") && msg.contains("4294967296"), "{msg}");
}

#[test]
fn npz_member_declaring_4gb_is_refused_before_allocating() {
    let (r, bytes) = peak(|| npz::read(&regression("npz_member_declares_4gb.npz")));
    let msg = error_of(r);
    assert!(msg.contains("declares") || msg.contains("corrupt"), "{msg}");
    assert!(bytes < 1 << 20, "{bytes} bytes allocated");
}

#[test]
fn idx_gzip_is_inflated_only_as_far_as_its_header_says() {
    // 16 labels declared, 8 MB of data behind them.
    let (r, bytes) = peak(|| idx::read(&regression("idx_gzip_more_than_declared.gz")));
    let arr = r.expect("the declared labels read");
    assert_eq!(arr.shape, vec![16]);
    assert!(bytes < 1 << 20, "{bytes} bytes allocated for 16 labels");
}

#[test]
fn idx_pair_mismatch_is_found_from_the_headers_alone() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let gz = |name: &str, bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        std::fs::write(dir.path().join(name), e.finish().unwrap()).unwrap();
    };
    // 4096 images of 64×64 (16 MB inflated) and 5 labels.
    gz(
        "train-images-idx3-ubyte.gz",
        &idx::to_bytes_u8(&[4096, 64, 64], &vec![0; 4096 * 64 * 64]),
    );
    gz("train-labels-idx1-ubyte.gz", &idx::to_bytes_u8(&[5], &[0; 5]));
    let (r, bytes) = peak(|| striate::data::idx::load_mnist_dir(dir.path(), striate::data::idx::Split::Train));
    let msg = error_of(r);
    assert!(msg.contains("5 labels for 4096 images"), "{msg}");
    assert!(bytes < 1 << 20, "{bytes} bytes allocated before the mismatch was found");
}

#[test]
fn pandas_names_wider_than_block_is_an_error_not_a_panic() {
    let path = regression("pandas_names_wider_than_block.h5");
    let msg = error_of(striate::io::hdf5::pandas::PandasTable::open(&path).map(|_| ()));
    assert!(msg.contains("names 804 columns") && msg.contains("has 700"), "{msg}");
    let dir = tempfile::tempdir().unwrap();
    let out = striate(&["pixelate", "-i", path.to_str().unwrap(), "-o", "p.npy"], dir.path());
    user_error(&out, &["block0_items"]);
}

#[test]
fn ucr_padding_cannot_amplify_a_small_file_into_gigabytes() {
    let path = regression("ucr_padding_amplifies.ts");
    let (r, bytes) = peak(|| striate::data::series::read_ts(&path, true).map(|_| ()));
    let msg = error_of(r);
    assert!(msg.contains("padding 8001 cases to length 16000"), "{msg}");
    assert!(bytes < 16 << 20, "{bytes} bytes allocated");
}

#[test]
fn truncated_hdf5_reports_the_real_cause() {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toptag_fixed.h5");
    let names: Vec<String> = hdf5::list(&full).unwrap().into_iter().map(|d| d.name).collect();
    let bytes = std::fs::read(&full).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.h5");
    let mut errors = 0;
    for keep in [bytes.len() / 4, bytes.len() / 2, bytes.len() * 3 / 4, bytes.len() - 100] {
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        for name in &names {
            if let Err(e) = hdf5::read(&cut, name) {
                errors += 1;
                let msg = e.to_string();
                assert!(!msg.contains("no dataset"), "cut at {keep}: {msg}");
                assert_eq!(msg.matches("cut.h5").count(), 1, "{msg}");
            }
        }
    }
    assert!(errors > 0, "no truncation was noticed");
}

#[test]
fn model_toml_syntax_error_is_one_line() {
    let msg = error_of(ModelSpec::from_file(&regression("model_toml_syntax.toml")));
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains("line 5"), "{msg}");
    assert_eq!(msg.matches("model_toml_syntax.toml").count(), 1, "{msg}");
}

/// Every regression file through `striate data info` (model files through
/// `summary`): status 2, one line, the file named once.
#[test]
fn every_regression_file_is_one_clear_line_from_the_binary() {
    let dir = regression("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".py") && !n.contains("more_than_declared"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for name in &names {
        let path = dir.join(name);
        let p = path.to_str().unwrap();
        let out = if name.ends_with(".toml") {
            striate(&["summary", "--model", p], Path::new("."))
        } else {
            striate(&["data", "info", p], Path::new("."))
        };
        user_error(&out, &[]);
        assert_eq!(out.stderr.matches(name.as_str()).count(), 1, "{name}: {}", out.stderr);
    }
    // IDX files reach the binary in an MNIST-layout folder.
    let mnist = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.join("idx_dims_overflow.idx"),
        mnist.path().join("train-images-idx3-ubyte"),
    )
    .unwrap();
    std::fs::write(
        mnist.path().join("train-labels-idx1-ubyte"),
        idx::to_bytes_u8(&[4], &[0; 4]),
    )
    .unwrap();
    let out = striate(&["data", "info", mnist.path().to_str().unwrap()], Path::new("."));
    user_error(&out, &["train-images-idx3-ubyte", "overflow"]);
}
