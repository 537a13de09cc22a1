//! Convolution throughput, forward and backward, through the im2col-GEMM
//! kernel (`ConvAlgo::Auto`): a few ResNet-18 layers (ImageNet sizes, and
//! the stem of `striate bench`'s 1×40×40 row) and the course's small convs.
//!
//! Forward counts `2 · macs` FLOPs, backward (input and weight gradients)
//! `4 · macs`.
//!
//! `cargo bench --bench conv [-- --quick]`

mod common;

use common::{Opts, report};
use striate::kernels::conv_gemm::{ConvAlgo, ConvOp};
use striate::kernels::grads::{BackwardIn, GradsOut};
use striate::ops::conv::{Conv2dParams, Padding};

/// One convolution: a label, the input `[c_in, h, w]`, `c_out`, the
/// parameters and the batch (full run, quick run).
struct Case {
    label: &'static str,
    input: [usize; 3],
    c_out: usize,
    params: Conv2dParams,
    batch: [usize; 2],
}

fn cases() -> Vec<Case> {
    let k3 = Conv2dParams::new([3, 3]).with_padding(Padding::symmetric(1));
    let case = |label, input, c_out, params, batch| Case {
        label,
        input,
        c_out,
        params,
        batch,
    };
    vec![
        case("m1 jet conv1", [1, 20, 20], 5, Conv2dParams::new([5, 5]), [1000, 100]),
        case("m1 jet conv2", [5, 8, 8], 10, Conv2dParams::new([5, 5]), [1000, 100]),
        case(
            "m2 fashion conv1",
            [1, 28, 28],
            32,
            Conv2dParams::new([3, 3]),
            [512, 32],
        ),
        case(
            "m2 fashion conv2",
            [32, 13, 13],
            64,
            Conv2dParams::new([3, 3]),
            [512, 32],
        ),
        case("lenet5 conv1", [1, 32, 32], 6, Conv2dParams::new([5, 5]), [256, 32]),
        case("lenet5 conv2", [6, 14, 14], 16, Conv2dParams::new([5, 5]), [256, 32]),
        case(
            "resnet18 stem 40²",
            [1, 40, 40],
            64,
            Conv2dParams::new([7, 7])
                .with_stride([2, 2])
                .with_padding(Padding::symmetric(3)),
            [128, 8],
        ),
        case("resnet18 layer1", [64, 56, 56], 64, k3, [8, 1]),
        case("resnet18 layer2", [128, 28, 28], 128, k3, [8, 1]),
        case("resnet18 layer3", [256, 14, 14], 256, k3, [8, 1]),
        case("resnet18 layer4", [512, 7, 7], 512, k3, [8, 1]),
        case(
            "resnet18 down3 1×1",
            [128, 28, 28],
            256,
            Conv2dParams::new([1, 1]).with_stride([2, 2]),
            [8, 1],
        ),
    ]
}

fn main() {
    let opts = Opts::from_args();
    opts.header("conv (im2col-GEMM, f32)");
    for c in cases() {
        let [c_in, h, w] = c.input;
        let Ok(g) = c.params.geometry(c_in, h, w, c.c_out) else {
            println!("{}: invalid geometry, skipped", c.label);
            continue;
        };
        let n = if opts.quick { c.batch[1] } else { c.batch[0] };
        let fill =
            |len: usize, step: usize| -> Vec<f32> { (0..len).map(|i| ((i * step) % 13) as f32 * 0.1 - 0.6).collect() };
        let x = fill(n * g.in_len(), 7);
        let wt = fill(g.weight_shape().iter().product(), 5);
        let b = fill(g.c_out, 3);
        let mut y = vec![0f32; n * g.out_len()];
        let mut op = ConvOp::<f32>::new(g, ConvAlgo::Auto);
        let shape = format!(
            "{} n={n} {c_in}×{h}×{w}→{}×{}×{} k{}×{} s{}",
            c.label, g.c_out, g.out_h, g.out_w, g.k_h, g.k_w, g.stride[0]
        );
        let macs = (g.macs_per_sample() * n) as f64;
        let secs = opts.time(|| op.forward(n, &x, &wt, Some(&b), &mut y));
        report("conv fwd", &shape, 2.0 * macs, secs);

        let dy = fill(n * g.out_len(), 11);
        let (mut dx, mut dw, mut db) = (vec![0f32; x.len()], vec![0f32; wt.len()], vec![0f32; g.c_out]);
        let secs = opts.time(|| {
            let inp = BackwardIn { x: &x, w: &wt, dy: &dy };
            let grads = GradsOut {
                d_input: Some(&mut dx),
                d_weight: &mut dw,
                d_bias: Some(&mut db),
            };
            op.backward(n, inp, grads);
        });
        report("conv bwd", &shape, 4.0 * macs, secs);
    }
}
