//! Convolution throughput, forward and backward, through the kernels
//! `ConvAlgo::Auto` picks: a few ResNet-18 layers (ImageNet sizes), the
//! layers of `striate bench`'s ResNet rows on 1×40×40 images (stem and the
//! four stages' 3×3 convolutions at 10², 5², 3², 2²) and the course's small
//! convs. Where Auto takes Winograd or the direct loops, the im2col path
//! (`Im2colFast`) is timed beside it, and on small layers where it keeps
//! im2col, the direct loops; the kernels are called in turn.
//!
//! Forward counts `2 · macs` FLOPs, backward (input and weight gradients)
//! `4 · macs`.
//!
//! `cargo bench --bench conv [-- --quick]`

mod common;

use common::{Opts, report};
use striate::kernels::conv_gemm::{ConvAlgo, ConvOp};
use striate::kernels::direct;
use striate::kernels::geometry::ConvGeometry;
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
        // The same network on jet images of the real size (rows of 36 and 14 pixels).
        case("jet conv1 40²", [1, 40, 40], 5, Conv2dParams::new([5, 5]), [1000, 100]),
        case("jet conv2 40²", [5, 18, 18], 10, Conv2dParams::new([5, 5]), [1000, 100]),
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
        // Where Auto's choice of the direct loops ends (direct::AUTO_MAX_CHANNELS).
        case(
            "3×3 conv1 8 filters",
            [1, 28, 28],
            8,
            Conv2dParams::new([3, 3]),
            [512, 32],
        ),
        case(
            "3×3 conv1 16 filters",
            [1, 28, 28],
            16,
            Conv2dParams::new([3, 3]),
            [512, 32],
        ),
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
        case("resnet 40² stage1", [64, 10, 10], 64, k3, [128, 16]),
        case("resnet 40² stage2", [128, 5, 5], 128, k3, [128, 16]),
        case("resnet 40² stage3", [256, 3, 3], 256, k3, [128, 16]),
        case("resnet 40² stage4", [512, 2, 2], 512, k3, [128, 16]),
        case(
            "resnet18 down3 1×1",
            [128, 28, 28],
            256,
            Conv2dParams::new([1, 1]).with_stride([2, 2]),
            [8, 1],
        ),
    ]
}

/// `len` values in [-0.6, 0.6], a pattern of period 13 stepped by `step`.
fn fill(len: usize, step: usize) -> Vec<f32> {
    (0..len).map(|i| ((i * step) % 13) as f32 * 0.1 - 0.6).collect()
}

fn main() {
    let opts = Opts::from_args();
    opts.header("conv (f32)");
    for c in cases().into_iter().filter(|c| opts.wants(c.label)) {
        let [c_in, h, w] = c.input;
        let Ok(g) = c.params.geometry(c_in, h, w, c.c_out) else {
            println!("{}: invalid geometry, skipped", c.label);
            continue;
        };
        let n = if opts.quick { c.batch[1] } else { c.batch[0] };
        let x = fill(n * g.in_len(), 7);
        let shape = format!(
            "{} n={n} {c_in}×{h}×{w}→{}×{}×{} k{}×{} s{}",
            c.label, g.c_out, g.out_h, g.out_w, g.k_h, g.k_w, g.stride[0]
        );
        let macs = (g.macs_per_sample() * n) as f64;
        time_kernels(&opts, g, n, &kernels(&g), &shape, macs, &x);
    }
}

/// The kernels timed for `g`: the one `Auto` runs, im2col beside it where
/// `Auto` leaves it (Winograd, the direct loops), and the direct loops
/// beside im2col on the small layers they could take (where `Auto`'s
/// thresholds are decided).
fn kernels(g: &ConvGeometry) -> Vec<(ConvAlgo, &'static str)> {
    let mut k = vec![(ConvAlgo::Auto, "")];
    if ConvAlgo::Auto.forward_kernel(g) != ConvAlgo::Im2colFast {
        k.push((ConvAlgo::Im2colFast, " im2col"));
    } else if direct::applies(g) && g.patch_len() <= direct::AUTO_MAX_PATCH {
        k.push((ConvAlgo::Direct, " direct"));
    }
    k
}

/// Times the forward and the backward pass of `n` samples of `g` through
/// each of `algos`, the kernels called in turn.
fn time_kernels(opts: &Opts, g: ConvGeometry, n: usize, algos: &[(ConvAlgo, &str)], shape: &str, macs: f64, x: &[f32]) {
    let wt = fill(g.weight_shape().iter().product(), 5);
    let b = fill(g.c_out, 3);
    let mut ops: Vec<ConvOp<f32>> = algos.iter().map(|&(algo, _)| ConvOp::new(g, algo)).collect();
    let mut ys: Vec<Vec<f32>> = algos.iter().map(|_| vec![0f32; n * g.out_len()]).collect();
    let secs = opts.time_each(ops.len(), |i| ops[i].forward(n, x, &wt, Some(&b), &mut ys[i]));
    for (&(_, tag), s) in algos.iter().zip(secs) {
        report(&format!("conv fwd{tag}"), shape, 2.0 * macs, s);
    }

    let dy = fill(n * g.out_len(), 11);
    let (mut dx, mut dw, mut db) = (vec![0f32; x.len()], vec![0f32; wt.len()], vec![0f32; g.c_out]);
    let secs = opts.time_each(ops.len(), |i| {
        let inp = BackwardIn { x, w: &wt, dy: &dy };
        let grads = GradsOut {
            d_input: Some(&mut dx),
            d_weight: &mut dw,
            d_bias: Some(&mut db),
        };
        ops[i].backward(n, inp, grads);
    });
    for (&(_, tag), s) in algos.iter().zip(secs) {
        report(&format!("conv bwd{tag}"), shape, 4.0 * macs, s);
    }
}
