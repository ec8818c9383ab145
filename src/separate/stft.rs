//! The 2D short-time Fourier transform of two images: overlapping W x W
//! patches under a Hann window, so each frequency channel holds one complex
//! sample per patch and the pair of images becomes, per channel, an
//! instantaneous 2x2 mixture.

use rayon::prelude::*;
use realfft::RealFftPlanner;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex32;

/// Per-channel samples of both images' windowed spectra.
pub struct Channels {
    /// Signed frequency (ky, kx) of each channel in cycles per window; one of
    /// each conjugate pair, DC left out.
    pub bins: Vec<(i32, i32)>,
    /// Samples per channel.
    pub count: usize,
    /// Channel c's samples of the first image: `first[c * count..(c + 1) * count]`.
    pub first: Vec<Complex32>,
    pub second: Vec<Complex32>,
}

impl Channels {
    /// The two images' samples of channel `c`.
    pub fn channel(&self, c: usize) -> (&[Complex32], &[Complex32]) {
        let range = c * self.count..(c + 1) * self.count;
        (&self.first[range.clone()], &self.second[range])
    }
}

/// The periodic Hann window of `n` samples (its transform has a main lobe of
/// +-2 bins and side lobes 31 dB down: little leakage between channels).
pub fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let s = (std::f32::consts::PI * (i as f32 + 0.5) / n as f32).sin();
            s * s
        })
        .collect()
}

/// Every channel of a W x W transform worth separating: kx in 1..W/2 for
/// every ky, and kx = 0 for ky in 1..W/2 (the rest are conjugates, DC or
/// Nyquist). Signed (ky, kx) in cycles per window.
pub fn all_bins(window: usize) -> Vec<(i32, i32)> {
    let w = window as i32;
    let mut bins = Vec::new();
    for ky in 0..w {
        let signed_ky = if ky >= w / 2 { ky - w } else { ky };
        for kx in 0..w / 2 {
            if kx == 0 && !(1..w / 2).contains(&ky) {
                continue;
            }
            bins.push((signed_ky, kx));
        }
    }
    bins
}

/// Transforms every pair of equally sized planes (`height x width`) with a
/// `window`-sided patch every `hop` pixels, keeping the channels `bins` (from
/// [`all_bins`]); the samples of all pairs are pooled per channel (the pairs
/// are filtered copies of the same two images, so they share each channel's
/// mixture).
pub fn transform(
    pairs: &[(&[f32], &[f32])],
    height: usize,
    width: usize,
    window: usize,
    hop: usize,
    bins: Vec<(i32, i32)>,
) -> Channels {
    let positions: Vec<(usize, usize)> = if height < window || width < window {
        Vec::new()
    } else {
        let rows = (height - window) / hop + 1;
        let cols = (width - window) / hop + 1;
        (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (r * hop, c * hop)))
            .collect()
    };
    let patches: Vec<(usize, (usize, usize))> = (0..pairs.len())
        .flat_map(|p| positions.iter().map(move |&at| (p, at)))
        .collect();
    let count = patches.len();
    let taper = hann(window);
    let row_fft = RealFftPlanner::<f32>::new().plan_fft_forward(window);
    let column_fft = FftPlanner::<f32>::new().plan_fft_forward(window);
    let half = window / 2 + 1;
    // Patch-major spectra, transposed to channel-major below.
    let mut by_patch = vec![Complex32::default(); 2 * count * bins.len()];
    by_patch
        .par_chunks_mut(2 * bins.len())
        .zip(patches.par_iter())
        .for_each_init(
            || {
                (
                    vec![0.0f32; window],
                    vec![Complex32::default(); half * window],
                    vec![Complex32::default(); window],
                )
            },
            |(row, spectrum, column), (out, &(pair, (top, left)))| {
                for (image, plane) in [pairs[pair].0, pairs[pair].1].into_iter().enumerate() {
                    for y in 0..window {
                        let source = &plane[(top + y) * width + left..(top + y) * width + left + window];
                        for x in 0..window {
                            row[x] = source[x] * taper[x] * taper[y];
                        }
                        let _ = row_fft.process(row, &mut spectrum[y * half..(y + 1) * half]);
                    }
                    for kx in 0..window / 2 {
                        for y in 0..window {
                            column[y] = spectrum[y * half + kx];
                        }
                        column_fft.process(column);
                        for y in 0..window {
                            spectrum[y * half + kx] = column[y];
                        }
                    }
                    let target = &mut out[image * bins.len()..(image + 1) * bins.len()];
                    for (t, &(ky, kx)) in target.iter_mut().zip(&bins) {
                        let ky = ky.rem_euclid(window as i32) as usize;
                        *t = spectrum[ky * half + kx as usize];
                    }
                }
            },
        );
    let channels = bins.len();
    let mut first = vec![Complex32::default(); channels * count];
    let mut second = vec![Complex32::default(); channels * count];
    first
        .par_chunks_mut(count.max(1))
        .zip(second.par_chunks_mut(count.max(1)))
        .enumerate()
        .for_each(|(c, (f, s))| {
            for n in 0..count {
                f[n] = by_patch[n * 2 * channels + c];
                s[n] = by_patch[n * 2 * channels + channels + c];
            }
        });
    Channels {
        bins,
        count,
        first,
        second,
    }
}

/// Forward differences along x and y over the valid region: the pair of
/// filters whose summed power |D_x|^2 + |D_y|^2 ~ |w|^2 flattens a natural
/// image's 1/|w|^2 spectrum, so a window's leakage between channels is
/// nearly even. Returns (dx, dy), each `(height - 1) x (width - 1)`.
pub fn differences(plane: &[f32], height: usize, width: usize) -> (Vec<f32>, Vec<f32>) {
    let (h, w) = (height - 1, width - 1);
    let mut dx = vec![0.0f32; h * w];
    let mut dy = vec![0.0f32; h * w];
    dx.par_chunks_mut(w)
        .zip(dy.par_chunks_mut(w))
        .enumerate()
        .for_each(|(y, (rx, ry))| {
            let row = &plane[y * width..(y + 1) * width];
            let below = &plane[(y + 1) * width..(y + 2) * width];
            for x in 0..w {
                rx[x] = row[x + 1] - row[x];
                ry[x] = below[x] - row[x];
            }
        });
    (dx, dy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plane_wave_lands_in_its_channel() {
        let (h, w, window) = (64, 64, 16);
        let (ky, kx) = (-3i32, 2i32);
        let plane: Vec<f32> = (0..h * w)
            .map(|i| {
                let (y, x) = ((i / w) as f32, (i % w) as f32);
                let phase = std::f32::consts::TAU * (ky as f32 * y + kx as f32 * x) / window as f32;
                phase.cos()
            })
            .collect();
        let channels = transform(&[(&plane, &plane)], h, w, window, 8, all_bins(window));
        let power: Vec<f32> = (0..channels.bins.len())
            .map(|c| channels.channel(c).0.iter().map(|v| v.norm_sqr()).sum())
            .collect();
        let best = (0..power.len()).max_by(|&a, &b| power[a].total_cmp(&power[b])).unwrap();
        assert_eq!(channels.bins[best], (ky, kx));
        assert_eq!(channels.count, 49);
    }
}
