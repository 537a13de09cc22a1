//! Regression tests, each named after the bug it pins.

use striate::Tensor;
use striate::ops::conv::{Conv2dParams, ConvAlgo, Padding, conv2d, conv2d_backward};

use crate::common::assert_close;

/// im2col computed an out-of-range start column when no output column of a
/// kernel tap reads real input (a 1-pixel-wide image, a 2-wide kernel and
/// right padding): it panicked instead of writing zeros.
#[test]
fn im2col_with_an_empty_column_range() {
    let p = Conv2dParams::new([1, 2]).with_padding(Padding::Explicit {
        top: 0,
        bottom: 0,
        left: 0,
        right: 1,
    });
    let x = Tensor::<f64>::from_vec(&[1, 1, 2, 1], vec![1.5, -2.0]).unwrap();
    let w = Tensor::<f64>::from_vec(&[1, 1, 1, 2], vec![3.0, 7.0]).unwrap();
    let fast = conv2d(&x, &w, None, &p, ConvAlgo::Im2colGemm).unwrap();
    let slow = conv2d(&x, &w, None, &p, ConvAlgo::Reference).unwrap();
    assert_eq!(fast.data(), [4.5, -6.0]);
    assert_close("forward", &fast, &slow, 0.0);
    let dy = Tensor::<f64>::from_vec(&[1, 1, 2, 1], vec![1.0, 2.0]).unwrap();
    let g = conv2d_backward(&x, &w, &dy, false, &p, ConvAlgo::Im2colGemm).unwrap();
    assert_eq!(g.d_input.data(), [3.0, 6.0]);
    assert_eq!(g.d_weight.data(), [-2.5, 0.0]);
}
