//! Time-series readers (`.ts` and classic UCR text) and 1-D training.

use std::path::Path;

use striate::data::series::{read_ts, read_ucr_text};

use crate::cli::{striate, user_error};

const TS: &str = "# A comment
@problemName Toy
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true b a
@data
1.0,2.0,3.0,4.0:a
-1,-2.5,1e-1,0:b

0.5,0.25,0.125,0.0625:a
";

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn ts_files_read_as_aeon_does() {
    let dir = tempfile::tempdir().unwrap();
    let s = read_ts(&write(dir.path(), "toy.ts", TS), false).unwrap();
    assert_eq!(s.x.shape, [3, 1, 4]);
    // Class names in @classLabel order, not sorted.
    assert_eq!(s.class_names, ["b", "a"]);
    assert_eq!(s.labels, [1, 0, 1]);
    assert_eq!(s.x.get(5), -2.5);
    assert_eq!(s.x.get(6), 0.1);
    // Two dimensions per case.
    let multi = TS.replace("@univariate true", "@univariate false").replace(
        "1.0,2.0,3.0,4.0:a\n-1,-2.5,1e-1,0:b\n\n0.5,0.25,0.125,0.0625:a",
        "1,2:3,4:a\n5,6:7,8:b",
    );
    let m = read_ts(&write(dir.path(), "multi.ts", &multi), false).unwrap();
    assert_eq!(m.x.shape, [2, 2, 2]);
    assert_eq!((m.x.get(2), m.x.get(7)), (3.0, 8.0));
}

#[test]
fn ts_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("bad_value.ts", TS.replace("-2.5", "-2.x"), "line 11"),
        ("undeclared.ts", TS.replace("0:b", "0:c"), "\"c\" is not declared"),
        ("no_label.ts", TS.replace("0:b", "0"), "line 11"),
        (
            "mixed.ts",
            TS.replace("0.5,0.25,0.125,0.0625", "0.5,0.25"),
            "--pad-series",
        ),
        ("missing.ts", TS.replace("-2.5", "?"), "@missing"),
        ("empty.ts", String::new(), "no @data"),
        (
            "nodata.ts",
            TS.split("@data").next().unwrap().to_string() + "@data\n",
            "no series",
        ),
    ];
    for (name, text, words) in cases {
        let err = read_ts(&write(dir.path(), name, &text), false).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(words), "{name}: {err}");
    }
    // With padding, mixed lengths are zero-padded at the end.
    let mixed = read_ts(&dir.path().join("mixed.ts"), true).unwrap();
    assert_eq!(mixed.x.shape, [3, 1, 4]);
    assert_eq!((mixed.x.get(10), mixed.x.get(11)), (0.0, 0.0));
}

#[test]
fn ucr_text_files_put_the_label_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "Toy_TRAIN.tsv",
        "1\t0.5\t0.25\t1.0\n-1\t2\t3\t4\n1\t5\t6\tNaN\n",
    );
    let s = read_ucr_text(&p, true).unwrap();
    assert_eq!(s.x.shape, [3, 1, 3]);
    assert_eq!(s.class_names, ["-1", "1"]);
    assert_eq!(s.labels, [1, 0, 1]);
    assert_eq!(s.x.get(8), 0.0, "trailing NaN padding becomes zero padding");
    let err = read_ucr_text(&p, false).unwrap_err().to_string();
    assert!(err.contains("line 3"), "{err}");
    let spaced = write(
        dir.path(),
        "Toy.txt",
        "  2.0000000e+00  -6.4788540e-01  1.5\n  1.0000000e+00  1.0  2.0\n",
    );
    let s = read_ucr_text(&spaced, false).unwrap();
    assert_eq!((s.x.shape.clone(), s.x.get(0)), (vec![2, 1, 2], -0.6478854));
}

#[test]
fn a_1d_cnn_trains_on_a_ts_file_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    // Two classes: a rising and a falling ramp with noise.
    let mut text = String::from("@problemName Ramps\n@classLabel true up down\n@data\n");
    let mut rng = striate::rng::SeededRng::new(3);
    for i in 0..60 {
        let up = i % 2 == 0;
        let values: Vec<String> = (0..24)
            .map(|t| {
                let v = if up { t as f64 / 24.0 } else { 1.0 - t as f64 / 24.0 };
                format!("{:.4}", v + 0.2 * rng.normal())
            })
            .collect();
        text.push_str(&format!("{}:{}\n", values.join(","), if up { "up" } else { "down" }));
    }
    write(dir.path(), "ramps.ts", &text);
    let out = striate(
        &[
            "train",
            "--model",
            "fcn1d",
            "--data",
            "ramps.ts",
            "--epochs",
            "15",
            "--test-split",
            "0.25",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/metrics.json")).unwrap()).unwrap();
    assert_eq!(m["classes"], serde_json::json!(["up", "down"]));
    assert!(m["accuracy"].as_f64().unwrap() > 0.9, "{m}");
    // The summary shows 1-D shapes.
    assert!(out.stdout.contains("(None, 128, 24)"), "{}", out.stdout);
    // A malformed series file is one clear error.
    write(dir.path(), "bad.ts", &text.replace("up\n", "up,\n"));
    user_error(
        &striate(&["train", "--model", "fcn1d", "--data", "bad.ts"], dir.path()),
        &["bad.ts", "line"],
    );
}
