//! Boundary handling: the FFT treats an image as periodic, so a photo is
//! padded with mirrored borders that fade into each other across the wrap
//! (smooth and periodic, no edge ringing), and results are cropped back.

use rayon::prelude::*;

use crate::fft;

/// How the image's borders are treated (`--boundary`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Boundary {
    /// Periodic if the opposite edges join smoothly, reflect otherwise.
    #[default]
    Auto,
    /// The image wraps around (synthetic circular blur).
    Periodic,
    /// Mirrored, tapered padding (real photos).
    Reflect,
}

/// A wrap step up to this many times the steps next to the edges still counts
/// as a smooth join (circularly blurred images measure 0.9-2, photos 6-100).
const PERIODIC_JOIN_RATIO: f64 = 3.0;

/// Per position of a padded axis: two source positions and the weight of the first.
pub type AxisRecipe = Vec<(usize, usize, f32)>;

/// Where an image sits inside the (padded) FFT domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Size of the FFT domain.
    pub height: usize,
    pub width: usize,
    /// The image's offset and size inside it.
    pub top: usize,
    pub left: usize,
    pub image_height: usize,
    pub image_width: usize,
}

impl Layout {
    /// The layout for `boundary` (already resolved, not `Auto`) of an image
    /// blurred by a kernel of `kernel_height x kernel_width`, on padded sizes
    /// with factors 2, 3, 5 and 7.
    pub fn new(
        boundary: Boundary,
        image_height: usize,
        image_width: usize,
        kernel_height: usize,
        kernel_width: usize,
    ) -> Self {
        Self::with_sizes(
            boundary,
            (image_height, image_width),
            (kernel_height, kernel_width),
            fft::fast_even_size,
        )
    }

    /// The layout of non-blind deconvolution (CPU and GPU alike): padded
    /// sizes without a factor 7, which the CPU FFT runs faster. Blind
    /// estimation and separation keep [`Layout::new`]: their measured
    /// results were tuned on its sizes.
    pub fn for_deconvolution(
        boundary: Boundary,
        image_height: usize,
        image_width: usize,
        kernel_height: usize,
        kernel_width: usize,
    ) -> Self {
        Self::with_sizes(
            boundary,
            (image_height, image_width),
            (kernel_height, kernel_width),
            fft::fastest_even_size,
        )
    }

    fn with_sizes(
        boundary: Boundary,
        (image_height, image_width): (usize, usize),
        (kernel_height, kernel_width): (usize, usize),
        padded_size: fn(usize) -> usize,
    ) -> Self {
        if boundary == Boundary::Periodic {
            return Layout {
                height: image_height,
                width: image_width,
                top: 0,
                left: 0,
                image_height,
                image_width,
            };
        }
        let (top, height) = pad_axis(image_height, kernel_height, padded_size);
        let (left, width) = pad_axis(image_width, kernel_width, padded_size);
        Layout {
            height,
            width,
            top,
            left,
            image_height,
            image_width,
        }
    }

    pub fn is_padded(&self) -> bool {
        self.height != self.image_height || self.width != self.image_width
    }

    /// Per-axis padding recipes (rows, columns): for each domain position,
    /// two image positions and the weight of the first (GPU padding uses them).
    pub fn recipes(&self) -> (AxisRecipe, AxisRecipe) {
        (
            axis_recipe(self.image_height, self.top, self.height, self.top / 2),
            axis_recipe(self.image_width, self.left, self.width, self.left / 2),
        )
    }

    /// Embeds a plane of the image's size into the domain with reflected,
    /// tapered borders.
    pub fn pad(&self, plane: &[f32]) -> Vec<f32> {
        if !self.is_padded() {
            return plane.to_vec();
        }
        let pad_row = self.row_padder();
        let mut out = vec![0.0f32; self.height * self.width];
        out.par_chunks_mut(self.width)
            .enumerate()
            .for_each(|(y, out_row)| pad_row(plane, y, out_row));
        out
    }

    /// `pad_row(plane, y, row)` writes row `y` of the padded domain: padding
    /// a row at a time lets a transform take rows as they are made.
    pub fn row_padder(&self) -> impl Fn(&[f32], usize, &mut [f32]) + Sync + '_ {
        let (rows, columns) = self.recipes();
        let (w, left) = (self.image_width, self.left);
        move |plane, y, out_row| {
            let inside = &mut out_row[left..left + w];
            let (a, b, weight_a) = rows[y];
            let row_a = &plane[a * w..(a + 1) * w];
            // The image's own rows and columns are copies, not blends.
            if a == b {
                inside.copy_from_slice(row_a);
            } else {
                let row_b = &plane[b * w..(b + 1) * w];
                for ((v, p), q) in inside.iter_mut().zip(row_a).zip(row_b) {
                    *v = weight_a * p + (1.0 - weight_a) * q;
                }
            }
            // Half of each margin is exact mirror (see `pad_axis`).
            for x in (0..left).chain(left + w..columns.len()) {
                let (a, b, weight_a) = columns[x];
                out_row[x] = weight_a * out_row[left + a] + (1.0 - weight_a) * out_row[left + b];
            }
        }
    }

    /// Cuts the image's region out of a domain-sized plane.
    pub fn crop(&self, plane: &[f32]) -> Vec<f32> {
        if !self.is_padded() {
            return plane.to_vec();
        }
        let mut out = vec![0.0f32; self.image_height * self.image_width];
        out.par_chunks_mut(self.image_width).enumerate().for_each(|(y, row)| {
            let start = (y + self.top) * self.width + self.left;
            row.copy_from_slice(&plane[start..start + self.image_width]);
        });
        out
    }
}

/// Padding for one axis: the margin before the image and the padded length.
/// Each side gets the kernel's size as an exact mirror (where the blur model
/// holds) plus as much again to fade between the two sides.
fn pad_axis(length: usize, kernel: usize, padded_size: fn(usize) -> usize) -> (usize, usize) {
    let margin = 2 * kernel.max(8);
    let padded = padded_size(length + 2 * margin);
    (margin, padded)
}

/// For each position of a padded axis of `total` samples holding `n` at
/// `offset`: two source samples and the weight of the first. Inside, the
/// sample itself; in the gap that wraps from the end round to the start,
/// half-sample mirrors of both ends, cross-faded with a raised cosine outside
/// `guard` samples of each end.
fn axis_recipe(n: usize, offset: usize, total: usize, guard: usize) -> AxisRecipe {
    let gap = total - n;
    let fade = gap.saturating_sub(2 * guard).max(1) as f32;
    let mut recipe = vec![(0, 0, 1.0); total];
    for (i, r) in recipe[offset..offset + n].iter_mut().enumerate() {
        *r = (i, i, 1.0);
    }
    for s in 0..gap {
        // s counts from just past the end, round to just before the start.
        let after_end = mirror_index(n + s, n);
        let before_start = mirror_index(gap - s - 1, n);
        let t = ((s as f32 + 0.5 - guard as f32) / fade).clamp(0.0, 1.0);
        let weight_end = 0.5 * (1.0 + (std::f32::consts::PI * t).cos());
        recipe[(offset + n + s) % total] = (after_end, before_start, weight_end);
    }
    recipe
}

/// Index of sample `k >= n` under half-sample symmetric extension of `n` samples.
fn mirror_index(k: usize, n: usize) -> usize {
    let period = 2 * n;
    let k = k % period;
    if k < n { k } else { period - 1 - k }
}

/// DESIGN.md §5 `auto`: periodic when, on both axes, the step across the
/// wrap (last row to first) is of the size of the steps just inside the two
/// edges. Circular blur makes the wrap as smooth as the interior; a photo's
/// opposite edges are unrelated, so its wrap step is many times larger.
pub fn looks_periodic(planes: &[Vec<f32>], height: usize, width: usize) -> bool {
    if height < 4 || width < 4 || planes.is_empty() {
        return false;
    }
    let n = planes.len() as f64;
    let rows: f64 = planes
        .iter()
        .map(|p| wrap_ratio(height, width, |row, k| p[row * width + k]))
        .sum::<f64>()
        / n;
    let cols: f64 = planes
        .iter()
        .map(|p| wrap_ratio(width, height, |col, k| p[k * width + col]))
        .sum::<f64>()
        / n;
    rows <= PERIODIC_JOIN_RATIO && cols <= PERIODIC_JOIN_RATIO
}

/// Mean |first - last| line over the mean step next to each edge, along an
/// axis of `length` lines of `span` samples; `at(line, k)` is sample k of a line.
fn wrap_ratio(length: usize, span: usize, at: impl Fn(usize, usize) -> f32) -> f64 {
    let value = |line: usize, k: usize| at(line, k) as f64;
    let (mut wrap, mut near) = (0.0, 0.0);
    for k in 0..span {
        wrap += (value(0, k) - value(length - 1, k)).abs();
        near += 0.5 * ((value(0, k) - value(1, k)).abs() + (value(length - 1, k) - value(length - 2, k)).abs());
    }
    wrap / (near + 1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_keeps_the_image_and_mirrors_next_to_it() {
        let (h, w) = (5, 7);
        let plane: Vec<f32> = (0..h * w).map(|i| i as f32).collect();
        let layout = Layout::new(Boundary::Reflect, h, w, 3, 3);
        let padded = layout.pad(&plane);
        assert_eq!(layout.crop(&padded), plane);
        // Right next to the image the padding is the exact mirror.
        let row = layout.top;
        let at = |y: usize, x: usize| padded[y * layout.width + x];
        assert_eq!(at(row, layout.left + w), plane[w - 1]);
        assert_eq!(at(row, layout.left + w + 1), plane[w - 2]);
        assert_eq!(at(row, layout.left - 1), plane[0]);
        assert_eq!(at(layout.top - 2, layout.left), plane[w]);
    }

    #[test]
    fn padding_is_smooth_across_the_wrap() {
        let (h, w) = (20, 30);
        let plane: Vec<f32> = (0..h * w)
            .map(|i| ((i % w) as f32 / w as f32) + (i / w) as f32 / h as f32)
            .collect();
        let layout = Layout::new(Boundary::Reflect, h, w, 5, 5);
        let padded = layout.pad(&plane);
        for y in 0..layout.height {
            for x in 0..layout.width {
                let here = padded[y * layout.width + x];
                let right = padded[y * layout.width + (x + 1) % layout.width];
                let down = padded[((y + 1) % layout.height) * layout.width + x];
                assert!(
                    (here - right).abs() < 0.2 && (here - down).abs() < 0.2,
                    "jump at {y},{x}"
                );
            }
        }
    }

    #[test]
    fn periodic_detection() {
        let (h, w) = (32, 32);
        let tau = std::f32::consts::TAU;
        let periodic: Vec<f32> = (0..h * w)
            .map(|i| ((i % w) as f32 * tau / w as f32).sin() + ((i / w) as f32 * tau / h as f32).cos())
            .collect();
        let ramp: Vec<f32> = (0..h * w)
            .map(|i| (i % w) as f32 / w as f32 + (i / w) as f32 / h as f32)
            .collect();
        assert!(looks_periodic(&[periodic], h, w));
        assert!(!looks_periodic(&[ramp], h, w));
    }
}
