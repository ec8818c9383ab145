//! Benchmark of the single-image separation (issue: BITS-Net): overlays of
//! every pair of images in a folder, each scaled to [0, 0.5] and summed
//! (stored values, 256x256 centre squares), separated, matched to their
//! sources by the better permutation, and scored by PSNR and SSIM.
//!
//! `cargo run --release --example separate_single_bench -- FOLDER [--iters N]
//! [--size S] [--width W] [--backend cpu|gpu|auto] [--pairs N] [--seed S]`
//! prints a line per pair, the means, and the time per iteration.

use std::path::PathBuf;
use std::time::Instant;

use unblur::engine::Backend;
use unblur::imaging::resample;
use unblur::imaging::{self, Image};
use unblur::jobs::Silent;
use unblur::metrics;
use unblur::separate_single::{SingleOptions, separate_single};

fn main() {
    let mut args = std::env::args().skip(1);
    let folder = PathBuf::from(args.next().expect("usage: separate_single_bench FOLDER [options]"));
    let mut options = SingleOptions {
        iterations: 8000,
        ..SingleOptions::default()
    };
    let mut pairs_wanted = usize::MAX;
    while let Some(flag) = args.next() {
        let value = args.next().expect("a value after each option");
        match flag.as_str() {
            "--iters" => options.iterations = value.parse().expect("--iters N"),
            "--size" => options.size = value.parse().expect("--size S"),
            "--width" => options.width = value.parse().expect("--width W"),
            "--seed" => options.seed = value.parse().expect("--seed S"),
            "--pairs" => pairs_wanted = value.parse().expect("--pairs N"),
            "--backend" => {
                options.backend = match value.as_str() {
                    "cpu" => Backend::Cpu,
                    "gpu" => Backend::Gpu,
                    _ => Backend::Auto,
                }
            }
            other => panic!("unknown option {other}"),
        }
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("image folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    names.sort();
    let side = options.size;
    let sources: Vec<(String, Image)> = names
        .iter()
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                square_rgb(p, side),
            )
        })
        .collect();
    let mut pairs = Vec::new();
    for i in 0..sources.len() {
        for j in i + 1..sources.len() {
            pairs.push((i, j));
        }
    }
    pairs.truncate(pairs_wanted);
    let (mut psnr_sum, mut ssim_sum, mut seconds, mut count) = ([0.0f64; 2], [0.0f64; 2], 0.0, 0);
    let mut device = String::new();
    for (i, j) in pairs {
        let (a, b) = (&sources[i].1, &sources[j].1);
        let halves = [a, b].map(|s| s.map_planes(|p| p.iter().map(|v| 0.5 * v).collect()));
        let overlay = halves[0].map_planes(|p| p.to_vec());
        let overlay = Image::from_planes(
            side,
            side,
            overlay
                .planes
                .iter()
                .zip(&halves[1].planes)
                .map(|(x, y)| x.iter().zip(y).map(|(u, v)| u + v).collect())
                .collect(),
        );
        let start = Instant::now();
        let separation = separate_single(&overlay, &options, &Silent, &mut |_| {}).expect("separation");
        seconds += start.elapsed().as_secs_f64();
        device = separation.device.clone();
        let score = |layer: &Image, truth: &Image| {
            let q = metrics::quality(layer, truth).expect("same size");
            (q.psnr_db, q.ssim)
        };
        let [l0, l1] = &separation.layers;
        let straight = [score(l0, &halves[0]), score(l1, &halves[1])];
        let crossed = [score(l1, &halves[0]), score(l0, &halves[1])];
        let best = if straight[0].0 + straight[1].0 >= crossed[0].0 + crossed[1].0 {
            straight
        } else {
            crossed
        };
        println!(
            "{}+{}: layer A {:.2} dB SSIM {:.3}, layer B {:.2} dB SSIM {:.3}",
            sources[i].0, sources[j].0, best[0].0, best[0].1, best[1].0, best[1].1
        );
        for k in 0..2 {
            psnr_sum[k] += best[k].0;
            ssim_sum[k] += best[k].1;
        }
        count += 1;
    }
    let n = count as f64;
    println!(
        "mean over {count} pairs: layer A {:.2} dB SSIM {:.3}, layer B {:.2} dB SSIM {:.3}",
        psnr_sum[0] / n,
        ssim_sum[0] / n,
        psnr_sum[1] / n,
        ssim_sum[1] / n
    );
    println!(
        "{} iterations at {side}x{side}, width {}, on {device}: {:.1} ms per iteration",
        options.iterations,
        options.width,
        1000.0 * seconds / (n * options.iterations as f64)
    );
}

/// The centre square of an image, resized to `side`, as 3 planes of stored values.
fn square_rgb(path: &std::path::Path, side: usize) -> Image {
    let (image, _) = imaging::load_stored(path, 100.0).expect("readable image");
    let s = image.width.min(image.height);
    let (x0, y0) = ((image.width - s) / 2, (image.height - s) / 2);
    let planes: Vec<Vec<f32>> = (0..3)
        .map(|c| {
            let plane = &image.planes[c.min(image.planes.len() - 1)];
            let square: Vec<f32> = (0..s * s)
                .map(|k| plane[(y0 + k / s) * image.width + x0 + k % s])
                .collect();
            resample(&square, s, s, side, side)
        })
        .collect();
    Image::from_planes(side, side, planes)
}
