//! The image's averaged power spectrum (Welch's method): Hann-windowed square
//! patches, half-overlapping, their periodograms averaged. Averaging turns the
//! noisy periodogram into a smooth estimate of |H|^2 S + N, whose zero rings
//! and stripes show the blur.

use rayon::prelude::*;

use super::input::Plane;
use crate::fft;

/// At most this many patches are averaged (the stride grows to keep under
/// it): beyond a few hundred, more patches only cost time.
pub const MAX_PATCHES: usize = 400;

/// Power per frequency of a `size x size` patch, `size / 2 + 1` columns per
/// row (the real FFT layout), scaled so that white noise of variance s^2 reads s^2.
pub struct PowerSpectrum {
    pub size: usize,
    pub power: Vec<f64>,
}

impl PowerSpectrum {
    /// Power at frequency (ky, kx), ky in -size/2..size/2, kx >= 0.
    pub fn at(&self, ky: isize, kx: usize) -> f64 {
        let row = ky.rem_euclid(self.size as isize) as usize;
        self.power[row * (self.size / 2 + 1) + kx]
    }
}

/// The periodic Hann window of `n` points.
fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n as f32).cos())
        .collect()
}

/// Welch estimate over `size x size` patches of `plane` (which must be at
/// least `size` on each side).
pub fn welch(plane: &Plane, size: usize) -> PowerSpectrum {
    let window = hann(size);
    let window_energy: f64 = window.iter().map(|w| (*w as f64).powi(2)).sum::<f64>().powi(2);
    let positions = |length: usize, stride: usize| -> Vec<usize> {
        let count = (length - size) / stride + 1;
        // Spread the patches over the whole side.
        let spare = length - size - (count - 1) * stride;
        (0..count).map(|i| spare / 2 + i * stride).collect()
    };
    let mut stride = size / 2;
    while ((plane.height - size) / stride + 1) * ((plane.width - size) / stride + 1) > MAX_PATCHES {
        stride += size / 8;
    }
    let rows = positions(plane.height, stride);
    let cols = positions(plane.width, stride);
    let corners: Vec<(usize, usize)> = rows.iter().flat_map(|r| cols.iter().map(move |c| (*r, *c))).collect();
    let plan = fft::plan(size, size);
    let bins = plan.spectrum_len();
    let power = corners
        .par_iter()
        .fold(
            || (vec![0.0f64; bins], vec![0.0f32; size * size]),
            |(mut sum, mut patch), &(top, left)| {
                let mut mean = 0.0f64;
                for y in 0..size {
                    let row = &plane.data[(top + y) * plane.width + left..][..size];
                    patch[y * size..(y + 1) * size].copy_from_slice(row);
                    mean += row.iter().map(|v| *v as f64).sum::<f64>();
                }
                let mean = (mean / (size * size) as f64) as f32;
                for y in 0..size {
                    for x in 0..size {
                        let v = &mut patch[y * size + x];
                        *v = (*v - mean) * window[y] * window[x];
                    }
                }
                let spectrum = plan.forward(&patch);
                for (s, c) in sum.iter_mut().zip(&spectrum) {
                    *s += c.norm_sqr() as f64;
                }
                (sum, patch)
            },
        )
        .map(|(sum, _)| sum)
        .reduce(
            || vec![0.0f64; bins],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let scale = 1.0 / (corners.len() as f64 * window_energy);
    PowerSpectrum {
        size,
        power: power.iter().map(|p| p * scale).collect(),
    }
}
