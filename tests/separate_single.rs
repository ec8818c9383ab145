//! Single-image layer separation (BITS-Net): the same seed gives the same
//! layers, runs can be cancelled, bad input is refused, and the GPU agrees
//! with the CPU. Whether a run pulls the layers apart is checked in
//! `separate_single_quality.rs`, a binary of its own.

mod common;

use common::overlay::{overlay, small_options};
use unblur::engine::Backend;
use unblur::imaging::Image;
use unblur::jobs::Silent;
use unblur::separate_single::separate_single;

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
