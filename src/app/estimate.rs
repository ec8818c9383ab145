//! Blind PSF estimation from the editor: a parametric fit that sets the
//! sliders, or a free-form kernel saved as a 16-bit PNG in the state folder
//! (so sessions and presets can point at it), and edits of such a kernel.

use std::path::{Path, PathBuf};

use crate::blind::{self, KernelOptions, ParametricModel, Region};
use crate::imaging::Image;
use crate::jobs::Progress;
use crate::psf::{Kernel, PsfSpec};

use super::params::PsfModel;

/// What an estimate produced.
pub enum Estimated {
    /// A parametric spec, its confidence (0..1) and warnings.
    Parametric(PsfSpec, f64, Vec<String>),
    /// A kernel file and warnings.
    Kernel(PathBuf, Vec<String>),
}

/// A rectangle in image pixels, from two corners in any order.
pub fn region_between(a: (f32, f32), b: (f32, f32), width: usize, height: usize) -> Option<Region> {
    let clamp = |v: f32, max: usize| v.round().clamp(0.0, max as f32) as usize;
    let (left, right) = (clamp(a.0.min(b.0), width), clamp(a.0.max(b.0), width));
    let (top, bottom) = (clamp(a.1.min(b.1), height), clamp(a.1.max(b.1), height));
    (right > left + 1 && bottom > top + 1).then_some(Region {
        left,
        top,
        width: right - left,
        height: bottom - top,
    })
}

/// Fits `model` to the image (or `region`).
pub fn parametric(
    image: &Image,
    model: PsfModel,
    region: Option<Region>,
    progress: &dyn Progress,
) -> Result<Estimated, String> {
    let model = match model {
        PsfModel::Disk => ParametricModel::Disk,
        PsfModel::Gaussian => ParametricModel::Gaussian,
        PsfModel::Motion => ParametricModel::Motion,
        PsfModel::File => return Err("choose a disk, Gaussian or motion model to estimate".into()),
    };
    let estimate = blind::estimate_parametric_in(image, region, model, progress).map_err(|e| e.to_string())?;
    Ok(Estimated::Parametric(
        estimate.spec,
        estimate.confidence,
        estimate.warnings,
    ))
}

/// Estimates a free-form kernel and writes it into `folder`.
pub fn free_form(
    image: &Image,
    kernel_size: Option<usize>,
    region: Option<Region>,
    folder: &Path,
    progress: &dyn Progress,
) -> Result<Estimated, String> {
    let options = KernelOptions { kernel_size, region };
    let estimate = blind::estimate_kernel(image, &options, progress).map_err(|e| e.to_string())?;
    let path = save_kernel(&estimate.kernel, folder, "estimated")?;
    Ok(Estimated::Kernel(path, estimate.warnings))
}

/// Writes a kernel as a 16-bit PNG that `--psf file:` reads back.
pub fn save_kernel(kernel: &Kernel, folder: &Path, stem: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let path = folder.join(format!("{stem}-{stamp}.png"));
    kernel.save_png(&path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The kernel with weights below `fraction` of its peak removed, and pixel
/// `erase` (row, column) set to zero; renormalized to sum 1.
pub fn edit_kernel(kernel: &Kernel, fraction: f64, erase: Option<(usize, usize)>) -> Result<Kernel, String> {
    let peak = (0..kernel.height)
        .flat_map(|r| (0..kernel.width).map(move |c| (r, c)))
        .map(|(r, c)| kernel.at(r, c) as f64)
        .fold(0.0, f64::max);
    let weights: Vec<f64> = (0..kernel.height * kernel.width)
        .map(|i| {
            let (r, c) = (i / kernel.width, i % kernel.width);
            let w = kernel.at(r, c) as f64;
            if w < fraction * peak || erase == Some((r, c)) {
                0.0
            } else {
                w
            }
        })
        .collect();
    if weights.iter().all(|w| *w == 0.0) {
        return Err("that edit would leave an empty kernel".into());
    }
    Kernel::from_weights(kernel.width, kernel.height, weights).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_any_two_corners_and_stay_inside() {
        let r = region_between((50.0, 40.0), (10.0, -5.0), 30, 100).unwrap();
        assert_eq!((r.left, r.top, r.width, r.height), (10, 0, 20, 40));
        assert!(region_between((3.0, 3.0), (3.2, 9.0), 30, 30).is_none());
    }

    #[test]
    fn thresholds_and_erasing_renormalize_and_round_trip_through_a_file() {
        let kernel = Kernel::from_weights(3, 1, vec![0.05, 0.6, 0.35]).unwrap();
        let edited = edit_kernel(&kernel, 0.1, None).unwrap();
        assert_eq!(edited.at(0, 0), 0.0);
        assert!((edited.at(0, 1) + edited.at(0, 2) - 1.0).abs() < 1e-6);
        let erased = edit_kernel(&edited, 0.0, Some((0, 2))).unwrap();
        assert!((erased.at(0, 1) - 1.0).abs() < 1e-6);
        assert!(edit_kernel(&erased, 0.0, Some((0, 1))).is_err());

        let dir = tempfile::tempdir().unwrap();
        let path = save_kernel(&edited, dir.path(), "k").unwrap();
        let back = Kernel::from_file(&path).unwrap();
        for c in 0..3 {
            assert!((back.at(0, c) - edited.at(0, c)).abs() < 1e-4);
        }
    }
}
