//! The kernel step: `argmin_k ||grad x * k - grad y||^2 + gamma ||k||^2`
//! over the level's whole periodic domain, solved frequency by frequency,
//! then cut to the `side x side` support and projected onto blur kernels
//! (non-negative, sum 1, small isolated specks removed, centred).
//!
//! The ridge is per frequency, relative to the latent gradients' mean
//! power: it damps the frequencies the sparse latent image hardly holds,
//! where least squares would otherwise put whatever mass fits the data
//! (on periodic texture, a faint smear across the whole support). Solving
//! on the support instead (conjugate gradients, ridge relative to R(0))
//! measured worse on the shared cases as a whole, by far on the shakes
//! (error ratio 94 against 28 on the brick, 3.1 against 2.4 on the
//! astronaut): see BENCHMARKS.md, "Blind estimation". The cost is two
//! forward FFTs (the latent's gradients) and one inverse, whatever the
//! kernel size.

use rayon::prelude::*;

use super::latent::Level;
use crate::fft::Complex32;

/// The ridge, relative to the latent gradients' mean power per frequency
/// (0.2-0.5 measured alike on the shared cases; 0.03 and below leave the
/// smear, 1 blurs the shake kernels).
const RIDGE: f64 = 0.3;
/// Values below this fraction of the kernel's maximum are set to zero:
/// least squares leaves a low haze around the support (Pan et al. use 1/20;
/// 1/10 measured better on the shared cases).
const THRESHOLD: f32 = 0.1;
/// Connected pieces holding less than this share of the mass are dropped.
const MIN_PIECE_MASS: f32 = 0.1;

/// A new `side x side` kernel from the latent image `x` (padded, the
/// level's domain).
pub fn estimate(level: &Level, x: &[f32], side: usize) -> Vec<f32> {
    estimate_with_ridge(level, x, side, RIDGE)
}

/// As [`estimate`], with the ridge given (relative to the latent
/// gradients' mean power).
pub fn estimate_with_ridge(level: &Level, x: &[f32], side: usize, ridge: f64) -> Vec<f32> {
    let fft = &level.fft;
    let (h, w) = (fft.height, fft.width);
    let [gx, gy] = level.image_gradients(x);
    let [ox, oy] = &level.observed_gradients;
    // A sequential sum: a parallel one adds in an order that varies from run
    // to run, and the estimate should not.
    let mean_power = gx
        .iter()
        .zip(&gy)
        .map(|(a, b)| (a.norm_sqr() + b.norm_sqr()) as f64)
        .sum::<f64>()
        / gx.len() as f64;
    // The floor keeps a flat latent (no gradients) from dividing 0 by 0.
    let gamma = ((ridge * mean_power) as f32).max(f32::MIN_POSITIVE);
    let mut quotient: Vec<Complex32> = gx
        .par_iter()
        .zip(gy.par_iter())
        .zip(ox.par_iter().zip(oy.par_iter()))
        .map(|((a, b), (c, d))| (a.conj() * c + b.conj() * d) / (a.norm_sqr() + b.norm_sqr() + gamma))
        .collect();
    let mut full = vec![0.0f32; h * w];
    fft.inverse_destroying(&mut quotient, &mut full);
    // The kernel's centre sits at [0, 0] of the periodic domain.
    let half = side as isize / 2;
    let k: Vec<f32> = (0..side * side)
        .map(|n| {
            let dy = (n / side) as isize - half;
            let dx = (n % side) as isize - half;
            full[dy.rem_euclid(h as isize) as usize * w + dx.rem_euclid(w as isize) as usize]
        })
        .collect();
    clean(&k, side)
}

/// Projects a least-squares kernel onto blur kernels: negatives and values
/// under `THRESHOLD` of the peak to zero, small isolated pieces dropped,
/// centred on its centre of mass, normalized to sum 1. A kernel with no mass
/// left becomes the identity.
pub fn clean(k: &[f32], side: usize) -> Vec<f32> {
    let peak = k.iter().cloned().fold(0.0f32, f32::max);
    let mut out: Vec<f32> = k
        .iter()
        .map(|v| if *v >= THRESHOLD * peak && *v > 0.0 { *v } else { 0.0 })
        .collect();
    drop_small_pieces(&mut out, side);
    let sum: f32 = out.iter().sum();
    if !(sum > 0.0 && sum.is_finite()) {
        let mut delta = vec![0.0; side * side];
        delta[(side / 2) * side + side / 2] = 1.0;
        return delta;
    }
    out.iter_mut().for_each(|v| *v /= sum);
    centre(&out, side)
}

/// Zeroes 8-connected pieces of non-zero values with less than
/// `MIN_PIECE_MASS` of the total.
fn drop_small_pieces(k: &mut [f32], side: usize) {
    let total: f32 = k.iter().sum();
    let mut label = vec![usize::MAX; side * side];
    let mut pieces: Vec<(f32, Vec<usize>)> = Vec::new();
    for start in 0..side * side {
        if k[start] <= 0.0 || label[start] != usize::MAX {
            continue;
        }
        let id = pieces.len();
        let mut members = vec![start];
        label[start] = id;
        let mut next = 0;
        while next < members.len() {
            let n = members[next];
            next += 1;
            let (r, c) = ((n / side) as isize, (n % side) as isize);
            for dr in -1..=1 {
                for dc in -1..=1 {
                    let (rr, cc) = (r + dr, c + dc);
                    if rr < 0 || cc < 0 || rr >= side as isize || cc >= side as isize {
                        continue;
                    }
                    let m = rr as usize * side + cc as usize;
                    if k[m] > 0.0 && label[m] == usize::MAX {
                        label[m] = id;
                        members.push(m);
                    }
                }
            }
        }
        let mass = members.iter().map(|m| k[*m]).sum();
        pieces.push((mass, members));
    }
    for (mass, members) in pieces {
        if mass < MIN_PIECE_MASS * total {
            for m in members {
                k[m] = 0.0;
            }
        }
    }
}

/// Shifts the kernel by whole pixels so that its centre of mass sits on the
/// centre pixel (values pushed off the support are dropped, then the rest
/// renormalized): a blind estimate is only known up to a shift, and a
/// centred one keeps the deblurred image in place.
pub fn centre(k: &[f32], side: usize) -> Vec<f32> {
    let (mut my, mut mx) = (0.0f64, 0.0f64);
    for (n, v) in k.iter().enumerate() {
        my += (n / side) as f64 * *v as f64;
        mx += (n % side) as f64 * *v as f64;
    }
    let sum: f64 = k.iter().map(|v| *v as f64).sum();
    if sum <= 0.0 {
        return k.to_vec();
    }
    let c = (side / 2) as f64;
    let (sy, sx) = ((c - my / sum).round() as isize, (c - mx / sum).round() as isize);
    if sy == 0 && sx == 0 {
        return k.to_vec();
    }
    let mut out = vec![0.0f32; side * side];
    for r in 0..side as isize {
        for col in 0..side as isize {
            let (nr, nc) = (r + sy, col + sx);
            if nr >= 0 && nc >= 0 && nr < side as isize && nc < side as isize {
                out[nr as usize * side + nc as usize] = k[r as usize * side + col as usize];
            }
        }
    }
    let kept: f32 = out.iter().sum();
    if kept > 0.0 {
        out.iter_mut().for_each(|v| *v /= kept);
        out
    } else {
        k.to_vec()
    }
}

/// The share of the mass left out at each end of the extent that
/// `centre_on_extent` centres: the middle of the range holding the central
/// 90% on each axis, so that faint tails and specks do not move it. At 2%
/// (nearly the whole box) specks beside symmetric blurs moved them (brick
/// disk4 noisy, 55 px: 28.1 -> 24.2 dB); at 10% the heavy end of a shake,
/// where the camera dwelt, still pulled the middle toward it (astronaut
/// shake_5 noisy lined up 2 px off).
const EXTENT_TAIL: f64 = 0.05;

/// The middle of a kernel's extent on one axis: halfway between the
/// positions (pixel centres, linear within a pixel) where the cumulative
/// `mass` (summing to 1) crosses `EXTENT_TAIL` and `1 - EXTENT_TAIL`.
fn extent_middle(mass: &[f64]) -> f64 {
    let crossing = |target: f64| {
        let mut below = 0.0;
        for (i, w) in mass.iter().enumerate() {
            if below + w >= target {
                return i as f64 - 0.5 + (target - below) / w.max(f64::MIN_POSITIVE);
            }
            below += w;
        }
        mass.len() as f64 - 0.5
    };
    0.5 * (crossing(EXTENT_TAIL) + crossing(1.0 - EXTENT_TAIL))
}

/// A `side x side` kernel's row and column sums as shares of its total;
/// `None` when it holds no positive mass.
pub fn marginals(k: &[f32], side: usize) -> Option<[Vec<f64>; 2]> {
    let sum: f64 = k.iter().map(|v| *v as f64).sum();
    if sum <= 0.0 {
        return None;
    }
    let (mut rows, mut columns) = (vec![0.0f64; side], vec![0.0f64; side]);
    for (n, v) in k.iter().enumerate() {
        rows[n / side] += *v as f64 / sum;
        columns[n % side] += *v as f64 / sum;
    }
    Some([rows, columns])
}

/// Shifts a finished kernel (to a fraction of a pixel) so that the middle
/// of its extent sits on the centre pixel. A blind estimate is known only
/// up to a shift, and this places the deblurred image at the middle of the
/// blur's extent, as camera-shake kernels are conventionally stored (the
/// trajectory's box centred), rather than at its centre of mass, which
/// leans toward where the camera dwelt: on 31 px shakes that is 2-3 px,
/// enough to put a sharp result below the blurred input in PSNR. Symmetric
/// blurs (disks, Gaussians, straight motion) are centred either way, and
/// then land where the true kernel would put them instead of up to half a
/// pixel away.
pub fn centre_on_extent(k: &[f32], side: usize) -> Vec<f32> {
    let Some([rows, columns]) = marginals(k, side) else {
        return k.to_vec();
    };
    let c = (side / 2) as f64;
    // A quarter of the side at most: mass moved off the support is lost.
    let reach = (side / 4) as f64;
    let (sy, sx) = (
        (c - extent_middle(&rows)).clamp(-reach, reach),
        (c - extent_middle(&columns)).clamp(-reach, reach),
    );
    let mut out = vec![0.0f32; side * side];
    for r in 0..side {
        for col in 0..side {
            let v = k[r * side + col];
            if v == 0.0 {
                continue;
            }
            // Each source pixel spreads onto the target pixels near its new
            // position with Keys' cubic weights (a = -0.5), which smooth
            // less than bilinear ones.
            let (ty, tx) = (r as f64 + sy, col as f64 + sx);
            let (y0, x0) = (ty.floor() as isize, tx.floor() as isize);
            for y in y0 - 1..=y0 + 2 {
                let wy = cubic(y as f64 - ty);
                for x in x0 - 1..=x0 + 2 {
                    if y >= 0 && x >= 0 && y < side as isize && x < side as isize {
                        out[y as usize * side + x as usize] += v * wy * cubic(x as f64 - tx);
                    }
                }
            }
        }
    }
    // The cubic's small negative lobes are dropped.
    out.iter_mut().for_each(|v| *v = v.max(0.0));
    let kept: f32 = out.iter().sum();
    if kept > 0.0 {
        out.iter_mut().for_each(|v| *v /= kept);
        out
    } else {
        k.to_vec()
    }
}

/// Keys' cubic convolution weight (a = -0.5) at distance `t`.
fn cubic(t: f64) -> f32 {
    let t = t.abs();
    let w = if t < 1.0 {
        1.5 * t * t * t - 2.5 * t * t + 1.0
    } else if t < 2.0 {
        -0.5 * t * t * t + 2.5 * t * t - 4.0 * t + 2.0
    } else {
        0.0
    };
    w as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_drops_haze_and_specks_and_centres() {
        let side = 9;
        let mut k = vec![0.001f32; side * side];
        // A horizontal bar, off centre by one row, and an isolated speck.
        for c in 2..7 {
            k[3 * side + c] = 1.0;
        }
        k[8 * side + 8] = 0.1;
        k[0] = -0.5;
        let out = clean(&k, side);
        assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(out.iter().all(|v| *v >= 0.0));
        for c in 2..7 {
            assert!((out[4 * side + c] - 0.2).abs() < 1e-5, "{out:?}");
        }
        assert_eq!(out.iter().filter(|v| **v > 0.0).count(), 5);
    }

    #[test]
    fn a_finished_kernel_is_centred_on_the_middle_of_its_extent() {
        let side = 15;
        // A bar of four pixels, half a pixel off the centre, and a dwell: a
        // heavy pixel at the left end of a longer, fainter trail.
        let mut k = vec![0.0f32; side * side];
        for c in 5..9 {
            k[7 * side + c] = 0.25;
        }
        let moments = |k: &[f32]| {
            let (mut my, mut mx) = (0.0, 0.0);
            for (n, v) in k.iter().enumerate() {
                my += (n / side) as f32 * v;
                mx += (n % side) as f32 * v;
            }
            (my, mx)
        };
        let out = centre_on_extent(&k, side);
        let (my, mx) = moments(&out);
        assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-5 && out.iter().all(|v| *v >= 0.0));
        assert!((my - 7.0).abs() < 0.02 && (mx - 7.0).abs() < 0.02, "{my} {mx}");
        let mut trail = vec![0.0f32; side * side];
        trail[7 * side + 3] = 0.5;
        for c in 4..12 {
            trail[7 * side + c] = 0.5 / 8.0;
        }
        let out = centre_on_extent(&trail, side);
        let columns: Vec<f64> = (0..side)
            .map(|c| (0..side).map(|r| out[r * side + c] as f64).sum())
            .collect();
        let middle = extent_middle(&columns);
        // Within a quarter pixel: the cubic shift spreads the values a little.
        // Centred on its centre of mass, the middle would sit at 7.9.
        assert!((middle - 7.0).abs() < 0.25, "extent middle at {middle}");
        // The centre of mass stays toward the dwell, left of the centre.
        assert!(moments(&out).1 < 6.5, "{}", moments(&out).1);
    }
}

#[cfg(test)]
mod recovery {
    use super::*;

    /// A seeded image of random rectangles (sparse gradients).
    fn rectangles(w: usize, h: usize, count: usize, largest: f32) -> Vec<f32> {
        let mut s = 12345u64;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as f32 / (1u64 << 31) as f32
        };
        let mut img = vec![0.5f32; w * h];
        for _ in 0..count {
            let (x0, y0) = ((next() * w as f32) as usize, (next() * h as f32) as usize);
            let (rw, rh) = ((next() * largest) as usize + 3, (next() * largest) as usize + 3);
            let v = next();
            for y in y0..(y0 + rh).min(h) {
                for x in x0..(x0 + rw).min(w) {
                    img[y * w + x] = v;
                }
            }
        }
        img
    }

    /// Convolution of `img` by a `side x side` kernel, mirrored borders.
    fn blur(img: &[f32], w: usize, h: usize, k: &[f32], side: usize) -> Vec<f32> {
        let mirror = |i: isize, n: isize| {
            if i < 0 {
                -i - 1
            } else if i >= n {
                2 * n - i - 1
            } else {
                i
            }
        };
        let c = side as isize / 2;
        let mut out = vec![0.0f32; w * h];
        for y in 0..h as isize {
            for x in 0..w as isize {
                let mut acc = 0.0;
                for i in 0..side as isize {
                    for j in 0..side as isize {
                        let (sy, sx) = (mirror(y - (i - c), h as isize), mirror(x - (j - c), w as isize));
                        acc += k[(i * side as isize + j) as usize] * img[sy as usize * w + sx as usize];
                    }
                }
                out[y as usize * w + x as usize] = acc;
            }
        }
        out
    }

    #[test]
    fn the_sharp_image_gives_back_the_kernel() {
        let (w, h, side) = (96, 80, 9);
        let x = rectangles(w, h, 150, 12.0);
        let mut k = vec![0.0f32; side * side];
        // An L-shaped path, off the axes.
        for (r, c) in [(2, 2), (3, 3), (4, 4), (4, 5), (4, 6), (5, 6), (6, 6)] {
            k[r * side + c] = 1.0 / 7.0;
        }
        let y = blur(&x, w, h, &k, side);
        let level = Level::new(&y, w, h, side);
        let estimate = estimate(&level, &level.layout.pad(&x), side);
        // The estimate is centred on its centre of mass: compare it so.
        let truth = centre(&k, side);
        let distance = |other: &[f32]| {
            estimate
                .iter()
                .zip(other)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                .sqrt()
        };
        let mirrored: Vec<f32> = truth.iter().rev().copied().collect();
        // The ridge smooths the kernel by design (the truth has norm 0.38;
        // the estimate measured 0.135 from it): it must still be the path,
        // the right way round, and not its point reflection.
        let (error, mirror_error) = (distance(&truth), distance(&mirrored));
        assert!(
            error < 0.16 && error < 0.5 * mirror_error,
            "{error} {mirror_error}: {estimate:?}"
        );
    }
}
