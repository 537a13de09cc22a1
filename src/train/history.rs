//! What a run logs: one row per epoch (Keras's `History`) and the running
//! numbers of the current epoch after each batch.

use serde::{Deserialize, Serialize};

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
    /// Learning rate used during the epoch.
    pub lr: f64,
    /// Wall-clock seconds the epoch's training batches took.
    pub seconds: f64,
}

impl EpochLog {
    /// A logged quantity by its Keras name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            "accuracy" | "acc" => self.accuracy,
            "val_loss" => self.val_loss,
            "val_accuracy" | "val_acc" => self.val_accuracy,
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

    /// `epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds` rows.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n");
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
        for e in &self.epochs {
            s.push_str(&format!(
                "{},{:.6},{},{},{},{},{:.3}\n",
                e.epoch,
                e.loss,
                opt(e.accuracy),
                opt(e.val_loss),
                opt(e.val_accuracy),
                e.lr,
                e.seconds
            ));
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
}
