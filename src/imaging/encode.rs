//! Encoding `Image` to PNG, JPEG or TIFF with atomic writes.

use std::io::BufWriter;
use std::path::Path;

use image::{ExtendedColorType, ImageEncoder, ImageFormat};

use super::{BitDepth, Image, LightSpace, light};
use crate::error::{Error, Result};

/// How to write an image.
#[derive(Clone, Copy, Debug)]
pub struct EncodeOptions {
    /// 8 or 16 bits per sample, or 32-bit float (TIFF only; PNG is then 16
    /// and JPEG always 8).
    pub depth: BitDepth,
    /// The space the written values are in; the image itself is linear light.
    pub space: LightSpace,
    pub jpeg_quality: u8,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            depth: BitDepth::Sixteen,
            space: LightSpace::Srgb,
            jpeg_quality: 95,
        }
    }
}

/// Writes a linear-light `image` to `path`; the format follows the extension
/// (.png, .jpg/.jpeg, .tif/.tiff). The write is atomic.
pub fn save(path: &Path, image: &Image, options: &EncodeOptions) -> Result<()> {
    let format = check_output_path(path)?;
    let mut encoded = image.clone();
    if options.space == LightSpace::Srgb {
        encoded.planes.iter_mut().for_each(|p| light::encode_plane(p));
    }
    let sixteen = options.depth != BitDepth::Eight && format != ImageFormat::Jpeg;
    let icc_profile = || -> std::result::Result<Option<Vec<u8>>, String> {
        // TIFF has no sRGB flag: an embedded sRGB profile marks the samples
        // as encoded, or a 16-bit or float result would read back as linear
        // (DESIGN.md §3) in this program and others.
        if options.space != LightSpace::Srgb {
            return Ok(None);
        }
        let profile = moxcms::ColorProfile::new_srgb().encode().map_err(|e| e.to_string())?;
        Ok(Some(profile))
    };
    save_atomically(path, |file| match format {
        ImageFormat::Png => write_png(file, &encoded, sixteen, options.space),
        ImageFormat::Jpeg => {
            // JPEG has no alpha: gray or RGB samples only.
            let color = if encoded.channels() == 1 {
                ExtendedColorType::L8
            } else {
                ExtendedColorType::Rgb8
            };
            let samples = interleave(&encoded, false, quantize8);
            image::codecs::jpeg::JpegEncoder::new_with_quality(file, options.jpeg_quality)
                .write_image(&samples, encoded.width as u32, encoded.height as u32, color)
                .map_err(|e| e.to_string())
        }
        _ => {
            // TIFF has no gray + alpha layout here: such images are written as RGBA.
            let mut encoded = encoded;
            if encoded.channels() == 1 && encoded.alpha.is_some() {
                encoded.planes = vec![encoded.planes[0].clone(); 3];
            }
            write_tiff(file, &encoded, options.depth, icc_profile()?).map_err(|e| e.to_string())
        }
    })
}

/// Checks, before any work, that `path` can take an image: a known type and
/// an existing folder. Returns the format its extension names.
pub fn check_output_path(path: &Path) -> Result<ImageFormat> {
    let format = ImageFormat::from_path(path)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Tiff))
        .ok_or_else(|| Error::bad_file(path, "unsupported output type: use .png, .jpg or .tif"))?;
    output_folder(path)?;
    Ok(format)
}

fn output_folder(path: &Path) -> Result<&Path> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(Error::bad_file(path, "output folder does not exist"));
    }
    Ok(folder)
}

/// Writes through a temporary file in the destination's folder, renamed over
/// the destination only when `write` succeeded: never a truncated file.
pub fn save_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::result::Result<(), String>,
) -> Result<()> {
    let folder = output_folder(path)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".unblur-")
        .suffix(".partial")
        .tempfile_in(folder)
        .map_err(|e| Error::bad_file(path, format!("cannot create output: {e}")))?;
    let failed = |m: String| Error::Write {
        path: path.to_path_buf(),
        message: m,
    };
    write(temp.as_file_mut()).map_err(failed)?;
    temp.as_file_mut().sync_all().map_err(|e| failed(e.to_string()))?;
    temp.persist(path).map_err(|e| failed(e.error.to_string()))?;
    Ok(())
}

fn quantize8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

fn quantize16(v: f32) -> u16 {
    (v.clamp(0.0, 1.0) * 65535.0).round() as u16
}

/// Interleaves planes (and alpha) into samples of `T`.
fn interleave<T: Copy>(image: &Image, with_alpha: bool, q: impl Fn(f32) -> T) -> Vec<T> {
    let mut planes: Vec<&[f32]> = image.planes.iter().map(|p| p.as_slice()).collect();
    if with_alpha && let Some(a) = &image.alpha {
        planes.push(a);
    }
    let n = planes.len();
    let mut out = Vec::with_capacity(image.pixel_count() * n);
    for i in 0..image.pixel_count() {
        for p in &planes {
            out.push(q(p[i]));
        }
    }
    debug_assert_eq!(out.len(), image.pixel_count() * n);
    out
}

/// TIFF through the `tiff` crate, which, unlike the image crate, writes
/// float grayscale and compressed files: deflate, with horizontal
/// differencing for 8 and 16-bit samples (the crate has no predictor for
/// floats). Float values are written as they are: neither clipped to [0, 1]
/// nor rounded, as float data from scientific tools expects.
fn write_tiff(
    file: &mut std::fs::File,
    image: &Image,
    depth: BitDepth,
    icc_profile: Option<Vec<u8>>,
) -> tiff::TiffResult<()> {
    use tiff::encoder::colortype::{
        ColorType, Gray8, Gray16, Gray32Float, RGB8, RGB16, RGB32Float, RGBA8, RGBA16, RGBA32Float,
    };
    use tiff::encoder::{Compression, DeflateLevel, Predictor, TiffValue};
    fn write<C: ColorType>(
        file: &mut std::fs::File,
        image: &Image,
        samples: &[C::Inner],
        icc_profile: Option<Vec<u8>>,
    ) -> tiff::TiffResult<()>
    where
        [C::Inner]: TiffValue,
    {
        let predictor = if C::SAMPLE_FORMAT[0] == tiff::tags::SampleFormat::IEEEFP {
            Predictor::None
        } else {
            Predictor::Horizontal
        };
        let mut encoder = tiff::encoder::TiffEncoder::new(BufWriter::new(file))?
            .with_compression(Compression::Deflate(DeflateLevel::Fast))
            .with_predictor(predictor);
        let mut tiff = encoder.new_image::<C>(image.width as u32, image.height as u32)?;
        if let Some(profile) = icc_profile {
            tiff.encoder()
                .write_tag(tiff::tags::Tag::IccProfile, profile.as_slice())?;
        }
        tiff.write_data(samples)
    }
    let gray = image.channels() == 1;
    // Gray with alpha is written as RGBA by the caller.
    let alpha = image.alpha.is_some() && !gray;
    // The layout's colour type for one sample type, the samples quantized.
    macro_rules! by_layout {
        ($gray:ty, $rgb:ty, $rgba:ty, $quantize:expr) => {{
            let samples = interleave(image, alpha, $quantize);
            match (gray, alpha) {
                (true, _) => write::<$gray>(file, image, &samples, icc_profile),
                (false, false) => write::<$rgb>(file, image, &samples, icc_profile),
                (false, true) => write::<$rgba>(file, image, &samples, icc_profile),
            }
        }};
    }
    match depth {
        BitDepth::Float => by_layout!(Gray32Float, RGB32Float, RGBA32Float, |v| v),
        BitDepth::Sixteen => by_layout!(Gray16, RGB16, RGBA16, quantize16),
        BitDepth::Eight => by_layout!(Gray8, RGB8, RGBA8, quantize8),
    }
}

/// PNG through the `png` crate so that sRGB results carry an sRGB chunk.
fn write_png(
    file: &mut std::fs::File,
    image: &Image,
    sixteen: bool,
    space: LightSpace,
) -> std::result::Result<(), String> {
    let alpha = image.alpha.is_some();
    let color = match (image.channels(), alpha) {
        (1, false) => png::ColorType::Grayscale,
        (1, true) => png::ColorType::GrayscaleAlpha,
        (_, false) => png::ColorType::Rgb,
        (_, true) => png::ColorType::Rgba,
    };
    let mut encoder = png::Encoder::new(BufWriter::new(file), image.width as u32, image.height as u32);
    encoder.set_color(color);
    // fdeflate's PNG-tuned deflate: a 12 MP 8-bit result is written 3.5x
    // faster than at the default level and comes out no larger; 16-bit files
    // grow about 10% (BENCHMARKS.md, "Writing PNG").
    encoder.set_compression(png::Compression::Fast);
    encoder.set_depth(if sixteen {
        png::BitDepth::Sixteen
    } else {
        png::BitDepth::Eight
    });
    if space == LightSpace::Srgb {
        encoder.set_source_srgb(png::SrgbRenderingIntent::Perceptual);
    }
    let data: Vec<u8> = if sixteen {
        interleave(image, true, quantize16)
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect()
    } else {
        interleave(image, true, quantize8)
    };
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&data).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}
