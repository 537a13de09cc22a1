//! `striate bench`: the reference models timed beside PyTorch in one run.
//!
//! Each row runs in a child process of its own (so that its peak resident
//! memory is its own), on synthetic data with fixed seeds, through the same
//! `Trainer` a user runs. With `--torch PYTHON`, `bench/torch_bench.py` times
//! the same rows with the same thread count, and one table shows both and
//! the ratio (higher is better for striate), the achieved GFLOP/s and the
//! machine's measured GEMM rate.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use striate::data::Dataset;
use striate::kernels::{MatmulSpec, Par, matmul};
use striate::optim::{Optimizer, OptimizerConfig};
use striate::rng::SeededRng;
use striate::train::{BatchLog, Callback, Control, TrainConfig, Trainer};
use striate::{Sequential, Tensor, zoo};

use crate::args::BenchArgs;

/// How a row times training.
#[derive(Clone, Copy)]
enum Training {
    /// The median of the timed epochs after one warm-up epoch (`train_epoch_s`).
    Epochs,
    /// The median step of one epoch after two warm-up steps (`train_step_s`),
    /// for models too slow to train several epochs.
    Steps,
}

/// What inference a row times after training.
#[derive(Clone, Copy)]
enum Inference {
    /// None.
    Skip,
    /// The median forward pass of one batch of this size (`infer_batch_s`).
    Batch(usize),
    /// Images per second over the training set in batches of this size
    /// (`infer_img_per_s`), and the median batch-1 latency (`latency_us`).
    ThroughputAndLatency(usize),
}

impl Inference {
    /// The batch size of the timed forward passes (0 without inference).
    fn batch(&self) -> usize {
        match *self {
            Inference::Skip => 0,
            Inference::Batch(b) | Inference::ThroughputAndLatency(b) => b,
        }
    }
}

/// One benchmark row: a model, its training set-up and what is timed. The
/// same table is in `bench/torch_bench.py`.
struct Row {
    name: &'static str,
    title: &'static str,
    model: &'static str,
    hw: usize,
    samples: usize,
    batch: usize,
    classes: usize,
    sgd: bool,
    lr: f64,
    training: Training,
    inference: Inference,
    /// The least ratio against PyTorch wanted, per metric, shown in the
    /// table's target column.
    targets: &'static [(&'static str, f64)],
}

impl Row {
    /// Samples of a training epoch: whole batches only, a tenth of them
    /// (at least four batches) in a smoke run.
    fn samples_used(&self, smoke: bool) -> usize {
        let n = if smoke {
            (self.samples / 10).max(4 * self.batch)
        } else {
            self.samples
        };
        n / self.batch * self.batch
    }

    /// The least ratio wanted for `metric`, if any.
    fn target(&self, metric: &str) -> Option<f64> {
        self.targets.iter().find(|(m, _)| *m == metric).map(|&(_, min)| min)
    }
}

const ROWS: [Row; 6] = [
    Row {
        name: "m1",
        title: "M1 jet CNN, batch 1000, Adam",
        model: "jet_cnn",
        hw: 20,
        samples: 80_000,
        batch: 1000,
        classes: 5,
        sgd: false,
        lr: 0.03,
        training: Training::Epochs,
        inference: Inference::ThroughputAndLatency(1000),
        targets: &[("train_epoch_s", 2.0), ("infer_img_per_s", 2.0), ("latency_us", 10.0)],
    },
    Row {
        name: "m2",
        title: "M2 Fashion ConvNet, batch 512, SGD",
        model: "fashion_convnet",
        hw: 28,
        samples: 60_000,
        batch: 512,
        classes: 10,
        sgd: true,
        lr: 0.1,
        training: Training::Epochs,
        inference: Inference::Skip,
        targets: &[("train_epoch_s", 1.5)],
    },
    Row {
        name: "m3",
        title: "M3 LeNet-5, batch 32, Adam",
        model: "lenet5",
        hw: 32,
        samples: 60_000,
        batch: 32,
        classes: 10,
        sgd: false,
        lr: 1e-3,
        training: Training::Epochs,
        inference: Inference::Skip,
        targets: &[("train_epoch_s", 2.0)],
    },
    Row {
        name: "m3b256",
        title: "M3 LeNet-5, batch 256, Adam",
        model: "lenet5",
        hw: 32,
        samples: 60_000,
        batch: 256,
        classes: 10,
        sgd: false,
        lr: 1e-3,
        training: Training::Epochs,
        inference: Inference::Skip,
        targets: &[("train_epoch_s", 1.5)],
    },
    Row {
        name: "m4",
        title: "M4 ResNet-18, 1x40x40, batch 128, Adam",
        model: "resnet18",
        hw: 40,
        samples: 128 * 12,
        batch: 128,
        classes: 2,
        sgd: false,
        lr: 1e-3,
        training: Training::Steps,
        inference: Inference::Batch(128),
        targets: &[("train_step_s", 1.2), ("infer_batch_s", 1.2)],
    },
    Row {
        name: "m5",
        title: "M5 ResNet-34, 1x40x40, batch 128, Adam",
        model: "resnet34",
        hw: 40,
        samples: 128 * 8,
        batch: 128,
        classes: 2,
        sgd: false,
        lr: 1e-3,
        training: Training::Steps,
        inference: Inference::Batch(128),
        targets: &[("train_step_s", 1.2), ("infer_batch_s", 1.2)],
    },
];

type Results = BTreeMap<String, f64>;

pub fn bench(args: &BenchArgs, threads: Option<usize>) -> Result<()> {
    let rows = select_rows(&args.rows)?;
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    if args.child {
        return run_child(&rows, args);
    }
    let threads = threads.unwrap_or_else(rayon::current_num_threads);
    let torch_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/torch_bench.py");
    if let Some(py) = &args.torch {
        check_torch(py, &torch_script)?;
    }
    let gemm = print_machine(args, threads);
    let mut table = Table::default();
    let exe = std::env::current_exe()?;
    for row in rows {
        eprintln!("running {} …", row.name);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for run in 0..args.repeat {
            // Alternate which side goes first, so neither always follows the other.
            let torch_first = run % 2 == 1;
            let time_torch = |theirs: &mut Vec<Results>| -> Result<()> {
                if let Some(py) = &args.torch {
                    theirs.push(child(py, &torch_args(&torch_script, row, args, threads), "PyTorch")?);
                }
                Ok(())
            };
            if torch_first {
                time_torch(&mut theirs)?;
            }
            ours.push(child(&exe, &child_args(row, args, threads), "striate")?);
            if !torch_first {
                time_torch(&mut theirs)?;
            }
        }
        if args.json {
            let j = serde_json::json!({"row": row.name, "striate": ours, "torch": theirs});
            println!("{j}");
        }
        let theirs = (!theirs.is_empty()).then(|| combine(&theirs));
        table.add(row, &combine(&ours), theirs.as_ref(), args.smoke);
    }
    table.print(gemm, args.torch.is_some());
    if args.torch.is_none() {
        println!("\nPyTorch was not run (pass --torch PYTHON, or use scripts/bench.sh, which installs it).");
    }
    Ok(())
}

/// The rows named by `--rows` (all of them when none is named).
fn select_rows(names: &[String]) -> Result<Vec<&'static Row>> {
    if names.is_empty() {
        return Ok(ROWS.iter().collect());
    }
    names
        .iter()
        .map(|r| {
            ROWS.iter()
                .find(|row| row.name == r.trim().to_lowercase())
                .with_context(|| {
                    let names: Vec<&str> = ROWS.iter().map(|row| row.name).collect();
                    let (last, rest) = names.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
                    format!("--rows: unknown row {r:?}; use {} or {last}", rest.join(", "))
                })
        })
        .collect()
}

/// `--child`: runs the one row in this process and prints its `RESULT` line.
fn run_child(rows: &[&Row], args: &BenchArgs) -> Result<()> {
    let [row] = rows[..] else {
        bail!("--child runs exactly one row")
    };
    let r = run_row(row, args)?;
    println!(
        "RESULT {}",
        r.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    );
    Ok(())
}

/// An error unless `torch_script` exists and `py` can import torch.
fn check_torch(py: &Path, torch_script: &Path) -> Result<()> {
    if !torch_script.exists() {
        bail!(
            "{} is missing: --torch needs striate's source tree",
            torch_script.display()
        );
    }
    let ok = Command::new(py)
        .args(["-c", "import torch"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        bail!("{} cannot import torch", py.display());
    }
    Ok(())
}

/// Prints the threads, CPU and GEMM kernels and measures the GEMM rate (GFLOP/s), which it returns.
fn print_machine(args: &BenchArgs, threads: usize) -> f64 {
    let cpu = striate::kernels::cpu::CpuFeatures::detect();
    println!("striate bench: {threads} threads, {}", cpu_name());
    println!(
        "CPU instruction sets: {}; GEMM kernels dispatched: {}; Winograd and direct-convolution loops: {}",
        cpu.describe(),
        cpu.gemm_kernels(),
        striate::kernels::cpu::Isa::detect().name()
    );
    println!("convolution kernels: --conv {}", args.conv.name());
    if args.repeat > 1 {
        println!(
            "each side run {} times per row, alternating which goes first; medians shown (peak memory: the largest)",
            args.repeat
        );
    }
    if args.smoke {
        println!("smoke run: a tenth of the samples and one timed epoch; the numbers mean nothing");
    }
    let gemm = gemm_gflops(threads);
    println!("machine's single-precision GEMM rate (2048³, {threads} threads): {gemm:.0} GFLOP/s\n");
    gemm
}

/// The arguments of `bench/torch_bench.py` for `row`.
fn torch_args(torch_script: &Path, row: &Row, args: &BenchArgs, threads: usize) -> Vec<String> {
    let mut a = vec![
        torch_script.display().to_string(),
        row.name.to_string(),
        "--epochs".into(),
        args.epochs.to_string(),
        "--threads".into(),
        threads.to_string(),
    ];
    if args.smoke {
        a.push("--smoke".into());
    }
    a
}

fn child_args(row: &Row, args: &BenchArgs, threads: usize) -> Vec<String> {
    let mut a = vec![
        "--threads".to_string(),
        threads.to_string(),
        "bench".into(),
        "--child".into(),
        "--rows".into(),
        row.name.into(),
        "--epochs".into(),
        args.epochs.to_string(),
        "--conv".into(),
        args.conv.name().into(),
    ];
    if args.smoke {
        a.push("--smoke".into());
    }
    a
}

/// Runs a program and parses its `RESULT key=value …` line.
fn child(program: &Path, args: &[String], who: &str) -> Result<Results> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        bail!("the {who} benchmark failed ({}): {last}", out.status);
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .with_context(|| format!("the {who} benchmark printed no RESULT line"))?;
    Ok(line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse::<f64>().ok().map(|v| (k.to_string(), v)))
        .collect())
}

/// Records the time at the end of every batch.
struct BatchClock(Vec<Instant>);

impl Callback<f32> for BatchClock {
    fn on_batch_end(&mut self, _log: &BatchLog) -> Control {
        self.0.push(Instant::now());
        Control::Continue
    }
}

/// One side's runs of a row as one result: each value's median over the
/// runs, except peak memory, the largest.
fn combine(runs: &[Results]) -> Results {
    let keys: std::collections::BTreeSet<&String> = runs.iter().flat_map(|r| r.keys()).collect();
    keys.into_iter()
        .map(|k| {
            let values: Vec<f64> = runs.iter().filter_map(|r| r.get(k).copied()).collect();
            let v = if k == "peak_rss_mb" {
                values.into_iter().fold(f64::NEG_INFINITY, f64::max)
            } else {
                median(values)
            };
            (k.clone(), v)
        })
        .collect()
}

/// NumPy's median: the middle value, or the mean of the two middle ones.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[m],
        _ => (v[m - 1] + v[m]) / 2.0,
    }
}

fn random_images(n: usize, hw: usize, rng: &mut SeededRng) -> Result<Tensor<f32>> {
    let data = (0..n * hw * hw).map(|_| rng.uniform() as f32).collect();
    Ok(Tensor::from_vec(&[n, 1, hw, hw], data)?)
}

/// One row, in this process: training, peak memory, inference.
fn run_row(row: &Row, args: &BenchArgs) -> Result<Results> {
    let epochs = if args.smoke { 1 } else { args.epochs };
    let n = row.samples_used(args.smoke);
    let mut rng = SeededRng::new(0);
    let x = random_images(n, row.hw, &mut rng)?;
    let labels = (0..n).map(|_| rng.below(row.classes as u64) as u32).collect();
    let data = Dataset::classification(x, labels, row.classes)?;
    let mut model: Sequential<f32> =
        zoo::by_name(row.model, Some(&[1, row.hw, row.hw]), Some(row.classes))?.build(0)?;
    model.set_conv_algo(args.conv.algo());
    let opt = if row.sgd {
        OptimizerConfig::sgd_momentum(row.lr, 0.9)
    } else {
        OptimizerConfig::adam(row.lr)
    };
    let mut opt = Optimizer::new(opt)?;
    let mut r = Results::new();
    r.insert("macs".into(), model.macs_per_sample() as f64);
    match row.training {
        Training::Steps => {
            // The first two steps warm up, the rest are timed.
            let mut clock = BatchClock(vec![Instant::now()]);
            let mut trainer = Trainer::new(TrainConfig::new(1, row.batch, 0))?;
            trainer.fit(&mut model, &mut opt, &data, None, &mut [&mut clock])?;
            let steps: Vec<f64> = clock
                .0
                .windows(2)
                .skip(2)
                .map(|w| (w[1] - w[0]).as_secs_f64())
                .collect();
            r.insert("train_step_s".into(), median(steps));
        }
        Training::Epochs => {
            let mut trainer = Trainer::new(TrainConfig::new(epochs + 1, row.batch, 0))?;
            trainer.fit(&mut model, &mut opt, &data, None, &mut [])?;
            let h = &trainer.progress.history;
            r.insert(
                "train_epoch_s".into(),
                median(h.epochs[1..].iter().map(|e| e.seconds).collect()),
            );
        }
    }
    r.insert("peak_rss_mb".into(), peak_rss_mb());
    time_inference(row, n, &mut model, &mut rng, args.smoke, &mut r)?;
    Ok(r)
}

/// The inference timings of `row` (see [`Inference`]) into `r`.
fn time_inference(
    row: &Row,
    n: usize,
    model: &mut Sequential<f32>,
    rng: &mut SeededRng,
    smoke: bool,
    r: &mut Results,
) -> Result<()> {
    match row.inference {
        Inference::Skip => {}
        Inference::Batch(batch) => {
            let x = random_images(batch, row.hw, rng)?;
            let mut ts = Vec::new();
            for i in 0..(if smoke { 5 } else { 12 }) {
                let t0 = Instant::now();
                model.forward(&x, false)?;
                if i >= 2 {
                    ts.push(t0.elapsed().as_secs_f64());
                }
            }
            r.insert("infer_batch_s".into(), median(ts));
        }
        Inference::ThroughputAndLatency(batch) => {
            let chunks: Vec<Tensor<f32>> = (0..n / batch)
                .map(|_| random_images(batch, row.hw, rng))
                .collect::<Result<_>>()?;
            let mut ts = Vec::new();
            for rep in 0..4 {
                let t0 = Instant::now();
                for c in &chunks {
                    model.forward(c, false)?;
                }
                if rep > 0 {
                    ts.push(t0.elapsed().as_secs_f64());
                }
            }
            r.insert("infer_img_per_s".into(), (chunks.len() * batch) as f64 / median(ts));
            let x1 = random_images(1, row.hw, rng)?;
            let mut lat = Vec::new();
            for i in 0..(if smoke { 150 } else { 1100 }) {
                let t0 = Instant::now();
                model.forward(&x1, false)?;
                if i >= 100 {
                    lat.push(t0.elapsed().as_secs_f64() * 1e6);
                }
            }
            r.insert("latency_us".into(), median(lat));
        }
    }
    Ok(())
}

/// Peak resident memory of this process (Linux `VmHWM`), in MB; 0 where unknown.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The best of five 2048×2048×2048 products, in GFLOP/s.
fn gemm_gflops(threads: usize) -> f64 {
    let s = 2048;
    let a: Vec<f32> = (0..s * s).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..s * s).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0f32; s * s];
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t0 = Instant::now();
        matmul(&MatmulSpec::new(s, s, s).par(Par::Threads(threads)), &a, &b, &mut c);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    2.0 * (s * s * s) as f64 / best / 1e9
}

/// How a metric of `row` reads: its label and whether lower is better.
fn describe(metric: &str, row: &Row) -> Option<(String, bool)> {
    let batch = row.inference.batch();
    Some(match metric {
        "train_epoch_s" => ("train epoch (s)".into(), true),
        "train_step_s" => ("train step (s)".into(), true),
        "infer_img_per_s" => (format!("inference, batch {batch} (images/s)"), false),
        "infer_batch_s" => (format!("inference, batch {batch} (s)"), true),
        "latency_us" => ("batch-1 latency (µs)".into(), true),
        "peak_rss_mb" => ("peak memory, training (MB)".into(), true),
        _ => return None,
    })
}

#[derive(Default)]
struct Table {
    lines: Vec<[String; 6]>,
}

impl Table {
    fn add(&mut self, row: &Row, ours: &Results, theirs: Option<&Results>, smoke: bool) {
        let macs = ours.get("macs").copied().unwrap_or(0.0);
        let samples = row.samples_used(smoke);
        for metric in [
            "train_epoch_s",
            "train_step_s",
            "infer_img_per_s",
            "infer_batch_s",
            "latency_us",
            "peak_rss_mb",
        ] {
            let (Some(&v), Some((label, lower_better))) = (ours.get(metric), describe(metric, row)) else {
                continue;
            };
            let t = theirs.and_then(|t| t.get(metric).copied());
            let ratio = t.map(|t| if lower_better { t / v } else { v / t });
            // Training ≈ 3 forward passes of work (2 FLOPs a multiply-add); inference one.
            let gflops = |value: f64| -> Option<f64> {
                let flop = match metric {
                    "train_epoch_s" => 6.0 * macs * samples as f64,
                    "train_step_s" => 6.0 * macs * row.batch as f64,
                    "infer_batch_s" => 2.0 * macs * row.inference.batch() as f64,
                    "infer_img_per_s" => return Some(2.0 * macs * value / 1e9),
                    _ => return None,
                };
                Some(flop / value / 1e9)
            };
            let gf = [Some(v), t]
                .into_iter()
                .flatten()
                .filter_map(gflops)
                .map(|g| format!("{g:.0}"))
                .collect::<Vec<_>>()
                .join(" / ");
            let verdict = match (ratio, row.target(metric)) {
                (Some(r), Some(min)) => format!("≥ {min}× {}", if r >= min { "met" } else { "NOT MET" }),
                (None, Some(min)) => format!("≥ {min}×"),
                _ => String::new(),
            };
            self.lines.push([
                format!("{} — {label}", row.title),
                fmt_value(v),
                t.map_or("—".into(), fmt_value),
                ratio.map_or("—".into(), |r| format!("{r:.2}×")),
                gf,
                verdict,
            ]);
        }
    }

    fn print(&self, gemm: f64, with_torch: bool) {
        let head = [
            "row".to_string(),
            "striate".into(),
            "PyTorch".into(),
            "ratio".into(),
            if with_torch {
                "GFLOP/s striate / PyTorch".into()
            } else {
                "GFLOP/s".into()
            },
            "target".into(),
        ];
        let width = |i: usize| {
            self.lines
                .iter()
                .chain(std::iter::once(&head))
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..6).map(width).collect();
        let line = |l: &[String; 6]| {
            let cells: Vec<String> = l
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    let pad = w - c.chars().count();
                    if i == 0 {
                        format!("{c}{}", " ".repeat(pad))
                    } else {
                        format!("{}{c}", " ".repeat(pad))
                    }
                })
                .collect();
            println!("| {} |", cells.join(" | "));
        };
        line(&head);
        println!(
            "|{}|",
            widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("|")
        );
        for l in &self.lines {
            line(l);
        }
        println!("\nratio: higher is better for striate (PyTorch's time / striate's, or striate's rate / PyTorch's).");
        println!("GFLOP/s: training counted as 3 forward passes; the machine's GEMM rate is {gemm:.0} GFLOP/s.");
    }
}

fn fmt_value(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(pairs: &[(&str, f64)]) -> Results {
        pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn repeated_runs_combine_to_medians_and_the_largest_peak_memory() {
        let runs = [
            results(&[("train_step_s", 1.4), ("peak_rss_mb", 900.0), ("macs", 7.0)]),
            results(&[("train_step_s", 0.9), ("peak_rss_mb", 1100.0), ("macs", 7.0)]),
            results(&[
                ("train_step_s", 1.0),
                ("peak_rss_mb", 1000.0),
                ("macs", 7.0),
                ("latency_us", 5.0),
            ]),
        ];
        let c = combine(&runs);
        assert_eq!(c["train_step_s"], 1.0);
        assert_eq!(c["peak_rss_mb"], 1100.0);
        assert_eq!(c["macs"], 7.0);
        // A key only one run reported is that run's value.
        assert_eq!(c["latency_us"], 5.0);
        assert_eq!(combine(&runs[..1]), runs[0]);
        // An even count takes the mean of the middle two, for times and rates alike.
        assert_eq!(combine(&runs[..2])["train_step_s"], 1.15);
    }
}
