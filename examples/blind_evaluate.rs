//! Blind estimation on the shared cases: parametric fits and free-form kernels.
//! `cargo run --release --example blind_evaluate [parametric|kernel] [CASE-FILTER] [SIZE]`;
//! `UNBLUR_CASES=DIR` reads the cases from DIR instead of `tests/data/cases`;
//! `UNBLUR_KERNELS=DIR` scores the kernels `DIR/<case>_kernel.png` (another
//! estimator's, say) instead of estimating them.

#[path = "../tests/common/mod.rs"]
mod common;

use common::Support;

use std::path::Path;
use std::time::Instant;

use unblur::blind::{self, KernelOptions, ParametricModel};
use unblur::engine::Backend;
use unblur::imaging::{self, DecodeOptions};
use unblur::imaging::{BitDepth, Decoded, LightSpace};
use unblur::jobs::Silent;
use unblur::metrics;
use unblur::psf::Kernel;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("parametric");
    let filter = args.get(2).cloned().unwrap_or_default();
    for (id, dir, blurred) in common::case_folders(&filter) {
        let decoded = imaging::load(&blurred, &DecodeOptions::default()).unwrap();
        if what == "kernel" {
            // A number, or "auto" for the suggested size; none: the true side + 4.
            let size = match args.get(3).map(String::as_str) {
                Some("auto") => Support::Suggested,
                Some(n) => n.parse().map_or(Support::NearTruth, Support::Given),
                None => Support::NearTruth,
            };
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

fn kernel_case(dir: &Path, id: &str, decoded: &Decoded, size: Support) {
    let truth_kernel = Kernel::from_file(&dir.join("kernel.png")).unwrap();
    let kernel_size = size.kernel_size(truth_kernel.width);
    let start = Instant::now();
    let estimate = match std::env::var_os("UNBLUR_KERNELS") {
        Some(folder) => {
            let kernel = Kernel::from_file(&Path::new(&folder).join(format!("{id}_kernel.png"))).unwrap();
            blind::KernelEstimate {
                size: kernel.width,
                kernel,
                size_suggested: false,
                warnings: Vec::new(),
            }
        }
        None => blind::estimate_kernel(
            &decoded.image,
            &KernelOptions {
                kernel_size,
                region: None,
            },
            &Silent,
        )
        .unwrap(),
    };
    let size = estimate.size;
    let secs = start.elapsed().as_secs_f64();
    let ke = metrics::kernel_error(&estimate.kernel, &truth_kernel);
    let floor = imaging::noise_floor(decoded);
    let (truth, _) = imaging::load_stored(&dir.join("gt.png"), 1000.0).unwrap();
    let run = |k: &Kernel| {
        let (out, ..) = blind::deblur(&decoded.image, k, floor, Backend::Cpu, &Silent).unwrap();
        common::as_stored(&out, decoded.space, decoded.depth)
    };
    let with_estimate = run(&estimate.kernel);
    let with_truth = run(&truth_kernel);
    let ratio = common::aligned_ssd(&with_estimate, &truth, 4, 1.0) / common::aligned_ssd(&with_truth, &truth, 4, 1.0);
    let ratio_quarter =
        common::aligned_ssd(&with_estimate, &truth, 4, 0.25) / common::aligned_ssd(&with_truth, &truth, 4, 0.25);
    let blurred = common::as_stored(&decoded.image, decoded.space, decoded.depth);
    println!(
        "{id:<34} size {size:>2} KE {ke:.4} ratio {ratio:5.2} quarter-px {ratio_quarter:5.2} psnr est {:.2} true {:.2} blurred {:.2}  {secs:.2} s",
        metrics::psnr(&with_estimate, &truth),
        metrics::psnr(&with_truth, &truth),
        metrics::psnr(&blurred, &truth)
    );
    for warning in &estimate.warnings {
        println!("{id:<34} warning: {warning}");
    }
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
