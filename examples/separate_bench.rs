//! Timings and peak memory of `separate::separate_pair` without decode or
//! encode, on synthetic mixtures of 1 and 12 megapixels (gray and colour):
//! `cargo run --release --example separate_bench [RUNS]`. Prints the time per
//! stage of the last run and the peak resident memory the first run added
//! on top of the two input images (Linux only).

#[path = "../tests/mixtures/mod.rs"]
mod mixtures;

use std::sync::Mutex;
use std::time::Instant;

use mixtures::*;
use unblur::imaging::Image;
use unblur::jobs::Progress;
use unblur::separate::{self, SeparateOptions};

/// Records when each stage began.
struct Stages {
    start: Instant,
    log: Mutex<Vec<(String, f64)>>,
}

impl Progress for Stages {
    fn report(&self, stage: &str, _fraction: f32) {
        let mut log = self.log.lock().unwrap();
        if log.last().is_none_or(|(s, _)| s != stage) {
            log.push((stage.to_string(), self.start.elapsed().as_secs_f64()));
        }
    }
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// `image` mirrored and repeated to `height x width`.
fn tiled(image: &Image, height: usize, width: usize) -> Image {
    let mirror = |k: usize, n: usize| {
        let k = k % (2 * n);
        if k < n { k } else { 2 * n - 1 - k }
    };
    let planes = image
        .planes
        .iter()
        .map(|p| {
            (0..height * width)
                .map(|i| p[mirror(i / width, image.height) * image.width + mirror(i % width, image.width)])
                .collect()
        })
        .collect();
    Image::from_planes(width, height, planes)
}

fn status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let camera = source("camera.png");
    let brick = source("brick.png");
    let astronaut = source("astronaut.png");
    let coffee = crop(&source("coffee.png"), 0, 44, 400, 512);
    for (name, height, width, colour) in [
        ("1 MP gray", 1000, 1000, false),
        ("1 MP rgb", 1000, 1000, true),
        ("12 MP gray", 3000, 4000, false),
        ("12 MP rgb", 3000, 4000, true),
    ] {
        let (s1, s2) = if colour {
            (tiled(&astronaut, height, width), tiled(&coffee, height, width))
        } else {
            (tiled(&camera, height, width), tiled(&brick, height, width))
        };
        let mixture = mix(&s1, &s2, (1.5, 3.0), (3.0, 1.5), 1.0, 1);
        drop((s1, s2));
        let mut times = Vec::new();
        let mut stages = Vec::new();
        let mut added_mib = 0.0;
        for run in 0..runs {
            // Reset the peak (Linux: "5" to clear_refs) so it measures this run.
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let before = status_kib("VmRSS:").unwrap_or(0);
            let progress = Stages {
                start: Instant::now(),
                log: Mutex::new(Vec::new()),
            };
            let separation = separate::separate_pair(
                &mixture.mixtures[0],
                &mixture.mixtures[1],
                &SeparateOptions::default(),
                &progress,
            )
            .unwrap();
            times.push(progress.start.elapsed().as_secs_f64());
            // Freed memory stays with the allocator, so only the first run's
            // peak says what a separation adds.
            if run == 0 {
                added_mib = (status_kib("VmHWM:").unwrap_or(0).saturating_sub(before)) as f64 / 1024.0;
            }
            stages = progress.log.into_inner().unwrap();
            drop(separation);
        }
        times.sort_by(f64::total_cmp);
        let list: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
        println!(
            "{name:<11} median {:.2} s (runs: {} s), peak memory added {added_mib:.0} MiB (inputs {:.0} MiB)",
            times[times.len() / 2],
            list.join(", "),
            (2 * mixture.mixtures[0].planes.len() * height * width * 4) as f64 / (1024.0 * 1024.0)
        );
        let stage_list: Vec<String> = stages.iter().map(|(s, t)| format!("{s} @{t:.2}")).collect();
        println!("            stages: {}", stage_list.join(", "));
    }
}
