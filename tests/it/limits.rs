//! Flags and model files that ask for impossible sizes, and the flags that
//! once panicked on every use: each is one line and exit status 2, with
//! nothing allocated first.

use std::path::Path;

use striate::io::npy;

use crate::cli::{ok, striate, user_error};

/// 60 flat rows of 64 values (8×8 images with a bright left or right half)
/// of six classes, and their labels, as `flat.npy` and `flat_labels.npy`.
fn flat_rows(dir: &Path) {
    let n = 60;
    let mut x = Vec::with_capacity(n * 64);
    let mut y = Vec::with_capacity(n);
    for s in 0..n {
        let class = s % 6;
        for i in 0..64 {
            let left = i % 8 < 4;
            x.push(if left == (class % 2 == 0) {
                1.0f32
            } else {
                0.1 * class as f32
            });
        }
        y.push(class as i64);
    }
    std::fs::write(dir.join("flat.npy"), npy::to_bytes_f32(&[n, 64], &x)).unwrap();
    std::fs::write(dir.join("flat_labels.npy"), npy::to_bytes_i64(&[n], &y)).unwrap();
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_string()
}

const CONV_MODEL: &str = r#"
[[layers]]
type = "conv2d"
filters = 4
kernel = 3
[[layers]]
type = "relu"
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 6
"#;

#[test]
fn reshape_turns_flat_rows_into_images() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    flat_rows(p);
    let model = write(p, "conv.toml", CONV_MODEL);
    let out = striate(
        &[
            "train",
            "--model",
            &model,
            "--data",
            "flat.npy",
            "--reshape",
            "1,8,8",
            "--epochs",
            "1",
            "--out",
            "r",
        ],
        p,
    );
    ok(&out);
    let manifest = striate::run::Manifest::load(&p.join("r")).unwrap();
    assert_eq!(manifest.preprocess.arranged_shape, [1, 8, 8]);
    assert_eq!(manifest.model.input.as_deref(), Some(&[1usize, 8, 8][..]));
    // A shape with a different number of values, and one that is not a shape.
    let bad = |shape: &str| {
        striate(
            &[
                "train",
                "--model",
                &model,
                "--data",
                "flat.npy",
                "--reshape",
                shape,
                "--out",
                "bad",
            ],
            p,
        )
    };
    user_error(&bad("1,9,9"), &["reshape", "64"]);
    user_error(&bad("1,0,8"), &["--reshape"]);
    user_error(&bad("4294967296,4294967296,2"), &["--reshape"]);
}

#[test]
fn summary_takes_an_input_shape() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let model = write(p, "conv.toml", CONV_MODEL);
    let out = striate(&["summary", "--model", &model, "--input", "1,40,40"], p);
    ok(&out);
    // 40 − 3 + 1 = 38: the conv layer's output.
    assert!(out.stdout.contains("38"), "{}", out.stdout);
    let builtin = striate(&["summary", "--model", "keras_small", "--input", "1,40,40"], p);
    ok(&builtin);
    user_error(
        &striate(&["summary", "--model", &model, "--input", "1,x"], p),
        &["--input"],
    );
}

#[test]
fn layers_too_large_for_memory_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let huge_dense = write(
        p,
        "huge.toml",
        "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 1000000000000\n",
    );
    let out = striate(&["summary", "--model", &huge_dense, "--input", "1,8,8"], p);
    user_error(&out, &["memory", "TiB"]);
    let train = striate(
        &[
            "train",
            "--model",
            &huge_dense,
            "--data",
            "builtin:shapes",
            "--limit",
            "50",
            "--out",
            "r",
        ],
        p,
    );
    user_error(&train, &["memory"]);
    // A padding of 2^64 − 1 (only JSON can say it) and one near usize::MAX / 2.
    for pad in ["18446744073709551615", "9223372036854775807"] {
        let json = format!(
            r#"{{"layers": [{{"type": "conv2d", "filters": 2, "kernel": 3, "padding": {pad}}}, {{"type": "flatten"}}, {{"type": "dense", "units": 2}}]}}"#
        );
        let m = write(p, "pad.json", &json);
        user_error(
            &striate(&["summary", "--model", &m, "--input", "1,8,8"], p),
            &["convolution"],
        );
    }
    // A small limit refuses an ordinary model, and says how much it needs.
    let small = write(
        p,
        "small.toml",
        "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 1000\n",
    );
    let out = striate(
        &["summary", "--model", &small, "--input", "1,64,64", "--max-memory", "1M"],
        p,
    );
    user_error(&out, &["needs", "MiB", "--max-memory"]);
    user_error(
        &striate(&["summary", "--model", &small, "--max-memory", "lots"], p),
        &["--max-memory"],
    );
}

#[test]
fn padding_to_a_huge_size_is_refused_with_the_size_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let model = write(p, "conv.toml", CONV_MODEL);
    let out = striate(
        &[
            "train",
            "--model",
            &model,
            "--data",
            "builtin:shapes",
            "--limit",
            "50",
            "--pad-to",
            "100000x100000",
            "--out",
            "r",
        ],
        p,
    );
    user_error(&out, &["needs", "memory"]);
    assert!(!p.join("r").exists(), "a refused run must not leave a directory");
}

/// A run's `model.toml` edited by hand or damaged: fewer means than inputs,
/// padding smaller than the data. Evaluation and resuming say so.
#[test]
fn inconsistent_preprocessing_in_a_manifest_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let model = write(p, "conv.toml", CONV_MODEL);
    let args = [
        "train",
        "--model",
        &model,
        "--data",
        "builtin:shapes",
        "--limit",
        "40",
        "--epochs",
        "1",
        "--standardize",
        "pixel",
        "--out",
        "r",
    ];
    ok(&striate(&args, p));
    let dir_r = striate::run::RunDir::new(p.join("r"));
    let original = striate::run::Manifest::load(dir_r.path()).unwrap();
    assert!(original.preprocess.mean.len() > 2);
    let evaluate = ["evaluate", "--run", "r", "--data", "builtin:shapes"];

    let mut m = original.clone();
    m.preprocess.mean.truncate(2);
    m.preprocess.std.truncate(2);
    m.save(&dir_r).unwrap();
    user_error(&striate(&evaluate, p), &["2 means"]);
    user_error(&striate(&["train", "--resume", "r"], p), &["2 means"]);

    let mut m = original.clone();
    m.preprocess.pad_to = Some([2, 2]);
    m.save(&dir_r).unwrap();
    user_error(&striate(&evaluate, p), &["cannot pad"]);

    let mut m = original;
    m.preprocess.arranged_shape = vec![1, 3];
    m.save(&dir_r).unwrap();
    user_error(&striate(&evaluate, p), &["arranged shape"]);
}

/// Many layers, each within the memory limit, cannot add up past it: the
/// model's parameters are counted as they are built.
#[test]
fn layers_that_add_up_past_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Each dense layer: 256·256 weights + 256 biases, ×4 (value, gradient,
    // two moments) × 4 bytes ≈ 1 MiB; four of them need about 4 MiB.
    let layer = "[[layers]]\ntype = \"dense\"\nunits = 256\n";
    let model = write(
        p,
        "deep.toml",
        &format!("[[layers]]\ntype = \"flatten\"\n{}", layer.repeat(4)),
    );
    let fits = striate(
        &["summary", "--model", &model, "--input", "1,16,16", "--max-memory", "8M"],
        p,
    );
    assert_eq!(fits.code, 0, "{}", fits.stderr);
    let out = striate(
        &["summary", "--model", &model, "--input", "1,16,16", "--max-memory", "3M"],
        p,
    );
    user_error(&out, &["parameters of layers 0 to", "--max-memory"]);
}
