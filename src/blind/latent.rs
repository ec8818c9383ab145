//! The image step: a sharp latent image with sparse gradients,
//! `argmin_x ||k * x - y||^2 + lambda ||grad x||_0` (Xu et al. 2013, Pan et
//! al. 2014), by half-quadratic splitting. An auxiliary gradient field g
//! takes the thresholded gradients of x (kept where |grad x|^2 >= lambda /
//! beta), then x solves a quadratic problem that is diagonal in Fourier;
//! beta grows geometrically. Only the strong edges survive, which is what
//! the kernel step needs: they carry the blur's shape without the noise and
//! fine texture that make least-squares kernels spread out.

use rayon::prelude::*;

use crate::deconv::Layout;
use crate::deconv::{self};
use crate::fft::{self, Complex32, Fft2d};
use std::sync::Arc;

/// The splitting weight starts at `2 lambda` and grows by this factor up to
/// `BETA_MAX` (Pan et al. use 2 and 1e5; a factor 4 halves the FFTs at
/// little cost in quality).
const BETA_GROWTH: f32 = 4.0;
pub const BETA_MAX: f32 = 1e5;

/// One pyramid level's observation on its periodic FFT domain.
pub struct Level {
    pub layout: Layout,
    pub fft: Arc<Fft2d>,
    /// The observed (blurred) plane, padded.
    pub observed: Vec<f32>,
    /// Its spectrum.
    pub spectrum: Vec<Complex32>,
    /// |D_x|^2 + |D_y|^2 per frequency.
    pub energy: Vec<f32>,
    /// Spectra of the observation's x and y gradients where the blur model
    /// holds: inside the image, half a kernel away from its borders (the
    /// padding mirrors the blur too, which would add a flipped ghost of the
    /// kernel to its estimate).
    pub observed_gradients: [Vec<Complex32>; 2],
}

impl Level {
    /// Pads `plane` (mirrored, tapered borders) with room for a kernel of
    /// `side`. The padding is only there to make the FFT's wrap-around
    /// smooth (the kernel step uses the image's interior), so it is about
    /// half a kernel per side, not the two kernels the non-blind methods pad
    /// with: `Layout` pads twice the size it is given (at least 16 px). The
    /// smaller domain made the finest levels about a fifth faster, with
    /// small changes either way in quality on the shared cases.
    pub fn new(data: &[f32], width: usize, height: usize, side: usize) -> Self {
        let half = (side / 2 + 1).div_ceil(2);
        let layout = Layout::new(deconv::Boundary::Reflect, height, width, half, half);
        let fft = fft::plan(layout.height, layout.width);
        let observed = layout.pad(data);
        let spectrum = fft.forward(&observed);
        let energy = deconv::gradient_energy(&fft);
        let inside = layout_window(&layout, side / 2 + 1);
        let [gx, gy] = masked_gradients(&observed, fft.height, fft.width, &inside);
        let observed_gradients = [fft.forward(&gx), fft.forward(&gy)];
        Level {
            layout,
            fft,
            observed,
            spectrum,
            energy,
            observed_gradients,
        }
    }

    /// Spectra of the gradients of a domain-sized plane inside the image.
    pub fn image_gradients(&self, plane: &[f32]) -> [Vec<Complex32>; 2] {
        let inside = layout_window(&self.layout, 0);
        let [gx, gy] = masked_gradients(plane, self.fft.height, self.fft.width, &inside);
        [self.fft.forward(&gx), self.fft.forward(&gy)]
    }

    /// `kernel` (`side x side`) applied to the domain-sized plane `x`
    /// (periodically).
    pub fn blurred(&self, x: &[f32], kernel: &[f32], side: usize) -> Vec<f32> {
        let fft = &self.fft;
        let otf = fft.forward(&place(kernel, side, fft.height, fft.width));
        let mut spectrum = fft.forward(x);
        spectrum.par_iter_mut().zip(otf.par_iter()).for_each(|(s, k)| *s *= k);
        let mut out = vec![0.0f32; fft.height * fft.width];
        fft.inverse_destroying(&mut spectrum, &mut out);
        out
    }

    /// The latent image for `kernel` (`side x side`) and L0 weight `lambda`.
    pub fn latent(&self, kernel: &[f32], side: usize, lambda: f32) -> Vec<f32> {
        let fft = &self.fft;
        let (h, w) = (fft.height, fft.width);
        let otf = fft.forward(&place(kernel, side, h, w));
        let data_term: Vec<Complex32> = otf
            .par_iter()
            .zip(self.spectrum.par_iter())
            .map(|(k, y)| k.conj() * y)
            .collect();
        let otf_energy: Vec<f32> = otf.par_iter().map(|k| k.norm_sqr()).collect();
        let mut x = self.observed.clone();
        let (mut gx, mut gy) = (vec![0.0f32; h * w], vec![0.0f32; h * w]);
        let mut rhs = vec![0.0f32; h * w];
        let mut spectrum = vec![Complex32::default(); fft.spectrum_len()];
        let mut beta = 2.0 * lambda;
        while beta < BETA_MAX {
            deconv::gradient(&x, h, w, &mut gx, &mut gy);
            let threshold = lambda / beta;
            gx.par_iter_mut().zip(gy.par_iter_mut()).for_each(|(a, b)| {
                if *a * *a + *b * *b < threshold {
                    *a = 0.0;
                    *b = 0.0;
                }
            });
            deconv::gradient_adjoint(&gx, &gy, h, w, &mut rhs);
            fft.forward_into(&rhs, &mut spectrum);
            spectrum
                .par_iter_mut()
                .zip(data_term.par_iter())
                .zip(otf_energy.par_iter().zip(self.energy.par_iter()))
                .for_each(|((s, d), (k2, e))| *s = (d + *s * beta) / (k2 + beta * e));
            fft.inverse_destroying(&mut spectrum, &mut x);
            beta *= BETA_GROWTH;
        }
        x
    }
}

/// A `side x side` kernel placed on an `h x w` periodic domain, centre at [0, 0].
pub fn place(kernel: &[f32], side: usize, h: usize, w: usize) -> Vec<f32> {
    let mut placed = vec![0.0f32; h * w];
    let c = side / 2;
    for r in 0..side {
        for col in 0..side {
            let y = (r + h - c) % h;
            let x = (col + w - c) % w;
            placed[y * w + x] += kernel[r * side + col];
        }
    }
    placed
}

/// Rows and columns of the image inside the domain, `inset` pixels in from
/// its borders: (top, bottom, left, right), half open.
#[derive(Clone, Copy)]
pub struct Window(usize, usize, usize, usize);

fn layout_window(layout: &Layout, inset: usize) -> Window {
    let inset_y = inset.min(layout.image_height / 2);
    let inset_x = inset.min(layout.image_width / 2);
    Window(
        layout.top + inset_y,
        layout.top + layout.image_height - inset_y,
        layout.left + inset_x,
        layout.left + layout.image_width - inset_x,
    )
}

/// Forward-difference gradients of `plane`, zero outside `window` (and on
/// its last row and column, whose differences reach outside).
fn masked_gradients(plane: &[f32], h: usize, w: usize, window: &Window) -> [Vec<f32>; 2] {
    let (mut gx, mut gy) = (vec![0.0f32; h * w], vec![0.0f32; h * w]);
    deconv::gradient(plane, h, w, &mut gx, &mut gy);
    let Window(top, bottom, left, right) = *window;
    for g in [&mut gx, &mut gy] {
        g.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
            if y < top || y + 1 >= bottom {
                row.fill(0.0);
            } else {
                row[..left].fill(0.0);
                row[right.saturating_sub(1)..].fill(0.0);
            }
        });
    }
    [gx, gy]
}
