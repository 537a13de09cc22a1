//! Streaming training: the shuffle is a seeded permutation (the in-memory
//! one when the buffer covers the set), a small set trains to the same
//! metrics and weights streamed (`.npy`, HDF5, Parquet arrays and Parquet
//! image shards) and in memory, an interrupted streamed run resumes
//! mid-epoch to the same weights, a Parquet file above half the memory
//! budget streams on its own, and bad files are one line, exit 2.

use std::path::Path;

use striate::data::batches::epoch_order;
use striate::data::preprocess::Standardize;
use striate::data::stream::stream_order;
use striate::io::array::{Array, Elements};
use striate::rng::SeededRng;
use striate::run::{ModelSource, Run, RunDir, RunPlan};

/// `n` 12×12 single-channel images, channels last, whose class (of 3) is a
/// brighter square somewhere; written as `x.npy` + `x_labels.npy`, as
/// `x.h5` (chunks of 10 rows, f32) and as `x.parquet` (a `list<float>`
/// column `x` of 144 values and an int64 `label`, row groups of 10 rows)
/// in `dir`.
fn write_images(dir: &Path, n: usize) {
    let mut rng = SeededRng::new(11);
    let mut x = Vec::with_capacity(n * 144);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 3;
        for p in 0..144 {
            let (r, col) = (p / 12, p % 12);
            let lit = r / 4 == c && col / 4 == c;
            x.push(rng.normal() as f32 * 0.5 + if lit { 1.5 } else { 0.0 });
        }
        y.push(c as i64);
    }
    std::fs::write(dir.join("x.npy"), striate::io::npy::to_bytes_f32(&[n, 12, 12, 1], &x)).unwrap();
    std::fs::write(dir.join("x_labels.npy"), striate::io::npy::to_bytes_i64(&[n], &y)).unwrap();
    write_parquet(&dir.join("x.parquet"), &x, &y, 10);
    let images = Array::from_f32(&[n, 12, 12, 1], x);
    let labels = Array::new(vec![n], "int64", Elements::Int(y));
    striate::io::hdf5::write(&dir.join("x.h5"), &[("images", &images), ("labels", &labels)], Some(10)).unwrap();
}

/// Rows of 144 values `x` with labels `y` as a Parquet table, `group` rows a row group.
fn write_parquet(path: &Path, x: &[f32], y: &[i64], group: usize) {
    use striate::io::parquet::{ColumnValues, TableWriter, WriteType};
    let columns = [
        ("x".to_string(), WriteType::F32List),
        ("label".to_string(), WriteType::I64),
    ];
    let mut w = TableWriter::create(path, &columns).unwrap();
    for (xs, ys) in x.chunks(group * 144).zip(y.chunks(group)) {
        w.write_group(&[ColumnValues::F32List { values: xs, len: 144 }, ColumnValues::I64(ys)])
            .unwrap();
    }
    w.finish().unwrap();
}

const MODEL: &str = r#"
[[layers]]
type = "conv2d"
filters = 4
kernel = 3
padding = "same"
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

fn plan(dir: &Path, data: &str, stream: bool, buffer: Option<usize>) -> RunPlan {
    std::fs::write(dir.join("tiny.toml"), MODEL).unwrap();
    let model = ModelSource::parse(dir.join("tiny.toml").to_str().unwrap()).unwrap();
    let mut plan = RunPlan::new(model, dir.join(data).to_str().unwrap(), 4);
    plan.training.epochs = 2;
    plan.training.batch_size = 16;
    plan.data.valid_split = Some(0.2);
    plan.data.stream = stream;
    plan.data.shuffle_buffer = buffer;
    plan.prep.standardize = Standardize::PerPixel;
    if data.ends_with(".parquet") {
        // The Parquet rows are flat: the same 12×12 images, one channel.
        plan.prep.reshape = Some(vec![1, 12, 12]);
    }
    plan
}

fn weights(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("model.safetensors")).unwrap()
}

#[test]
fn the_streamed_order_is_a_seeded_permutation() {
    let blocks: Vec<std::ops::Range<usize>> = (0..10).map(|b| b * 10..(b + 1) * 10).collect();
    for buffer in [1, 7, 35, 99] {
        let (order, seq) = stream_order(3, 2, 100, &blocks, buffer, true);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>(), "buffer {buffer}");
        assert_ne!(order, (0..100).collect::<Vec<_>>(), "buffer {buffer}: not shuffled");
        assert_eq!(
            stream_order(3, 2, 100, &blocks, buffer, true),
            (order.clone(), seq.clone())
        );
        assert_ne!(stream_order(3, 3, 100, &blocks, buffer, true).0, order, "epochs differ");
        // A sample leaves the buffer at most `buffer` samples after its
        // block has been read: a bounded buffer.
        let pos_of_block: Vec<usize> = {
            let mut p = vec![0; 10];
            for (k, &b) in seq.iter().enumerate() {
                p[b] = k;
            }
            p
        };
        for (k, &s) in order.iter().enumerate() {
            let read_by = (pos_of_block[s / 10] + 1) * 10;
            assert!(
                k + buffer + 10 >= read_by,
                "buffer {buffer}: sample {s} sent before its block was read"
            );
        }
    }
    for shuffle in [false, true] {
        let (order, _) = stream_order(5, 1, 100, &blocks, 100, shuffle);
        assert_eq!(order, epoch_order(5, 1, 100, shuffle));
    }
}

#[test]
fn a_small_set_trains_alike_streamed_and_in_memory() {
    // Plain, and with augmentation (drawn per batch position, so alike too).
    for augment in ["", "hflip,crop:2"] {
        trains_alike_streamed_and_in_memory(augment);
    }
}

fn trains_alike_streamed_and_in_memory(augment: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write_images(p, 150);
    let mut results = Vec::new();
    let sets = [
        ("mem", "x.npy", false),
        ("npy", "x.npy", true),
        ("h5", "x.h5", true),
        ("pq-mem", "x.parquet", false),
        ("pq", "x.parquet", true),
    ];
    for (name, data, stream) in sets {
        let mut plan = plan(p, data, stream, None);
        if !augment.is_empty() {
            plan.training.augment = augment.parse().unwrap();
        }
        let mut run = Run::create(&plan, RunDir::new(p.join(name)), true).unwrap();
        assert_eq!(run.sets.train.is_streamed(), stream, "{name}");
        run.fit(&mut []).unwrap();
        // Time waiting for the reader is logged for streamed epochs only.
        for e in &run.trainer.progress.history.epochs {
            assert_eq!(e.data_wait.is_some(), stream, "{name}");
            assert!(e.data_wait.is_none_or(|w| (0.0..=e.seconds).contains(&w)), "{name}");
        }
        let r = run.finish(&[0.5]).unwrap();
        results.push((
            name,
            r.metrics,
            run.trainer.progress.history.epochs.clone(),
            weights(&p.join(name)),
        ));
    }
    let (_, m0, h0, w0) = &results[0];
    for (name, m, h, w) in &results[1..] {
        assert_eq!(
            m.loss.to_bits(),
            m0.loss.to_bits(),
            "{name} {augment:?}: loss {} vs {}",
            m.loss,
            m0.loss
        );
        assert_eq!(m.accuracy, m0.accuracy, "{name}");
        for (a, b) in h.iter().zip(h0) {
            assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "{name}: epoch {}", a.epoch);
            assert_eq!(a.val_loss, b.val_loss, "{name}: epoch {}", a.epoch);
        }
        assert!(
            w == w0,
            "{name} {augment:?}: the weights differ from the in-memory run's"
        );
    }
}

#[test]
fn an_interrupted_streamed_run_resumes_mid_epoch_to_the_same_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write_images(p, 150);
    // Blocks of 10 rows (HDF5 chunks, Parquet row groups) through a buffer
    // of 16: the block order and the buffer both shuffle.
    for data in ["x.h5", "x.parquet"] {
        resumes_to_the_same_weights(p, data);
    }
}

fn resumes_to_the_same_weights(p: &Path, data: &str) {
    let plan = plan(p, data, true, Some(16));
    let full = p.join(format!("full-{data}"));
    let mut run = Run::create(&plan, RunDir::new(&full), true).unwrap();
    run.fit(&mut []).unwrap();
    run.finish(&[0.5]).unwrap();
    // 120 training rows in batches of 16: 8 a batch; stop inside both epochs.
    for stop in [3, 10] {
        let out = p.join(format!("stop{stop}-{data}"));
        let mut run = Run::create(&plan, RunDir::new(&out), true).unwrap();
        let outcome = run.fit(&mut [&mut crate::common::StopAfter(stop)]).unwrap();
        assert!(
            matches!(outcome, striate::train::Outcome::Interrupted { .. }),
            "{data}: {outcome:?}"
        );
        assert!(run.trainer.progress.batch > 0, "{data}: stopped at an epoch's end");
        drop(run);
        let mut resumed = Run::resume(RunDir::new(&out), None).unwrap();
        assert!(resumed.sets.train.is_streamed());
        resumed.fit(&mut []).unwrap();
        resumed.finish(&[0.5]).unwrap();
        assert!(
            weights(&out) == weights(&full),
            "{data}: stop after {stop}: weights differ"
        );
    }
}

#[test]
fn truncated_or_unstreamable_files_are_one_line_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write_images(p, 150);
    let bytes = std::fs::read(p.join("x.npy")).unwrap();
    std::fs::write(p.join("cut.npy"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(p.join("x_labels.npy"), p.join("cut_labels.npy")).unwrap();
    let args = [
        "train", "--model", "jet_cnn", "--stream", "--epochs", "1", "--quiet", "--data",
    ];
    let out = crate::cli::striate(&[&args[..], &["cut.npy"]].concat(), p);
    crate::cli::user_error(&out, &["cut.npy", "truncated"]);
    let h5 = std::fs::read(p.join("x.h5")).unwrap();
    std::fs::write(p.join("cut.h5"), &h5[..h5.len() / 2]).unwrap();
    let out = crate::cli::striate(&[&args[..], &["cut.h5"]].concat(), p);
    crate::cli::user_error(&out, &["cut.h5"]);
    let out = crate::cli::striate(&[&args[..], &["builtin:shapes"]].concat(), p);
    crate::cli::user_error(&out, &["--stream", "builtin:shapes"]);
    let out = crate::cli::striate(&[&args[..], &["x.npy", "--shuffle-buffer", "0"]].concat(), p);
    crate::cli::user_error(&out, &["--shuffle-buffer"]);
}

/// With no `--stream`, a training set whose samples would take more than a
/// third of `--max-memory` (150 images of 12×12: 86 KB) is streamed, and
/// says so; under a larger budget it is read whole.
#[test]
fn a_set_over_a_third_of_the_memory_budget_streams_by_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write_images(p, 150);
    std::fs::write(p.join("tiny.toml"), MODEL).unwrap();
    for (budget, streamed) in [("250K", true), ("1G", false)] {
        let run = crate::cli::striate(
            &[
                "train",
                "--model",
                "tiny.toml",
                "--data",
                "x.h5",
                "--epochs",
                "1",
                "--max-memory",
                budget,
                "--out",
                budget,
            ],
            p,
        );
        assert_eq!(run.code, 0, "{budget}: {}", run.stderr);
        let said = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(said.contains("streaming x.h5 from disk"), streamed, "{budget}: {said}");
        let manifest = std::fs::read_to_string(p.join(budget).join("model.toml")).unwrap();
        assert_eq!(manifest.contains("stream = true"), streamed, "{budget}: {manifest}");
    }
}

/// The Hub's image layout (`data/train-0000k-of-00002.parquet`, PNGs in an
/// `image` column, a ClassLabel `label`): streamed a row group at a time
/// across the two shards, it trains as read whole.
#[test]
fn parquet_image_shards_train_alike_streamed_and_in_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let shards = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toptag_images");
    let mut results = Vec::new();
    for (name, stream) in [("mem", false), ("stream", true)] {
        let mut plan = plan(p, "unused", stream, None);
        std::fs::write(p.join("tiny2.toml"), MODEL.replace("units = 3", "units = 2")).unwrap();
        plan.model = ModelSource::parse(p.join("tiny2.toml").to_str().unwrap()).unwrap();
        plan.data.train = shards.to_str().unwrap().to_string();
        plan.training.batch_size = 3;
        let mut run = Run::create(&plan, RunDir::new(p.join(name)), true).unwrap();
        assert_eq!(run.sets.train.is_streamed(), stream, "{name}");
        assert_eq!(run.sets.class_names, ["qcd", "top"], "{name}");
        run.fit(&mut []).unwrap();
        let r = run.finish(&[0.5]).unwrap();
        results.push((r.metrics, weights(&p.join(name))));
    }
    let ((m0, w0), (m1, w1)) = (&results[0], &results[1]);
    assert_eq!(m1.loss.to_bits(), m0.loss.to_bits(), "loss {} vs {}", m1.loss, m0.loss);
    assert_eq!(m1.accuracy, m0.accuracy);
    assert!(w1 == w0, "the streamed weights differ from the in-memory run's");
}

/// `striate train` of the tiny model for one epoch on the flat rows of a
/// Parquet table (reshaped to 12×12 images), with `more` arguments.
fn train_flat(dir: &Path, more: &[&str]) -> crate::cli::Out {
    std::fs::write(dir.join("tiny.toml"), MODEL).unwrap();
    let args = ["train", "--model", "tiny.toml", "--reshape", "1,12,12", "--epochs", "1"];
    crate::cli::striate(&[&args[..], more].concat(), dir)
}

/// A Parquet table whose samples take more than a third of `--max-memory`
/// streams without `--stream`; one that fits is read whole.
#[test]
fn a_parquet_table_above_a_third_of_the_budget_streams() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write_images(p, 150);
    // 150 rows of 144 f32: 86 KB of samples.
    let run = train_flat(p, &["--data", "x.parquet", "--out", "big", "--max-memory", "150K"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("streaming") && run.stdout.contains("x.parquet"),
        "{}",
        run.stdout
    );
    let run = train_flat(p, &["--data", "x.parquet", "--out", "small"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("streaming"), "{}", run.stdout);
}

#[test]
fn truncated_or_corrupt_parquet_streams_as_one_line_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write_images(p, 150);
    let bytes = std::fs::read(p.join("x.parquet")).unwrap();
    std::fs::write(p.join("cut.parquet"), &bytes[..bytes.len() / 2]).unwrap();
    // The page header of row group 7's samples overwritten, the footer and
    // the labels left whole: the file opens, and the error comes from the
    // reader thread when that row group is read, mid-epoch.
    let at = {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let f = SerializedFileReader::new(std::fs::File::open(p.join("x.parquet")).unwrap()).unwrap();
        f.metadata().row_group(7).column(0).data_page_offset() as usize
    };
    let mut bad = bytes.clone();
    bad[at..at + 24].fill(0xA5);
    std::fs::write(p.join("bad.parquet"), &bad).unwrap();
    for name in ["cut.parquet", "bad.parquet"] {
        let out = train_flat(p, &["--stream", "--quiet", "--data", name]);
        crate::cli::user_error(&out, &[name]);
    }
}

/// Separate validation and test files (the reference data set's layout:
/// train, val and test files) stream beside a streamed training file, and
/// give the in-memory run's numbers; one of the wrong sample shape is one
/// clear error.
#[test]
fn separate_validation_and_test_files_stream_too() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write_images(p, 150);
    for sub in ["v", "t"] {
        std::fs::create_dir_all(p.join(sub)).unwrap();
        write_images(&p.join(sub), if sub == "v" { 60 } else { 45 });
    }
    let mut results = Vec::new();
    for (name, valid, test, stream) in [
        ("mem", "v/x.h5", "t/x.h5", false),
        ("h5", "v/x.h5", "t/x.h5", true),
        ("npy-h5", "v/x.npy", "t/x.h5", true),
    ] {
        let mut plan = plan(p, "x.h5", stream, None);
        plan.data.valid_split = None;
        plan.data.valid = Some(p.join(valid).to_string_lossy().into_owned());
        plan.data.test = Some(p.join(test).to_string_lossy().into_owned());
        let mut run = Run::create(&plan, RunDir::new(p.join(name)), true).unwrap();
        let streamed = [
            run.sets.train.is_streamed(),
            run.sets.valid.as_ref().unwrap().is_streamed(),
            run.sets.test.as_ref().unwrap().1.is_streamed(),
        ];
        assert_eq!(streamed, [stream; 3], "{name}");
        run.fit(&mut []).unwrap();
        let r = run.finish(&[0.5]).unwrap();
        assert!(r.evaluated_on.contains("t/x.h5"), "{name}: {}", r.evaluated_on);
        results.push((name, r.metrics, run.trainer.progress.history.epochs.clone()));
    }
    let (_, m0, h0) = &results[0];
    for (name, m, h) in &results[1..] {
        assert_eq!(m.loss.to_bits(), m0.loss.to_bits(), "{name}: test loss");
        assert_eq!(m.n_samples, 45, "{name}");
        for (a, b) in h.iter().zip(h0) {
            assert_eq!(a.val_loss, b.val_loss, "{name}: epoch {}", a.epoch);
        }
    }

    // A validation file of 8x8 images for a model of 12x12 ones.
    let bad = Array::from_f32(&[4, 8, 8, 1], vec![0.0; 256]);
    let labels = Array::new(vec![4], "int64", Elements::Int(vec![0, 1, 2, 0]));
    striate::io::hdf5::write(&p.join("bad.h5"), &[("images", &bad), ("labels", &labels)], None).unwrap();
    let mut plan = plan(p, "x.h5", true, None);
    plan.data.valid_split = None;
    plan.data.valid = Some(p.join("bad.h5").to_string_lossy().into_owned());
    let e = Run::create(&plan, RunDir::new(p.join("bad")), true).err().unwrap();
    assert!(
        e.to_string()
            .contains("samples have shape [8, 8, 1] but the model was trained on [12, 12, 1]"),
        "{e}"
    );
}
