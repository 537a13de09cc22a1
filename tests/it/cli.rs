//! The `striate` command, run as a user runs it: every data format (files
//! generated here), the run directory, evaluate/predict, every kind of bad
//! input (one line, exit status 2, no panic), and resuming interrupted runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use striate::io::array::{Array, Elements};
use striate::io::{hdf5, idx, npy, npz};
use striate::rng::SeededRng;
use striate::weights::read_safetensors;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn striate(args: &[&str], cwd: &Path) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_striate"))
        .args(args)
        .current_dir(cwd)
        .env("STRIATE_THREADS", "1")
        .output()
        .expect("striate runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
pub fn ok(out: &Out) {
    assert_eq!(out.code, 0, "failed:\nstdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
}

/// A user error: status 2, one `striate: error:` line naming `words`, no panic.
#[track_caller]
pub fn user_error(out: &Out, words: &[&str]) {
    assert_eq!(
        out.code, 2,
        "expected status 2:\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let err = out.stderr.trim();
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "panic: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{err}");
    for w in words {
        assert!(err.contains(w), "{w:?} missing from: {err}");
    }
}

const N: usize = 90;
const S: usize = 12;

/// `N` 12×12 byte images of three classes: a bright left, right or top band.
fn images() -> (Vec<u8>, Vec<u32>) {
    let mut rng = SeededRng::new(5);
    let mut px = Vec::with_capacity(N * S * S);
    let mut labels = Vec::with_capacity(N);
    for i in 0..N {
        let class = (i % 3) as u32;
        for r in 0..S {
            for c in 0..S {
                let on = match class {
                    0 => c < 4,
                    1 => c >= S - 4,
                    _ => r < 4,
                };
                let v = if on { 200.0 } else { 30.0 } + 25.0 * rng.normal();
                px.push(v.clamp(0.0, 255.0) as u8);
            }
        }
        labels.push(class);
    }
    (px, labels)
}

const MODEL: &str = r#"
name = "tiny"
[[layers]]
type = "conv2d"
filters = 4
kernel = 3
[[layers]]
type = "relu"
[[layers]]
type = "max_pool2d"
kernel = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 3
"#;

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.toml");
    std::fs::write(&model, MODEL).unwrap();
    (dir, model)
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write_idx_dir(dir: &Path, compressed: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let (px, labels) = images();
    let lab: Vec<u8> = labels.iter().map(|&l| l as u8).collect();
    for split in ["train", "t10k"] {
        let imgs = idx::to_bytes_u8(&[N, S, S], &px);
        let labs = idx::to_bytes_u8(&[N], &lab);
        let (ni, nl) = (
            format!("{split}-images-idx3-ubyte"),
            format!("{split}-labels-idx1-ubyte"),
        );
        if compressed {
            std::fs::write(dir.join(ni + ".gz"), gz(&imgs)).unwrap();
            std::fs::write(dir.join(nl + ".gz"), gz(&labs)).unwrap();
        } else {
            std::fs::write(dir.join(ni), imgs).unwrap();
            std::fs::write(dir.join(nl), labs).unwrap();
        }
    }
}

fn labels_array(labels: &[u32]) -> Array {
    Array::new(
        vec![labels.len()],
        "int64",
        Elements::Int(labels.iter().map(|&l| l as i64).collect()),
    )
}

/// Runs the full cycle on one data source: info, train, the run directory,
/// evaluate and predict. `extra` are read options (every command), `train_extra`
/// training-only flags.
fn cycle(cwd: &Path, model: &Path, data: &str, extra: &[&str], train_extra: &[&str]) -> PathBuf {
    let mut info_args = vec!["data", "info", data];
    info_args.extend_from_slice(extra);
    let info = striate(&info_args, cwd);
    ok(&info);
    assert!(info.stdout.contains("classes:  3"), "{}", info.stdout);
    let run = cwd.join(format!("run-{}", data.replace(['/', '.', ':'], "_")));
    let run_s = run.to_str().unwrap();
    let mut args = vec![
        "train",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data,
        "--epochs",
        "3",
        "--batch",
        "16",
        "--out",
        run_s,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(train_extra);
    if !train_extra.contains(&"--test") {
        args.extend_from_slice(&["--test-split", "0.2"]);
    }
    let train = striate(&args, cwd);
    ok(&train);
    assert!(train.stdout.contains("epoch 3/3"), "{}", train.stdout);
    assert!(train.stdout.contains("report:"), "{}", train.stdout);
    for f in [
        "model.safetensors",
        "model.toml",
        "checkpoint.safetensors",
        "history.csv",
        "metrics.json",
        "report.html",
        "loss.svg",
        "loss.png",
        "accuracy.svg",
        "accuracy.png",
        "confusion_matrix.svg",
        "confusion_matrix.png",
        "samples.svg",
        "samples.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing in {}", run.display());
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    for key in ["accuracy", "loss", "confusion_matrix", "per_class", "n_samples"] {
        assert!(metrics.get(key).is_some(), "metrics.json lacks {key}");
    }
    assert!(metrics["accuracy"].as_f64().unwrap() > 0.6, "{metrics}");
    let history = std::fs::read_to_string(run.join("history.csv")).unwrap();
    let header = history.lines().next().unwrap_or("");
    assert!(
        header.starts_with("epoch,loss,accuracy,val_loss,val_accuracy,val_auc,")
            && header.ends_with(",lr,seconds,data_wait"),
        "{header}"
    );
    assert_eq!(history.lines().count(), 4);
    let png = std::fs::read(run.join("loss.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Total params") && html.contains("precision"));
    let mut ev = vec!["evaluate", "--run", run_s, "--data", data];
    ev.extend_from_slice(extra);
    let e = striate(&ev, cwd);
    ok(&e);
    assert!(e.stdout.contains("accuracy"), "{}", e.stdout);
    let csv = cwd.join("pred.csv");
    let mut pr = vec![
        "predict",
        "--run",
        run_s,
        "--data",
        data,
        "--out",
        csv.to_str().unwrap(),
    ];
    pr.extend_from_slice(extra);
    ok(&striate(&pr, cwd));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.lines().count() > 10 && text.starts_with("index,predicted,"),
        "{text}"
    );
    run
}

#[test]
fn idx_folders_raw_and_gzip() {
    let (dir, model) = setup();
    write_idx_dir(&dir.path().join("gz"), true);
    write_idx_dir(&dir.path().join("raw"), false);
    // The t10k files become the test set automatically.
    cycle(dir.path(), &model, "gz", &[], &["--test", "gz"]);
    let run = cycle(dir.path(), &model, "raw", &[], &["--test", "raw"]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["n_samples"], N);
}

#[test]
fn hdf5_by_keys_and_by_class_with_lzf() {
    let (dir, model) = setup();
    let (px, labels) = images();
    // Channels-last float64 images, as h5py users store them.
    let x = Array::new(
        vec![N, S, S, 1],
        "float64",
        Elements::F64(px.iter().map(|&v| v as f64 / 255.0).collect()),
    );
    hdf5::write(
        &dir.path().join("keys.h5"),
        &[("images", &x), ("labels", &labels_array(&labels))],
        None,
    )
    .unwrap();
    cycle(dir.path(), &model, "keys.h5", &[], &[]);
    // One dataset per class, LZF-compressed in chunks.
    let per_class: Vec<Array> = (0..3)
        .map(|c| {
            let rows: Vec<f32> = (0..N)
                .filter(|i| labels[*i] == c)
                .flat_map(|i| px[i * S * S..(i + 1) * S * S].iter().map(|&v| v as f32))
                .collect();
            Array::from_f32(&[rows.len() / (S * S), S, S], rows)
        })
        .collect();
    hdf5::write(
        &dir.path().join("classes.hdf5"),
        &[("A", &per_class[0]), ("B", &per_class[1]), ("C", &per_class[2])],
        Some(7),
    )
    .unwrap();
    let run = cycle(
        dir.path(),
        &model,
        "classes.hdf5",
        &["--class-keys", "A,B,C"],
        &["--scale", "0.0039215686"],
    );
    let manifest = std::fs::read_to_string(run.join("model.toml")).unwrap();
    assert!(manifest.contains("\"A\"") && manifest.contains("\"C\""), "{manifest}");
}

#[test]
fn npy_with_labels_beside_and_npz() {
    let (dir, model) = setup();
    let (px, labels) = images();
    std::fs::write(dir.path().join("x.npy"), npy::to_bytes_u8(&[N, S, S], &px)).unwrap();
    let lab: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    std::fs::write(dir.path().join("y_labels.npy"), npy::to_bytes_i64(&[N], &lab)).unwrap();
    cycle(dir.path(), &model, "x.npy", &[], &[]);
    let x = npy::to_bytes_u8(&[N, S, S], &px);
    let y = npy::to_bytes_i64(&[N], &lab);
    let z = npz::to_bytes(&[
        ("x_train", x.clone()),
        ("y_train", y.clone()),
        ("x_test", x),
        ("y_test", y),
    ])
    .unwrap();
    std::fs::write(dir.path().join("data.npz"), z).unwrap();
    cycle(dir.path(), &model, "data.npz", &[], &["--test", "data.npz"]);
    // Prediction needs no labels.
    std::fs::create_dir(dir.path().join("unlabeled")).unwrap();
    std::fs::write(dir.path().join("unlabeled/x.npy"), npy::to_bytes_u8(&[N, S, S], &px)).unwrap();
    let run = dir.path().join("run-x_npy");
    let out = dir.path().join("p.npy");
    ok(&striate(
        &[
            "predict",
            "--run",
            run.to_str().unwrap(),
            "--data",
            "unlabeled/x.npy",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    ));
    let p = npy::read(&out).unwrap();
    assert_eq!(p.shape, [N, 3]);
}

#[test]
fn csv_with_header_and_named_classes() {
    let (dir, model) = setup();
    let (px, labels) = images();
    let names = ["left", "right", "top"];
    let mut text = String::new();
    text.push_str(&(0..S * S).map(|i| format!("p{i}")).collect::<Vec<_>>().join(","));
    text.push_str(",label\n");
    for (i, &l) in labels.iter().enumerate() {
        let row: Vec<String> = px[i * S * S..(i + 1) * S * S].iter().map(|v| v.to_string()).collect();
        text.push_str(&format!("{},{}\n", row.join(","), names[l as usize]));
    }
    std::fs::write(dir.path().join("table.csv"), &text).unwrap();
    // Flat rows become 12×12 images for the 2-D model; names become classes.
    let run = cycle(dir.path(), &model, "table.csv", &[], &["--scale", "0.0039215686"]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["classes"], serde_json::json!(["left", "right", "top"]));
}

#[test]
fn image_folder_of_pngs() {
    let (dir, model) = setup();
    let (px, labels) = images();
    let root = dir.path().join("imgs");
    for (i, &l) in labels.iter().enumerate() {
        let class_dir = root.join(["left", "right", "top"][l as usize]);
        std::fs::create_dir_all(&class_dir).unwrap();
        let img = image::GrayImage::from_raw(S as u32, S as u32, px[i * S * S..(i + 1) * S * S].to_vec()).unwrap();
        img.save(class_dir.join(format!("{i:03}.png"))).unwrap();
    }
    cycle(dir.path(), &model, "imgs", &[], &[]);
}

#[test]
fn builtin_data_and_builtin_models() {
    let dir = tempfile::tempdir().unwrap();
    let out = striate(
        &[
            "train",
            "--model",
            "keras_small",
            "--data",
            "builtin:shapes",
            "--epochs",
            "1",
            "--limit",
            "300",
            "--out",
            "r",
        ],
        dir.path(),
    );
    ok(&out);
    assert!(out.stdout.contains("Model: \"keras_small\""), "{}", out.stdout);
    let s = striate(&["summary", "--model", "lenet5"], dir.path());
    ok(&s);
    assert!(s.stdout.contains("61,706"), "{}", s.stdout);
    let m = striate(&["models"], dir.path());
    ok(&m);
    assert!(m.stdout.contains("fashion_convnet") && m.stdout.contains("builtin:shapes"));
}

#[test]
fn json_progress_is_one_object_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let out = striate(
        &[
            "train",
            "--model",
            "keras_small",
            "--data",
            "builtin:shapes",
            "--epochs",
            "2",
            "--limit",
            "200",
            "--json",
            "--out",
            "r",
        ],
        dir.path(),
    );
    ok(&out);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 3, "2 epochs and the final metrics: {}", out.stdout);
    assert_eq!(lines[1]["epoch"], 2);
    assert!(lines[2]["accuracy"].is_number());
}

// ------------------------------------------------------------ bad input

#[test]
fn missing_and_unknown_files() {
    let (dir, model) = setup();
    let m = model.to_str().unwrap();
    let missing = striate(&["train", "--model", m, "--data", "nope.h5"], dir.path());
    user_error(&missing, &["nope.h5", "no such file or directory"]);
    // Regression: the cause was printed twice ("…: entity not found: entity not found").
    assert_eq!(missing.stderr.matches("no such file").count(), 1, "{}", missing.stderr);
    std::fs::write(dir.path().join("data.xyz"), b"hello").unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "data.xyz"], dir.path()),
        &["data.xyz", "unknown data format"],
    );
    user_error(
        &striate(&["train", "--model", "nomodel", "--data", "builtin:shapes"], dir.path()),
        &["unknown model"],
    );
    user_error(
        &striate(&["data", "info", "builtin:nothing"], dir.path()),
        &["builtin:nothing"],
    );
}

#[test]
fn corrupt_and_truncated_files() {
    let (dir, model) = setup();
    let m = model.to_str().unwrap();
    write_idx_dir(&dir.path().join("idx"), true);
    // Truncate the gzip stream of the images.
    let f = dir.path().join("idx/train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "idx"], dir.path()),
        &["train-images-idx3-ubyte.gz"],
    );
    // An IDX file whose header promises more data than it has.
    write_idx_dir(&dir.path().join("idx2"), false);
    let f = dir.path().join("idx2/train-images-idx3-ubyte");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() - 100]).unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "idx2"], dir.path()),
        &["truncated"],
    );
    // A truncated HDF5 file.
    let (px, labels) = images();
    let x = Array::new(vec![N, S, S], "uint8", Elements::U8(px.clone()));
    let h5 = dir.path().join("cut.h5");
    hdf5::write(&h5, &[("images", &x), ("labels", &labels_array(&labels))], None).unwrap();
    let bytes = std::fs::read(&h5).unwrap();
    std::fs::write(&h5, &bytes[..bytes.len() / 2]).unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "cut.h5"], dir.path()),
        &["cut.h5"],
    );
    // A truncated .npy.
    let b = npy::to_bytes_u8(&[N, S, S], &px);
    std::fs::write(dir.path().join("cut.npy"), &b[..b.len() - 10]).unwrap();
    std::fs::write(dir.path().join("cut_labels.npy"), npy::to_bytes_i64(&[N], &vec![0; N])).unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "cut.npy"], dir.path()),
        &["cut.npy", "truncated"],
    );
    // Not a .npy at all.
    std::fs::write(dir.path().join("fake.npy"), b"not numpy").unwrap();
    user_error(
        &striate(&["data", "info", "fake.npy", "--labels", "cut_labels.npy"], dir.path()),
        &["fake.npy"],
    );
}

#[test]
fn bad_labels() {
    let (dir, model) = setup();
    let m = model.to_str().unwrap();
    let (px, _) = images();
    std::fs::write(dir.path().join("x.npy"), npy::to_bytes_u8(&[N, S, S], &px)).unwrap();
    // Non-integer labels.
    let frac: Vec<f32> = (0..N).map(|i| i as f32 * 0.5).collect();
    std::fs::write(dir.path().join("frac_labels.npy"), npy::to_bytes_f32(&[N], &frac)).unwrap();
    user_error(
        &striate(
            &["train", "--model", m, "--data", "x.npy", "--labels", "frac_labels.npy"],
            dir.path(),
        ),
        &["frac_labels.npy", "label 1 is 0.5"],
    );
    // Negative labels.
    let neg: Vec<i64> = (0..N as i64).map(|i| i % 3 - 1).collect();
    std::fs::write(dir.path().join("neg_labels.npy"), npy::to_bytes_i64(&[N], &neg)).unwrap();
    user_error(
        &striate(
            &["train", "--model", m, "--data", "x.npy", "--labels", "neg_labels.npy"],
            dir.path(),
        ),
        &["-1"],
    );
    // More classes than the model file's 3 outputs.
    let many: Vec<i64> = (0..N as i64).map(|i| i % 5).collect();
    std::fs::write(dir.path().join("many_labels.npy"), npy::to_bytes_i64(&[N], &many)).unwrap();
    user_error(
        &striate(
            &["train", "--model", m, "--data", "x.npy", "--labels", "many_labels.npy"],
            dir.path(),
        ),
        &["5 classes", "3 outputs"],
    );
    // A label count that does not match the samples.
    std::fs::write(
        dir.path().join("short_labels.npy"),
        npy::to_bytes_i64(&[5], &[0, 1, 2, 0, 1]),
    )
    .unwrap();
    user_error(
        &striate(
            &["train", "--model", m, "--data", "x.npy", "--labels", "short_labels.npy"],
            dir.path(),
        ),
        &["90 samples but 5 labels"],
    );
}

#[test]
fn shapes_that_do_not_fit_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("fixed.toml");
    std::fs::write(&fixed, format!("input = [1, 28, 28]\n{MODEL}")).unwrap();
    let (px, labels) = images();
    std::fs::write(dir.path().join("x.npy"), npy::to_bytes_u8(&[N, S, S], &px)).unwrap();
    let lab: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    std::fs::write(dir.path().join("labels.npy"), npy::to_bytes_i64(&[N], &lab)).unwrap();
    // 12×12 data is padded to a 28×28 model; 40×40 data cannot fit.
    ok(&striate(
        &[
            "train",
            "--model",
            fixed.to_str().unwrap(),
            "--data",
            "x.npy",
            "--epochs",
            "1",
            "--out",
            "a",
        ],
        dir.path(),
    ));
    let big: Vec<u8> = vec![0; N * 40 * 40];
    std::fs::create_dir(dir.path().join("big")).unwrap();
    std::fs::write(dir.path().join("big/x.npy"), npy::to_bytes_u8(&[N, 40, 40], &big)).unwrap();
    std::fs::write(dir.path().join("big/labels.npy"), npy::to_bytes_i64(&[N], &lab)).unwrap();
    user_error(
        &striate(
            &["train", "--model", fixed.to_str().unwrap(), "--data", "big/x.npy"],
            dir.path(),
        ),
        &["28×28", "40×40"],
    );
    // A model too deep for tiny images names the layer.
    let tiny: Vec<u8> = vec![0; N * 4 * 4];
    std::fs::create_dir(dir.path().join("tiny")).unwrap();
    std::fs::write(dir.path().join("tiny/x.npy"), npy::to_bytes_u8(&[N, 4, 4], &tiny)).unwrap();
    std::fs::write(dir.path().join("tiny/labels.npy"), npy::to_bytes_i64(&[N], &lab)).unwrap();
    user_error(
        &striate(&["train", "--model", "jet_cnn", "--data", "tiny/x.npy"], dir.path()),
        &["layer 0 (conv1", "kernel"],
    );
    // Evaluating on data of another shape.
    user_error(
        &striate(&["evaluate", "--run", "a", "--data", "tiny/x.npy"], dir.path()),
        &["[4, 4]", "[12, 12]"],
    );
}

#[test]
fn empty_data_and_non_finite_values() {
    let (dir, model) = setup();
    let m = model.to_str().unwrap();
    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "empty.csv"], dir.path()),
        &["empty.csv", "empty"],
    );
    std::fs::write(dir.path().join("e.npy"), npy::to_bytes_f32(&[0, S, S], &[])).unwrap();
    std::fs::write(dir.path().join("e_labels.npy"), npy::to_bytes_i64(&[0], &[])).unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "e.npy"], dir.path()),
        &["empty"],
    );
    let mut vals = vec![0.5f32; N * S * S];
    vals[S * S * 7 + 3] = f32::NAN;
    std::fs::write(dir.path().join("nan.npy"), npy::to_bytes_f32(&[N, S, S], &vals)).unwrap();
    std::fs::write(dir.path().join("nan_labels.npy"), npy::to_bytes_i64(&[N], &vec![0; N])).unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "nan.npy"], dir.path()),
        &["nan.npy", "sample 7", "NaN"],
    );
    // A malformed CSV row names its line.
    std::fs::write(dir.path().join("bad.csv"), "1,2,3,0\n4,5,x,1\n").unwrap();
    user_error(
        &striate(&["train", "--model", m, "--data", "bad.csv"], dir.path()),
        &["bad.csv", "line 2", "\"x\""],
    );
}

#[test]
fn existing_output_folder_needs_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--model",
        "keras_small",
        "--data",
        "builtin:shapes",
        "--epochs",
        "1",
        "--limit",
        "120",
        "--out",
        "r",
    ];
    ok(&striate(&args, dir.path()));
    user_error(&striate(&args, dir.path()), &["--overwrite"]);
    let mut again = args.to_vec();
    again.push("--overwrite");
    ok(&striate(&again, dir.path()));
}

#[test]
fn invalid_flag_values() {
    let dir = tempfile::tempdir().unwrap();
    let base = ["train", "--model", "keras_small", "--data", "builtin:shapes"];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        striate(&a, dir.path())
    };
    user_error(&with(&["--lr=-1"]), &["learning rate"]);
    user_error(&with(&["--batch", "0"]), &["batch size"]);
    user_error(&with(&["--valid-split", "1.5"]), &["1.5"]);
    user_error(&with(&["--schedule", "sometimes"]), &["--schedule"]);
    user_error(&with(&["--momentum", "0.9"]), &["--momentum"]);
    user_error(&with(&["--threads", "0"]), &["--threads"]);
    // Parsing errors are one line too.
    user_error(&with(&["--optimizer", "lbfgs"]), &["lbfgs", "--optimizer"]);
    user_error(&striate(&["train", "--epochs", "x"], dir.path()), &["--epochs"]);
    user_error(&striate(&["train", "--frobnicate"], dir.path()), &["--frobnicate"]);
    // Help is not an error.
    let help = striate(&["train", "--help"], dir.path());
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--valid-split"));
}

// ------------------------------------------------------------ resume

fn resume_model(dir: &Path) -> PathBuf {
    let p = dir.join("resume.toml");
    std::fs::write(
        &p,
        r#"
[[layers]]
type = "conv2d"
filters = 16
kernel = 3
padding = "same"
[[layers]]
type = "relu"
[[layers]]
type = "dropout"
p = 0.2
[[layers]]
type = "conv2d"
filters = 16
kernel = 3
padding = "same"
[[layers]]
type = "batch_norm2d"
[[layers]]
type = "relu"
[[layers]]
type = "max_pool2d"
kernel = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 6
"#,
    )
    .unwrap();
    p
}

fn train_args<'a>(model: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--model",
        model,
        "--data",
        "builtin:shapes",
        "--epochs",
        "4",
        "--batch",
        "8",
        "--valid-split",
        "0.1",
        "--seed",
        "3",
        "--out",
        out,
    ]
}

fn weights(dir: &Path) -> std::collections::BTreeMap<String, striate::weights::Stored> {
    read_safetensors(&dir.join("model.safetensors")).unwrap().tensors
}

fn spawn(args: &[&str], cwd: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_striate"))
        .args(args)
        .current_dir(cwd)
        .env("STRIATE_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists (the first checkpoint), at most a minute.
fn wait_for(path: &Path) {
    let t = Instant::now();
    while !path.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Trains `full` uninterrupted, then starts the same run as `name` and sends
/// `signal` 30 ms after its first checkpoint (the one written when the run
/// directory is made, after which Ctrl-C is always handled) exists; returns
/// the stopped process.
fn interrupted_run(dir: &Path, name: &str, signal: &str) -> std::process::Output {
    let model = resume_model(dir);
    let m = model.to_str().unwrap();
    ok(&striate(&train_args(m, "full"), dir));
    let child = spawn(&train_args(m, name), dir);
    wait_for(&dir.join(name).join("checkpoint.safetensors"));
    std::thread::sleep(Duration::from_millis(30));
    let pid = child.id().to_string();
    assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    child.wait_with_output().unwrap()
}

#[test]
fn resume_after_kill_ends_in_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    // Killed hard 30 ms after the checkpoint a new run directory gets, in
    // its first epochs: it resumes from the last checkpoint it wrote.
    interrupted_run(dir.path(), "killed", "-KILL");
    assert!(
        !dir.path().join("killed/model.safetensors").exists(),
        "the run finished before it was killed"
    );
    let out = striate(&["train", "--resume", "killed"], dir.path());
    ok(&out);
    assert!(out.stdout.contains("resuming"), "{}", out.stdout);
    assert_eq!(weights(&dir.path().join("full")), weights(&dir.path().join("killed")));
    // No temporary files are left behind.
    for entry in std::fs::read_dir(dir.path().join("killed")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "{name} left behind");
    }
}

#[test]
fn ctrl_c_saves_a_mid_epoch_checkpoint_that_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // SIGINT, as Ctrl-C sends.
    let out = interrupted_run(dir.path(), "stopped", "-INT");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("striate train --resume stopped"), "{stderr}");
    let ck = striate::run::load_checkpoint(&dir.path().join("stopped/checkpoint.safetensors")).unwrap();
    assert!(
        ck.progress.batch > 0,
        "expected a mid-epoch checkpoint, got batch {}",
        ck.progress.batch
    );
    ok(&striate(&["train", "--resume", "stopped"], dir.path()));
    assert_eq!(weights(&dir.path().join("full")), weights(&dir.path().join("stopped")));
}
