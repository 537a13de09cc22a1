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
