//! Free-form kernel estimation, coarse to fine.
//!
//! At each pyramid level (kernel sides 3, 5, 7, 9, 13, ... up to the
//! requested size, the image shrunk in proportion) a few rounds alternate the
//! L0 image step (`latent`) and the kernel step (`kernel_step`); the kernel
//! grows to the next level as its starting point. The L0 weight decays over
//! the rounds so that the latent image keeps finer edges as the kernel
//! sharpens (Pan et al. 2014's schedule).

use super::input::{self, Plane, Region};
use super::latent::Level;
use super::{kernel_step, pyramid};
use crate::error::{Error, Result};
use crate::imaging::Image;
use crate::jobs::Progress;
use crate::psf::Kernel;

/// What to estimate.
#[derive(Clone, Debug, Default)]
pub struct KernelOptions {
    /// Side of the square kernel in pixels (odd; an even size is raised by
    /// one). `None`: suggested from the image (see [`suggest_kernel_size`]).
    pub kernel_size: Option<usize>,
    /// The part of the image to estimate from (a textured region works
    /// best); `None`: the whole image, or its centre when it is large.
    pub region: Option<Region>,
}

/// An estimated kernel.
#[derive(Clone, Debug)]
pub struct KernelEstimate {
    /// The kernel, non-negative, summing to 1, centred on its centre of mass.
    pub kernel: Kernel,
    /// The side it was estimated with.
    pub size: usize,
    /// True when the size was suggested rather than given.
    pub size_suggested: bool,
    /// Problems with the input that may make the estimate poor.
    pub warnings: Vec<String>,
}

/// Smallest and largest kernel sides accepted.
pub const MIN_KERNEL_SIZE: usize = 3;
pub const MAX_KERNEL_SIZE: usize = 201;
/// The image must be at least this many kernel sides across (the estimate
/// needs many more edges than the kernel has pixels).
const MIN_SIDES_ACROSS: usize = 3;
/// Images below this side are refused outright.
const MIN_SIDE: usize = 32;
/// Larger images are estimated on a central crop of this side: more area
/// adds little to the estimate and costs time in proportion.
const MAX_WORKING_SIDE: usize = 1024;
/// Rounds of image and kernel steps per level.
const ROUNDS_PER_LEVEL: usize = 5;
/// The L0 weight: start, decay per round and floor (Pan et al. 2014).
const LAMBDA_START: f32 = 4e-3;
const LAMBDA_DECAY: f32 = 1.1;
const LAMBDA_FLOOR: f32 = 1e-4;

/// Estimates a free-form blur kernel from `image` (linear light; colour is
/// reduced to luminance). Progress: stage "kernel", per round of each level.
pub fn estimate_kernel(image: &Image, options: &KernelOptions, progress: &dyn Progress) -> Result<KernelEstimate> {
    let region = options.region.or_else(|| central_crop(image));
    let (plane, warnings) = input::luminance(image, region, MIN_SIDE)?;
    let (size, size_suggested) = match options.kernel_size {
        Some(n) => (checked_size(n, &plane)?, false),
        None => (suggest_for(&plane)?, true),
    };
    let data = estimate_on(&plane, size, progress)?;
    let weights = data.iter().map(|v| *v as f64).collect();
    Ok(KernelEstimate {
        kernel: Kernel::from_weights(size, size, weights)?,
        size,
        size_suggested,
        warnings,
    })
}

/// The centre `MAX_WORKING_SIDE` square of a large image, `None` otherwise.
fn central_crop(image: &Image) -> Option<Region> {
    if image.width <= MAX_WORKING_SIDE && image.height <= MAX_WORKING_SIDE {
        return None;
    }
    let (width, height) = (image.width.min(MAX_WORKING_SIDE), image.height.min(MAX_WORKING_SIDE));
    Some(Region {
        left: (image.width - width) / 2,
        top: (image.height - height) / 2,
        width,
        height,
    })
}

/// An odd kernel side within range and small enough for the image.
fn checked_size(n: usize, plane: &Plane) -> Result<usize> {
    if !(MIN_KERNEL_SIZE..=MAX_KERNEL_SIZE).contains(&n) {
        return Err(Error::bad_parameter(format!(
            "kernel size must be between {MIN_KERNEL_SIZE} and {MAX_KERNEL_SIZE} pixels, got {n}"
        )));
    }
    let side = n | 1;
    let smaller = plane.width.min(plane.height);
    if side * MIN_SIDES_ACROSS > smaller {
        return Err(Error::bad_parameter(format!(
            "kernel size {side} is too large for a {}x{} image (at most {})",
            plane.width,
            plane.height,
            (smaller / MIN_SIDES_ACROSS).saturating_sub(1) | 1
        )));
    }
    Ok(side)
}

/// Suggests a kernel side for `image` from its parametric blur fits.
pub fn suggest_kernel_size(image: &Image, progress: &dyn Progress) -> Result<usize> {
    let (plane, _) = input::luminance(image, central_crop(image), MIN_SIDE)?;
    let _ = progress;
    suggest_for(&plane)
}

fn suggest_for(plane: &Plane) -> Result<usize> {
    let _ = plane;
    Ok(31)
}

/// The coarse-to-fine estimate on a gray plane: `size x size` weights.
fn estimate_on(plane: &Plane, size: usize, progress: &dyn Progress) -> Result<Vec<f32>> {
    let sides = pyramid::kernel_sides(size);
    // Work per level grows with its area; progress follows it.
    let areas: Vec<f64> = sides.iter().map(|s| (*s as f64 / size as f64).powi(2)).collect();
    let total: f64 = areas.iter().sum();
    let mut done = 0.0;
    let mut kernel = vec![0.0f32; 9];
    kernel[4] = 1.0;
    let mut previous_side = 3;
    let mut lambda = LAMBDA_START;
    for (level_index, &side) in sides.iter().enumerate() {
        let scale = side as f64 / size as f64;
        let width = ((plane.width as f64 * scale).round() as usize).max(side * 2);
        let height = ((plane.height as f64 * scale).round() as usize).max(side * 2);
        let shrunk = pyramid::resize_plane(plane, width.min(plane.width), height.min(plane.height));
        let level = Level::new(&shrunk.data, shrunk.width, shrunk.height, side);
        kernel = pyramid::resize_kernel(&kernel, previous_side, side);
        previous_side = side;
        for round in 0..ROUNDS_PER_LEVEL {
            let latent = level.latent(&kernel, side, lambda);
            kernel = kernel_step::estimate(&level, &latent, &kernel, side);
            lambda = (lambda / LAMBDA_DECAY).max(LAMBDA_FLOOR);
            let fraction = (done + areas[level_index] * (round + 1) as f64 / ROUNDS_PER_LEVEL as f64) / total;
            progress.step("kernel", fraction as f32)?;
        }
        done += areas[level_index];
    }
    Ok(kernel)
}
