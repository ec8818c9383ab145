//! Timings of blind estimation (`cargo run --release --example blind_bench [RUNS]`):
//! the free-form kernel on an 800x800 gray image, noisy and clean, with a
//! 51x51 support (the speed target) and with the suggested support,
//! with the time per pyramid level, and the parametric fits on 12-megapixel
//! images.

use std::sync::Mutex;
use std::time::Instant;

use unblur::blind::{self, KernelOptions, ParametricModel};
use unblur::deconv;
use unblur::fft;
use unblur::imaging::Image;
use unblur::jobs::{Progress, Silent};
use unblur::psf::{Kernel, PsfSpec};

/// Records when each stage (pyramid level) ends.
struct Stages {
    start: Instant,
    ends: Mutex<Vec<(String, f64)>>,
}

impl Progress for Stages {
    fn report(&self, stage: &str, _fraction: f32) {
        let now = self.start.elapsed().as_secs_f64();
        let mut ends = self.ends.lock().unwrap();
        match ends.last_mut() {
            Some((name, end)) if name == stage => *end = now,
            _ => ends.push((stage.to_string(), now)),
        }
    }
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// `sharp` mirrored and repeated to `width x height`.
fn tiled(sharp: &Image, width: usize, height: usize) -> Vec<f32> {
    let mirror = |i: usize, n: usize| {
        let k = i % (2 * n);
        if k < n { k } else { 2 * n - 1 - k }
    };
    let p = &sharp.planes[0];
    (0..width * height)
        .map(|i| p[mirror(i / width, sharp.height) * sharp.width + mirror(i % width, sharp.width)])
        .collect()
}

/// Circular blur by `kernel` plus seeded Gaussian-ish noise of `sigma`.
fn blurred(plane: &[f32], width: usize, height: usize, kernel: &Kernel, sigma: f32) -> Image {
    let plan = fft::plan(height, width);
    let otf = deconv::otf(kernel, &plan);
    let mut spectrum = plan.forward(plane);
    spectrum.iter_mut().zip(&otf).for_each(|(s, h)| *s *= h);
    let mut out = plan.inverse(&spectrum);
    let mut state = 7u64;
    for v in out.iter_mut() {
        // Sum of four uniforms: close enough to Gaussian for a benchmark.
        let mut n = 0.0;
        for _ in 0..4 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            n += (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        *v = (*v + sigma * n * 3f32.sqrt()).clamp(0.0, 1.0);
    }
    Image::gray(width, height, out)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let (sharp, _) =
        unblur::imaging::load_stored(&data.join("cases/camera__disk_r6__clean/gt.png"), 100.0).expect("gt");
    let shake = Kernel::from_file(&data.join("kernels/shake_5.png")).expect("kernel");
    // Noisy (sigma 0.01) and clean (0.001): clean images get a last kernel
    // step that noisy ones skip.
    for sigma in [0.01, 0.001] {
        println!("noise sigma {sigma}");
        let image = blurred(&tiled(&sharp, 800, 800), 800, 800, &shake, sigma);
        for kernel_size in [Some(51), None] {
            free_form(&image, &shake, kernel_size, runs);
        }
    }

    let big = tiled(&sharp, 4000, 3000);
    for (spec, model) in [
        ("disk:r=8", ParametricModel::Disk),
        ("gaussian:sigma=3", ParametricModel::Gaussian),
        ("motion:len=25,angle=30", ParametricModel::Motion),
    ] {
        let kernel = spec.parse::<PsfSpec>().and_then(|s| s.kernel()).expect("spec");
        let image = blurred(&big, 4000, 3000, &kernel, 0.005);
        let mut times = Vec::new();
        let mut fit = None;
        for _ in 0..runs {
            let start = Instant::now();
            fit = Some(blind::estimate_parametric(&image, model, &Silent).expect("fit"));
            times.push(start.elapsed().as_secs_f64());
        }
        let fit = fit.expect("one run");
        println!(
            "parametric on 4000x3000 ({spec}): {} confidence {:.2}, median {:.0} ms",
            fit.spec,
            fit.confidence,
            median(times) * 1e3
        );
    }
}

/// Times the free-form estimate on `image` (blurred by `truth`) with the
/// given support, or the suggested one, and prints where the time went.
fn free_form(image: &Image, truth: &Kernel, kernel_size: Option<usize>, runs: usize) {
    let options = KernelOptions {
        kernel_size,
        region: None,
    };
    let support = kernel_size.map_or("suggested".to_string(), |n| format!("{n}x{n}"));
    println!(
        "free-form kernel, 800x800 gray, {support} support, {runs} runs (threads: {})",
        rayon::current_num_threads()
    );
    let mut totals = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let stages = Stages {
            start: Instant::now(),
            ends: Mutex::new(Vec::new()),
        };
        let estimate = blind::estimate_kernel(image, &options, &stages).expect("estimate");
        totals.push(stages.start.elapsed().as_secs_f64());
        last = Some((stages, estimate));
    }
    let (stages, estimate) = last.expect("one run");
    let mut previous = 0.0;
    for (stage, end) in stages.ends.lock().unwrap().iter() {
        println!("  {stage:<14} {:7.1} ms", (end - previous) * 1e3);
        previous = *end;
    }
    println!(
        "  total: median {:.2} s (runs: {}), size {}",
        median(totals.clone()),
        totals.iter().map(|t| format!("{t:.2}")).collect::<Vec<_>>().join(", "),
        estimate.size
    );
    println!(
        "  kernel error against the true 31x31 shake: {:.4}",
        unblur::metrics::kernel_error(&estimate.kernel, truth)
    );
}
