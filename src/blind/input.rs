//! The image as blind estimation sees it: one luminance plane in linear light,
//! optionally cut to a region, checked for what makes estimation impossible
//! (too small, flat, non-finite) or unreliable (saturated).

use crate::error::{Error, Result};
use crate::imaging::{Image, LUMA};

/// A rectangle of the image, in pixels (`left`, `top` of its first pixel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub left: usize,
    pub top: usize,
    pub width: usize,
    pub height: usize,
}

/// Samples at or above this value (linear, of 1) count as clipped highlights.
const SATURATED_LEVEL: f32 = 0.98;
/// A warning is given when more than this fraction of pixels is clipped.
const SATURATED_WARNING_FRACTION: f64 = 0.02;
/// Standard deviation below which an image holds no detail to measure a blur
/// from (a tenth of an 8-bit step).
const FLAT_STD: f64 = 0.1 / 255.0;

fn too_few(width: usize, height: usize, min_side: usize) -> Error {
    Error::bad_parameter(format!(
        "{width}x{height} pixels are too few to estimate a blur from (at least {min_side}x{min_side})"
    ))
}

/// A gray working plane.
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

/// The luminance of `image` inside `region` (the whole image when `None`),
/// refusing images smaller than `min_side` pixels, flat images and
/// non-finite samples. Returns the plane and any warnings.
pub fn luminance(image: &Image, region: Option<Region>, min_side: usize) -> Result<(Plane, Vec<String>)> {
    // The whole image first, so that the message names its size rather than
    // the central crop a large image is estimated on.
    if image.width < min_side || image.height < min_side {
        return Err(too_few(image.width, image.height, min_side));
    }
    let region = region.unwrap_or(Region {
        left: 0,
        top: 0,
        width: image.width,
        height: image.height,
    });
    if region.width == 0
        || region.height == 0
        || region.left + region.width > image.width
        || region.top + region.height > image.height
    {
        return Err(Error::bad_parameter(format!(
            "region {}x{} at ({}, {}) is not inside the {}x{} image",
            region.width, region.height, region.left, region.top, image.width, image.height
        )));
    }
    if region.width < min_side || region.height < min_side {
        return Err(too_few(region.width, region.height, min_side));
    }
    let weights: Vec<f32> = if image.channels() == 3 {
        LUMA.to_vec()
    } else {
        vec![1.0 / image.channels() as f32; image.channels()]
    };
    let mut data = Vec::with_capacity(region.width * region.height);
    for y in region.top..region.top + region.height {
        let start = y * image.width + region.left;
        for x in start..start + region.width {
            data.push(image.planes.iter().zip(&weights).map(|(p, w)| p[x] * w).sum::<f32>());
        }
    }
    if data.iter().any(|v| !v.is_finite()) {
        return Err(Error::bad_parameter("image holds NaN or infinite values"));
    }
    let n = data.len() as f64;
    let mean = data.iter().map(|v| *v as f64).sum::<f64>() / n;
    let variance = data.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / n;
    if variance.sqrt() < FLAT_STD {
        return Err(Error::bad_parameter(
            "image is flat: it holds no detail to estimate a blur from",
        ));
    }
    let mut warnings = Vec::new();
    let clipped = data.iter().filter(|v| **v >= SATURATED_LEVEL).count() as f64 / n;
    if clipped > SATURATED_WARNING_FRACTION {
        warnings.push(format!(
            "{:.0}% of the pixels are clipped highlights; the blur estimate may be poor",
            clipped * 100.0
        ));
    }
    Ok((
        Plane {
            width: region.width,
            height: region.height,
            data,
        },
        warnings,
    ))
}

/// The centre `max_side` square of an image larger than that, `None` for
/// one that fits: large images are estimated on their centre.
pub fn central_region(image: &Image, max_side: usize) -> Option<Region> {
    if image.width <= max_side && image.height <= max_side {
        return None;
    }
    Some(centred_region(image.width, image.height, max_side))
}

/// The centre of a `width x height` frame, at most `max_side` pixels each way.
pub fn centred_region(width: usize, height: usize, max_side: usize) -> Region {
    let (inner_width, inner_height) = (width.min(max_side), height.min(max_side));
    Region {
        left: (width - inner_width) / 2,
        top: (height - inner_height) / 2,
        width: inner_width,
        height: inner_height,
    }
}
