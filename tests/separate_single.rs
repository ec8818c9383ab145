//! Single-image layer separation (BITS-Net): a short run on a small overlay
//! of two test images must pull the layers apart, reproducibly.

mod common;

use unblur::engine::Backend;
use unblur::imaging::{self, Image};
use unblur::jobs::Silent;
use unblur::separate_single::{SingleOptions, separate_single};

/// A test image as a `side x side` gray plane of stored values.
fn gray_source(name: &str, side: usize) -> Vec<f32> {
    let (image, _) = imaging::load_stored(&common::data_dir().join("images").join(name), 100.0).expect("test image");
    let plane = &image.planes[0];
    let (w, h) = (image.width, image.height);
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
    let sources = [gray_source("camera.png", side), gray_source("brick.png", side)];
    let mixed = sources[0].iter().zip(&sources[1]).map(|(a, b)| 0.5 * a + 0.5 * b).collect();
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
    let separation = separate_single(&mixed, &small_options(300), &Silent, &mut |_| {}).expect("separation");
    let layers = &separation.layers;
    assert_eq!((layers[0].width, layers[0].height), (64, 64));
    let c = |layer: usize, source: usize| correlation(&layers[layer].planes[0], &sources[source]);
    // Match layers to sources by the better permutation, as the benchmark does.
    let (a, b) = if c(0, 0) + c(1, 1) >= c(0, 1) + c(1, 0) { (0, 1) } else { (1, 0) };
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
