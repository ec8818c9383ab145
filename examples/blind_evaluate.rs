//! Blind estimation on the shared cases: parametric fits and free-form kernels.
//! `cargo run --release --example blind_evaluate [parametric|kernel] [CASE-FILTER]`

use std::path::Path;
use std::time::Instant;

use unblur::blind::{self, KernelOptions, ParametricModel};
use unblur::imaging::{self, DecodeOptions};
use unblur::imaging::{BitDepth, Decoded, Image, LightSpace};
use unblur::jobs::Silent;
use unblur::metrics;
use unblur::psf::Kernel;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("parametric");
    let filter = args.get(2).cloned().unwrap_or_default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cases");
    let mut ids: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|id| id.contains(&filter))
        .collect();
    ids.sort();
    for id in ids {
        let dir = root.join(&id);
        let blurred = if dir.join("blurred.png").exists() {
            "blurred.png"
        } else {
            "blurred.jpg"
        };
        let decoded = imaging::load(&dir.join(blurred), &DecodeOptions::default()).unwrap();
        if what == "kernel" {
            let size: Option<usize> = args.get(3).and_then(|s| s.parse().ok());
            kernel_case(&dir, &id, &decoded, size);
        }
        if what == "parametric" {
            for model in [
                ParametricModel::Disk,
                ParametricModel::Gaussian,
                ParametricModel::Motion,
            ] {
                let start = Instant::now();
                let e = blind::estimate_parametric(&decoded.image, model, &Silent).unwrap();
                println!(
                    "{id:<34} {:<28} conf {:.3} res {:.4} {:.0} ms",
                    e.spec.to_string(),
                    e.confidence,
                    e.residual,
                    start.elapsed().as_secs_f64() * 1e3
                );
            }
        }
    }
}

fn as_stored(image: &Image, space: LightSpace, depth: BitDepth) -> Image {
    let levels = if depth == BitDepth::Eight { 255.0 } else { 65535.0 };
    image.map_planes(|p| {
        p.iter()
            .map(|v| {
                let e = if space == LightSpace::Srgb {
                    imaging::linear_to_srgb(*v)
                } else {
                    *v
                };
                (e.clamp(0.0, 1.0) * levels).round() / levels
            })
            .collect()
    })
}

/// SSD of `image` sampled at (y + dy, x + dx) (bilinear) against the truth,
/// over the interior that every shift within +-`reach` keeps.
fn shifted_ssd(image: &Image, truth: &Image, reach: usize, dy: f64, dx: f64) -> f64 {
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

/// SSD against the truth after the best shift within +-`reach` pixels:
/// whole pixels when `step` is 1, else in steps of `step` (Levin et al.'s
/// `comp_upto_shift` uses quarter pixels and linear interpolation), found
/// around the best whole-pixel shift.
pub fn aligned_ssd(image: &Image, truth: &Image, reach: usize, step: f64) -> f64 {
    let r = reach as isize;
    let mut best = (f64::INFINITY, 0.0, 0.0);
    for dy in -r..=r {
        for dx in -r..=r {
            let ssd = shifted_ssd(image, truth, reach, dy as f64, dx as f64);
            if ssd < best.0 {
                best = (ssd, dy as f64, dx as f64);
            }
        }
    }
    if step >= 1.0 {
        return best.0;
    }
    let n = (1.0 / step).round() as isize;
    let (cy, cx) = (best.1, best.2);
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

fn kernel_case(dir: &Path, id: &str, decoded: &Decoded, size: Option<usize>) {
    let truth_kernel = Kernel::from_file(&dir.join("kernel.png")).unwrap();
    let size = size.unwrap_or(truth_kernel.width + 4);
    let start = Instant::now();
    let estimate = blind::estimate_kernel(
        &decoded.image,
        &KernelOptions {
            kernel_size: Some(size),
            region: None,
        },
        &Silent,
    )
    .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let ke = metrics::kernel_error(&estimate.kernel, &truth_kernel);
    let floor = imaging::noise_floor(decoded);
    let (truth, _) = imaging::load_stored(&dir.join("gt.png"), 1000.0).unwrap();
    let run = |k: &Kernel| {
        let (out, _) = blind::deblur(&decoded.image, k, floor, &Silent).unwrap();
        as_stored(&out, decoded.space, decoded.depth)
    };
    let with_estimate = run(&estimate.kernel);
    let with_truth = run(&truth_kernel);
    let ratio = aligned_ssd(&with_estimate, &truth, 4, 1.0) / aligned_ssd(&with_truth, &truth, 4, 1.0);
    let ratio_quarter = aligned_ssd(&with_estimate, &truth, 4, 0.25) / aligned_ssd(&with_truth, &truth, 4, 0.25);
    let blurred = as_stored(&decoded.image, decoded.space, decoded.depth);
    println!(
        "{id:<34} size {size:>2} KE {ke:.4} ratio {ratio:5.2} quarter-px {ratio_quarter:5.2} psnr est {:.2} true {:.2} blurred {:.2}  {secs:.2} s",
        metrics::psnr(&with_estimate, &truth),
        metrics::psnr(&with_truth, &truth),
        metrics::psnr(&blurred, &truth)
    );
    let out = std::env::temp_dir().join(format!("blind-{id}.png"));
    let _ = imaging::save(
        &out,
        &estimate.kernel.to_display_image(),
        &imaging::EncodeOptions {
            depth: BitDepth::Sixteen,
            space: LightSpace::Linear,
            jpeg_quality: 100,
        },
    );
}
