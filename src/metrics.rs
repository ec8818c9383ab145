//! Image quality metrics, one definition everywhere (DESIGN.md §6): PSNR,
//! SSIM (Wang et al. 2004, as scikit-image computes it with Gaussian weights)
//! and kernel error. Images are compared on stored values scaled to [0, 1].

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::imaging::Image;
use crate::psf::Kernel;

/// SSIM's Gaussian window: sigma 1.5, truncated at 3.5 sigma (11x11).
const SSIM_SIGMA: f64 = 1.5;
const SSIM_RADIUS: usize = 5;
const SSIM_K1: f64 = 0.01;
const SSIM_K2: f64 = 0.03;

/// PSNR and SSIM of an image against a reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    pub psnr_db: f64,
    pub ssim: f64,
}

fn check_comparable(a: &Image, b: &Image) -> Result<()> {
    if a.width != b.width || a.height != b.height {
        return Err(Error::bad_parameter(format!(
            "size mismatch: {}x{} vs {}x{}",
            a.width, a.height, b.width, b.height
        )));
    }
    if a.channels() != b.channels() {
        return Err(Error::bad_parameter(format!(
            "channel mismatch: {} vs {} colour channels",
            a.channels(),
            b.channels()
        )));
    }
    Ok(())
}

/// PSNR and SSIM of `image` against `reference` (same size and channels).
pub fn quality(image: &Image, reference: &Image) -> Result<Quality> {
    check_comparable(image, reference)?;
    Ok(Quality {
        psnr_db: psnr(image, reference),
        ssim: ssim(image, reference),
    })
}

/// `10 log10(1 / MSE)` over all colour samples (alpha not compared).
/// Infinite for identical images. Panics if the images are not comparable.
pub fn psnr(image: &Image, reference: &Image) -> f64 {
    let (sum, count) = image
        .planes
        .iter()
        .zip(&reference.planes)
        .map(|(a, b)| {
            // Fixed chunks summed in order: the same result on every run.
            let partial: Vec<f64> = a
                .par_chunks(4096)
                .zip(b.par_chunks(4096))
                .map(|(x, y)| x.iter().zip(y).map(|(p, q)| ((p - q) as f64).powi(2)).sum::<f64>())
                .collect();
            let s: f64 = partial.iter().sum();
            (s, a.len())
        })
        .fold((0.0, 0), |(s, n), (ds, dn)| (s + ds, n + dn));
    let mse = sum / count.max(1) as f64;
    10.0 * (1.0 / mse).log10()
}

/// Mean SSIM over the image (a 5-pixel border excluded, as scikit-image does)
/// and over channels. Panics if the images are not comparable.
pub fn ssim(image: &Image, reference: &Image) -> f64 {
    let (w, h) = (image.width, image.height);
    let total: f64 = image
        .planes
        .iter()
        .zip(&reference.planes)
        .map(|(x, y)| ssim_plane(x, y, w, h))
        .sum();
    total / image.channels() as f64
}

fn ssim_plane(x: &[f32], y: &[f32], w: usize, h: usize) -> f64 {
    let x: Vec<f64> = x.iter().map(|v| *v as f64).collect();
    let y: Vec<f64> = y.iter().map(|v| *v as f64).collect();
    let product = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).collect::<Vec<f64>>();
    let window = gaussian_window();
    let blur = |p: &[f64]| separable_filter(p, w, h, &window);
    let (mx, my) = (blur(&x), blur(&y));
    let (mxx, myy, mxy) = (blur(&product(&x, &x)), blur(&product(&y, &y)), blur(&product(&x, &y)));
    let c1 = (SSIM_K1 * 1.0).powi(2);
    let c2 = (SSIM_K2 * 1.0).powi(2);
    let (r, mut sum, mut count) = (SSIM_RADIUS, 0.0, 0usize);
    for row in r..h.saturating_sub(r) {
        for col in r..w.saturating_sub(r) {
            let i = row * w + col;
            let (ux, uy) = (mx[i], my[i]);
            let vx = mxx[i] - ux * ux;
            let vy = myy[i] - uy * uy;
            let vxy = mxy[i] - ux * uy;
            sum += ((2.0 * ux * uy + c1) * (2.0 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
            count += 1;
        }
    }
    if count == 0 { f64::NAN } else { sum / count as f64 }
}

fn gaussian_window() -> Vec<f64> {
    let weights: Vec<f64> = (0..=2 * SSIM_RADIUS)
        .map(|i| {
            let d = i as f64 - SSIM_RADIUS as f64;
            (-d * d / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp()
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    weights.iter().map(|v| v / sum).collect()
}

/// Filters rows then columns with `window`, half-sample symmetric borders
/// (scipy.ndimage's `reflect`).
fn separable_filter(plane: &[f64], w: usize, h: usize, window: &[f64]) -> Vec<f64> {
    let r = window.len() / 2;
    let reflect = |i: isize, n: usize| -> usize {
        let n = n as isize;
        let period = 2 * n;
        let m = i.rem_euclid(period);
        (if m < n { m } else { period - 1 - m }) as usize
    };
    let mut rows = vec![0.0; w * h];
    rows.par_chunks_mut(w).enumerate().for_each(|(y, out)| {
        let line = &plane[y * w..(y + 1) * w];
        for (x, o) in out.iter_mut().enumerate() {
            *o = window
                .iter()
                .enumerate()
                .map(|(k, wt)| wt * line[reflect(x as isize + k as isize - r as isize, w)])
                .sum();
        }
    });
    let mut out = vec![0.0; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(y, line)| {
        for (x, o) in line.iter_mut().enumerate() {
            *o = window
                .iter()
                .enumerate()
                .map(|(k, wt)| wt * rows[reflect(y as isize + k as isize - r as isize, h) * w + x])
                .sum();
        }
    });
    out
}

/// Kernel error: `||k_est - k_true||_2` after both are normalized to sum 1,
/// zero-padded to a common size and aligned by the integer shift that
/// minimizes it.
pub fn kernel_error(estimate: &Kernel, truth: &Kernel) -> f64 {
    let normalized = |k: &Kernel| {
        let sum: f64 = k.data.iter().map(|v| *v as f64).sum();
        k.data.iter().map(|v| *v as f64 / sum).collect::<Vec<f64>>()
    };
    let (e, t) = (normalized(estimate), normalized(truth));
    // Every relative placement where the two overlap or touch; outside the
    // overlap the difference is each kernel's own energy.
    let energy_e: f64 = e.iter().map(|v| v * v).sum();
    let energy_t: f64 = t.iter().map(|v| v * v).sum();
    let mut best = (energy_e + energy_t).sqrt();
    let (eh, ew) = (estimate.height as isize, estimate.width as isize);
    let (th, tw) = (truth.height as isize, truth.width as isize);
    for dy in -(eh - 1)..th {
        for dx in -(ew - 1)..tw {
            // Estimate pixel (r, c) lands on truth pixel (r + dy, c + dx).
            let mut cross = 0.0;
            for r in 0..eh {
                let tr = r + dy;
                if tr < 0 || tr >= th {
                    continue;
                }
                for c in 0..ew {
                    let tc = c + dx;
                    if tc < 0 || tc >= tw {
                        continue;
                    }
                    cross += e[(r * ew + c) as usize] * t[(tr * tw + tc) as usize];
                }
            }
            let distance = (energy_e + energy_t - 2.0 * cross).max(0.0).sqrt();
            best = best.min(distance);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Image {
        Image::gray(
            w,
            h,
            (0..w * h)
                .map(|i| ((i % w) as f32 / w as f32 * 0.8 + 0.1) * (1.0 + ((i / w) % 3) as f32 * 0.05))
                .collect(),
        )
    }

    #[test]
    fn psnr_of_a_known_error() {
        let a = Image::gray(4, 4, vec![0.5; 16]);
        let b = Image::gray(4, 4, vec![0.6; 16]);
        assert!((psnr(&a, &b) - 20.0).abs() < 1e-4);
    }

    #[test]
    fn ssim_is_one_for_identical_images_and_drops_with_noise() {
        let a = ramp(32, 24);
        assert!((ssim(&a, &a) - 1.0).abs() < 1e-12);
        let noisy = a.map_planes(|p| {
            p.iter()
                .enumerate()
                .map(|(i, v)| v + if i % 2 == 0 { 0.05 } else { -0.05 })
                .collect()
        });
        let s = ssim(&noisy, &a);
        assert!(s < 0.9 && s > 0.0, "{s}");
    }

    #[test]
    fn kernel_error_ignores_shifts() {
        let a = Kernel::from_weights(3, 3, vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        let b = Kernel::from_weights(
            4,
            4,
            vec![
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
        )
        .unwrap();
        assert!(kernel_error(&a, &b) < 1e-7);
        let c = Kernel::from_weights(3, 3, vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        // Vertical vs horizontal pair: best overlap shares one pixel of 0.5.
        assert!((kernel_error(&a, &c) - 0.5f64.sqrt()).abs() < 1e-6);
    }
}
