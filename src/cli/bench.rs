//! `unblur bench`: timings of the engine on a synthetic RGB image, as a
//! markdown table (median of several runs, warm-up excluded).

use std::time::Instant;

use unblur::deconv::{self, Boundary, Method, Prepared, Settings};
use unblur::fft;
use unblur::imaging::Image;
use unblur::jobs::Silent;
use unblur::psf::PsfSpec;

use super::Failure;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Image width in pixels.
    #[arg(long, default_value_t = 2048)]
    pub width: usize,
    /// Image height in pixels.
    #[arg(long, default_value_t = 1536)]
    pub height: usize,
    /// Timed runs per row (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
    /// Iterations of the TV and Richardson–Lucy rows.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub iters: u32,
    /// The blur (13x13 disk by default, as the peer script uses).
    #[arg(long, default_value = "disk:r=6")]
    pub psf: String,
}

/// A deterministic test photo: smooth shading, edges and fine texture.
fn synthetic_image(width: usize, height: usize) -> Image {
    let plane = |phase: f32| {
        (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f32, (i / width) as f32);
                let shading = 0.5 + 0.3 * ((x * 0.003 + phase).sin() * (y * 0.004).cos());
                let edges = if ((x / 97.0) as i32 + (y / 61.0) as i32) % 2 == 0 {
                    0.1
                } else {
                    -0.1
                };
                let texture = 0.05 * ((x * 0.9 + y * 0.7 + phase).sin());
                (shading + edges + texture).clamp(0.0, 1.0)
            })
            .collect()
    };
    Image::from_planes(width, height, vec![plane(0.0), plane(1.0), plane(2.0)])
}

/// Median wall-clock seconds of `runs` calls after one warm-up call.
fn median_secs(runs: u32, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

pub fn run(args: &Args) -> Result<(), Failure> {
    if args.width < 64 || args.height < 64 {
        return Err(Failure::usage("bench: the image must be at least 64x64"));
    }
    let kernel = args
        .psf
        .parse::<PsfSpec>()
        .map_err(|e| Failure::usage(format!("--psf: {e}")))?
        .kernel()?;
    let image = synthetic_image(args.width, args.height);
    let runs = args.runs;
    let iters = args.iters as usize;
    let threads = rayon::current_num_threads();
    println!(
        "unblur bench: {}x{} RGB, PSF {} ({}x{}), {threads} threads, {}, median of {runs} runs",
        args.width,
        args.height,
        args.psf,
        kernel.width,
        kernel.height,
        cpu_model()
    );
    let prepared = Prepared::new(&image, Boundary::Reflect, kernel.height, kernel.width);
    let otf = prepared.otf(&kernel);
    let domain = (prepared.layout.height, prepared.layout.width);
    let plan = fft::plan(domain.0, domain.1);
    let nsr = prepared.analyze(&otf).best_nsr();
    let deconv_secs = |method: Method, iterations: Option<usize>| {
        let settings = Settings {
            method,
            iterations,
            boundary: Boundary::Reflect,
            ..Settings::default()
        };
        median_secs(runs, || {
            let _ = deconv::deconvolve(&image, &kernel, &settings, &Silent);
        })
    };
    let rows = [
        (
            format!("2D real FFT forward + inverse, 1 channel ({}x{})", domain.1, domain.0),
            median_secs(runs, || {
                let spectrum = plan.forward(&prepared.planes[0]);
                std::hint::black_box(plan.inverse(&spectrum));
            }),
        ),
        (
            "Wiener slider update (spectrum cached), 3 channels".to_string(),
            median_secs(runs, || {
                std::hint::black_box(prepared.wiener(&otf, nsr as f32));
            }),
        ),
        (
            "Wiener end to end (pad, FFT, auto NSR, crop), 3 channels".to_string(),
            deconv_secs(Method::Wiener, None),
        ),
        (
            format!("TV {iters} iterations, 3 channels"),
            deconv_secs(Method::TotalVariation, Some(iters)),
        ),
        (
            format!("Richardson-Lucy {iters} iterations, 3 channels"),
            deconv_secs(Method::RichardsonLucy, Some(iters)),
        ),
    ];
    println!("\n| step | CPU median ms |\n|---|---:|");
    for (name, secs) in rows {
        println!("| {name} | {:.1} |", secs * 1000.0);
    }
    Ok(())
}
