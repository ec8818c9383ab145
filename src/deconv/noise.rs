//! Noise level estimation, for parameters chosen from the image.

use rayon::prelude::*;

/// Consistency factor of the median absolute deviation for Gaussian noise.
const MAD_TO_SIGMA: f64 = 0.6745;

/// Side of the square patches whose covariance separates noise from
/// structure: 49 dimensions, enough for the image's own content to fill only
/// a few of them.
const PATCH: usize = 7;

/// About this many patches are sampled (on an even grid): the covariance is
/// then stable to a few percent and costs milliseconds on any image size.
const PATCH_SAMPLES: usize = 40_000;

/// Standard deviation of white noise in a plane.
///
/// From the covariance of its 7x7 patches (Chen, Zhu and Heng, ICCV 2015):
/// the image's structure lies in a few principal directions, white noise
/// adds the same variance to every one, so the smallest eigenvalues, those
/// whose mean is also their median, measure the noise alone. A single
/// wavelet band reads fine texture (grass, gravel) as noise; this does not:
/// on clean blurred textures (coins, gravel, grass under noise of 0.001) it
/// measures 1.2-2.7x the true sigma where the band measured 1.8-4.7x.
/// Planes too small for enough patches fall back to the band
/// (`wavelet_noise_sigma`).
pub fn estimate_noise_sigma(plane: &[f32], height: usize, width: usize) -> f64 {
    match patch_covariance(plane, height, width) {
        Some(covariance) => noise_from_eigenvalues(covariance),
        None => wavelet_noise_sigma(plane, height, width),
    }
}

/// The sample covariance of the plane's patches (row-major, PATCH² square),
/// or None when fewer than eight patches a dimension fit.
fn patch_covariance(plane: &[f32], height: usize, width: usize) -> Option<Vec<f64>> {
    const DIM: usize = PATCH * PATCH;
    if height < PATCH || width < PATCH {
        return None;
    }
    let (rows, cols) = (height - PATCH + 1, width - PATCH + 1);
    let stride = ((rows * cols) as f64 / PATCH_SAMPLES as f64).sqrt().ceil().max(1.0) as usize;
    let count = rows.div_ceil(stride) * cols.div_ceil(stride);
    if count < 8 * DIM {
        return None;
    }
    // Sums of each value and of each product (upper triangle), one row of
    // patches per task.
    let empty = || (vec![0.0f64; DIM], vec![0.0f64; DIM * DIM]);
    let (sums, products) = (0..rows)
        .step_by(stride)
        .collect::<Vec<_>>()
        .into_par_iter()
        .fold(empty, |(mut sums, mut products), y| {
            let mut patch = [0.0f64; DIM];
            for x in (0..cols).step_by(stride) {
                for (dy, row) in patch.chunks_exact_mut(PATCH).enumerate() {
                    let start = (y + dy) * width + x;
                    for (value, &pixel) in row.iter_mut().zip(&plane[start..start + PATCH]) {
                        *value = pixel as f64;
                    }
                }
                for i in 0..DIM {
                    sums[i] += patch[i];
                    for j in i..DIM {
                        products[i * DIM + j] += patch[i] * patch[j];
                    }
                }
            }
            (sums, products)
        })
        .reduce(empty, |(mut a, mut b), (c, d)| {
            a.iter_mut().zip(&c).for_each(|(a, c)| *a += c);
            b.iter_mut().zip(&d).for_each(|(b, d)| *b += d);
            (a, b)
        });
    let n = count as f64;
    let mut covariance = vec![0.0; DIM * DIM];
    for i in 0..DIM {
        for j in i..DIM {
            let value = products[i * DIM + j] / n - sums[i] / n * (sums[j] / n);
            covariance[i * DIM + j] = value;
            covariance[j * DIM + i] = value;
        }
    }
    Some(covariance)
}

/// Noise sigma from a patch covariance: drop the largest eigenvalues until
/// the rest are as many above their mean as below it; that mean is the
/// noise variance.
fn noise_from_eigenvalues(covariance: Vec<f64>) -> f64 {
    let dim = (covariance.len() as f64).sqrt() as usize;
    let matrix = nalgebra::DMatrix::from_row_slice(dim, dim, &covariance);
    let mut eigenvalues: Vec<f64> = matrix.symmetric_eigenvalues().iter().map(|v| v.max(0.0)).collect();
    eigenvalues.sort_by(|a, b| b.total_cmp(a));
    for start in 0..dim {
        let tail = &eigenvalues[start..];
        let mean = tail.iter().sum::<f64>() / tail.len() as f64;
        let above = tail.iter().filter(|&&v| v > mean).count();
        let below = tail.iter().filter(|&&v| v < mean).count();
        if above >= below {
            return mean.sqrt();
        }
    }
    eigenvalues[dim - 1].sqrt()
}

/// Noise sigma from the finest diagonal Haar wavelet band (Donoho and
/// Johnstone's MAD estimator). Blur removes the image's own content from
/// that band, so what is left is mostly noise; on sharp or textured images
/// it also holds fine detail and reads high.
pub fn wavelet_noise_sigma(plane: &[f32], height: usize, width: usize) -> f64 {
    let mut band: Vec<f32> = Vec::with_capacity((height / 2) * (width / 2));
    for y in (0..height.saturating_sub(1)).step_by(2) {
        for x in (0..width.saturating_sub(1)).step_by(2) {
            let a = plane[y * width + x];
            let b = plane[y * width + x + 1];
            let c = plane[(y + 1) * width + x];
            let d = plane[(y + 1) * width + x + 1];
            band.push(((a - b - c + d) / 2.0).abs());
        }
    }
    if band.is_empty() {
        return 0.0;
    }
    let mid = band.len() / 2;
    let (_, median, _) = band.select_nth_unstable_by(mid, f32::total_cmp);
    *median as f64 / MAD_TO_SIGMA
}

/// Mean of the per-plane noise estimates.
pub fn estimate_noise_sigma_planes(planes: &[Vec<f32>], height: usize, width: usize) -> f64 {
    let sum: f64 = planes.iter().map(|p| estimate_noise_sigma(p, height, width)).sum();
    sum / planes.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeded standard normal draws (Box–Muller on an LCG).
    fn gaussian_source(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            let mut uniform = || {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    #[test]
    fn recovers_the_sigma_of_white_noise_on_a_smooth_image() {
        let (h, w) = (256, 256);
        let mut gaussian = gaussian_source(12345);
        let sigma = 0.02;
        let plane: Vec<f32> = (0..h * w)
            .map(|i| (0.5 + 0.3 * ((i % w) as f64 / w as f64) + sigma * gaussian()) as f32)
            .collect();
        let estimate = estimate_noise_sigma(&plane, h, w);
        assert!((estimate / sigma - 1.0).abs() < 0.05, "{estimate}");
    }

    #[test]
    fn fine_texture_is_not_read_as_noise() {
        // Strong texture at fine scales, weak noise: the texture fills the
        // finest wavelet band, but only a few of the patch directions.
        let (h, w) = (384, 384);
        let mut gaussian = gaussian_source(777);
        let sigma = 0.003;
        let plane: Vec<f32> = (0..h * w)
            .map(|i| {
                let (y, x) = ((i / w) as f64, (i % w) as f64);
                let texture = 0.12 * (2.1 * x + 0.7 * y).sin()
                    + 0.08 * (0.9 * x - 2.6 * y).sin()
                    + 0.05 * (2.9 * x + 2.3 * y).sin();
                (0.5 + texture + sigma * gaussian()) as f32
            })
            .collect();
        let estimate = estimate_noise_sigma(&plane, h, w);
        assert!((estimate / sigma - 1.0).abs() < 0.1, "{estimate}");
        // The wavelet band alone is fooled by this texture.
        assert!(wavelet_noise_sigma(&plane, h, w) > 3.0 * sigma);
    }

    #[test]
    fn small_planes_fall_back_to_the_wavelet_band() {
        let (h, w) = (12, 40);
        let mut gaussian = gaussian_source(5);
        let plane: Vec<f32> = (0..h * w).map(|_| (0.5 + 0.01 * gaussian()) as f32).collect();
        assert!(patch_covariance(&plane, h, w).is_none());
        assert_eq!(estimate_noise_sigma(&plane, h, w), wavelet_noise_sigma(&plane, h, w));
        assert_eq!(estimate_noise_sigma(&[], 0, 0), 0.0);
    }
}
