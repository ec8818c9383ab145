//! The image prepared for deconvolution (padded planes and their cached
//! spectra), and the one-pass spectral methods: Wiener and Tikhonov, with
//! their parameter chosen by generalized cross-validation when not given.

use std::sync::Arc;

use rayon::prelude::*;

use super::boundary::{Boundary, Layout};
use super::{MIN_NOISE_SIGMA, noise, operators};
use crate::fft::{self, Complex32, Fft2d};
use crate::imaging::Image;
use crate::psf::Kernel;

/// An image placed in its FFT domain, with each plane's spectrum cached so that
/// a parameter change costs one pointwise pass and one inverse FFT per plane.
pub struct Prepared {
    pub layout: Layout,
    pub fft: Arc<Fft2d>,
    /// Colour planes in the FFT domain (padded where the layout pads).
    pub planes: Vec<Vec<f32>>,
    pub spectra: Vec<Vec<Complex32>>,
    alpha: Option<Vec<f32>>,
    /// The wavelet (MAD) estimate of the noise's standard deviation.
    wavelet_noise_sigma: f64,
}

impl Prepared {
    /// Pads `image` for `boundary` (Periodic or Reflect) with room for a
    /// kernel of up to `kernel_height x kernel_width`, and transforms it.
    pub fn new(image: &Image, boundary: Boundary, kernel_height: usize, kernel_width: usize) -> Self {
        let layout = Layout::new(boundary, image.height, image.width, kernel_height, kernel_width);
        let fft = fft::plan(layout.height, layout.width);
        let planes: Vec<Vec<f32>> = image.planes.iter().map(|p| layout.pad(p)).collect();
        let spectra = planes.iter().map(|p| fft.forward(p)).collect();
        Prepared {
            layout,
            fft,
            planes,
            spectra,
            alpha: image.alpha.clone(),
            wavelet_noise_sigma: noise::estimate_noise_sigma_planes(&image.planes, image.height, image.width),
        }
    }

    /// The kernel's OTF on this domain.
    pub fn otf(&self, kernel: &Kernel) -> Vec<Complex32> {
        operators::otf(kernel, &self.fft)
    }

    /// Crops domain-sized planes back to an image (alpha restored).
    pub fn finish(&self, planes: Vec<Vec<f32>>) -> Image {
        Image {
            width: self.layout.image_width,
            height: self.layout.image_height,
            planes: planes.iter().map(|p| self.layout.crop(p)).collect(),
            alpha: self.alpha.clone(),
        }
    }

    /// Applies `F = conj(H) G / (|H|^2 + regularizer)` to every plane.
    fn filter(&self, otf: &[Complex32], regularizer: impl Fn(usize) -> f32 + Sync) -> Image {
        let planes = self
            .spectra
            .iter()
            .map(|spectrum| {
                let filtered: Vec<Complex32> = spectrum
                    .par_iter()
                    .zip(otf.par_iter())
                    .enumerate()
                    .map(|(i, (g, h))| {
                        let denominator = h.norm_sqr() + regularizer(i);
                        if denominator > 0.0 {
                            h.conj() * g / denominator
                        } else {
                            Complex32::default()
                        }
                    })
                    .collect();
                self.fft.inverse(&filtered)
            })
            .collect();
        self.finish(planes)
    }

    /// Wiener: `F = conj(H) G / (|H|^2 + nsr)`.
    pub fn wiener(&self, otf: &[Complex32], nsr: f32) -> Image {
        self.filter(otf, |_| nsr)
    }

    /// Tikhonov with a Laplacian regularizer: `F = conj(H) G / (|H|^2 + lambda |P|^2)`.
    pub fn tikhonov(&self, otf: &[Complex32], lambda: f32) -> Image {
        let laplacian = operators::gradient_energy(&self.fft);
        self.filter(otf, |i| lambda * laplacian[i] * laplacian[i])
    }

    /// The noise's standard deviation, measured in the spectrum where the
    /// blur removed the signal, or by the wavelet estimate where too little
    /// of the spectrum is blurred away.
    pub fn noise_sigma(&self, otf: &[Complex32]) -> f64 {
        let observed = observe_spectrum(self, otf);
        spectral_noise_variance(&observed).map_or(self.wavelet_noise_sigma, f64::sqrt)
    }

    /// Wiener's K that minimizes the expected error under the fitted
    /// spectrum model, for noise of `noise_sigma`.
    pub fn auto_nsr(&self, otf: &[Complex32], noise_sigma: f64) -> f64 {
        SpectrumModel::fit(self, otf, noise_sigma).best_weight(|_| 1.0)
    }

    /// Tikhonov's Laplacian weight that minimizes the expected error.
    pub fn auto_tikhonov_lambda(&self, otf: &[Complex32], noise_sigma: f64) -> f64 {
        let laplacian = operators::gradient_energy(&self.fft);
        SpectrumModel::fit(self, otf, noise_sigma).best_weight(|i| (laplacian[i] as f64).powi(2))
    }
}

/// Samples of the spectrum used to choose parameters: a few hundred thousand
/// frequencies are plenty, so large images are subsampled.
const MODEL_SAMPLES: usize = 200_000;

/// What automatic parameters are chosen from: the noise variance and a power
/// law `S(f) = scale * |f|^-exponent` for the sharp image's spectrum (natural
/// images have exponents near 2), fitted where the blur keeps the signal.
struct SpectrumModel {
    /// Per frequency sample: (index, |H|^2, modelled signal power S).
    samples: Vec<(usize, f64, f64)>,
    noise_variance: f64,
}

impl SpectrumModel {
    /// Frequencies where the blur passes at least this much power fit the law.
    const FIT_MIN_GAIN: f64 = 0.25;
    const RADIAL_BINS: usize = 24;

    fn fit(prepared: &Prepared, otf: &[Complex32], noise_sigma: f64) -> Self {
        let noise_variance = noise_sigma.max(MIN_NOISE_SIGMA).powi(2);
        let observed = observe_spectrum(prepared, otf);
        let (scale, exponent) = fit_power_law(&observed, noise_variance);
        let samples = observed
            .iter()
            .map(|&(i, gain, _, radius)| (i, gain, scale * radius.powf(-exponent)))
            .collect();
        SpectrumModel {
            samples,
            noise_variance,
        }
    }

    /// Expected squared error of `conj(H) G / (|H|^2 + weight * shape(i))`.
    fn expected_error(&self, weight: f64, shape: &impl Fn(usize) -> f64) -> f64 {
        self.samples
            .iter()
            .map(|&(i, gain, signal)| {
                let reg = weight * shape(i);
                let denominator = gain + reg;
                if denominator <= 0.0 {
                    return signal;
                }
                let bias = reg / denominator;
                bias * bias * signal + gain * self.noise_variance / (denominator * denominator)
            })
            .sum()
    }

    /// The weight minimizing the expected error: a log grid from 1e-9 to 10,
    /// refined by golden section.
    fn best_weight(&self, shape: impl Fn(usize) -> f64) -> f64 {
        const STEP_DECADES: f64 = 0.1;
        let error = |log_weight: f64| self.expected_error(10f64.powf(log_weight), &shape);
        let best = (0..=100)
            .map(|k| -9.0 + k as f64 * STEP_DECADES)
            .map(|l| (l, error(l)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(-3.0, |(l, _)| l);
        let (mut lo, mut hi) = (best - STEP_DECADES, best + STEP_DECADES);
        let ratio = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..20 {
            let a = hi - ratio * (hi - lo);
            let b = lo + ratio * (hi - lo);
            if error(a) < error(b) { hi = b } else { lo = a }
        }
        10f64.powf((lo + hi) / 2.0)
    }
}

/// Samples of the spectrum: (index, |H|^2, observed power per pixel averaged
/// over channels, radial frequency in cycles per pixel), DC left out.
fn observe_spectrum(prepared: &Prepared, otf: &[Complex32]) -> Vec<(usize, f64, f64, f64)> {
    let fft = &prepared.fft;
    let pixels = (fft.height * fft.width) as f64;
    let channels = prepared.spectra.len() as f64;
    (0..fft.spectrum_len())
        .step_by(sample_stride(fft.spectrum_len()))
        .filter_map(|i| {
            let (kx, ky) = (i / fft.height, i % fft.height);
            let fy = ky.min(fft.height - ky) as f64 / fft.height as f64;
            let fx = kx as f64 / fft.width as f64;
            let radius = (fx * fx + fy * fy).sqrt();
            (radius > 0.0).then(|| {
                let power = prepared.spectra.iter().map(|s| s[i].norm_sqr() as f64).sum::<f64>() / (channels * pixels);
                (i, otf[i].norm_sqr() as f64, power, radius)
            })
        })
        .collect()
}

/// Frequencies where the blur passes less than this fraction of the power
/// hold (almost) only noise.
const NOISE_ONLY_GAIN: f64 = 1e-3;
/// Fewer noise-only frequencies than this: the estimate falls back to MAD.
const MIN_NOISE_SAMPLES: usize = 1000;

/// Noise variance per pixel measured where the blur removed the signal: the
/// median power there over ln 2 (the median of an exponential variable).
/// Unlike a wavelet estimate it sees compressed files' noise at the
/// frequencies the inverse filter amplifies.
fn spectral_noise_variance(observed: &[(usize, f64, f64, f64)]) -> Option<f64> {
    let mut powers: Vec<f64> = observed.iter().filter(|o| o.1 < NOISE_ONLY_GAIN).map(|o| o.2).collect();
    if powers.len() < MIN_NOISE_SAMPLES {
        return None;
    }
    let mid = powers.len() / 2;
    let median = *powers.select_nth_unstable_by(mid, f64::total_cmp).1;
    Some((median / std::f64::consts::LN_2).max(MIN_NOISE_SIGMA * MIN_NOISE_SIGMA))
}

/// A stride with no factor 2, 3, 5 or 7 (so it never lines up with the
/// spectrum's columns, whose lengths are fast FFT sizes) giving about
/// `MODEL_SAMPLES` samples.
fn sample_stride(len: usize) -> usize {
    let mut stride = (len / MODEL_SAMPLES).max(1);
    while stride > 1 && [2, 3, 5, 7].iter().any(|p| stride.is_multiple_of(*p)) {
        stride += 1;
    }
    stride
}

/// Least-squares line through log signal power against log frequency,
/// averaged in radial bins, over frequencies where the blur keeps the signal
/// and it stands above the noise. Returns (scale, exponent), the exponent
/// kept within [1, 4]; exponent 2 through the median when too few points.
fn fit_power_law(observed: &[(usize, f64, f64, f64)], noise_variance: f64) -> (f64, f64) {
    let bins = SpectrumModel::RADIAL_BINS;
    let log_min = observed.iter().map(|o| o.3).fold(f64::INFINITY, f64::min).log10();
    let log_max = 0.5f64.sqrt().log10() + 1e-9;
    let mut sums = vec![(0.0, 0.0, 0usize); bins];
    for &(_, gain, power, radius) in observed {
        let signal = power - noise_variance;
        if gain < SpectrumModel::FIT_MIN_GAIN || signal <= noise_variance {
            continue;
        }
        let t = ((radius.log10() - log_min) / (log_max - log_min)).clamp(0.0, 0.999_999);
        let bin = (t * bins as f64) as usize;
        sums[bin].0 += radius.log10();
        sums[bin].1 += (signal / gain).log10();
        sums[bin].2 += 1;
    }
    let points: Vec<(f64, f64)> = sums
        .iter()
        .filter(|s| s.2 >= 3)
        .map(|s| (s.0 / s.2 as f64, s.1 / s.2 as f64))
        .collect();
    if points.len() < 3 {
        let mut levels: Vec<f64> = observed.iter().map(|o| (o.2 * o.3 * o.3).max(1e-30)).collect();
        let mid = levels.len() / 2;
        let median = if levels.is_empty() {
            1e-3
        } else {
            *levels.select_nth_unstable_by(mid, f64::total_cmp).1
        };
        return (median, 2.0);
    }
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let exponent = (-sxy / sxx).clamp(1.0, 4.0);
    // Keep the fitted level at the points' centre after clamping the slope.
    let log_scale = my + exponent * mx;
    (10f64.powf(log_scale), exponent)
}
