//! Resampling planes with an antialiasing tent filter (shrinking without
//! aliasing, growing bilinearly).

use rayon::prelude::*;

/// Per output sample of an axis: the first source index and its weights.
struct Taps {
    first: Vec<usize>,
    weights: Vec<Vec<f32>>,
}

/// Tent-filter taps mapping `from` samples onto `to` (pixel centres aligned,
/// the filter widened by the shrink factor so that nothing aliases).
fn taps(from: usize, to: usize) -> Taps {
    let scale = to as f64 / from as f64;
    let support = (1.0 / scale).max(1.0);
    let mut first = Vec::with_capacity(to);
    let mut weights = Vec::with_capacity(to);
    for i in 0..to {
        let centre = (i as f64 + 0.5) / scale - 0.5;
        let lo = (centre - support).floor().max(0.0) as usize;
        let hi = ((centre + support).ceil() as usize).min(from - 1);
        let mut w: Vec<f32> = (lo..=hi)
            .map(|j| (1.0 - (j as f64 - centre).abs() / support).max(0.0) as f32)
            .collect();
        let sum: f32 = w.iter().sum();
        if sum > 0.0 {
            w.iter_mut().for_each(|v| *v /= sum);
        } else {
            // Centre outside the source: take the nearest sample.
            w = vec![1.0];
        }
        first.push(if sum > 0.0 {
            lo
        } else {
            centre.round().clamp(0.0, (from - 1) as f64) as usize
        });
        weights.push(w);
    }
    Taps { first, weights }
}

/// `data` (`width x height`, row-major) resampled to `new_width x new_height`.
pub fn resample(data: &[f32], width: usize, height: usize, new_width: usize, new_height: usize) -> Vec<f32> {
    let across = taps(width, new_width);
    let down = taps(height, new_height);
    let mut rows = vec![0.0f32; new_width * height];
    rows.par_chunks_mut(new_width).enumerate().for_each(|(y, out)| {
        let row = &data[y * width..(y + 1) * width];
        for (x, o) in out.iter_mut().enumerate() {
            let first = across.first[x];
            *o = across.weights[x]
                .iter()
                .enumerate()
                .map(|(j, w)| w * row[first + j])
                .sum();
        }
    });
    let mut out = vec![0.0f32; new_width * new_height];
    out.par_chunks_mut(new_width).enumerate().for_each(|(y, line)| {
        let first = down.first[y];
        for (j, w) in down.weights[y].iter().enumerate() {
            let src = &rows[(first + j) * new_width..(first + j + 1) * new_width];
            line.iter_mut().zip(src).for_each(|(o, s)| *o += w * s);
        }
    });
    out
}
