//! Transfer learning as fastai's `vision_learner` does it: a pretrained
//! torchvision body, its stem adapted to the input's channels, and a new head.
//!
//! - [`transfer_spec`]: the zoo model cut before its pooling/classifier
//!   (fastai's `cut=-2`) with fastai's default head ([`Head::Fastai`]:
//!   `AdaptiveConcatPool2d`, flatten, BatchNorm1d, Dropout(0.25),
//!   Linear(2·nf→512, no bias), ReLU, BatchNorm1d, Dropout(0.5),
//!   Linear(512→n_out, no bias)), named `head.0` … `head.8` as the indices of
//!   fastai's `model[1]`; or the model's own classifier with `n_out` outputs,
//!   re-initialised ([`Head::Linear`]).
//! - [`load_pretrained`]: loads a state dict, adapting the first
//!   convolution's RGB kernels to `n_in` channels as fastai's
//!   `_load_pretrained_weights` (1: sum over RGB; 2: the first two · 3/2;
//!   more than 3: RGB, then zeros), and initialises the head as fastai's
//!   `apply_init(model[1], kaiming_normal_)` (linears `N(0, 2/fan_in)`;
//!   batch norms weight 1, bias 1e-3).
//! - [`layer_groups`]: fastai's splitters as layer-name prefixes, for
//!   freezing the body and discriminative learning rates.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::io::safetensors::Stored;
use crate::layers::{DenseConfig, StateMut, StateRef};
use crate::model::{LayerKind, ModelSpec, Sequential};
use crate::rng::SeededRng;
use crate::scalar::Scalar;
use crate::tensor::fmt_shape;
use crate::weights::{LoadReport, load_state};
use crate::zoo;

/// Prefix of the parameter names of fastai's head.
pub const HEAD_PREFIX: &str = "head.";

/// Name of the layer where a torchvision model's body ends (fastai's cut).
const CUT_AT: &str = "avgpool";

/// The new head of a transferred model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Head {
    /// fastai's `create_head` with its defaults.
    #[default]
    Fastai,
    /// The model's own pooling and classifier, with a new last layer of `n_out`.
    Linear,
}

impl std::str::FromStr for Head {
    type Err = Error;
    fn from_str(s: &str) -> Result<Head> {
        match s {
            "fastai" => Ok(Head::Fastai),
            "linear" => Ok(Head::Linear),
            _ => Err(Error::invalid(
                "--head",
                format!("{s:?} is not a head; use fastai or linear"),
            )),
        }
    }
}

/// The built-in model `name` for per-sample `input` (its channels are
/// `n_in`), with `head` giving `n_out` outputs.
pub fn transfer_spec(name: &str, input: &[usize], n_out: usize, head: Head) -> Result<ModelSpec> {
    let base = zoo::by_name(name, Some(input), Some(n_out))?;
    match head {
        Head::Linear => Ok(base),
        Head::Fastai => with_fastai_head(base, n_out),
    }
}

/// `base` cut before its `avgpool` layer (fastai's `cut=-2` for torchvision
/// models), with fastai's default head for `n_out` outputs.
pub fn with_fastai_head(base: ModelSpec, n_out: usize) -> Result<ModelSpec> {
    let name = base.name.clone().unwrap_or_else(|| "model".into());
    let cut = base
        .layer_names()?
        .iter()
        .position(|n| n == CUT_AT)
        .ok_or_else(|| no_split(&name))?;
    let mut spec = base;
    spec.layers.truncate(cut);
    Ok(fastai_head(spec, n_out))
}

fn no_split(name: &str) -> Error {
    Error::Model(format!(
        "model {name:?} has no body/head split (no layer named {CUT_AT:?} and no {HEAD_PREFIX}* layers)"
    ))
}

/// Appends fastai's default head (`create_head(nf, n_out)`), layers named
/// `head.0` … `head.8`.
pub fn fastai_head(spec: ModelSpec, n_out: usize) -> ModelSpec {
    let layers = [
        LayerKind::AdaptiveConcatPool2d(Default::default()),
        LayerKind::Flatten,
        LayerKind::BatchNorm1d(Default::default()),
        LayerKind::Dropout(crate::layers::DropoutConfig::new(0.25)),
        LayerKind::Dense(DenseConfig::new(512).with_bias(false)),
        LayerKind::Relu,
        LayerKind::BatchNorm1d(Default::default()),
        LayerKind::Dropout(crate::layers::DropoutConfig::new(0.5)),
        LayerKind::Dense(DenseConfig::new(n_out).with_bias(false)),
    ];
    layers
        .into_iter()
        .enumerate()
        .fold(spec, |s, (i, l)| s.layer(l).name_last(format!("{HEAD_PREFIX}{i}")))
}

/// The layer names of the head: `head.*` layers, else the cut layer
/// (`avgpool`) and everything after it.
fn head_layers<T: Scalar>(model: &Sequential<T>) -> Result<Vec<String>> {
    let names: Vec<String> = model.layers().iter().map(|l| l.name().to_string()).collect();
    let start = names
        .iter()
        .position(|n| n.starts_with(HEAD_PREFIX))
        .or_else(|| names.iter().position(|n| n == CUT_AT))
        .ok_or_else(|| no_split(model.spec().name.as_deref().unwrap_or("model")))?;
    Ok(names[start..].to_vec())
}

/// fastai's parameter groups as layer-name prefixes (each ending in `.`),
/// lowest first, the head last: ResNets split before `layer3`
/// (`_resnet_split`), AlexNet before `features.6`, VGG before `features.22`;
/// other models are body and head (`default_split`). Freeze a group with
/// [`Sequential::set_frozen`] on each prefix.
pub fn layer_groups<T: Scalar>(model: &Sequential<T>) -> Result<Vec<Vec<String>>> {
    let head = head_layers(model)?;
    let body: Vec<String> = model
        .layers()
        .iter()
        .map(|l| l.name().to_string())
        .filter(|n| !head.contains(n))
        .collect();
    let split_at = |n: &str| -> bool {
        if n.starts_with("layer3") {
            return true;
        }
        let limit = match model.spec().name.as_deref() {
            Some("alexnet") => 6,
            Some(v) if v.starts_with("vgg") => 22,
            _ => return false,
        };
        n.strip_prefix("features.")
            .and_then(|i| i.parse::<usize>().ok())
            .is_some_and(|i| i >= limit)
    };
    let dot = |v: Vec<String>| v.into_iter().map(|n| format!("{n}.")).collect::<Vec<_>>();
    let (low, high): (Vec<String>, Vec<String>) = body.into_iter().partition(|n| !split_at(n));
    let mut groups = vec![dot(low)];
    if !high.is_empty() {
        groups.push(dot(high));
    }
    groups.push(dot(head));
    Ok(groups)
}

/// (body, head) layer-name prefixes: every group but the last, and the last.
pub fn body_and_head<T: Scalar>(model: &Sequential<T>) -> Result<(Vec<String>, Vec<String>)> {
    let mut groups = layer_groups(model)?;
    let head = groups.pop().unwrap_or_default();
    Ok((groups.concat(), head))
}

/// fastai's `_load_pretrained_weights`: the first convolution's weights
/// `[c_out, 3, k_h, k_w]` for `n_in` input channels.
pub fn adapt_stem(w: &Stored, n_in: usize) -> std::result::Result<Stored, String> {
    let &[c_out, c_file, k_h, k_w] = w.shape.as_slice() else {
        return Err(format!(
            "a stem weight of shape {} is not a 2-D convolution's",
            fmt_shape(&w.shape)
        ));
    };
    if c_file != 3 {
        return Err(format!(
            "the stem has {c_file} input channels; fastai adapts 3-channel (RGB) weights"
        ));
    }
    let k = k_h * k_w;
    let mut values = vec![0.0; c_out * n_in * k];
    for o in 0..c_out {
        let rgb = |c: usize, j: usize| w.values[(o * 3 + c) * k + j];
        for j in 0..k {
            let at = |c: usize| (o * n_in + c) * k + j;
            match n_in {
                1 => values[at(0)] = rgb(0, j) + rgb(1, j) + rgb(2, j),
                2 => (0..2).for_each(|c| values[at(c)] = rgb(c, j) * 1.5),
                _ => (0..3).for_each(|c| values[at(c)] = rgb(c, j)),
            }
        }
    }
    Ok(Stored {
        dtype: w.dtype,
        shape: vec![c_out, n_in, k_h, k_w],
        values,
    })
}

/// Loads pretrained `tensors` into a model made by [`transfer_spec`]:
/// adapts the stem to the model's input channels, skips the head (which
/// keeps fastai's initialisation, drawn from `seed`) and fails on a body
/// tensor whose shape cannot be adapted. The report lists every tensor as
/// loaded, adapted, re-initialised or unused.
pub fn load_pretrained<T: Scalar>(
    model: &mut Sequential<T>,
    mut tensors: BTreeMap<String, Stored>,
    seed: u64,
) -> Result<LoadReport> {
    let head: Vec<String> = head_layers(model)?.into_iter().map(|n| format!("{n}.")).collect();
    let in_head = |name: &str| head.iter().any(|h| name.starts_with(h.as_str()));
    let mut stem = None;
    model.visit_state(&mut |name, s| {
        if let StateRef::Param(p) = s
            && stem.is_none()
            && p.value.shape().len() == 4
        {
            stem = Some((name, p.value.shape().to_vec()));
        }
    });
    let mut adapted = Vec::new();
    if let Some((name, shape)) = stem
        && let Some(w) = tensors.get(&name)
        && w.shape != shape
    {
        let a = adapt_stem(w, shape[1]).map_err(|m| Error::Weights(format!("cannot adapt {name}: {m}")))?;
        tensors.insert(name.clone(), a);
        adapted.push(name);
    }
    let unused_head: Vec<String> = tensors.keys().filter(|k| in_head(k)).cloned().collect();
    unused_head.iter().for_each(|k| {
        tensors.remove(k);
    });
    let mut report = load_state(model, &tensors, false)?;
    if let Some(bad) = report.mismatched.first() {
        let file = fmt_shape(&tensors[bad].shape);
        return Err(Error::Weights(format!(
            "{bad} has shape {file} in the file, which cannot be adapted to the model's"
        )));
    }
    report.adapted = adapted;
    report.unexpected.extend(unused_head);
    report.unexpected.sort();
    init_head(model, &head, seed);
    Ok(report)
}

/// fastai's head initialisation (`apply_init(head, kaiming_normal_)` and
/// `BatchNorm` with bias 1e-3): linear weights `N(0, 2/fan_in)`, biases 0,
/// batch-norm weights 1 and biases 1e-3, running statistics reset.
pub fn init_head<T: Scalar>(model: &mut Sequential<T>, head: &[String], seed: u64) {
    let mut rng = SeededRng::new(seed ^ 0x4EAD);
    let in_head = |name: &str| head.iter().any(|h| name.starts_with(h.as_str()));
    let mut is_norm = std::collections::HashSet::new();
    for l in model.layers() {
        if matches!(
            l.kind(),
            crate::layers::Kind::BatchNorm1d | crate::layers::Kind::BatchNorm2d
        ) {
            is_norm.insert(format!("{}.", l.name()));
        }
    }
    model.visit_state_mut(&mut |name, s| {
        if !in_head(&name) {
            return;
        }
        let norm = is_norm.iter().any(|p| name.starts_with(p.as_str()));
        let leaf = name.rsplit('.').next().unwrap_or("");
        match s {
            StateMut::Param(p) => {
                let shape = p.value.shape().to_vec();
                let v = p.value.data_mut();
                match (norm, leaf) {
                    (true, "weight") => v.fill(T::one()),
                    (true, _) => v.fill(T::lit(1e-3)),
                    (false, "weight") => {
                        let fan_in: usize = shape[1..].iter().product();
                        let std = (2.0 / fan_in.max(1) as f64).sqrt();
                        v.iter_mut().for_each(|x| *x = T::lit(std * rng.normal()));
                    }
                    (false, _) => v.fill(T::zero()),
                }
            }
            StateMut::Buffer(b) => {
                let fill = if leaf == "running_var" { T::one() } else { T::zero() };
                b.data_mut().fill(fill);
            }
        }
    });
}
