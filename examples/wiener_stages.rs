//! Where the time of a one-shot Wiener deconvolution goes, stage by stage,
//! on the 2048x1536 RGB image of `unblur bench` with `disk:r=6` and a
//! reflected boundary: `cargo run --release --example wiener_stages [RUNS]`
//! (min and median ms of RUNS runs, 25 by default).

use std::time::Instant;

use unblur::deconv::{self, Boundary, RowTransformed, Settings};
use unblur::jobs::Silent;
use unblur::psf::PsfSpec;

/// As in the `unblur` binary: large buffers come and go at every step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(25);
    let image = unblur::imaging::synthetic(2048, 1536);
    let kernel = "disk:r=6"
        .parse::<PsfSpec>()
        .and_then(|spec| spec.kernel())
        .expect("a valid built-in PSF");
    let stages = [
        "row pass",
        "sampled columns + model",
        "choosing K",
        "fused column pass + rows back",
        "total",
    ];
    let mut times = vec![Vec::new(); stages.len()];
    for _ in 0..runs {
        let start = Instant::now();
        let staged = RowTransformed::new(&image, Boundary::Reflect, kernel.height, kernel.width);
        let rows_done = Instant::now();
        let kernel_rows = staged.kernel_rows(&kernel);
        let model = staged.analyze(&kernel_rows, &image.planes);
        let modelled = Instant::now();
        let nsr = model.best_nsr() as f32;
        let chosen = Instant::now();
        std::hint::black_box(staged.into_wiener(&kernel_rows, nsr));
        let done = Instant::now();
        let marks = [start, rows_done, modelled, chosen, done];
        for (k, pair) in marks.windows(2).enumerate() {
            times[k].push(pair[1] - pair[0]);
        }
        times[4].push(done - start);
    }
    let settings = Settings {
        boundary: Boundary::Reflect,
        ..Settings::default()
    };
    let whole: Vec<_> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(deconv::deconvolve(&image, &kernel, &settings, &Silent).expect("valid input"));
            start.elapsed()
        })
        .collect();
    println!("| stage | min ms | median ms |\n|---|---:|---:|");
    for (name, mut t) in stages
        .iter()
        .chain(["deconv::deconvolve (NaN check included)"].iter())
        .zip(times.into_iter().chain([whole]))
    {
        t.sort();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        println!("| {name} | {:.1} | {:.1} |", ms(t[0]), ms(t[t.len() / 2]));
    }
}
