//! Noise level estimation, for parameters chosen from the image.

/// Consistency factor of the median absolute deviation for Gaussian noise.
const MAD_TO_SIGMA: f64 = 0.6745;

/// Standard deviation of white noise in a plane, from the finest diagonal
/// Haar wavelet band (Donoho and Johnstone's MAD estimator). Blur removes the
/// image's own content from that band, so what is left is mostly noise.
pub fn estimate_noise_sigma(plane: &[f32], height: usize, width: usize) -> f64 {
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

    #[test]
    fn recovers_the_sigma_of_white_noise_on_a_smooth_image() {
        let (h, w) = (256, 256);
        let mut state = 12345u64;
        let mut gaussian = || {
            // Box–Muller on a seeded LCG.
            let mut uniform = || {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let sigma = 0.02;
        let plane: Vec<f32> = (0..h * w)
            .map(|i| (0.5 + 0.3 * ((i % w) as f64 / w as f64) + sigma * gaussian()) as f32)
            .collect();
        let estimate = estimate_noise_sigma(&plane, h, w);
        assert!((estimate / sigma - 1.0).abs() < 0.05, "{estimate}");
    }
}
