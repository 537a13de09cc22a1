//! Augmentation and fixed normalisation: each transform against
//! torchvision (tests/fixtures/gen_augment.py), the batch hook's draws, and
//! the flags from the command line.

use striate::Tensor;
use striate::data::augment::{Augment, Draw, Transform, transform};
use striate::data::preprocess::Normalize;

use crate::cli::{ok, striate, user_error};
use crate::common::{assert_close, cases};

/// The transform a fixture case names.
fn case_transform(op: &str, c: &crate::common::Case) -> Transform {
    match op {
        "hflip" => Transform::HFlip,
        "vflip" => Transform::VFlip,
        "rot90" => Transform::Rot90(c.usize("k") as u8),
        "crop" => {
            let p = c.usize("padding") as isize;
            Transform::Translate {
                dy: p - c.usize("top") as isize,
                dx: p - c.usize("left") as isize,
            }
        }
        other => panic!("{}: unknown op {other}", c.name),
    }
}

#[test]
fn flips_rotations_crops_and_normalize_match_torchvision() {
    let mut seen = 0;
    for c in cases("augment") {
        let x: Tensor<f64> = c.t("x");
        let expected: Tensor<f64> = c.t("y");
        let s = x.shape().to_vec();
        let mut y = Tensor::<f64>::zeros(&s);
        let k = x.item_len();
        if c.str("op") == "normalize" {
            let list = |key: &str| -> Vec<f32> {
                c.params[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect()
            };
            let norm = Normalize {
                mean: list("mean"),
                std: list("std"),
            };
            norm.validate(Some(s[1])).unwrap();
            let mut v: Vec<f32> = x.data().iter().map(|&a| a as f32).collect();
            for sample in v.chunks_exact_mut(k) {
                norm.apply(sample, s[1]);
            }
            let got = Tensor::from_vec(&s, v.iter().map(|&a| a as f64).collect()).unwrap();
            assert_close(&c.name, &got, &expected, 1e-6);
        } else {
            let t = case_transform(c.str("op"), &c);
            for (src, dst) in x.data().chunks_exact(k).zip(y.data_mut().chunks_exact_mut(k)) {
                transform(src, dst, [s[1], s[2], s[3]], t);
            }
            assert_close(&c.name, &y, &expected, 1e-12);
        }
        seen += 1;
    }
    assert_eq!(seen, 13);
}

#[test]
fn a_batch_gets_each_samples_own_draws() {
    let aug: Augment = "hflip,rot90,crop:2,phi".parse().unwrap();
    let at = Draw {
        seed: 3,
        epoch: 1,
        batch: 4,
    };
    let x = crate::common::randn::<f32>(&[6, 2, 5, 5], 9);
    let mut batch = x.clone();
    aug.apply(&mut batch, at).unwrap();
    assert_ne!(batch, x, "six samples, four random ops: something moves");
    for pos in 0..6 {
        let mut sample = x.item(pos).to_vec();
        for t in aug.transforms(at, pos) {
            let src = sample.clone();
            transform(&src, &mut sample, [2, 5, 5], t);
        }
        assert_eq!(sample.as_slice(), batch.item(pos), "sample {pos}");
    }
    // The same place in the run draws the same again.
    let mut again = x.clone();
    aug.apply(&mut again, at).unwrap();
    assert_eq!(again, batch);
}

#[test]
fn augment_and_normalize_flags_refuse_what_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--model",
            "jet_cnn",
            "--data",
            "builtin:shapes",
            "--epochs",
            "1",
        ];
        args.extend_from_slice(extra);
        striate(&args, p)
    };
    user_error(&train(&["--augment", "hflip,flop"]), &["--augment", "flop"]);
    user_error(&train(&["--augment", "crop"]), &["crop"]);
    user_error(&train(&["--normalize", "0.5"]), &["--normalize", "MEAN/STD"]);
    user_error(&train(&["--normalize", "0.5/0"]), &["--normalize", "positive"]);
    // Three means for one-channel images.
    user_error(
        &train(&["--normalize", "0.1,0.2,0.3/1,1,1", "--limit", "32"]),
        &["--normalize", "3 values", "1 channels"],
    );
}

/// A series is not augmented: the flag is refused before training starts.
#[test]
fn augmenting_a_series_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("@problemName Ramps\n@classLabel true up down\n@data\n");
    for i in 0..8 {
        let v: Vec<String> = (0..16).map(|t| format!("{}", (t * (i % 2)) as f64 / 16.0)).collect();
        text.push_str(&format!("{}:{}\n", v.join(","), if i % 2 == 0 { "up" } else { "down" }));
    }
    std::fs::write(dir.path().join("r.ts"), text).unwrap();
    let out = striate(
        &[
            "train",
            "--model",
            "fcn1d",
            "--data",
            "r.ts",
            "--epochs",
            "1",
            "--augment",
            "hflip",
        ],
        dir.path(),
    );
    user_error(&out, &["--augment", "images"]);
}

/// `--normalize` is saved with the model: `striate evaluate` on the run's
/// test data gives the loss the run itself measured, and a manifest without
/// it gives another.
#[test]
fn fixed_normalisation_travels_with_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let args = [
        "train",
        "--model",
        "jet_cnn",
        "--data",
        "builtin:shapes",
        "--test",
        "builtin:shapes",
        "--limit",
        "96",
        "--epochs",
        "1",
        "--normalize",
        "0.3/0.2",
        "--quiet",
        "--out",
        "r",
    ];
    ok(&striate(&args, p));
    let metrics = |text: &str| -> f64 {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["loss"].as_f64().unwrap()
    };
    let trained = metrics(&std::fs::read_to_string(p.join("r/metrics.json")).unwrap());
    let out = striate(&["evaluate", "--run", "r", "--json"], p);
    ok(&out);
    let evaluated = metrics(&out.stdout);
    assert!(
        (trained - evaluated).abs() < 1e-9 * trained.abs().max(1.0),
        "{trained} vs {evaluated}"
    );
    let manifest = std::fs::read_to_string(p.join("r/model.toml")).unwrap();
    assert!(manifest.contains("[preprocess.normalize]"), "{manifest}");
    let cut: String = manifest
        .split("[preprocess.normalize]")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                part.split_once("\n[").map_or(String::new(), |(_, r)| format!("\n[{r}"))
            }
        })
        .collect();
    std::fs::write(p.join("r/model.toml"), cut).unwrap();
    let out = striate(&["evaluate", "--run", "r", "--json"], p);
    ok(&out);
    assert!(
        (metrics(&out.stdout) - trained).abs() > 1e-6,
        "the normalisation was not applied"
    );
}
