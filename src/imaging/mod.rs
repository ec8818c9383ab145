//! The `Image` type (planar f32, linear light), decoding, encoding and the
//! light-space rule of DESIGN.md §3.

mod decode;
mod encode;
mod light;
mod resize;
mod sample_tiff;
mod synthetic;

pub use decode::{DecodeOptions, Decoded, in_file_units, load, load_stored, noise_floor};
pub use encode::{EncodeOptions, check_output_path, save, save_atomically};
pub use light::{linear_to_srgb, srgb_to_linear};
pub use resize::resample;
pub use synthetic::synthetic;

/// Rec. 709 luminance weights of linear R, G and B.
pub const LUMA: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// Default decode limit: images above this many megapixels are refused.
pub const DEFAULT_MAX_MEGAPIXELS: f64 = 250.0;

/// An image as planes of f32 samples, row-major. Colour planes hold 1 (gray)
/// or 3 (RGB) channels; alpha, when present, is carried through untouched.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub planes: Vec<Vec<f32>>,
    pub alpha: Option<Vec<f32>>,
}

impl Image {
    /// A gray image from row-major samples.
    pub fn gray(width: usize, height: usize, samples: Vec<f32>) -> Self {
        assert_eq!(samples.len(), width * height, "sample count must match size");
        Image {
            width,
            height,
            planes: vec![samples],
            alpha: None,
        }
    }

    /// An image with the given colour planes and no alpha.
    pub fn from_planes(width: usize, height: usize, planes: Vec<Vec<f32>>) -> Self {
        assert!(planes.iter().all(|p| p.len() == width * height));
        Image {
            width,
            height,
            planes,
            alpha: None,
        }
    }

    pub fn pixel_count(&self) -> usize {
        self.width * self.height
    }

    /// Number of colour channels (1 or 3), alpha not counted.
    pub fn channels(&self) -> usize {
        self.planes.len()
    }

    /// Multiplies every colour sample (not alpha) by `factor`.
    pub fn multiply(&mut self, factor: f32) {
        self.planes.iter_mut().flatten().for_each(|v| *v *= factor);
    }

    /// Divides every colour sample (not alpha) by `divisor`, exactly (a
    /// multiplication by its reciprocal would round the largest value off 1).
    pub fn divide(&mut self, divisor: f32) {
        self.planes.iter_mut().flatten().for_each(|v| *v /= divisor);
    }

    /// The same image with every colour plane replaced by `f(plane)`.
    pub fn map_planes(&self, mut f: impl FnMut(&[f32]) -> Vec<f32>) -> Self {
        Image {
            width: self.width,
            height: self.height,
            planes: self.planes.iter().map(|p| f(p)).collect(),
            alpha: self.alpha.clone(),
        }
    }
}

/// How a file's values relate to light.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LightSpace {
    /// sRGB-encoded values (8-bit files, JPEGs, colour-tagged files).
    Srgb,
    /// Values proportional to light (untagged 16-bit and float files).
    #[default]
    Linear,
}

/// The user's choice of light space: `auto` applies DESIGN.md §3's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SpaceChoice {
    #[default]
    Auto,
    Srgb,
    Linear,
}

/// Bits per sample of a stored file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitDepth {
    Eight,
    Sixteen,
    Float,
}
