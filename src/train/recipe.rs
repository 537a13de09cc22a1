//! The per-batch side of the training loop: fastai's one-cycle phases, the
//! layer groups they give discriminative rates, and freezing the body with
//! batch-norm layers left trainable (`train_bn=True`).

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::layers::StateRef;
use crate::model::Sequential;
use crate::optim::one_cycle::{self, Phase};
use crate::optim::{Optimizer, ParamGroup};
use crate::scalar::Scalar;

/// The layer groups as optimizer parameter groups, one per prefix, and the
/// layer group of each. Every prefix must name at least one parameter.
/// Unless `wd_bn_bias`, every batch-norm parameter and every bias gets a
/// group of its own without weight decay (fastai's `wd_bn_bias=False`:
/// `norm_bias_params` get `do_wd=False`), in its layer group; parameters in
/// no layer group belong to the last one (the head).
pub(super) fn param_groups<T: Scalar>(
    model: &Sequential<T>,
    layer_groups: &[Vec<String>],
    wd_bn_bias: bool,
) -> Result<(Vec<ParamGroup>, Vec<usize>)> {
    let names = model.param_names();
    let mut groups = Vec::new();
    let mut layer_of = Vec::new();
    if !wd_bn_bias {
        let norm = norm_params(model);
        for name in names
            .iter()
            .filter(|n| norm.contains(*n) || n.ends_with(".bias") || *n == "bias")
        {
            let layer = layer_groups
                .iter()
                .position(|g| g.iter().any(|p| name.starts_with(p.as_str())))
                .unwrap_or(layer_groups.len());
            groups.push(ParamGroup {
                prefix: name.clone(),
                lr: None,
                weight_decay: Some(0.0),
            });
            layer_of.push(layer);
        }
    }
    for (layer, prefixes) in layer_groups.iter().enumerate() {
        for prefix in prefixes {
            if !names.iter().any(|n| n.starts_with(prefix.as_str())) {
                return Err(Error::invalid(
                    format!("layer group {prefix:?}"),
                    "no parameter name starts with it (is the body/head split right?)",
                ));
            }
            groups.push(ParamGroup {
                prefix: prefix.clone(),
                lr: None,
                weight_decay: None,
            });
            layer_of.push(layer);
        }
    }
    Ok((groups, layer_of))
}

/// The default body/head split: one body group with every layer but the
/// last one that has parameters (the head).
pub fn default_split<T: Scalar>(model: &Sequential<T>) -> Vec<Vec<String>> {
    let mut layers: Vec<String> = Vec::new();
    for name in model.param_names() {
        let layer = name.rsplit_once('.').map_or(name.as_str(), |(l, _)| l);
        let prefix = format!("{layer}.");
        if layers.last() != Some(&prefix) {
            layers.push(prefix);
        }
    }
    layers.pop();
    if layers.is_empty() { Vec::new() } else { vec![layers] }
}

/// Names of the parameters of normalisation layers that keep running
/// statistics (batch norm): those fastai's `train_bn` keeps trainable.
pub fn norm_params<T: Scalar>(model: &Sequential<T>) -> HashSet<String> {
    let mut layers = Vec::new();
    model.visit_state(&mut |name, s| {
        if let (StateRef::Buffer(_), Some(layer)) = (s, name.strip_suffix("running_mean")) {
            layers.push(layer.to_string());
        }
    });
    model
        .param_names()
        .into_iter()
        .filter(|n| {
            layers
                .iter()
                .any(|l| n.strip_prefix(l.as_str()).is_some_and(|r| !r.contains('.')))
        })
        .collect()
}

/// Freezes every layer group but the last (batch-norm parameters stay
/// trainable), or unfreezes them all.
pub(super) fn set_body_frozen<T: Scalar>(model: &mut Sequential<T>, layer_groups: &[Vec<String>], frozen: bool) {
    for prefix in layer_groups.iter().flatten() {
        model.set_frozen(prefix, frozen);
    }
    if frozen {
        for name in norm_params(model) {
            model.set_frozen(&name, false);
        }
    }
}

/// Sets the rates and momentum of batch `batch` of epoch `epoch` (0-based)
/// from the phases; on the first batch of a phase also sets what is frozen
/// and, after the first phase, clears the optimizer's state as fastai's
/// `unfreeze` does. `entering` says whether the epoch starts here (not
/// resumed mid-epoch); frozen flags are applied at every epoch start since
/// checkpoints do not hold them.
pub(super) struct PhaseStep<'a> {
    pub(super) phases: &'a [Phase],
    pub(super) layer_groups: &'a [Vec<String>],
    pub(super) layer_of: &'a [usize],
}

impl PhaseStep<'_> {
    /// Applies the phase's frozen state at the start (or resumption) of an epoch.
    pub(super) fn begin_epoch<T: Scalar>(
        &self,
        model: &mut Sequential<T>,
        opt: &mut Optimizer<T>,
        epoch: usize,
        batch: usize,
        batches: usize,
    ) {
        let Some(at) = one_cycle::locate(self.phases, epoch, batch, batches) else {
            return;
        };
        let phase = &self.phases[at.index];
        set_body_frozen(model, self.layer_groups, phase.frozen);
        if at.index > 0 && epoch == at.first_epoch && batch == 0 {
            let before = &self.phases[at.index - 1];
            if before.frozen != phase.frozen {
                opt.clear_state();
            }
        }
    }

    /// Sets the optimizer's rates and momentum for one batch.
    pub(super) fn before_batch<T: Scalar>(&self, opt: &mut Optimizer<T>, epoch: usize, batch: usize, batches: usize) {
        let n = self.layer_groups.len() + 1;
        let Some((rates, momentum)) = one_cycle::rates_at(self.phases, n, epoch, batch, batches) else {
            return;
        };
        let group_lrs: Vec<f64> = self.layer_of.iter().map(|&l| rates[l]).collect();
        opt.set_rates(rates[n - 1], &group_lrs);
        opt.set_momentum(momentum);
    }
}
