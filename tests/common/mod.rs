//! Shared helpers of the integration tests: the blurred cases in
//! `tests/data/cases` (copied from the project's shared test data).
#![allow(dead_code)]

pub mod overlay;
pub mod variants;

use std::path::{Path, PathBuf};

use unblur::deconv::{self, Applied, Settings};
use unblur::imaging::{self, BitDepth, DecodeOptions, Image, LightSpace};
use unblur::jobs::Silent;
use unblur::metrics::{self, Quality};
use unblur::psf::Kernel;

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// One blurred case: input, ground truth and true kernel.
#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    pub degradation: String,
    pub folder: PathBuf,
    pub blurred: PathBuf,
    pub blurred_psnr: f64,
}

pub fn cases() -> Vec<Case> {
    let folder = data_dir().join("cases");
    let text = std::fs::read_to_string(folder.join("manifest.json")).expect("manifest");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest json");
    manifest["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let id = c["id"].as_str().unwrap().to_string();
            let dir = folder.join(&id);
            Case {
                degradation: c["degradation"].as_str().unwrap().to_string(),
                blurred: dir.join(c["files"]["blurred"].as_str().unwrap()),
                blurred_psnr: c["blurred_psnr"].as_f64().unwrap(),
                folder: dir,
                id,
            }
        })
        .collect()
}

/// The cases under `UNBLUR_CASES` (their degradation read from the name's
/// last part, as the case generators write it), or the shared ones.
pub fn case_list() -> Vec<Case> {
    if std::env::var_os("UNBLUR_CASES").is_none() {
        return cases();
    }
    case_folders("")
        .into_iter()
        .map(|(id, folder, blurred)| Case {
            degradation: id.rsplit("__").next().unwrap_or_default().to_string(),
            blurred_psnr: f64::NAN,
            folder,
            blurred,
            id,
        })
        .collect()
}

/// The case folders under `UNBLUR_CASES` (another folder laid out as
/// `tests/data/cases`, for the measuring examples) or `tests/data/cases`,
/// sorted, whose names contain `filter`: (id, folder, blurred file).
pub fn case_folders(filter: &str) -> Vec<(String, PathBuf, PathBuf)> {
    let root = std::env::var_os("UNBLUR_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir().join("cases"));
    let mut ids: Vec<String> = std::fs::read_dir(&root)
        .expect("cases folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|id| id.contains(filter))
        .collect();
    ids.sort();
    ids.into_iter()
        .map(|id| {
            let folder = root.join(&id);
            let png = folder.join("blurred.png");
            let blurred = if png.exists() { png } else { folder.join("blurred.jpg") };
            (id, folder, blurred)
        })
        .collect()
}

/// The linear-light result written the way the CLI writes it (the input's
/// space and depth), as stored values in [0, 1].
pub fn as_stored(image: &Image, space: LightSpace, depth: BitDepth) -> Image {
    let levels = if depth == BitDepth::Eight { 255.0 } else { 65535.0 };
    image.map_planes(|p| {
        p.iter()
            .map(|v| {
                let encoded = if space == LightSpace::Srgb {
                    imaging::linear_to_srgb(*v)
                } else {
                    *v
                };
                (encoded.clamp(0.0, 1.0) * levels).round() / levels
            })
            .collect()
    })
}

/// Deconvolves a case with its true kernel (as `file:kernel.png`) and scores
/// the stored result against the ground truth.
pub fn run_case(case: &Case, settings: &Settings) -> (Quality, Applied) {
    let decoded = imaging::load(&case.blurred, &DecodeOptions::default()).expect("decode");
    let kernel = Kernel::from_file(&case.folder.join("kernel.png")).expect("kernel");
    // As the CLI does: the file's rounding and compression set a noise floor.
    let settings = Settings {
        noise_floor: imaging::noise_floor(&decoded),
        source_space: decoded.space,
        ..settings.clone()
    };
    let (result, applied) = deconv::deconvolve(&decoded.image, &kernel, &settings, &Silent).expect("deconvolve");
    let stored = as_stored(&result, decoded.space, decoded.depth);
    let (truth, _) = imaging::load_stored(&case.folder.join("gt.png"), 1000.0).expect("gt");
    (metrics::quality(&stored, &truth).expect("comparable"), applied)
}

/// SSD of `image` sampled at (y + dy, x + dx) (bilinear) against the truth,
/// over the interior that every shift within +-`reach` keeps.
pub fn shifted_ssd(image: &Image, truth: &Image, reach: usize, dy: f64, dx: f64) -> f64 {
    let (w, h) = (image.width, image.height);
    let (iy, ix) = (dy.floor(), dx.floor());
    let (fy, fx) = ((dy - iy) as f32, (dx - ix) as f32);
    let (iy, ix) = (iy as isize, ix as isize);
    let mut ssd = 0.0;
    for (p, t) in image.planes.iter().zip(&truth.planes) {
        let at =
            |y: isize, x: isize| p[(y.clamp(0, h as isize - 1) as usize) * w + x.clamp(0, w as isize - 1) as usize];
        for y in reach..h - reach {
            let sy = y as isize + iy;
            for x in reach..w - reach {
                let sx = x as isize + ix;
                let v = (1.0 - fy) * ((1.0 - fx) * at(sy, sx) + fx * at(sy, sx + 1))
                    + fy * ((1.0 - fx) * at(sy + 1, sx) + fx * at(sy + 1, sx + 1));
                let d = (v - t[y * w + x]) as f64;
                ssd += d * d;
            }
        }
    }
    ssd
}

/// The whole-pixel shift within +-`reach` that best lines `image` up with
/// the truth: (SSD, dy, dx).
pub fn best_whole_shift(image: &Image, truth: &Image, reach: usize) -> (f64, isize, isize) {
    let r = reach as isize;
    let mut best = (f64::INFINITY, 0, 0);
    for dy in -r..=r {
        for dx in -r..=r {
            let ssd = shifted_ssd(image, truth, reach, dy as f64, dx as f64);
            if ssd < best.0 {
                best = (ssd, dy, dx);
            }
        }
    }
    best
}

/// SSD against the truth after the best shift within +-`reach` pixels:
/// whole pixels when `step` is 1, else in steps of `step` (Levin et al.'s
/// `comp_upto_shift` uses quarter pixels and linear interpolation), found
/// around the best whole-pixel shift.
pub fn aligned_ssd(image: &Image, truth: &Image, reach: usize, step: f64) -> f64 {
    let best = best_whole_shift(image, truth, reach);
    if step >= 1.0 {
        return best.0;
    }
    let n = (1.0 / step).round() as isize;
    let (cy, cx) = (best.1 as f64, best.2 as f64);
    let mut min = best.0;
    for i in -n..=n {
        for j in -n..=n {
            let (dy, dx) = (cy + i as f64 * step, cx + j as f64 * step);
            if dy.abs() <= reach as f64 && dx.abs() <= reach as f64 {
                min = min.min(shifted_ssd(image, truth, reach, dy, dx));
            }
        }
    }
    min
}

/// The support a free-form estimate is given in the blind evaluations.
#[derive(Clone, Copy)]
pub enum Support {
    /// The true kernel's side + 4 (the quality bars are set there).
    NearTruth,
    Given(usize),
    /// Left to the estimator, as `unblur blind` does by default.
    Suggested,
}

impl Support {
    /// The `KernelOptions::kernel_size` for a case whose true kernel has
    /// side `true_side`.
    pub fn kernel_size(self, true_side: usize) -> Option<usize> {
        match self {
            Support::NearTruth => Some(true_side + 4),
            Support::Given(side) => Some(side),
            Support::Suggested => None,
        }
    }
}
