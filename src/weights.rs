//! Weights in safetensors files, named as PyTorch names them.
//!
//! A model's state dict is every parameter and buffer under its layer's name:
//! `conv1.weight`, `conv1.bias`, `fc1.weight`, `bn1.running_mean`,
//! `layer1.0.downsample.0.weight`, … with PyTorch's shapes and layouts, so a
//! file saved by `safetensors.torch.save_file(model.state_dict(), …)` loads
//! into the striate model with the same layer names, and the other way round.
//! `num_batches_tracked` is stored as `I64`, like PyTorch's. The file format
//! itself is [`crate::io::safetensors`]; this file maps its names onto a model.
//! PyTorch checkpoints written by `torch.save` (`.pth`, `.pt`) load the same
//! way through [`crate::io::pth`]: [`read_tensors`] tells the two apart by
//! their first bytes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, Result};
pub use crate::io::safetensors::{
    DType, Stored, TensorFile, parse_safetensors, read_safetensors, to_safetensors_bytes, write_safetensors,
};
use crate::layers::{StateMut, StateRef};
use crate::model::Sequential;
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, numel};

/// The model's state dict, as stored tensors.
pub fn model_state<T: Scalar>(model: &Sequential<T>) -> Vec<(String, Stored)> {
    let mut out = Vec::new();
    model.visit_state(&mut |name, s| {
        let t = match s {
            StateRef::Param(p) => &p.value,
            StateRef::Buffer(b) => b,
        };
        let mut stored = Stored::from_tensor(t);
        if name.ends_with("num_batches_tracked") {
            stored.dtype = DType::I64;
        }
        out.push((name, stored));
    });
    out
}

/// Saves the model's weights and buffers to `path` (atomically).
pub fn save_weights<T: Scalar>(model: &Sequential<T>, path: &Path) -> Result<()> {
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    meta.insert("producer".to_string(), format!("striate {}", env!("CARGO_PKG_VERSION")));
    write_safetensors(path, &model_state(model), Some(meta))
}

/// What loading a state dict did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Copied from the file (adapted ones included).
    pub loaded: Vec<String>,
    /// Loaded after a change of shape (fastai's stem for other channel counts).
    pub adapted: Vec<String>,
    /// In the model, not in the file.
    pub missing: Vec<String>,
    /// In the file, not in the model.
    pub unexpected: Vec<String>,
    /// In both, with different shapes (skipped; an error when strict).
    pub mismatched: Vec<String>,
}

/// Copies tensors into the model by name. With `strict`, every model entry
/// must be present with its shape and no other entry may exist (PyTorch's
/// `load_state_dict(strict=True)`); otherwise what fits is loaded and the rest
/// reported (for fine-tuning with a new head).
pub fn load_state<T: Scalar>(
    model: &mut Sequential<T>,
    tensors: &BTreeMap<String, Stored>,
    strict: bool,
) -> Result<LoadReport> {
    let mut report = LoadReport::default();
    let mut seen = std::collections::HashSet::new();
    let mut errors = Vec::new();
    model.visit_state_mut(&mut |name, s| {
        let t = match s {
            StateMut::Param(p) => &mut p.value,
            StateMut::Buffer(b) => b,
        };
        match tensors.get(&name) {
            None => report.missing.push(name),
            Some(stored) => {
                seen.insert(name.clone());
                // Scalars may be stored as [] or [1].
                let same =
                    stored.shape == t.shape() || (numel(&stored.shape) == 1 && t.len() == 1 && stored.shape.len() <= 1);
                if !same {
                    errors.push(format!(
                        "{name}: file has shape {}, model expects {}",
                        fmt_shape(&stored.shape),
                        fmt_shape(t.shape())
                    ));
                    report.mismatched.push(name);
                } else {
                    t.data_mut()
                        .iter_mut()
                        .zip(&stored.values)
                        .for_each(|(d, &v)| *d = T::lit(v));
                    report.loaded.push(name);
                }
            }
        }
    });
    report.unexpected = tensors.keys().filter(|k| !seen.contains(*k)).cloned().collect();
    if strict && (!report.missing.is_empty() || !report.unexpected.is_empty() || !report.mismatched.is_empty()) {
        let mut parts = errors;
        if !report.missing.is_empty() {
            parts.push(format!("missing {}", report.missing.join(", ")));
        }
        if !report.unexpected.is_empty() {
            parts.push(format!("unexpected {}", report.unexpected.join(", ")));
        }
        return Err(Error::Weights(parts.join("; ")));
    }
    Ok(report)
}

impl LoadReport {
    /// Model entries left as initialised (missing from the file or of another shape).
    pub fn reinitialised(&self) -> Vec<String> {
        let mut v = self.missing.clone();
        v.extend(self.mismatched.iter().cloned());
        v
    }

    /// One line: how many tensors were loaded, adapted, re-initialised and unused.
    pub fn summary(&self) -> String {
        format!(
            "{} loaded ({} adapted), {} re-initialised, {} unused",
            self.loaded.len(),
            self.adapted.len(),
            self.missing.len() + self.mismatched.len(),
            self.unexpected.len()
        )
    }

    /// Every tensor by what happened to it: `loaded NAME`, `adapted NAME`,
    /// `re-initialised NAME`, `unused NAME`.
    pub fn lines(&self) -> Vec<String> {
        let tag = |what: &str, names: &[String]| names.iter().map(|n| format!("{what} {n}")).collect::<Vec<_>>();
        let plain: Vec<String> = self
            .loaded
            .iter()
            .filter(|n| !self.adapted.contains(n))
            .cloned()
            .collect();
        let mut out = tag("loaded", &plain);
        out.extend(tag("adapted", &self.adapted));
        out.extend(tag("re-initialised", &self.reinitialised()));
        out.extend(tag("unused", &self.unexpected));
        out
    }
}

/// The named tensors of a weights file: safetensors, or a PyTorch
/// `torch.save` checkpoint (told apart by the first bytes).
pub fn read_tensors(path: &Path) -> Result<BTreeMap<String, Stored>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if crate::io::pth::looks_like_pth(&bytes) {
        crate::io::pth::parse_pth(&bytes, path)
    } else {
        Ok(parse_safetensors(&bytes, path)?.tensors)
    }
}

/// Loads weights saved by [`save_weights`] (or PyTorch, as safetensors or
/// `torch.save` files) into `model`.
pub fn load_weights<T: Scalar>(model: &mut Sequential<T>, path: &Path, strict: bool) -> Result<LoadReport> {
    let tensors = read_tensors(path)?;
    load_state(model, &tensors, strict).map_err(|e| match e {
        Error::Weights(msg) => Error::format(path, msg),
        e => e,
    })
}
