//! Non-blind deconvolution on the CPU: Wiener, Tikhonov, total variation and
//! Richardson–Lucy, with boundary handling and parameters chosen from the
//! image when the caller gives none.

mod auto;
mod boundary;
mod noise;
mod operators;
mod rl;
mod spectral;
mod tv;

use std::fmt;
use std::str::FromStr;

pub use auto::SpectrumModel;
pub use boundary::{Boundary, Layout, looks_periodic};
pub use noise::{estimate_noise_sigma, estimate_noise_sigma_planes, wavelet_noise_sigma};
pub use operators::{gradient, gradient_adjoint, gradient_energy, otf, otf_rows, place_kernel};
pub use rl::richardson_lucy;
pub use spectral::{Prepared, RowTransformed};
pub use tv::{total_variation, tv_penalty};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::imaging::{Image, LightSpace};
use crate::jobs::Progress;
use crate::psf::Kernel;

/// A deconvolution method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Wiener,
    Tikhonov,
    TotalVariation,
    RichardsonLucy,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Wiener,
        Method::Tikhonov,
        Method::TotalVariation,
        Method::RichardsonLucy,
    ];

    /// True for the methods that iterate (and take `iterations`).
    pub fn is_iterative(self) -> bool {
        matches!(self, Method::TotalVariation | Method::RichardsonLucy)
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "wiener" => Ok(Method::Wiener),
            "tikhonov" => Ok(Method::Tikhonov),
            "tv" => Ok(Method::TotalVariation),
            "rl" => Ok(Method::RichardsonLucy),
            other => Err(Error::bad_parameter(format!(
                "unknown method '{other}': use wiener, tikhonov, tv or rl"
            ))),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Wiener => "wiener",
            Method::Tikhonov => "tikhonov",
            Method::TotalVariation => "tv",
            Method::RichardsonLucy => "rl",
        })
    }
}

/// What the caller asks for; `None` means "choose from the image".
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub method: Method,
    /// Wiener's noise-to-signal ratio K.
    pub nsr: Option<f64>,
    /// Tikhonov's Laplacian weight, or TV's weight.
    pub lambda: Option<f64>,
    pub iterations: Option<usize>,
    pub boundary: Boundary,
    /// The least noise (standard deviation, linear light) the automatic
    /// parameters assume, e.g. the file's quantization and compression error
    /// (`imaging::noise_floor`).
    pub noise_floor: Option<f64>,
    /// The space the input file stored its values in (`Decoded::space`):
    /// the automatic TV weight is larger for sRGB-encoded files.
    pub source_space: LightSpace,
    /// TV's automatic weight as this multiple of the noise variance instead
    /// of the contrast rule (`auto_tv_lambda`): `unblur blind`'s final step
    /// keeps its own.
    pub tv_weight_per_variance: Option<f64>,
}

/// What was actually used, for reports and for reproducing a result.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub method: Method,
    /// The method's parameter: K for Wiener, lambda for Tikhonov and TV
    /// (none for Richardson–Lucy).
    pub parameter: Option<f64>,
    pub iterations: Option<usize>,
    /// Periodic or Reflect.
    pub boundary: Boundary,
    pub noise_sigma: f64,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.method)?;
        match (self.method, self.parameter) {
            (Method::Wiener, Some(k)) => write!(f, " nsr={k:.3e}")?,
            (_, Some(l)) => write!(f, " lambda={l:.3e}")?,
            _ => {}
        }
        if let Some(n) = self.iterations {
            write!(f, " iters={n}")?;
        }
        let boundary = if self.boundary == Boundary::Periodic {
            "periodic"
        } else {
            "reflect"
        };
        write!(f, " boundary={boundary} noise={:.2e}", self.noise_sigma)
    }
}

/// Most iterations accepted: far past any useful count.
pub const MAX_ITERATIONS: usize = 100_000;
/// Default iterations of total variation.
pub const TV_ITERATIONS: usize = 100;
/// Richardson–Lucy stops early to keep noise down: by default after
/// `RL_ITERATIONS_PER_RELATIVE_NOISE * m / sigma` iterations (`m` the mean
/// level), within this range. Its updates are multiplicative, so a global
/// gain changes nothing but the noise relative to the level; the former
/// `0.5 / sigma` gave a 16x dimmer copy 200 iterations instead of 47, 5.3 dB
/// worse. Over 210 cases (gray and colour, see `TV_WEIGHT_RATE`) the best
/// count followed the mean level better than its RMS or 99th percentile;
/// this rule gained 0.14 dB on them (BENCHMARKS.md).
const RL_ITERATIONS_PER_RELATIVE_NOISE: f64 = 1.12;
const RL_ITERATION_RANGE: (usize, usize) = (20, 200);
/// The automatic TV weight is `TV_WEIGHT_RATE * C^(1/4) * sigma^1.75 /
/// g^0.75`, with `g` the image's mean gradient (`auto::ImageStatistics`) and
/// `C` its colour planes. MAP under a Laplacian gradient prior gives
/// `2 sigma^2 / b`, `b` the sharp image's mean gradient: the weight follows
/// the image's contrast, so that a global gain s (a 12-bit range in a 16-bit
/// file, an underexposed photo) scales it by s, as it scales the balance of
/// the data term and the penalty. Measured with the true kernels over a grid
/// of weights on 210 cases (the 12 shared and 198 from `tools/oos_cases.py`,
/// gray and colour), the best weight went as `g^-1.16` (the blurred image's
/// `g`; the sharp image's predicted it worse); blending in the noise as above
/// fitted better than `sigma^2 / g` or `sigma^1.5 / g^0.5`. See BENCHMARKS.md.
const TV_WEIGHT_RATE: f64 = 0.0936;
const TV_WEIGHT_EXPONENT_SIGMA: f64 = 1.75;
const TV_WEIGHT_EXPONENT_GRADIENT: f64 = 0.75;
/// The penalty is coupled across colour planes; colour images wanted a
/// larger weight than gray ones, though less than the `sqrt(C)` that would
/// make a gray image stored as RGB the same problem (best `C^0.25` on the
/// 70 colour cases of `tools/oos_cases.py --colour` with the gray ones).
const TV_WEIGHT_COLOUR_EXPONENT: f64 = 0.25;
/// sRGB-encoded files need a larger TV weight in linear light: their noise
/// and compression error (colour JPEGs: chroma subsampled) sit in the encoded
/// values, largest in linear terms where the image is bright. Best 1.68x on
/// the 69 camera-pipeline cases (8-bit sRGB JPEGs, gray and colour).
const TV_WEIGHT_SRGB_FACTOR: f64 = 1.68;
/// Noise below a 16-bit step is not resolvable; the automatic TV weight uses
/// at least this sigma.
pub(crate) const MIN_NOISE_SIGMA: f64 = 1.0 / 65535.0;

/// The method's parameter and iteration count, given or automatic.
pub struct Resolved {
    pub parameter: Option<f64>,
    pub iterations: Option<usize>,
}

/// Fills in what `settings` leaves out from the image's spectrum model.
pub fn resolve_parameters(settings: &Settings, model: &SpectrumModel) -> Resolved {
    match settings.method {
        Method::Wiener => Resolved {
            parameter: Some(settings.nsr.unwrap_or_else(|| model.best_nsr())),
            iterations: None,
        },
        Method::Tikhonov => Resolved {
            parameter: Some(settings.lambda.unwrap_or_else(|| model.best_tikhonov_lambda())),
            iterations: None,
        },
        Method::TotalVariation => Resolved {
            parameter: Some(
                settings
                    .lambda
                    .unwrap_or_else(|| match settings.tv_weight_per_variance {
                        Some(rate) => rate * model.noise_sigma.max(MIN_NOISE_SIGMA).powi(2),
                        None => auto_tv_lambda(model, settings.source_space),
                    }),
            ),
            iterations: Some(settings.iterations.unwrap_or(TV_ITERATIONS)),
        },
        Method::RichardsonLucy => Resolved {
            parameter: None,
            iterations: Some(settings.iterations.unwrap_or_else(|| auto_rl_iterations(model))),
        },
    }
}

/// `Auto` becomes Periodic when the image's opposite edges join smoothly.
pub fn resolve_boundary(image: &Image, boundary: Boundary) -> Boundary {
    match boundary {
        Boundary::Auto if looks_periodic(&image.planes, image.height, image.width) => Boundary::Periodic,
        Boundary::Auto => Boundary::Reflect,
        chosen => chosen,
    }
}

/// A deconvolution ready to run: the image's rows transformed on the CPU,
/// the kernel's, the spectrum model and the parameters chosen from it. The
/// CPU path runs it; the GPU path takes its parameters, so both solve the
/// same problem.
pub struct Plan {
    pub staged: RowTransformed,
    pub kernel_rows: crate::fft::SparseRows,
    pub resolved: Resolved,
    pub boundary: Boundary,
    pub noise_sigma: f64,
}

impl Plan {
    /// Validates, resolves the boundary, transforms the rows and chooses
    /// parameters (the model needs only a few columns transformed).
    pub fn new(image: &Image, kernel: &Kernel, settings: &Settings, progress: &dyn Progress) -> Result<Self> {
        check_kernel_fits(image, kernel)?;
        validate_settings(settings)?;
        let boundary = resolve_boundary(image, settings.boundary);
        progress.step("preparing", 0.0)?;
        // The row pass checks the samples for NaN as it reads them.
        let staged = RowTransformed::new(image, boundary, kernel.height, kernel.width);
        if !staged.all_finite {
            return Err(non_finite_image());
        }
        let kernel_rows = staged.kernel_rows(kernel);
        let mut model = staged.analyze(&kernel_rows, &image.planes);
        if let Some(floor) = settings.noise_floor {
            model.raise_noise(floor);
        }
        Ok(Plan {
            resolved: resolve_parameters(settings, &model),
            noise_sigma: model.noise_sigma,
            staged,
            kernel_rows,
            boundary,
        })
    }

    /// What the plan runs with, for reports.
    pub fn applied(&self, method: Method) -> Applied {
        Applied {
            method,
            parameter: self.resolved.parameter,
            iterations: self.resolved.iterations,
            boundary: self.boundary,
            noise_sigma: self.noise_sigma,
        }
    }

    /// The full spectra and the OTF (finished from the kernel's transformed
    /// rows), for the iterative methods.
    pub fn into_prepared(self) -> (Prepared, Vec<crate::fft::Complex32>) {
        let otf = self.staged.fft.forward_sparse(&self.kernel_rows);
        (self.staged.into_prepared(), otf)
    }
}

/// Deconvolves `image` (linear light) by `kernel` on the CPU.
pub fn deconvolve(
    image: &Image,
    kernel: &Kernel,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<(Image, Applied)> {
    let plan = Plan::new(image, kernel, settings, progress)?;
    let applied = plan.applied(settings.method);
    let value = plan.resolved.parameter.unwrap_or_default() as f32;
    let steps = plan.resolved.iterations.unwrap_or(1);
    let result = match settings.method {
        Method::Wiener => plan.staged.into_wiener(&plan.kernel_rows, value),
        Method::Tikhonov => plan.staged.into_tikhonov(&plan.kernel_rows, value),
        Method::TotalVariation => {
            let (prepared, otf) = plan.into_prepared();
            total_variation(&prepared, &otf, value, steps, progress)?
        }
        Method::RichardsonLucy => {
            let (prepared, otf) = plan.into_prepared();
            richardson_lucy(&prepared, &otf, steps, progress)?
        }
    };
    progress.report("done", 1.0);
    Ok((result, applied))
}

/// TV weight from the model's noise, mean gradient and colour planes (see
/// `TV_WEIGHT_RATE`), for input stored in `space`.
pub fn auto_tv_lambda(model: &SpectrumModel, space: LightSpace) -> f64 {
    let encoded = if space == LightSpace::Srgb {
        TV_WEIGHT_SRGB_FACTOR
    } else {
        1.0
    };
    // A flat image has no gradient; any weight leaves it flat.
    let gradient = model.statistics.mean_gradient.max(MIN_NOISE_SIGMA);
    let sigma = model.noise_sigma.max(MIN_NOISE_SIGMA);
    encoded
        * TV_WEIGHT_RATE
        * (model.channels.max(1) as f64).powf(TV_WEIGHT_COLOUR_EXPONENT)
        * sigma.powf(TV_WEIGHT_EXPONENT_SIGMA)
        / gradient.powf(TV_WEIGHT_EXPONENT_GRADIENT)
}

/// More iterations for cleaner images: noise grows with every iteration.
pub fn auto_rl_iterations(model: &SpectrumModel) -> usize {
    let (min, max) = RL_ITERATION_RANGE;
    let relative_noise = model.noise_sigma.max(MIN_NOISE_SIGMA) / model.statistics.mean_level.max(MIN_NOISE_SIGMA);
    ((RL_ITERATIONS_PER_RELATIVE_NOISE / relative_noise).round() as usize).clamp(min, max)
}

/// True when no sample is NaN or infinite. Multiplying by zero keeps only
/// non-finite values non-zero; 32 independent sums let the loop vectorize
/// instead of waiting on one running sum.
fn all_finite(plane: &[f32]) -> bool {
    plane.par_chunks(1 << 16).all(finite_samples)
}

/// [`all_finite`] on one thread, for a row already in cache.
pub(crate) fn finite_samples(values: &[f32]) -> bool {
    const LANES: usize = 32;
    let mut sums = [0.0f32; LANES];
    let lanes = values.chunks_exact(LANES);
    let rest = lanes.remainder().iter().fold(0.0f32, |acc, v| acc + v * 0.0);
    for lane in lanes {
        for (s, v) in sums.iter_mut().zip(lane) {
            *s += v * 0.0;
        }
    }
    rest == 0.0 && sums.iter().all(|s| *s == 0.0)
}

/// Checks sizes, values and parameters before any work.
pub fn validate(image: &Image, kernel: &Kernel, settings: &Settings) -> Result<()> {
    check_kernel_fits(image, kernel)?;
    check_finite(image)?;
    validate_settings(settings)
}

/// The PSF must fit inside the image.
pub fn check_kernel_fits(image: &Image, kernel: &Kernel) -> Result<()> {
    if kernel.height > image.height || kernel.width > image.width {
        return Err(Error::bad_parameter(format!(
            "PSF ({}x{}) is larger than the image ({}x{})",
            kernel.width, kernel.height, image.width, image.height
        )));
    }
    Ok(())
}

/// Every sample must be a number (one pass over the image).
pub fn check_finite(image: &Image) -> Result<()> {
    if image.planes.iter().any(|p| !all_finite(p)) {
        return Err(non_finite_image());
    }
    Ok(())
}

fn non_finite_image() -> Error {
    Error::bad_parameter("image holds NaN or infinite values")
}

/// Parameters must be positive and iterations in range.
pub fn validate_settings(settings: &Settings) -> Result<()> {
    for (name, value) in [("nsr", settings.nsr), ("lambda", settings.lambda)] {
        if let Some(v) = value
            && (!v.is_finite() || v <= 0.0)
        {
            return Err(Error::bad_parameter(format!(
                "--{name} must be a positive number, got {v}"
            )));
        }
    }
    if let Some(n) = settings.iterations
        && (n == 0 || n > MAX_ITERATIONS)
    {
        return Err(Error::bad_parameter(format!(
            "--iters must be between 1 and {MAX_ITERATIONS}, got {n}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_samples_are_found() {
        let mut plane = vec![0.5f32; 200_000];
        assert!(all_finite(&plane));
        plane[123_456] = f32::NAN;
        assert!(!all_finite(&plane));
        plane[123_456] = f32::NEG_INFINITY;
        assert!(!all_finite(&plane));
    }

    /// The row pass's check finds a bad sample anywhere, corners included,
    /// for every method and boundary, before any result is made.
    #[test]
    fn deconvolution_refuses_non_finite_images() {
        let kernel = "disk:r=2".parse::<crate::psf::PsfSpec>().unwrap().kernel().unwrap();
        let (w, h) = (40, 30);
        for (at, bad) in [(0, f32::NAN), (w * h - 1, f32::INFINITY), (17 * w + 3, f32::NAN)] {
            let mut plane = vec![0.5f32; w * h];
            plane[at] = bad;
            let image = Image::from_planes(w, h, vec![vec![0.5; w * h], plane]);
            for method in Method::ALL {
                for boundary in [Boundary::Periodic, Boundary::Reflect] {
                    let settings = Settings {
                        method,
                        boundary,
                        ..Settings::default()
                    };
                    let outcome = deconvolve(&image, &kernel, &settings, &crate::jobs::Silent);
                    let message = outcome.err().map(|e| e.to_string()).unwrap_or_default();
                    assert!(
                        message.contains("NaN or infinite"),
                        "{method} {boundary:?} at {at}: {message}"
                    );
                }
            }
        }
    }
}
