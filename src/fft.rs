//! CPU 2D real FFTs (realfft for rows, rustfft for columns, rayon across
//! rows and column blocks), with plans cached per size.
//!
//! A spectrum of an `height x width` real image holds `height` rows of
//! `width / 2 + 1` frequencies, row-major. Column transforms gather a block of
//! columns into a small contiguous buffer (cache-sized), transform it, and
//! scatter it back, so no full-size transpose or temporary is needed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
pub use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

/// A 2D real FFT plan for one size. Build it with [`plan`] (cached).
pub struct Fft2d {
    pub height: usize,
    pub width: usize,
    /// Stored frequencies per row: `width / 2 + 1`.
    pub columns: usize,
    row_forward: Arc<dyn RealToComplex<f32>>,
    row_inverse: Arc<dyn ComplexToReal<f32>>,
    column_forward: Arc<dyn Fft<f32>>,
    column_inverse: Arc<dyn Fft<f32>>,
}

/// Columns transformed together: 16 complex f32 are two cache lines per row,
/// and a block of a few thousand rows stays in L2.
const COLUMN_BLOCK: usize = 16;

/// Plans by (height, width).
type PlanCache = Mutex<HashMap<(usize, usize), Arc<Fft2d>>>;

/// The cached plan for `height x width`.
pub fn plan(height: usize, width: usize) -> Arc<Fft2d> {
    static CACHE: OnceLock<PlanCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut plans = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    plans
        .entry((height, width))
        .or_insert_with(|| Arc::new(Fft2d::new(height, width)))
        .clone()
}

/// A pointer that column blocks write through: each block touches only its
/// own columns, so the writes of parallel blocks never overlap.
#[derive(Clone, Copy)]
struct SharedSpectrum(*mut Complex32);
// SAFETY: used only by `transform_columns`, whose blocks are disjoint.
unsafe impl Send for SharedSpectrum {}
unsafe impl Sync for SharedSpectrum {}

impl Fft2d {
    fn new(height: usize, width: usize) -> Self {
        let mut real = RealFftPlanner::<f32>::new();
        let mut complex = FftPlanner::<f32>::new();
        Fft2d {
            height,
            width,
            columns: width / 2 + 1,
            row_forward: real.plan_fft_forward(width),
            row_inverse: real.plan_fft_inverse(width),
            column_forward: complex.plan_fft_forward(height),
            column_inverse: complex.plan_fft_inverse(height),
        }
    }

    /// Length of a spectrum of this size.
    pub fn spectrum_len(&self) -> usize {
        self.columns * self.height
    }

    /// Index in a spectrum of frequency (row `ky`, column `kx`), kx <= width / 2.
    #[inline]
    pub fn frequency(&self, ky: usize, kx: usize) -> usize {
        ky * self.columns + kx
    }

    /// (ky, kx) of a spectrum index.
    #[inline]
    pub fn coordinates(&self, index: usize) -> (usize, usize) {
        (index / self.columns, index % self.columns)
    }

    /// Forward transform of a row-major real image (unnormalized).
    pub fn forward(&self, image: &[f32]) -> Vec<Complex32> {
        let mut spectrum = vec![Complex32::default(); self.spectrum_len()];
        self.forward_into(image, &mut spectrum);
        spectrum
    }

    /// Forward transform into a caller-owned spectrum buffer.
    pub fn forward_into(&self, image: &[f32], spectrum: &mut [Complex32]) {
        assert_eq!(image.len(), self.height * self.width, "image size must match the plan");
        assert_eq!(spectrum.len(), self.spectrum_len());
        let row_fft = &self.row_forward;
        spectrum
            .par_chunks_mut(self.columns)
            .zip(image.par_chunks(self.width))
            .for_each_init(
                || (row_fft.make_input_vec(), row_fft.make_scratch_vec()),
                |(input, scratch), (out, row)| {
                    // Zero rows are common in kernels placed for an OTF.
                    if row.iter().all(|v| *v == 0.0) {
                        out.fill(Complex32::default());
                        return;
                    }
                    input.copy_from_slice(row);
                    // Lengths come from the plan itself, so this cannot fail.
                    let _ = row_fft.process_with_scratch(input, out, scratch);
                },
            );
        self.transform_columns(spectrum, &self.column_forward);
    }

    /// Inverse transform, normalized so that `inverse(forward(x)) == x`.
    pub fn inverse(&self, spectrum: &[Complex32]) -> Vec<f32> {
        let mut image = vec![0.0; self.height * self.width];
        self.inverse_destroying(&mut spectrum.to_vec(), &mut image);
        image
    }

    /// Inverse transform into a caller-owned image, using `spectrum` as
    /// working memory (its contents are lost): no allocation of its size.
    pub fn inverse_destroying(&self, spectrum: &mut [Complex32], image: &mut [f32]) {
        assert_eq!(spectrum.len(), self.spectrum_len());
        assert_eq!(image.len(), self.height * self.width);
        self.transform_columns(spectrum, &self.column_inverse);
        let scale = 1.0 / (self.height * self.width) as f32;
        let row_fft = &self.row_inverse;
        let even = self.width.is_multiple_of(2);
        image
            .par_chunks_mut(self.width)
            .zip(spectrum.par_chunks_mut(self.columns))
            .for_each_init(
                || row_fft.make_scratch_vec(),
                |scratch, (out, row)| {
                    // A real signal's DC (and Nyquist) bins are real; drop rounding residue.
                    row[0].im = 0.0;
                    if even {
                        row[row.len() - 1].im = 0.0;
                    }
                    let _ = row_fft.process_with_scratch(row, out, scratch);
                    out.iter_mut().for_each(|v| *v *= scale);
                },
            );
    }

    /// Transforms every column of a row-major spectrum in place, a block of
    /// columns at a time.
    fn transform_columns(&self, spectrum: &mut [Complex32], fft: &Arc<dyn Fft<f32>>) {
        let (rows, columns) = (self.height, self.columns);
        let shared = SharedSpectrum(spectrum.as_mut_ptr());
        let blocks = columns.div_ceil(COLUMN_BLOCK);
        (0..blocks).into_par_iter().for_each_init(
            || {
                (
                    vec![Complex32::default(); rows * COLUMN_BLOCK],
                    vec![Complex32::default(); fft.get_inplace_scratch_len()],
                )
            },
            |(local, scratch), block| {
                let first = block * COLUMN_BLOCK;
                let count = COLUMN_BLOCK.min(columns - first);
                let local = &mut local[..rows * count];
                let base = shared;
                // SAFETY: block `block` reads and writes only columns
                // first..first + count of each row, inside the spectrum.
                unsafe {
                    for r in 0..rows {
                        let row = base.0.add(r * columns + first);
                        for c in 0..count {
                            *local.get_unchecked_mut(c * rows + r) = *row.add(c);
                        }
                    }
                }
                fft.process_with_scratch(local, scratch);
                unsafe {
                    for r in 0..rows {
                        let row = base.0.add(r * columns + first);
                        for c in 0..count {
                            *row.add(c) = *local.get_unchecked(c * rows + r);
                        }
                    }
                }
            },
        );
    }
}

/// Smallest n' >= n whose prime factors are 2, 3, 5 and 7 (fast FFT sizes).
pub fn fast_size(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut k = m;
        for p in [2, 3, 5, 7] {
            while k.is_multiple_of(p) {
                k /= p;
            }
        }
        if k == 1 {
            return m;
        }
        m += 1;
    }
}

/// Smallest even fast size >= n (real FFTs are fastest on even lengths).
pub fn fast_even_size(n: usize) -> usize {
    let mut m = fast_size(n);
    while m % 2 == 1 {
        m = fast_size(m + 1);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slow, obvious 2D DFT of a real image, returning full-size spectrum.
    fn naive_dft(image: &[f32], h: usize, w: usize) -> Vec<(f64, f64)> {
        let mut out = vec![(0.0, 0.0); h * w];
        for ky in 0..h {
            for kx in 0..w {
                let (mut re, mut im) = (0.0, 0.0);
                for y in 0..h {
                    for x in 0..w {
                        let phase =
                            -2.0 * std::f64::consts::PI * ((ky * y) as f64 / h as f64 + (kx * x) as f64 / w as f64);
                        re += image[y * w + x] as f64 * phase.cos();
                        im += image[y * w + x] as f64 * phase.sin();
                    }
                }
                out[ky * w + kx] = (re, im);
            }
        }
        out
    }

    fn seeded(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn forward_matches_naive_dft_and_inverse_round_trips() {
        for (h, w) in [(8, 8), (9, 12), (15, 7), (1, 6), (10, 1)] {
            let image = seeded(h * w, (h * 31 + w) as u64);
            let fft = plan(h, w);
            let spectrum = fft.forward(&image);
            let reference = naive_dft(&image, h, w);
            for ky in 0..h {
                for kx in 0..fft.columns {
                    let got = spectrum[fft.frequency(ky, kx)];
                    let want = reference[ky * w + kx];
                    assert!(
                        (got.re as f64 - want.0).abs() < 1e-4 && (got.im as f64 - want.1).abs() < 1e-4,
                        "{h}x{w} at ({ky},{kx})"
                    );
                }
            }
            let back = fft.inverse(&spectrum);
            for (a, b) in back.iter().zip(&image) {
                assert!((a - b).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn fast_sizes_have_small_factors() {
        assert_eq!(fast_size(1), 1);
        assert_eq!(fast_size(11), 12);
        assert_eq!(fast_size(97), 98);
        assert_eq!(fast_even_size(15), 16);
        assert_eq!(fast_even_size(27), 28);
        assert_eq!(fast_even_size(1001), 1008);
    }
}
