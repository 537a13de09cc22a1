//! Convolution: hyper-parameters, output-size arithmetic, forward and backward.
//!
//! Like every deep-learning framework, striate's "convolution" layers compute a
//! cross-correlation: the kernel is not flipped. (The true convolution of
//! signal processing, which flips it, lives in [`crate::filter`].)
//!
//! 1-D convolution is 2-D convolution of a `1 × l` image with a `1 × k`
//! kernel; both share the geometry and kernels below.
//!
//! # Shapes
//! - input `x`: `(n, c_in, h, w)`
//! - weight `w`: `(c_out, c_in / groups, k_h, k_w)`
//! - bias `b`: `(c_out)`
//! - output `y`: `(n, c_out, out_h, out_w)` with
//!   `out = ⌊(in + pad_before + pad_after − dilation·(k − 1) − 1) / stride⌋ + 1`

use rayon::iter::Either;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::{self, Par, im2col, reference};
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape};

/// Zero padding of a convolution's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding: every output sees only real input.
    #[default]
    Valid,
    /// Output size `⌈in / stride⌉`, by the TensorFlow/Keras rule for any
    /// stride: total padding `max((out − 1)·stride + dilation·(k − 1) + 1 − in, 0)`,
    /// split with the odd pixel at the bottom/right. For stride 1 this is
    /// exactly PyTorch's `padding='same'`.
    Same,
    /// Explicit zeros on each side.
    Explicit {
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
    },
}

impl Padding {
    /// The same padding `p` on all four sides (PyTorch's `padding=p`).
    pub fn symmetric(p: usize) -> Self {
        Padding::Explicit {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }

    /// `ph` rows above and below, `pw` columns left and right
    /// (PyTorch's `padding=(ph, pw)`).
    pub fn hw(ph: usize, pw: usize) -> Self {
        Padding::Explicit {
            top: ph,
            bottom: ph,
            left: pw,
            right: pw,
        }
    }

    /// `[before, after]` padding along one axis for an input of `size`.
    fn resolve_axis(&self, axis: usize, size: usize, k: usize, stride: usize, dilation: usize) -> [usize; 2] {
        match *self {
            Padding::Valid => [0, 0],
            Padding::Same => {
                let out = size.div_ceil(stride);
                let eff = dilation * (k - 1) + 1;
                let total = ((out.saturating_sub(1)) * stride + eff).saturating_sub(size);
                [total / 2, total - total / 2]
            }
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => {
                if axis == 0 {
                    [top, bottom]
                } else {
                    [left, right]
                }
            }
        }
    }
}

/// Hyper-parameters of a 2-D convolution (also used for 1-D with `k_h = 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    /// `[k_h, k_w]`.
    pub kernel: [usize; 2],
    /// `[stride_h, stride_w]`.
    pub stride: [usize; 2],
    pub padding: Padding,
    /// `[dilation_h, dilation_w]`.
    pub dilation: [usize; 2],
    pub groups: usize,
}

impl Conv2dParams {
    /// A `k_h × k_w` kernel, stride 1, no padding, no dilation, one group.
    pub fn new(kernel: [usize; 2]) -> Self {
        Conv2dParams {
            kernel,
            stride: [1, 1],
            padding: Padding::Valid,
            dilation: [1, 1],
            groups: 1,
        }
    }

    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    pub fn with_dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Output height and width for an `h × w` input.
    pub fn out_hw(&self, h: usize, w: usize) -> Result<[usize; 2]> {
        let g = self.geometry(self.groups, h, w, self.groups)?;
        Ok([g.out_h, g.out_w])
    }

    /// Validates the parameters against an input and resolves the padding.
    pub fn geometry(&self, c_in: usize, h: usize, w: usize, c_out: usize) -> Result<ConvGeometry> {
        let what = "convolution";
        if self.kernel.contains(&0) || self.stride.contains(&0) || self.dilation.contains(&0) {
            return Err(Error::invalid(
                what,
                format!(
                    "kernel {:?}, stride {:?} and dilation {:?} must be positive",
                    self.kernel, self.stride, self.dilation
                ),
            ));
        }
        if self.groups == 0 || !c_in.is_multiple_of(self.groups) || !c_out.is_multiple_of(self.groups) {
            return Err(Error::invalid(
                what,
                format!(
                    "groups = {} must divide both in_channels = {c_in} and out_channels = {c_out}",
                    self.groups
                ),
            ));
        }
        let [pt, pb] = self
            .padding
            .resolve_axis(0, h, self.kernel[0], self.stride[0], self.dilation[0]);
        let [pl, pr] = self
            .padding
            .resolve_axis(1, w, self.kernel[1], self.stride[1], self.dilation[1]);
        let out = |size: usize, before: usize, after: usize, axis: usize| -> Result<usize> {
            let eff = self.dilation[axis] * (self.kernel[axis] - 1) + 1;
            let padded = size + before + after;
            if padded < eff {
                return Err(Error::invalid(
                    what,
                    format!(
                        "input {}×{} (padded to {}) is smaller than the {}kernel extent {} along {}",
                        h,
                        w,
                        padded,
                        if self.dilation[axis] > 1 { "dilated " } else { "" },
                        eff,
                        if axis == 0 { "height" } else { "width" }
                    ),
                ));
            }
            Ok((padded - eff) / self.stride[axis] + 1)
        };
        let out_h = out(h, pt, pb, 0)?;
        let out_w = out(w, pl, pr, 1)?;
        Ok(ConvGeometry {
            c_in,
            h,
            w,
            c_out,
            k_h: self.kernel[0],
            k_w: self.kernel[1],
            stride: self.stride,
            dilation: self.dilation,
            pad_top: pt,
            pad_bottom: pb,
            pad_left: pl,
            pad_right: pr,
            groups: self.groups,
            out_h,
            out_w,
        })
    }
}

/// A convolution with every size resolved: what kernels take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub pad_top: usize,
    pub pad_bottom: usize,
    pub pad_left: usize,
    pub pad_right: usize,
    pub groups: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl ConvGeometry {
    /// Elements of one input sample.
    pub fn in_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Elements of one output sample.
    pub fn out_len(&self) -> usize {
        self.c_out * self.out_h * self.out_w
    }

    /// Weight shape `(c_out, c_in / groups, k_h, k_w)`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.c_out, self.c_in / self.groups, self.k_h, self.k_w]
    }

    /// Rows of the unfolded patch matrix of one group: `c_in/groups · k_h · k_w`.
    pub fn patch_len(&self) -> usize {
        self.c_in / self.groups * self.k_h * self.k_w
    }

    /// Multiply-accumulates of the forward pass per sample.
    pub fn macs_per_sample(&self) -> usize {
        self.out_len() * self.patch_len()
    }

    /// True when the patch matrix is the input itself (1×1, stride 1, no padding).
    fn is_pointwise(&self) -> bool {
        self.k_h == 1
            && self.k_w == 1
            && self.stride == [1, 1]
            && self.pad_top + self.pad_bottom + self.pad_left + self.pad_right == 0
    }
}

/// Which kernel computes a convolution. A runtime choice, so tests reach every path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConvAlgo {
    /// Let striate choose (currently [`ConvAlgo::Im2colGemm`]).
    #[default]
    Auto,
    /// The scalar reference loops: slow, obviously right.
    Reference,
    /// Unfold patches (im2col) and multiply with the GEMM micro-kernels,
    /// parallel over the batch.
    Im2colGemm,
}

/// Scratch memory of one parallel task.
#[derive(Debug, Default)]
struct TaskBufs<T: Scalar> {
    /// Unfolded input patches of a chunk of samples, `k × (nb · p)`.
    col: Vec<T>,
    /// Gradient of the patches, `k × (nb · p)`.
    dcol: Vec<T>,
    /// Outputs (forward) or output gradients (backward) of a chunk of
    /// samples in GEMM layout, `c_out/groups × (nb · p)`.
    out: Vec<T>,
    /// This task's share of the weight gradient.
    dw: Vec<T>,
    /// This task's share of the bias gradient.
    db: Vec<T>,
}

/// Scratch memory of a convolution, kept across batches so that training
/// does not allocate once the first batch has run.
#[derive(Debug, Default)]
pub struct ConvWorkspace<T: Scalar> {
    tasks: Vec<TaskBufs<T>>,
}

/// Sizes of the scratch buffers of one task.
struct BufSizes {
    col: usize,
    dcol: usize,
    out: usize,
    dw: usize,
    db: usize,
}

impl<T: Scalar> ConvWorkspace<T> {
    fn ensure(&mut self, tasks: usize, sizes: BufSizes) -> &mut [TaskBufs<T>] {
        if self.tasks.len() < tasks {
            self.tasks.resize_with(tasks, TaskBufs::default);
        }
        let grow = |v: &mut Vec<T>, len: usize| {
            if v.len() < len {
                v.resize(len, T::zero());
            }
        };
        for t in &mut self.tasks[..tasks] {
            grow(&mut t.col, sizes.col);
            grow(&mut t.dcol, sizes.dcol);
            grow(&mut t.out, sizes.out);
            grow(&mut t.dw, sizes.dw);
            grow(&mut t.db, sizes.db);
        }
        &mut self.tasks[..tasks]
    }
}

/// Samples whose patches go through one matrix product. A product with few
/// columns (deep layers have tiny images: ResNet's last stage has `p = 4`)
/// runs far below the micro-kernels' speed, so the patches of several
/// samples are laid side by side until there are at least 256 columns, with
/// at most 4 Mi elements of patches.
fn samples_per_gemm(k: usize, p: usize, per_task: usize) -> usize {
    let wanted = 256usize.div_ceil(p.max(1));
    let cap = ((4 << 20) / (k * p).max(1)).max(1);
    wanted.min(cap).min(per_task).max(1)
}

/// Samples per parallel task: the batch split evenly over the thread pool.
/// The split depends only on `n` and the pool size, so results are
/// reproducible for a given thread count.
pub(crate) fn samples_per_task(n: usize) -> usize {
    let tasks = rayon::current_num_threads().clamp(1, n.max(1));
    n.div_ceil(tasks).max(1)
}

/// Threads to use inside one matrix product when the batch gives too little
/// parallelism (a single task) but the product is big.
fn inner_par(tasks: usize, macs: usize) -> Par {
    let threads = rayon::current_num_threads();
    if tasks == 1 && threads > 1 && macs >= 1 << 18 {
        Par::Threads(threads)
    } else {
        Par::Seq
    }
}

/// A convolution bound to its geometry, kernel choice and workspace.
#[derive(Debug)]
pub struct ConvOp<T: Scalar> {
    pub geom: ConvGeometry,
    pub algo: ConvAlgo,
    ws: ConvWorkspace<T>,
}

impl<T: Scalar> ConvOp<T> {
    pub fn new(geom: ConvGeometry, algo: ConvAlgo) -> Self {
        ConvOp {
            geom,
            algo,
            ws: ConvWorkspace::default(),
        }
    }

    /// `y = conv(x, w) + b` for `n` samples; slices must have the geometry's sizes.
    pub fn forward(&mut self, n: usize, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
        let g = &self.geom;
        debug_assert!(x.len() >= n * g.in_len() && y.len() >= n * g.out_len());
        match self.algo {
            ConvAlgo::Reference => reference::conv2d_forward(g, n, x, w, b, y),
            ConvAlgo::Auto | ConvAlgo::Im2colGemm => forward_gemm(g, n, x, w, b, y, &mut self.ws),
        }
    }

    /// Gradients: `dx` (skipped when `None`, e.g. for a first layer), `dw`
    /// and `db`, all overwritten.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &mut self,
        n: usize,
        x: &[T],
        w: &[T],
        dy: &[T],
        dx: Option<&mut [T]>,
        dw: &mut [T],
        db: Option<&mut [T]>,
    ) {
        let g = &self.geom;
        match self.algo {
            ConvAlgo::Reference => {
                if let Some(dx) = dx {
                    reference::conv2d_backward_data(g, n, dy, w, dx);
                }
                reference::conv2d_backward_weight(g, n, x, dy, dw, db);
            }
            ConvAlgo::Auto | ConvAlgo::Im2colGemm => backward_gemm(g, n, x, w, dy, dx, dw, db, &mut self.ws),
        }
    }
}

fn forward_gemm<T: Scalar>(
    g: &ConvGeometry,
    n: usize,
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    y: &mut [T],
    ws: &mut ConvWorkspace<T>,
) {
    if n == 0 {
        return;
    }
    let (cig, cog, k, p) = (g.c_in / g.groups, g.c_out / g.groups, g.patch_len(), g.out_h * g.out_w);
    let (il, ol) = (g.in_len(), g.out_len());
    let per = samples_per_task(n);
    let tasks = n.div_ceil(per);
    let nb = samples_per_gemm(k, p, per);
    let par = inner_par(tasks, cog * k * p * nb);
    let pointwise = g.is_pointwise();
    let col = if pointwise && nb == 1 { 0 } else { k * p * nb };
    let out = if nb == 1 { 0 } else { cog * p * nb };
    let bufs = ws.ensure(
        tasks,
        BufSizes {
            col,
            dcol: 0,
            out,
            dw: 0,
            db: 0,
        },
    );
    y[..n * ol]
        .par_chunks_mut(per * ol)
        .zip(x[..n * il].par_chunks(per * il))
        .zip(bufs.par_iter_mut())
        .for_each(|((yc, xc), bufs)| {
            for (ych, xch) in yc.chunks_mut(nb * ol).zip(xc.chunks(nb * il)) {
                let m = ych.len() / ol;
                let ld = m * p;
                for grp in 0..g.groups {
                    let c0 = grp * cig;
                    let wg = &w[grp * cog * k..(grp + 1) * cog * k];
                    if m == 1 {
                        // One sample: the product writes the output directly.
                        let cols: &[T] = if pointwise {
                            &xch[c0 * p..(c0 + cig) * p]
                        } else {
                            im2col::im2col(g, xch, c0, &mut bufs.col, p);
                            &bufs.col[..k * p]
                        };
                        let yg = &mut ych[grp * cog * p..(grp + 1) * cog * p];
                        kernels::matmul(cog, p, k, wg, false, cols, false, yg, false, par);
                        continue;
                    }
                    for (s, xs) in xch.chunks_exact(il).enumerate() {
                        im2col::im2col(g, xs, c0, &mut bufs.col[s * p..], ld);
                    }
                    let out = &mut bufs.out[..cog * ld];
                    kernels::matmul(cog, ld, k, wg, false, &bufs.col[..k * ld], false, out, false, par);
                    // Columns of sample s are its outputs: scatter them to NCHW.
                    for (s, ys) in ych.chunks_exact_mut(ol).enumerate() {
                        for co in 0..cog {
                            ys[(grp * cog + co) * p..(grp * cog + co + 1) * p]
                                .copy_from_slice(&out[co * ld + s * p..co * ld + (s + 1) * p]);
                        }
                    }
                }
                if let Some(b) = b {
                    for ys in ych.chunks_exact_mut(ol) {
                        for (plane, &bv) in ys.chunks_exact_mut(p).zip(b) {
                            plane.iter_mut().for_each(|v| *v += bv);
                        }
                    }
                }
            }
        });
}

#[allow(clippy::too_many_arguments)]
fn backward_gemm<T: Scalar>(
    g: &ConvGeometry,
    n: usize,
    x: &[T],
    w: &[T],
    dy: &[T],
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: Option<&mut [T]>,
    ws: &mut ConvWorkspace<T>,
) {
    let (cig, cog, k, p) = (g.c_in / g.groups, g.c_out / g.groups, g.patch_len(), g.out_h * g.out_w);
    let (il, ol) = (g.in_len(), g.out_len());
    let wl = g.c_out * k;
    if n == 0 {
        dw[..wl].fill(T::zero());
        if let Some(db) = db {
            db.fill(T::zero());
        }
        return;
    }
    let per = samples_per_task(n);
    let tasks = n.div_ceil(per);
    let nb = samples_per_gemm(k, p, per);
    let par = inner_par(tasks, cog * k * p * nb);
    let pointwise = g.is_pointwise();
    let col = if pointwise && nb == 1 { 0 } else { k * p * nb };
    let dcol = if dx.is_some() { col } else { 0 };
    let out = if nb == 1 { 0 } else { cog * p * nb };
    let bufs = ws.ensure(
        tasks,
        BufSizes {
            col,
            dcol,
            out,
            dw: wl,
            db: g.c_out,
        },
    );
    let dx_chunks = match dx {
        Some(dx) => Either::Left(dx[..n * il].par_chunks_mut(per * il).map(Some)),
        None => Either::Right((0..tasks).into_par_iter().map(|_| None)),
    };

    dy[..n * ol]
        .par_chunks(per * ol)
        .zip(x[..n * il].par_chunks(per * il))
        .zip(dx_chunks)
        .zip(bufs.par_iter_mut())
        .for_each(|(((dyc, xc), mut dxc), b)| {
            let TaskBufs {
                col,
                dcol,
                out,
                dw: dwp,
                db: dbp,
            } = b;
            let dwp = &mut dwp[..wl];
            dwp.fill(T::zero());
            let dbp = &mut dbp[..g.c_out];
            dbp.fill(T::zero());
            for (ci, (dych, xch)) in dyc.chunks(nb * ol).zip(xc.chunks(nb * il)).enumerate() {
                let m = dych.len() / ol;
                let ld = m * p;
                let mut dxch = dxc.as_deref_mut().map(|d| &mut d[ci * nb * il..ci * nb * il + m * il]);
                for grp in 0..g.groups {
                    let c0 = grp * cig;
                    let wg = &w[grp * cog * k..(grp + 1) * cog * k];
                    // The chunk's patches (k × ld) and output gradients (cog × ld).
                    let (cols, dyg): (&[T], &[T]) = if m == 1 {
                        let cols: &[T] = if pointwise {
                            &xch[c0 * p..(c0 + cig) * p]
                        } else {
                            im2col::im2col(g, xch, c0, col, p);
                            &col[..k * p]
                        };
                        (cols, &dych[grp * cog * p..(grp + 1) * cog * p])
                    } else {
                        for (s, (xs, dys)) in xch.chunks_exact(il).zip(dych.chunks_exact(ol)).enumerate() {
                            im2col::im2col(g, xs, c0, &mut col[s * p..], ld);
                            for co in 0..cog {
                                out[co * ld + s * p..co * ld + (s + 1) * p]
                                    .copy_from_slice(&dys[(grp * cog + co) * p..(grp * cog + co + 1) * p]);
                            }
                        }
                        (&col[..k * ld], &out[..cog * ld])
                    };
                    // Weight gradient: dW_g (cog×k) += dY_g (cog×ld) · colᵀ (ld×k).
                    let dwg = &mut dwp[grp * cog * k..(grp + 1) * cog * k];
                    kernels::matmul(cog, k, ld, dyg, false, cols, true, dwg, true, par);
                    // Data gradient: dcol (k×ld) = W_gᵀ (k×cog) · dY_g (cog×ld), scattered back.
                    let Some(dxch) = dxch.as_deref_mut() else { continue };
                    if m == 1 && pointwise {
                        let dst = &mut dxch[c0 * p..(c0 + cig) * p];
                        kernels::matmul(k, p, cog, wg, true, dyg, false, dst, false, par);
                        continue;
                    }
                    if grp == 0 {
                        dxch.fill(T::zero());
                    }
                    kernels::matmul(k, ld, cog, wg, true, dyg, false, &mut dcol[..k * ld], false, par);
                    for (s, dxs) in dxch.chunks_exact_mut(il).enumerate() {
                        im2col::col2im(g, &dcol[s * p..], c0, dxs, ld);
                    }
                }
                for dys in dych.chunks_exact(ol) {
                    for (co, d) in dbp.iter_mut().enumerate() {
                        *d += dys[co * p..(co + 1) * p].iter().copied().sum::<T>();
                    }
                }
            }
        });

    // Reduce the per-task partial gradients in task order (deterministic).
    let bufs = &ws.tasks[..tasks];
    dw[..wl].copy_from_slice(&bufs[0].dw[..wl]);
    for t in &bufs[1..] {
        dw[..wl].iter_mut().zip(&t.dw[..wl]).for_each(|(d, v)| *d += *v);
    }
    if let Some(db) = db {
        db.copy_from_slice(&bufs[0].db[..g.c_out]);
        for t in &bufs[1..] {
            db.iter_mut().zip(&t.db[..g.c_out]).for_each(|(d, v)| *d += *v);
        }
    }
}

/// Gradients of a convolution.
#[derive(Clone, Debug)]
pub struct ConvGrads<T: Scalar> {
    pub d_input: Tensor<T>,
    pub d_weight: Tensor<T>,
    pub d_bias: Option<Tensor<T>>,
}

fn check_conv_args<T: Scalar>(x: &Tensor<T>, w: &Tensor<T>, p: &Conv2dParams) -> Result<ConvGeometry> {
    if x.ndim() != 4 {
        return Err(Error::shape("conv2d input", "[n, c_in, h, w]", x.shape()));
    }
    if w.ndim() != 4 || w.shape()[2..] != p.kernel {
        return Err(Error::shape(
            "conv2d weight",
            format!("[c_out, c_in/groups, {}, {}]", p.kernel[0], p.kernel[1]),
            w.shape(),
        ));
    }
    let [_, c_in, h, wd] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let g = p.geometry(c_in, h, wd, w.shape()[0])?;
    if w.shape() != g.weight_shape() {
        return Err(Error::shape("conv2d weight", fmt_shape(&g.weight_shape()), w.shape()));
    }
    Ok(g)
}

/// Convolution of a batch `x` `(n, c_in, h, w)` with weights `w`
/// `(c_out, c_in/groups, k_h, k_w)` and an optional bias `(c_out)`.
pub fn conv2d<T: Scalar>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    p: &Conv2dParams,
    algo: ConvAlgo,
) -> Result<Tensor<T>> {
    let g = check_conv_args(x, w, p)?;
    if let Some(b) = b
        && b.shape() != [g.c_out]
    {
        return Err(Error::shape("conv2d bias", fmt_shape(&[g.c_out]), b.shape()));
    }
    let n = x.batch();
    let mut y = Tensor::zeros(&[n, g.c_out, g.out_h, g.out_w]);
    ConvOp::new(g, algo).forward(n, x.data(), w.data(), b.map(|b| b.data()), y.data_mut());
    Ok(y)
}

/// Gradients of [`conv2d`] given the gradient `dy` of its output.
pub fn conv2d_backward<T: Scalar>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    dy: &Tensor<T>,
    with_bias: bool,
    p: &Conv2dParams,
    algo: ConvAlgo,
) -> Result<ConvGrads<T>> {
    let g = check_conv_args(x, w, p)?;
    let n = x.batch();
    let y_shape = [n, g.c_out, g.out_h, g.out_w];
    if dy.shape() != y_shape {
        return Err(Error::shape("conv2d output gradient", fmt_shape(&y_shape), dy.shape()));
    }
    let mut d_input = Tensor::zeros(x.shape());
    let mut d_weight = Tensor::zeros(w.shape());
    let mut d_bias = with_bias.then(|| Tensor::zeros(&[g.c_out]));
    ConvOp::new(g, algo).backward(
        n,
        x.data(),
        w.data(),
        dy.data(),
        Some(d_input.data_mut()),
        d_weight.data_mut(),
        d_bias.as_mut().map(|b| b.data_mut()),
    );
    Ok(ConvGrads {
        d_input,
        d_weight,
        d_bias,
    })
}
