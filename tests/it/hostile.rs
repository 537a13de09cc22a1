//! A corpus of hostile inputs — malformed files, impossible sizes, absurd
//! flags, damaged run directories — run through the binary under a 4 GiB
//! address-space limit (`ulimit -v`). Every one must end in exit status 2
//! with one line on stderr: no panic (101), no signal, no abort, no hang.
//!
//! [`cases`] builds 158 inputs (the test pins the count, which the README quotes); inputs for the data-file readers
//! (NPY, IDX, HDF5, NPZ, CSV headers) that another part of issue 12 hardens
//! are in [`reader_cases`], and every file under `tests/fixtures/regressions/`
//! is tried as training data too.

use std::path::{Path, PathBuf};
use std::process::Command;

use striate::io::npy;

/// 4 GiB, in the KiB `ulimit -v` counts.
const ADDRESS_SPACE_KIB: u64 = 4 << 20;
/// Seconds one input may take.
const TIME_LIMIT_S: u64 = 60;

/// One hostile input: a name for failure messages and the arguments.
struct Case {
    name: String,
    args: Vec<String>,
}

fn case(name: &str, args: &[&str]) -> Case {
    Case {
        name: name.to_string(),
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// Runs one case under the limits; `None` when it behaved, else what went
/// wrong.
fn check(dir: &Path, c: &Case) -> Option<String> {
    let script = format!("ulimit -v {ADDRESS_SPACE_KIB} && exec timeout -s KILL {TIME_LIMIT_S} \"$0\" \"$@\"");
    // A hang is killed by `timeout`, which then fails the case by its status.
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_striate"))
        .args(&c.args)
        .current_dir(dir)
        .env("STRIATE_THREADS", "2")
        .env_remove("STRIATE_CRASH_AT")
        .env_remove("STRIATE_MAX_MEMORY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.trim().lines().collect();
    let code = out.status.code();
    let fine = code == Some(2)
        && lines.len() == 1
        && lines[0].starts_with("striate: error: ")
        && !stderr.contains("panicked")
        && !stderr.contains("internal error");
    (!fine).then(|| format!("{}: status {code:?}, stderr: {}", c.name, stderr.trim()))
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
    std::fs::write(dir.join(name), bytes).unwrap();
    name.to_string()
}

const TINY: &str = "[[layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel = 3\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 6\n";

/// A one-epoch training run of `model` on 40 generated images into `out`.
fn train_args<'a>(model: &'a str, out: &'a str) -> [&'a str; 11] {
    [
        "train",
        "--model",
        model,
        "--data",
        "builtin:shapes",
        "--limit",
        "40",
        "--epochs",
        "1",
        "--out",
        out,
    ]
}

/// Model files that cannot work, by name.
fn model_files(p: &Path) -> Vec<String> {
    let layer = |body: &str| {
        format!("[[layers]]\n{body}\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 6\n")
    };
    let json_pad = |pad: &str| {
        format!(
            r#"{{"layers": [{{"type": "conv2d", "filters": 2, "kernel": 3, "padding": {pad}}}, {{"type": "flatten"}}, {{"type": "dense", "units": 6}}]}}"#
        )
    };
    let mut deep_json = "[".repeat(100_000);
    deep_json.push_str(&"]".repeat(100_000));
    let deep_toml = format!("layers = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    vec![
        write(p, "garbage.toml", "this is [[ not toml"),
        write(p, "garbage.json", "{\"layers\": [ {"),
        write(
            p,
            "binary.toml",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect::<Vec<u8>>(),
        ),
        write(p, "unknown_layer.toml", "[[layers]]\ntype = \"transformer\"\n"),
        write(
            p,
            "dense0.toml",
            "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 0\n",
        ),
        write(
            p,
            "dense_huge.toml",
            "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 1000000000000\n",
        ),
        write(
            p,
            "dense_max.toml",
            "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 9223372036854775807\n",
        ),
        write(
            p,
            "filters_huge.toml",
            layer("type = \"conv2d\"\nfilters = 1000000000000\nkernel = 3"),
        ),
        write(p, "kernel0.toml", layer("type = \"conv2d\"\nfilters = 2\nkernel = 0")),
        write(
            p,
            "kernel_huge.toml",
            layer("type = \"conv2d\"\nfilters = 2\nkernel = 1000000000"),
        ),
        write(
            p,
            "stride0.toml",
            layer("type = \"conv2d\"\nfilters = 2\nkernel = 3\nstride = 0"),
        ),
        write(
            p,
            "dilation_huge.toml",
            layer("type = \"conv2d\"\nfilters = 2\nkernel = 3\ndilation = 9223372036854775807"),
        ),
        write(
            p,
            "groups0.toml",
            layer("type = \"conv2d\"\nfilters = 2\nkernel = 3\ngroups = 0"),
        ),
        write(p, "dropout2.toml", layer("type = \"dropout\"\np = 2.0")),
        write(
            p,
            "pool_huge.toml",
            layer("type = \"max_pool2d\"\nkernel = 4611686018427387904"),
        ),
        write(p, "empty_layers.toml", "layers = []\n"),
        write(p, "negative.toml", layer("type = \"conv2d\"\nfilters = -2\nkernel = 3")),
        write(p, "pad_max.json", json_pad("18446744073709551615")),
        write(p, "pad_i64.json", json_pad("9223372036854775807")),
        write(p, "pad_2_62.json", json_pad("4611686018427387904")),
        write(p, "pad_huge_4.json", json_pad("[1, 18446744073709551615, 0, 0]")),
        write(p, "deep.json", deep_json),
        write(p, "deep.toml", deep_toml),
        write(p, "input0.toml", format!("input = [0, 8, 8]\n{TINY}")),
        write(
            p,
            "input_huge.toml",
            format!("input = [4294967296, 4294967296, 4]\n{TINY}"),
        ),
    ]
}

/// A small valid run directory, `good`, and damaged copies of it.
fn run_dirs(p: &Path) -> Vec<String> {
    let model = write(p, "tiny.toml", TINY);
    let out = Command::new(env!("CARGO_BIN_EXE_striate"))
        .args(&train_args(&model, "good")[..9])
        .args(["--standardize", "pixel", "--quiet", "--out", "good"])
        .current_dir(p)
        .env("STRIATE_THREADS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let good = p.join("good");
    let manifest = std::fs::read_to_string(good.join("model.toml")).unwrap();
    let checkpoint = std::fs::read(good.join("checkpoint.safetensors")).unwrap();
    let copy = |name: &str, edit: &dyn Fn(&Path)| -> String {
        let d = p.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for entry in std::fs::read_dir(&good).unwrap() {
            let e = entry.unwrap();
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
        edit(&d);
        name.to_string()
    };
    let m = |text: String| move |d: &Path| std::fs::write(d.join("model.toml"), &text).unwrap();
    let ck = |bytes: Vec<u8>| move |d: &Path| std::fs::write(d.join("checkpoint.safetensors"), &bytes).unwrap();
    let mut state = striate::run::Manifest::load(&good).unwrap();
    state.preprocess.mean.truncate(2);
    state.preprocess.std.truncate(2);
    let few_means = toml::to_string(&state).unwrap();
    let mut state = striate::run::Manifest::load(&good).unwrap();
    state.preprocess.pad_to = Some([2, 2]);
    let small_pad = toml::to_string(&state).unwrap();
    let mut state = striate::run::Manifest::load(&good).unwrap();
    state.preprocess.arranged_shape = vec![4294967296, 4294967296, 4];
    let huge_shape = toml::to_string(&state).unwrap();
    let progress_edit = |key: &str, value: serde_json::Value| -> Vec<u8> {
        let mut f = striate::weights::read_safetensors(&good.join("checkpoint.safetensors")).unwrap();
        let progress = f.metadata.get_mut("progress").unwrap();
        let mut v: serde_json::Value = serde_json::from_str(progress).unwrap();
        v[key] = value;
        *progress = v.to_string();
        let tensors: Vec<_> = f.tensors.into_iter().collect();
        striate::io::safetensors::to_safetensors_bytes(&tensors, Some(f.metadata)).unwrap()
    };
    let mut huge_header = checkpoint.clone();
    huge_header[..8].copy_from_slice(&(1u64 << 62).to_le_bytes());
    vec![
        copy("no_manifest", &|d: &Path| {
            std::fs::remove_file(d.join("model.toml")).unwrap()
        }),
        copy("garbage_manifest", &m("[[[ not toml".into())),
        copy("truncated_manifest", &m(manifest[..manifest.len() / 2].to_string())),
        copy(
            "typed_manifest",
            &m(manifest.replace("model_seed = ", "model_seed = \"x\"\nignored = ")),
        ),
        copy("few_means", &m(few_means)),
        copy("small_pad", &m(small_pad)),
        copy("huge_shape", &m(huge_shape)),
        copy("garbage_checkpoint", &ck(b"not a checkpoint at all".to_vec())),
        copy("truncated_checkpoint", &ck(checkpoint[..checkpoint.len() / 2].to_vec())),
        copy("huge_header_checkpoint", &ck(huge_header)),
        copy(
            "absurd_batch",
            &ck(progress_edit("batch", serde_json::json!(1_000_000_000_000u64))),
        ),
        copy(
            "absurd_epoch",
            &ck(progress_edit("epoch", serde_json::json!(1_000_000_000_000u64))),
        ),
        copy("wrong_progress", &ck(progress_edit("history", serde_json::json!("x")))),
    ]
}

/// Inputs of every command that is this part's: flags, model files, run
/// directories, filters and pixelation.
fn cases(p: &Path) -> Vec<Case> {
    let models = model_files(p);
    let runs = run_dirs(p);
    let tiny = "tiny.toml";
    let base = train_args(tiny, "new");
    let train = |name: &str, extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        case(name, &a)
    };
    let mut cs = Vec::new();
    for (flag, values) in [
        (
            "--reshape",
            &[
                "1,9,9",
                "0",
                "1,,8",
                "-1,8,8",
                "99999999999999999999",
                "4294967296,4294967296,2",
                "a,b",
                "",
            ][..],
        ),
        (
            "--pad-to",
            &["100000x100000", "4x4", "0x0", "18446744073709551615x2", "x", "1x2x3"][..],
        ),
        ("--scale", &["nan", "0", "inf"][..]),
        ("--batch", &["0", "-1", "18446744073709551616"][..]),
        ("--epochs", &["-1", "x"][..]),
        ("--lr", &["nan", "-1", "inf"][..]),
        ("--valid-split", &["1.5", "nan", "-0.1"][..]),
        ("--test-split", &["2"][..]),
        (
            "--max-memory",
            &["0", "-5", "1K", "lots", "99999999999999999999999T"][..],
        ),
        ("--threads", &["0", "x"][..]),
        ("--signal-efficiency", &["2", "nan"][..]),
        ("--freeze", &["nothing."][..]),
        ("--standardize", &["sometimes"][..]),
        ("--layout", &["diagonal"][..]),
        ("--optimizer", &["lbfgs"][..]),
        ("--schedule", &["sometimes"][..]),
        ("--seed", &["-1"][..]),
        ("--weights", &["missing.safetensors", "garbage.safetensors"][..]),
    ] {
        for v in values {
            cs.push(train(&format!("train {flag} {v:?}"), &[flag, v]));
        }
    }
    write(p, "garbage.safetensors", b"\x10\0\0\0\0\0\0\0{not json at all");
    cs.push(train("unknown flag", &["--frobnicate"]));
    std::fs::create_dir_all(p.join("emptydir")).unwrap();
    write(p, "empty.npy", b"");
    for data in ["builtin:nothing", "missing.npy", "emptydir", "empty.npy"] {
        cs.push(case(
            &format!("train --data {data}"),
            &["train", "--model", tiny, "--data", data, "--out", "d"],
        ));
        cs.push(case(&format!("data info {data}"), &["data", "info", data]));
    }
    cs.push(case(
        "train unknown model",
        &["train", "--model", "nomodel", "--data", "builtin:shapes"],
    ));
    cs.push(case(
        "train missing model",
        &["train", "--model", "missing.toml", "--data", "builtin:shapes"],
    ));
    for m in &models {
        let a = train_args(m, "m");
        cs.push(case(&format!("train --model {m}"), &a));
        // Models that fix their input are summarised with it.
        let summary: &[&str] = if m.starts_with("input") {
            &["summary", "--model", m]
        } else {
            &["summary", "--model", m, "--input", "1,16,16"]
        };
        cs.push(case(&format!("summary --model {m}"), summary));
    }
    for input in ["0", "1,0", "4294967296,4294967296,4", "1,x"] {
        cs.push(case(
            &format!("summary --input {input}"),
            &["summary", "--model", tiny, "--input", input],
        ));
    }
    cs.push(case(
        "summary --classes 0",
        &["summary", "--model", "lenet5", "--classes", "0"],
    ));
    for r in runs.iter().map(String::as_str).chain(["missing_run", "tiny.toml"]) {
        cs.push(case(&format!("resume {r}"), &["train", "--resume", r]));
        // Evaluation reads the manifest and the weights, not the checkpoint.
        let checkpoint_only =
            r.contains("checkpoint") || matches!(r, "absurd_batch" | "absurd_epoch" | "wrong_progress");
        if !checkpoint_only {
            cs.push(case(
                &format!("evaluate {r}"),
                &["evaluate", "--run", r, "--data", "builtin:shapes"],
            ));
        }
    }
    cs.push(case(
        "predict into a missing folder",
        &[
            "predict",
            "--run",
            "good",
            "--data",
            "builtin:shapes",
            "--out",
            "no/such/p.npy",
        ],
    ));
    cs.push(case(
        "predict garbage data",
        &["predict", "--run", "good", "--data", "empty.npy"],
    ));
    cs.extend(filter_and_pixelate(p));
    cs
}

fn filter_and_pixelate(p: &Path) -> Vec<Case> {
    let good = [100.0f32, 30.0, 40.0, 60.0, 50.0, 10.0, 20.0, 40.0];
    write(p, "jets.npy", npy::to_bytes_f32(&[2, 2, 4], &[good, good].concat()));
    write(p, "signal.npy", npy::to_bytes_f64(&[16], &[1.0; 16]));
    write(p, "image.png", b"\x89PNG\r\n\x1a\n truncated");
    let mut cs = Vec::new();
    for (name, extra) in [
        ("npix 1000000", &["--npix", "1000000"][..]),
        ("npix 2^32", &["--npix", "4294967296"][..]),
        ("npix 0", &["--npix", "0"][..]),
        ("width nan", &["--width", "nan"][..]),
        ("width 0", &["--width", "0"][..]),
        ("channels unknown", &["--channels", "colour"][..]),
    ] {
        let mut a = vec!["pixelate", "--input", "jets.npy", "--out", "o.npy"];
        a.extend_from_slice(extra);
        cs.push(case(&format!("pixelate {name}"), &a));
    }
    cs.push(case(
        "pixelate missing",
        &["pixelate", "--input", "missing.npy", "--out", "o.npy"],
    ));
    cs.push(case(
        "pixelate empty",
        &["pixelate", "--input", "empty.npy", "--out", "o.npy"],
    ));
    for (name, extra) in [
        ("sigma 1e6", &["--kernel", "gaussian", "--sigma", "1e6"][..]),
        ("sigma 1e300", &["--kernel", "gaussian", "--sigma", "1e300"][..]),
        ("sigma nan", &["--kernel", "gaussian", "--sigma", "nan"][..]),
        ("sigma -1", &["--kernel", "gaussian", "--sigma", "-1"][..]),
        ("box 1000001", &["--kernel", "box", "--size", "1000001"][..]),
        ("box 2^40", &["--kernel", "box", "--size", "1099511627776"][..]),
        ("unknown kernel", &["--kernel", "blur"][..]),
        ("sobel on a signal", &["--kernel", "sobel3-horizontal"][..]),
    ] {
        let mut a = vec!["filter", "signal.npy", "--out", "f.npy"];
        a.extend_from_slice(extra);
        cs.push(case(&format!("filter signal {name}"), &a));
    }
    for (name, extra) in [
        ("sigma 1e6", &["--kernel", "gaussian", "--sigma", "1e6"][..]),
        ("edge 100001", &["--kernel", "edge-horizontal", "--size", "100001"][..]),
        ("box 2^32", &["--kernel", "box", "--size", "4294967296"][..]),
    ] {
        let mut a = vec!["filter", "image.png", "--out", "f.png"];
        a.extend_from_slice(extra);
        cs.push(case(&format!("filter image {name}"), &a));
    }
    cs.push(case(
        "filter missing",
        &["filter", "missing.png", "--kernel", "box", "--out", "f.png"],
    ));
    cs
}

/// Data files that the readers must refuse (their hardening is another part
/// of issue 12), plus every file kept under `tests/fixtures/regressions/`.
fn reader_cases(p: &Path) -> Vec<Case> {
    let npy_header = |descr: &str, shape: &str| {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        let len = dict.len() + 1;
        let pad = (64 - (10 + len) % 64) % 64;
        h.extend_from_slice(&((len + pad) as u16).to_le_bytes());
        h.extend_from_slice(dict.as_bytes());
        h.extend(std::iter::repeat_n(b' ', pad));
        h.push(b'\n');
        h.extend_from_slice(&[0u8; 64]);
        h
    };
    let mut files = vec![
        write(p, "wrap.npy", npy_header("<f4", "(4, 4611686018427387904)")),
        write(p, "dtype_empty.npy", npy_header("", "(4, 4)")),
        write(p, "dtype_utf8.npy", npy_header("é4", "(4, 4)")),
        write(p, "huge_rows.npy", npy_header("<f4", "(1099511627776, 16777216)")),
        write(
            p,
            "idx_huge",
            [
                &[0u8, 0, 8, 3][..],
                &4u32.to_be_bytes(),
                &(1u32 << 31).to_be_bytes(),
                &(1u32 << 31).to_be_bytes(),
            ]
            .concat(),
        ),
        write(p, "labels.csv", "a,b,label\n1,2,4294967296\n3,4,0\n"),
    ];
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/regressions");
    if let Ok(entries) = std::fs::read_dir(&regressions) {
        for e in entries.flatten() {
            let path: PathBuf = e.path();
            if path.is_file() {
                let name = format!("regression-{}", e.file_name().to_string_lossy());
                std::fs::copy(&path, p.join(&name)).unwrap();
                files.push(name);
            }
        }
    }
    let mut cs = Vec::new();
    let dense = "[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\nunits = 2\n";
    write(p, "dense.toml", dense);
    for f in &files {
        cs.push(case(
            &format!("train on {f}"),
            &[
                "train",
                "--model",
                "dense.toml",
                "--data",
                f,
                "--epochs",
                "1",
                "--out",
                "x",
            ],
        ));
        cs.push(case(&format!("data info {f}"), &["data", "info", f]));
    }
    cs
}

fn run_all(p: &Path, cases: &[Case]) -> Vec<String> {
    cases.iter().filter_map(|c| check(p, c)).collect()
}

#[test]
fn hostile_inputs_give_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let cs = cases(dir.path());
    assert_eq!(cs.len(), 158, "the README quotes how many inputs this test tries");
    eprintln!("{} hostile inputs", cs.len());
    let failures = run_all(dir.path(), &cs);
    assert!(
        failures.is_empty(),
        "{} of {} hostile inputs misbehaved:\n{}",
        failures.len(),
        cs.len(),
        failures.join("\n")
    );
}

/// The readers' share of the corpus; it passes once the readers of issue 12
/// check declared sizes (the branch beside this one).
#[test]
fn hostile_data_files_give_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let cs = reader_cases(dir.path());
    let failures = run_all(dir.path(), &cs);
    assert!(
        failures.is_empty(),
        "{} of {} misbehaved:\n{}",
        failures.len(),
        cs.len(),
        failures.join("\n")
    );
}
