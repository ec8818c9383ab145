//! The engine against reference numbers of the shared data: PSF rasterization
//! against the generator's kernels, metrics against scikit-image's values
//! recorded in each case's manifest entry.

mod common;

use unblur::imaging;
use unblur::metrics;
use unblur::psf::{Kernel, PsfSpec};

/// A kernel from the shared CSV (float64 values, sum 1).
fn csv_kernel(name: &str) -> Kernel {
    let text = std::fs::read_to_string(common::data_dir().join("kernels").join(format!("{name}.csv"))).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect();
    let (h, w) = (rows.len(), rows[0].len());
    Kernel::from_weights(w, h, rows.concat()).unwrap()
}

/// Largest difference between two centred kernels, zero-padded to a common size.
fn max_difference(a: &Kernel, b: &Kernel) -> f64 {
    let (h, w) = (a.height.max(b.height), a.width.max(b.width));
    let at = |k: &Kernel, r: usize, c: usize| {
        let (dr, dc) = ((h - k.height) / 2, (w - k.width) / 2);
        if r < dr || c < dc || r - dr >= k.height || c - dc >= k.width {
            0.0
        } else {
            k.at(r - dr, c - dc) as f64
        }
    };
    let mut worst: f64 = 0.0;
    for r in 0..h {
        for c in 0..w {
            worst = worst.max((at(a, r, c) - at(b, r, c)).abs());
        }
    }
    worst
}

#[test]
fn rasterized_psfs_match_the_shared_kernels() {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::data_dir().join("kernels/kernels.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for entry in json["kernels"].as_array().unwrap() {
        let Some(spec) = entry["spec"].as_str() else { continue };
        let name = entry["name"].as_str().unwrap();
        let ours = spec.parse::<PsfSpec>().unwrap().kernel().unwrap();
        let theirs = csv_kernel(name);
        let size = entry["size"].as_array().unwrap();
        assert_eq!(
            (ours.height as u64, ours.width as u64),
            (size[0].as_u64().unwrap(), size[1].as_u64().unwrap()),
            "{name} size"
        );
        let peak = theirs.data.iter().cloned().fold(0.0f32, f32::max) as f64;
        // The generator supersamples disks and segments (16x16 and 3000
        // points); exact areas and lengths differ from it by under 1% of the peak.
        let difference = max_difference(&ours, &theirs);
        assert!(
            difference < 0.01 * peak,
            "{name}: max difference {difference:.2e} vs peak {peak:.2e}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn kernel_png_reads_back_as_the_csv_kernel() {
    for name in ["disk_r6", "gauss_s3", "motion_l15_a30", "shake_2", "shake_5"] {
        let from_png = Kernel::from_file(&common::data_dir().join("kernels").join(format!("{name}.png"))).unwrap();
        let peak = from_png.data.iter().cloned().fold(0.0f32, f32::max) as f64;
        // 16-bit quantization of values scaled to a maximum of 65535.
        assert!(
            max_difference(&from_png, &csv_kernel(name)) < peak * 2.0 / 65535.0,
            "{name}"
        );
    }
}

#[test]
fn metrics_match_scikit_image_on_every_case() {
    for case in common::cases() {
        let text = std::fs::read_to_string(case.folder.join("case.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (blurred, _) = imaging::load_stored(&case.blurred, 1000.0).unwrap();
        let (truth, _) = imaging::load_stored(&case.folder.join("gt.png"), 1000.0).unwrap();
        let quality = metrics::quality(&blurred, &truth).unwrap();
        // The manifest rounds to 4 (PSNR) and 5 (SSIM) digits. JPEG decoders
        // upsample 4:2:0 chroma differently (measured: up to 6e-4 in SSIM).
        let (psnr_tol, ssim_tol) = if case.blurred.extension().unwrap() == "jpg" {
            (0.05, 2e-3)
        } else {
            (1e-3, 1e-5)
        };
        let psnr = json["blurred_psnr"].as_f64().unwrap();
        let ssim = json["blurred_ssim"].as_f64().unwrap();
        assert!(
            (quality.psnr_db - psnr).abs() < psnr_tol,
            "{}: psnr {} vs {psnr}",
            case.id,
            quality.psnr_db
        );
        assert!(
            (quality.ssim - ssim).abs() < ssim_tol,
            "{}: ssim {} vs {ssim}",
            case.id,
            quality.ssim
        );
    }
}
