//! Automatic TV and RL parameters against the truth, for BENCHMARKS.md:
//! `cargo run --release --example tv_weight [tv|rl|stats|auto] [GAIN]`.
//! - `tv`: PSNR at 1/8-8x the former TV weight `20 sigma^2`;
//! - `rl`: PSNR at the former count `0.5 / sigma` with sigma scaled 1/4-4x;
//! - `stats`: the statistics the rules were fitted on;
//! - `auto`: the automatic parameters as shipped.
//!
//! `GAIN` multiplies the image first (results are divided back);
//! `UNBLUR_CASES=DIR` reads the cases from DIR instead of `tests/data/cases`.
#[path = "../tests/common/mod.rs"]
mod common;

use unblur::deconv::{self, Method, Plan, Settings};
use unblur::imaging::{self, DecodeOptions};
use unblur::jobs::Silent;
use unblur::metrics;
use unblur::psf::Kernel;

fn span(planes: &[Vec<f32>]) -> f64 {
    let mut v: Vec<f32> = planes.iter().flat_map(|p| p.iter().step_by(7).cloned()).collect();
    let n = v.len();
    let lo = *v.select_nth_unstable_by(n / 200, |a, b| a.total_cmp(b)).1;
    let hi = *v.select_nth_unstable_by(n - 1 - n / 200, |a, b| a.total_cmp(b)).1;
    (hi - lo) as f64
}
fn std(planes: &[Vec<f32>]) -> f64 {
    let mut s = 0.0;
    for p in planes {
        let m = p.iter().map(|v| *v as f64).sum::<f64>() / p.len() as f64;
        s += (p.iter().map(|v| (*v as f64 - m).powi(2)).sum::<f64>() / p.len() as f64).sqrt();
    }
    s / planes.len() as f64
}

fn grad(planes: &[Vec<f32>], w: usize) -> f64 {
    let mut s = 0.0;
    let mut n = 0.0;
    for p in planes {
        for i in 0..p.len() - w - 1 {
            s += ((p[i + 1] - p[i]).abs() + (p[i + w] - p[i]).abs()) as f64;
            n += 2.0;
        }
    }
    s / n
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let method = args.get(1).map(String::as_str).unwrap_or("tv");
    let gain: f32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1.0);
    for (id, dir, blurred) in common::case_folders("") {
        let decoded = imaging::load(&blurred, &DecodeOptions::default()).unwrap();
        let kernel = Kernel::from_file(&dir.join("kernel.png")).unwrap();
        let mut image = decoded.image.clone();
        image.multiply(gain);
        let floor = imaging::noise_floor(&decoded).map(|f| f * gain as f64);
        let (truth, _) = imaging::load_stored(&dir.join("gt.png"), 1000.0).unwrap();
        let m = if method != "rl" {
            Method::TotalVariation
        } else {
            Method::RichardsonLucy
        };
        let base = Settings {
            method: m,
            noise_floor: floor,
            ..Settings::default()
        };
        let plan = Plan::new(&image, &kernel, &base, &Silent).unwrap();
        let sigma = plan.noise_sigma;
        drop(plan);
        let (sp, sd) = (span(&image.planes), std(&image.planes));
        let g = grad(&image.planes, image.width);
        let mut line = format!("{id:<36} sig {sigma:.3e} span {sp:.4} std {sd:.4} grad {g:.5} |");
        if method == "auto" {
            // The automatic weight as the CLI chooses it.
            let settings = Settings {
                source_space: decoded.space,
                ..base.clone()
            };
            let (mut result, applied) = deconv::deconvolve(&image, &kernel, &settings, &Silent).unwrap();
            result.divide(gain);
            let stored = common::as_stored(&result, decoded.space, decoded.depth);
            let q = metrics::quality(&stored, &truth).unwrap();
            println!("{id:<36} auto {:.3} {applied}", q.psnr_db);
            continue;
        }
        if method == "stats" {
            let w = image.width;
            let sq: f64 = image
                .planes
                .iter()
                .map(|p| {
                    (0..p.len() - w - 1)
                        .map(|i| (((p[i + 1] - p[i]).powi(2) + (p[i + w] - p[i]).powi(2)) / 2.0) as f64)
                        .sum::<f64>()
                        / (p.len() - w - 1) as f64
                })
                .sum::<f64>()
                / image.planes.len() as f64;
            let binned: Vec<Vec<f32>> = image
                .planes
                .iter()
                .map(|p| {
                    let (hw, hh) = (w / 2, image.height / 2);
                    (0..hh * hw)
                        .map(|n| {
                            let (y, x) = (2 * (n / hw), 2 * (n % hw));
                            (p[y * w + x] + p[y * w + x + 1] + p[(y + 1) * w + x] + p[(y + 1) * w + x + 1]) / 4.0
                        })
                        .collect()
                })
                .collect();
            let gb = grad(&binned, w / 2) / 2.0;
            let tplanes: Vec<Vec<f32>> = truth
                .planes
                .iter()
                .map(|p| {
                    p.iter()
                        .map(|v| {
                            if decoded.space == imaging::LightSpace::Srgb {
                                imaging::srgb_to_linear(*v)
                            } else {
                                *v
                            }
                        })
                        .collect()
                })
                .collect();
            let gt = grad(&tplanes, truth.width);
            println!(
                "{id:<36} sig {sigma:.3e} span {sp:.4} std {sd:.4} grad {g:.5} sq {sq:.4e} binned {gb:.5} truth {gt:.5}"
            );
            continue;
        }
        let mults: Vec<f64> = if method == "tv" {
            vec![0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
        } else {
            vec![0.25, 0.5, 1.0, 2.0, 4.0]
        };
        for mult in &mults {
            let settings = if method == "tv" {
                Settings {
                    lambda: Some(20.0 * sigma.max(1.0 / 65535.0).powi(2) * mult),
                    ..base.clone()
                }
            } else {
                let iters = ((0.5 / (sigma * mult)).round() as usize).clamp(5, 800);
                Settings {
                    iterations: Some(iters),
                    ..base.clone()
                }
            };
            let (mut result, _) = deconv::deconvolve(&image, &kernel, &settings, &Silent).unwrap();
            result.divide(gain);
            let stored = common::as_stored(&result, decoded.space, decoded.depth);
            let q = metrics::quality(&stored, &truth).unwrap();
            line += &format!(" {:.3}", q.psnr_db);
        }
        println!("{line}");
    }
}
