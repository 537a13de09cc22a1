//! The convolution driver: patches unfolded by [`im2col`] and multiplied
//! on the GEMM micro-kernels, or 3×3 stride-1 convolutions through
//! [`winograd`]'s transforms and products, parallel over the batch, with the
//! scalar loops of [`reference`](mod@reference) one runtime switch
//! ([`ConvAlgo`]) away.
//!
//! The batch is split into one task per thread; each task owns scratch
//! buffers in a [`ConvWorkspace`] kept across batches, lays the patches of
//! several samples side by side so that one matrix product serves them
//! (small images give thin products otherwise), and accumulates its own
//! share of the weight gradient, which is reduced in task order at the end
//! so that results are reproducible for a given thread count.
//!
//! Shapes are those of `ops::conv`: `x` `(n, c_in, h, w)`, `w`
//! `(c_out, c_in / groups, k_h, k_w)`, `b` `(c_out)`, `y`
//! `(n, c_out, out_h, out_w)`, all NCHW and contiguous.

use rayon::iter::Either;
use rayon::prelude::*;

use crate::kernels::cpu::Isa;
use crate::kernels::gemm::{MatmulSpec, Par, matmul};
use crate::kernels::geometry::ConvGeometry;
use crate::kernels::grads::{BackwardIn, GradsOut};
use crate::kernels::{direct, im2col, reference, winograd};
use crate::scalar::Scalar;

/// Which kernel computes a convolution. A runtime choice, so tests reach every path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConvAlgo {
    /// Let striate choose: [`ConvAlgo::Winograd`] for 3×3 convolutions of
    /// stride 1 with at least [`WINOGRAD_MIN_CHANNELS`] input and output
    /// channels, [`ConvAlgo::Direct`] for the forward pass of small
    /// stride-1 ones ([`direct::worth_it`]: first layers with at most
    /// [`direct::AUTO_MAX_PATCH`] inputs per output and
    /// [`direct::AUTO_MAX_CHANNELS`] filters), [`ConvAlgo::Im2colFast`]
    /// for the rest.
    #[default]
    Auto,
    /// The scalar reference loops: slow, obviously right.
    Reference,
    /// Unfold patches (im2col) and multiply with the GEMM micro-kernels,
    /// parallel over the batch; the general path, the fast paths' twin.
    Im2colGemm,
    /// [`ConvAlgo::Im2colGemm`] with its fast paths: a 1×1 convolution with
    /// stride 1 and no padding multiplies the NCHW data directly (no patch
    /// copy) wherever a sample's image has at least [`POINTWISE_MIN_PIXELS`]
    /// pixels, a strided 1×1 one gathers its patches with a plain strided
    /// copy, and a padded convolution copies each input plane once into a
    /// zero-bordered buffer and reads its patches from there without bounds
    /// checks.
    Im2colFast,
    /// Winograd's F(2×2, 3×3) ([`winograd`]) for the forward pass of every
    /// convolution it applies to (3×3, stride 1, no dilation, one group) and
    /// for the data gradient of those padded by at most 2 on every side;
    /// [`ConvAlgo::Im2colFast`] for the rest and for weight gradients.
    Winograd,
    /// The [`direct`] loops for the forward pass of every convolution they
    /// apply to (stride 1, no dilation, one group); [`ConvAlgo::Im2colFast`]
    /// for the rest and for gradients.
    Direct,
}

impl ConvAlgo {
    /// True for the choices that take the im2col fast paths.
    fn fast(self) -> bool {
        matches!(
            self,
            ConvAlgo::Auto | ConvAlgo::Im2colFast | ConvAlgo::Winograd | ConvAlgo::Direct
        )
    }

    /// The kernel this choice runs for the forward pass of `g`:
    /// [`ConvAlgo::Reference`], [`ConvAlgo::Winograd`], [`ConvAlgo::Direct`],
    /// or im2col ([`ConvAlgo::Im2colGemm`] for the plain choice,
    /// [`ConvAlgo::Im2colFast`] for every other).
    pub fn forward_kernel(self, g: &ConvGeometry) -> ConvAlgo {
        match self {
            ConvAlgo::Reference | ConvAlgo::Im2colGemm => self,
            _ if self.winograd_forward(g) => ConvAlgo::Winograd,
            _ if self.direct_forward(g) => ConvAlgo::Direct,
            _ => ConvAlgo::Im2colFast,
        }
    }

    /// True when the forward pass of `g` goes through the direct loops.
    fn direct_forward(self, g: &ConvGeometry) -> bool {
        match self {
            ConvAlgo::Direct => direct::applies(g),
            ConvAlgo::Auto => direct::worth_it(g),
            _ => false,
        }
    }

    /// True when the forward pass of `g` goes through Winograd.
    fn winograd_forward(self, g: &ConvGeometry) -> bool {
        match self {
            ConvAlgo::Winograd => winograd::forward_applies(g),
            ConvAlgo::Auto => winograd::forward_applies(g) && winograd_worth_it(g),
            _ => false,
        }
    }

    /// True when the data gradient of `g` goes through Winograd.
    fn winograd_data_grad(self, g: &ConvGeometry) -> bool {
        match self {
            ConvAlgo::Winograd => winograd::data_grad_applies(g),
            ConvAlgo::Auto => winograd::data_grad_applies(g) && winograd_worth_it(g),
            _ => false,
        }
    }
}

/// Input and output channels from which [`ConvAlgo::Auto`] takes Winograd:
/// with fewer, the transforms cost more than the products they save.
pub const WINOGRAD_MIN_CHANNELS: usize = 16;

fn winograd_worth_it(g: &ConvGeometry) -> bool {
    g.c_in >= WINOGRAD_MIN_CHANNELS && g.c_out >= WINOGRAD_MIN_CHANNELS
}

/// What a convolution does to its output before storing it, per output
/// channel `c`: `y = act(acc · scale[c] + shift[c])`, where `acc` is the
/// convolution's sum. A bias is `shift` alone; batch norm in evaluation mode
/// folds into `scale` and `shift`; `relu` clamps at zero. Applied to each
/// chunk of samples right after its product, while it is in cache.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a, T: Scalar> {
    /// Per-channel factor (`c_out`), or none (1).
    pub scale: Option<&'a [T]>,
    /// Per-channel offset (`c_out`), or none (0).
    pub shift: Option<&'a [T]>,
    /// Clamp negative results to zero.
    pub relu: bool,
}

impl<'a, T: Scalar> Epilogue<'a, T> {
    /// Adds `bias` (a plain convolution's epilogue).
    pub fn bias(bias: Option<&'a [T]>) -> Self {
        Epilogue {
            scale: None,
            shift: bias,
            relu: false,
        }
    }

    /// True when it changes nothing.
    fn is_identity(&self) -> bool {
        self.scale.is_none() && self.shift.is_none() && !self.relu
    }

    /// Applies it to the outputs `ys` of whole samples (`c_out` planes of `p`).
    fn apply(&self, ys: &mut [T], c_out: usize, p: usize) {
        if self.is_identity() || p == 0 {
            return;
        }
        let zero = T::zero();
        let relu = |v: T| if v > zero { v } else { zero };
        for (i, plane) in ys.chunks_exact_mut(p).enumerate() {
            let c = i % c_out;
            let b = self.shift.map_or(zero, |s| s[c]);
            match (self.scale, self.relu) {
                (Some(a), true) => plane.iter_mut().for_each(|v| *v = relu(*v * a[c] + b)),
                (Some(a), false) => plane.iter_mut().for_each(|v| *v = *v * a[c] + b),
                (None, true) => plane.iter_mut().for_each(|v| *v = relu(*v + b)),
                (None, false) => plane.iter_mut().for_each(|v| *v += b),
            }
        }
    }
}

/// Scratch memory of one parallel task.
#[derive(Debug, Default)]
struct TaskBufs<T: Scalar> {
    /// Unfolded input patches of a chunk of samples, `k × (nb · p)`; for
    /// Winograd, its transformed input.
    col: Vec<T>,
    /// Gradient of the patches, `k × (nb · p)`.
    dcol: Vec<T>,
    /// Outputs (forward) or output gradients (backward) of a chunk of
    /// samples in GEMM layout, `c_out/groups × (nb · p)`; for Winograd, its
    /// transformed output.
    out: Vec<T>,
    /// This task's share of the weight gradient.
    dw: Vec<T>,
    /// This task's share of the bias gradient.
    db: Vec<T>,
    /// One zero-bordered input plane, for the padded im2col fast path, or
    /// for Winograd one sample's padded input or output with channels last
    /// (grown on first use).
    pad: Vec<T>,
}

/// Scratch memory of a convolution, kept across batches so that training
/// does not allocate once the first batch has run.
#[derive(Debug, Default)]
pub struct ConvWorkspace<T: Scalar> {
    tasks: Vec<TaskBufs<T>>,
}

/// Sizes of the scratch buffers of one task (0: not needed).
#[derive(Default)]
struct BufSizes {
    col: usize,
    dcol: usize,
    out: usize,
    dw: usize,
    db: usize,
}

impl<T: Scalar> ConvWorkspace<T> {
    /// The buffers of `tasks` tasks, each grown to at least `sizes`.
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
fn samples_per_task(n: usize) -> usize {
    let tasks = rayon::current_num_threads().clamp(1, n.max(1));
    n.div_ceil(tasks).max(1)
}

/// Pixels per sample from which a stride-1 1×1 convolution multiplies each
/// sample's NCHW data in place instead of copying several samples' patches
/// side by side: below it the products are too thin for their cost (each
/// repacks the weights).
pub const POINTWISE_MIN_PIXELS: usize = 64;

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

/// How a pass over a batch is split, the same for forward and backward.
struct Plan {
    /// Samples per parallel task.
    per: usize,
    /// Parallel tasks.
    tasks: usize,
    /// Samples whose patches go through one matrix product.
    nb: usize,
    /// Threads inside each matrix product.
    par: Par,
    /// The patch matrix is the input itself (1×1, stride 1, no padding).
    pointwise: bool,
    /// Elements of one task's patch buffer (0 where the input serves).
    col: usize,
    /// Elements of one task's GEMM-layout output buffer (0 where the
    /// product writes the output directly).
    out: usize,
}

impl Plan {
    fn new(g: &ConvGeometry, n: usize, algo: ConvAlgo) -> Self {
        let (cog, k, p) = (g.c_out / g.groups, g.patch_len(), g.out_h * g.out_w);
        let per = samples_per_task(n);
        let tasks = n.div_ceil(per);
        let in_place = algo.fast() && g.is_pointwise() && p >= POINTWISE_MIN_PIXELS;
        let nb = if in_place { 1 } else { samples_per_gemm(k, p, per) };
        let par = inner_par(tasks, cog * k * p * nb);
        let pointwise = g.is_pointwise();
        let col = if pointwise && nb == 1 { 0 } else { k * p * nb };
        let out = if nb == 1 { 0 } else { cog * p * nb };
        Plan {
            per,
            tasks,
            nb,
            par,
            pointwise,
            col,
            out,
        }
    }
}

/// How a forward pass walks a batch of `n` samples of `il` input and `ol`
/// output elements: one parallel task per `per` samples, each with its own
/// buffers, and within a task chunks of `nb` samples that go through one
/// set of products (the last chunk may be shorter).
struct Split {
    n: usize,
    per: usize,
    nb: usize,
    il: usize,
    ol: usize,
}

impl Split {
    /// Runs `f(samples, x_chunk, y_chunk, task_bufs)` on every chunk, the
    /// tasks in parallel (one per element of `bufs`).
    fn for_each_chunk<T: Scalar>(
        &self,
        x: &[T],
        y: &mut [T],
        bufs: &mut [TaskBufs<T>],
        f: impl Fn(usize, &[T], &mut [T], &mut TaskBufs<T>) + Sync,
    ) {
        let Split { n, per, nb, il, ol } = *self;
        y[..n * ol]
            .par_chunks_mut(per * ol)
            .zip(x[..n * il].par_chunks(per * il))
            .zip(bufs.par_iter_mut())
            .for_each(|((yc, xc), b)| {
                for (ych, xch) in yc.chunks_mut(nb * ol).zip(xc.chunks(nb * il)) {
                    f(ych.len() / ol, xch, ych, b);
                }
            });
    }
}

/// [`im2col::im2col`], or with `fast` the strided gather of a 1×1 unpadded
/// convolution or the padded-plane copy of a padded one (`pad` its buffer).
fn unfold<T: Scalar>(g: &ConvGeometry, fast: bool, x_s: &[T], c0: usize, col: &mut [T], ld: usize, pad: &mut Vec<T>) {
    if fast && im2col::is_1x1_unpadded(g) {
        im2col::gather_1x1(g, x_s, c0, col, ld);
    } else if fast && im2col::is_padded(g) {
        im2col::im2col_padded(g, x_s, c0, col, ld, pad);
    } else {
        im2col::im2col(g, x_s, c0, col, ld);
    }
}

/// [`im2col::col2im`], or with `fast` the adjoint of [`unfold`]'s fast paths.
fn fold<T: Scalar>(g: &ConvGeometry, fast: bool, col: &[T], c0: usize, dx_s: &mut [T], ld: usize, pad: &mut Vec<T>) {
    if fast && im2col::is_1x1_unpadded(g) {
        im2col::scatter_1x1(g, col, c0, dx_s, ld);
    } else if fast && im2col::is_padded(g) {
        im2col::col2im_padded(g, col, c0, dx_s, ld, pad);
    } else {
        im2col::col2im(g, col, c0, dx_s, ld);
    }
}

/// The forward pass through the [`direct`] loops, parallel over the batch,
/// each task with its own copy of the regrouped filters (in its `col`
/// buffer) and bordered plane; the epilogue follows each sample.
fn forward_direct<T: Scalar>(
    g: &ConvGeometry,
    n: usize,
    x: &[T],
    w: &[T],
    ep: Epilogue<'_, T>,
    y: &mut [T],
    ws: &mut ConvWorkspace<T>,
) {
    let per = samples_per_task(n);
    let sizes = BufSizes {
        col: direct::weights_len(g),
        ..BufSizes::default()
    };
    let bufs = ws.ensure(n.div_ceil(per), sizes);
    let isa = Isa::detect();
    let split = Split {
        n,
        per,
        nb: per,
        il: g.in_len(),
        ol: g.out_len(),
    };
    let p = g.out_h * g.out_w;
    split.for_each_chunk(x, y, bufs, |samples, xc, yc, b| {
        direct::forward(isa, g, samples, xc, w, yc, &mut b.col, &mut b.pad, |ys| {
            ep.apply(ys, g.c_out, p)
        });
    });
}

/// A convolution bound to its geometry, kernel choice and workspace.
#[derive(Debug)]
pub struct ConvOp<T: Scalar> {
    /// Every size of the convolution.
    pub geom: ConvGeometry,
    /// Which kernel runs; may be switched between calls.
    pub algo: ConvAlgo,
    ws: ConvWorkspace<T>,
}

impl<T: Scalar> ConvOp<T> {
    /// A convolution of validated geometry `geom` computed by `algo`, with
    /// an empty workspace.
    pub fn new(geom: ConvGeometry, algo: ConvAlgo) -> Self {
        ConvOp {
            geom,
            algo,
            ws: ConvWorkspace::default(),
        }
    }

    /// `y = conv(x, w) + b` for `n` samples; slices must have the geometry's sizes.
    pub fn forward(&mut self, n: usize, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
        self.forward_with(n, x, w, Epilogue::bias(b), y);
    }

    /// `y = epilogue(conv(x, w))` for `n` samples: the reference applies
    /// the epilogue in a pass of its own after the scalar loops, the GEMM
    /// path to each chunk of samples right after its product.
    pub fn forward_with(&mut self, n: usize, x: &[T], w: &[T], ep: Epilogue<'_, T>, y: &mut [T]) {
        let g = &self.geom;
        debug_assert!(x.len() >= n * g.in_len() && y.len() >= n * g.out_len());
        match self.algo.forward_kernel(g) {
            ConvAlgo::Reference if ep.scale.is_none() && !ep.relu => reference::conv2d_forward(g, n, x, w, ep.shift, y),
            ConvAlgo::Reference => {
                reference::conv2d_forward(g, n, x, w, None, y);
                ep.apply(&mut y[..n * g.out_len()], g.c_out, g.out_h * g.out_w);
            }
            ConvAlgo::Winograd => {
                winograd_pass(
                    &winograd::Plane::forward(g),
                    n,
                    x,
                    Filters::AsStored(w),
                    y,
                    &mut self.ws,
                    ep,
                );
            }
            ConvAlgo::Direct => forward_direct(g, n, x, w, ep, y, &mut self.ws),
            im2col => forward_gemm(g, im2col, n, x, w, ep, y, &mut self.ws),
        }
    }

    /// Gradients of `n` samples, all overwritten; `grads.d_input` is
    /// skipped when `None` (e.g. for a first layer).
    pub fn backward(&mut self, n: usize, inp: BackwardIn<'_, T>, grads: GradsOut<'_, T>) {
        let g = &self.geom;
        match self.algo {
            ConvAlgo::Reference => {
                let BackwardIn { x, w, dy } = inp;
                if let Some(dx) = grads.d_input {
                    reference::conv2d_backward_data(g, n, dy, w, dx);
                }
                reference::conv2d_backward_weight(g, n, x, dy, grads.d_weight, grads.d_bias);
            }
            algo if grads.d_input.is_some() && algo.winograd_data_grad(g) => {
                let mut grads = grads;
                let dx = grads.d_input.take();
                backward_gemm(g, algo, n, inp, grads, &mut self.ws);
                if let Some(dx) = dx {
                    let pl = winograd::Plane::data_grad(g);
                    let filters = Filters::Turned(inp.w);
                    winograd_pass(&pl, n, inp.dy, filters, dx, &mut self.ws, Epilogue::default());
                }
            }
            _ => backward_gemm(g, self.algo, n, inp, grads, &mut self.ws),
        }
    }
}

/// `y = epilogue(conv(x, w))` through im2col and GEMM, parallel over the batch.
#[allow(clippy::too_many_arguments)]
fn forward_gemm<T: Scalar>(
    g: &ConvGeometry,
    algo: ConvAlgo,
    n: usize,
    x: &[T],
    w: &[T],
    ep: Epilogue<'_, T>,
    y: &mut [T],
    ws: &mut ConvWorkspace<T>,
) {
    if n == 0 {
        return;
    }
    let (cig, cog, k, p) = (g.c_in / g.groups, g.c_out / g.groups, g.patch_len(), g.out_h * g.out_w);
    let (il, ol) = (g.in_len(), g.out_len());
    let Plan {
        per,
        tasks,
        nb,
        par,
        pointwise,
        col,
        out,
    } = Plan::new(g, n, algo);
    let fast = algo.fast();
    let bufs = ws.ensure(
        tasks,
        BufSizes {
            col,
            out,
            ..BufSizes::default()
        },
    );
    let split = Split { n, per, nb, il, ol };
    split.for_each_chunk(x, y, bufs, |m, xch, ych, bufs| {
        let ld = m * p;
        for grp in 0..g.groups {
            let c0 = grp * cig;
            let wg = &w[grp * cog * k..(grp + 1) * cog * k];
            if m == 1 {
                // One sample: the product writes the output directly.
                let cols: &[T] = if pointwise {
                    &xch[c0 * p..(c0 + cig) * p]
                } else {
                    unfold(g, fast, xch, c0, &mut bufs.col, p, &mut bufs.pad);
                    &bufs.col[..k * p]
                };
                let yg = &mut ych[grp * cog * p..(grp + 1) * cog * p];
                matmul(&MatmulSpec::new(cog, p, k).par(par), wg, cols, yg);
                continue;
            }
            for (s, xs) in xch.chunks_exact(il).enumerate() {
                unfold(g, fast, xs, c0, &mut bufs.col[s * p..], ld, &mut bufs.pad);
            }
            let out = &mut bufs.out[..cog * ld];
            matmul(&MatmulSpec::new(cog, ld, k).par(par), wg, &bufs.col[..k * ld], out);
            // Columns of sample s are its outputs: scatter them to NCHW.
            for (s, ys) in ych.chunks_exact_mut(ol).enumerate() {
                for co in 0..cog {
                    ys[(grp * cog + co) * p..(grp * cog + co + 1) * p]
                        .copy_from_slice(&out[co * ld + s * p..co * ld + (s + 1) * p]);
                }
            }
        }
        ep.apply(ych, g.c_out, p);
    });
}

/// The filters of a Winograd pass, `(c_out, c_in, 3, 3)` of the convolution.
#[derive(Clone, Copy)]
enum Filters<'a, T> {
    /// As stored: the forward pass.
    AsStored(&'a [T]),
    /// Turned by 180° with input and output channels swapped: the data gradient.
    Turned(&'a [T]),
}

/// Runs `f` on this thread's scratch buffer of `T` (one for all layers, see
/// `Scalar`'s sealed part). Where the buffer is already in use on this
/// thread (a rayon worker running another convolution's job from inside a
/// parallel section), `f` gets a fresh one.
fn with_scratch<T: Scalar, R>(f: impl FnOnce(&mut Vec<T>) -> R) -> R {
    T::scratch().with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(&mut v),
        Err(_) => f(&mut Vec::new()),
    })
}

/// `y = epilogue(conv(x))` of `n` samples through Winograd with `filters`,
/// transformed into this thread's scratch buffer ([`with_scratch`]);
/// split over the batch as [`forward_gemm`] ([`Split`]), each task's transformed
/// input and output in its `col` and `out` buffers, its channels-last plane
/// in `pad`.
fn winograd_pass<T: Scalar>(
    pl: &winograd::Plane,
    n: usize,
    x: &[T],
    filters: Filters<'_, T>,
    y: &mut [T],
    ws: &mut ConvWorkspace<T>,
    ep: Epilogue<'_, T>,
) {
    if n == 0 {
        return;
    }
    let (il, ol) = (pl.in_len(), pl.out_len());
    let per = samples_per_task(n);
    let tasks = n.div_ceil(per);
    let nb = pl.samples_per_chunk(per);
    let par = inner_par(tasks, winograd::XI * pl.c_out * pl.c_in * pl.tiles_per_sample() * nb);
    let (v_len, m_len) = pl.chunk_lens(nb);
    let sizes = BufSizes {
        col: v_len,
        out: m_len,
        ..BufSizes::default()
    };
    let bufs = ws.ensure(tasks, sizes);
    let isa = Isa::detect();
    // (c_out, c_in) of the convolution, which for a data gradient are the
    // plane's (c_in, c_out).
    let (w, turn, co, ci) = match filters {
        Filters::AsStored(w) => (w, false, pl.c_out, pl.c_in),
        Filters::Turned(w) => (w, true, pl.c_in, pl.c_out),
    };
    with_scratch(|u: &mut Vec<T>| {
        u.resize(winograd::filters_len(co, ci), T::zero());
        winograd::transform_filters(w, co, ci, turn, u);
        let u = &u[..];
        Split { n, per, nb, il, ol }.for_each_chunk(x, y, bufs, |m, xch, ych, b| {
            let scratch = winograd::Scratch {
                v: &mut b.col,
                m: &mut b.out,
                plane: &mut b.pad,
            };
            winograd::conv_chunk(pl, isa, m, xch, u, ych, scratch, par);
            ep.apply(ych, pl.c_out, pl.out_h * pl.out_w);
        });
    });
}

/// The backward pass of [`forward_gemm`]: per task, the patches of a chunk
/// of samples give the task's share of the weight gradient and, scattered
/// back by `col2im`, the input gradient; the shares are reduced in task order.
fn backward_gemm<T: Scalar>(
    g: &ConvGeometry,
    algo: ConvAlgo,
    n: usize,
    inp: BackwardIn<'_, T>,
    grads: GradsOut<'_, T>,
    ws: &mut ConvWorkspace<T>,
) {
    let BackwardIn { x, w, dy } = inp;
    let GradsOut {
        d_input: dx,
        d_weight: dw,
        d_bias: db,
    } = grads;
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
    let Plan {
        per,
        tasks,
        nb,
        par,
        pointwise,
        col,
        out,
    } = Plan::new(g, n, algo);
    let fast = algo.fast();
    let dcol = if dx.is_some() { col } else { 0 };
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
                pad,
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
                            unfold(g, fast, xch, c0, col, p, pad);
                            &col[..k * p]
                        };
                        (cols, &dych[grp * cog * p..(grp + 1) * cog * p])
                    } else {
                        for (s, (xs, dys)) in xch.chunks_exact(il).zip(dych.chunks_exact(ol)).enumerate() {
                            unfold(g, fast, xs, c0, &mut col[s * p..], ld, pad);
                            for co in 0..cog {
                                out[co * ld + s * p..co * ld + (s + 1) * p]
                                    .copy_from_slice(&dys[(grp * cog + co) * p..(grp * cog + co + 1) * p]);
                            }
                        }
                        (&col[..k * ld], &out[..cog * ld])
                    };
                    // Weight gradient: dW_g (cog×k) += dY_g (cog×ld) · colᵀ (ld×k).
                    let dwg = &mut dwp[grp * cog * k..(grp + 1) * cog * k];
                    matmul(
                        &MatmulSpec::new(cog, k, ld).b_trans().accumulate().par(par),
                        dyg,
                        cols,
                        dwg,
                    );
                    // Data gradient: dcol (k×ld) = W_gᵀ (k×cog) · dY_g (cog×ld), scattered back.
                    let Some(dxch) = dxch.as_deref_mut() else { continue };
                    if m == 1 && pointwise {
                        let dst = &mut dxch[c0 * p..(c0 + cig) * p];
                        matmul(&MatmulSpec::new(k, p, cog).a_trans().par(par), wg, dyg, dst);
                        continue;
                    }
                    if grp == 0 {
                        dxch.fill(T::zero());
                    }
                    matmul(
                        &MatmulSpec::new(k, ld, cog).a_trans().par(par),
                        wg,
                        dyg,
                        &mut dcol[..k * ld],
                    );
                    for (s, dxs) in dxch.chunks_exact_mut(il).enumerate() {
                        fold(g, fast, &dcol[s * p..], c0, dxs, ld, pad);
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
