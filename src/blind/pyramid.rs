//! Resampling for the coarse-to-fine pyramid: planes shrunk with an
//! antialiasing tent filter, kernels grown bilinearly.

use super::input::Plane;
use crate::imaging::resample;

/// A plane shrunk (or kept) to `new_width x new_height`.
pub fn resize_plane(plane: &Plane, new_width: usize, new_height: usize) -> Plane {
    if new_width == plane.width && new_height == plane.height {
        return Plane {
            width: plane.width,
            height: plane.height,
            data: plane.data.clone(),
        };
    }
    Plane {
        width: new_width,
        height: new_height,
        data: resample(&plane.data, plane.width, plane.height, new_width, new_height),
    }
}

/// A square kernel of side `from` grown (or shrunk) to side `to`, kept
/// non-negative and summing to 1; the centre pixels stay aligned.
pub fn resize_kernel(kernel: &[f32], from: usize, to: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; to * to];
    let (cf, ct) = ((from / 2) as f64, (to / 2) as f64);
    let scale = from as f64 / to as f64;
    for r in 0..to {
        for c in 0..to {
            // Source position of this pixel, centres aligned.
            let sy = (r as f64 - ct) * scale + cf;
            let sx = (c as f64 - ct) * scale + cf;
            let (y0, x0) = (sy.floor(), sx.floor());
            let (fy, fx) = ((sy - y0) as f32, (sx - x0) as f32);
            let at = |y: f64, x: f64| {
                if y < 0.0 || x < 0.0 || y >= from as f64 || x >= from as f64 {
                    0.0
                } else {
                    kernel[y as usize * from + x as usize]
                }
            };
            out[r * to + c] = (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x0 + 1.0))
                + fy * ((1.0 - fx) * at(y0 + 1.0, x0) + fx * at(y0 + 1.0, x0 + 1.0));
        }
    }
    let sum: f32 = out.iter().map(|v| v.max(0.0)).sum();
    if sum > 0.0 {
        out.iter_mut().for_each(|v| *v = v.max(0.0) / sum);
    } else {
        out[(to / 2) * to + to / 2] = 1.0;
    }
    out
}

/// Kernel sides of the pyramid levels, coarsest first: each about 1/sqrt(2)
/// of the next, odd, from 3 up to `size`.
pub fn kernel_sides(size: usize) -> Vec<usize> {
    let mut sides = vec![size];
    loop {
        let last = sides[sides.len() - 1];
        if last <= 3 {
            break;
        }
        let mut next = ((last as f64) / std::f64::consts::SQRT_2).round() as usize;
        if next.is_multiple_of(2) {
            next += 1;
        }
        next = next.max(3).min(last - 2);
        sides.push(next);
    }
    sides.reverse();
    sides
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_shrink_by_about_root_two_to_three() {
        assert_eq!(kernel_sides(51), vec![3, 5, 7, 9, 13, 19, 27, 37, 51]);
        assert_eq!(kernel_sides(3), vec![3]);
        assert_eq!(kernel_sides(5), vec![3, 5]);
    }

    #[test]
    fn resampling_keeps_a_constant_and_the_mean() {
        let data: Vec<f32> = (0..40 * 30).map(|i| ((i % 40) as f32 * 0.01) + 0.2).collect();
        let small = resample(&data, 40, 30, 17, 13);
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean(&small) - mean(&data)).abs() < 0.01);
        let flat = resample(&vec![0.5; 40 * 30], 40, 30, 23, 11);
        assert!(flat.iter().all(|v| (v - 0.5).abs() < 1e-5));
    }

    #[test]
    fn kernel_growth_keeps_the_centre_and_the_sum() {
        let mut k = vec![0.0f32; 9];
        k[4] = 1.0;
        let grown = resize_kernel(&k, 3, 7);
        assert!((grown.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let argmax = grown.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(argmax, 3 * 7 + 3);
    }
}
