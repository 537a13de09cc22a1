//! Kill a training run at many moments — before its first checkpoint, in the
//! middle of a checkpoint write, between batches, while writing results —
//! then continue it: the final `model.safetensors` is byte for byte the one
//! an uninterrupted run with the same seed writes. The binary aborts itself
//! at a chosen point (`STRIATE_CRASH_AT`, see `src/bin/striate/crash.rs`).

use std::path::Path;
use std::process::Command;

const MODEL: &str = r#"
[[layers]]
type = "conv2d"
filters = 4
kernel = 3
padding = "same"
[[layers]]
type = "batch_norm2d"
[[layers]]
type = "relu"
[[layers]]
type = "dropout"
p = 0.25
[[layers]]
type = "max_pool2d"
kernel = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 6
"#;

/// 48 training samples in batches of 16: 3 batches an epoch, 9 in all.
fn train_args(out: &str) -> Vec<String> {
    [
        "train",
        "--model",
        "tiny.toml",
        "--data",
        "builtin:shapes",
        "--limit",
        "64",
        "--valid-split",
        "0.25",
        "--epochs",
        "3",
        "--batch",
        "16",
        "--seed",
        "5",
        "--quiet",
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Runs striate in `cwd`, crashing at `crash` when given; returns the exit
/// code (None: killed by a signal) and stderr.
fn run(cwd: &Path, args: &[String], crash: Option<&str>) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_striate"));
    cmd.args(args).current_dir(cwd).env("STRIATE_THREADS", "1");
    match crash {
        Some(c) => cmd.env("STRIATE_CRASH_AT", c),
        None => cmd.env_remove("STRIATE_CRASH_AT"),
    };
    let out = cmd.output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the model file into `p` and trains it without interruption into
/// `full`; returns its weights file.
fn uninterrupted(p: &Path) -> Vec<u8> {
    std::fs::write(p.join("tiny.toml"), MODEL).unwrap();
    let (code, err) = run(p, &train_args("full"), None);
    assert_eq!(code, Some(0), "{err}");
    std::fs::read(p.join("full/model.safetensors")).unwrap()
}

#[test]
fn killed_anywhere_then_resumed_gives_identical_weights() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let reference = uninterrupted(p);
    // Two identical runs give identical files (fixed metadata order).
    let (code, err) = run(p, &train_args("again"), None);
    assert_eq!(code, Some(0), "{err}");
    assert!(std::fs::read(p.join("again/model.safetensors")).unwrap() == reference);

    // Writes: 1 the manifest, 2 the first checkpoint (before any batch),
    // 3–5 the epochs' checkpoints, then the weights and the results.
    let points = [
        "write:1", "write:2", "batch:1", "batch:3", "write:3", "batch:4", "batch:8", "write:5", "write:6", "write:7",
        "write:9",
    ];
    let mut resumed = 0;
    for (i, point) in points.iter().enumerate() {
        let out = format!("crash{i}");
        let (code, err) = run(p, &train_args(&out), Some(point));
        assert_eq!(code, None, "{point}: the run was not killed: {err}");
        let run_dir = p.join(&out);
        assert!(
            !run_dir.join("model.safetensors").exists() || point.starts_with("write"),
            "{point}"
        );
        let (code, err) = if run_dir.join("model.toml").exists() {
            resumed += 1;
            run(
                p,
                &["train".into(), "--resume".into(), out.clone(), "--quiet".into()],
                None,
            )
        } else {
            // Killed before anything was recorded: the same command starts it.
            run(p, &train_args(&out), None)
        };
        assert_eq!(code, Some(0), "{point}: continuing failed: {err}");
        let weights = std::fs::read(run_dir.join("model.safetensors")).unwrap();
        assert!(
            weights == reference,
            "{point}: the weights differ from the uninterrupted run's"
        );
        assert!(
            temporaries(&run_dir).is_empty(),
            "{point}: {:?} left behind",
            temporaries(&run_dir)
        );
    }
    assert!(resumed >= points.len() - 1, "only {resumed} runs were resumed");
}

/// A checkpoint whose batch counter is absurd is a corrupt file, not an
/// epoch silently skipped.
#[test]
fn a_checkpoint_with_an_absurd_batch_counter_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("tiny.toml"), MODEL).unwrap();
    let (code, err) = run(p, &train_args("r"), Some("batch:4"));
    assert_eq!(code, None, "{err}");
    let ck = p.join("r/checkpoint.safetensors");
    let mut file = striate::weights::read_safetensors(&ck).unwrap();
    let progress = file.metadata.get_mut("progress").unwrap();
    let mut value: serde_json::Value = serde_json::from_str(progress).unwrap();
    value["batch"] = serde_json::json!(1_000_000_000_000u64);
    *progress = value.to_string();
    let tensors: Vec<_> = file.tensors.into_iter().collect();
    striate::io::safetensors::write_safetensors(&ck, &tensors, Some(file.metadata)).unwrap();
    let out = crate::cli::striate(&["train", "--resume", "r"], p);
    crate::cli::user_error(&out, &["checkpoint", "1000000000000"]);
}

/// Augmented training killed in the middle of an epoch resumes with the same
/// augmentations: its weights are those of the run that never stopped (and
/// differ from an unaugmented run's, so the augmentation did something).
#[test]
fn an_augmented_run_killed_mid_epoch_resumes_to_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("tiny.toml"), MODEL).unwrap();
    let args = |out: &str| {
        let mut a = train_args(out);
        a.extend(["--augment".to_string(), "hflip,vflip,rot90,crop:2,shift:1".to_string()]);
        a
    };
    let weights = |out: &str| std::fs::read(p.join(out).join("model.safetensors")).unwrap();
    for (out, a) in [("plain", train_args("plain")), ("full", args("full"))] {
        let (code, err) = run(p, &a, None);
        assert_eq!(code, Some(0), "{out}: {err}");
    }
    assert!(weights("full") != weights("plain"), "augmentation changed nothing");
    let manifest = std::fs::read_to_string(p.join("full/model.toml")).unwrap();
    assert!(
        manifest.contains("augment = \"hflip,vflip,rot90,crop:2,shift:1\""),
        "{manifest}"
    );
    for point in ["batch:2", "batch:4", "batch:8"] {
        let out = format!("crash-{}", point.replace(':', ""));
        let (code, err) = run(p, &args(&out), Some(point));
        assert_eq!(code, None, "{point}: the run was not killed: {err}");
        let (code, err) = run(
            p,
            &["train".into(), "--resume".into(), out.clone(), "--quiet".into()],
            None,
        );
        assert_eq!(code, Some(0), "{point}: resuming failed: {err}");
        assert!(weights(&out) == weights("full"), "{point}: the weights differ");
    }
}

/// With `--checkpoint-every`, a run killed in the middle of an epoch
/// resumes from its last mid-epoch checkpoint (not from the epoch's start)
/// and still ends in the uninterrupted run's weights.
#[test]
fn a_run_killed_mid_epoch_resumes_from_its_periodic_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let reference = uninterrupted(p);
    // A checkpoint after every batch; killed right after batch 5, the
    // second of epoch 2, before its checkpoint: the last one is after batch 4.
    let mut args = train_args("killed");
    args.extend(["--checkpoint-every".to_string(), "1e-12".to_string()]);
    let (code, err) = run(p, &args, Some("batch:5"));
    assert_eq!(code, None, "the run was not killed: {err}");
    let ck = striate::run::load_checkpoint(&p.join("killed/checkpoint.safetensors")).unwrap();
    assert_eq!((ck.progress.epoch, ck.progress.batch), (1, 1));
    let (code, err) = run(
        p,
        &["train".into(), "--resume".into(), "killed".into(), "--quiet".into()],
        None,
    );
    assert_eq!(code, Some(0), "resuming failed: {err}");
    assert!(std::fs::read(p.join("killed/model.safetensors")).unwrap() == reference);
    assert!(temporaries(&p.join("killed")).is_empty());

    for minutes in ["-1", "nan", "soon"] {
        let mut bad = train_args("bad");
        bad.push(format!("--checkpoint-every={minutes}"));
        let (code, err) = run(p, &bad, None);
        assert_eq!(code, Some(2), "{minutes}: {err}");
        assert!(err.contains("is not a number of minutes"), "{minutes}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{minutes}: {err}");
    }
}
