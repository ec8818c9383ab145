//! Times the CPU 2D real FFT (forward + inverse) at padded sizes near a
//! given one, to see which lengths the FFT likes (how `fft::fast_size`
//! should choose).
//!
//! `cargo run --release --example fft_sizes -- HEIGHT WIDTH [SPAN]`
//!
//! Prints wall time and process CPU time (user + system, from /proc) per
//! transform pair: on a busy machine the CPU time is the steadier figure.

use std::time::Instant;

use unblur::fft;

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (height, width, span) = match args[..] {
        [h, w] => (h, w, 128),
        [h, w, s] => (h, w, s),
        _ => (1600, 2100, 128),
    };
    // More than three numbers: explicit HEIGHT WIDTH pairs, timed as given.
    if args.len() > 3 && args.len().is_multiple_of(2) {
        for pair in args.chunks(2) {
            time(pair[0], pair[1]);
        }
        return;
    }
    let candidates = |n: usize| {
        let mut sizes = vec![fft::fast_even_size(n)];
        while *sizes.last().unwrap() < n + span {
            sizes.push(fft::fast_even_size(sizes.last().unwrap() + 1));
        }
        sizes
    };
    for &h in &candidates(height) {
        for &w in &candidates(width) {
            time(h, w);
        }
    }
}

/// Prints the time of a forward and inverse transform of `h x w`.
fn time(h: usize, w: usize) {
    {
        {
            let plan = fft::plan(h, w);
            let image: Vec<f32> = (0..h * w).map(|i| (i % 7) as f32).collect();
            let mut spectrum = plan.forward(&image);
            let mut out = vec![0.0; h * w];
            const RUNS: usize = 15;
            let (start, cpu_start) = (Instant::now(), cpu_seconds());
            for _ in 0..RUNS {
                plan.forward_into(&image, &mut spectrum);
                plan.inverse_destroying(&mut spectrum, &mut out);
            }
            let wall = start.elapsed().as_secs_f64() * 1e3 / RUNS as f64;
            let cpu = (cpu_seconds() - cpu_start) * 1e3 / RUNS as f64;
            let per_pixel = cpu * 1e6 / (h * w) as f64;
            println!("{h:>5} x {w:>5}  wall {wall:7.2} ms  cpu {cpu:7.2} ms  {per_pixel:6.2} cpu ns/px");
        }
    }
}

/// User + system time of this process so far, in seconds (clock ticks of
/// 10 ms; Linux only, 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ')'.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    (ticks(11) + ticks(12)) / 100.0
}
