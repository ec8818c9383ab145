//! A deterministic stand-in photo for benchmarks.

use super::Image;

/// A deterministic RGB test photo of any size: smooth shading, edges and
/// fine texture (what `unblur bench` and the stage timings deconvolve).
pub fn synthetic(width: usize, height: usize) -> Image {
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
