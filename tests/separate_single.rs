//! Single-image layer separation (BITS-Net): a short run on a small overlay
//! of two test images must pull the layers apart, reproducibly.

mod common;

use unblur::engine::Backend;
use unblur::imaging::{self, Image};
use unblur::jobs::Silent;
use unblur::separate_single::{SingleOptions, separate_single};

/// A test image as a `side x side` gray plane of stored values (channel mean).
fn gray_source(name: &str, side: usize) -> Vec<f32> {
    let (image, _) = imaging::load_stored(&common::data_dir().join("images").join(name), 100.0).expect("test image");
    let (w, h) = (image.width, image.height);
    let plane: Vec<f32> = (0..w * h)
        .map(|i| image.planes.iter().map(|p| p[i]).sum::<f32>() / image.planes.len() as f32)
        .collect();
    // Area average down to side x side (the test images are multiples).
    let (fx, fy) = (w / side, h / side);
    (0..side * side)
        .map(|i| {
            let (x, y) = (i % side, i / side);
            let mut sum = 0.0;
            for dy in 0..fy {
                for dx in 0..fx {
                    sum += plane[(y * fy + dy) * w + x * fx + dx];
                }
            }
            sum / (fx * fy) as f32
        })
        .collect()
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (
        a.iter().map(|&v| v as f64).sum::<f64>() / n,
        b.iter().map(|&v| v as f64).sum::<f64>() / n,
    );
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(1e-12)
}

fn overlay(side: usize) -> ([Vec<f32>; 2], Image) {
    let sources = [gray_source("camera.png", side), gray_source("astronaut.png", side)];
    let mixed = sources[0]
        .iter()
        .zip(&sources[1])
        .map(|(a, b)| 0.5 * a + 0.5 * b)
        .collect();
    (sources, Image::gray(side, side, mixed))
}

fn small_options(iterations: usize) -> SingleOptions {
    SingleOptions {
        iterations,
        size: 64,
        seed: 3,
        width: 16,
        backend: Backend::Cpu,
        preview_every: 0,
    }
}

#[test]
fn a_short_run_leaves_each_layer_closer_to_its_own_source() {
    let (sources, mixed) = overlay(64);
    let separation = separate_single(&mixed, &small_options(400), &Silent, &mut |_| {}).expect("separation");
    let layers = &separation.layers;
    assert_eq!((layers[0].width, layers[0].height), (64, 64));
    let c = |layer: usize, source: usize| correlation(&layers[layer].planes[0], &sources[source]);
    // Match layers to sources by the better permutation, as the benchmark does.
    let (a, b) = if c(0, 0) + c(1, 1) >= c(0, 1) + c(1, 0) {
        (0, 1)
    } else {
        (1, 0)
    };
    println!(
        "layer {a}: {:.3} with its source, {:.3} with the other; layer {b}: {:.3} / {:.3}",
        c(a, 0),
        c(a, 1),
        c(b, 1),
        c(b, 0)
    );
    assert!(c(a, 0) > c(a, 1), "layer {a} is no closer to its source");
    assert!(c(b, 1) > c(b, 0), "layer {b} is no closer to its source");
    // The layers explain the image.
    let sum_error: f64 = (0..64 * 64)
        .map(|i| (layers[0].planes[0][i] + layers[1].planes[0][i] - mixed.planes[0][i]).abs() as f64)
        .sum::<f64>()
        / (64.0 * 64.0);
    assert!(sum_error < 0.05, "mean |I - (y1 + y2)| = {sum_error}");
}

#[test]
fn the_same_seed_gives_the_same_layers_and_previews_arrive() {
    let (_, mixed) = overlay(32);
    let mut options = small_options(12);
    options.preview_every = 5;
    let mut previews = Vec::new();
    let first = separate_single(&mixed, &options, &Silent, &mut |p| previews.push(p.iteration)).expect("first");
    assert_eq!(previews, [5, 10]);
    let second = separate_single(&mixed, &options, &Silent, &mut |_| {}).expect("second");
    assert_eq!(first.layers[0].planes, second.layers[0].planes);
    assert_eq!(first.layers[1].planes, second.layers[1].planes);
    options.seed = 4;
    let other = separate_single(&mixed, &options, &Silent, &mut |_| {}).expect("other seed");
    assert_ne!(first.layers[0].planes, other.layers[0].planes);
}

#[test]
fn cancelling_stops_the_run() {
    struct CancelAfter(std::sync::atomic::AtomicUsize);
    impl unblur::jobs::Progress for CancelAfter {
        fn report(&self, _: &str, _: f32) {}
        fn is_cancelled(&self) -> bool {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 3
        }
    }
    let (_, mixed) = overlay(32);
    let outcome = separate_single(&mixed, &small_options(1000), &CancelAfter(0.into()), &mut |_| {});
    assert!(matches!(outcome, Err(unblur::Error::Cancelled)));
}

#[test]
fn tiny_images_and_bad_options_are_refused() {
    let tiny = Image::gray(4, 40, vec![0.5; 160]);
    let error = separate_single(&tiny, &small_options(5), &Silent, &mut |_| {}).unwrap_err();
    assert!(error.to_string().contains("4x40"), "{error}");
    let (_, mixed) = overlay(32);
    let mut options = small_options(0);
    assert!(separate_single(&mixed, &options, &Silent, &mut |_| {}).is_err());
    options.iterations = 5;
    options.width = 1;
    assert!(separate_single(&mixed, &options, &Silent, &mut |_| {}).is_err());
}

/// True when a GPU adapter exists; without one the test is skipped with a
/// reason, unless `UNBLUR_REQUIRE_GPU=1`.
fn adapter_or_skip() -> bool {
    if unblur::gpu::best_adapter().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("UNBLUR_REQUIRE_GPU").is_none_or(|v| v != "1"),
        "UNBLUR_REQUIRE_GPU=1 but no adapter"
    );
    eprintln!("skipped: no GPU adapter");
    false
}

#[test]
fn the_generators_and_losses_on_the_gpu_match_the_cpu() {
    use burn::module::Module;
    use burn::prelude::*;
    use unblur::separate_single::{Shape, exclusion, seeded_generators, tv_denoise};
    if !adapter_or_skip() {
        return;
    }
    let cpu = Device::flex().autodiff();
    let gpu = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let shape = Shape {
        input: 8,
        width: 8,
        skip: 4,
        levels: 3,
        output: 3,
    };
    // Drawn under the separations' lock: the other tests here run
    // separations at the same time and must get the same weights every run.
    let [generator] = seeded_generators(shape, &cpu, 1);
    let on_gpu = generator.clone().to_device(&gpu);
    let noise: Vec<f32> = (0..8 * 32 * 32)
        .map(|i| ((i * 7919) % 1000) as f32 / 10_000.0)
        .collect();
    let input = |device: &Device| Tensor::<4>::from_data(TensorData::new(noise.clone(), [1, 8, 32, 32]), device);
    let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
    let relative = |a: &[f32], b: &[f32]| {
        let d: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
        let n: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum();
        (d / n.max(1e-30)).sqrt()
    };
    let (za, zb) = (input(&cpu).require_grad(), input(&gpu).require_grad());
    let a = generator.forward(za.clone(), 2);
    let b = on_gpu.forward(zb.clone(), 2);
    let (ya, yb) = (read(a.image.clone()), read(b.image.clone()));
    assert!(
        relative(&ya, &yb) < 1e-4,
        "generator output: relative error {}",
        relative(&ya, &yb)
    );
    // The backward pass through the whole generator and the exclusion loss.
    let half = |t: Tensor<4>| t.clone().mul_scalar(0.5).flip([3]);
    let loss = |image: Tensor<4>| exclusion(image.clone(), half(image.clone()), 3) + image.abs().mean();
    let (la, lb) = (loss(a.image.clone()), loss(b.image.clone()));
    let (ea, eb) = (la.clone().into_scalar::<f32>(), lb.clone().into_scalar::<f32>());
    assert!((ea - eb).abs() <= 1e-4 * ea.abs().max(1e-3), "loss {ea} vs {eb}");
    let ga = read(za.grad(&la.backward()).expect("cpu gradient"));
    let gb = read(zb.grad(&lb.backward()).expect("gpu gradient"));
    assert!(
        relative(&ga, &gb) < 1e-3,
        "input gradient: relative error {}",
        relative(&ga, &gb)
    );
    let (da, db) = (read(tv_denoise(a.image, 0.05, 30)), read(tv_denoise(b.image, 0.05, 30)));
    assert!(
        relative(&da, &db) < 1e-4,
        "denoiser: relative error {}",
        relative(&da, &db)
    );
    // And a whole short run (Adam, ADMM updates, read-back) on the GPU.
    let (_, mixed) = overlay(64);
    let mut options = small_options(3);
    options.backend = Backend::Gpu;
    let separation = separate_single(&mixed, &options, &Silent, &mut |_| {}).expect("a run on the GPU");
    assert!(separation.device.starts_with("gpu"), "{}", separation.device);
    assert!(
        separation
            .layers
            .iter()
            .all(|l| l.planes[0].iter().all(|v| v.is_finite()))
    );
}
