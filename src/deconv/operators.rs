//! The linear operators of the methods, on a periodic FFT domain: the blur
//! (its OTF), finite differences and the Laplacian.

use std::f32::consts::TAU;

use crate::fft::{Complex32, Fft2d, SparseRows};
use crate::psf::Kernel;

/// The kernel placed on a `height x width` periodic domain with its centre at
/// [0, 0] (wrapping around): the image whose transform is the OTF. Needs the
/// kernel to fit the domain.
pub fn place_kernel(kernel: &Kernel, height: usize, width: usize) -> Vec<f32> {
    let mut placed = vec![0.0f32; height * width];
    for (y, row) in placed_rows(kernel, height, width) {
        placed[y * width..(y + 1) * width].copy_from_slice(&row);
    }
    placed
}

/// The non-zero rows of [`place_kernel`]'s image, with their row indices.
fn placed_rows(kernel: &Kernel, height: usize, width: usize) -> Vec<(usize, Vec<f32>)> {
    assert!(
        kernel.height <= height && kernel.width <= width,
        "kernel must fit the FFT domain"
    );
    let (cy, cx) = (kernel.height / 2, kernel.width / 2);
    (0..kernel.height)
        .map(|r| {
            let mut row = vec![0.0f32; width];
            for c in 0..kernel.width {
                row[(c + width - cx) % width] += kernel.at(r, c);
            }
            ((r + height - cy) % height, row)
        })
        .collect()
}

/// The optical transfer function: the placed kernel, transformed. Only the
/// kernel's rows are non-zero, so only they go through the row FFT.
pub fn otf(kernel: &Kernel, fft: &Fft2d) -> Vec<Complex32> {
    fft.forward_sparse_rows(&placed_rows(kernel, fft.height, fft.width))
}

/// The OTF's row half: the placed kernel's rows, transformed (the one-shot
/// filters finish its columns block by block).
pub fn otf_rows(kernel: &Kernel, fft: &Fft2d) -> SparseRows {
    fft.forward_rows_sparse(&placed_rows(kernel, fft.height, fft.width))
}

/// |D_x|^2 + |D_y|^2 per stored frequency, for forward differences: the
/// symbol of the negative 5-point Laplacian.
pub fn gradient_energy(fft: &Fft2d) -> Vec<f32> {
    let (ex, ey) = gradient_energy_axes(fft);
    let mut out = vec![0.0; fft.spectrum_len()];
    for (kx, ex) in ex.iter().enumerate() {
        for (ky, ey) in ey.iter().enumerate() {
            out[fft.frequency(ky, kx)] = ex + ey;
        }
    }
    out
}

/// [`gradient_energy`]'s two terms, |D_x|^2 per stored column and |D_y|^2
/// per row: the energy at (ky, kx) is their sum.
pub fn gradient_energy_axes(fft: &Fft2d) -> (Vec<f32>, Vec<f32>) {
    let axis = |count: usize, length: usize| -> Vec<f32> {
        (0..count)
            .map(|k| 2.0 - 2.0 * (TAU * k as f32 / length as f32).cos())
            .collect()
    };
    (axis(fft.columns, fft.width), axis(fft.height, fft.height))
}

/// Forward differences with wrap-around: (f[x+1] - f[x], f[y+1] - f[y]).
pub fn gradient(f: &[f32], height: usize, width: usize, dx: &mut [f32], dy: &mut [f32]) {
    use rayon::prelude::*;
    dx.par_chunks_mut(width)
        .zip(dy.par_chunks_mut(width))
        .enumerate()
        .for_each(|(y, (row_dx, row_dy))| {
            let row = &f[y * width..(y + 1) * width];
            let below = &f[((y + 1) % height) * width..((y + 1) % height + 1) * width];
            for x in 0..width {
                row_dx[x] = row[(x + 1) % width] - row[x];
                row_dy[x] = below[x] - row[x];
            }
        });
}

/// The adjoint of [`gradient`]: D_x^T a + D_y^T b (a negative divergence).
pub fn gradient_adjoint(a: &[f32], b: &[f32], height: usize, width: usize, out: &mut [f32]) {
    use rayon::prelude::*;
    out.par_chunks_mut(width).enumerate().for_each(|(y, row_out)| {
        let above = ((y + height - 1) % height) * width;
        let here = y * width;
        for x in 0..width {
            let left = (x + width - 1) % width;
            row_out[x] = (a[here + left] - a[here + x]) + (b[above + x] - b[here + x]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fft;

    /// The row-skipping OTF is the transform of the placed kernel, also for
    /// an asymmetric kernel that fills the domain.
    #[test]
    fn otf_is_the_transform_of_the_placed_kernel() {
        for (kh, kw, h, w) in [(3, 5, 8, 10), (8, 10, 8, 10), (1, 1, 4, 6)] {
            let weights: Vec<f64> = (0..kh * kw).map(|i| 1.0 + ((i * 7) % 5) as f64).collect();
            let kernel = Kernel::from_weights(kw, kh, weights).unwrap();
            let plan = fft::plan(h, w);
            let want = plan.forward(&place_kernel(&kernel, h, w));
            let got = otf(&kernel, &plan);
            assert!(
                got.iter().zip(&want).all(|(a, b)| (a - b).norm() < 1e-6),
                "{kh}x{kw} on {h}x{w}"
            );
        }
    }

    #[test]
    fn gradient_adjoint_is_the_adjoint() {
        let (h, w) = (6, 9);
        let f: Vec<f32> = (0..h * w).map(|i| ((i * 37) % 11) as f32 * 0.1).collect();
        let a: Vec<f32> = (0..h * w).map(|i| ((i * 13) % 7) as f32 * 0.2).collect();
        let b: Vec<f32> = (0..h * w).map(|i| ((i * 5) % 9) as f32 * 0.3).collect();
        let (mut dx, mut dy, mut adj) = (vec![0.0; h * w], vec![0.0; h * w], vec![0.0; h * w]);
        gradient(&f, h, w, &mut dx, &mut dy);
        gradient_adjoint(&a, &b, h, w, &mut adj);
        let lhs: f32 = dx.iter().zip(&a).chain(dy.iter().zip(&b)).map(|(p, q)| p * q).sum();
        let rhs: f32 = f.iter().zip(&adj).map(|(p, q)| p * q).sum();
        assert!((lhs - rhs).abs() < 1e-3, "{lhs} vs {rhs}");
    }

    #[test]
    fn gradient_energy_matches_the_laplacian_spectrum() {
        let (h, w) = (8, 10);
        let plan = fft::plan(h, w);
        let mut laplacian = vec![0.0f32; h * w];
        laplacian[0] = 4.0;
        laplacian[1] = -1.0;
        laplacian[w - 1] = -1.0;
        laplacian[w] = -1.0;
        laplacian[(h - 1) * w] = -1.0;
        let spectrum = plan.forward(&laplacian);
        for (s, e) in spectrum.iter().zip(gradient_energy(&plan)) {
            assert!((s.re - e).abs() < 1e-4 && s.im.abs() < 1e-4);
        }
    }
}
