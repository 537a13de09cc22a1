//! Element-wise activations and softmax, forward and backward side by side.
//!
//! Backward rules take the forward output `y` (and input `x` where needed)
//! and the output gradient `dy`, and overwrite `dx`.

use rayon::prelude::*;

use crate::scalar::Scalar;

/// An element-wise activation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `max(x, 0)`; the gradient at 0 is 0, as PyTorch.
    Relu,
    /// `x` for `x > 0`, else `slope · x` (PyTorch's default slope is 0.01).
    LeakyRelu {
        /// Slope for negative inputs.
        slope: f64,
    },
    /// `x` for `x > 0`, else `alpha · (eˣ − 1)`.
    Elu {
        /// Scale of the negative branch.
        alpha: f64,
    },
    /// `1 / (1 + e⁻ˣ)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
}

/// Elements per parallel task of an element-wise op.
const ELEMS_PER_TASK: usize = 1 << 15;

/// The logistic function `1 / (1 + e^−x)`, without overflow for large `|x|`.
#[inline(always)]
pub fn sigmoid<T: Scalar>(x: T) -> T {
    // Two branches keep exp() from overflowing.
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

impl Activation {
    /// The layer type name shown in summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::LeakyRelu { .. } => "LeakyReLU",
            Activation::Elu { .. } => "ELU",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
        }
    }

    #[inline(always)]
    fn apply<T: Scalar>(&self, x: T) -> T {
        match *self {
            Activation::Relu => {
                if x > T::zero() {
                    x
                } else {
                    T::zero()
                }
            }
            Activation::LeakyRelu { slope } => {
                if x > T::zero() {
                    x
                } else {
                    x * T::lit(slope)
                }
            }
            Activation::Elu { alpha } => {
                if x > T::zero() {
                    x
                } else {
                    T::lit(alpha) * x.exp_m1()
                }
            }
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
        }
    }

    /// `dL/dx` from input `x`, output `y` and `dL/dy`.
    #[inline(always)]
    fn grad<T: Scalar>(&self, x: T, y: T, dy: T) -> T {
        match *self {
            Activation::Relu => {
                if x > T::zero() {
                    dy
                } else {
                    T::zero()
                }
            }
            Activation::LeakyRelu { slope } => {
                if x > T::zero() {
                    dy
                } else {
                    dy * T::lit(slope)
                }
            }
            Activation::Elu { alpha } => {
                if x > T::zero() {
                    dy
                } else {
                    dy * (y + T::lit(alpha))
                }
            }
            Activation::Sigmoid => dy * y * (T::one() - y),
            Activation::Tanh => dy * (T::one() - y * y),
        }
    }

    /// `y = f(x)` element-wise.
    pub fn forward<T: Scalar>(&self, x: &[T], y: &mut [T]) {
        // The piecewise-linear ones get a loop of their own with the
        // variant known at compile time, so that it vectorises (a `match`
        // per element does not); the others are dominated by `exp`/`tanh`.
        match *self {
            Activation::Relu => map_forward(x, y, |v| Activation::Relu.apply(v)),
            Activation::LeakyRelu { slope } => map_forward(x, y, move |v| Activation::LeakyRelu { slope }.apply(v)),
            f => map_forward(x, y, move |v| f.apply(v)),
        }
    }

    /// `dx = f'(x) · dy` element-wise.
    pub fn backward<T: Scalar>(&self, x: &[T], y: &[T], dy: &[T], dx: &mut [T]) {
        match *self {
            Activation::Relu => map_backward(x, y, dy, dx, |x, y, dy| Activation::Relu.grad(x, y, dy)),
            Activation::LeakyRelu { slope } => map_backward(x, y, dy, dx, move |x, y, dy| {
                Activation::LeakyRelu { slope }.grad(x, y, dy)
            }),
            f => map_backward(x, y, dy, dx, move |x, y, dy| f.grad(x, y, dy)),
        }
    }
}

/// `y[i] = f(x[i])`, parallel over chunks.
fn map_forward<T: Scalar>(x: &[T], y: &mut [T], f: impl Fn(T) -> T + Sync) {
    y.par_chunks_mut(ELEMS_PER_TASK)
        .zip(x.par_chunks(ELEMS_PER_TASK))
        .for_each(|(yc, xc)| yc.iter_mut().zip(xc).for_each(|(y, &x)| *y = f(x)));
}

/// `dx[i] = g(x[i], y[i], dy[i])`, parallel over chunks.
fn map_backward<T: Scalar>(x: &[T], y: &[T], dy: &[T], dx: &mut [T], g: impl Fn(T, T, T) -> T + Sync) {
    dx.par_chunks_mut(ELEMS_PER_TASK)
        .zip(x.par_chunks(ELEMS_PER_TASK))
        .zip(y.par_chunks(ELEMS_PER_TASK))
        .zip(dy.par_chunks(ELEMS_PER_TASK))
        .for_each(|(((dxc, xc), yc), dyc)| {
            for (((dx, &x), &y), &dy) in dxc.iter_mut().zip(xc).zip(yc).zip(dyc) {
                *dx = g(x, y, dy);
            }
        });
}

/// Softmax over the channel axis of `(n, c, s)` data (`s` = 1 for `(n, c)`):
/// `y = exp(x − max) / Σ exp(x − max)`.
pub fn softmax_forward<T: Scalar>(n: usize, c: usize, s: usize, x: &[T], y: &mut [T]) {
    for ni in 0..n {
        let base = ni * c * s;
        for si in 0..s {
            let at = |ci: usize| base + ci * s + si;
            let max = (0..c).map(|ci| x[at(ci)]).fold(T::neg_infinity(), T::max);
            let mut sum = T::zero();
            for ci in 0..c {
                let e = (x[at(ci)] - max).exp();
                y[at(ci)] = e;
                sum += e;
            }
            for ci in 0..c {
                y[at(ci)] /= sum;
            }
        }
    }
}

/// Softmax backward: `dx = y ⊙ (dy − Σ_c dy ⊙ y)`.
pub fn softmax_backward<T: Scalar>(n: usize, c: usize, s: usize, y: &[T], dy: &[T], dx: &mut [T]) {
    for ni in 0..n {
        let base = ni * c * s;
        for si in 0..s {
            let at = |ci: usize| base + ci * s + si;
            let dot: T = (0..c).map(|ci| dy[at(ci)] * y[at(ci)]).sum();
            for ci in 0..c {
                dx[at(ci)] = y[at(ci)] * (dy[at(ci)] - dot);
            }
        }
    }
}
