//! Rasterization of parametric PSFs, each integrated over square pixels.

use super::Kernel;
use crate::error::Result;

/// Gaussians are cut at this many sigmas (the mass beyond is below 0.1%).
const GAUSSIAN_EXTENT_SIGMAS: f64 = 3.5;
/// Subsamples per pixel side where no closed form exists.
const SUBSAMPLES: usize = 16;

/// Half-size of a square kernel whose support reaches `extent_px` from the centre.
fn half_size(extent_px: f64) -> usize {
    (extent_px - 0.5).ceil().max(0.0) as usize
}

/// A square kernel of side 2*half+1 with `value(dx, dy)` per pixel, where
/// (dx, dy) is the pixel's offset from the centre (x right, y down).
fn square_kernel(half: usize, value: impl Fn(f64, f64) -> f64) -> Result<Kernel> {
    let side = 2 * half + 1;
    let weights = (0..side * side)
        .map(|i| {
            let (row, col) = (i / side, i % side);
            value(col as f64 - half as f64, row as f64 - half as f64)
        })
        .collect();
    Kernel::from_weights(side, side, weights)
}

/// Mean of `f` over the pixel centred at (x, y), by the midpoint rule.
fn pixel_mean(x: f64, y: f64, f: impl Fn(f64, f64) -> f64) -> f64 {
    let step = 1.0 / SUBSAMPLES as f64;
    let mut sum = 0.0;
    for i in 0..SUBSAMPLES {
        for j in 0..SUBSAMPLES {
            sum += f(x - 0.5 + (i as f64 + 0.5) * step, y - 0.5 + (j as f64 + 0.5) * step);
        }
    }
    sum / (SUBSAMPLES * SUBSAMPLES) as f64
}

/// A disk of `radius_px`: each pixel weighs the area it shares with the disk
/// (integrated exactly along y, finely along x). A feather turns the edge into
/// a linear ramp `feather_px` wide centred on the radius.
pub fn disk(radius_px: f64, feather_px: f64) -> Result<Kernel> {
    let outer = radius_px + feather_px / 2.0;
    let half = half_size(outer);
    if feather_px > 0.0 {
        let inner = (radius_px - feather_px / 2.0).max(0.0);
        let width = outer - inner;
        return square_kernel(half, |x, y| {
            pixel_mean(x, y, |u, v| ((outer - (u * u + v * v).sqrt()) / width).clamp(0.0, 1.0))
        });
    }
    square_kernel(half, |x, y| disk_pixel_area(radius_px, x, y))
}

/// Area of the unit pixel centred at (x, y) inside the disk of radius r.
fn disk_pixel_area(r: f64, x: f64, y: f64) -> f64 {
    const STEPS: usize = 256;
    let (y0, y1) = (y - 0.5, y + 0.5);
    let dx = 1.0 / STEPS as f64;
    (0..STEPS)
        .map(|i| {
            let u = x - 0.5 + (i as f64 + 0.5) * dx;
            let chord = (r * r - u * u).max(0.0).sqrt();
            (y1.min(chord) - y0.max(-chord)).max(0.0) * dx
        })
        .sum()
}

/// A Gaussian with widths `sigma_x_px`, `sigma_y_px` along axes turned by
/// `angle_deg`; exact pixel integrals (erf) when the axes are the grid's.
pub fn gaussian(sigma_x_px: f64, sigma_y_px: f64, angle_deg: f64) -> Result<Kernel> {
    let turn = angle_deg.rem_euclid(180.0);
    let (sx, sy) = if turn == 90.0 {
        (sigma_y_px, sigma_x_px)
    } else {
        (sigma_x_px, sigma_y_px)
    };
    let half = (GAUSSIAN_EXTENT_SIGMAS * sigma_x_px.max(sigma_y_px)).ceil() as usize;
    if turn == 0.0 || turn == 90.0 || sigma_x_px == sigma_y_px {
        let integral = |t: f64, s: f64| {
            let k = 1.0 / (s * std::f64::consts::SQRT_2);
            0.5 * (libm::erf((t + 0.5) * k) - libm::erf((t - 0.5) * k))
        };
        return square_kernel(half, |x, y| integral(x, sx) * integral(y, sy));
    }
    // Displayed angle is counter-clockwise with y up; rows go down.
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    square_kernel(half, |x, y| {
        pixel_mean(x, y, |u, v| {
            let along = u * cos - v * sin;
            let across = u * sin + v * cos;
            (-0.5 * ((along / sigma_x_px).powi(2) + (across / sigma_y_px).powi(2))).exp()
        })
    })
}

/// A segment of `length_px` through the centre in direction `angle_deg`;
/// each pixel weighs the length of the segment inside it.
pub fn motion(length_px: f64, angle_deg: f64) -> Result<Kernel> {
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    // Direction as displayed (y up) in image coordinates (rows down).
    let (dx, dy) = (cos, -sin);
    let half = half_size(dx.abs().max(dy.abs()) * length_px / 2.0);
    let start = (-dx * length_px / 2.0, -dy * length_px / 2.0);
    let delta = (dx * length_px, dy * length_px);
    square_kernel(half, |x, y| {
        segment_fraction_in_box(start, delta, (x - 0.5, x + 0.5), (y - 0.5, y + 0.5)) * length_px
    })
}

/// Fraction of the segment start + t*delta, t in [0, 1], inside the box
/// (Liang–Barsky clipping).
fn segment_fraction_in_box(start: (f64, f64), delta: (f64, f64), xs: (f64, f64), ys: (f64, f64)) -> f64 {
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, d, (lo, hi)) in [(start.0, delta.0, xs), (start.1, delta.1, ys)] {
        if d.abs() < 1e-12 {
            if p < lo || p >= hi {
                return 0.0;
            }
            continue;
        }
        let (a, b) = ((lo - p) / d, (hi - p) / d);
        t0 = t0.max(a.min(b));
        t1 = t1.min(a.max(b));
    }
    (t1 - t0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centroid(k: &Kernel) -> (f64, f64) {
        let (mut cx, mut cy) = (0.0, 0.0);
        for r in 0..k.height {
            for c in 0..k.width {
                cx += c as f64 * k.at(r, c) as f64;
                cy += r as f64 * k.at(r, c) as f64;
            }
        }
        (cx, cy)
    }

    #[test]
    fn kernels_sum_to_one_and_are_centred() {
        for k in [
            disk(6.0, 0.0),
            disk(2.5, 1.0),
            gaussian(3.0, 3.0, 0.0),
            gaussian(1.0, 3.0, 30.0),
            motion(15.0, 30.0),
            motion(0.5, 0.0),
        ] {
            let k = k.unwrap();
            let sum: f64 = k.data.iter().map(|v| *v as f64).sum();
            assert!((sum - 1.0).abs() < 1e-5);
            let (cx, cy) = centroid(&k);
            assert!((cx - (k.width / 2) as f64).abs() < 1e-4 && (cy - (k.height / 2) as f64).abs() < 1e-4);
        }
    }

    #[test]
    fn motion_points_up_right_at_45_degrees() {
        let k = motion(9.0, 45.0).unwrap();
        let c = k.width / 2;
        // Up-right as displayed: smaller row, larger column.
        assert!(k.at(c - 2, c + 2) > 0.05);
        assert_eq!(k.at(c + 2, c + 2), 0.0);
    }

    #[test]
    fn disk_area_matches_pi_r_squared() {
        let area: f64 = (-7..=7)
            .flat_map(|y| (-7..=7).map(move |x| disk_pixel_area(6.0, x as f64, y as f64)))
            .sum();
        assert!((area - std::f64::consts::PI * 36.0).abs() < 1e-3, "{area}");
    }
}
