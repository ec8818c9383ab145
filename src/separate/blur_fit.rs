//! Fits the parametric cross blur a(w) = g G(w) (G a pixel-integrated
//! Gaussian with widths sigma_x, sigma_y) to the gains measured per STFT
//! channel, modelling how the window smooths the spectrum.
//!
//! A channel at bin k does not see G(2 pi k / W) but G averaged over the
//! window's spectral footprint |Hann^(k - nu)|^2 (the source spectrum is made
//! nearly flat beforehand by the difference filters, so it drops out). Where
//! G falls steeply, that average is several times G itself; fitting the
//! smoothed model over every channel with a measurable gain removes the bias.

use std::f64::consts::TAU;

/// The fitted blur of one cross term.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossBlur {
    /// Attenuation g: the gain at zero frequency (1 = no loss through the glass).
    pub gain: f64,
    /// Gaussian widths in pixels along x (columns) and y (rows).
    pub sigma_x_px: f64,
    pub sigma_y_px: f64,
}

impl CrossBlur {
    /// The transfer function at angular frequency (wx, wy) in radians per pixel.
    pub fn transfer(&self, wx: f64, wy: f64) -> f64 {
        self.gain * axis_transfer(self.sigma_x_px, wx) * axis_transfer(self.sigma_y_px, wy)
    }
}

/// A pixel-integrated Gaussian's transfer along one axis: the Gaussian's
/// times the pixel box's (as `psf::gaussian` rasterizes it).
pub fn axis_transfer(sigma_px: f64, w: f64) -> f64 {
    let half = 0.5 * w;
    let box_ = if half.abs() < 1e-9 { 1.0 } else { half.sin() / half };
    (-0.5 * sigma_px * sigma_px * w * w).exp() * box_
}

/// One channel's measured gain.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    /// Signed bin (cycles per window).
    pub ky: i32,
    pub kx: i32,
    pub gain: f64,
    pub variance: f64,
}

/// Model error allowed on top of each measurement's own variance (the
/// spectrum is only nearly flat, and real blurs only nearly Gaussian).
const MODEL_ERROR: f64 = 0.01;
/// Fine steps per bin and bins on each side of the window's footprint.
const OVERSAMPLING: usize = 4;
const FOOTPRINT_BINS: usize = 3;
/// Width search range in pixels.
const SIGMA_RANGE_PX: (f64, f64) = (0.2, 24.0);
/// Gains allowed for g: the glass attenuates, so g <= 1, plus the 2% a
/// correct fit scatters by. The cap matters when real blurs are not
/// Gaussian: fitted to a defocus disk, the attenuated Gaussian trades a
/// gain above 1 for the disk's flatter top (1.07 and 1.19 on a test pair,
/// and 4-7 dB below the ORACLE; 1.02 capped: +1.5 / -1.4 dB).
const GAIN_RANGE: (f64, f64) = (0.0, 1.02);
/// Measurements further than this many standard deviations from the first
/// fit are dropped (failed channels) before refitting.
const OUTLIER_SIGMAS: f64 = 4.0;

/// The window's spectral footprint: |Hann^(offset)|^2 at fine offsets
/// (in bins), normalized to sum 1.
struct Footprint {
    offsets: Vec<f64>,
    weights: Vec<f64>,
}

impl Footprint {
    fn new(window: usize) -> Self {
        let taper = super::stft::hann(window);
        let steps = (OVERSAMPLING * FOOTPRINT_BINS) as i64;
        let offsets: Vec<f64> = (-steps..=steps).map(|j| j as f64 / OVERSAMPLING as f64).collect();
        let mut weights: Vec<f64> = offsets
            .iter()
            .map(|&d| {
                let (mut re, mut im) = (0.0, 0.0);
                for (x, &t) in taper.iter().enumerate() {
                    let phase = TAU * d * x as f64 / window as f64;
                    re += t as f64 * phase.cos();
                    im -= t as f64 * phase.sin();
                }
                re * re + im * im
            })
            .collect();
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        Footprint { offsets, weights }
    }

    /// The axis transfer of width `sigma_px` as channels of a `window`
    /// see it, at bins 0..=window/2.
    fn smoothed(&self, sigma_px: f64, window: usize) -> Vec<f64> {
        (0..=window / 2)
            .map(|k| {
                self.offsets
                    .iter()
                    .zip(&self.weights)
                    .map(|(d, w)| w * axis_transfer(sigma_px, TAU * (k as f64 + d) / window as f64))
                    .sum()
            })
            .collect()
    }
}

/// The gains a `window`-sided STFT's channels see of `blur`, by signed bin
/// (ky, kx): the fit's model of a measurement.
pub fn as_measured(blur: &CrossBlur, window: usize) -> impl Fn(i32, i32) -> f64 + use<> {
    let footprint = Footprint::new(window);
    let x = footprint.smoothed(blur.sigma_x_px, window);
    let y = footprint.smoothed(blur.sigma_y_px, window);
    let gain = blur.gain;
    move |ky: i32, kx: i32| gain * x[kx.unsigned_abs() as usize] * y[ky.unsigned_abs() as usize]
}

/// Weighted residual cost of widths (sx, sy) with the best gain for them.
fn cost(data: &[Measurement], weights: &[f64], along_x: &[f64], along_y: &[f64]) -> (f64, f64) {
    let model = |m: &Measurement| along_x[m.kx.unsigned_abs() as usize] * along_y[m.ky.unsigned_abs() as usize];
    let (mut am, mut mm) = (0.0, 0.0);
    for (m, w) in data.iter().zip(weights) {
        let p = model(m);
        am += w * m.gain * p;
        mm += w * p * p;
    }
    let gain = if mm > 0.0 {
        (am / mm).clamp(GAIN_RANGE.0, GAIN_RANGE.1)
    } else {
        0.0
    };
    let total = data
        .iter()
        .zip(weights)
        .map(|(m, w)| w * (m.gain - gain * model(m)).powi(2))
        .sum();
    (total, gain)
}

/// Fits g, sigma_x and sigma_y to `data` measured with a `window`-sided STFT.
/// `None` without measurements.
pub fn fit(data: &[Measurement], window: usize) -> Option<(CrossBlur, usize)> {
    let footprint = Footprint::new(window);
    let mut kept: Vec<Measurement> = data
        .iter()
        .filter(|m| m.gain.is_finite() && m.variance.is_finite() && m.variance >= 0.0)
        .copied()
        .collect();
    let mut best = None;
    for round in 0..2 {
        if kept.len() < 3 {
            return None;
        }
        let weights: Vec<f64> = kept
            .iter()
            .map(|m| 1.0 / (m.variance + MODEL_ERROR * MODEL_ERROR))
            .collect();
        let blur = fit_weighted(&kept, &weights, &footprint, window);
        best = Some((blur, kept.len()));
        if round == 0 {
            let x = footprint.smoothed(blur.sigma_x_px, window);
            let y = footprint.smoothed(blur.sigma_y_px, window);
            kept.retain(|m| {
                let model = blur.gain * x[m.kx.unsigned_abs() as usize] * y[m.ky.unsigned_abs() as usize];
                let sd = (m.variance + MODEL_ERROR * MODEL_ERROR).sqrt();
                (m.gain - model).abs() <= OUTLIER_SIGMAS * sd
            });
        }
    }
    best
}

fn fit_weighted(data: &[Measurement], weights: &[f64], footprint: &Footprint, window: usize) -> CrossBlur {
    // Coarse: a log grid of widths per axis, the gain in closed form.
    const GRID: usize = 48;
    let ratio = (SIGMA_RANGE_PX.1 / SIGMA_RANGE_PX.0).ln();
    let grid: Vec<f64> = (0..GRID)
        .map(|i| SIGMA_RANGE_PX.0 * (ratio * i as f64 / (GRID - 1) as f64).exp())
        .collect();
    let curves: Vec<Vec<f64>> = grid.iter().map(|&s| footprint.smoothed(s, window)).collect();
    let mut best = (f64::INFINITY, 0.0, grid[0], grid[0]);
    for (ix, cx) in curves.iter().enumerate() {
        for (iy, cy) in curves.iter().enumerate() {
            let (c, g) = cost(data, weights, cx, cy);
            if c < best.0 {
                best = (c, g, grid[ix], grid[iy]);
            }
        }
    }
    // Fine: pattern search on log widths with shrinking steps.
    let (mut c0, mut g0, mut sx, mut sy) = best;
    let mut step = (ratio / (GRID - 1) as f64).exp();
    while step > 1.0005 {
        let mut moved = false;
        for (fx, fy) in [(step, 1.0), (1.0 / step, 1.0), (1.0, step), (1.0, 1.0 / step)] {
            let (tx, ty) = (
                (sx * fx).clamp(SIGMA_RANGE_PX.0, SIGMA_RANGE_PX.1),
                (sy * fy).clamp(SIGMA_RANGE_PX.0, SIGMA_RANGE_PX.1),
            );
            let (c, g) = cost(
                data,
                weights,
                &footprint.smoothed(tx, window),
                &footprint.smoothed(ty, window),
            );
            if c < c0 {
                (c0, g0, sx, sy) = (c, g, tx, ty);
                moved = true;
            }
        }
        if !moved {
            step = step.sqrt();
        }
    }
    CrossBlur {
        gain: g0,
        sigma_x_px: sx,
        sigma_y_px: sy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_widths_and_gain_from_smoothed_measurements() {
        let window = 32;
        let truth = CrossBlur {
            gain: 0.6,
            sigma_x_px: 1.5,
            sigma_y_px: 3.0,
        };
        let footprint = Footprint::new(window);
        let x = footprint.smoothed(truth.sigma_x_px, window);
        let y = footprint.smoothed(truth.sigma_y_px, window);
        let mut data = Vec::new();
        for ky in -8..8i32 {
            for kx in 0..8i32 {
                if kx == 0 && ky <= 0 {
                    continue;
                }
                let gain = truth.gain * x[kx as usize] * y[ky.unsigned_abs() as usize];
                data.push(Measurement {
                    ky,
                    kx,
                    gain,
                    variance: 1e-4,
                });
            }
        }
        let (fit, _) = fit(&data, window).unwrap();
        assert!((fit.gain - 0.6).abs() < 0.01, "{fit:?}");
        assert!((fit.sigma_x_px / 1.5 - 1.0).abs() < 0.01, "{fit:?}");
        assert!((fit.sigma_y_px / 3.0 - 1.0).abs() < 0.01, "{fit:?}");
    }

    #[test]
    fn smoothing_raises_the_gain_where_the_blur_falls_steeply() {
        let window = 16;
        let footprint = Footprint::new(window);
        let smoothed = footprint.smoothed(3.0, window);
        let exact = axis_transfer(3.0, TAU * 3.0 / window as f64);
        assert!(smoothed[3] > 1.5 * exact, "{} vs {exact}", smoothed[3]);
    }
}
