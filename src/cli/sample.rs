//! `unblur` with no subcommand: deblurs the built-in sample with every method
//! and reports how close each result is to the sharp original.

use std::path::PathBuf;

use unblur::deconv::{self, Method, Settings};
use unblur::imaging::{self, BitDepth, DecodeOptions, EncodeOptions, LightSpace};
use unblur::jobs::Silent;
use unblur::metrics;
use unblur::psf::PsfSpec;

use super::Failure;

const SAMPLE_BLURRED: &[u8] = include_bytes!("../../assets/sample.jpg");
const SAMPLE_SHARP: &[u8] = include_bytes!("../../assets/sample-sharp.png");
/// The blur the sample was made with.
const SAMPLE_PSF: &str = "disk:r=6";
/// Where the results go, under the current folder.
const OUTPUT_FOLDER: &str = "unblur-sample";

pub fn run() -> Result<(), Failure> {
    let folder = PathBuf::from(OUTPUT_FOLDER);
    std::fs::create_dir_all(&folder).map_err(|e| Failure {
        code: 1,
        message: format!("{OUTPUT_FOLDER}: cannot create the output folder: {e}"),
    })?;
    let blurred_path = folder.join("blurred.jpg");
    let sharp_path = folder.join("sharp.png");
    for (path, bytes) in [(&blurred_path, SAMPLE_BLURRED), (&sharp_path, SAMPLE_SHARP)] {
        imaging::save_atomically(path, |file| {
            std::io::Write::write_all(file, bytes).map_err(|e| e.to_string())
        })?;
    }
    let decoded = imaging::load(&blurred_path, &DecodeOptions::default())?;
    let (sharp, _) = imaging::load_stored(&sharp_path, imaging::DEFAULT_MAX_MEGAPIXELS)?;
    let kernel = SAMPLE_PSF.parse::<PsfSpec>()?.kernel()?;
    let (blurred_stored, _) = imaging::load_stored(&blurred_path, imaging::DEFAULT_MAX_MEGAPIXELS)?;
    let before = metrics::quality(&blurred_stored, &sharp)?;
    println!(
        "built-in sample: {} ({SAMPLE_PSF}), results in {OUTPUT_FOLDER}/",
        blurred_path.display()
    );
    println!("{:<10} {:>9} {:>7}  parameters", "method", "PSNR dB", "SSIM");
    println!("{:<10} {:>9.2} {:>7.4}", "blurred", before.psnr_db, before.ssim);
    for method in Method::ALL {
        let settings = Settings {
            method,
            noise_floor: imaging::noise_floor(&decoded),
            source_space: decoded.space,
            ..Settings::default()
        };
        let (result, applied) = deconv::deconvolve(&decoded.image, &kernel, &settings, &Silent)?;
        let path = folder.join(format!("{method}.png"));
        let options = EncodeOptions {
            depth: BitDepth::Eight,
            space: LightSpace::Srgb,
            jpeg_quality: 95,
        };
        imaging::save(&path, &result, &options)?;
        let (stored, _) = imaging::load_stored(&path, imaging::DEFAULT_MAX_MEGAPIXELS)?;
        let q = metrics::quality(&stored, &sharp)?;
        println!(
            "{:<10} {:>9.2} {:>7.4}  {applied}",
            method.to_string(),
            q.psnr_db,
            q.ssim
        );
    }
    Ok(())
}
