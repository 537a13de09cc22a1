//! Every fast kernel agrees with the scalar reference over a sweep of shapes:
//! sizes 0, 1, primes and powers of two; every stride, padding, dilation
//! and group combination; several thread counts.

use striate::Tensor;
use striate::kernels::conv_gemm::WINOGRAD_MIN_CHANNELS;
use striate::kernels::geometry::PoolGeometry;
use striate::kernels::pool::{self, PoolAlgo};
use striate::kernels::{self, MatmulSpec, Par, reference};
use striate::ops::conv::{Conv2dParams, ConvAlgo, Padding, conv2d, conv2d_backward};
use striate::ops::pool::Pool2dParams;
use striate::rng::SeededRng;
use striate::scalar::Scalar;

use crate::common::*;

fn matmul_case<T: Scalar>(m: usize, n: usize, k: usize, a_t: bool, b_t: bool, acc: bool, par: Par) {
    let a = randn::<T>(&[m * k], (m * 31 + k) as u64);
    let b = randn::<T>(&[k * n], (n * 17 + k) as u64);
    let c0 = randn::<T>(&[m * n], 5);
    let (mut c_fast, mut c_ref) = (c0.clone(), c0.clone());
    let spec = MatmulSpec {
        m,
        n,
        k,
        a_trans: a_t,
        b_trans: b_t,
        accumulate: acc,
        par,
    };
    kernels::matmul(&spec, a.data(), b.data(), c_fast.data_mut());
    reference::matmul(&spec, a.data(), b.data(), c_ref.data_mut());
    let label = format!(
        "matmul {} m={m} n={n} k={k} a_t={a_t} b_t={b_t} acc={acc} {par:?}",
        T::DTYPE
    );
    let rtol = if T::DTYPE == "F64" { 1e-12 } else { 1e-5 };
    if m * n > 0 {
        assert_close(&label, &c_fast, &c_ref, rtol);
    }
}

#[test]
fn gemm_matches_reference() {
    let sizes = [0, 1, 2, 3, 7, 13, 31, 63, 64, 65, 128];
    let mut rng = SeededRng::new(99);
    for _ in 0..150 {
        let pick = |rng: &mut SeededRng| sizes[rng.below(sizes.len() as u64) as usize];
        let (m, n, k) = (pick(&mut rng), pick(&mut rng), pick(&mut rng));
        let (a_t, b_t, acc) = (rng.bernoulli(0.5), rng.bernoulli(0.5), rng.bernoulli(0.5));
        let par = if rng.bernoulli(0.5) { Par::Seq } else { Par::Threads(2) };
        matmul_case::<f32>(m, n, k, a_t, b_t, acc, par);
        matmul_case::<f64>(m, n, k, a_t, b_t, acc, par);
    }
    // A large product through the threaded path.
    matmul_case::<f32>(257, 300, 129, false, true, false, Par::Threads(2));
}

/// Sizes whose products wrap: `m·k` and `m·n` are 2⁶⁴ ≡ 0, so a guard with
/// wrapping products let empty slices through to an out-of-bounds product.
fn wrapping_spec() -> MatmulSpec {
    MatmulSpec::new(1 << (usize::BITS - 1), 2, 2)
}

#[test]
#[should_panic(expected = "too short")]
fn matmul_guard_does_not_wrap() {
    let b = [0f32; 4];
    kernels::matmul(&wrapping_spec(), &[], &b, &mut []);
}

#[test]
#[should_panic(expected = "too short")]
fn reference_matmul_guard_does_not_wrap() {
    let b = [0f32; 4];
    reference::matmul(&wrapping_spec(), &[], &b, &mut []);
}

fn random_params(rng: &mut SeededRng) -> (Conv2dParams, [usize; 4], usize) {
    let pick = |rng: &mut SeededRng, v: &[usize]| v[rng.below(v.len() as u64) as usize];
    let groups = pick(rng, &[1, 1, 2, 3]);
    let c_in = groups * pick(rng, &[1, 2, 3]);
    let c_out = groups * pick(rng, &[1, 2, 5]);
    let k = [pick(rng, &[1, 2, 3, 5]), pick(rng, &[1, 2, 3, 4])];
    let stride = [pick(rng, &[1, 1, 2, 3]), pick(rng, &[1, 1, 2, 3])];
    let dilation = [pick(rng, &[1, 1, 2]), pick(rng, &[1, 1, 2])];
    let padding = match rng.below(4) {
        0 => Padding::Valid,
        1 => Padding::Same,
        2 => Padding::symmetric(pick(rng, &[1, 2])),
        _ => Padding::Explicit {
            top: pick(rng, &[0, 1, 2]),
            bottom: pick(rng, &[0, 1, 3]),
            left: pick(rng, &[0, 2]),
            right: pick(rng, &[0, 1]),
        },
    };
    let h = pick(rng, &[1, 2, 5, 8, 13]);
    let w = pick(rng, &[1, 3, 7, 16]);
    let n = pick(rng, &[1, 2, 3, 7]);
    let p = Conv2dParams {
        kernel: k,
        stride,
        padding,
        dilation,
        groups,
    };
    (p, [n, c_in, h, w], c_out)
}

fn conv_sweep<T: Scalar>(threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut rng = SeededRng::new(7 + threads as u64);
    let mut tried = 0;
    while tried < 120 {
        let (p, xs, c_out) = random_params(&mut rng);
        if p.geometry(xs[1], xs[2], xs[3], c_out).is_err() {
            continue; // kernel larger than the padded input
        }
        tried += 1;
        let x = randn::<T>(&xs, tried);
        let w = randn::<T>(&[c_out, xs[1] / p.groups, p.kernel[0], p.kernel[1]], tried + 1000);
        let b = randn::<T>(&[c_out], tried + 2000);
        let label = format!("{} threads={threads} x={xs:?} c_out={c_out} {p:?}", T::DTYPE);
        let rtol = if T::DTYPE == "F64" { 1e-12 } else { 1e-5 };
        pool.install(|| {
            let y_ref = conv2d(&x, &w, Some(&b), &p, ConvAlgo::Reference).unwrap();
            let dy = randn::<T>(y_ref.shape(), tried + 3000);
            let g_ref = conv2d_backward(&x, &w, &dy, true, &p, ConvAlgo::Reference).unwrap();
            for algo in FAST {
                let label = format!("{algo:?} {label}");
                let y_fast = conv2d(&x, &w, Some(&b), &p, algo).unwrap();
                assert_close(&format!("forward {label}"), &y_fast, &y_ref, rtol);
                let g_fast = conv2d_backward(&x, &w, &dy, true, &p, algo).unwrap();
                assert_close(&format!("d_input {label}"), &g_fast.d_input, &g_ref.d_input, rtol);
                assert_close(&format!("d_weight {label}"), &g_fast.d_weight, &g_ref.d_weight, rtol);
                assert_close(
                    &format!("d_bias {label}"),
                    g_fast.d_bias.as_ref().unwrap(),
                    g_ref.d_bias.as_ref().unwrap(),
                    rtol,
                );
            }
        });
    }
}

/// Every kernel that is not the reference.
const FAST: [ConvAlgo; 5] = [
    ConvAlgo::Im2colGemm,
    ConvAlgo::Im2colFast,
    ConvAlgo::Winograd,
    ConvAlgo::Direct,
    ConvAlgo::Auto,
];

#[test]
fn conv_kernels_match_reference_one_thread() {
    conv_sweep::<f64>(1);
    conv_sweep::<f32>(1);
}

#[test]
fn conv_kernels_match_reference_three_threads() {
    conv_sweep::<f64>(3);
    conv_sweep::<f32>(3);
}

/// With a fixed thread count, the parallel reduction order is fixed, so two
/// runs give bit-identical gradients.
#[test]
fn conv_backward_is_deterministic() {
    let p = Conv2dParams::new([3, 3]).with_padding(Padding::Same);
    let x = randn::<f32>(&[9, 4, 10, 10], 1);
    let w = randn::<f32>(&[6, 4, 3, 3], 2);
    let dy = randn::<f32>(&[9, 6, 10, 10], 3);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    for algo in FAST {
        let (a, b) = pool.install(|| {
            (
                conv2d_backward(&x, &w, &dy, true, &p, algo).unwrap(),
                conv2d_backward(&x, &w, &dy, true, &p, algo).unwrap(),
            )
        });
        assert_eq!(a.d_weight, b.d_weight, "{algo:?}");
        assert_eq!(a.d_input, b.d_input, "{algo:?}");
    }
}

/// The checked entry points reject shapes that do not fit.
#[test]
fn conv_rejects_bad_shapes() {
    let p = Conv2dParams::new([3, 3]);
    let x = Tensor::<f32>::zeros(&[1, 2, 5, 5]);
    let wrong_channels = Tensor::<f32>::zeros(&[4, 3, 3, 3]);
    let err = conv2d(&x, &wrong_channels, None, &p, ConvAlgo::Auto)
        .unwrap_err()
        .to_string();
    assert!(err.contains("conv2d weight") && err.contains("[4, 2, 3, 3]"), "{err}");
    let too_small = Tensor::<f32>::zeros(&[1, 2, 2, 5]);
    let w = Tensor::<f32>::zeros(&[4, 2, 3, 3]);
    let err = conv2d(&too_small, &w, None, &p, ConvAlgo::Auto)
        .unwrap_err()
        .to_string();
    assert!(err.contains("smaller than the kernel"), "{err}");
    let err = conv2d(&x, &w, None, &p.with_groups(3), ConvAlgo::Auto)
        .unwrap_err()
        .to_string();
    assert!(err.contains("groups = 3"), "{err}");
}

/// Max pooling of `n` samples with `algo`: outputs and argmax. The pass
/// without indices (inference) must give the same values, bit for bit.
fn max_pool(g: &PoolGeometry, algo: PoolAlgo, n: usize, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let ol = g.out_h * g.out_w;
    let mut y = vec![0f32; n * g.c * ol];
    let mut arg = vec![0u32; n * g.c * ol];
    pool::max_pool2d_forward(g, algo, n, x, &mut y, Some(&mut arg));
    let mut values = vec![0f32; y.len()];
    pool::max_pool2d_forward(g, algo, n, x, &mut values, None);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&values), bits(&y), "{algo:?} {g:?}: values without indices");
    (y, arg)
}

/// Values from a few levels, so that ties are common, with some NaN.
fn tied_values(len: usize, rng: &mut SeededRng) -> Vec<f32> {
    (0..len)
        .map(|i| if i % 37 == 5 { f32::NAN } else { rng.below(4) as f32 })
        .collect()
}

/// The 2×2 / stride-2 max pooling fast path against the general window
/// loop (`PoolAlgo::Reference`) and a naive loop written here: PyTorch's
/// first maximum on ties, NaN wins, odd sizes drop the last row and column.
#[test]
fn max_pool_2x2_fast_path_matches_reference() {
    let mut rng = SeededRng::new(5);
    for (c, h, w) in [(1, 2, 2), (3, 5, 7), (2, 8, 8), (1, 9, 4), (17, 3, 3), (2, 1, 6)] {
        let p = Pool2dParams::new([2, 2]);
        let Ok(g) = p.geometry(c, h, w) else {
            continue; // a 1-row image is smaller than the window
        };
        let n = 2;
        let x = tied_values(n * c * h * w, &mut rng);
        let (y, arg) = max_pool(&g, PoolAlgo::Auto, n, &x);
        let (y_ref, arg_ref) = max_pool(&g, PoolAlgo::Reference, n, &x);
        assert_eq!(arg, arg_ref, "argmax of {c}x{h}x{w}");
        for (a, b) in y.iter().zip(&y_ref) {
            assert!(a == b || (a.is_nan() && b.is_nan()), "{a} vs {b} in {c}x{h}x{w}");
        }
        let (ol, il) = (g.out_h * g.out_w, h * w);
        for plane in 0..n * c {
            for oy in 0..h / 2 {
                for ox in 0..w / 2 {
                    let idx = [
                        2 * oy * w + 2 * ox,
                        2 * oy * w + 2 * ox + 1,
                        (2 * oy + 1) * w + 2 * ox,
                        (2 * oy + 1) * w + 2 * ox + 1,
                    ];
                    let xp = &x[plane * il..];
                    let want = idx.iter().copied().find(|&i| xp[i].is_nan()).unwrap_or_else(|| {
                        idx.iter()
                            .copied()
                            .fold(idx[0], |best, i| if xp[i] > xp[best] { i } else { best })
                    });
                    let o = plane * ol + oy * g.out_w + ox;
                    assert_eq!(arg[o] as usize, want, "plane {plane} ({oy}, {ox}) of {c}x{h}x{w}");
                    assert!(y[o] == xp[want] || (y[o].is_nan() && xp[want].is_nan()));
                }
            }
        }
    }
}

/// Windows without a fast path give the same result whichever algorithm is
/// asked for; the halving window with ceil mode leaves the fast path on odd
/// sizes, where its last window is clipped.
#[test]
fn max_pool_algorithms_agree_off_the_fast_path() {
    let mut rng = SeededRng::new(6);
    let cases = [
        Pool2dParams::new([3, 3]).with_stride([2, 2]).with_padding([1, 1]),
        Pool2dParams::new([2, 2]).with_ceil_mode(true),
        Pool2dParams::new([2, 2]).with_stride([1, 1]),
        Pool2dParams::new([1, 3]),
    ];
    for p in cases {
        for (c, h, w) in [(2, 5, 7), (3, 8, 8), (1, 3, 9)] {
            let g = p.geometry(c, h, w).unwrap();
            let x = tied_values(3 * c * h * w, &mut rng);
            let (y, arg) = max_pool(&g, PoolAlgo::Auto, 3, &x);
            let (y_ref, arg_ref) = max_pool(&g, PoolAlgo::Reference, 3, &x);
            assert_eq!(arg, arg_ref, "{p:?} on {c}x{h}x{w}");
            for (a, b) in y.iter().zip(&y_ref) {
                assert!(a == b || (a.is_nan() && b.is_nan()), "{p:?} on {c}x{h}x{w}: {a} vs {b}");
            }
        }
    }
}

/// The plain case (stride 1, no dilation, no padding) has its own im2col and
/// col2im loops: check them on the small images they exist for, with
/// batches that put several samples into one product, and groups; rows of
/// every length class the copies treat apart (up to 16 pixels, 17–64 with
/// an overlapping last 8, 64 and 65 on either side of `memcpy`), the jet
/// CNN's 36 and 14 on 40×40 images among them.
#[test]
fn plain_convolutions_match_reference() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let cases = [
        ([1, 20, 20], 5, [5, 5], 1, 9),
        ([5, 8, 8], 10, [5, 5], 1, 17),
        ([4, 6, 9], 6, [3, 2], 2, 5),
        ([3, 1, 7], 4, [1, 3], 1, 3),
        ([2, 5, 5], 2, [5, 5], 2, 4),
        ([1, 40, 40], 5, [5, 5], 1, 2),
        ([5, 18, 18], 10, [5, 5], 1, 3),
        ([2, 4, 21], 3, [3, 5], 1, 2),
        ([1, 3, 68], 2, [1, 5], 1, 2),
        ([1, 3, 69], 2, [1, 5], 1, 2),
    ];
    for (i, (shape, c_out, k, groups, n)) in cases.into_iter().enumerate() {
        let p = Conv2dParams::new(k).with_groups(groups);
        let x = randn::<f64>(&[n, shape[0], shape[1], shape[2]], 10 + i as u64);
        let w = randn::<f64>(&[c_out, shape[0] / groups, k[0], k[1]], 20 + i as u64);
        let b = randn::<f64>(&[c_out], 30 + i as u64);
        pool.install(|| {
            let y_ref = conv2d(&x, &w, Some(&b), &p, ConvAlgo::Reference).unwrap();
            let y = conv2d(&x, &w, Some(&b), &p, ConvAlgo::Im2colGemm).unwrap();
            assert_close(&format!("forward case {i}"), &y, &y_ref, 1e-12);
            let dy = randn::<f64>(y_ref.shape(), 40 + i as u64);
            let g_ref = conv2d_backward(&x, &w, &dy, true, &p, ConvAlgo::Reference).unwrap();
            let g = conv2d_backward(&x, &w, &dy, true, &p, ConvAlgo::Im2colGemm).unwrap();
            assert_close(&format!("d_input case {i}"), &g.d_input, &g_ref.d_input, 1e-12);
            assert_close(&format!("d_weight case {i}"), &g.d_weight, &g_ref.d_weight, 1e-12);
        });
    }
}

/// The fused epilogue (`relu(conv · scale + shift)` per channel, what
/// inference folds batch norm into) on every kernel against the reference
/// convolution followed by the same arithmetic in a pass of its own.
#[test]
fn conv_epilogue_matches_unfused_reference() {
    use striate::kernels::conv_gemm::{ConvOp, Epilogue};
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let mut rng = SeededRng::new(41);
    let mut tried = 0;
    while tried < 60 {
        let (p, [n, c_in, h, w], c_out) = random_params(&mut rng);
        let Ok(g) = p.geometry(c_in, h, w, c_out) else { continue };
        tried += 1;
        let x = randn::<f64>(&[n, c_in, h, w], tried);
        let wt = randn::<f64>(&[c_out, c_in / p.groups, p.kernel[0], p.kernel[1]], tried + 1000);
        let scale = randn::<f64>(&[c_out], tried + 2000);
        let shift = randn::<f64>(&[c_out], tried + 3000);
        let relu = tried % 2 == 0;
        let plain = conv2d(&x, &wt, None, &p, ConvAlgo::Reference).unwrap();
        let pl = g.out_h * g.out_w;
        let expected = Tensor::from_fn(plain.shape(), |i| {
            let c = (i / pl) % c_out;
            let v = plain.data()[i] * scale.data()[c] + shift.data()[c];
            if relu { v.max(0.0) } else { v }
        });
        for algo in [
            ConvAlgo::Reference,
            ConvAlgo::Im2colGemm,
            ConvAlgo::Winograd,
            ConvAlgo::Direct,
            ConvAlgo::Auto,
        ] {
            let mut op = ConvOp::<f64>::new(g, algo);
            let mut y = Tensor::<f64>::zeros(plain.shape());
            let ep = Epilogue {
                scale: Some(scale.data()),
                shift: Some(shift.data()),
                relu,
            };
            pool.install(|| op.forward_with(n, x.data(), wt.data(), ep, y.data_mut()));
            assert_close(
                &format!("epilogue {algo:?} x={:?} {p:?}", x.shape()),
                &y,
                &expected,
                1e-12,
            );
        }
    }
}

/// A residual or bottleneck block's inference path (batch norm and ReLU
/// folded into the convolutions, `backward: false`) against its layer-by-
/// layer evaluation-mode pass (`backward: true`), with running statistics
/// that are not the identity, on the reference, Winograd and `Auto`.
#[test]
fn block_inference_path_matches_layer_by_layer() {
    use striate::layers::{BottleneckConfig, ForwardCtx, ResidualConfig, StateMut};
    use striate::model::LayerKind;
    let blocks = [
        (LayerKind::Residual(ResidualConfig::new(4)), [4, 6, 6]),
        (LayerKind::Residual(ResidualConfig::new(6).with_stride(2)), [3, 7, 5]),
        (LayerKind::Bottleneck(BottleneckConfig::new(2)), [8, 5, 5]),
        (
            LayerKind::Bottleneck(BottleneckConfig::new(2).with_stride(2)),
            [3, 6, 6],
        ),
    ];
    for (i, (kind, input)) in blocks.into_iter().enumerate() {
        let mut layer = build_layer::<f64>(&kind, &input);
        let mut seed = 100 * i as u64;
        layer.visit_state_mut("", &mut |name, s| {
            seed += 1;
            let t = match s {
                StateMut::Param(p) => &mut p.value,
                StateMut::Buffer(b) => b,
            };
            let r = randn::<f64>(t.shape(), seed);
            let positive = name.ends_with("running_var");
            let v = Tensor::from_fn(
                t.shape(),
                |j| if positive { 0.5 + r.data()[j].abs() } else { r.data()[j] },
            );
            *t = v;
        });
        let x = randn::<f64>(&[3, input[0], input[1], input[2]], 7 + i as u64);
        for algo in [ConvAlgo::Reference, ConvAlgo::Winograd, ConvAlgo::Auto] {
            layer.set_conv_algo(algo);
            let mut run = |backward: bool| {
                let mut rng = SeededRng::new(1);
                let mut ctx = ForwardCtx {
                    train: false,
                    backward,
                    rng: &mut rng,
                };
                let mut y = Tensor::default();
                layer.forward(&x, &mut y, &mut ctx);
                y
            };
            let (layered, fused) = (run(true), run(false));
            assert_close(&format!("block {i} {algo:?}"), &fused, &layered, 1e-12);
        }
    }
}

/// The 1×1 fast paths of `ConvAlgo::Im2colFast` and `Auto` (stride 1: products on the NCHW
/// data, from `POINTWISE_MIN_PIXELS` pixels; any stride: a strided gather)
/// against the general im2col path and the reference, forward and backward,
/// with batches that put several samples into one product.
#[test]
fn one_by_one_convolutions_match_general_path() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    // (c_in, h, w, c_out, stride, groups, n)
    let cases = [
        (3, 8, 8, 5, 1, 1, 9),
        (4, 9, 11, 6, 1, 2, 5),
        (6, 3, 3, 4, 1, 1, 7),
        (4, 10, 10, 8, 2, 1, 6),
        (3, 7, 5, 2, 3, 1, 4),
        (4, 6, 9, 4, 2, 2, 3),
        (2, 5, 5, 3, 2, 1, 1),
    ];
    for (i, (c_in, h, w, c_out, stride, groups, n)) in cases.into_iter().enumerate() {
        let p = Conv2dParams::new([1, 1])
            .with_stride([stride, stride])
            .with_groups(groups);
        let x = randn::<f64>(&[n, c_in, h, w], 50 + i as u64);
        let wt = randn::<f64>(&[c_out, c_in / groups, 1, 1], 60 + i as u64);
        let b = randn::<f64>(&[c_out], 70 + i as u64);
        pool.install(|| {
            let y_ref = conv2d(&x, &wt, Some(&b), &p, ConvAlgo::Reference).unwrap();
            let dy = randn::<f64>(y_ref.shape(), 80 + i as u64);
            let g_ref = conv2d_backward(&x, &wt, &dy, true, &p, ConvAlgo::Reference).unwrap();
            for algo in [ConvAlgo::Im2colGemm, ConvAlgo::Im2colFast, ConvAlgo::Auto] {
                let y = conv2d(&x, &wt, Some(&b), &p, algo).unwrap();
                assert_close(&format!("1x1 forward case {i} {algo:?}"), &y, &y_ref, 1e-12);
                let g = conv2d_backward(&x, &wt, &dy, true, &p, algo).unwrap();
                assert_close(
                    &format!("1x1 d_input case {i} {algo:?}"),
                    &g.d_input,
                    &g_ref.d_input,
                    1e-12,
                );
                assert_close(
                    &format!("1x1 d_weight case {i} {algo:?}"),
                    &g.d_weight,
                    &g_ref.d_weight,
                    1e-12,
                );
            }
        });
    }
}

/// The padded-plane im2col/col2im of `ConvAlgo::Im2colFast` (and `Auto`) on ResNet's small
/// padded images (3×3, padding 1, strides 1 and 2, images down to 2×2, and
/// a 7×7 stem) against the general path and the reference, several samples
/// per product.
#[test]
fn padded_small_images_match_general_path() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    // (c_in, h, w, c_out, kernel, stride, padding, n)
    let cases = [
        (3, 10, 10, 4, 3, 1, 1, 5),
        (4, 5, 5, 6, 3, 1, 1, 9),
        (5, 3, 3, 3, 3, 2, 1, 7),
        (2, 2, 2, 4, 3, 1, 1, 6),
        (3, 6, 7, 2, 3, 2, 1, 3),
        (1, 12, 12, 3, 7, 2, 3, 2),
    ];
    for (i, (c_in, h, w, c_out, k, stride, pad, n)) in cases.into_iter().enumerate() {
        let p = Conv2dParams::new([k, k])
            .with_stride([stride, stride])
            .with_padding(Padding::symmetric(pad));
        let x = randn::<f64>(&[n, c_in, h, w], 90 + i as u64);
        let wt = randn::<f64>(&[c_out, c_in, k, k], 100 + i as u64);
        pool.install(|| {
            let y_ref = conv2d(&x, &wt, None, &p, ConvAlgo::Reference).unwrap();
            let dy = randn::<f64>(y_ref.shape(), 110 + i as u64);
            let g_ref = conv2d_backward(&x, &wt, &dy, false, &p, ConvAlgo::Reference).unwrap();
            for algo in [ConvAlgo::Im2colGemm, ConvAlgo::Im2colFast, ConvAlgo::Auto] {
                let y = conv2d(&x, &wt, None, &p, algo).unwrap();
                assert_close(&format!("padded forward case {i} {algo:?}"), &y, &y_ref, 1e-12);
                let g = conv2d_backward(&x, &wt, &dy, false, &p, algo).unwrap();
                assert_close(
                    &format!("padded d_input case {i} {algo:?}"),
                    &g.d_input,
                    &g_ref.d_input,
                    1e-12,
                );
                assert_close(
                    &format!("padded d_weight case {i} {algo:?}"),
                    &g.d_weight,
                    &g_ref.d_weight,
                    1e-12,
                );
            }
        });
    }
}

/// Winograd's F(2×2, 3×3) against the scalar reference on geometries that
/// cover its cases: symmetric paddings 0–2, lopsided ones, padding 3 (forward only:
/// its data gradient falls back to im2col), odd outputs (a partial last
/// tile), images down to 1×1, one to twenty channels, several chunks of
/// samples per task, and `Auto` on both sides of its channel threshold
/// (checked to be bit for bit Winograd, the direct loops or im2col); forward with a bias, data, weight and bias gradients, f64 and
/// f32, on 1 and 3 threads.
#[test]
fn winograd_matches_reference() {
    // (c_in, h, w, c_out, [top, bottom, left, right], n)
    let cases = [
        (3, 8, 8, 4, [1, 1, 1, 1], 2),
        (2, 7, 5, 3, [0, 0, 0, 0], 3),
        (4, 5, 5, 6, [2, 2, 2, 2], 5),
        (1, 1, 1, 2, [1, 1, 1, 1], 4),
        (5, 3, 9, 2, [0, 2, 1, 0], 3),
        (2, 6, 4, 3, [3, 3, 1, 0], 2),
        (20, 10, 10, 16, [1, 1, 1, 1], 9),
        (16, 3, 3, 24, [1, 1, 1, 1], 7),
        (2, 2, 2, 3, [1, 1, 1, 1], 600),
        (16, 5, 5, 8, [1, 1, 1, 1], 3),
    ];
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        for (i, (c_in, h, w, c_out, [top, bottom, left, right], n)) in cases.into_iter().enumerate() {
            let p = Conv2dParams::new([3, 3]).with_padding(Padding::Explicit {
                top,
                bottom,
                left,
                right,
            });
            pool.install(|| {
                winograd_case::<f64>(&p, [n, c_in, h, w], c_out, i as u64, 1e-12);
                winograd_case::<f32>(&p, [n, c_in, h, w], c_out, i as u64, 2e-6);
            });
        }
    }
}

fn winograd_case<T: Scalar>(p: &Conv2dParams, xs: [usize; 4], c_out: usize, seed: u64, rtol: f64) {
    let x = randn::<T>(&xs, 500 + seed);
    let wt = randn::<T>(&[c_out, xs[1], 3, 3], 600 + seed);
    let b = randn::<T>(&[c_out], 700 + seed);
    let y_ref = conv2d(&x, &wt, Some(&b), p, ConvAlgo::Reference).unwrap();
    // Auto takes Winograd from WINOGRAD_MIN_CHANNELS input and output
    // channels, below it the direct loops for small first layers and
    // im2col for the rest: bit for bit the one it names.
    let g = p.geometry(xs[1], xs[2], xs[3], c_out).unwrap();
    let chosen = if xs[1].min(c_out) >= WINOGRAD_MIN_CHANNELS {
        ConvAlgo::Winograd
    } else if striate::kernels::direct::worth_it(&g) {
        ConvAlgo::Direct
    } else {
        ConvAlgo::Im2colFast
    };
    assert_eq!(ConvAlgo::Auto.forward_kernel(&g), chosen, "x={xs:?} c_out={c_out}");
    let dy = randn::<T>(y_ref.shape(), 800 + seed);
    let auto = conv2d(&x, &wt, Some(&b), p, ConvAlgo::Auto).unwrap();
    let other = conv2d(&x, &wt, Some(&b), p, chosen).unwrap();
    assert_eq!(
        auto.data(),
        other.data(),
        "Auto is not {chosen:?} for x={xs:?} c_out={c_out}"
    );
    let auto = conv2d_backward(&x, &wt, &dy, false, p, ConvAlgo::Auto).unwrap();
    let other = conv2d_backward(&x, &wt, &dy, false, p, chosen).unwrap();
    assert_eq!(
        auto.d_input.data(),
        other.d_input.data(),
        "Auto's data gradient is not {chosen:?}"
    );
    let g_ref = conv2d_backward(&x, &wt, &dy, true, p, ConvAlgo::Reference).unwrap();
    for algo in [ConvAlgo::Winograd, ConvAlgo::Auto] {
        let label = format!("{algo:?} {} x={xs:?} c_out={c_out} {:?}", T::DTYPE, p.padding);
        let y = conv2d(&x, &wt, Some(&b), p, algo).unwrap();
        assert_close(&format!("forward {label}"), &y, &y_ref, rtol);
        let g = conv2d_backward(&x, &wt, &dy, true, p, algo).unwrap();
        assert_close(&format!("d_input {label}"), &g.d_input, &g_ref.d_input, rtol);
        assert_close(&format!("d_weight {label}"), &g.d_weight, &g_ref.d_weight, rtol);
        let (db, db_ref) = (g.d_bias.as_ref().unwrap(), g_ref.d_bias.as_ref().unwrap());
        assert_close(&format!("d_bias {label}"), db, db_ref, rtol);
        // The fused epilogue (scale, shift, ReLU) after Winograd's output transform.
        let scale = randn::<T>(&[c_out], 900 + seed);
        let fused = {
            use striate::kernels::conv_gemm::{ConvOp, Epilogue};
            let geom = p.geometry(xs[1], xs[2], xs[3], c_out).unwrap();
            let mut y = Tensor::<T>::zeros(y_ref.shape());
            let ep = Epilogue {
                scale: Some(scale.data()),
                shift: Some(b.data()),
                relu: true,
            };
            ConvOp::new(geom, algo).forward_with(xs[0], x.data(), wt.data(), ep, y.data_mut());
            y
        };
        let plain = conv2d(&x, &wt, None, p, ConvAlgo::Reference).unwrap();
        let per = y_ref.len() / (xs[0] * c_out);
        let expected = Tensor::from_fn(y_ref.shape(), |i| {
            let c = (i / per) % c_out;
            let v = plain.data()[i] * scale.data()[c] + b.data()[c];
            if v > T::zero() { v } else { T::zero() }
        });
        assert_close(&format!("epilogue {label}"), &fused, &expected, rtol);
    }
}
