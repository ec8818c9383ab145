//! Point spread functions: the spec text form (DESIGN.md §5), rasterization to
//! a `Kernel` normalized to sum 1, and kernels read from files.

mod raster;
mod spec;

use std::path::Path;

pub use spec::PsfSpec;

use crate::error::{Error, Result};
use crate::imaging::{self, Image};

/// A PSF sampled on pixels, row-major, summing to 1. Its centre is the pixel
/// [height / 2, width / 2] (integer division), for odd and even sizes alike.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Kernel {
    /// Builds a kernel from non-negative weights, normalizing them to sum 1.
    pub fn from_weights(width: usize, height: usize, weights: Vec<f64>) -> Result<Self> {
        if width == 0 || height == 0 || weights.len() != width * height {
            return Err(Error::bad_parameter("kernel has no pixels"));
        }
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::bad_parameter("kernel has negative or non-finite values"));
        }
        let sum: f64 = weights.iter().sum();
        if sum <= 0.0 {
            return Err(Error::bad_parameter("kernel is all zero"));
        }
        Ok(Kernel {
            width,
            height,
            data: weights.iter().map(|w| (w / sum) as f32).collect(),
        })
    }

    /// The identity kernel (a single 1).
    pub fn delta() -> Self {
        Kernel {
            width: 1,
            height: 1,
            data: vec![1.0],
        }
    }

    pub fn at(&self, row: usize, col: usize) -> f32 {
        self.data[row * self.width + col]
    }

    /// Reads a kernel image: stored values (no light-space conversion), colour
    /// averaged to gray, normalized to sum 1.
    pub fn from_file(path: &Path) -> Result<Self> {
        let (image, _) = imaging::load_stored(path, imaging::DEFAULT_MAX_MEGAPIXELS)?;
        if image.pixel_count() > MAX_KERNEL_PIXELS {
            return Err(Error::bad_file(
                path,
                format!("kernel is {}x{}, too large for a PSF", image.width, image.height),
            ));
        }
        let n = image.channels() as f64;
        let weights = (0..image.pixel_count())
            .map(|i| image.planes.iter().map(|p| p[i] as f64).sum::<f64>() / n)
            .collect();
        Kernel::from_weights(image.width, image.height, weights).map_err(|e| Error::bad_file(path, e.to_string()))
    }

    /// The kernel as a gray image scaled so that its maximum is 1 (for display
    /// and for writing as a 16-bit PNG that `file:` reads back).
    /// Writes the kernel as a 16-bit grayscale PNG (peak at full scale) that
    /// `file:` reads back.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let options = imaging::EncodeOptions {
            depth: imaging::BitDepth::Sixteen,
            space: imaging::LightSpace::Linear,
            jpeg_quality: 100,
        };
        imaging::save(path, &self.to_display_image(), &options)
    }

    pub fn to_display_image(&self) -> Image {
        let max = self.data.iter().cloned().fold(0.0f32, f32::max).max(f32::MIN_POSITIVE);
        Image::gray(self.width, self.height, self.data.iter().map(|v| v / max).collect())
    }
}

/// Kernels above this many pixels (e.g. 1001x1001) are refused as PSFs.
const MAX_KERNEL_PIXELS: usize = 1_002_001;
