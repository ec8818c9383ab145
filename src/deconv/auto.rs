//! Automatic parameters: the noise level measured where the blur removed the
//! signal, a power-law model of the sharp image's spectrum, and the
//! regularization weights that minimize the expected error under that model.

use rayon::prelude::*;

use super::MIN_NOISE_SIGMA;
use crate::fft::{Complex32, Fft2d};

/// Frequencies sampled: a few tens of thousands are plenty, so large images
/// are subsampled (see [`SampleGrid`]).
const MODEL_SAMPLES: usize = 60_000;
/// Frequencies where the blur passes at least this much power fit Wiener's
/// law (where the signal also stands above the noise). Low: its weight is
/// decided where the blur passes little, 1e-3 to 1e-1, and a law fitted
/// only where it passes much extrapolated there badly. On 198 cases outside
/// the shared set, Wiener's automatic result gained 0.48 dB (gray) and 1.31
/// dB (colour) on average over the passband's law, up to 10 dB on a dark
/// retina photo; 0.007-0.015 measured alike (BENCHMARKS.md, "Wiener's
/// weight").
const WIDE_FIT_MIN_GAIN: f64 = 0.01;
/// The same for Tikhonov's law: its Laplacian weight is decided at high
/// frequencies, beyond either fit, and its safety factor was measured with
/// this one. With the wide law its automatic result moved by -0.002 dB over
/// all 210 cases and lost 0.33 dB on the shared ones.
const PASSBAND_FIT_MIN_GAIN: f64 = 0.25;

const RADIAL_BINS: usize = 24;
/// Samples per partial sum of a parallel reduction.
const SUM_CHUNK: usize = 4096;
/// Frequencies where the blur passes less than this fraction of the power
/// hold (almost) only noise.
const NOISE_ONLY_GAIN: f64 = 1e-3;
/// Fewer noise-only frequencies than this: the noise comes from the wavelet estimate.
const MIN_NOISE_SAMPLES: usize = 300;

/// The model takes the blur model as exact; border mismatch and kernel error
/// act as extra low-frequency noise, which a Laplacian (weak at low
/// frequencies) lets through at the zeros of motion and shake blurs. Measured
/// on the shared cases: those need 5-10x the model's weight, symmetric blurs
/// lose under 0.4 dB at 3x. Re-measured with the law fitted down to gain
/// 0.01, on 210 cases: 1.5x and 5x lose 0.1 dB against 3x.
const TIKHONOV_SAFETY: f64 = 3.0;

/// One sampled frequency.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// |H|^2.
    gain: f64,
    /// Observed power per pixel, averaged over channels.
    power: f64,
    /// Radial frequency in cycles per pixel.
    radius: f64,
    /// |P|^2 of the 5-point Laplacian (Tikhonov's regularizer).
    laplacian_sq: f64,
    /// The signal power here by the law fitted down to `WIDE_FIT_MIN_GAIN`
    /// (set once the law is fitted).
    signal: f64,
    /// The same by the law fitted in the passband.
    passband_signal: f64,
}

/// The noise and a power law `S(f) = scale * |f|^-exponent` for the sharp
/// image's spectrum (natural images have exponents near 2), fitted where the
/// blur keeps the signal.
pub struct SpectrumModel {
    samples: Vec<Sample>,
    /// Standard deviation of the (white) noise per pixel.
    pub noise_sigma: f64,
    /// The image's mean value and contrast ([`ImageStatistics`]).
    pub statistics: ImageStatistics,
    /// Colour planes modelled.
    pub channels: usize,
}

impl SpectrumModel {
    /// Fits the model to the image's and the OTF's values on `grid`;
    /// `wavelet_noise` is the fallback noise estimate where too little of the
    /// spectrum is blurred away, `statistics` the image's.
    pub fn fit(
        fft: &Fft2d,
        grid: &SampleGrid,
        channels: &[Vec<Complex32>],
        otf: &[Complex32],
        wavelet_noise: impl FnOnce() -> f64,
        statistics: ImageStatistics,
    ) -> Self {
        let mut samples = observe(fft, grid, channels, otf);
        let noise_sigma = spectral_noise_variance(&samples)
            .map_or_else(wavelet_noise, f64::sqrt)
            .max(MIN_NOISE_SIGMA);
        let noise_variance = noise_sigma * noise_sigma;
        let (scale, exponent) = fit_power_law(&samples, noise_variance, WIDE_FIT_MIN_GAIN);
        let (passband_scale, passband_exponent) = fit_power_law(&samples, noise_variance, PASSBAND_FIT_MIN_GAIN);
        // Evaluated once here: the weight search reads them tens of times.
        for s in &mut samples {
            s.signal = scale * s.radius.powf(-exponent);
            s.passband_signal = passband_scale * s.radius.powf(-passband_exponent);
        }
        SpectrumModel {
            samples,
            noise_sigma,
            statistics,
            channels: channels.len(),
        }
    }

    /// Raises the noise to at least `sigma`.
    pub fn raise_noise(&mut self, sigma: f64) {
        self.noise_sigma = self.noise_sigma.max(sigma);
    }

    /// Wiener's K minimizing the expected error.
    pub fn best_nsr(&self) -> f64 {
        self.best_weight(|s| (1.0, s.signal))
    }

    /// Tikhonov's Laplacian weight: the one minimizing the expected error,
    /// times a safety factor (see `TIKHONOV_SAFETY`).
    pub fn best_tikhonov_lambda(&self) -> f64 {
        TIKHONOV_SAFETY * self.best_weight(|s| (s.laplacian_sq, s.passband_signal))
    }

    /// Expected squared error of `conj(H) G / (|H|^2 + weight * shape)`:
    /// bias on the modelled signal plus amplified noise. `shape_and_signal`
    /// gives a sample's regularizer shape and the law's signal power there.
    fn expected_error(&self, weight: f64, shape_and_signal: &(impl Fn(&Sample) -> (f64, f64) + Sync)) -> f64 {
        let noise_variance = self.noise_sigma * self.noise_sigma;
        // Fixed chunks summed in order: the same result on every run.
        let partial: Vec<f64> = self
            .samples
            .par_chunks(SUM_CHUNK)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|s| {
                        let (shape, signal) = shape_and_signal(s);
                        let reg = weight * shape;
                        let denominator = s.gain + reg;
                        if denominator <= 0.0 {
                            return signal;
                        }
                        // One division: (bias^2 S + |H|^2 sigma^2) / d^2.
                        let inverse = 1.0 / denominator;
                        (reg * reg * signal + s.gain * noise_variance) * inverse * inverse
                    })
                    .sum::<f64>()
            })
            .collect();
        partial.iter().sum()
    }

    /// The weight minimizing the expected error: a log grid from 1e-9 to 10,
    /// refined by golden section.
    fn best_weight(&self, shape_and_signal: impl Fn(&Sample) -> (f64, f64) + Sync) -> f64 {
        // The error is smooth and unimodal in log weight: a coarse grid finds
        // the bracket, golden section (one new evaluation per step) refines
        // it to about 1e-4 decades.
        const STEP_DECADES: f64 = 0.5;
        const REFINEMENTS: usize = 18;
        let error = |log_weight: f64| self.expected_error(10f64.powf(log_weight), &shape_and_signal);
        let best = (0..=20)
            .map(|k| -9.0 + k as f64 * STEP_DECADES)
            .map(|l| (l, error(l)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(-3.0, |(l, _)| l);
        let (mut lo, mut hi) = (best - STEP_DECADES, best + STEP_DECADES);
        let ratio = (5f64.sqrt() - 1.0) / 2.0;
        let (mut a, mut b) = (hi - ratio * (hi - lo), lo + ratio * (hi - lo));
        let (mut error_a, mut error_b) = (error(a), error(b));
        for _ in 0..REFINEMENTS {
            if error_a < error_b {
                (hi, b, error_b) = (b, a, error_a);
                a = hi - ratio * (hi - lo);
                error_a = error(a);
            } else {
                (lo, a, error_a) = (a, b, error_b);
                b = lo + ratio * (hi - lo);
                error_b = error(b);
            }
        }
        10f64.powf((lo + hi) / 2.0)
    }
}

/// Rows read by [`ImageStatistics::measure`] at most: statistics, not an
/// image.
const STATISTICS_ROWS: usize = 1024;

/// Two numbers that scale with the image's values (a global gain s makes
/// both s times larger), which the automatic parameters divide the noise by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageStatistics {
    /// The mean value over the colour planes.
    pub mean_level: f64,
    /// The mean absolute difference between horizontal and vertical
    /// neighbours: the image's contrast.
    pub mean_gradient: f64,
}

impl ImageStatistics {
    /// Measures the colour planes of a `width`-wide image; large images are
    /// read on every few rows.
    pub fn measure(planes: &[Vec<f32>], width: usize) -> Self {
        let height = planes.first().map_or(0, |p| p.len() / width.max(1));
        if height < 2 || width < 2 {
            let count = planes.iter().map(Vec::len).sum::<usize>().max(1) as f64;
            let sum: f64 = planes.iter().flatten().map(|v| *v as f64).sum();
            return ImageStatistics {
                mean_level: sum / count,
                mean_gradient: 0.0,
            };
        }
        let step = (height - 1).div_ceil(STATISTICS_ROWS).max(1);
        let rows: Vec<usize> = (0..height - 1).step_by(step).collect();
        // Per-row sums added in row order: the same result on every run.
        let sums: Vec<(f64, f64)> = rows
            .par_iter()
            .map(|&y| {
                planes.iter().fold((0.0, 0.0), |(level, gradient), p| {
                    let (row, below) = (&p[y * width..(y + 1) * width], &p[(y + 1) * width..(y + 2) * width]);
                    let values: f32 = row.iter().sum();
                    let across: f32 = row.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
                    let down: f32 = row.iter().zip(below).map(|(a, b)| (b - a).abs()).sum();
                    (level + values as f64, gradient + across as f64 + down as f64)
                })
            })
            .collect();
        let (level, gradient) = sums.iter().fold((0.0, 0.0), |(l, g), (a, b)| (l + a, g + b));
        let lines = rows.len() as f64 * planes.len() as f64;
        ImageStatistics {
            mean_level: level / (lines * width as f64),
            mean_gradient: gradient / (lines * (2 * width - 1) as f64),
        }
    }
}

/// Which frequencies the model samples: in every column `kx`, the rows
/// `ky = kx mod row_stride` and every `row_stride`-th after, so that the
/// columns together meet every row (`row_stride` divides the height where
/// it can, which lets [`Fft2d::forward_rows_sampled`] take a column's
/// samples in the row pass with one short FFT). Every column is sampled: a subset of the columns moved the fitted
/// law enough to change the automatic weights up to 5x, and Wiener's
/// results up to 1.5 dB, on the textured shared cases.
pub struct SampleGrid {
    pub row_stride: usize,
    /// True when the stride divides the height, so that the row pass can
    /// take the samples by folding (see [`Fft2d::forward_rows_sampled`]).
    pub foldable: bool,
}

impl SampleGrid {
    pub fn new(fft: &Fft2d) -> Self {
        let wanted = fft.spectrum_len().div_ceil(MODEL_SAMPLES).max(1);
        // A divisor of the height up to twice the stride wanted (padded
        // heights have many); an awkward periodic height keeps the stride
        // wanted, sampled from full spectra.
        match (wanted..=(2 * wanted).min(fft.height)).find(|s| fft.height.is_multiple_of(*s)) {
            Some(row_stride) => SampleGrid {
                row_stride,
                foldable: true,
            },
            None => SampleGrid {
                row_stride: wanted,
                foldable: false,
            },
        }
    }

    /// The sampled rows of column `kx`.
    fn rows(&self, kx: usize, height: usize) -> impl Iterator<Item = usize> + use<> {
        (kx % self.row_stride..height).step_by(self.row_stride)
    }

    /// The grid's values read from a full spectrum, column by column.
    pub fn read(&self, fft: &Fft2d, spectrum: &[Complex32]) -> Vec<Complex32> {
        (0..fft.columns)
            .flat_map(|kx| self.rows(kx, fft.height).map(move |ky| spectrum[fft.frequency(ky, kx)]))
            .collect()
    }
}

/// The grid's samples (DC left out), from each channel's and the OTF's
/// values on the grid, column by column.
fn observe(fft: &Fft2d, grid: &SampleGrid, channels: &[Vec<Complex32>], otf: &[Complex32]) -> Vec<Sample> {
    let pixels = (fft.height * fft.width) as f64;
    let count = channels.len() as f64;
    let tau = std::f64::consts::TAU;
    let height = fft.height;
    let positions: Vec<(usize, usize)> = (0..fft.columns)
        .flat_map(|kx| grid.rows(kx, height).map(move |ky| (ky, kx)))
        .collect();
    assert_eq!(positions.len(), otf.len(), "grid values must match the grid");
    positions
        .par_iter()
        .enumerate()
        .filter_map(|(i, &(ky, kx))| {
            let fy = ky.min(height - ky) as f64 / height as f64;
            let fx = kx as f64 / fft.width as f64;
            let radius = (fx * fx + fy * fy).sqrt();
            (radius > 0.0).then(|| {
                let power = channels.iter().map(|s| s[i].norm_sqr() as f64).sum::<f64>() / (count * pixels);
                let laplacian = 4.0 - 2.0 * (tau * fx).cos() - 2.0 * (tau * fy).cos();
                Sample {
                    gain: otf[i].norm_sqr() as f64,
                    power,
                    radius,
                    laplacian_sq: laplacian * laplacian,
                    signal: 0.0,
                    passband_signal: 0.0,
                }
            })
        })
        .collect()
}

/// Noise variance per pixel measured where the blur removed the signal: the
/// median power there over ln 2 (the median of an exponential variable).
/// Unlike a wavelet estimate it sees compressed files' noise at the
/// frequencies the inverse filter amplifies.
fn spectral_noise_variance(samples: &[Sample]) -> Option<f64> {
    let mut powers: Vec<f64> = samples
        .iter()
        .filter(|s| s.gain < NOISE_ONLY_GAIN)
        .map(|s| s.power)
        .collect();
    if powers.len() < MIN_NOISE_SAMPLES {
        return None;
    }
    let mid = powers.len() / 2;
    let median = *powers.select_nth_unstable_by(mid, f64::total_cmp).1;
    Some(median / std::f64::consts::LN_2)
}

/// Least-squares line through log signal power against log frequency,
/// averaged in radial bins, over frequencies where the blur passes at least
/// `min_gain` of the power and the signal stands above the noise. Returns
/// (scale, exponent), the exponent kept within [1, 4]; exponent 2 through
/// the median when too few points.
fn fit_power_law(samples: &[Sample], noise_variance: f64, min_gain: f64) -> (f64, f64) {
    let log_min = samples.iter().map(|s| s.radius).fold(f64::INFINITY, f64::min).log10();
    let log_max = 0.5f64.sqrt().log10() + 1e-9;
    let mut sums = vec![(0.0, 0.0, 0usize); RADIAL_BINS];
    for s in samples {
        let signal = s.power - noise_variance;
        if s.gain < min_gain || signal <= noise_variance {
            continue;
        }
        let t = ((s.radius.log10() - log_min) / (log_max - log_min)).clamp(0.0, 0.999_999);
        let bin = (t * RADIAL_BINS as f64) as usize;
        sums[bin].0 += s.radius.log10();
        sums[bin].1 += (signal / s.gain).log10();
        sums[bin].2 += 1;
    }
    let points: Vec<(f64, f64)> = sums
        .iter()
        .filter(|s| s.2 >= 3)
        .map(|s| (s.0 / s.2 as f64, s.1 / s.2 as f64))
        .collect();
    if points.len() < 3 {
        let mut levels: Vec<f64> = samples
            .iter()
            .map(|s| (s.power * s.radius * s.radius).max(1e-30))
            .collect();
        if levels.is_empty() {
            return (1e-3, 2.0);
        }
        let mid = levels.len() / 2;
        return (*levels.select_nth_unstable_by(mid, f64::total_cmp).1, 2.0);
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let exponent = if sxx > 0.0 { (-sxy / sxx).clamp(1.0, 4.0) } else { 2.0 };
    // Keep the fitted level at the points' centre after clamping the slope.
    (10f64.powf(my + exponent * mx), exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_statistics_measure_level_and_contrast() {
        // A horizontal ramp: steps of 0.1 across, none down.
        let (width, height) = (5, 3);
        let ramp: Vec<f32> = (0..width * height).map(|n| 0.1 * (n % width) as f32).collect();
        let stats = ImageStatistics::measure(std::slice::from_ref(&ramp), width);
        assert!((stats.mean_level - 0.2).abs() < 1e-6, "{stats:?}");
        // 4 steps of 0.1 and 5 zeros per row pair.
        assert!((stats.mean_gradient - 0.4 / 9.0).abs() < 1e-6, "{stats:?}");
        // Both scale with a gain; a tall image is read on a subset of rows.
        let tall: Vec<f32> = (0..width * 5000).map(|n| 0.5 * ramp[n % (width * height)]).collect();
        let scaled = ImageStatistics::measure(&[tall], width);
        assert!((scaled.mean_level - 0.1).abs() < 1e-3, "{scaled:?}");
        assert!((scaled.mean_gradient - 0.2 / 9.0).abs() < 1e-3, "{scaled:?}");
    }

    #[test]
    fn power_law_fit_recovers_the_exponent() {
        let samples: Vec<Sample> = (1..2000)
            .map(|i| {
                let radius = i as f64 / 4000.0;
                Sample {
                    gain: 1.0,
                    power: 1e-3 * radius.powf(-2.5),
                    radius,
                    laplacian_sq: 0.0,
                    signal: 0.0,
                    passband_signal: 0.0,
                }
            })
            .collect();
        let (scale, exponent) = fit_power_law(&samples, 1e-12, WIDE_FIT_MIN_GAIN);
        assert!((exponent - 2.5).abs() < 0.01, "{exponent}");
        assert!((scale / 1e-3 - 1.0).abs() < 0.05, "{scale}");
    }

    /// The grid and golden-section search lands on the minimum a dense scan
    /// of the expected error finds, for Wiener's and Tikhonov's shapes.
    #[test]
    fn weight_search_finds_the_least_expected_error() {
        let samples: Vec<Sample> = (1..3000)
            .map(|i| {
                let radius = i as f64 / 6000.0;
                Sample {
                    gain: (-(radius * 20.0).powi(2)).exp(),
                    power: 0.0,
                    radius,
                    laplacian_sq: (radius * 10.0).powi(4),
                    signal: 1e-3 * radius.powf(-2.2),
                    passband_signal: 2e-3 * radius.powf(-2.5),
                }
            })
            .collect();
        let model = SpectrumModel {
            samples,
            noise_sigma: 0.01,
            statistics: ImageStatistics {
                mean_level: 0.5,
                mean_gradient: 0.01,
            },
            channels: 1,
        };
        let dense_minimum = |shape: &(dyn Fn(&Sample) -> (f64, f64) + Sync)| {
            (0..=10_000)
                .map(|k| -9.0 + k as f64 * 1e-3)
                .map(|l| (l, model.expected_error(10f64.powf(l), &shape)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap()
                .0
        };
        let wiener = dense_minimum(&|s| (1.0, s.signal));
        assert!((model.best_nsr().log10() - wiener).abs() < 2e-3, "{wiener}");
        let tikhonov = dense_minimum(&|s| (s.laplacian_sq, s.passband_signal));
        let found = (model.best_tikhonov_lambda() / TIKHONOV_SAFETY).log10();
        assert!((found - tikhonov).abs() < 2e-3, "{found} vs {tikhonov}");
    }
}
