//! Two-image reflection separation from the editor: the document's image is
//! the first shot, a second file the other; the two layers come back as
//! layers of the document.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui::ColorImage;

use crate::imaging::{self, DecodeOptions, Image, LightSpace, SpaceChoice};
use crate::jobs::Progress;
use crate::separate::{self, SeparateOptions};

use super::display;

/// A finished separation, ready to show.
pub struct Separated {
    pub second: PathBuf,
    /// Layer 0: in focus in the document's image; 1: in the second shot.
    pub layers: [Arc<Image>; 2],
    pub shown: [ColorImage; 2],
    /// One line: window, shift, gains and widths.
    pub report: String,
}

/// Decodes `second` (in the same light space and units as the first shot,
/// whose space and `Decoded::scale` come with it) and separates the pair.
pub fn run(
    first: &Image,
    (space, scale): (LightSpace, f32),
    second: &Path,
    max_side: usize,
    progress: &dyn Progress,
) -> Result<Separated, String> {
    let choice = match space {
        LightSpace::Srgb => SpaceChoice::Srgb,
        LightSpace::Linear => SpaceChoice::Linear,
    };
    let options = DecodeOptions {
        space: choice,
        max_megapixels: imaging::DEFAULT_MAX_MEGAPIXELS,
    };
    let mut decoded = imaging::load(second, &options).map_err(|e| e.to_string())?;
    decoded.rescale_to(scale);
    let separation = separate::separate_pair(first, &decoded.image, &SeparateOptions::default(), progress)
        .map_err(|e| e.to_string())?;
    let [a, b] = separation.layers;
    let shown = [
        display::to_color_image(&a, space, max_side).0,
        display::to_color_image(&b, space, max_side).0,
    ];
    Ok(Separated {
        second: second.to_path_buf(),
        layers: [Arc::new(a), Arc::new(b)],
        shown,
        report: separation.report.to_string(),
    })
}
