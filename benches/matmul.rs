//! Matrix-product throughput: square sizes and the shapes convolutions
//! hand to GEMM, through `kernels::matmul`.
//!
//! `cargo bench --bench matmul [-- --quick]`

mod common;

use common::{Opts, report};
use striate::kernels::{MatmulSpec, Par, matmul};

/// Deterministic, non-trivial values.
fn filled(len: usize, step: usize) -> Vec<f32> {
    (0..len).map(|i| ((i * step) % 17) as f32 * 0.1 - 0.8).collect()
}

/// Times `c = a · b` (or with `spec`'s transposes) and prints the line.
fn case(opts: &Opts, label: &str, spec: MatmulSpec) {
    let a = filled(spec.m * spec.k, 7);
    let b = filled(spec.k * spec.n, 5);
    let mut c = vec![0f32; spec.m * spec.n];
    let secs = opts.time(|| matmul(&spec, &a, &b, &mut c));
    let shape = format!(
        "{label} m={} n={} k={}{}{} {:?}",
        spec.m,
        spec.n,
        spec.k,
        if spec.a_trans { " aᵀ" } else { "" },
        if spec.b_trans { " bᵀ" } else { "" },
        spec.par
    );
    report("matmul f32", &shape, 2.0 * (spec.m * spec.n * spec.k) as f64, secs);
}

fn main() {
    let opts = Opts::from_args();
    opts.header("matmul");
    let threads = Par::Threads(rayon::current_num_threads());
    let squares: &[usize] = if opts.quick {
        &[128, 256]
    } else {
        &[128, 256, 512, 1024]
    };
    for &s in squares {
        case(&opts, "square", MatmulSpec::new(s, s, s).par(threads));
    }
    // (c_out, out_h·out_w, c_in·k_h·k_w) of one sample: the forward product
    // of a convolution, on the calling thread as the conv driver runs it.
    let conv_like = [
        ("lenet5 conv2 fwd", 16, 100, 150),
        ("fashion conv2 fwd", 64, 121, 288),
        ("resnet18 layer1 fwd", 64, 3136, 576),
        ("resnet18 layer3 fwd", 256, 196, 2304),
        ("resnet18 layer4 fwd", 512, 49, 4608),
    ];
    for (label, m, n, k) in conv_like {
        case(&opts, label, MatmulSpec::new(m, n, k));
    }
    // The weight gradient of resnet18 layer3: dY (c_out × p) · colᵀ.
    case(
        &opts,
        "resnet18 layer3 dW",
        MatmulSpec::new(256, 2304, 196).b_trans().accumulate(),
    );
}
