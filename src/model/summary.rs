//! The Keras-style model summary.
//!
//! ```text
//! Model: "fashion_convnet"
//! ___________________________________________________________________
//!  Layer (type)                  Output Shape                Param #
//! ===================================================================
//!  conv1 (Conv2d)                (None, 32, 26, 26)              320
//!  …
//! ===================================================================
//! Total params: 225,034 (879.04 KB)
//! Trainable params: 225,034 (879.04 KB)
//! Non-trainable params: 0 (0.00 B)
//! ___________________________________________________________________
//! ```
//!
//! Parameter counts follow PyTorch: weights and biases (frozen ones count as
//! non-trainable); batch-norm running statistics are buffers, listed on a
//! separate line when present.

use serde::Serialize;

use super::Sequential;
use crate::layers::{StateRef, count_params};
use crate::scalar::Scalar;

/// One row of the summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SummaryRow {
    /// The layer's name (e.g. `conv1`).
    pub name: String,
    /// The layer's display name (e.g. `Conv2d`, `ReLU`).
    pub kind: String,
    /// Per-sample output shape (without the batch axis).
    pub output_shape: Vec<usize>,
    /// Parameter values of the layer, trainable and frozen (buffers not counted).
    pub params: usize,
}

/// A model's layers, shapes and parameter counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The model's name (`sequential` when it has none).
    pub name: String,
    /// Per-sample input shape.
    pub input_shape: Vec<usize>,
    /// One row per layer, input to output.
    pub rows: Vec<SummaryRow>,
    /// Parameter values optimizers update.
    pub trainable: usize,
    /// Frozen parameter values.
    pub non_trainable: usize,
    /// Elements of buffers (batch-norm running statistics).
    pub buffers: usize,
}

impl Summary {
    pub(crate) fn of<T: Scalar>(model: &Sequential<T>) -> Summary {
        let rows = model
            .layers()
            .iter()
            .map(|l| {
                let (t, f) = count_params(l.as_ref());
                SummaryRow {
                    name: l.name().to_string(),
                    kind: l.kind().display_name().to_string(),
                    output_shape: l.output_shape().to_vec(),
                    params: t + f,
                }
            })
            .collect();
        let (trainable, non_trainable) = model.param_counts();
        let mut buffers = 0;
        model.visit_state(&mut |_, s| {
            if let StateRef::Buffer(b) = s {
                buffers += b.len();
            }
        });
        Summary {
            name: model.spec().name.clone().unwrap_or_else(|| "sequential".into()),
            input_shape: model.input_shape().to_vec(),
            rows,
            trainable,
            non_trainable,
            buffers,
        }
    }

    /// All parameters, trainable or not.
    pub fn total(&self) -> usize {
        self.trainable + self.non_trainable
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Size of `n` `f32` values as Keras prints it: `879.04 KB`.
fn bytes(n: usize) -> String {
    let b = (n * 4) as f64;
    let units = ["B", "KB", "MB", "GB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", units[u])
}

fn shape_str(shape: &[usize]) -> String {
    let dims: String = shape.iter().map(|d| format!(", {d}")).collect();
    format!("(None{dims})")
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let col1 = self
            .rows
            .iter()
            .map(|r| r.name.len() + r.kind.len() + 3)
            .chain([12])
            .max()
            .unwrap_or(12)
            + 2;
        let col2 = self
            .rows
            .iter()
            .map(|r| shape_str(&r.output_shape).len())
            .chain([12])
            .max()
            .unwrap_or(12)
            + 2;
        let col3 = self
            .rows
            .iter()
            .map(|r| thousands(r.params).len())
            .chain([7])
            .max()
            .unwrap_or(7);
        let width = 1 + col1 + col2 + col3 + 1;
        writeln!(f, "Model: \"{}\"", self.name)?;
        writeln!(f, "{}", "_".repeat(width))?;
        writeln!(
            f,
            " {:<col1$}{:<col2$}{:>col3$}",
            "Layer (type)", "Output Shape", "Param #"
        )?;
        writeln!(f, "{}", "=".repeat(width))?;
        for (i, r) in self.rows.iter().enumerate() {
            let label = format!("{} ({})", r.name, r.kind);
            writeln!(
                f,
                " {:<col1$}{:<col2$}{:>col3$}",
                label,
                shape_str(&r.output_shape),
                thousands(r.params)
            )?;
            if i + 1 < self.rows.len() {
                writeln!(f)?;
            }
        }
        writeln!(f, "{}", "=".repeat(width))?;
        writeln!(f, "Total params: {} ({})", thousands(self.total()), bytes(self.total()))?;
        writeln!(
            f,
            "Trainable params: {} ({})",
            thousands(self.trainable),
            bytes(self.trainable)
        )?;
        writeln!(
            f,
            "Non-trainable params: {} ({})",
            thousands(self.non_trainable),
            bytes(self.non_trainable)
        )?;
        if self.buffers > 0 {
            writeln!(f, "Buffers (running statistics): {}", thousands(self.buffers))?;
        }
        write!(f, "{}", "_".repeat(width))
    }
}
