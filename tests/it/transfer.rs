//! The torchvision zoo, `.pth` checkpoints and fastai's transfer recipe
//! against PyTorch, torchvision and fastai (tests/fixtures/gen_transfer.py):
//! adaptive pooling, the bottleneck block, reduced-width torchvision models
//! loaded from `torch.save` files, fastai's stem rule and head.

use std::collections::BTreeMap;
use std::path::PathBuf;

use striate::layers::{AdaptivePool2dConfig, BottleneckConfig};
use striate::model::{LayerKind, ModelSpec};
use striate::scalar::Scalar;
use striate::transfer::{self, Head};
use striate::weights;
use striate::{Error, Sequential, Tensor, zoo};

use crate::common::*;

/// Widths of the reduced models, as in gen_transfer.py.
const RESNET_WIDTHS: [usize; 4] = [4, 8, 12, 16];
const N_CLASSES: usize = 5;

fn pth(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.pth"))
}

/// gen_transfer.py's `pattern`: `(i · 7919 mod 1000) / 1000`.
fn pattern<T: Scalar>(shape: &[usize]) -> Tensor<T> {
    let n: usize = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..n).map(|i| T::lit((i * 7919 % 1000) as f64 / 1000.0)).collect(),
    )
    .unwrap()
}

/// The reduced-width twin of a torchvision model in the fixtures.
fn reduced(name: &str, input: &[usize], classes: usize) -> ModelSpec {
    match name {
        "resnet34" => zoo::resnet_with(name, input, classes, zoo::Block::Basic, [3, 4, 6, 3], RESNET_WIDTHS),
        "resnet50" => zoo::resnet_with(
            name,
            input,
            classes,
            zoo::Block::Bottleneck,
            [3, 4, 6, 3],
            RESNET_WIDTHS,
        ),
        "alexnet" => zoo::alexnet_with(input, classes, [8, 16, 24, 16, 16], 32),
        "vgg16_bn" => zoo::vgg_with(input, classes, &zoo::VGG16_LAYERS.map(|w| w / 16), 16, true),
        _ => unreachable!("{name}"),
    }
}

fn case(name: &str) -> Case {
    cases("transfer")
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

fn check_adaptive<T: Scalar>() {
    for c in cases("adaptive_pool") {
        let out = c.params["out"].as_array().unwrap();
        let cfg = AdaptivePool2dConfig::new([out[0].as_u64().unwrap() as usize, out[1].as_u64().unwrap() as usize]);
        let kind = match c.str("kind") {
            "avg" => LayerKind::AdaptiveAvgPool2d(cfg),
            "max" => LayerKind::AdaptiveMaxPool2d(cfg),
            _ => LayerKind::AdaptiveConcatPool2d(cfg),
        };
        let x: Tensor<T> = c.t("x");
        let mut layer = build_layer::<T>(&kind, &x.shape()[1..]);
        let (y, dx) = run_layer(layer.as_mut(), &x, &c.t("dy"), true);
        assert_close(&format!("{} {} y", c.name, T::DTYPE), &y, &c.t("y"), tol::<T>());
        assert_close(&format!("{} {} dx", c.name, T::DTYPE), &dx, &c.t("dx"), tol::<T>());
    }
}

#[test]
fn adaptive_pooling_matches_torch_and_fastai() {
    check_adaptive::<f64>();
    check_adaptive::<f32>();
}

fn check_bottleneck<T: Scalar>() {
    crate::torch_ref::check_block::<T>("bottleneck", |c| {
        LayerKind::Bottleneck(BottleneckConfig::new(c.usize("planes")).with_stride(c.usize("stride")))
    });
}

#[test]
fn bottleneck_block_matches_torchvision() {
    check_bottleneck::<f64>();
    check_bottleneck::<f32>();
}

fn check_checkpoint<T: Scalar>(name: &str, rtol: f64) {
    let mut model: Sequential<T> = reduced(name, &[3, 64, 64], N_CLASSES).build(0).unwrap();
    let report = weights::load_weights(&mut model, &pth(&format!("tv_{name}")), true).unwrap();
    assert!(
        report.reinitialised().is_empty() && report.unexpected.is_empty(),
        "{report:?}"
    );
    let c = case(name);
    assert_eq!(model.param_counts().0, c.usize("params"), "{name}: parameter count");
    let y = model.predict(&pattern::<T>(&[2, 3, 64, 64])).unwrap();
    assert_close(&format!("{name} {} logits", T::DTYPE), &y, &c.t("logits"), rtol);
}

#[test]
fn torchvision_checkpoints_load_from_pth_and_give_torchs_logits() {
    for name in ["resnet34", "resnet50", "alexnet", "vgg16_bn"] {
        // The weights are float32 in the file and the reference is computed
        // from them in float64: f64 agrees tightly, f32 to about 1e-5.
        check_checkpoint::<f64>(name, 1e-10);
        check_checkpoint::<f32>(name, 1e-5);
    }
}

#[test]
fn stem_adaptation_follows_fastai() {
    let tensors = weights::read_tensors(&pth("tv_resnet34")).unwrap();
    let conv1 = &tensors["conv1.weight"];
    for n_in in [1, 2, 4] {
        let adapted = transfer::adapt_stem(conv1, n_in).unwrap();
        let expected = case(&format!("stem{n_in}")).t::<f64>("weight");
        // fastai sums in float32; striate in f64: they agree to f32 rounding.
        assert_close(
            &format!("stem for {n_in} channels"),
            &adapted.to_tensor::<f64>(),
            &expected,
            1e-6,
        );
    }
    let one = transfer::adapt_stem(conv1, 1).unwrap();
    let err = transfer::adapt_stem(&one, 2).unwrap_err();
    assert!(err.contains("3-channel"), "{err}");
}

/// fastai's `vision_learner(resnet34, n_in=1, n_out=2)` on the reduced ResNet-34.
fn fastai_model<T: Scalar>() -> (Sequential<T>, weights::LoadReport) {
    let base = reduced("resnet34", &[1, 64, 64], 2);
    let spec = transfer::with_fastai_head(base, 2).unwrap();
    let mut model: Sequential<T> = spec.build(0).unwrap();
    let tensors = weights::read_tensors(&pth("tv_resnet34")).unwrap();
    let report = transfer::load_pretrained(&mut model, tensors, 0).unwrap();
    (model, report)
}

#[test]
fn fastai_stem_and_head_give_fastais_logits() {
    let (mut model, report) = fastai_model::<f64>();
    assert_eq!(report.adapted, ["conv1.weight"]);
    assert_eq!(report.unexpected, ["fc.bias", "fc.weight"]);
    let reinit = report.reinitialised();
    assert!(
        !reinit.is_empty() && reinit.iter().all(|n| n.starts_with("head.")),
        "{reinit:?}"
    );
    assert!(report.lines().contains(&"adapted conv1.weight".to_string()));
    // The head as fastai initialised it (kaiming_normal, BN bias 1e-3) is
    // random; load fastai's draw to compare the whole model.
    let head = weights::load_weights(&mut model, &pth("fastai_head"), false).unwrap();
    assert_eq!(head.loaded.len(), reinit.len(), "{head:?}");
    let c = case("fastai_resnet34");
    let y = model.predict(&pattern::<f64>(&[2, 1, 64, 64])).unwrap();
    // Limited by fastai's float32 sum of the stem's RGB kernels (see above).
    assert_close("fastai resnet34 logits", &y, &c.t("logits"), 1e-6);
}

#[test]
fn fastai_head_is_initialised_as_fastai_does() {
    let (model, _) = fastai_model::<f64>();
    let mut seen = BTreeMap::new();
    model.visit_state(&mut |name, s| {
        if let striate::layers::StateRef::Param(p) = s {
            seen.insert(name, p.value.clone());
        }
    });
    let ones = |n: &str| seen[n].data().iter().all(|&v| v == 1.0);
    assert!(ones("head.2.weight") && ones("head.6.weight"));
    assert!(seen["head.2.bias"].data().iter().all(|&v| (v - 1e-3).abs() < 1e-15));
    // Linear(2·16 → 512): N(0, 2/32), so a standard deviation of 0.25.
    let w = seen["head.4.weight"].data();
    let std = (w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64).sqrt();
    assert!((std - 0.25).abs() < 0.01, "std {std}");
    assert_eq!(seen["head.4.weight"].shape(), &[512, 32]);
    assert!(
        !seen.contains_key("head.4.bias"),
        "fastai's linears have no bias after batch norm"
    );
}

#[test]
fn layer_groups_follow_fastais_splitters() {
    let (model, _) = fastai_model::<f32>();
    let groups = transfer::layer_groups(&model).unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0][..4], ["conv1.", "bn1.", "relu.", "maxpool."]);
    assert!(groups[0].contains(&"layer2.3.".to_string()) && !groups[0].iter().any(|g| g.starts_with("layer3")));
    assert_eq!(groups[1].first().map(String::as_str), Some("layer3.0."));
    assert_eq!(groups[2].len(), 9);
    assert!(groups[2].iter().all(|g| g.starts_with(transfer::HEAD_PREFIX)));
    let vgg = reduced("vgg16_bn", &[1, 64, 64], 2).build::<f32>(0).unwrap();
    let groups = transfer::layer_groups(&vgg).unwrap();
    assert_eq!(groups[1][0], "features.22.");
    assert_eq!(groups[2][0], "avgpool.");
    let (body, head) = transfer::body_and_head(&vgg).unwrap();
    assert!(body.contains(&"features.0.".to_string()) && head.contains(&"classifier.6.".to_string()));
}

#[test]
fn linear_head_replaces_the_classifier() {
    let spec = transfer::transfer_spec("resnet34", &[1, 40, 40], 2, Head::Linear).unwrap();
    assert_eq!(spec.layers.last().and_then(|l| l.name.as_deref()), Some("fc"));
    let spec = transfer::transfer_spec("alexnet", &[1, 40, 40], 2, Head::Fastai).unwrap();
    assert_eq!(spec.layers.last().and_then(|l| l.name.as_deref()), Some("head.8"));
    assert!("mlp".parse::<Head>().is_err());
}

#[test]
fn bad_checkpoints_are_refused_with_one_clear_line() {
    let user = |e: Error| {
        assert!(e.is_user_error(), "{e}");
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        msg
    };
    // A whole pickled module, not a state dict.
    let msg = user(weights::read_tensors(&pth("bad_module")).unwrap_err());
    assert!(msg.contains("not allowed") && msg.contains("state dict"), "{msg}");
    // A truncated archive, and bytes that are neither format.
    let bytes = std::fs::read(pth("tv_alexnet")).unwrap();
    let dir = std::env::temp_dir().join(format!("striate-pth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, data) in [
        ("cut.pth", &bytes[..bytes.len() / 2]),
        ("junk.pth", b"not weights at all"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        user(weights::read_tensors(&path).unwrap_err());
    }
    // A legacy (pre-1.6) file is recognised.
    let legacy = dir.join("legacy.pth");
    std::fs::write(&legacy, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]).unwrap();
    assert!(user(weights::read_tensors(&legacy).unwrap_err()).contains("legacy"));
    // Weights of another architecture cannot be adapted.
    let mut model: Sequential<f32> = transfer::with_fastai_head(reduced("resnet50", &[1, 64, 64], 2), 2)
        .unwrap()
        .build(0)
        .unwrap();
    let tensors = weights::read_tensors(&pth("tv_resnet34")).unwrap();
    let msg = user(transfer::load_pretrained(&mut model, tensors, 0).unwrap_err());
    assert!(msg.contains("cannot be adapted"), "{msg}");
    // A model without a body/head split.
    let jet = zoo::jet_cnn(&[1, 20, 20], 5).build::<f32>(0).unwrap();
    assert!(user(transfer::layer_groups(&jet).unwrap_err()).contains("no body/head split"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A `torch.save`-shaped archive whose `data.pkl` is `pickle`.
fn archive_with(pickle: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut cursor);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("x/data.pkl", opts).unwrap();
    zip.write_all(pickle).unwrap();
    zip.finish().unwrap();
    cursor.into_inner()
}

/// A pickle with a disallowed global or opcode is refused, naming it.
#[test]
fn pickle_opcodes_outside_a_state_dict_are_refused() {
    let parse = |pickle: &[u8]| striate::io::pth::parse_pth(&archive_with(pickle), "x.pth".as_ref()).unwrap_err();
    // PROTO 2, GLOBAL os.system: never imported, refused by name.
    let err = parse(b"\x80\x02cos\nsystem\nq\x00.");
    assert!(err.to_string().contains("os.system is not allowed"), "{err}");
    // PROTO 2, then INST (0x69), which a state dict never uses.
    let err = parse(b"\x80\x02i");
    assert!(err.to_string().contains("opcode 0x69"), "{err}");
    // A truncated pickle, and a list where the state dict should be.
    assert!(parse(b"\x80\x02X\xff\x00\x00\x00ab").to_string().contains("truncated"));
    assert!(parse(b"\x80\x02].").to_string().contains("not a state dict"));
}

/// A model file of the reduced ResNet (torchvision names) for `classes`.
fn model_file(dir: &std::path::Path, name: &str) -> PathBuf {
    let mut spec = reduced(name, &[1, 16, 16], 4);
    spec.input = None;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, spec.to_toml()).unwrap();
    path
}

#[test]
fn train_from_a_pth_with_fastais_head() {
    use crate::cli::{striate, user_error};
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path(), "resnet34");
    let weights = pth("tv_resnet34");
    let (model, weights) = (model.to_str().unwrap(), weights.to_str().unwrap());
    let base = [
        "train",
        "--model",
        model,
        "--weights",
        weights,
        "--data",
        "builtin:shapes",
    ];
    let run = [
        &base[..],
        &["--head", "fastai", "--epochs", "1", "--limit", "120", "--out", "r"],
    ]
    .concat();
    let out = striate(&run, dir.path());
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("adapted to 1 input channels: conv1.weight"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("2 unused"), "{}", out.stdout);
    let trained = weights::read_tensors(&striate::run::RunDir::new(dir.path().join("r")).weights()).unwrap();
    assert_eq!(trained["conv1.weight"].shape, [4, 1, 7, 7]);
    assert_eq!(trained["head.8.weight"].shape[1], 512);
    // Weights of another architecture, and a head that does not exist.
    let other = model_file(dir.path(), "resnet50");
    let wrong = [
        &["train", "--model", other.to_str().unwrap()],
        &base[3..],
        &["--head", "linear"],
    ]
    .concat();
    user_error(&striate(&wrong, dir.path()), &["cannot be adapted"]);
    let out = striate(&[&base[..], &["--head", "mlp"]].concat(), dir.path());
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// `--fine-tune` on a transferred model freezes fastai's body groups (split
/// before `layer3`) and trains the new head: the groups come from the
/// transfer, not from the generic "all but the last layer" split.
#[test]
fn fine_tune_from_a_pth_uses_fastais_layer_groups() {
    use crate::cli::striate;
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path(), "resnet34");
    let weights = pth("tv_resnet34");
    let args = [
        "train",
        "--model",
        model.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--head",
        "fastai",
        "--fine-tune",
        "1",
        "--lr",
        "1e-3",
        "--data",
        "builtin:shapes",
        "--limit",
        "120",
        "--out",
        "r",
    ];
    let out = striate(&args, dir.path());
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let manifest = striate::run::Manifest::load(&dir.path().join("r")).unwrap();
    let groups = &manifest.training.layer_groups;
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(groups[0].iter().any(|p| p == "conv1."), "{groups:?}");
    assert!(groups[1].iter().any(|p| p.starts_with("layer3")), "{groups:?}");
    assert!(groups.iter().flatten().all(|p| !p.starts_with("head.")), "{groups:?}");
    assert_eq!(
        manifest.training.phases.len(),
        2,
        "fine_tune is a frozen and an unfrozen phase"
    );
}
