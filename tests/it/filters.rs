//! Fixed-kernel convolution against SciPy 1.17 / NumPy 2.4 reference values
//! (`tests/fixtures/gen_filters.py`): every mode and boundary, odd and even
//! kernels, kernels larger than the image, 1-D modes, the course's edge
//! kernels and pipeline, Sobel and Gaussian conventions.

use striate::Tensor;
use striate::filter::image::{Gray, Picture, to_gray};
use striate::filter::{Boundary, Mode, Plane, convolve, convolve2d, correlate, correlate2d, is_separable, kernel_bank};

use crate::common::{Case, assert_close, cases};

fn plane(c: &Case, key: &str) -> Plane {
    let t: Tensor<f64> = c.t(key);
    let s = t.shape();
    Plane::new(s[0], s[1], t.into_vec()).unwrap()
}

fn as_tensor(p: &Plane) -> Tensor<f64> {
    Tensor::from_vec(&[p.h, p.w], p.data.clone()).unwrap()
}

/// Slice `i` of a `(3, h, w)` stack (one per boundary).
fn slice(t: &Tensor<f64>, i: usize) -> Tensor<f64> {
    let s = t.shape();
    Tensor::from_vec(&[s[1], s[2]], t.item(i).to_vec()).unwrap()
}

#[test]
fn convolve2d_and_correlate2d_match_scipy_in_every_mode_and_boundary() {
    let mut checked = 0;
    for c in cases("filters").iter().filter(|c| c.name.starts_with('p')) {
        let (x, k) = (plane(c, "x"), plane(c, "k"));
        let fill = c.f64("fillvalue");
        let boundaries = [Boundary::Fill(fill), Boundary::Wrap, Boundary::Symm];
        for (op, f) in [
            (
                "conv",
                convolve2d as fn(&Plane, &Plane, Mode, Boundary) -> striate::Result<Plane>,
            ),
            ("corr", correlate2d),
        ] {
            for (mode, key) in [(Mode::Full, "full"), (Mode::Same, "same")] {
                let expected: Tensor<f64> = c.t(&format!("{op}_{key}"));
                for (i, b) in boundaries.iter().enumerate() {
                    let got = f(&x, &k, mode, *b).unwrap();
                    // Inputs are multiples of 1/4: results are exact.
                    assert_close(
                        &format!("{} {op} {key} {b:?}", c.name),
                        &as_tensor(&got),
                        &slice(&expected, i),
                        0.0,
                    );
                    checked += 1;
                }
            }
            for b in boundaries {
                let got = f(&x, &k, Mode::Valid, b);
                if c.bool("valid_error") {
                    let err = got.unwrap_err().to_string();
                    assert!(err.contains("at least as large"), "{err}");
                } else {
                    assert_close(
                        &format!("{} {op} valid {b:?}", c.name),
                        &as_tensor(&got.unwrap()),
                        &c.t(&format!("{op}_valid")),
                        0.0,
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn numpy_1d_convolve_and_correlate_match() {
    for c in cases("filters").iter().filter(|c| c.name.starts_with("n1d")) {
        let (a, v) = (c.t::<f64>("a").into_vec(), c.t::<f64>("v").into_vec());
        for (op, f) in [
            (
                "convolve",
                convolve as fn(&[f64], &[f64], Mode) -> striate::Result<Vec<f64>>,
            ),
            ("correlate", correlate),
        ] {
            for (mode, key) in [(Mode::Full, "full"), (Mode::Same, "same"), (Mode::Valid, "valid")] {
                let got = f(&a, &v, mode).unwrap();
                let expected = c.t::<f64>(&format!("{op}_{key}")).into_vec();
                assert_eq!(got, expected, "{} {op} {key}", c.name);
            }
        }
    }
}

#[test]
fn course_edge_kernels_and_pipeline_match() {
    let c = cases("filters")
        .into_iter()
        .find(|c| c.name.starts_with("course"))
        .unwrap();
    // The kernels, generated from dx/(dx²+dy²), are the notebook's tables bit for bit.
    assert_eq!(
        kernel_bank::named("sobel7-horizontal", None, None).unwrap().data,
        plane(&c, "kA").data
    );
    assert_eq!(
        kernel_bank::named("sobel7-vertical", None, None).unwrap().data,
        plane(&c, "kB").data
    );
    // Grey = r + g + b of the f32 channels, as np.sum(plt.imread(png), axis=-1).
    let rgb: Tensor<f64> = c.t("rgb_u8");
    let s = rgb.shape();
    let pic = Picture {
        h: s[0],
        w: s[1],
        channels: 3,
        data: rgb.data().iter().map(|&v| v as f32 / 255.0).collect(),
    };
    let gray = to_gray(&pic, Gray::Sum);
    assert_eq!(gray.data, plane(&c, "gray").data);
    for (k, out) in [("sobel7-horizontal", "outA"), ("sobel7-vertical", "outB")] {
        let kernel = kernel_bank::named(k, None, None).unwrap();
        assert!(!is_separable(&kernel));
        let got = convolve2d(&gray, &kernel, Mode::Full, Boundary::default()).unwrap();
        assert_close(&format!("course {k}"), &as_tensor(&got), &c.t(out), 1e-12);
    }
}

#[test]
fn sobel_and_gaussian_match_scipy_ndimage() {
    let c = cases("filters").into_iter().find(|c| c.name.starts_with("nd")).unwrap();
    let x = plane(&c, "x");
    let sobel_x = kernel_bank::named("sobel3-horizontal", None, None).unwrap();
    let sobel_y = kernel_bank::named("sobel3-vertical", None, None).unwrap();
    // ndimage.sobel(x, axis=1) is the correlation with Gx, mirrored edges.
    let s1 = correlate2d(&x, &sobel_x, Mode::Same, Boundary::Symm).unwrap();
    assert_close("sobel axis 1", &as_tensor(&s1), &c.t("sobel1"), 1e-12);
    let s0 = correlate2d(&x, &sobel_y, Mode::Same, Boundary::Symm).unwrap();
    assert_close("sobel axis 0", &as_tensor(&s0), &c.t("sobel0"), 1e-12);
    // gaussian_filter(x, 1.0): radius ⌊4σ + ½⌋ = 4, separable.
    let w = kernel_bank::gaussian_weights(1.0, 4);
    assert_close(
        "gaussian weights",
        &Tensor::from_vec(&[9], w).unwrap(),
        &c.t("gauss_w"),
        1e-15,
    );
    let g = kernel_bank::named("gaussian", None, Some(1.0)).unwrap();
    assert!(is_separable(&g) && is_separable(&sobel_x));
    let out = correlate2d(&x, &g, Mode::Same, Boundary::Symm).unwrap();
    assert_close("gaussian_filter", &as_tensor(&out), &c.t("gauss"), 1e-12);
}

/// The separable two-pass path and the direct path agree.
#[test]
fn separable_and_direct_paths_agree() {
    let x = Plane::new(9, 13, (0..117).map(|i| ((i * 37 % 17) as f64 - 8.0) / 4.0).collect()).unwrap();
    let g = kernel_bank::named("gaussian", Some(5), Some(1.2)).unwrap();
    // A tiny perturbation makes the kernel rank 2: the direct path runs.
    let mut g2 = g.clone();
    g2.data[0] += 1e-9;
    assert!(is_separable(&g) && !is_separable(&g2));
    for b in [Boundary::Fill(0.5), Boundary::Wrap, Boundary::Symm] {
        for mode in [Mode::Full, Mode::Same, Mode::Valid] {
            let fast = convolve2d(&x, &g, mode, b).unwrap();
            let mut slow = convolve2d(&x, &g2, mode, b).unwrap();
            // Remove the perturbation's own contribution (linear in it).
            let mut delta = Plane::zeros(5, 5);
            delta.data[0] = 1e-9;
            let d = convolve2d(&x, &delta, mode, b).unwrap();
            slow.data.iter_mut().zip(&d.data).for_each(|(s, d)| *s -= d);
            assert_close(&format!("{mode:?} {b:?}"), &as_tensor(&fast), &as_tensor(&slow), 1e-12);
        }
    }
}

#[test]
fn bad_filter_input_is_an_error() {
    let x = Plane::zeros(3, 5);
    let k = Plane::zeros(4, 3);
    assert!(convolve2d(&x, &k, Mode::Valid, Boundary::default()).is_err());
    assert!(convolve2d(&Plane::zeros(0, 0), &k, Mode::Full, Boundary::default()).is_err());
    assert!(convolve(&[], &[1.0], Mode::Full).is_err());
    assert!(kernel_bank::named("edge-horizontal", Some(4), None).is_err());
    assert!(kernel_bank::named("gaussian", None, Some(-1.0)).is_err());
    assert!(
        kernel_bank::named("emboss", None, None)
            .unwrap_err()
            .to_string()
            .contains("sobel7-horizontal")
    );
}

#[test]
fn filter_command_writes_png_and_npy_and_rejects_bad_input() {
    use crate::cli::{striate, user_error};
    let dir = tempfile::tempdir().unwrap();
    // A 9×12 RGB picture with a vertical edge.
    let img = image::RgbImage::from_fn(12, 9, |x, _| {
        if x < 6 {
            image::Rgb([10, 20, 30])
        } else {
            image::Rgb([200, 210, 220])
        }
    });
    img.save(dir.path().join("step.png")).unwrap();
    let out = striate(
        &[
            "filter",
            "--kernel",
            "sobel7-horizontal",
            "step.png",
            "--out",
            "e.png",
            "--out",
            "e.npy",
        ],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let values = striate::io::npy::read(&dir.path().join("e.npy")).unwrap();
    assert_eq!(values.shape, [15, 18], "full mode: (9 + 6) × (12 + 6)");
    // Brighter to the right: the convolution (kernel flipped) is negative there.
    let mid = (0..values.len()).map(|i| values.get(i)).fold(f64::INFINITY, f64::min);
    assert!(mid < -1.0, "{mid}");
    assert!(std::fs::read(dir.path().join("e.png")).unwrap().starts_with(b"\x89PNG"));
    // Same mode keeps the image size; a kernel from a CSV file.
    std::fs::write(dir.path().join("k.csv"), "0,1,0\n1,-4,1\n0,1,0\n").unwrap();
    let out = striate(
        &[
            "filter",
            "--kernel-file",
            "k.csv",
            "--mode",
            "same",
            "step.png",
            "--out",
            "l.npy",
        ],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        striate::io::npy::read(&dir.path().join("l.npy")).unwrap().shape,
        [9, 12]
    );
    // Bad input: an image that cannot be decoded, a ragged or 1-D kernel file.
    std::fs::write(dir.path().join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    user_error(
        &striate(
            &["filter", "--kernel", "box", "broken.png", "--out", "x.png"],
            dir.path(),
        ),
        &["broken.png", "decode"],
    );
    std::fs::write(dir.path().join("ragged.csv"), "1,2,3\n4,5\n").unwrap();
    user_error(
        &striate(
            &["filter", "--kernel-file", "ragged.csv", "step.png", "--out", "x.png"],
            dir.path(),
        ),
        &["ragged.csv", "line 2"],
    );
    std::fs::write(
        dir.path().join("flat.npy"),
        striate::io::npy::to_bytes_f32(&[5], &[1.0; 5]),
    )
    .unwrap();
    user_error(
        &striate(
            &["filter", "--kernel-file", "flat.npy", "step.png", "--out", "x.png"],
            dir.path(),
        ),
        &["flat.npy", "2-D"],
    );
    user_error(
        &striate(
            &["filter", "--kernel", "emboss", "step.png", "--out", "x.png"],
            dir.path(),
        ),
        &["emboss"],
    );
    user_error(
        &striate(
            &["filter", "--kernel", "box", "nothere.png", "--out", "x.png"],
            dir.path(),
        ),
        &["nothere.png"],
    );
    user_error(
        &striate(&["filter", "--kernel", "box", "step.png", "--out", "x.jpg"], dir.path()),
        &["x.jpg"],
    );
}

#[test]
fn filter_command_smooths_a_signal_like_numpy() {
    use crate::cli::striate;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.csv"), "1, 2, 4\n8 16\n32\n").unwrap();
    let out = striate(
        &[
            "filter",
            "--kernel",
            "box",
            "--size",
            "3",
            "--mode",
            "same",
            "--correlate",
            "x.csv",
            "--out",
            "y.csv",
        ],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let y: Vec<f64> = std::fs::read_to_string(dir.path().join("y.csv"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    // np.correlate([1,2,4,8,16,32], [1/3]*3, 'same')
    let expected = correlate(&[1.0, 2.0, 4.0, 8.0, 16.0, 32.0], &[1.0 / 3.0; 3], Mode::Same).unwrap();
    assert_eq!(y, expected);
    assert!((y[1] - 7.0 / 3.0).abs() < 1e-12 && (y[5] - 16.0).abs() < 1e-12);
}
