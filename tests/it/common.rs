//! Helpers shared by the integration tests: fixture files, tolerant
//! comparisons that report the worst element, and single-layer harnesses.

use std::collections::BTreeMap;
use std::path::PathBuf;

use striate::Tensor;
use striate::layers::{BuildCtx, ForwardCtx, Layer, StateMut};
use striate::model::LayerKind;
use striate::rng::SeededRng;
use striate::scalar::Scalar;
use striate::weights::{Stored, read_safetensors};

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.safetensors"))
}

/// One case of a fixture file: its parameters and tensors.
pub struct Case {
    pub name: String,
    pub params: serde_json::Value,
    tensors: BTreeMap<String, Stored>,
}

impl Case {
    pub fn has(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    pub fn t<T: Scalar>(&self, key: &str) -> Tensor<T> {
        self.tensors
            .get(key)
            .unwrap_or_else(|| panic!("{}: no tensor {key}", self.name))
            .to_tensor()
    }

    pub fn opt<T: Scalar>(&self, key: &str) -> Option<Tensor<T>> {
        self.has(key).then(|| self.t(key))
    }

    /// Keys below `prefix` (without it), e.g. parameter names under `p.`.
    pub fn keys_under(&self, prefix: &str) -> Vec<String> {
        self.tensors
            .keys()
            .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
            .collect()
    }

    pub fn usize(&self, key: &str) -> usize {
        self.params[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: param {key}", self.name)) as usize
    }

    pub fn f64(&self, key: &str) -> f64 {
        self.params[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: param {key}", self.name))
    }

    pub fn bool(&self, key: &str) -> bool {
        self.params[key].as_bool().unwrap_or(false)
    }

    pub fn str(&self, key: &str) -> &str {
        self.params[key].as_str().unwrap_or("")
    }
}

/// All cases of a fixture file, in name order.
pub fn cases(file: &str) -> Vec<Case> {
    let f = read_safetensors(&fixture_path(file)).unwrap_or_else(|e| panic!("{e}"));
    let mut out: BTreeMap<String, Case> = BTreeMap::new();
    for (case, json) in &f.metadata {
        out.insert(
            case.clone(),
            Case {
                name: case.clone(),
                params: serde_json::from_str(json).expect("case parameters are JSON"),
                tensors: BTreeMap::new(),
            },
        );
    }
    for (key, t) in f.tensors {
        let (case, rest) = key.split_once('/').expect("keys are case/name");
        out.get_mut(case)
            .expect("case has metadata")
            .tensors
            .insert(rest.to_string(), t);
    }
    assert!(!out.is_empty(), "{file} has no cases");
    out.into_values().collect()
}

/// Asserts that `actual` matches `expected` to `rtol` relative to the
/// largest magnitude in `expected`; the message names the worst element.
#[track_caller]
pub fn assert_close<T: Scalar>(what: &str, actual: &Tensor<T>, expected: &Tensor<T>, rtol: f64) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shapes differ");
    let scale = expected
        .data()
        .iter()
        .fold(0.0f64, |m, v| m.max(v.f64().abs()))
        .max(1e-30);
    let (diff, at) = actual.max_abs_diff(expected);
    assert!(
        diff <= rtol * scale,
        "{what}: largest difference {diff:.3e} (relative {:.3e}) at flat index {at}: got {}, expected {}",
        diff / scale,
        actual.data()[at],
        expected.data()[at]
    );
}

/// Tolerance for comparing against float64 references: tight in f64,
/// "about 1e-5 relative" in f32.
pub fn tol<T: Scalar>() -> f64 {
    if T::DTYPE == "F64" { 1e-10 } else { 2e-5 }
}

/// Builds a single layer of `kind` for per-sample `input`.
pub fn build_layer<T: Scalar>(kind: &LayerKind, input: &[usize]) -> Box<dyn Layer<T>> {
    let mut rng = SeededRng::new(0);
    let ctx = BuildCtx {
        name: "layer".into(),
        input,
        init: Default::default(),
        rng: &mut rng,
    };
    kind.build::<T>(ctx).unwrap_or_else(|e| panic!("{e}"))
}

/// Sets a layer's state entries by name suffix (`weight`, `bias`, …).
pub fn set_state<T: Scalar>(layer: &mut dyn Layer<T>, values: &[(&str, &Tensor<T>)]) {
    let mut found = 0;
    layer.visit_state_mut("", &mut |name, s| {
        let t = match s {
            StateMut::Param(p) => &mut p.value,
            StateMut::Buffer(b) => b,
        };
        if let Some((_, v)) = values.iter().find(|(n, _)| *n == name) {
            assert_eq!(t.shape(), v.shape(), "state {name}");
            t.data_mut().copy_from_slice(v.data());
            found += 1;
        }
    });
    assert_eq!(found, values.len(), "not every state entry was found");
}

/// Reads a layer's state entry (parameter value, or with `grad` its gradient).
pub fn get_state<T: Scalar>(layer: &dyn Layer<T>, name: &str, grad: bool) -> Tensor<T> {
    let mut out = None;
    layer.visit_state("", &mut |n, s| {
        if n == name {
            out = Some(match s {
                striate::layers::StateRef::Param(p) => {
                    if grad {
                        p.grad.clone()
                    } else {
                        p.value.clone()
                    }
                }
                striate::layers::StateRef::Buffer(b) => b.clone(),
            });
        }
    });
    out.unwrap_or_else(|| panic!("no state entry {name}"))
}

/// Runs forward (training mode unless `train` is false) and backward with
/// `dy`; returns (y, dx).
pub fn run_layer<T: Scalar>(
    layer: &mut dyn Layer<T>,
    x: &Tensor<T>,
    dy: &Tensor<T>,
    train: bool,
) -> (Tensor<T>, Tensor<T>) {
    let mut rng = SeededRng::new(1);
    let mut ctx = ForwardCtx {
        train,
        backward: true,
        rng: &mut rng,
    };
    let mut y = Tensor::default();
    layer.forward(x, &mut y, &mut ctx);
    let mut dx = Tensor::default();
    layer.backward(x, &y, dy, Some(&mut dx));
    (y, dx)
}

/// A tensor of standard normal values.
pub fn randn<T: Scalar>(shape: &[usize], seed: u64) -> Tensor<T> {
    let mut rng = SeededRng::new(seed);
    Tensor::from_fn(shape, |_| T::lit(rng.normal()))
}

/// Stops a run after a given number of batches, like Ctrl-C would.
pub struct StopAfter(pub usize);

impl striate::train::Callback<f32> for StopAfter {
    fn on_batch_end(&mut self, _log: &striate::train::BatchLog) -> striate::train::Control {
        self.0 -= 1;
        if self.0 == 0 {
            striate::train::Control::Stop
        } else {
            striate::train::Control::Continue
        }
    }
}
