//! Two test images overlaid half and half, for the single-image layer
//! separation tests.

use unblur::engine::Backend;
use unblur::imaging::{self, Image};
use unblur::separate_single::SingleOptions;

/// A test image as a `side x side` gray plane of stored values (channel mean).
pub fn gray_source(name: &str, side: usize) -> Vec<f32> {
    let (image, _) = imaging::load_stored(&super::data_dir().join("images").join(name), 100.0).expect("test image");
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

pub fn correlation(a: &[f32], b: &[f32]) -> f64 {
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

pub fn overlay(side: usize) -> ([Vec<f32>; 2], Image) {
    let sources = [gray_source("camera.png", side), gray_source("astronaut.png", side)];
    let mixed = sources[0]
        .iter()
        .zip(&sources[1])
        .map(|(a, b)| 0.5 * a + 0.5 * b)
        .collect();
    (sources, Image::gray(side, side, mixed))
}

pub fn small_options(iterations: usize) -> SingleOptions {
    SingleOptions {
        iterations,
        size: 64,
        seed: 3,
        width: 16,
        backend: Backend::Cpu,
        preview_every: 0,
    }
}
