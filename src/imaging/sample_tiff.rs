//! TIFF layouts the `image` crate does not decode but scientific tools write:
//! grayscale (with or without alpha) in 16-, 32- or 64-bit float, 32- or
//! 64-bit unsigned or any signed integer samples, and RGB(A) in those
//! sample types.
//! Read with the `tiff` crate itself, which also finds the embedded ICC
//! profiles the image crate's decoder misses.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{ImageBuffer, Luma, imageops};
use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

use super::{BitDepth, Image};
use crate::error::Error;

/// Why a TIFF was not decoded.
pub(super) enum Failure {
    /// The caller's size check refused it.
    Refused(Error),
    /// The tiff crate could not read it either (the reason).
    Unreadable(String),
}

impl From<tiff::TiffError> for Failure {
    fn from(e: tiff::TiffError) -> Self {
        Failure::Unreadable(e.to_string())
    }
}

/// Decodes `bytes` to stored values, turned upright by the file's
/// orientation tag: integers scaled to [0, 1] ([-1, 1] if signed) by their
/// type's maximum, floats as they are (linear data, not clipped). `fits`
/// sees the dimensions before any sample is read.
pub(super) fn decode(
    bytes: &[u8],
    fits: &dyn Fn(usize, usize) -> crate::error::Result<()>,
) -> Result<(Image, BitDepth), Failure> {
    let mut decoder = Decoder::new(Cursor::new(bytes))?;
    let (width, height) = decoder.dimensions()?;
    let (width, height) = (width as usize, height as usize);
    fits(width, height).map_err(Failure::Refused)?;
    // Checked against our own limit just above.
    let mut decoder = decoder.with_limits(Limits::unlimited());
    let (channels, has_alpha) = match decoder.colortype()? {
        ColorType::Gray(_) => (1, false),
        ColorType::GrayA(_) => (2, true),
        ColorType::RGB(_) => (3, false),
        ColorType::RGBA(_) => (4, true),
        other => return Err(Failure::Unreadable(format!("colour layout {other:?}"))),
    };
    let orientation = decoder
        .find_tag_unsigned::<u8>(Tag::Orientation)
        .ok()
        .flatten()
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms);
    // Integer samples over their type's maximum (`as f64` is exact up to
    // 32 bits and rounds 64-bit ones, which `Into<f64>` refuses).
    macro_rules! scaled {
        ($samples:expr, $type:ty) => {
            $samples
                .iter()
                .map(|&x| (x as f64 / <$type>::MAX as f64) as f32)
                .collect()
        };
    }
    let (samples, depth) = match decoder.read_image()? {
        DecodingResult::U8(v) => (scaled!(v, u8), BitDepth::Eight),
        DecodingResult::U16(v) => (scaled!(v, u16), BitDepth::Sixteen),
        DecodingResult::U32(v) => (scaled!(v, u32), BitDepth::Float),
        // 64-bit and signed integers (elevation models, some microscopes) are
        // read as data, like floats: scaled by their type's maximum, then
        // to their own range on loading (`Decoded::scale`).
        DecodingResult::U64(v) => (scaled!(v, u64), BitDepth::Float),
        DecodingResult::I8(v) => (scaled!(v, i8), BitDepth::Float),
        DecodingResult::I16(v) => (scaled!(v, i16), BitDepth::Float),
        DecodingResult::I32(v) => (scaled!(v, i32), BitDepth::Float),
        DecodingResult::I64(v) => (scaled!(v, i64), BitDepth::Float),
        DecodingResult::F16(v) => (v.iter().map(|x| x.to_f32()).collect(), BitDepth::Float),
        DecodingResult::F32(v) => (v, BitDepth::Float),
        DecodingResult::F64(v) => (v.iter().map(|&x| x as f32).collect(), BitDepth::Float),
    };
    if samples.len() != width * height * channels {
        return Err(Failure::Unreadable(format!(
            "{} samples for {width}x{height}x{channels}",
            samples.len()
        )));
    }
    let mut planes: Vec<Vec<f32>> = (0..channels)
        .map(|c| samples.iter().skip(c).step_by(channels).copied().collect())
        .collect();
    let alpha = if has_alpha { planes.pop() } else { None };
    let (mut turned_width, mut turned_height) = (width, height);
    let mut turn = |plane: Vec<f32>| -> Result<Vec<f32>, Failure> {
        let (plane, w, h) = oriented(plane, width, height, orientation)
            .ok_or_else(|| Failure::Unreadable("a plane does not match the image size".into()))?;
        (turned_width, turned_height) = (w, h);
        Ok(plane)
    };
    let planes = planes.into_iter().map(&mut turn).collect::<Result<Vec<_>, _>>()?;
    let alpha = alpha.map(&mut turn).transpose()?;
    let mut image = Image::from_planes(turned_width, turned_height, planes);
    image.alpha = alpha;
    Ok((image, depth))
}

/// How many images (pages) the TIFF holds; 1 when the chain cannot be
/// followed (the first image decoded, which is all that is used).
pub(super) fn page_count(bytes: &[u8]) -> usize {
    let Ok(mut decoder) = Decoder::new(Cursor::new(bytes)) else {
        return 1;
    };
    let mut pages = 1;
    // A bound against looping IFD chains in damaged files.
    while pages < 100_000 && decoder.more_images() && decoder.next_image().is_ok() {
        pages += 1;
    }
    pages
}

/// True when the TIFF embeds an ICC profile (tag 34675). The image crate's
/// decoder does not report one after it has set its memory limits, so the
/// tag is looked up here.
pub(super) fn has_icc_profile(bytes: &[u8]) -> bool {
    Decoder::new(Cursor::new(bytes))
        .and_then(|mut d| d.find_tag(Tag::IccProfile))
        .is_ok_and(|tag| tag.is_some())
}

/// One plane of `width` x `height` samples turned by `orientation`: the
/// samples and the new width and height; `None` if the plane is not
/// `width` x `height` samples.
fn oriented(
    plane: Vec<f32>,
    width: usize,
    height: usize,
    orientation: Orientation,
) -> Option<(Vec<f32>, usize, usize)> {
    if orientation == Orientation::NoTransforms {
        return Some((plane, width, height));
    }
    let buffer = ImageBuffer::<Luma<f32>, Vec<f32>>::from_raw(width as u32, height as u32, plane)?;
    let turned = match orientation {
        Orientation::NoTransforms => buffer,
        Orientation::Rotate90 => imageops::rotate90(&buffer),
        Orientation::Rotate180 => imageops::rotate180(&buffer),
        Orientation::Rotate270 => imageops::rotate270(&buffer),
        Orientation::FlipHorizontal => imageops::flip_horizontal(&buffer),
        Orientation::FlipVertical => imageops::flip_vertical(&buffer),
        Orientation::Rotate90FlipH => imageops::flip_horizontal(&imageops::rotate90(&buffer)),
        Orientation::Rotate270FlipH => imageops::flip_horizontal(&imageops::rotate270(&buffer)),
    };
    let (w, h) = (turned.width() as usize, turned.height() as usize);
    Some((turned.into_raw(), w, h))
}
