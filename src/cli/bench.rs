//! `unblur bench`: CPU and GPU timings of the engine on synthetic RGB images,
//! as a markdown table (median of several runs, warm-up excluded).

use std::sync::Arc;
use std::time::Instant;

use unblur::deconv::{self, Boundary, Method, Prepared, Settings};
use unblur::engine;
use unblur::gpu::{GpuContext, GpuDeconvolver};
use unblur::imaging::Image;
use unblur::jobs::Silent;
use unblur::psf::PsfSpec;

use super::Failure;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Image sizes in megapixels (4:3 RGB; 3 is 2048x1536), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "3")]
    pub sizes: Vec<f64>,
    /// Timed runs per row (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
    /// Iterations of the TV rows.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub tv_iters: u32,
    /// Iterations of the Richardson–Lucy rows.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub rl_iters: u32,
    /// Which engines to time.
    #[arg(long, value_enum, default_value_t = Engines::Both)]
    pub backend: Engines,
    /// The blur (13x13 disk by default, as the peer script uses).
    #[arg(long, default_value = "disk:r=6")]
    pub psf: String,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engines {
    Cpu,
    Gpu,
    Both,
}

/// 4:3 dimensions for `megapixels` (3 gives 2048x1536).
fn dimensions(megapixels: f64) -> (usize, usize) {
    let height = ((megapixels * 1e6 * 3.0 / 4.0).sqrt() / 16.0).round() as usize * 16;
    let height = if (megapixels - 3.0).abs() < 1e-9 {
        1536
    } else {
        height.max(64)
    };
    (height * 4 / 3, height)
}

/// Median of `runs` measurements after one warm-up.
fn median(runs: u32, mut measure: impl FnMut() -> f64) -> f64 {
    measure();
    let mut times: Vec<f64> = (0..runs).map(|_| measure()).collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn wall(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
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
    if args.sizes.iter().any(|s| !(s.is_finite() && *s > 0.0 && *s <= 250.0)) {
        return Err(Failure::usage("--sizes: megapixels between 0 and 250"));
    }
    let kernel = args
        .psf
        .parse::<PsfSpec>()
        .map_err(|e| Failure::usage(format!("--psf: {e}")))?
        .kernel()?;
    let gpu = if args.backend == Engines::Cpu {
        None
    } else {
        match GpuContext::new_headless() {
            Ok(ctx) => Some(ctx),
            Err(e) if args.backend == Engines::Gpu => return Err(e.into()),
            Err(e) => {
                eprintln!("unblur bench: no GPU rows: {e}");
                None
            }
        }
    };
    let gpu_clock = gpu.as_ref().map(|ctx| {
        let timestamps = ctx.device.features().contains(unblur::gpu::timestamp_features());
        format!(
            "{} ({})",
            ctx.description(),
            if timestamps {
                "timestamp queries"
            } else {
                "wall clock, queue idle"
            }
        )
    });
    println!(
        "unblur bench: PSF {} ({}x{}); CPU: {}, {} threads; GPU: {}; median of {} runs",
        args.psf,
        kernel.width,
        kernel.height,
        cpu_model(),
        rayon::current_num_threads(),
        gpu_clock.as_deref().unwrap_or("none"),
        args.runs
    );
    println!("\n| image | step | CPU ms | GPU ms |\n|---|---|---:|---:|");
    for &megapixels in &args.sizes {
        let (width, height) = dimensions(megapixels);
        let image = unblur::imaging::synthetic(width, height);
        let label = format!("{width}x{height} RGB");
        let cpu_rows = if args.backend == Engines::Gpu {
            None
        } else {
            Some(cpu_timings(&image, &kernel, args)?)
        };
        let gpu_rows = match &gpu {
            Some(ctx) => Some(gpu_timings(ctx, &image, &kernel, args)?),
            None => None,
        };
        for (i, step) in row_names(args).iter().enumerate() {
            let cell = |rows: &Option<Vec<f64>>| {
                rows.as_ref()
                    .map_or("-".to_string(), |r| format!("{:.1}", r[i] * 1000.0))
            };
            println!("| {label} | {step} | {} | {} |", cell(&cpu_rows), cell(&gpu_rows));
        }
    }
    Ok(())
}

fn row_names(args: &Args) -> Vec<String> {
    vec![
        "2D FFT forward + inverse, 3 channels".to_string(),
        "Wiener slider update (spectrum cached)".to_string(),
        "Wiener end to end (no decode)".to_string(),
        format!("TV {} iterations", args.tv_iters),
        format!("Richardson-Lucy {} iterations", args.rl_iters),
    ]
}

fn settings(method: Method, iterations: Option<usize>) -> Settings {
    Settings {
        method,
        iterations,
        boundary: Boundary::Reflect,
        ..Settings::default()
    }
}

fn cpu_timings(image: &Image, kernel: &unblur::psf::Kernel, args: &Args) -> Result<Vec<f64>, Failure> {
    let runs = args.runs;
    let prepared = Prepared::new(image, Boundary::Reflect, kernel.height, kernel.width);
    let otf = prepared.otf(kernel);
    let nsr = prepared.analyze(&otf, image).best_nsr() as f32;
    let run = |method: Method, iterations: Option<usize>| {
        median(runs, || {
            wall(|| {
                drop(deconv::deconvolve(
                    image,
                    kernel,
                    &settings(method, iterations),
                    &Silent,
                ))
            })
        })
    };
    // Made on first use: outside the timed runs.
    let planes = prepared.planes();
    Ok(vec![
        median(runs, || {
            wall(|| {
                for plane in planes {
                    let spectrum = prepared.fft.forward(plane);
                    std::hint::black_box(prepared.fft.inverse(&spectrum));
                }
            })
        }),
        median(runs, || wall(|| drop(std::hint::black_box(prepared.wiener(&otf, nsr))))),
        run(Method::Wiener, None),
        run(Method::TotalVariation, Some(args.tv_iters as usize)),
        run(Method::RichardsonLucy, Some(args.rl_iters as usize)),
    ])
}

fn gpu_timings(
    ctx: &Arc<GpuContext>,
    image: &Image,
    kernel: &unblur::psf::Kernel,
    args: &Args,
) -> Result<Vec<f64>, Failure> {
    let runs = args.runs;
    let mut uploaded = GpuDeconvolver::new(ctx.clone(), image, Boundary::Reflect, kernel.height, kernel.width)?;
    uploaded.set_psf(kernel)?;
    let nsr = 1e-3;
    let timed = |work: &dyn Fn() -> unblur::Result<()>| -> Result<f64, Failure> {
        let mut failure = None;
        let secs = median(runs, || match ctx.time(work) {
            Ok(s) => s,
            Err(e) => {
                failure = Some(e);
                f64::NAN
            }
        });
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(secs),
        }
    };
    let end_to_end = |method: Method, iterations: Option<usize>| {
        let s = settings(method, iterations);
        timed(&|| engine::on_gpu(ctx, image, kernel, &s, &Silent, ctx.max_binding_bytes).map(drop))
    };
    Ok(vec![
        timed(&|| uploaded.fft_round_trip())?,
        timed(&|| uploaded.apply_wiener(nsr))?,
        end_to_end(Method::Wiener, None)?,
        timed(&|| {
            uploaded
                .total_variation(2e-4, args.tv_iters as usize, &Silent)
                .map(drop)
        })?,
        timed(&|| uploaded.richardson_lucy(args.rl_iters as usize, &Silent).map(drop))?,
    ])
}
