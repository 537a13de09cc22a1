//! Turning stored samples into model inputs, the same way for training,
//! evaluation and prediction.
//!
//! In order: arrange the axes (channels-last images become channels-first,
//! flat vectors become `[1, s, s]` images or `[1, l]` signals when the model
//! wants those), scale (1/255 for byte data by default), zero-pad images to a
//! size, standardise with statistics of the training split only, and
//! optionally z-normalise each series. A [`Preprocess`] records every choice
//! and statistic; it is saved with a trained model.

use serde::{Deserialize, Serialize};

use super::Dataset;
use super::source::{RawData, Stored};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, fmt_shape, numel};

/// Where the channel axis of stored images is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Channels-last when the last axis has 1 to 4 entries and the first
    /// does not (`[h, w, c]`); channels-first otherwise.
    #[default]
    Auto,
    /// Stored `[c, h, w]`, as PyTorch expects; kept as is.
    ChannelsFirst,
    /// Stored `[h, w, c]`, as Keras/NumPy images usually are; moved to `[c, h, w]`.
    ChannelsLast,
}

/// Standardisation of inputs: `(x − mean) / std`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standardize {
    /// No standardisation (the default).
    #[default]
    None,
    /// One mean and standard deviation over every training value.
    Global,
    /// A mean and standard deviation per input element (pixel × channel).
    PerPixel,
}

/// What the user asked for; [`Preprocess::plan`] resolves it against data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrepOptions {
    /// Where the channel axis of stored images is (default [`Layout::Auto`]).
    pub layout: Layout,
    /// Multiply stored values by this; `None`: 1/255 for bytes, else 1.
    pub scale: Option<f64>,
    /// Standardisation to fit on the training split (default none).
    pub standardize: Standardize,
    /// Explicit per-sample shape, e.g. `[1, 8, 8]` for flat digits.
    pub reshape: Option<Vec<usize>>,
    /// Zero-pad images (centred) to `[h, w]`.
    pub pad_to: Option<[usize; 2]>,
    /// Subtract each series' mean and divide by its standard deviation.
    pub znorm: bool,
    /// Fixed per-channel normalisation (torchvision's `Normalize`), instead of fitted statistics.
    pub normalize: Option<Normalize>,
}

/// torchvision's `Normalize(mean, std)`: `(x − mean[c]) / std[c]` for every
/// value of channel `c` (axis 0 of a sample), after scaling and padding.
/// One value stands for every channel. Parsed from `MEAN/STD`, e.g.
/// `0.5/0.5` or `0.485,0.456,0.406/0.229,0.224,0.225`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    /// Mean per channel (or one for all).
    pub mean: Vec<f32>,
    /// Standard deviation per channel (or one for all), each positive.
    pub std: Vec<f32>,
}

impl std::str::FromStr for Normalize {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Normalize> {
        let bad = |m: String| Error::invalid("--normalize", m);
        let (mean, std) = spec.split_once('/').ok_or_else(|| {
            bad(format!(
                "{spec:?}: write MEAN/STD, e.g. 0.5/0.5 or 0.1,0.2,0.3/0.2,0.2,0.2"
            ))
        })?;
        let list = |part: &str| -> Result<Vec<f32>> {
            part.split(',')
                .map(|v| match v.trim().parse::<f32>() {
                    Ok(x) if x.is_finite() => Ok(x),
                    _ => Err(bad(format!("{spec:?}: {:?} is not a number", v.trim()))),
                })
                .collect()
        };
        let n = Normalize {
            mean: list(mean)?,
            std: list(std)?,
        };
        n.validate(None)?;
        Ok(n)
    }
}

impl Normalize {
    /// An error unless every std is positive and each list has one value or
    /// one per channel (`channels`, when known).
    pub fn validate(&self, channels: Option<usize>) -> Result<()> {
        let bad = |m: String| Err(Error::invalid("--normalize", m));
        if self.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) || self.mean.iter().any(|m| !m.is_finite()) {
            return bad("every standard deviation must be positive and every mean finite".into());
        }
        let (m, s) = (self.mean.len(), self.std.len());
        if m == 0 || s == 0 || (m != s && m != 1 && s != 1) {
            return bad(format!("{m} means and {s} standard deviations"));
        }
        match channels {
            Some(c) if m.max(s) > 1 && m.max(s) != c => {
                bad(format!("{} values per list for inputs with {c} channels", m.max(s)))
            }
            _ => Ok(()),
        }
    }

    /// Normalises one sample (`channels` equal planes, channel-major) in place.
    pub fn apply(&self, sample: &mut [f32], channels: usize) {
        let per = sample.len() / channels.max(1);
        for (c, plane) in sample.chunks_mut(per.max(1)).enumerate() {
            let (m, s) = (at(&self.mean, c), at(&self.std, c));
            plane.iter_mut().for_each(|v| *v = (*v - m) / s);
        }
    }
}

/// Entry `c` of a per-channel list, or its only entry.
fn at(v: &[f32], c: usize) -> f32 {
    if v.len() == 1 { v[0] } else { v[c] }
}

/// How stored samples become model inputs; saved with a trained model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Per-sample shape as stored.
    pub stored_shape: Vec<usize>,
    /// True when stored images are `[h, w, c]`.
    pub channels_last: bool,
    /// Per-sample shape after arranging, before padding.
    pub arranged_shape: Vec<usize>,
    /// Factor every stored value is multiplied by (1/255 for byte data unless the user gave one).
    pub scale: f64,
    /// Size `[h, w]` images are zero-padded to, centred; `None` when not padded.
    #[serde(default)]
    pub pad_to: Option<[usize; 2]>,
    /// Which standardisation was fitted; its statistics are `mean` and `std`.
    pub standardize: Standardize,
    /// Standardisation statistics (one value, or one per input element).
    #[serde(default)]
    pub mean: Vec<f32>,
    /// Standard deviations matching `mean` (one value, or one per input element).
    #[serde(default)]
    pub std: Vec<f32>,
    /// True when each series is z-normalised on its own (its mean subtracted, divided by its standard deviation).
    #[serde(default)]
    pub znorm: bool,
    /// Fixed per-channel normalisation, applied where fitted statistics would be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalize>,
}

/// Sizes a channel axis has: grey, two-channel jet images (pt and
/// counts), RGB, RGBA.
fn is_channel_count(n: usize) -> bool {
    (1..=4).contains(&n)
}

impl Preprocess {
    /// Resolves the options for `raw`; `target_rank` is the rank of the
    /// model's per-sample input when known (3: images, 2: signals, 1: vectors).
    pub fn plan(raw: &RawData, opts: &PrepOptions, target_rank: Option<usize>) -> Result<Self> {
        let prep = Self::plan_stored(&raw.stored(), opts, target_rank)?;
        prep.check_memory(raw.len())?;
        Ok(prep)
    }

    /// [`Preprocess::plan`] from what is known of stored samples without
    /// reading them (a streamed file's header); checks no memory budget,
    /// since a streamed set is never held whole.
    pub fn plan_stored(raw: &Stored, opts: &PrepOptions, target_rank: Option<usize>) -> Result<Self> {
        let stored: Vec<usize> = raw.shape[1..].to_vec();
        let mut channels_last = false;
        let stored_len = crate::budget::product("samples", &stored)?;
        let arranged = if let Some(shape) = &opts.reshape {
            if crate::budget::product("--reshape", shape)? != stored_len {
                return Err(Error::Data(format!(
                    "cannot reshape samples of shape {} ({} values) to {}",
                    fmt_shape(&stored),
                    numel(&stored),
                    fmt_shape(shape)
                )));
            }
            shape.clone()
        } else {
            match (stored.as_slice(), target_rank) {
                (&[a, b, c], _) => {
                    channels_last = match opts.layout {
                        Layout::ChannelsLast => true,
                        Layout::ChannelsFirst => false,
                        Layout::Auto => !raw.channels_first && is_channel_count(c) && !is_channel_count(a),
                    };
                    if channels_last { vec![c, a, b] } else { vec![a, b, c] }
                }
                (&[a, b], Some(2)) => {
                    channels_last = opts.layout == Layout::ChannelsLast;
                    if channels_last { vec![b, a] } else { vec![a, b] }
                }
                (&[a, b], _) => vec![1, a, b],
                (&[f], Some(3)) => {
                    let s = (f as f64).sqrt().round() as usize;
                    if s * s != f {
                        return Err(Error::Data(format!(
                            "samples are vectors of {f} values, not square images; pass --reshape C,H,W"
                        )));
                    }
                    vec![1, s, s]
                }
                (&[f], Some(2)) => vec![1, f],
                (&[f], _) => vec![f],
                _ => {
                    return Err(Error::Data(format!(
                        "samples of shape {} have too many axes; pass --reshape",
                        fmt_shape(&stored)
                    )));
                }
            }
        };
        if let Some([ph, pw]) = opts.pad_to
            && (arranged.len() != 3 || arranged[1] > ph || arranged[2] > pw)
        {
            return Err(Error::Data(format!(
                "cannot pad samples of shape {} to {ph}×{pw}",
                fmt_shape(&arranged)
            )));
        }
        let scale = opts.scale.unwrap_or(if raw.bytes { 1.0 / 255.0 } else { 1.0 });
        if !(scale.is_finite() && scale != 0.0) {
            return Err(Error::invalid("scale", format!("{scale} must be a non-zero number")));
        }
        if opts.normalize.is_some() && opts.standardize != Standardize::None {
            return Err(Error::invalid(
                "--normalize",
                "fixed normalisation replaces --standardize; choose one",
            ));
        }
        let prep = Preprocess {
            stored_shape: stored,
            channels_last,
            arranged_shape: arranged,
            scale,
            pad_to: opts.pad_to,
            standardize: opts.standardize,
            mean: Vec::new(),
            std: Vec::new(),
            znorm: opts.znorm,
            normalize: opts.normalize.clone(),
        };
        if let Some(n) = &prep.normalize {
            n.validate(Some(prep.channels()))?;
        }
        Ok(prep)
    }

    /// An error unless this plan is consistent: what a hand-edited or
    /// corrupt `model.toml` could break (shapes, padding smaller than the
    /// data, fewer means than inputs).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Data(format!("preprocessing: {m}")));
        let stored = crate::budget::product("the stored shape", &self.stored_shape)?;
        let arranged = crate::budget::product("the arranged shape", &self.arranged_shape)?;
        if stored != arranged {
            return bad(format!(
                "the stored shape {} and the arranged shape {} hold different numbers of values",
                fmt_shape(&self.stored_shape),
                fmt_shape(&self.arranged_shape)
            ));
        }
        if self.channels_last && !matches!(self.stored_shape.len(), 2 | 3) {
            return bad(format!(
                "channels-last samples of shape {}",
                fmt_shape(&self.stored_shape)
            ));
        }
        if let Some([ph, pw]) = self.pad_to {
            let a = &self.arranged_shape;
            if a.len() != 3 || a[1] > ph || a[2] > pw {
                return bad(format!("cannot pad samples of shape {} to {ph}×{pw}", fmt_shape(a)));
            }
        }
        let item = crate::budget::product("the input shape", &self.input_shape())?;
        let stats_fit = |v: &[f32]| v.is_empty() || v.len() == 1 || v.len() == item;
        if self.mean.len() != self.std.len() || !stats_fit(&self.mean) {
            return bad(format!(
                "{} means and {} standard deviations for inputs of {item} values",
                self.mean.len(),
                self.std.len()
            ));
        }
        if self.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) || self.mean.iter().any(|m| !m.is_finite()) {
            return bad("a standard deviation is not a positive number or a mean is not finite".into());
        }
        if !(self.scale.is_finite() && self.scale != 0.0) {
            return bad(format!("scale {} must be a non-zero number", self.scale));
        }
        match &self.normalize {
            Some(n) => n.validate(Some(self.channels())),
            None => Ok(()),
        }
    }

    /// An error unless `n` arranged samples fit in the memory budget.
    fn check_memory(&self, n: usize) -> Result<()> {
        let item = crate::budget::product("the input shape", &self.input_shape())?;
        let what = format!("{n} samples of shape {}", fmt_shape(&self.input_shape()));
        crate::budget::check_elements(&what, crate::budget::mul(&what, n, item)?, 4)
    }

    /// Per-sample shape of the model inputs this produces.
    pub fn input_shape(&self) -> Vec<usize> {
        match self.pad_to {
            // [`Preprocess::validate`] rejects padding of non-images.
            Some([h, w]) => vec![self.arranged_shape.first().copied().unwrap_or(1), h, w],
            None => self.arranged_shape.clone(),
        }
    }

    /// Arranges, scales and pads `raw` (no standardisation: see
    /// [`Preprocess::fit`] and [`Preprocess::standardize`]).
    pub fn arrange(&self, raw: &RawData) -> Result<Dataset> {
        self.validate()?;
        self.check_memory(raw.len())?;
        let stored: &[usize] = &raw.x.shape[1..];
        if stored != self.stored_shape.as_slice() {
            return Err(Error::Data(format!(
                "{}: samples have shape {} but the model was trained on {}",
                raw.origin,
                fmt_shape(stored),
                fmt_shape(&self.stored_shape)
            )));
        }
        let n = raw.len();
        let item = numel(stored);
        let out_shape = self.input_shape();
        let out_item = numel(&out_shape);
        let mut out = vec![0f32; n * out_item];
        // Row by row, so a large set is never held a third time as f32.
        let mut row = Vec::with_capacity(item);
        for (i, dst) in out.chunks_exact_mut(out_item.max(1)).enumerate().take(n) {
            raw.x.range_f32(i * item..(i + 1) * item, &mut row);
            self.arrange_row(&row, dst);
        }
        let x = Tensor::from_vec(&[n, out_shape.iter().product::<usize>()], out)?
            .reshape(&[&[n][..], &out_shape].concat())?;
        let n_classes = raw.n_classes();
        let ds = Dataset::classification(x, raw.labels.clone(), n_classes).map_err(|e| match e {
            Error::Data(m) => Error::Data(format!("{}: {m}", raw.origin)),
            e => e,
        })?;
        Ok(ds.with_class_names(raw.class_names.clone()))
    }

    /// Arranges one stored sample (`src`, as `f32`) into `dst` (one model
    /// input, every element written: the padding zero): moves a
    /// channels-last axis first, scales, pads and z-normalises.
    pub fn arrange_row(&self, src: &[f32], dst: &mut [f32]) {
        let scale = self.scale as f32;
        // One channel last, or none moved: the values keep their order.
        let in_order = !self.channels_last || self.stored_shape.last() == Some(&1);
        if in_order && self.pad_to.is_none() {
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = v * scale;
            }
            if self.znorm {
                znormalize(dst);
            }
            return;
        }
        // Index of stored element `i` in the arranged (unpadded) sample.
        let arranged_at = |i: usize| -> usize {
            if !self.channels_last {
                return i;
            }
            let d = &self.stored_shape;
            if d.len() == 3 {
                let (h, w, c) = (d[0], d[1], d[2]);
                let (y, x, ch) = (i / (w * c), (i / c) % w, i % c);
                (ch * h + y) * w + x
            } else {
                let (l, c) = (d[0], d[1]);
                let (t, ch) = (i / c, i % c);
                ch * l + t
            }
        };
        match self.pad_to {
            None => {
                for (i, &v) in src.iter().enumerate() {
                    dst[arranged_at(i)] = v * scale;
                }
            }
            Some([ph, pw]) => {
                dst.fill(0.0);
                let (h, w) = (self.arranged_shape[1], self.arranged_shape[2]);
                let (top, left) = ((ph - h) / 2, (pw - w) / 2);
                for (i, &v) in src.iter().enumerate() {
                    let a = arranged_at(i);
                    let (ch, y, x) = (a / (h * w), (a / w) % h, a % w);
                    dst[(ch * ph + y + top) * pw + x + left] = v * scale;
                }
            }
        }
        if self.znorm {
            znormalize(dst);
        }
    }

    /// Computes standardisation statistics on the training set.
    pub fn fit(&mut self, train: &Dataset) {
        let mut fit = StatsFit::new(self.standardize, train.x.item_len());
        for _ in 0..fit.passes() {
            fit.add(train.x.data());
            fit.next_pass();
        }
        self.set_stats(fit);
    }

    /// Takes the statistics a [`StatsFit`] gathered.
    pub fn set_stats(&mut self, fit: StatsFit) {
        (self.mean, self.std) = fit.finish();
    }

    /// Channels of a model input: axis 0 of images and series, 1 for vectors.
    fn channels(&self) -> usize {
        let shape = self.input_shape();
        if shape.len() >= 2 { shape[0] } else { 1 }
    }

    /// Applies the fitted standardisation, or the fixed normalisation, in place.
    pub fn standardize(&self, data: &mut Dataset) {
        self.standardize_batch(&mut data.x);
    }

    /// Applies the fitted standardisation, or the fixed normalisation, to a
    /// batch of model inputs (`[n, …]`) in place: the one place either is
    /// applied, to a whole in-memory set or to each streamed batch.
    pub fn standardize_batch(&self, x: &mut Tensor<f32>) {
        if let Some(n) = &self.normalize {
            let (item, c) = (x.item_len(), self.channels());
            for sample in x.data_mut().chunks_exact_mut(item.max(1)) {
                n.apply(sample, c);
            }
        }
        if self.mean.is_empty() {
            return;
        }
        let item = x.item_len();
        for (i, v) in x.data_mut().iter_mut().enumerate() {
            let j = if self.mean.len() == 1 { 0 } else { i % item };
            *v = (*v - self.mean[j]) / self.std[j];
        }
    }

    /// Arranges and standardises: what evaluation and prediction use.
    pub fn apply(&self, raw: &RawData) -> Result<Dataset> {
        let mut ds = self.arrange(raw)?;
        self.standardize(&mut ds);
        Ok(ds)
    }
}

/// A standard deviation safe to divide by (constant inputs, such as padding,
/// keep their value instead of becoming NaN).
fn guard_std(s: f64) -> f32 {
    if s > 1e-12 { s as f32 } else { 1.0 }
}

/// Per-series z-normalisation: zero mean and unit *sample* standard
/// deviation (`ddof = 1`), the UCR archive's convention, so that already
/// normalised UCR series stay as they are.
fn znormalize(v: &mut [f32]) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let std = (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let std = if std > 1e-12 { std } else { 1.0 };
    for x in v.iter_mut() {
        *x = ((*x as f64 - mean) / std) as f32;
    }
}

/// Standardisation statistics gathered a batch of rows at a time, so that a
/// streamed training set is fitted without being held whole: feed every
/// training row in order ([`StatsFit::add`]) once per pass
/// ([`StatsFit::passes`]: two for a global mean and deviation, which are
/// computed as a mean and then the mean squared deviation from it; one per
/// pixel). An in-memory set is fitted through the same code.
#[derive(Clone, Debug)]
pub struct StatsFit {
    kind: Standardize,
    pass: usize,
    values: f64,
    rows: f64,
    mean: f64,
    sum: Vec<f64>,
    sq: Vec<f64>,
}

impl StatsFit {
    /// A fit of `kind` for inputs of `item` values each.
    pub fn new(kind: Standardize, item: usize) -> Self {
        let per = if kind == Standardize::PerPixel { item } else { 1 };
        StatsFit {
            kind,
            pass: 0,
            values: 0.0,
            rows: 0.0,
            mean: 0.0,
            sum: vec![0.0; per],
            sq: vec![0.0; per],
        }
    }

    /// Passes over the training rows this fit needs.
    pub fn passes(&self) -> usize {
        match self.kind {
            Standardize::None => 0,
            Standardize::Global => 2,
            Standardize::PerPixel => 1,
        }
    }

    /// Adds rows (whole inputs, `[k, …]` flattened) of the current pass.
    pub fn add(&mut self, rows: &[f32]) {
        match (self.kind, self.pass) {
            (Standardize::None, _) => {}
            (Standardize::Global, 0) => {
                self.values += rows.len() as f64;
                self.sum[0] = rows.iter().fold(self.sum[0], |a, &v| a + v as f64);
            }
            (Standardize::Global, _) => {
                let m = self.mean;
                self.sq[0] = rows.iter().fold(self.sq[0], |a, &v| a + (v as f64 - m).powi(2));
            }
            (Standardize::PerPixel, _) => {
                let item = self.sum.len().max(1);
                for row in rows.chunks_exact(item) {
                    self.rows += 1.0;
                    for (j, &v) in row.iter().enumerate() {
                        self.sum[j] += v as f64;
                        self.sq[j] += (v as f64) * (v as f64);
                    }
                }
            }
        }
    }

    /// Ends a pass over the rows.
    pub fn next_pass(&mut self) {
        if self.pass == 0 {
            self.mean = self.sum[0] / self.values.max(1.0);
        }
        self.pass += 1;
    }

    /// Means and standard deviations (empty without standardisation).
    fn finish(self) -> (Vec<f32>, Vec<f32>) {
        match self.kind {
            Standardize::None => (Vec::new(), Vec::new()),
            Standardize::Global => {
                let var = self.sq[0] / self.values.max(1.0);
                (vec![self.mean as f32], vec![guard_std(var.sqrt())])
            }
            Standardize::PerPixel => {
                let n = self.rows.max(1.0);
                let mean = self.sum.iter().map(|&s| (s / n) as f32).collect();
                let std = self
                    .sum
                    .iter()
                    .zip(&self.sq)
                    .map(|(&s, &q)| guard_std((q / n - (s / n).powi(2)).max(0.0).sqrt()))
                    .collect();
                (mean, std)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A streamed sample reuses a slot that held another sample: every
    /// element of `dst` must be written, the padding with zeros, whatever
    /// was there before (here NaN).
    #[test]
    fn arrange_row_writes_every_element_padding_included() {
        let mut prep = Preprocess {
            stored_shape: vec![2, 3, 1],
            channels_last: true,
            arranged_shape: vec![1, 2, 3],
            scale: 2.0,
            pad_to: Some([4, 5]),
            standardize: Standardize::None,
            mean: Vec::new(),
            std: Vec::new(),
            znorm: false,
            normalize: None,
        };
        let src = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut dst = [f32::NAN; 20];
        prep.arrange_row(&src, &mut dst);
        #[rustfmt::skip]
        let want = [
            0.0, 0.0, 0.0, 0.0, 0.0,
            0.0, 2.0, 4.0, 6.0, 0.0,
            0.0, 8.0, 10.0, 12.0, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        assert_eq!(dst, want);
        for pad_to in [None, Some([2, 3])] {
            prep.pad_to = pad_to;
            let mut dst = [f32::NAN; 6];
            prep.arrange_row(&src, &mut dst);
            assert_eq!(dst, [2.0, 4.0, 6.0, 8.0, 10.0, 12.0], "{pad_to:?}");
        }
    }
}
