//! Saving and loading weights: safetensors with PyTorch's names, strict and
//! non-strict loading, atomic writes.

use striate::weights::{DType, load_weights, read_safetensors, save_weights};
use striate::zoo;

#[test]
fn save_and_load_round_trip_with_pytorch_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let a = zoo::resnet18(&[1, 16, 16], 3).build::<f32>(1).unwrap();
    save_weights(&a, &path).unwrap();
    let file = read_safetensors(&path).unwrap();
    for name in [
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.conv1.weight",
        "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.bias",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(file.tensors.contains_key(name), "{name} missing");
    }
    assert_eq!(file.tensors["fc.weight"].shape, [3, 512]);
    assert_eq!(file.tensors["bn1.num_batches_tracked"].dtype, DType::I64);
    assert_eq!(file.tensors["conv1.weight"].dtype, DType::F32);
    let mut b = zoo::resnet18(&[1, 16, 16], 3).build::<f32>(2).unwrap();
    assert_ne!(striate::weights::model_state(&a), striate::weights::model_state(&b));
    let report = load_weights(&mut b, &path, true).unwrap();
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    assert_eq!(striate::weights::model_state(&a), striate::weights::model_state(&b));
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1);
}

#[test]
fn strict_loading_names_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lenet.safetensors");
    save_weights(&zoo::lenet5(&[1, 32, 32], 10).build::<f32>(0).unwrap(), &path).unwrap();
    // A head with 4 classes: fc3 has another shape.
    let mut other = zoo::lenet5(&[1, 32, 32], 4).build::<f32>(0).unwrap();
    let err = load_weights(&mut other, &path, true).unwrap_err().to_string();
    assert!(
        err.contains("fc3.weight") && err.contains("[10, 84]") && err.contains("[4, 84]"),
        "{err}"
    );
    // Non-strict: everything but the head loads (fine-tuning).
    let report = load_weights(&mut other, &path, false).unwrap();
    assert_eq!(report.mismatched, ["fc3.weight", "fc3.bias"]);
    assert_eq!(report.loaded.len(), 8);
    // A different architecture: missing and unexpected entries are listed.
    let mut jet = zoo::jet_cnn(&[1, 32, 32], 10).build::<f32>(0).unwrap();
    let err = load_weights(&mut jet, &path, true).unwrap_err().to_string();
    assert!(err.contains("missing") && err.contains("fc4.weight"), "{err}");
}

#[test]
fn garbage_is_not_a_weights_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    std::fs::write(&path, b"definitely not safetensors").unwrap();
    let mut m = zoo::lenet5(&[1, 32, 32], 10).build::<f32>(0).unwrap();
    let err = load_weights(&mut m, &path, true).unwrap_err().to_string();
    assert!(err.contains("bad.safetensors") && err.contains("safetensors"), "{err}");
}
