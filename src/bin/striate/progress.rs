//! What `striate train` shows while it trains, and Ctrl-C handling
//! (checkpoints are the library's [`striate::run::Checkpointer`]).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use striate::Sequential;
use striate::optim::Optimizer;
use striate::train::{BatchLog, Callback, Control, EpochLog, Trainer};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A progress bar per epoch and a line per epoch (a terminal).
    Bar,
    /// A line per epoch (pipes, CI), and within a long epoch a progress
    /// line every [`LINE_EVERY`].
    Lines,
    /// A JSON object per epoch.
    Json,
    Quiet,
}

impl Mode {
    pub fn choose(quiet: bool, json: bool) -> Mode {
        if json {
            Mode::Json
        } else if quiet {
            Mode::Quiet
        } else if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }

    /// True when human-readable text goes to stdout.
    pub fn text(self) -> bool {
        matches!(self, Mode::Bar | Mode::Lines)
    }
}

/// How often a long epoch prints a progress line when output is not a terminal.
pub const LINE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Set by Ctrl-C; a second Ctrl-C exits at once.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let _ = ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            eprintln!("\nstriate: interrupted again, exiting without saving");
            std::process::exit(130);
        }
        eprintln!("\nstriate: stopping after this batch and saving a checkpoint (Ctrl-C again to quit at once)");
    });
    flag
}

/// The training callback of the command line.
pub struct Reporter {
    mode: Mode,
    epochs: usize,
    bar: Option<ProgressBar>,
    epoch_start: Instant,
    /// When the last progress line (or the epoch) began, in [`Mode::Lines`].
    last_line: Instant,
    /// Batches run since the epoch began (fewer than its number after a resume).
    run: usize,
    interrupt: Arc<AtomicBool>,
}

impl Reporter {
    pub fn new(mode: Mode, epochs: usize, interrupt: Arc<AtomicBool>) -> Self {
        Reporter {
            mode,
            epochs,
            bar: None,
            epoch_start: Instant::now(),
            last_line: Instant::now(),
            run: 0,
            interrupt,
        }
    }

    fn stop_requested(&self) -> Control {
        if self.interrupt.load(Ordering::SeqCst) {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// `epoch 3/15  loss 0.4120  acc 0.8530  val_loss 0.4501  val_acc 0.8400  12.1 s`,
/// with `(waited 0.3 s for data)` after a streamed epoch.
pub fn epoch_line(log: &EpochLog, epochs: usize) -> String {
    let mut s = format!("epoch {}/{}  loss {:.4}", log.epoch, epochs, log.loss);
    if let Some(a) = log.accuracy {
        s += &format!("  acc {a:.4}");
    }
    if let Some(v) = log.val_loss {
        s += &format!("  val_loss {v:.4}");
    }
    if let Some(v) = log.val_accuracy {
        s += &format!("  val_acc {v:.4}");
    }
    if let Some(v) = log.val_auc {
        s += &format!("  val_auc {v:.4}");
    }
    for r in &log.val_rejection {
        s += &format!(
            "  1/εB@{} {}",
            r.signal_efficiency,
            striate::report::fmt_rejection(r.background_rejection)
        );
    }
    s += &format!("  lr {:.2e}  {:.1} s", log.lr, log.seconds);
    if let Some(w) = log.data_wait {
        s += &format!(" (waited {w:.1} s for data)");
    }
    s
}

/// `  epoch 1/1  batch 1200/8907  loss 0.3012  acc 0.8731  1523 samples/s  ETA 84 min`
/// (rate and ETA from the `run` batches this process ran in `seconds`).
pub fn batch_line(log: &BatchLog, epochs: usize, run: usize, seconds: f64) -> String {
    let mut s = format!(
        "  epoch {}/{}  batch {}/{}  loss {:.4}",
        log.epoch, epochs, log.batch, log.batches, log.loss
    );
    if let Some(a) = log.accuracy {
        s += &format!("  acc {a:.4}");
    }
    let per_batch = log.samples as f64 / log.batch.max(1) as f64;
    let rate = per_batch * run as f64 / seconds.max(1e-9);
    let eta = seconds / run.max(1) as f64 * log.batches.saturating_sub(log.batch) as f64;
    let eta = if eta >= 120.0 {
        format!("{:.0} min", eta / 60.0)
    } else {
        format!("{eta:.0} s")
    };
    s + &format!("  {rate:.0} samples/s  ETA {eta}")
}

impl Callback<f32> for Reporter {
    fn on_epoch_begin(&mut self, epoch: usize, batches: usize) {
        self.epoch_start = Instant::now();
        self.last_line = self.epoch_start;
        self.run = 0;
        if self.mode == Mode::Bar {
            let bar = ProgressBar::new(batches as u64);
            let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(format!("epoch {epoch}/{}", self.epochs));
            self.bar = Some(bar);
        }
    }

    fn on_batch_end(&mut self, log: &BatchLog) -> Control {
        self.run += 1;
        if self.mode == Mode::Lines && log.batch < log.batches && self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            println!(
                "{}",
                batch_line(log, self.epochs, self.run, self.epoch_start.elapsed().as_secs_f64())
            );
        }
        if let Some(bar) = &self.bar {
            let rate = log.samples as f64 / self.epoch_start.elapsed().as_secs_f64().max(1e-9);
            let acc = log.accuracy.map_or(String::new(), |a| format!(" acc {a:.4}"));
            bar.set_position(log.batch as u64);
            bar.set_message(format!("{rate:.0} samples/s loss {:.4}{acc}", log.loss));
        }
        self.stop_requested()
    }

    fn on_epoch_end(&mut self, log: &EpochLog, _: &Trainer, _: &Sequential<f32>, _: &Optimizer<f32>) -> Control {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        match self.mode {
            Mode::Bar | Mode::Lines => println!("{}", epoch_line(log, self.epochs)),
            Mode::Json => println!("{}", serde_json::to_string(log).unwrap_or_default()),
            Mode::Quiet => {}
        }
        self.stop_requested()
    }

    fn on_interrupt(&mut self, _: &Trainer, _: &Sequential<f32>, _: &Optimizer<f32>) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_says_where_the_epoch_is_and_what_is_left() {
        let log = BatchLog {
            epoch: 1,
            batch: 1200,
            batches: 8907,
            samples: 1200 * 128,
            loss: 0.30123,
            accuracy: Some(0.87306),
            lr: 1e-3,
            momentum: 0.9,
        };
        // 200 batches run after a resume at batch 1000, in 100 s: 2 batches/s.
        let line = batch_line(&log, 3, 200, 100.0);
        assert_eq!(
            line,
            "  epoch 1/3  batch 1200/8907  loss 0.3012  acc 0.8731  256 samples/s  ETA 64 min"
        );
        let near_end = BatchLog { batch: 8900, ..log };
        assert!(batch_line(&near_end, 3, 200, 100.0).ends_with("ETA 4 s"));
    }
}
