//! Pooling throughput: max pooling through both kernels (the 2×2 fast path
//! under `PoolAlgo::Auto`, the general window loop under `Reference`),
//! ResNet's 3×3 / stride-2 stem pooling, and average pooling.
//!
//! Pooling does no multiply-adds: one FLOP here is one element of one
//! window (a comparison or an addition), so GFLOP/s compares kernels on
//! the same case rather than pooling with convolution.
//!
//! `cargo bench --bench pool [-- --quick]`

mod common;

use common::{Opts, report};
use striate::kernels::pool::{self, PoolAlgo};
use striate::ops::pool::Pool2dParams;

fn main() {
    let opts = Opts::from_args();
    opts.header("pool (f32)");
    let halving = Pool2dParams::new([2, 2]);
    let stem = Pool2dParams::new([3, 3]).with_stride([2, 2]).with_padding([1, 1]);
    // (label, params, [c, h, w], batch full / quick)
    let cases = [
        ("m1 jet pool1", halving, [5, 16, 16], [1000, 100]),
        ("m2 fashion pool1", halving, [32, 26, 26], [512, 32]),
        ("lenet5 pool1", halving, [6, 28, 28], [256, 32]),
        ("resnet18 stem pool", stem, [64, 112, 112], [8, 1]),
    ];
    for (label, p, [c, h, w], batch) in cases {
        let Ok(g) = p.geometry(c, h, w) else {
            println!("{label}: invalid geometry, skipped");
            continue;
        };
        let n = if opts.quick { batch[1] } else { batch[0] };
        let x: Vec<f32> = (0..n * c * h * w).map(|i| ((i * 7) % 19) as f32 * 0.1).collect();
        let mut y = vec![0f32; n * c * g.out_h * g.out_w];
        let mut arg = vec![0u32; y.len()];
        let flop = (y.len() * p.kernel[0] * p.kernel[1]) as f64;
        let shape = format!(
            "{label} n={n} {c}×{h}×{w} k{}×{} s{}",
            p.kernel[0], p.kernel[1], p.stride[0]
        );
        for (name, algo) in [("max fwd auto", PoolAlgo::Auto), ("max fwd ref", PoolAlgo::Reference)] {
            let secs = opts.time(|| pool::max_pool2d_forward(&g, algo, n, &x, &mut y, Some(&mut arg)));
            report(name, &shape, flop, secs);
        }
        let secs = opts.time(|| pool::avg_pool2d_forward(&g, n, &x, &mut y));
        report("avg fwd", &shape, flop, secs);
    }
}
