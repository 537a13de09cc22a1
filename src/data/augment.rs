//! Data augmentation of training batches: flips, 90° rotations, random crops
//! with zero padding, small shifts, and the reflections of jet images.
//!
//! An [`Augment`] is a list of [`AugmentOp`]s, parsed from a spec such as
//! `hflip,vflip,rot90,crop:4,shift:2,eta,phi` and applied in that order to
//! every sample of a gathered batch `[n, c, h, w]` (images only: series and
//! vectors are refused by [`Augment::check_shape`]). Each op is
//! torchvision's:
//!
//! | op | torchvision | what it does to a sample |
//! |---|---|---|
//! | `hflip` | `RandomHorizontalFlip(0.5)` | reverses the `w` axis with probability ½ |
//! | `vflip` | `RandomVerticalFlip(0.5)` | reverses the `h` axis with probability ½ |
//! | `rot90` | `torch.rot90(x, k, (-2, -1))`, `k` uniform in 0..4 | rotates by `k`·90° (square images only) |
//! | `crop:P` | `RandomCrop((h, w), padding=P)` | zero-pads `P` on every side, crops `h×w` at a uniform offset in `0..=2P` |
//! | `shift:S` | `RandomAffine(0, translate)` in whole pixels | moves the image by `dy, dx` uniform in `-S..=S`, zeros filling in |
//! | `eta` | — | reflects a jet image in rapidity `η` (`y → −y`) with probability ½ |
//! | `phi` | — | reflects a jet image in azimuth `φ` (`φ → −φ`) with probability ½ |
//!
//! `crop:P` and `shift:P` draw from the same distribution of translations
//! (an offset `top` of the crop is a shift `dy = P − top`); both names are
//! kept because both vocabularies are in use.
//!
//! **Jet images** as `striate pixelate` writes them ([`crate::data`] reads
//! them channels-last `[npix, npix, c]` and arranges them as `[c, h, w]`)
//! have rows (`h`) in `φ` and columns (`w`) in `y`, both increasing with the
//! index, so `eta` reverses the `w` axis (the same as `hflip`) and `phi`
//! reverses the `h` axis (the same as `vflip`). They undo the reflection
//! step of EnergyFlow's recipe (most `pt` at positive `y` and `φ`) at
//! random, the physical symmetry of the images when that step is skipped.
//! With an even `npix` the centroid pixel `⌊npix/2⌋` maps to
//! `npix − 1 − ⌊npix/2⌋`, one pixel away; with an odd `npix` (33,
//! EnergyFlow's default) it stays in place.
//!
//! **Randomness**: the draws for a sample depend only on the run's seed, the
//! epoch, the batch index within the epoch and the sample's position in the
//! batch ([`Draw`]), so a run resumed in the middle of an epoch sees the
//! same augmentations as one that never stopped, whatever the thread count.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::SeededRng;
use crate::scalar::Scalar;
use crate::tensor::{Tensor, fmt_shape};

/// One augmentation, applied to each sample on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AugmentOp {
    /// Reverse the `w` axis with probability ½.
    HFlip,
    /// Reverse the `h` axis with probability ½.
    VFlip,
    /// Rotate by `k`·90°, `k` uniform in `0..4` (square images).
    Rot90,
    /// Zero-pad by this many pixels on every side, crop back to `h×w` at a uniform offset.
    Crop(usize),
    /// Translate by up to this many pixels along each axis, zeros filling in.
    Shift(usize),
    /// Reflect a jet image in rapidity (reverse `w`) with probability ½.
    Eta,
    /// Reflect a jet image in azimuth (reverse `h`) with probability ½.
    Phi,
}

/// One deterministic transform of a `[c, h, w]` sample, what an
/// [`AugmentOp`] becomes once its random numbers are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    /// Leave the sample as it is.
    Identity,
    /// Reverse the `w` axis (`torchvision.transforms.functional.hflip`).
    HFlip,
    /// Reverse the `h` axis (`torchvision.transforms.functional.vflip`).
    VFlip,
    /// `torch.rot90(x, k, dims=(-2, -1))`, `k` in `1..4` (square samples).
    Rot90(u8),
    /// `out[y][x] = in[y − dy][x − dx]`, zero where that is outside: the crop
    /// at `(top, left)` of an image zero-padded by `p` is `dy = p − top`,
    /// `dx = p − left`.
    Translate {
        /// Rows moved down (negative: up).
        dy: isize,
        /// Columns moved right (negative: left).
        dx: isize,
    },
}

/// Where a batch sits in a run: what the random draws depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    /// The run's seed.
    pub seed: u64,
    /// Epoch, 0-based.
    pub epoch: usize,
    /// Batch within the epoch, 0-based.
    pub batch: usize,
}

/// A list of augmentations applied in order to every training sample.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Augment {
    /// The augmentations, first applied first.
    pub ops: Vec<AugmentOp>,
}

impl AugmentOp {
    fn parse(word: &str) -> Result<AugmentOp> {
        let (name, arg) = match word.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (word, None),
        };
        let pixels = |what: &str| -> Result<usize> {
            let a = arg.ok_or_else(|| bad(format!("{what} needs a size in pixels, e.g. {what}:4")))?;
            match a.parse::<usize>() {
                Ok(p) if (1..=4096).contains(&p) => Ok(p),
                _ => Err(bad(format!("{word:?}: the size must be a whole number from 1 to 4096"))),
            }
        };
        let op = match name {
            "hflip" => AugmentOp::HFlip,
            "vflip" => AugmentOp::VFlip,
            "rot90" => AugmentOp::Rot90,
            "crop" => return pixels("crop").map(AugmentOp::Crop),
            "shift" => return pixels("shift").map(AugmentOp::Shift),
            "eta" => AugmentOp::Eta,
            "phi" => AugmentOp::Phi,
            _ => {
                return Err(bad(format!(
                    "unknown augmentation {word:?}; choose from hflip, vflip, rot90, crop:P, shift:S, eta, phi"
                )));
            }
        };
        if arg.is_some() {
            return Err(bad(format!("{name} takes no size ({word:?})")));
        }
        Ok(op)
    }

    /// The transform this op draws from `rng` for a `[c, h, w]` sample.
    fn draw(self, rng: &mut SeededRng) -> Transform {
        let coin = |rng: &mut SeededRng, t: Transform| if rng.bernoulli(0.5) { t } else { Transform::Identity };
        match self {
            AugmentOp::HFlip | AugmentOp::Eta => coin(rng, Transform::HFlip),
            AugmentOp::VFlip | AugmentOp::Phi => coin(rng, Transform::VFlip),
            AugmentOp::Rot90 => match rng.below(4) {
                0 => Transform::Identity,
                k => Transform::Rot90(k as u8),
            },
            AugmentOp::Crop(p) | AugmentOp::Shift(p) => {
                let span = 2 * p as u64 + 1;
                let dy = p as isize - rng.below(span) as isize;
                let dx = p as isize - rng.below(span) as isize;
                Transform::Translate { dy, dx }
            }
        }
    }
}

fn bad(msg: String) -> Error {
    Error::invalid("--augment", msg)
}

impl fmt::Display for AugmentOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AugmentOp::HFlip => write!(f, "hflip"),
            AugmentOp::VFlip => write!(f, "vflip"),
            AugmentOp::Rot90 => write!(f, "rot90"),
            AugmentOp::Crop(p) => write!(f, "crop:{p}"),
            AugmentOp::Shift(s) => write!(f, "shift:{s}"),
            AugmentOp::Eta => write!(f, "eta"),
            AugmentOp::Phi => write!(f, "phi"),
        }
    }
}

impl fmt::Display for Augment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.ops.iter().map(|o| o.to_string()).collect();
        write!(f, "{}", words.join(","))
    }
}

impl FromStr for Augment {
    type Err = Error;

    /// Parses `hflip,vflip,rot90,crop:4,shift:2,eta,phi` (any subset, in
    /// the order to apply; empty or `none` for no augmentation).
    fn from_str(spec: &str) -> Result<Augment> {
        let spec = spec.trim();
        if spec.is_empty() || spec == "none" {
            return Ok(Augment::default());
        }
        let ops = spec
            .split(',')
            .map(|w| AugmentOp::parse(w.trim()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Augment { ops })
    }
}

impl TryFrom<String> for Augment {
    type Error = Error;
    fn try_from(s: String) -> Result<Augment> {
        s.parse()
    }
}

impl From<Augment> for String {
    fn from(a: Augment) -> String {
        a.to_string()
    }
}

impl Augment {
    /// True when nothing is applied.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// An error unless every op can apply to samples of `shape`: images
    /// `[c, h, w]` only, and square ones for `rot90`.
    pub fn check_shape(&self, shape: &[usize]) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let &[_, h, w] = shape else {
            return Err(bad(format!(
                "augmentation needs images [c, h, w]; the samples have shape {} (series and vectors are not augmented)",
                fmt_shape(shape)
            )));
        };
        if self.ops.contains(&AugmentOp::Rot90) && h != w {
            return Err(bad(format!("rot90 needs square images; these are {h}×{w}")));
        }
        Ok(())
    }

    /// The transforms drawn for the sample at position `pos` of the batch at `at`.
    pub fn transforms(&self, at: Draw, pos: usize) -> Vec<Transform> {
        let mut rng = SeededRng::new(mix(at, pos));
        self.ops.iter().map(|op| op.draw(&mut rng)).collect()
    }

    /// Augments every sample of the batch `x` (`[n, c, h, w]`) in place.
    /// # Shapes
    /// `x`: `[n, c, h, w]`, unchanged.
    pub fn apply<T: Scalar>(&self, x: &mut Tensor<T>, at: Draw) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        self.check_shape(&x.shape()[1..])?;
        let shape = [x.shape()[1], x.shape()[2], x.shape()[3]];
        let k = x.item_len();
        let mut scratch = vec![T::lit(0.0); k];
        for (pos, sample) in x.data_mut().chunks_exact_mut(k.max(1)).enumerate() {
            for t in self.transforms(at, pos) {
                if t != Transform::Identity {
                    scratch.copy_from_slice(sample);
                    transform(&scratch, sample, shape, t);
                }
            }
        }
        Ok(())
    }
}

/// The seed of one sample's draws: a SplitMix64-style mix of where it is.
fn mix(at: Draw, pos: usize) -> u64 {
    let mut z = at.seed ^ 0xA076_1D64_78BD_642F;
    for v in [at.epoch as u64, at.batch as u64, pos as u64] {
        z = (z ^ v).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// Writes `t` of the sample `src` into `dst` (same length).
/// # Shapes
/// `src`, `dst`: `[c, h, w]` flattened; `Rot90` needs `h == w`.
pub fn transform<T: Scalar>(src: &[T], dst: &mut [T], [c, h, w]: [usize; 3], t: Transform) {
    debug_assert_eq!(src.len(), c * h * w);
    debug_assert_eq!(dst.len(), src.len());
    let plane = h * w;
    for (s, d) in src.chunks_exact(plane.max(1)).zip(dst.chunks_exact_mut(plane.max(1))) {
        for y in 0..h {
            for x in 0..w {
                d[y * w + x] = match t {
                    Transform::Identity => s[y * w + x],
                    Transform::HFlip => s[y * w + (w - 1 - x)],
                    Transform::VFlip => s[(h - 1 - y) * w + x],
                    Transform::Rot90(k) => {
                        let (sy, sx) = match k % 4 {
                            1 => (x, w - 1 - y),
                            2 => (h - 1 - y, w - 1 - x),
                            3 => (h - 1 - x, y),
                            _ => (y, x),
                        };
                        s[sy * w + sx]
                    }
                    Transform::Translate { dy, dx } => {
                        let (sy, sx) = (y as isize - dy, x as isize - dx);
                        if (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx) {
                            s[sy as usize * w + sx as usize]
                        } else {
                            T::lit(0.0)
                        }
                    }
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_bad_ones_are_refused() {
        let a: Augment = "hflip, vflip,rot90,crop:4,shift:2,eta,phi".parse().unwrap();
        assert_eq!(a.ops.len(), 7);
        assert_eq!(a.to_string(), "hflip,vflip,rot90,crop:4,shift:2,eta,phi");
        assert_eq!(a.to_string().parse::<Augment>().unwrap(), a);
        assert!("none".parse::<Augment>().unwrap().is_empty());
        for bad in [
            "flip",
            "crop",
            "crop:0",
            "crop:x",
            "hflip:2",
            "hflip,,vflip",
            "shift:-1",
        ] {
            assert!(bad.parse::<Augment>().is_err(), "{bad}");
        }
    }

    #[test]
    fn draws_depend_only_on_where_the_sample_is() {
        let a: Augment = "hflip,vflip,rot90,crop:3".parse().unwrap();
        let at = Draw {
            seed: 7,
            epoch: 2,
            batch: 5,
        };
        assert_eq!(a.transforms(at, 3), a.transforms(at, 3));
        assert_eq!(a.transforms(at, 3).len(), 4);
        // Over 32 samples, another position, batch, epoch or seed gives other draws.
        let many = |d: Draw| (0..32).map(|p| a.transforms(d, p)).collect::<Vec<_>>();
        assert_ne!(many(at), many(Draw { batch: 6, ..at }));
        assert_ne!(many(at), many(Draw { epoch: 3, ..at }));
        assert_ne!(many(at), many(Draw { seed: 8, ..at }));
        assert_ne!(many(at)[..16], many(at)[16..]);
    }

    #[test]
    fn series_and_non_square_rotations_are_refused() {
        let a: Augment = "hflip".parse().unwrap();
        assert!(a.check_shape(&[1, 100]).is_err());
        assert!(a.check_shape(&[3, 4, 5]).is_ok());
        let r: Augment = "rot90".parse().unwrap();
        assert!(r.check_shape(&[3, 4, 5]).is_err());
        assert!(Augment::default().check_shape(&[7]).is_ok());
    }

    #[test]
    fn four_quarter_turns_and_two_flips_are_the_identity() {
        let src: Vec<f32> = (0..2 * 5 * 5).map(|v| v as f32).collect();
        let (mut a, mut b) = (src.clone(), vec![0.0; src.len()]);
        for _ in 0..4 {
            transform(&a, &mut b, [2, 5, 5], Transform::Rot90(1));
            std::mem::swap(&mut a, &mut b);
        }
        assert_eq!(a, src);
        transform(&src, &mut a, [2, 5, 5], Transform::HFlip);
        transform(&a, &mut b, [2, 5, 5], Transform::HFlip);
        assert_eq!(b, src);
    }
}
