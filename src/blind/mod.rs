//! Blind PSF estimation: the blur from the blurred image alone.
//!
//! - [`estimate_parametric`] (or [`estimate_parametric_in`] on a region): fits
//!   a disk radius, a Gaussian sigma or a motion length and angle to the
//!   image's averaged power spectrum (0.1-0.4 s; sets the sliders of the
//!   parametric PSFs).
//! - [`estimate_kernel`]: a free-form kernel (camera shake) by alternating a
//!   sparse-gradient image step and a non-negative kernel step, coarse to
//!   fine, on the whole image or a region; [`suggest_kernel_size`] proposes
//!   its size.
//! - [`deblur`]: the final non-blind deconvolution with an estimated kernel,
//!   tuned to keep the ringing of kernel errors down.
//!
//! Every entry point takes linear-light images (colour is reduced to
//! luminance for estimation), reports progress and honours cancellation
//! through `&dyn Progress`, and refuses flat, tiny or non-finite input with
//! `Error::BadParameter`; clipped highlights give warnings in the result.

mod input;
mod kernel;
mod kernel_step;
mod latent;
mod parametric;
mod pyramid;
mod restore;
mod spectrum;

pub use input::Region;
pub use kernel::{
    KernelEstimate, KernelOptions, MAX_KERNEL_SIZE, MIN_KERNEL_SIZE, estimate_kernel, suggest_kernel_size,
};
pub use parametric::{ParametricEstimate, ParametricModel, estimate_parametric, estimate_parametric_in};
pub use restore::deblur;
