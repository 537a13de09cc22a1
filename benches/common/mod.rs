//! What the per-op benchmarks share: arguments, timing and the output line.
//!
//! Each benchmark prints one line per case: the op, the shape, the median
//! time of one call and the throughput in GFLOP/s (a multiply-add counts
//! as two floating-point operations). `--quick` runs smaller batches and
//! fewer repetitions, to check that the benchmarks work rather than to
//! measure. Threads: rayon's pool, so `RAYON_NUM_THREADS` sets them.

use std::time::Instant;

/// Options every benchmark accepts.
pub struct Opts {
    /// Small batches, few repetitions.
    pub quick: bool,
    /// Only the cases whose label contains this (the first argument that
    /// is not a flag), as `cargo bench --bench conv -- stage4`.
    pub filter: Option<String>,
}

impl Opts {
    /// Reads `--quick` and a filter from the command line; `cargo bench`
    /// adds `--bench`, which is ignored.
    pub fn from_args() -> Self {
        let quick = std::env::args().any(|a| a == "--quick");
        let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
        Opts { quick, filter }
    }

    /// True when the case `label` is to run.
    #[allow(dead_code)] // not every benchmark has named cases
    pub fn wants(&self, label: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| label.contains(f))
    }

    /// Prints the header: which benchmark, how many threads.
    pub fn header(&self, what: &str) {
        println!(
            "{what}: {} threads{}",
            rayon::current_num_threads(),
            if self.quick {
                ", quick run (the numbers mean little)"
            } else {
                ""
            }
        );
    }

    /// Median seconds of one call of `f`, after one warm-up call: at least
    /// three calls (one when quick) and at least half a second of them
    /// (a twentieth when quick).
    #[allow(dead_code)] // conv times its kernels side by side
    pub fn time(&self, mut f: impl FnMut()) -> f64 {
        self.time_each(1, |_| f())[0]
    }

    /// [`Opts::time`] of `count` things, `f(i)` running the `i`-th, called
    /// in turn (0, 1, 0, 1, …) so that a machine whose speed drifts weighs
    /// on each alike: the median seconds of one call of each.
    pub fn time_each(&self, count: usize, mut f: impl FnMut(usize)) -> Vec<f64> {
        let (min_reps, budget) = if self.quick { (1, 0.05) } else { (3, 0.5) };
        (0..count).for_each(&mut f);
        let mut times = vec![Vec::new(); count];
        let start = Instant::now();
        while times[0].len() < min_reps || start.elapsed().as_secs_f64() < budget * count as f64 {
            for (i, t) in times.iter_mut().enumerate() {
                let t0 = Instant::now();
                f(i);
                t.push(t0.elapsed().as_secs_f64());
            }
        }
        times
            .into_iter()
            .map(|mut t| {
                t.sort_by(f64::total_cmp);
                t[t.len() / 2]
            })
            .collect()
    }
}

/// Prints one case: `op`, `shape`, the time and `flop / seconds` in GFLOP/s.
pub fn report(op: &str, shape: &str, flop: f64, seconds: f64) {
    println!(
        "{op:<18} {shape:<52} {:>10.3} ms {:>8.1} GFLOP/s",
        seconds * 1e3,
        flop / seconds / 1e9
    );
}
