//! Decoding files to `Image`, with the decode limit and the light-space rule.

use std::borrow::Cow;
use std::io::Cursor;
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::{BitDepth, Image, LightSpace, SpaceChoice, light, sample_tiff};
use crate::error::{Error, Result};

/// How to decode a file.
#[derive(Clone, Copy, Debug)]
pub struct DecodeOptions {
    pub space: SpaceChoice,
    /// Images with more pixels than this (in millions) are refused before decoding.
    pub max_megapixels: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            space: SpaceChoice::Auto,
            max_megapixels: super::DEFAULT_MAX_MEGAPIXELS,
        }
    }
}

/// A decoded file: the image in linear light and what is needed to write a
/// result the way the file was stored.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub image: Image,
    /// The space the stored values were in (and results are written back in).
    pub space: LightSpace,
    pub depth: BitDepth,
    pub format: ImageFormat,
    /// What the image was divided by: linear float files (counts, physical
    /// units) are scaled so that their largest magnitude is 1, the range the
    /// automatic parameters are made for; `in_file_units` multiplies a
    /// result back. 1 for integer and sRGB files.
    pub scale: f32,
    /// Images in the file: a TIFF stack holds several, of which the first
    /// was decoded (callers warn).
    pub pages: usize,
}

impl Decoded {
    /// `result` in this file's own units when written at `depth` (see
    /// `in_file_units`).
    pub fn in_file_units<'a>(&self, result: &'a Image, depth: BitDepth) -> Cow<'a, Image> {
        in_file_units(result, self.scale, depth)
    }

    /// Re-expresses the image as if its file had been divided by `scale`
    /// (another file's), so that two shots of one scene stay comparable.
    pub fn rescale_to(&mut self, scale: f32) {
        if self.scale != scale {
            self.image.multiply(self.scale / scale);
            self.scale = scale;
        }
    }
}

/// A result of data that was divided by `scale` on loading, in the file's
/// own units when written at `depth`: a float result gets the scale back
/// (a copy only then), an 8- or 16-bit one stays in [0, 1].
pub fn in_file_units(result: &Image, scale: f32, depth: BitDepth) -> Cow<'_, Image> {
    if depth == BitDepth::Float && scale != 1.0 {
        let mut scaled = result.clone();
        scaled.multiply(scale);
        Cow::Owned(scaled)
    } else {
        Cow::Borrowed(result)
    }
}

/// Decodes `path` to linear light following `options.space`.
pub fn load(path: &Path, options: &DecodeOptions) -> Result<Decoded> {
    let raw = decode_raw(path, options.max_megapixels)?;
    let space = match options.space {
        SpaceChoice::Srgb => LightSpace::Srgb,
        SpaceChoice::Linear => LightSpace::Linear,
        SpaceChoice::Auto => auto_space(&raw),
    };
    let mut image = raw.image;
    if space == LightSpace::Srgb {
        image.planes.iter_mut().for_each(|p| light::decode_plane(p));
    }
    let scale = if raw.depth == BitDepth::Float && space == LightSpace::Linear {
        largest_magnitude(&image)
    } else {
        1.0
    };
    if scale != 1.0 {
        image.divide(scale);
    }
    Ok(Decoded {
        image,
        space,
        depth: raw.depth,
        format: raw.format,
        scale,
        pages: raw.pages,
    })
}

/// The largest finite magnitude among the samples (not alpha), or 1 when
/// there is none (an all-zero or all-NaN image, refused later by whoever
/// needs detail).
fn largest_magnitude(image: &Image) -> f32 {
    let largest = image
        .planes
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    if largest > 0.0 && largest.is_finite() {
        largest
    } else {
        1.0
    }
}

/// Decodes `path` to its stored values scaled to [0, 1], with no light-space
/// conversion (metrics and kernels read files this way).
pub fn load_stored(path: &Path, max_megapixels: f64) -> Result<(Image, BitDepth)> {
    let raw = decode_raw(path, max_megapixels)?;
    Ok((raw.image, raw.depth))
}

struct RawImage {
    image: Image,
    depth: BitDepth,
    format: ImageFormat,
    colour_tagged: bool,
    /// Images in the file (TIFF stacks hold several); the first is decoded.
    pages: usize,
}

/// DESIGN.md §3: 8-bit images, JPEGs and colour-tagged files are sRGB;
/// untagged 16-bit and float images are linear.
fn auto_space(raw: &RawImage) -> LightSpace {
    if raw.format == ImageFormat::Jpeg || raw.depth == BitDepth::Eight || raw.colour_tagged {
        LightSpace::Srgb
    } else {
        LightSpace::Linear
    }
}

fn decode_raw(path: &Path, max_megapixels: f64) -> Result<RawImage> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::bad_file(path, "file not found"),
        std::io::ErrorKind::IsADirectory => Error::bad_file(path, "is a folder, not an image"),
        _ => Error::bad_file(path, format!("cannot read: {e}")),
    })?;
    let format = image::guess_format(&bytes)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Tiff))
        .ok_or_else(|| Error::bad_file(path, "not a PNG, JPEG or TIFF image"))?;
    if format == ImageFormat::Jpeg && !jpeg_is_complete(&bytes) {
        return Err(Error::bad_file(path, "truncated JPEG (no end-of-image marker)"));
    }
    let fits = |width: usize, height: usize| check_size(path, width, height, max_megapixels);
    let mut raw = match decode_common(&bytes, format, &fits) {
        // Float and 32-bit grayscale TIFFs (microscopy, astronomy) are
        // beyond the image crate: read them with the tiff crate itself.
        Err(DecodeFailure::Unsupported(reason)) if format == ImageFormat::Tiff => {
            let (image, depth) = sample_tiff::decode(&bytes, &fits).map_err(|e| match e {
                sample_tiff::Failure::Refused(e) => e,
                sample_tiff::Failure::Unreadable(tiff_reason) => {
                    Error::bad_file(path, format!("unsupported TIFF: {reason}; {tiff_reason}"))
                }
            })?;
            Ok(RawImage {
                image,
                depth,
                format,
                colour_tagged: sample_tiff::has_icc_profile(&bytes),
                pages: 1,
            })
        }
        Err(DecodeFailure::Unsupported(reason)) => Err(Error::bad_file(path, format!("unsupported image: {reason}"))),
        Err(DecodeFailure::Corrupt(reason)) => {
            Err(Error::bad_file(path, format!("corrupt or truncated image: {reason}")))
        }
        Err(DecodeFailure::Refused(e)) => Err(e),
        Ok(raw) => Ok(raw),
    }?;
    if format == ImageFormat::Tiff {
        raw.pages = sample_tiff::page_count(&bytes);
    }
    Ok(raw)
}

/// Why the image crate could not decode a file.
enum DecodeFailure {
    Unsupported(String),
    Corrupt(String),
    /// Our own check refused it (size).
    Refused(Error),
}

impl From<image::ImageError> for DecodeFailure {
    fn from(e: image::ImageError) -> Self {
        match e {
            image::ImageError::Unsupported(_) => DecodeFailure::Unsupported(e.to_string()),
            _ => DecodeFailure::Corrupt(e.to_string()),
        }
    }
}

/// Refuses images with no pixels or over the decode limit, before decoding.
fn check_size(path: &Path, width: usize, height: usize, max_megapixels: f64) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::bad_file(path, "image has no pixels"));
    }
    let megapixels = width as f64 * height as f64 / 1e6;
    if megapixels > max_megapixels {
        return Err(Error::bad_file(
            path,
            format!(
                "image is {width}x{height} ({megapixels:.1} MP), over the {max_megapixels} MP limit (see --max-megapixels)"
            ),
        ));
    }
    Ok(())
}

/// Decodes with the image crate, which reads every PNG and JPEG and the
/// common TIFF layouts.
fn decode_common(
    bytes: &[u8],
    format: ImageFormat,
    fits: &dyn Fn(usize, usize) -> Result<()>,
) -> std::result::Result<RawImage, DecodeFailure> {
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format).into_decoder()?;
    let (width, height) = decoder.dimensions();
    fits(width as usize, height as usize).map_err(DecodeFailure::Refused)?;
    let icc_tagged = decoder.icc_profile().ok().flatten().is_some();
    let colour_tagged = icc_tagged
        || (format == ImageFormat::Png && png_is_colour_tagged(bytes))
        || (format == ImageFormat::Tiff && sample_tiff::has_icc_profile(bytes));
    // Cameras store portrait shots sideways with an EXIF orientation that
    // every viewer applies: apply it too, so the image (and the result,
    // written without the tag) stands the way the photographer sees it. An
    // unreadable tag leaves the stored orientation.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut dynamic = DynamicImage::from_decoder(decoder)?;
    dynamic.apply_orientation(orientation);
    Ok(RawImage {
        image: to_planes(&dynamic),
        depth: depth_of(&dynamic),
        format,
        colour_tagged,
        pages: 1,
    })
}

/// A complete JPEG has an end-of-image marker after its last scan. Entropy-coded
/// data never holds 0xFF 0xD9 (0xFF bytes are stuffed), so its absence after the
/// last start-of-scan means the file was cut short.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let Some(start) = last_scan else { return false };
    bytes[start..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// sRGB, gAMA or iCCP chunks mark a PNG as colour-managed (so sRGB-encoded).
fn png_is_colour_tagged(bytes: &[u8]) -> bool {
    let Ok(reader) = png::Decoder::new(Cursor::new(bytes)).read_info() else {
        return false;
    };
    let info = reader.info();
    info.srgb.is_some() || info.gama_chunk.is_some() || info.icc_profile.is_some()
}

fn depth_of(image: &DynamicImage) -> BitDepth {
    use image::ColorType::*;
    match image.color() {
        L8 | La8 | Rgb8 | Rgba8 => BitDepth::Eight,
        L16 | La16 | Rgb16 | Rgba16 => BitDepth::Sixteen,
        _ => BitDepth::Float,
    }
}

fn to_planes(image: &DynamicImage) -> Image {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let has_alpha = image.color().has_alpha();
    let gray = !image.color().has_color();
    let (planes, alpha) = if gray {
        let la = image.to_luma_alpha32f();
        let samples = la.as_raw();
        let luma = samples.iter().step_by(2).copied().collect();
        let alpha = has_alpha.then(|| samples.iter().skip(1).step_by(2).copied().collect());
        (vec![luma], alpha)
    } else {
        let rgba = image.to_rgba32f();
        let samples = rgba.as_raw();
        let plane = |c: usize| samples.iter().skip(c).step_by(4).copied().collect::<Vec<f32>>();
        let alpha = has_alpha.then(|| plane(3));
        (vec![plane(0), plane(1), plane(2)], alpha)
    };
    Image {
        width,
        height,
        planes,
        alpha,
    }
}

/// Error of an 8-bit JPEG against the scene, in quantization steps: its
/// compression adds to the rounding. Measured on the shared camera cases
/// (q90, 4:2:0), where every method's automatic parameters did best near 2.
const JPEG_ERROR_STEPS: f64 = 2.0;

/// The least noise a decoded file holds, as a standard deviation in linear
/// light: 8-bit files are rounded (a uniform error of step / sqrt(12)), JPEGs
/// also compressed. `None` for 16-bit and float files, whose rounding is
/// negligible. sRGB steps are converted at the image's mean level.
pub fn noise_floor(decoded: &Decoded) -> Option<f64> {
    if decoded.depth != BitDepth::Eight {
        return None;
    }
    let steps = if decoded.format == ImageFormat::Jpeg {
        JPEG_ERROR_STEPS
    } else {
        1.0 / 12f64.sqrt()
    };
    let step = steps / 255.0;
    if decoded.space == LightSpace::Linear {
        return Some(step);
    }
    let planes = &decoded.image.planes;
    let mean = planes
        .iter()
        .map(|p| p.iter().map(|v| *v as f64).sum::<f64>() / p.len().max(1) as f64)
        .sum::<f64>()
        / planes.len().max(1) as f64;
    // d linear / d encoded of the sRGB curve at the mean level.
    let encoded = light::linear_to_srgb(mean as f32) as f64;
    let slope = if encoded <= 0.04045 {
        1.0 / 12.92
    } else {
        2.4 / 1.055 * ((encoded + 0.055) / 1.055).powf(1.4)
    };
    Some(step * slope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_completeness_needs_end_marker_after_last_scan() {
        assert!(jpeg_is_complete(&[0xFF, 0xD8, 0xFF, 0xDA, 1, 2, 0xFF, 0xD9]));
        assert!(!jpeg_is_complete(&[0xFF, 0xD8, 0xFF, 0xDA, 1, 2, 3]));
        assert!(!jpeg_is_complete(&[0xFF, 0xD8, 0xFF, 0xD9, 0xFF, 0xDA, 1]));
    }
}
