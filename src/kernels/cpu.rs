//! What the CPU offers and which GEMM micro-kernels run on it.
//!
//! The `gemm` crate is built with its AVX-512 kernels (`x86-v4`) and picks a
//! kernel family at run time: AVX-512F where the CPU has it, AVX2 + FMA
//! where it has those, portable code otherwise. Benchmarks print both so a
//! figure always says what it was measured with.

/// Instruction sets of this CPU that striate's kernels care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuFeatures {
    /// 256-bit integer and float vectors.
    pub avx2: bool,
    /// Fused multiply-add.
    pub fma: bool,
    /// 512-bit vectors (the foundation subset).
    pub avx512f: bool,
}

impl CpuFeatures {
    /// The features of the CPU this runs on (all false off x86-64).
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            CpuFeatures {
                avx2: std::arch::is_x86_feature_detected!("avx2"),
                fma: std::arch::is_x86_feature_detected!("fma"),
                avx512f: std::arch::is_x86_feature_detected!("avx512f"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            CpuFeatures {
                avx2: false,
                fma: false,
                avx512f: false,
            }
        }
    }

    /// `avx2 fma avx512f`, the ones present, or `none of avx2/fma/avx512f`.
    pub fn describe(&self) -> String {
        let names: Vec<&str> = [("avx2", self.avx2), ("fma", self.fma), ("avx512f", self.avx512f)]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        if names.is_empty() {
            "none of avx2/fma/avx512f".into()
        } else {
            names.join(" ")
        }
    }

    /// The GEMM kernel family the `gemm` crate dispatches to on this CPU.
    pub fn gemm_kernels(&self) -> &'static str {
        if cfg!(target_arch = "x86_64") && self.avx512f {
            "AVX-512F"
        } else if self.avx2 && self.fma {
            "AVX2+FMA"
        } else {
            "portable"
        }
    }
}

/// Which instructions striate's own vector loops (Winograd's transforms,
/// the direct convolution) run on, chosen at run time. The
/// baseline build (SSE2 on x86-64) is always there; an [`Isa`] naming AVX2
/// can only be made on a CPU that has AVX2 and FMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Isa {
    avx2: bool,
}

impl Isa {
    /// The code compiled for the build's target, whatever the CPU.
    pub const BASELINE: Isa = Isa { avx2: false };

    /// AVX2 + FMA, where this CPU has them.
    pub fn avx2() -> Option<Isa> {
        let f = CpuFeatures::detect();
        (cfg!(target_arch = "x86_64") && f.avx2 && f.fma).then_some(Isa { avx2: true })
    }

    /// The best this CPU runs.
    pub fn detect() -> Isa {
        Isa::avx2().unwrap_or(Isa::BASELINE)
    }

    /// True for the AVX2 + FMA build (for [`dispatch`]).
    pub(crate) fn is_avx2(&self) -> bool {
        self.avx2
    }

    /// `AVX2+FMA` or `baseline`.
    pub fn name(&self) -> &'static str {
        if self.avx2 { "AVX2+FMA" } else { "baseline" }
    }
}

/// Defines `$name`, which runs `$body` (an `#[inline(always)]` function)
/// compiled for AVX2 + FMA when `isa` says the CPU has them, and compiled
/// for the baseline otherwise.
macro_rules! dispatch {
    ($name:ident, $avx2:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        fn $name<T: Scalar>(isa: $crate::kernels::cpu::Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if isa.is_avx2() {
                // SAFETY: an `Isa` with `avx2` set is only made by
                // `Isa::avx2`, after the CPU reported AVX2 and FMA, so the
                // instructions `$avx2` is compiled with exist here.
                unsafe { $avx2($($arg),*) };
                return;
            }
            let _ = isa;
            $body($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $avx2<T: Scalar>($($arg: $ty),*) {
            $body($($arg),*)
        }
    };
}

pub(crate) use dispatch;

/// What the tests of a [`dispatch`]ed kernel share: the builds this CPU
/// runs, deterministic inputs and the check of every build against an
/// oracle.
#[cfg(test)]
pub(crate) mod every_isa {
    use super::Isa;
    use crate::scalar::Scalar;

    /// The builds this CPU runs: the baseline always, and AVX2 + FMA (also
    /// returned alone) where the CPU has them; says so when it has not.
    pub fn builds(what: &str) -> (Vec<Isa>, Option<Isa>) {
        let avx2 = Isa::avx2();
        if avx2.is_none() {
            eprintln!("no AVX2 + FMA on this CPU: only the baseline {what} run here");
        }
        ([Some(Isa::BASELINE), avx2].into_iter().flatten().collect(), avx2)
    }

    /// `len` values in [-0.6, 0.7), a different pattern for each `step`.
    pub fn values<T: Scalar>(len: usize, step: usize) -> Vec<T> {
        (0..len)
            .map(|i| T::lit(((i * step) % 101) as f64 * 0.013 - 0.6))
            .collect()
    }

    /// Asserts that `run(isa)` is within 1e-12 of `expected` on each of `isas`.
    pub fn assert_close(label: &str, isas: &[Isa], expected: &[f64], run: impl Fn(Isa) -> Vec<f64>) {
        for &isa in isas {
            let got = run(isa);
            assert_eq!(got.len(), expected.len(), "{} {label}", isa.name());
            let worst = got.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst < 1e-12, "{} {label}: off by {worst:e}", isa.name());
        }
    }
}
