//! Optimizers with PyTorch's defaults and update rules (Nadam: Keras's).
//!
//! | optimizer | defaults | rule |
//! |---|---|---|
//! | `sgd` | lr 0.01, momentum 0, dampening 0, nesterov off, weight decay 0 | `torch.optim.SGD` |
//! | `adam` | lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0 (L2), amsgrad off | `torch.optim.Adam` |
//! | `adamw` | as Adam, weight decay 0.01 (decoupled) | `torch.optim.AdamW` |
//! | `rmsprop` | lr 0.01, alpha 0.99, eps 1e-8, momentum 0, centered off | `torch.optim.RMSprop` |
//! | `nadam` | lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-7 | `keras.optimizers.Nadam` (`optimizer="nadam"`) |
//!
//! (PyTorch's SGD has no default learning rate; 0.01 is Keras's.)
//!
//! Parameters can be put in groups by name prefix, each with its own
//! learning rate and weight decay (PyTorch's parameter groups), and frozen
//! parameters are skipped. A learning-rate schedule changes the base rate;
//! group rates scale with it.

pub mod one_cycle;
mod rules;
pub mod schedule;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::layers::Param;
use crate::model::Sequential;
use crate::scalar::{Scalar, is_non_negative, is_positive};
use crate::tensor::Tensor;

pub use rules::ParamState;
pub use schedule::{LrSchedule, PlateauRule};

/// Which optimizer, with its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Stochastic gradient descent (`torch.optim.SGD`), optionally with momentum.
    Sgd {
        /// Learning rate (Keras's default 0.01; PyTorch has none).
        lr: f64,
        /// Momentum factor (PyTorch's `momentum`); 0 turns it off; default 0.
        #[serde(default)]
        momentum: f64,
        /// Dampening of the gradient added to the momentum buffer, `(1 − dampening)·g`; default 0.
        #[serde(default)]
        dampening: f64,
        /// Nesterov momentum (PyTorch's `nesterov`); needs a positive momentum and zero dampening; default off.
        #[serde(default)]
        nesterov: bool,
        /// L2 penalty added to the gradient, `g + wd·w`; default 0.
        #[serde(default)]
        weight_decay: f64,
    },
    /// Adam (`torch.optim.Adam`), weight decay as an L2 penalty on the gradient.
    Adam {
        /// Learning rate (default 1e-3).
        lr: f64,
        /// Decay rates `(β1, β2)` of the first- and second-moment averages; default `(0.9, 0.999)`.
        #[serde(default = "default_betas")]
        betas: (f64, f64),
        /// Added to the denominator for numerical stability; default 1e-8.
        #[serde(default = "default_eps")]
        eps: f64,
        /// L2 penalty added to the gradient, `g + wd·w` (coupled, as PyTorch's Adam); default 0.
        #[serde(default)]
        weight_decay: f64,
        /// Use AMSGrad's running maximum of the second moment; default off.
        #[serde(default)]
        amsgrad: bool,
    },
    /// AdamW (`torch.optim.AdamW`): Adam with decoupled weight decay.
    #[serde(rename = "adamw")]
    AdamW {
        /// Learning rate (default 1e-3).
        lr: f64,
        /// Decay rates `(β1, β2)` of the first- and second-moment averages; default `(0.9, 0.999)`.
        #[serde(default = "default_betas")]
        betas: (f64, f64),
        /// Added to the denominator for numerical stability; default 1e-8.
        #[serde(default = "default_eps")]
        eps: f64,
        /// Decoupled weight decay, `w -= lr·wd·w` before the step; default 0.01.
        #[serde(default = "default_adamw_wd")]
        weight_decay: f64,
        /// Use AMSGrad's running maximum of the second moment; default off.
        #[serde(default)]
        amsgrad: bool,
    },
    /// RMSprop (`torch.optim.RMSprop`).
    #[serde(rename = "rmsprop")]
    RmsProp {
        /// Learning rate (default 0.01).
        lr: f64,
        /// Smoothing constant of the squared-gradient average; default 0.99.
        #[serde(default = "default_alpha")]
        alpha: f64,
        /// Added to the denominator for numerical stability; default 1e-8.
        #[serde(default = "default_eps")]
        eps: f64,
        /// L2 penalty added to the gradient, `g + wd·w`; default 0.
        #[serde(default)]
        weight_decay: f64,
        /// Momentum factor; 0 turns it off; default 0.
        #[serde(default)]
        momentum: f64,
        /// Centred RMSprop: normalise by the variance estimate rather than the raw second moment; default off.
        #[serde(default)]
        centered: bool,
    },
    /// Nadam with Keras's rule (`keras.optimizers.Nadam`): Adam with Nesterov momentum.
    Nadam {
        /// Learning rate (default 1e-3).
        lr: f64,
        /// Decay rate of the first-moment average; default 0.9.
        #[serde(default = "default_beta1")]
        beta1: f64,
        /// Decay rate of the second-moment average; default 0.999.
        #[serde(default = "default_beta2")]
        beta2: f64,
        /// Added to the denominator for numerical stability; default 1e-7 (Keras's).
        #[serde(default = "default_nadam_eps")]
        eps: f64,
        /// Keras's decoupled `weight_decay` (`w -= lr·wd·w` before the step).
        #[serde(default)]
        weight_decay: f64,
    },
}

fn default_betas() -> (f64, f64) {
    (0.9, 0.999)
}
fn default_eps() -> f64 {
    1e-8
}
fn default_adamw_wd() -> f64 {
    1e-2
}
fn default_alpha() -> f64 {
    0.99
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_nadam_eps() -> f64 {
    1e-7
}

impl OptimizerConfig {
    /// SGD with learning rate `lr` and no momentum.
    pub fn sgd(lr: f64) -> Self {
        OptimizerConfig::Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// SGD with momentum (heavy ball).
    pub fn sgd_momentum(lr: f64, momentum: f64) -> Self {
        OptimizerConfig::Sgd {
            lr,
            momentum,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// Adam with learning rate `lr` and PyTorch's other defaults.
    pub fn adam(lr: f64) -> Self {
        OptimizerConfig::Adam {
            lr,
            betas: default_betas(),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }

    /// AdamW with learning rate `lr` and PyTorch's other defaults (weight decay 0.01).
    pub fn adamw(lr: f64) -> Self {
        OptimizerConfig::AdamW {
            lr,
            betas: default_betas(),
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
        }
    }

    /// RMSprop with learning rate `lr` and PyTorch's other defaults.
    pub fn rmsprop(lr: f64) -> Self {
        OptimizerConfig::RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }

    /// Nadam with learning rate `lr` and Keras's other defaults.
    pub fn nadam(lr: f64) -> Self {
        OptimizerConfig::Nadam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            weight_decay: 0.0,
        }
    }

    /// The optimizer named `name` (`sgd`, `adam`, `adamw`, `rmsprop`,
    /// `nadam`) with its default learning rate.
    pub fn by_name(name: &str) -> Result<Self> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "sgd" => Self::sgd(0.01),
            "adam" => Self::adam(1e-3),
            "adamw" => Self::adamw(1e-3),
            "rmsprop" => Self::rmsprop(1e-2),
            "nadam" => Self::nadam(1e-3),
            other => {
                return Err(Error::invalid(
                    "optimizer",
                    format!("unknown optimizer {other:?}; choose sgd, adam, adamw, rmsprop or nadam"),
                ));
            }
        })
    }

    /// The optimizer's name as in configs and on the command line (`sgd`, `adam`, `adamw`, `rmsprop`, `nadam`).
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::AdamW { .. } => "adamw",
            OptimizerConfig::RmsProp { .. } => "rmsprop",
            OptimizerConfig::Nadam { .. } => "nadam",
        }
    }

    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::Adam { lr, .. }
            | OptimizerConfig::AdamW { lr, .. }
            | OptimizerConfig::RmsProp { lr, .. }
            | OptimizerConfig::Nadam { lr, .. } => lr,
        }
    }

    /// The same optimizer with base learning rate `new`.
    pub fn with_lr(mut self, new: f64) -> Self {
        match &mut self {
            OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::Adam { lr, .. }
            | OptimizerConfig::AdamW { lr, .. }
            | OptimizerConfig::RmsProp { lr, .. }
            | OptimizerConfig::Nadam { lr, .. } => *lr = new,
        }
        self
    }

    /// fastai's default optimizer: Adam with decoupled weight decay 0.01
    /// (`true_wd`, as AdamW), β = (0.9, 0.99) and eps 1e-5. The one-cycle
    /// recipes cycle β₁ between 0.95 and 0.85 over it.
    pub fn fastai_adam(lr: f64) -> Self {
        OptimizerConfig::AdamW {
            lr,
            betas: (0.9, 0.99),
            eps: 1e-5,
            weight_decay: 1e-2,
            amsgrad: false,
        }
    }

    /// Momentum (SGD, RMSprop) or β₁ (Adam, AdamW, Nadam).
    pub fn momentum(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { momentum, .. } | OptimizerConfig::RmsProp { momentum, .. } => momentum,
            OptimizerConfig::Adam { betas, .. } | OptimizerConfig::AdamW { betas, .. } => betas.0,
            OptimizerConfig::Nadam { beta1, .. } => beta1,
        }
    }

    /// Sets momentum (SGD, RMSprop) or β₁ (Adam, AdamW, Nadam), as fastai's
    /// `mom` hyper-parameter does.
    pub fn set_momentum(&mut self, value: f64) {
        match self {
            OptimizerConfig::Sgd { momentum, .. } | OptimizerConfig::RmsProp { momentum, .. } => *momentum = value,
            OptimizerConfig::Adam { betas, .. } | OptimizerConfig::AdamW { betas, .. } => betas.0 = value,
            OptimizerConfig::Nadam { beta1, .. } => *beta1 = value,
        }
    }

    fn weight_decay(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { weight_decay, .. }
            | OptimizerConfig::Adam { weight_decay, .. }
            | OptimizerConfig::AdamW { weight_decay, .. }
            | OptimizerConfig::RmsProp { weight_decay, .. }
            | OptimizerConfig::Nadam { weight_decay, .. } => weight_decay,
        }
    }

    /// Checks the hyper-parameters.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, why: String| Err(Error::invalid(format!("{} {what}", self.name()), why));
        let lr = self.lr();
        if !(lr.is_finite() && lr >= 0.0) {
            return bad("learning rate", format!("{lr} must be a non-negative number"));
        }
        if !is_non_negative(self.weight_decay()) {
            return bad("weight decay", format!("{} must be non-negative", self.weight_decay()));
        }
        match *self {
            OptimizerConfig::Sgd {
                momentum,
                dampening,
                nesterov,
                ..
            } => {
                if !(0.0..=1.0).contains(&momentum) {
                    return bad("momentum", format!("{momentum} must be in [0, 1]"));
                }
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    return bad("nesterov", "needs momentum > 0 and dampening 0".into());
                }
            }
            OptimizerConfig::Adam { betas, eps, .. } | OptimizerConfig::AdamW { betas, eps, .. } => {
                if !(0.0..1.0).contains(&betas.0) || !(0.0..1.0).contains(&betas.1) {
                    return bad("betas", format!("{betas:?} must be in [0, 1)"));
                }
                if !is_positive(eps) {
                    return bad("eps", format!("{eps} must be positive"));
                }
            }
            OptimizerConfig::RmsProp {
                alpha, eps, momentum, ..
            } => {
                if !(0.0..=1.0).contains(&alpha) || !is_positive(eps) || !(0.0..=1.0).contains(&momentum) {
                    return bad(
                        "settings",
                        format!("alpha {alpha}, eps {eps}, momentum {momentum} out of range"),
                    );
                }
            }
            OptimizerConfig::Nadam { beta1, beta2, eps, .. } => {
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) || !is_positive(eps) {
                    return bad(
                        "settings",
                        format!("beta1 {beta1}, beta2 {beta2}, eps {eps} out of range"),
                    );
                }
            }
        }
        Ok(())
    }
}

/// Settings of a parameter group: parameters whose names start with
/// `prefix` use these instead of the optimizer's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamGroup {
    /// Parameter-name prefix the group applies to (e.g. `fc` or `layer4.`).
    pub prefix: String,
    /// Learning rate of the group (at the base learning rate; a schedule
    /// scales it with the base).
    #[serde(default)]
    pub lr: Option<f64>,
    /// Weight decay of the group; `None` keeps the optimizer's.
    #[serde(default)]
    pub weight_decay: Option<f64>,
}

/// An optimizer with its state.
#[derive(Clone, Debug)]
pub struct Optimizer<T: Scalar> {
    config: OptimizerConfig,
    groups: Vec<ParamGroup>,
    /// Current base learning rate (a schedule moves it).
    lr: f64,
    /// Per parameter, in `Sequential::for_each_param` order.
    states: Vec<ParamState<T>>,
    /// Group of each parameter (`None`: the optimizer's own settings).
    group_of: Vec<Option<usize>>,
}

impl<T: Scalar> Optimizer<T> {
    /// An optimizer with no state yet; fails when a hyper-parameter is out of range.
    pub fn new(config: OptimizerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Optimizer {
            lr: config.lr(),
            config,
            groups: Vec::new(),
            states: Vec::new(),
            group_of: Vec::new(),
        })
    }

    /// Adds a parameter group; the first group whose prefix matches a
    /// parameter's name wins.
    pub fn with_group(mut self, group: ParamGroup) -> Self {
        self.groups.push(group);
        self.group_of.clear();
        self
    }

    /// The optimizer's hyper-parameters.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The parameter groups, in matching order.
    pub fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    /// Current base learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Sets the base learning rate (schedules call this each epoch or step).
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Replaces the parameter groups (e.g. the layer groups of a recipe).
    pub fn set_groups(&mut self, groups: Vec<ParamGroup>) {
        self.groups = groups;
        self.group_of.clear();
    }

    /// Sets the rates of a per-batch schedule: `base` for parameters in no
    /// group, `group_lrs[i]` for group `i`, both as they are (no scaling).
    pub fn set_rates(&mut self, base: f64, group_lrs: &[f64]) {
        self.config = self.config.clone().with_lr(base);
        self.lr = base;
        for (g, &lr) in self.groups.iter_mut().zip(group_lrs) {
            g.lr = Some(lr);
        }
    }

    /// Sets momentum (SGD, RMSprop) or β₁ (Adam family).
    pub fn set_momentum(&mut self, value: f64) {
        self.config.set_momentum(value);
    }

    /// Forgets every moment buffer and step count (fastai clears the state
    /// when it freezes or unfreezes).
    pub fn clear_state(&mut self) {
        self.states.iter_mut().for_each(|s| *s = ParamState::default());
    }

    /// Number of steps the first parameter has taken.
    pub fn steps(&self) -> u64 {
        self.states.first().map_or(0, |s| s.step)
    }

    fn bind(&mut self, model: &Sequential<T>) {
        let names = model.param_names();
        self.group_of = names
            .iter()
            .map(|n| self.groups.iter().position(|g| n.starts_with(&g.prefix)))
            .collect();
        if self.states.len() != names.len() {
            self.states = (0..names.len()).map(|_| ParamState::default()).collect();
        }
    }

    /// Updates every non-frozen parameter of `model` from its gradient.
    pub fn step(&mut self, model: &mut Sequential<T>) {
        if self.group_of.is_empty() {
            self.bind(model);
        }
        let factor = if self.config.lr() > 0.0 {
            self.lr / self.config.lr()
        } else {
            0.0
        };
        let mut i = 0;
        let (config, groups, states, group_of) = (&self.config, &self.groups, &mut self.states, &self.group_of);
        let lr_base = self.lr;
        model.for_each_param(&mut |p: &mut Param<T>| {
            let idx = i;
            i += 1;
            if p.frozen || idx >= states.len() {
                return;
            }
            let group = group_of.get(idx).copied().flatten().map(|g| &groups[g]);
            let lr = group.and_then(|g| g.lr).map_or(lr_base, |glr| glr * factor);
            let wd = group
                .and_then(|g| g.weight_decay)
                .unwrap_or_else(|| config.weight_decay());
            rules::update(config, lr, wd, &mut states[idx], p);
        });
    }

    /// The optimizer's state for a checkpoint: counters, and the moment
    /// buffers as tensors named `{param index}.{buffer}`.
    pub fn export_state(&self) -> (OptimizerState, Vec<(String, Tensor<T>)>) {
        let mut tensors = Vec::new();
        for (i, s) in self.states.iter().enumerate() {
            s.export(i, &mut tensors);
        }
        let meta = OptimizerState {
            config: self.config.clone(),
            groups: self.groups.clone(),
            lr: self.lr,
            steps: self.states.iter().map(|s| s.step).collect(),
            u_products: self.states.iter().map(|s| s.u_product).collect(),
        };
        (meta, tensors)
    }

    /// Rebuilds an optimizer from [`Optimizer::export_state`] for `model`.
    pub fn import_state(model: &Sequential<T>, meta: &OptimizerState, tensors: &[(String, Tensor<T>)]) -> Result<Self> {
        let mut opt = Optimizer::new(meta.config.clone())?;
        opt.groups = meta.groups.clone();
        opt.lr = meta.lr;
        opt.bind(model);
        if meta.steps.len() != opt.states.len() && !meta.steps.is_empty() {
            return Err(Error::Weights(format!(
                "optimizer state has {} parameters, the model {}",
                meta.steps.len(),
                opt.states.len()
            )));
        }
        let map: std::collections::HashMap<&str, &Tensor<T>> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        for (i, s) in opt.states.iter_mut().enumerate() {
            s.step = meta.steps.get(i).copied().unwrap_or(0);
            s.u_product = meta.u_products.get(i).copied().unwrap_or(1.0);
            s.import(i, &map)?;
        }
        Ok(opt)
    }
}

/// The non-tensor part of an optimizer's state, as saved in checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The optimizer and its hyper-parameters.
    pub config: OptimizerConfig,
    /// Parameter groups, in matching order.
    #[serde(default)]
    pub groups: Vec<ParamGroup>,
    /// Base learning rate at the time of saving (a schedule may have moved it).
    pub lr: f64,
    /// Steps taken, per parameter in `Sequential::for_each_param` order.
    pub steps: Vec<u64>,
    /// Nadam's product of momentum schedule terms, per parameter (1 for other optimizers).
    pub u_products: Vec<f64>,
}
