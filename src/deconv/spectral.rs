//! The image prepared for deconvolution (padded planes and their cached
//! spectra), and the one-pass spectral methods: Wiener and Tikhonov, with
//! their parameter chosen by generalized cross-validation when not given.

use std::sync::{Arc, OnceLock};

use super::auto::SpectrumModel;
use super::boundary::{Boundary, Layout};
use super::{noise, operators};
use crate::fft::{self, Complex32, Fft2d};
use crate::imaging::Image;
use crate::psf::Kernel;

/// An image placed in its FFT domain, with each plane's spectrum cached so that
/// a parameter change costs one pointwise pass and one inverse FFT per plane.
pub struct Prepared {
    pub layout: Layout,
    pub fft: Arc<Fft2d>,
    pub spectra: Vec<Vec<Complex32>>,
    /// Colour planes in the FFT domain (padded where the layout pads), made
    /// from the spectra on first use: Wiener and Tikhonov never need them.
    planes: OnceLock<Vec<Vec<f32>>>,
    alpha: Option<Vec<f32>>,
    /// |D_x|^2 + |D_y|^2 per frequency, built on Tikhonov's first use so a
    /// slider drag does not recompute it.
    gradient_energy: OnceLock<Vec<f32>>,
}

impl Prepared {
    /// Pads `image` for `boundary` (Periodic or Reflect) with room for a
    /// kernel of up to `kernel_height x kernel_width`, and transforms it.
    pub fn new(image: &Image, boundary: Boundary, kernel_height: usize, kernel_width: usize) -> Self {
        let layout = Layout::for_deconvolution(boundary, image.height, image.width, kernel_height, kernel_width);
        let fft = fft::plan(layout.height, layout.width);
        // Padded a row at a time inside the row pass: no padded plane is
        // allocated, written and read back.
        let pad_row = layout.row_padder();
        let spectra = image
            .planes
            .iter()
            .map(|plane| fft.forward_with(|y, row| pad_row(plane, y, row)))
            .collect();
        Prepared {
            layout,
            fft,
            spectra,
            planes: OnceLock::new(),
            alpha: image.alpha.clone(),
            gradient_energy: OnceLock::new(),
        }
    }

    /// The colour planes in the FFT domain (padded where the layout pads),
    /// transformed back from the spectra on first use.
    pub fn planes(&self) -> &[Vec<f32>] {
        self.planes
            .get_or_init(|| self.spectra.iter().map(|s| self.fft.inverse(s)).collect())
    }

    /// The kernel's OTF on this domain.
    pub fn otf(&self, kernel: &Kernel) -> Vec<Complex32> {
        operators::otf(kernel, &self.fft)
    }

    /// Crops domain-sized planes back to an image (alpha restored).
    pub fn finish(&self, planes: Vec<Vec<f32>>) -> Image {
        self.finish_cropped(planes.iter().map(|p| self.layout.crop(p)).collect())
    }

    /// Wraps planes already cropped to the image (alpha restored).
    fn finish_cropped(&self, planes: Vec<Vec<f32>>) -> Image {
        Image {
            width: self.layout.image_width,
            height: self.layout.image_height,
            planes,
            alpha: self.alpha.clone(),
        }
    }

    /// Applies `F = conj(H) G / (|H|^2 + regularizer)` to every plane,
    /// keeping the spectra for the next parameter. The gain is applied as
    /// the inverse column FFTs gather their input, and only the image's rows
    /// are transformed back, straight into the cropped result.
    fn filter(&self, otf: &[Complex32], regularizer: impl Fn(usize) -> f32 + Sync) -> Image {
        let gain = regularized_inverse(otf, regularizer);
        let mut work = vec![Complex32::default(); self.fft.spectrum_len()];
        let planes = self
            .spectra
            .iter()
            .map(|spectrum| {
                self.fft.inverse_columns_gained(spectrum, &gain, &mut work);
                self.crop_rows(&mut work)
            })
            .collect();
        self.finish_cropped(planes)
    }

    /// [`Prepared::filter`] for a one-shot run: the spectra are used as
    /// working memory, which saves a buffer and a pass over memory.
    fn into_filtered(mut self, otf: &[Complex32], regularizer: impl Fn(usize) -> f32 + Sync) -> Image {
        let gain = regularized_inverse(otf, regularizer);
        let planes = std::mem::take(&mut self.spectra)
            .into_iter()
            .map(|mut spectrum| {
                self.fft.inverse_columns_gained_in_place(&mut spectrum, &gain);
                self.crop_rows(&mut spectrum)
            })
            .collect();
        self.finish_cropped(planes)
    }

    /// The image's region of the plane whose spectrum has its columns
    /// already transformed back (`rows_spectrum` is used as working memory).
    fn crop_rows(&self, rows_spectrum: &mut [Complex32]) -> Vec<f32> {
        let layout = &self.layout;
        let mut plane = vec![0.0; layout.image_height * layout.image_width];
        let columns = layout.left..layout.left + layout.image_width;
        let rows = layout.top..layout.top + layout.image_height;
        self.fft.inverse_rows_into(rows_spectrum, rows, &mut plane, |row, out| {
            out.copy_from_slice(&row[columns.clone()]);
        });
        plane
    }

    /// Wiener: `F = conj(H) G / (|H|^2 + nsr)`.
    pub fn wiener(&self, otf: &[Complex32], nsr: f32) -> Image {
        self.filter(otf, |_| nsr)
    }

    /// [`Prepared::wiener`] for a one-shot run, consuming the prepared image.
    pub fn into_wiener(self, otf: &[Complex32], nsr: f32) -> Image {
        self.into_filtered(otf, |_| nsr)
    }

    /// Tikhonov with a Laplacian regularizer: `F = conj(H) G / (|H|^2 + lambda |P|^2)`.
    pub fn tikhonov(&self, otf: &[Complex32], lambda: f32) -> Image {
        let laplacian = self
            .gradient_energy
            .get_or_init(|| operators::gradient_energy(&self.fft));
        self.filter(otf, |i| lambda * laplacian[i] * laplacian[i])
    }

    /// [`Prepared::tikhonov`] for a one-shot run, consuming the prepared image.
    pub fn into_tikhonov(self, otf: &[Complex32], lambda: f32) -> Image {
        let laplacian = operators::gradient_energy(&self.fft);
        self.into_filtered(otf, |i| lambda * laplacian[i] * laplacian[i])
    }

    /// Measures the noise and models the signal's spectrum, from which the
    /// automatic parameters are chosen.
    pub fn analyze(&self, otf: &[Complex32]) -> SpectrumModel {
        SpectrumModel::fit(&self.fft, &self.spectra, otf, || {
            let planes: Vec<Vec<f32>> = self.planes().iter().map(|p| self.layout.crop(p)).collect();
            noise::estimate_noise_sigma_planes(&planes, self.layout.image_height, self.layout.image_width)
        })
    }
}

/// The gain `conj(H) / (|H|^2 + regularizer)` per frequency (zero where
/// both vanish).
fn regularized_inverse(
    otf: &[Complex32],
    regularizer: impl Fn(usize) -> f32 + Sync,
) -> impl Fn(usize) -> Complex32 + Sync {
    move |i| {
        let h = otf[i];
        let denominator = h.norm_sqr() + regularizer(i);
        if denominator > 0.0 {
            h.conj() / denominator
        } else {
            Complex32::default()
        }
    }
}
