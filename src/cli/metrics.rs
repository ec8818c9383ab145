//! `unblur metrics A B [--json]`: PSNR and SSIM of A against reference B.

use std::path::PathBuf;

use unblur::imaging;
use unblur::metrics;

use super::Failure;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The image to judge.
    pub image: PathBuf,
    /// The reference (sharp) image.
    pub reference: PathBuf,
    /// Print `{"psnr": <dB>, "ssim": <0..1>}` instead of `psnr=<dB> ssim=<0..1>`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let (image, _) = imaging::load_stored(&args.image, imaging::DEFAULT_MAX_MEGAPIXELS)?;
    let (reference, _) = imaging::load_stored(&args.reference, imaging::DEFAULT_MAX_MEGAPIXELS)?;
    // Float files can hold NaN, which would print as a score.
    for (path, decoded) in [(&args.image, &image), (&args.reference, &reference)] {
        if decoded.planes.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Failure::usage(format!(
                "{}: image holds NaN or infinite values",
                path.display()
            )));
        }
    }
    let quality = metrics::quality(&image, &reference)
        .map_err(|e| Failure::usage(format!("{} vs {}: {e}", args.image.display(), args.reference.display())))?;
    println!("{}", format_quality(quality.psnr_db, quality.ssim, args.json));
    Ok(())
}

/// Identical images have an infinite PSNR: `inf` in text, `null` in JSON
/// (JSON has no infinity).
fn format_quality(psnr_db: f64, ssim: f64, json: bool) -> String {
    match (json, psnr_db.is_finite()) {
        (false, true) => format!("psnr={psnr_db:.4} ssim={ssim:.6}"),
        (false, false) => format!("psnr=inf ssim={ssim:.6}"),
        (true, true) => format!("{{\"psnr\": {psnr_db:.4}, \"ssim\": {ssim:.6}}}"),
        (true, false) => format!("{{\"psnr\": null, \"ssim\": {ssim:.6}}}"),
    }
}
