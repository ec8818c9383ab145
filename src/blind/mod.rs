//! Blind PSF estimation: the blur from the blurred image alone.
//!
//! - [`estimate_parametric`]: fits a disk radius, a Gaussian sigma or a motion
//!   length and angle to the image's averaged power spectrum (fast; sets the
//!   sliders of the parametric PSFs).
//! - [`estimate_kernel`]: a free-form kernel (camera shake) by alternating a
//!   sparse-gradient image step and a non-negative kernel step, coarse to fine.
//! - [`deblur`]: the final non-blind deconvolution with an estimated kernel,
//!   tuned to keep ringing down.

mod input;
mod parametric;
mod spectrum;

pub use input::Region;
pub use parametric::{ParametricEstimate, ParametricModel, estimate_parametric, estimate_parametric_in};
mod kernel;
mod kernel_step;
mod latent;
mod pyramid;
mod restore;

pub use kernel::{
    KernelEstimate, KernelOptions, MAX_KERNEL_SIZE, MIN_KERNEL_SIZE, estimate_kernel, suggest_kernel_size,
};
pub use restore::deblur;
