//! The update rules, one function per optimizer, following PyTorch's
//! single-tensor implementations (`torch/optim/*.py`) and Keras's Nadam
//! (`keras/src/optimizers/nadam.py`) operation by operation, so that results
//! agree to rounding. Scalar coefficients are computed in `f64`, element
//! arithmetic in the parameter's type.

use rayon::prelude::*;

use super::OptimizerConfig;
use crate::error::{Error, Result};
use crate::layers::Param;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Elements per parallel task of an update.
const CHUNK: usize = 1 << 14;

/// Per-parameter optimizer state.
#[derive(Clone, Debug)]
pub struct ParamState<T: Scalar> {
    /// Steps taken by this parameter.
    pub step: u64,
    /// Momentum buffer (SGD, RMSprop) or first moment (Adam, Nadam).
    pub m: Vec<T>,
    /// Second moment (Adam, Nadam) or square average (RMSprop).
    pub v: Vec<T>,
    /// AMSGrad's running maximum of `v`, or centred RMSprop's gradient average.
    pub aux: Vec<T>,
    /// Nadam's product of momentum schedule terms.
    pub u_product: f64,
}

impl<T: Scalar> Default for ParamState<T> {
    fn default() -> Self {
        ParamState {
            step: 0,
            m: Vec::new(),
            v: Vec::new(),
            aux: Vec::new(),
            u_product: 1.0,
        }
    }
}

impl<T: Scalar> ParamState<T> {
    pub(super) fn export(&self, index: usize, out: &mut Vec<(String, Tensor<T>)>) {
        for (name, buf) in [("m", &self.m), ("v", &self.v), ("aux", &self.aux)] {
            if !buf.is_empty() {
                let t = Tensor::from_fn(&[buf.len()], |i| buf[i]);
                out.push((format!("{index}.{name}"), t));
            }
        }
    }

    pub(super) fn import(&mut self, index: usize, map: &std::collections::HashMap<&str, &Tensor<T>>) -> Result<()> {
        for (name, buf) in [("m", &mut self.m), ("v", &mut self.v), ("aux", &mut self.aux)] {
            let key = format!("{index}.{name}");
            match map.get(key.as_str()) {
                Some(t) => *buf = t.data().to_vec(),
                None => buf.clear(),
            }
        }
        if self.step > 0 && self.m.is_empty() && self.v.is_empty() {
            // SGD without momentum keeps no buffers; nothing to check.
            return Ok(());
        }
        let lens: Vec<usize> = [&self.m, &self.v, &self.aux]
            .iter()
            .map(|b| b.len())
            .filter(|&l| l > 0)
            .collect();
        if lens.windows(2).any(|w| w[0] != w[1]) {
            return Err(Error::Weights(format!(
                "optimizer buffers of parameter {index} differ in length"
            )));
        }
        Ok(())
    }
}

fn ensure<T: Scalar>(buf: &mut Vec<T>, len: usize) {
    if buf.len() != len {
        buf.clear();
        buf.resize(len, T::zero());
    }
}

/// One parameter's step: its values, gradient and state, with the group's
/// learning rate and weight decay.
struct Update<'a, T: Scalar> {
    p: &'a mut [T],
    g: &'a [T],
    s: &'a mut ParamState<T>,
    lr: f64,
    wd: f64,
}

/// Applies one step of `config` with learning rate `lr` and weight decay `wd`.
pub(super) fn update<T: Scalar>(config: &OptimizerConfig, lr: f64, wd: f64, s: &mut ParamState<T>, p: &mut Param<T>) {
    s.step += 1;
    let len = p.value.len();
    let (param, grad) = (p.value.data_mut(), p.grad.data());
    let u = Update {
        p: param,
        g: grad,
        s,
        lr,
        wd,
    };
    match *config {
        OptimizerConfig::Sgd {
            momentum,
            dampening,
            nesterov,
            ..
        } => sgd(u, momentum, dampening, nesterov),
        OptimizerConfig::Adam {
            betas, eps, amsgrad, ..
        }
        | OptimizerConfig::AdamW {
            betas, eps, amsgrad, ..
        } => {
            ensure(&mut u.s.m, len);
            ensure(&mut u.s.v, len);
            if amsgrad {
                ensure(&mut u.s.aux, len);
            }
            let decoupled = matches!(config, OptimizerConfig::AdamW { .. });
            adam(u, decoupled, betas, eps, amsgrad)
        }
        OptimizerConfig::RmsProp {
            alpha,
            eps,
            momentum,
            centered,
            ..
        } => {
            ensure(&mut u.s.v, len);
            if momentum > 0.0 {
                ensure(&mut u.s.m, len);
            }
            if centered {
                ensure(&mut u.s.aux, len);
            }
            rmsprop(u, alpha, eps, momentum, centered)
        }
        OptimizerConfig::Nadam { beta1, beta2, eps, .. } => {
            ensure(&mut u.s.m, len);
            ensure(&mut u.s.v, len);
            nadam(u, beta1, beta2, eps)
        }
    }
}

/// `torch.optim.SGD`: `g += wd·p`; `buf = g` (first step) or
/// `buf = μ·buf + (1 − dampening)·g`; `g = g + μ·buf` (Nesterov) or `buf`;
/// `p −= lr·g`.
fn sgd<T: Scalar>(u: Update<'_, T>, momentum: f64, dampening: f64, nesterov: bool) {
    let Update { p, g, s, lr, wd } = u;
    let (lr, wd, mu, damp) = (T::lit(lr), T::lit(wd), T::lit(momentum), T::lit(1.0 - dampening));
    if momentum == 0.0 {
        p.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)).for_each(|(p, g)| {
            for (p, &g) in p.iter_mut().zip(g) {
                let d = g + wd * *p;
                *p -= lr * d;
            }
        });
        return;
    }
    let first = s.m.len() != p.len();
    ensure(&mut s.m, p.len());
    p.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(s.m.par_chunks_mut(CHUNK))
        .for_each(|((p, g), buf)| {
            for ((p, &g), b) in p.iter_mut().zip(g).zip(buf) {
                let d = g + wd * *p;
                *b = if first { d } else { mu * *b + damp * d };
                let step = if nesterov { d + mu * *b } else { *b };
                *p -= lr * step;
            }
        });
}

/// `torch.optim.Adam` (weight decay added to the gradient, L2) and, with
/// `decoupled`, `AdamW` (weight decay shrinking the parameter first).
fn adam<T: Scalar>(u: Update<'_, T>, decoupled: bool, betas: (f64, f64), eps: f64, amsgrad: bool) {
    let Update { p, g, s, lr, wd } = u;
    let (l2_wd, decoupled_wd) = if decoupled { (0.0, wd) } else { (wd, 0.0) };
    let t = s.step as f64;
    let k = AdamCoefs {
        step_size: T::lit(lr / (1.0 - betas.0.powf(t))),
        b1c: T::lit(1.0 - betas.0),
        b2: T::lit(betas.1),
        b2c: T::lit(1.0 - betas.1),
        bc2_sqrt: T::lit((1.0 - betas.1.powf(t)).sqrt()),
        eps: T::lit(eps),
        l2: T::lit(l2_wd),
        shrink: T::lit(1.0 - lr * decoupled_wd),
    };
    let shrink_first = decoupled_wd != 0.0;
    // One loop per case, each with the case known at compile time, so that
    // the loops vectorise (a branch per element kept them scalar, with a
    // square root and two divisions each); the arithmetic is the same.
    let body = |p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], vmax: Option<&mut [T]>| match vmax {
        Some(vmax) => {
            for ((((p, &g), m), v), vm) in p.iter_mut().zip(g).zip(m).zip(v).zip(vmax) {
                k.update(shrink_first, p, g, m, v, Some(vm));
            }
        }
        None if shrink_first => {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                k.update(true, p, g, m, v, None);
            }
        }
        None => {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                k.update(false, p, g, m, v, None);
            }
        }
    };
    let (m, v) = (&mut s.m, &mut s.v);
    if amsgrad {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(s.aux.par_chunks_mut(CHUNK))
            .for_each(|((((p, g), m), v), vm)| body(p, g, m, v, Some(vm)));
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), m), v)| body(p, g, m, v, None));
    }
}

/// Adam's coefficients for one step, in the parameter's type.
struct AdamCoefs<T> {
    step_size: T,
    b1c: T,
    b2: T,
    b2c: T,
    bc2_sqrt: T,
    eps: T,
    l2: T,
    shrink: T,
}

impl<T: Scalar> AdamCoefs<T> {
    /// One element's update, operation by operation as PyTorch's.
    #[inline(always)]
    fn update(&self, shrink_first: bool, p: &mut T, g: T, m: &mut T, v: &mut T, vmax: Option<&mut T>) {
        if shrink_first {
            *p *= self.shrink;
        }
        let gi = g + self.l2 * *p;
        *m += self.b1c * (gi - *m);
        *v = *v * self.b2 + self.b2c * gi * gi;
        let vv = match vmax {
            Some(vm) => {
                *vm = vm.max(*v);
                *vm
            }
            None => *v,
        };
        let denom = vv.sqrt() / self.bc2_sqrt + self.eps;
        *p -= self.step_size * (*m / denom);
    }
}

/// `torch.optim.RMSprop`.
fn rmsprop<T: Scalar>(u: Update<'_, T>, alpha: f64, eps: f64, momentum: f64, centered: bool) {
    let Update { p, g, s, lr, wd } = u;
    let (lr, wd, a, ac, eps, mu) = (
        T::lit(lr),
        T::lit(wd),
        T::lit(alpha),
        T::lit(1.0 - alpha),
        T::lit(eps),
        T::lit(momentum),
    );
    let use_mom = momentum > 0.0;
    for i in 0..p.len() {
        let gi = g[i] + wd * p[i];
        s.v[i] = s.v[i] * a + ac * gi * gi;
        let avg = if centered {
            let ga = s.aux[i];
            s.aux[i] = ga + ac * (gi - ga);
            (s.v[i] - s.aux[i] * s.aux[i]).sqrt() + eps
        } else {
            s.v[i].sqrt() + eps
        };
        if use_mom {
            s.m[i] = s.m[i] * mu + gi / avg;
            p[i] -= lr * s.m[i];
        } else {
            p[i] -= lr * (gi / avg);
        }
    }
}

/// Keras's Nadam (Dozat 2015 with the momentum schedule
/// `u_t = β₁·(1 − ½·0.96^t)`), with Keras's optional decoupled weight decay.
fn nadam<T: Scalar>(u: Update<'_, T>, beta1: f64, beta2: f64, eps: f64) {
    let Update { p, g, s, lr, wd } = u;
    let t = s.step as f64;
    let u_t = beta1 * (1.0 - 0.5 * 0.96f64.powf(t));
    let u_t1 = beta1 * (1.0 - 0.5 * 0.96f64.powf(t + 1.0));
    s.u_product *= u_t;
    let u_prod = s.u_product;
    let u_prod_next = u_prod * u_t1;
    let c_m = T::lit(u_t1 / (1.0 - u_prod_next));
    let c_g = T::lit((1.0 - u_t) / (1.0 - u_prod));
    let v_scale = T::lit(1.0 / (1.0 - beta2.powf(t)));
    let (b1c, b2c, lr_t, eps, shrink) = (
        T::lit(1.0 - beta1),
        T::lit(1.0 - beta2),
        T::lit(lr),
        T::lit(eps),
        T::lit(1.0 - lr * wd),
    );
    let decay = wd != 0.0;
    p.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(s.m.par_chunks_mut(CHUNK))
        .zip(s.v.par_chunks_mut(CHUNK))
        .for_each(|(((p, g), m), v)| {
            for i in 0..p.len() {
                if decay {
                    p[i] *= shrink;
                }
                let gi = g[i];
                m[i] += (gi - m[i]) * b1c;
                v[i] += (gi * gi - v[i]) * b2c;
                let m_hat = c_m * m[i] + c_g * gi;
                let v_hat = v[i] * v_scale;
                p[i] -= (m_hat * lr_t) / (v_hat.sqrt() + eps);
            }
        });
}
