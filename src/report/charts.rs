//! The charts of a run report, as SVG: line charts (learning curves, ROC
//! curves), the confusion-matrix heatmap and grids of images with captions.

use super::svg::{Anchor, Svg};

/// matplotlib's `tab10` colours, for series in order.
pub const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend entry (e.g. `training`, `validation`).
    pub name: String,
    /// Points `(x, y)` in data units, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Draw the line dashed (validation curves).
    pub dashed: bool,
}

/// A line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// Label of the x axis (e.g. `epoch`).
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// The lines, coloured by [`COLORS`] in order.
    pub series: Vec<Series>,
    /// Logarithmic y axis (non-positive values are dropped).
    pub log_y: bool,
    /// Logarithmic x axis (non-positive values are dropped).
    pub log_x: bool,
    /// Draw a marker at each point (learning curves over few epochs).
    pub markers: bool,
}

/// "Nice" tick positions covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = (hi - lo).abs().max(1e-12);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= target as f64 + 0.5)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + i as f64 * step)
        .take_while(|v| *v <= hi + step * 1e-9)
        .take(50)
        .collect()
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A line chart's plot area and the data ranges it shows, on the axes' scales.
struct Frame {
    ml: f64,
    mt: f64,
    pw: f64,
    ph: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    /// Screen x of a transformed data x.
    fn sx(&self, x: f64) -> f64 {
        self.ml + (x - self.x0) / (self.x1 - self.x0) * self.pw
    }

    /// Screen y of a transformed data y.
    fn sy(&self, y: f64) -> f64 {
        self.mt + self.ph - (y - self.y0) / (self.y1 - self.y0) * self.ph
    }
}

impl LineChart {
    /// The chart as a 640 × 420 px SVG document.
    pub fn to_svg(&self) -> String {
        let (w, h) = (640.0, 420.0);
        let (ml, mr, mt, mb) = (72.0, 24.0, 40.0, 56.0);
        let (pw, ph) = (w - ml - mr, h - mt - mb);
        let pts: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|&(x, y)| self.shown(x, y))
            .collect();
        let mut svg = Svg::new(w, h);
        svg.text(w / 2.0, 24.0, &self.title, 16.0, Anchor::Middle, "#222", 0.0);
        if pts.is_empty() {
            svg.text(w / 2.0, h / 2.0, "no data", 14.0, Anchor::Middle, "#888", 0.0);
            return svg.finish();
        }
        let (x0, x1, y0, y1) = self.ranges(&pts);
        let f = Frame {
            ml,
            mt,
            pw,
            ph,
            x0,
            x1,
            y0,
            y1,
        };
        self.draw_axes(&mut svg, &f, h);
        self.draw_series(&mut svg, &f);
        self.draw_legend(&mut svg, &f, &pts);
        svg.finish()
    }

    /// An x value on the x axis's scale.
    fn tx(&self, x: f64) -> f64 {
        if self.log_x { x.log10() } else { x }
    }

    /// A y value on the y axis's scale.
    fn ty(&self, y: f64) -> f64 {
        if self.log_y { y.log10() } else { y }
    }

    /// Whether a point can be drawn: finite, and positive on logarithmic axes.
    fn shown(&self, x: f64, y: f64) -> bool {
        x.is_finite() && y.is_finite() && (!self.log_y || y > 0.0) && (!self.log_x || x > 0.0)
    }

    /// The axes' ranges `(x0, x1, y0, y1)` on their scales covering `pts`, widened, rounded or padded.
    fn ranges(&self, pts: &[(f64, f64)]) -> (f64, f64, f64, f64) {
        let (mut x0, mut x1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(self.tx(p.0)), b.max(self.tx(p.0)))
        });
        let (mut y0, mut y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(self.ty(p.1)), b.max(self.ty(p.1)))
        });
        if x1 - x0 < 1e-12 {
            x0 -= 0.5;
            x1 += 0.5;
        }
        if y1 - y0 < 1e-12 {
            y0 -= 0.5;
            y1 += 0.5;
        }
        if self.log_x {
            (x0, x1) = (x0.floor(), x1.ceil());
        }
        if self.log_y {
            (y0, y1) = (y0.floor(), y1.ceil());
        } else {
            let pad = 0.05 * (y1 - y0);
            (y0, y1) = (y0 - pad, y1 + pad);
        }
        (x0, x1, y0, y1)
    }

    /// Grid lines, tick labels, the plot's frame and the axis labels.
    fn draw_axes(&self, svg: &mut Svg, f: &Frame, h: f64) {
        let (ml, mt, pw, ph) = (f.ml, f.mt, f.pw, f.ph);
        let xt: Vec<f64> = if self.log_x {
            (f.x0 as i64..=f.x1 as i64).map(|e| e as f64).collect()
        } else {
            ticks(f.x0, f.x1, 8)
        };
        for t in xt {
            let label = fmt_tick(if self.log_x { 10f64.powf(t) } else { t });
            svg.line(f.sx(t), mt, f.sx(t), mt + ph, "#e6e6e6", 1.0);
            svg.text(f.sx(t), mt + ph + 18.0, &label, 12.0, Anchor::Middle, "#333", 0.0);
        }
        let yt: Vec<f64> = if self.log_y {
            (f.y0 as i64..=f.y1 as i64).map(|e| e as f64).collect()
        } else {
            ticks(f.y0, f.y1, 6)
        };
        for t in yt {
            svg.line(ml, f.sy(t), ml + pw, f.sy(t), "#e6e6e6", 1.0);
            let label = if self.log_y {
                fmt_tick(10f64.powf(t))
            } else {
                fmt_tick(t)
            };
            svg.text(ml - 8.0, f.sy(t) + 4.0, &label, 12.0, Anchor::End, "#333", 0.0);
        }
        svg.rect(ml, mt, pw, ph, "none", Some("#444"));
        svg.text(
            ml + pw / 2.0,
            h - 14.0,
            &self.x_label,
            13.0,
            Anchor::Middle,
            "#222",
            0.0,
        );
        svg.text(18.0, mt + ph / 2.0, &self.y_label, 13.0, Anchor::Middle, "#222", -90.0);
    }

    /// Each series as a line in its colour, with markers when wanted or when it has one point.
    fn draw_series(&self, svg: &mut Svg, f: &Frame) {
        for (i, s) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let p: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(|&&(x, y)| self.shown(x, y))
                .map(|&(x, y)| (f.sx(self.tx(x)), f.sy(self.ty(y))))
                .collect();
            svg.polyline(&p, color, 2.0, s.dashed);
            if (self.markers && p.len() <= 60) || p.len() == 1 {
                for &(x, y) in &p {
                    svg.circle(x, y, 3.0, color);
                }
            }
        }
    }

    /// The legend, in the corner of the plot that covers the fewest of `pts`.
    fn draw_legend(&self, svg: &mut Svg, f: &Frame, pts: &[(f64, f64)]) {
        let (ml, mt, pw, ph) = (f.ml, f.mt, f.pw, f.ph);
        let lw = self.series.iter().map(|s| s.name.len()).max().unwrap_or(0) as f64 * 7.0 + 40.0;
        let lh = 20.0 * self.series.len() as f64 + 6.0;
        let screen: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (f.sx(x), f.sy(self.ty(y)))).collect();
        let corners = [
            (ml + pw - lw - 8.0, mt + 8.0),
            (ml + pw - lw - 8.0, mt + ph - lh - 8.0),
            (ml + 8.0, mt + 8.0),
            (ml + 8.0, mt + ph - lh - 8.0),
        ];
        let covered = |&(cx, cy): &(f64, f64)| {
            screen
                .iter()
                .filter(|&&(x, y)| x >= cx - 6.0 && x <= cx + lw + 6.0 && y >= cy - 6.0 && y <= cy + lh + 6.0)
                .count()
        };
        let (lx, ly) = corners.iter().copied().min_by_key(covered).unwrap_or(corners[0]);
        if !self.series.is_empty() {
            svg.rect(lx, ly, lw, 20.0 * self.series.len() as f64 + 6.0, "white", Some("#ccc"));
        }
        for (i, s) in self.series.iter().enumerate() {
            let y = ly + 15.0 + 20.0 * i as f64;
            let color = COLORS[i % COLORS.len()];
            svg.polyline(&[(lx + 6.0, y - 4.0), (lx + 28.0, y - 4.0)], color, 2.0, s.dashed);
            svg.text(lx + 34.0, y, &s.name, 12.0, Anchor::Start, "#222", 0.0);
        }
    }
}

/// Blend white → dark blue by `t` in [0, 1] (matplotlib's `Blues`, roughly).
fn blues(t: f64) -> (String, bool) {
    let t = t.clamp(0.0, 1.0);
    let (r, g, b) = (
        247.0 + (8.0 - 247.0) * t,
        251.0 + (48.0 - 251.0) * t,
        255.0 + (107.0 - 255.0) * t,
    );
    (format!("rgb({:.0},{:.0},{:.0})", r, g, b), t > 0.55)
}

/// The confusion matrix as a heatmap: rows are true classes, columns
/// predictions, colour is the row-normalised fraction, text the count.
pub fn confusion_svg(matrix: &[Vec<u64>], names: &[String], title: &str) -> String {
    let k = matrix.len().max(1);
    let longest = names.iter().map(|n| n.len()).max().unwrap_or(1) as f64;
    let label_w = (longest * 7.5 + 16.0).clamp(40.0, 160.0);
    let cell = (460.0 / k as f64).clamp(18.0, 64.0);
    let (ml, mt) = (label_w + 30.0, 46.0);
    let (w, h) = (ml + cell * k as f64 + 24.0, mt + cell * k as f64 + label_w + 30.0);
    let mut svg = Svg::new(w, h);
    svg.text(w / 2.0, 26.0, title, 16.0, Anchor::Middle, "#222", 0.0);
    let font = (cell * 0.32).clamp(8.0, 14.0);
    for (r, row) in matrix.iter().enumerate() {
        let total: u64 = row.iter().sum();
        for (c, &v) in row.iter().enumerate() {
            let frac = if total > 0 { v as f64 / total as f64 } else { 0.0 };
            let (fill, dark) = blues(frac);
            let (x, y) = (ml + c as f64 * cell, mt + r as f64 * cell);
            svg.rect(x, y, cell, cell, &fill, Some("#fff"));
            if k > super::bounded::LABELLED_CELLS {
                continue;
            }
            let color = if dark { "white" } else { "#222" };
            svg.text(
                x + cell / 2.0,
                y + cell / 2.0 + font / 3.0,
                &v.to_string(),
                font,
                Anchor::Middle,
                color,
                0.0,
            );
        }
    }
    for (i, name) in names.iter().enumerate().take(k) {
        let y = mt + (i as f64 + 0.5) * cell + 4.0;
        svg.text(ml - 6.0, y, name, 12.0, Anchor::End, "#222", 0.0);
        let x = ml + (i as f64 + 0.5) * cell + 4.0;
        svg.text(x, mt + k as f64 * cell + 8.0, name, 12.0, Anchor::End, "#222", -90.0);
    }
    svg.text(
        12.0 + 4.0,
        mt + cell * k as f64 / 2.0,
        "true class",
        13.0,
        Anchor::Middle,
        "#222",
        -90.0,
    );
    svg.text(
        ml + cell * k as f64 / 2.0,
        h - 8.0,
        "predicted class",
        13.0,
        Anchor::Middle,
        "#222",
        0.0,
    );
    svg.finish()
}

/// One image for a grid: `[c, h, w]` values, shown min–max normalised.
pub struct Tile<'a> {
    /// Pixel values, `c · h · w` of them, channels first.
    pub pixels: &'a [f32],
    /// `[c, h, w]` of the image.
    pub shape: [usize; 3],
    /// Text under the image (e.g. true and predicted class).
    pub caption: String,
    /// Captions of wrong predictions are drawn in red.
    pub highlight: bool,
    /// Log scale (four decades below the maximum) instead of linear.
    pub log: bool,
}

/// True for images best shown on a log scale: non-negative and mostly
/// empty, as jet images are.
pub fn is_sparse(pixels: &[f32]) -> bool {
    let zeros = pixels.iter().filter(|&&v| v == 0.0).count();
    pixels.iter().all(|&v| v >= 0.0) && zeros * 2 >= pixels.len()
}

/// PNG bytes of a `[c, h, w]` image (1 or 3 channels; others use the first),
/// min–max normalised to 0–255, linearly or on a log scale over four decades
/// below the maximum.
pub fn tile_png(pixels: &[f32], shape: [usize; 3], log: bool) -> Vec<u8> {
    let [c, h, w] = shape;
    let max = pixels.iter().fold(0f32, |m, &v| m.max(v)).max(f32::MIN_POSITIVE);
    let scaled: Vec<f32> = if log {
        pixels
            .iter()
            .map(|&v| {
                if v > 0.0 {
                    ((v / max).log10() + 4.0).max(0.0)
                } else {
                    0.0
                }
            })
            .collect()
    } else {
        pixels.to_vec()
    };
    let (lo, hi) = scaled
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let byte = |v: f32| (((v - lo) / span) * 255.0).round().clamp(0.0, 255.0) as u8;
    let data: Vec<u8> = if c == 3 {
        (0..h * w)
            .flat_map(|i| (0..3).map(move |ch| (ch, i)))
            .map(|(ch, i)| byte(scaled[ch * h * w + i]))
            .collect()
    } else {
        scaled[..h * w].iter().map(|&v| byte(v)).collect()
    };
    let color = if c == 3 {
        crate::io::image::PngColor::Rgb
    } else {
        crate::io::image::PngColor::Gray
    };
    crate::io::image::encode_png(w, h, color, &data).unwrap_or_default()
}

/// A grid of images with captions.
pub fn image_grid_svg(tiles: &[Tile<'_>], cols: usize, title: &str) -> String {
    let cols = cols.max(1).min(tiles.len().max(1));
    let rows = tiles.len().div_ceil(cols).max(1);
    let size: f64 = 96.0;
    let longest = tiles.iter().map(|t| t.caption.chars().count()).max().unwrap_or(0) as f64;
    let (cw, chh) = ((size + 20.0).max(longest * 6.4 + 12.0), size + 40.0);
    let (w, h) = (cw * cols as f64 + 20.0, chh * rows as f64 + 50.0);
    let mut svg = Svg::new(w, h);
    svg.text(w / 2.0, 26.0, title, 16.0, Anchor::Middle, "#222", 0.0);
    for (i, t) in tiles.iter().enumerate() {
        let (x, y) = (
            10.0 + (cw - size) / 2.0 + (i % cols) as f64 * cw,
            44.0 + (i / cols) as f64 * chh,
        );
        let [_, ih, iw] = t.shape;
        let scale = size / ih.max(iw) as f64;
        let (dw, dh) = (iw as f64 * scale, ih as f64 * scale);
        svg.png(
            x + (size - dw) / 2.0,
            y + (size - dh) / 2.0,
            dw,
            dh,
            &tile_png(t.pixels, t.shape, t.log),
        );
        svg.rect(
            x + (size - dw) / 2.0,
            y + (size - dh) / 2.0,
            dw,
            dh,
            "none",
            Some("#999"),
        );
        let color = if t.highlight { "#d62728" } else { "#222" };
        svg.text(
            x + size / 2.0,
            y + size + 16.0,
            &t.caption,
            11.0,
            Anchor::Middle,
            color,
            0.0,
        );
    }
    svg.finish()
}
