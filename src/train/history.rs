//! What a run logs: one row per epoch (Keras's `History`) and the running
//! numbers of the current epoch after each batch.

use serde::{Deserialize, Serialize};

use crate::metrics::Rejection;

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss per sample over the epoch.
    pub loss: f64,
    /// Training accuracy over the epoch, in `[0, 1]`; `None` for real-valued targets.
    pub accuracy: Option<f64>,
    /// Loss on the validation set after the epoch; `None` without one.
    pub val_loss: Option<f64>,
    /// Accuracy on the validation set after the epoch; `None` without one or for real-valued targets.
    pub val_accuracy: Option<f64>,
    /// Validation ROC AUC (signal: class 1 of two; the mean one-vs-rest AUC
    /// of more classes).
    #[serde(default)]
    pub val_auc: Option<f64>,
    /// Validation background rejection `1/εB` at the run's signal
    /// efficiencies (two classes only).
    #[serde(default)]
    pub val_rejection: Vec<Rejection>,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Wall-clock seconds the epoch's training batches took.
    pub seconds: f64,
    /// Of those, seconds the model waited for streamed batches (a reader
    /// that keeps ahead leaves this near 0); `None` in memory.
    #[serde(default)]
    pub data_wait: Option<f64>,
}

impl EpochLog {
    /// A logged quantity by its Keras name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            "accuracy" | "acc" => self.accuracy,
            "val_loss" => self.val_loss,
            "val_accuracy" | "val_acc" => self.val_accuracy,
            "val_auc" => self.val_auc,
            n if n.starts_with("val_rejection@") => {
                let eff: f64 = n["val_rejection@".len()..].parse().ok()?;
                self.val_rejection
                    .iter()
                    .find(|r| (r.signal_efficiency - eff).abs() < 1e-9)
                    .map(|r| r.background_rejection)
            }
            "lr" => Some(self.lr),
            _ => None,
        }
    }
}

/// Per-epoch logs of a run (Keras's `History`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One entry per completed epoch, in order.
    pub epochs: Vec<EpochLog>,
}

impl History {
    /// The values of one quantity over the epochs that logged it.
    pub fn series(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.get(name)).collect()
    }

    /// `epoch,loss,accuracy,val_loss,val_accuracy,val_auc,lr,seconds,data_wait` rows,
    /// with a `val_rejection@EFF` column per signal efficiency logged.
    pub fn to_csv(&self) -> String {
        let effs: Vec<f64> = self.epochs.first().map_or(Vec::new(), |e| {
            e.val_rejection.iter().map(|r| r.signal_efficiency).collect()
        });
        let mut s = String::from("epoch,loss,accuracy,val_loss,val_accuracy,val_auc");
        for e in &effs {
            s.push_str(&format!(",val_rejection@{e}"));
        }
        s.push_str(",lr,seconds,data_wait\n");
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
        for e in &self.epochs {
            s.push_str(&format!(
                "{},{:.6},{},{},{},{}",
                e.epoch,
                e.loss,
                opt(e.accuracy),
                opt(e.val_loss),
                opt(e.val_accuracy),
                opt(e.val_auc),
            ));
            for &eff in &effs {
                s.push(',');
                s.push_str(&opt(e.get(&format!("val_rejection@{eff}")).filter(|v| v.is_finite())));
            }
            let wait = e.data_wait.map_or(String::new(), |w| format!("{w:.3}"));
            s.push_str(&format!(",{},{:.3},{wait}\n", e.lr, e.seconds));
        }
        s
    }
}

/// Running numbers of the current epoch, as seen after a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchLog {
    /// 1-based epoch number.
    pub epoch: usize,
    /// 1-based batch number and batches per epoch.
    pub batch: usize,
    /// Batches in the epoch.
    pub batches: usize,
    /// Samples seen this epoch.
    pub samples: usize,
    /// Mean loss and accuracy over the epoch so far.
    pub loss: f64,
    /// Mean accuracy over the epoch so far; `None` for real-valued targets.
    pub accuracy: Option<f64>,
    /// Learning rate of the batch (the last layer group's).
    pub lr: f64,
    /// Momentum (SGD, RMSprop) or β₁ (Adam family) of the batch.
    pub momentum: f64,
}
