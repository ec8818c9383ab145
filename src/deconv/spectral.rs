//! The image prepared for deconvolution (padded planes and their cached
//! spectra), and the one-pass spectral methods: Wiener and Tikhonov, with
//! their parameter chosen from the spectrum model when not given.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::auto::{self, SampleGrid, SpectrumModel};
use super::boundary::{Boundary, Layout};
use super::{noise, operators};
use crate::fft::{self, Complex32, Fft2d, SparseRows};
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
    /// The image's level and contrast, measured once as it was transformed:
    /// a kernel change re-analyzes, the image stays the same.
    statistics: auto::ImageStatistics,
}

impl Prepared {
    /// Pads `image` for `boundary` (Periodic or Reflect) with room for a
    /// kernel of up to `kernel_height x kernel_width`, and transforms it.
    pub fn new(image: &Image, boundary: Boundary, kernel_height: usize, kernel_width: usize) -> Self {
        RowTransformed::transform(image, boundary, (kernel_height, kernel_width), false).into_prepared()
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
        finish_cropped(&self.layout, planes, self.alpha.clone())
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

    /// See [`crop_rows`].
    fn crop_rows(&self, rows_spectrum: &mut [Complex32]) -> Vec<f32> {
        crop_rows(&self.fft, &self.layout, rows_spectrum)
    }

    /// Wiener: `F = conj(H) G / (|H|^2 + nsr)`.
    pub fn wiener(&self, otf: &[Complex32], nsr: f32) -> Image {
        self.filter(otf, |_| nsr)
    }

    /// Tikhonov with a Laplacian regularizer: `F = conj(H) G / (|H|^2 + lambda |P|^2)`.
    pub fn tikhonov(&self, otf: &[Complex32], lambda: f32) -> Image {
        let laplacian = self
            .gradient_energy
            .get_or_init(|| operators::gradient_energy(&self.fft));
        self.filter(otf, |i| lambda * laplacian[i] * laplacian[i])
    }

    /// Measures the noise and models the signal's spectrum, from which the
    /// automatic parameters are chosen; `image` is the one prepared (the
    /// wavelet fallback of the noise estimate reads it).
    pub fn analyze(&self, otf: &[Complex32], image: &Image) -> SpectrumModel {
        let grid = SampleGrid::new(&self.fft);
        let channels: Vec<_> = self.spectra.iter().map(|s| grid.read(&self.fft, s)).collect();
        SpectrumModel::fit(
            &self.fft,
            &grid,
            &channels,
            &grid.read(&self.fft, otf),
            || noise::estimate_noise_sigma_planes(&image.planes, image.height, image.width),
            self.statistics,
        )
    }
}

/// An image placed in its FFT domain with only its rows transformed. That
/// is enough for the spectrum model (its samples are taken in the row
/// pass) and for the one-shot Wiener and Tikhonov filters, which
/// finish the columns, filter and transform them back in one pass; the
/// iterative methods and the editor complete it into a [`Prepared`].
pub struct RowTransformed {
    pub layout: Layout,
    pub fft: Arc<Fft2d>,
    rows: Vec<Vec<Complex32>>,
    /// Each plane's spectrum on the model's sample grid, taken in the row
    /// pass (none when made for a [`Prepared`], which reads its spectra).
    samples: Vec<Vec<Complex32>>,
    alpha: Option<Vec<f32>>,
    /// The image's level and contrast, for the automatic parameters.
    statistics: auto::ImageStatistics,
    /// False when a sample of the image is NaN or infinite (found as the
    /// rows were read, which saves a pass over the image).
    pub all_finite: bool,
}

impl RowTransformed {
    /// Pads `image` as [`Prepared::new`] does, transforming only the rows
    /// and sampling the spectra for the model on the way.
    pub fn new(image: &Image, boundary: Boundary, kernel_height: usize, kernel_width: usize) -> Self {
        Self::transform(image, boundary, (kernel_height, kernel_width), true)
    }

    fn transform(
        image: &Image,
        boundary: Boundary,
        (kernel_height, kernel_width): (usize, usize),
        sample: bool,
    ) -> Self {
        let layout = Layout::for_deconvolution(boundary, image.height, image.width, kernel_height, kernel_width);
        let fft = fft::plan(layout.height, layout.width);
        let grid = SampleGrid::new(&fft);
        // Padded a row at a time inside the row pass: no padded plane is
        // allocated, written and read back.
        let pad_row = layout.row_padder();
        let all_finite = AtomicBool::new(true);
        let mut samples = Vec::new();
        let rows = image
            .planes
            .iter()
            .map(|plane| {
                let mut rows = vec![Complex32::default(); fft.spectrum_len()];
                let fill = |y: usize, row: &mut [f32]| {
                    pad_row(plane, y, row);
                    if !super::finite_samples(row) {
                        all_finite.store(false, Ordering::Relaxed);
                    }
                };
                if sample && grid.foldable {
                    samples.push(fft.forward_rows_sampled(&mut rows, fill, grid.row_stride));
                } else {
                    fft.forward_rows_with(&mut rows, fill);
                }
                rows
            })
            .collect();
        RowTransformed {
            layout,
            fft,
            rows,
            samples,
            alpha: image.alpha.clone(),
            statistics: auto::ImageStatistics::measure(&image.planes, image.width),
            all_finite: all_finite.into_inner(),
        }
    }

    /// The kernel placed on the domain, its rows transformed.
    pub fn kernel_rows(&self, kernel: &Kernel) -> SparseRows {
        operators::otf_rows(kernel, &self.fft)
    }

    /// Measures the noise and models the signal's spectrum from the samples
    /// the row pass took (no full spectrum is stored); `planes` are the
    /// image's own (the wavelet fallback of the noise estimate reads them).
    pub fn analyze(&self, kernel_rows: &SparseRows, planes: &[Vec<f32>]) -> SpectrumModel {
        let grid = SampleGrid::new(&self.fft);
        let read;
        let (channels, otf) = if grid.foldable {
            let otf = self.fft.sample_sparse_columns(kernel_rows, grid.row_stride);
            (&self.samples, otf)
        } else {
            // Not sampled in the row pass: read from full spectra, made one
            // at a time.
            let full = |rows: &Vec<Complex32>| {
                let mut spectrum = rows.clone();
                self.fft.forward_columns(&mut spectrum);
                grid.read(&self.fft, &spectrum)
            };
            read = self.rows.iter().map(full).collect::<Vec<_>>();
            (&read, grid.read(&self.fft, &self.fft.forward_sparse(kernel_rows)))
        };
        SpectrumModel::fit(
            &self.fft,
            &grid,
            channels,
            &otf,
            || noise::estimate_noise_sigma_planes(planes, self.layout.image_height, self.layout.image_width),
            self.statistics,
        )
    }

    /// Finishes the column transforms: the full spectra.
    pub fn into_prepared(self) -> Prepared {
        let mut spectra = self.rows;
        for spectrum in &mut spectra {
            self.fft.forward_columns(spectrum);
        }
        Prepared {
            layout: self.layout,
            fft: self.fft,
            spectra,
            planes: OnceLock::new(),
            alpha: self.alpha,
            gradient_energy: OnceLock::new(),
            statistics: self.statistics,
        }
    }

    /// Wiener in one pass over the columns: `F = conj(H) G / (|H|^2 + nsr)`.
    pub fn into_wiener(self, kernel_rows: &SparseRows, nsr: f32) -> Image {
        self.into_filtered(kernel_rows, |_, _| nsr)
    }

    /// Tikhonov with a Laplacian regularizer in one pass over the columns:
    /// `F = conj(H) G / (|H|^2 + lambda |P|^2)`.
    pub fn into_tikhonov(self, kernel_rows: &SparseRows, lambda: f32) -> Image {
        let (ex, ey) = operators::gradient_energy_axes(&self.fft);
        self.into_filtered(kernel_rows, move |ky, kx| {
            let p = ex[kx] + ey[ky];
            lambda * p * p
        })
    }

    fn into_filtered(mut self, kernel_rows: &SparseRows, regularizer: impl Fn(usize, usize) -> f32 + Sync) -> Image {
        self.fft.filter_columns_fused(&mut self.rows, kernel_rows, |ky, kx, h| {
            regularized_inverse_of(h, regularizer(ky, kx))
        });
        let planes = self
            .rows
            .iter_mut()
            .map(|rows| crop_rows(&self.fft, &self.layout, rows))
            .collect();
        finish_cropped(&self.layout, planes, self.alpha)
    }
}

/// The image's region of the plane whose spectrum has its columns already
/// transformed back (`rows_spectrum` is used as working memory).
fn crop_rows(fft: &Fft2d, layout: &Layout, rows_spectrum: &mut [Complex32]) -> Vec<f32> {
    let mut plane = vec![0.0; layout.image_height * layout.image_width];
    let columns = layout.left..layout.left + layout.image_width;
    let rows = layout.top..layout.top + layout.image_height;
    fft.inverse_rows_into(rows_spectrum, rows, &mut plane, |row, out| {
        out.copy_from_slice(&row[columns.clone()]);
    });
    plane
}

/// Planes already cropped to the image, with its alpha, as an image.
fn finish_cropped(layout: &Layout, planes: Vec<Vec<f32>>, alpha: Option<Vec<f32>>) -> Image {
    Image {
        width: layout.image_width,
        height: layout.image_height,
        planes,
        alpha,
    }
}

/// The gain `conj(H) / (|H|^2 + regularizer)` per frequency (zero where
/// both vanish).
fn regularized_inverse(
    otf: &[Complex32],
    regularizer: impl Fn(usize) -> f32 + Sync,
) -> impl Fn(usize) -> Complex32 + Sync {
    move |i| regularized_inverse_of(otf[i], regularizer(i))
}

/// `conj(h) / (|h|^2 + regularizer)`, zero where both vanish.
#[inline]
fn regularized_inverse_of(h: Complex32, regularizer: f32) -> Complex32 {
    let denominator = h.norm_sqr() + regularizer;
    if denominator > 0.0 {
        h.conj() / denominator
    } else {
        Complex32::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psf::PsfSpec;

    /// The model from samples folded in the row pass (a height with a
    /// divisor near the wanted stride) or from full spectra made one at a
    /// time (a prime height) is the model read from the full spectra.
    #[test]
    fn row_pass_samples_give_the_full_spectra_model() {
        let kernel = "motion:len=9,angle=20".parse::<PsfSpec>().unwrap().kernel().unwrap();
        for (w, h, boundary, foldable) in [
            (600, 512, Boundary::Periodic, true),
            (600, 509, Boundary::Periodic, false),
            (500, 300, Boundary::Reflect, true),
        ] {
            let image = crate::imaging::synthetic(w, h);
            let staged = RowTransformed::new(&image, boundary, kernel.height, kernel.width);
            assert_eq!(SampleGrid::new(&staged.fft).foldable, foldable, "{w}x{h}");
            let from_rows = staged.analyze(&staged.kernel_rows(&kernel), &image.planes);
            let prepared = Prepared::new(&image, boundary, kernel.height, kernel.width);
            let from_spectra = prepared.analyze(&prepared.otf(&kernel), &image);
            let close = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-3;
            assert!(
                close(from_rows.noise_sigma, from_spectra.noise_sigma),
                "{w}x{h}: {} vs {}",
                from_rows.noise_sigma,
                from_spectra.noise_sigma
            );
            assert!(
                close(from_rows.best_nsr(), from_spectra.best_nsr()),
                "{w}x{h}: {} vs {}",
                from_rows.best_nsr(),
                from_spectra.best_nsr()
            );
        }
    }
}
