//! The editor's UI-thread time per frame while the radius slider is dragged,
//! on a large image, and how long each preview takes to arrive.
//!
//! cargo run --release --example frame_times -- [MEGAPIXELS] [--gpu-previews]
//!
//! Runs the real app in the egui_kittest harness (headless, wgpu renderer on
//! the first adapter; lavapipe on a machine without a GPU).

use std::time::{Duration, Instant};

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use unblur::app::{App, Options};
use unblur::imaging::{self, BitDepth, EncodeOptions, Image, LightSpace};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let megapixels: f64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(12.0);
    let force_gpu_previews = args.iter().any(|a| a == "--gpu-previews");
    let state = tempfile::tempdir().expect("a temporary folder");
    let path = state.path().join("big.png");
    let width = (megapixels * 1e6 * 4.0 / 3.0).sqrt() as usize;
    let height = width * 3 / 4;
    imaging::save(
        &path,
        &synthetic_photo(width, height),
        &EncodeOptions {
            depth: BitDepth::Eight,
            space: LightSpace::Srgb,
            jpeg_quality: 95,
        },
    )
    .expect("writing the test image");

    let options = Options {
        files: vec![path],
        state_dir: Some(state.path().join("state")),
        screenshot: None,
        fresh: true,
        force_gpu_previews,
    };
    let mut harness = Harness::builder()
        .with_size([1600.0, 1000.0])
        .wgpu_setup(unblur::app::wgpu_setup())
        .build_eframe(move |cc| App::new(cc, options));
    // eframe tells egui the device's texture limit; the harness leaves
    // egui's default (2048), which would shrink every preview.
    harness.input_mut().max_texture_side = Some(16384);
    settle(&mut harness);
    println!("{width}x{height} RGB; GPU note: {}", harness.state().gpu_note());

    // Drag: one slider value per frame, as fast as frames come.
    let mut frames = Vec::new();
    for step in 0..60 {
        let radius = 3.0 + (step % 20) as f64 * 0.25;
        harness
            .get_by_role_and_label(Role::Slider, "Radius")
            .set_value_accesskit(radius);
        let started = Instant::now();
        harness.step();
        frames.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (median, p95) = harness.state().frame_time_stats().expect("frames were drawn");
    println!(
        "while dragging: app UI code per frame median {median:.2} ms, p95 {p95:.2} ms; whole frame incl. render median {:.1} ms",
        percentile(&mut frames, 0.5)
    );

    // Latency of one preview: slider set to the result on screen.
    let mut latencies = Vec::new();
    for radius in [4.0, 5.0, 6.0, 4.5, 5.5] {
        harness
            .get_by_role_and_label(Role::Slider, "Radius")
            .set_value_accesskit(radius);
        let started = Instant::now();
        until_on_screen(&mut harness);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        settle(&mut harness);
    }
    println!(
        "preview latency (PSF change, Wiener): median {:.0} ms",
        percentile(&mut latencies, 0.5)
    );

    // Latency of a method-parameter change (the PSF's spectra are cached).
    let mut latencies = Vec::new();
    for nsr in [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2] {
        let state = harness.state_mut().state_mut().expect("a document");
        let id = state.active_result().expect("a result layer");
        state.params_mut(id).expect("parameters").method.nsr = Some(nsr);
        let started = Instant::now();
        until_on_screen(&mut harness);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        settle(&mut harness);
    }
    println!(
        "preview latency (Wiener K change): median {:.0} ms",
        percentile(&mut latencies, 0.5)
    );
    // Workers release their GPU resources before the device goes.
    drop(harness);
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q) as usize]
}

/// Steps until every preview shows its latest parameters.
fn until_on_screen(harness: &mut Harness<'static, App>) {
    harness.step();
    while !harness.state().previews_on_screen() {
        std::thread::sleep(Duration::from_millis(1));
        harness.step();
    }
}

fn settle(harness: &mut Harness<'static, App>) {
    harness.step();
    while harness.state().is_busy() {
        std::thread::sleep(Duration::from_millis(5));
        harness.step();
    }
    harness.step();
}

/// Smooth shapes and fine texture, so the deconvolution has work to do.
fn synthetic_photo(width: usize, height: usize) -> Image {
    let plane = |phase: f32| -> Vec<f32> {
        (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f32, (i / width) as f32);
                let rings = ((x * x + y * y).sqrt() * 0.05 + phase).sin() * 0.25;
                let grain = ((x * 12.9898 + y * 78.233).sin() * 43758.547).fract() * 0.1;
                (0.45 + rings + grain).clamp(0.0, 1.0)
            })
            .collect()
    };
    Image::from_planes(width, height, vec![plane(0.0), plane(1.0), plane(2.0)])
}
