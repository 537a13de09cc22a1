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
    /// A line per epoch (pipes, CI).
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
    interrupt: Arc<AtomicBool>,
}

impl Reporter {
    pub fn new(mode: Mode, epochs: usize, interrupt: Arc<AtomicBool>) -> Self {
        Reporter {
            mode,
            epochs,
            bar: None,
            epoch_start: Instant::now(),
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

/// `epoch 3/15  loss 0.4120  acc 0.8530  val_loss 0.4501  val_acc 0.8400  12.1 s`
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
    s + &format!("  lr {:.2e}  {:.1} s", log.lr, log.seconds)
}

impl Callback<f32> for Reporter {
    fn on_epoch_begin(&mut self, epoch: usize, batches: usize) {
        self.epoch_start = Instant::now();
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
