//! Registration of the two shots by phase correlation (translation), on a
//! bounded central crop so its cost does not grow with the image.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::fft::{self, Complex32};

/// Side of the central crop phase correlation runs on.
const REGISTRATION_SIDE: usize = 1024;
/// Width (px) of the Gaussian the correlation peak is smoothed to. It
/// weighs the low frequencies, which both shots hold alike however
/// differently they are focused (the high ones hold each shot's own sharp
/// layer and only add noise to the surface). And a sampled Gaussian's log is
/// a parabola, so three samples place the peak to a small fraction of a
/// pixel (a raw phase-correlation peak is a sinc, which a parabola fits with
/// a bias of up to a few tenths of a pixel).
const PEAK_SIGMA_PX: f64 = 2.0;
/// Shots are mostly taken from one spot: a correlation peak whose value the
/// zero shift reaches to within this factor is no evidence to move M2 at
/// all (a layer with a strong repeating texture next to a much blurred one
/// flattens and moves the peak by a pixel or so).
const ZERO_SHIFT_PREFERENCE: f32 = 0.97;
/// Sub-pixel fractions below this are taken as zero: the two layers' cross
/// terms move the peak by up to about 0.15 px on aligned shots, and a
/// spurious shift of that size leaks each layer into the other.
const SUBPIXEL_DEADBAND_PX: f64 = 0.2;
/// The correlation peak must stand this many times above the surface's RMS;
/// unrelated images give 4-6, shots of one scene hundreds.
const PEAK_TO_RMS: f64 = 10.0;

/// How M2 moves onto M1: aligned(x) = M2(x - shift).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Registration {
    /// Translation (dx, dy) in pixels.
    pub shift_px: (f64, f64),
}

/// A plane's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub height: usize,
    pub width: usize,
}

/// M2 must cover at least this share of M1 once aligned.
const MIN_OVERLAP: f64 = 0.5;

/// The `h x w` crop of `plane` at (top, left), mean removed, under a Hann taper.
fn tapered_crop(plane: &[f32], width: usize, top: usize, left: usize, h: usize, w: usize) -> Vec<f32> {
    let taper_y = super::stft::hann(h);
    let taper_x = super::stft::hann(w);
    let mut out: Vec<f32> = (0..h * w)
        .map(|i| plane[(top + i / w) * width + left + i % w])
        .collect();
    let mean = out.iter().map(|&v| v as f64).sum::<f64>() / out.len() as f64;
    for (i, v) in out.iter_mut().enumerate() {
        *v = (*v - mean as f32) * taper_y[i / w] * taper_x[i % w];
    }
    out
}

/// Finds the translation that aligns `lum2` onto `lum1` (sizes may differ),
/// from the central crops both share. Fails when no clear correlation peak
/// stands out or M2, once aligned, covers too little of M1.
pub fn register(lum1: &[f32], size1: Size, lum2: &[f32], size2: Size) -> Result<Registration> {
    let h = size1.height.min(size2.height).min(REGISTRATION_SIDE);
    let w = size1.width.min(size2.width).min(REGISTRATION_SIDE);
    let origin1 = ((size1.height - h) / 2, (size1.width - w) / 2);
    let origin2 = ((size2.height - h) / 2, (size2.width - w) / 2);
    let c1 = tapered_crop(lum1, size1.width, origin1.0, origin1.1, h, w);
    let c2 = tapered_crop(lum2, size2.width, origin2.0, origin2.1, h, w);
    let plan = fft::plan(h, w);
    let f1 = plan.forward(&c1);
    let f2 = plan.forward(&c2);
    let signed = |k: usize, n: usize| if k > n / 2 { k as f64 - n as f64 } else { k as f64 };
    let surface = correlation_surface(&f1, &f2, h, w, PEAK_SIGMA_PX);
    let (peak_index, peak) =
        surface.iter().enumerate().fold(
            (0, f32::NEG_INFINITY),
            |best, (i, &v)| if v > best.1 { (i, v) } else { best },
        );
    let rms = (surface.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / surface.len() as f64).sqrt();
    // Written so that a NaN surface fails too.
    let stands_out = peak as f64 > PEAK_TO_RMS * rms;
    if !stands_out {
        return Err(Error::bad_parameter(
            "cannot register M2 onto M1: the shots do not show the same scene",
        ));
    }
    let wrap = |y: usize, x: usize| (y % h) * w + x % w;
    let stay = surface[0] >= ZERO_SHIFT_PREFERENCE * peak;
    let (py, px) = if stay { (0, 0) } else { (peak_index / w, peak_index % w) };
    let top = surface[wrap(py, px)] as f64;
    // Parabola through the logs of the peak and its neighbours, per axis.
    let at = |y: usize, x: usize| {
        (surface[wrap(y, x)] as f64)
            .max(top.abs() * 1e-6 + f64::MIN_POSITIVE)
            .ln()
    };
    let refine = |minus: f64, centre: f64, plus: f64| {
        let denominator = minus - 2.0 * centre + plus;
        if denominator < 0.0 {
            (0.5 * (minus - plus) / denominator).clamp(-0.5, 0.5)
        } else {
            0.0
        }
    };
    let deadband = |f: f64| if f.abs() < SUBPIXEL_DEADBAND_PX { 0.0 } else { f };
    let (fy, fx) = if stay {
        (0.0, 0.0)
    } else {
        (
            deadband(refine(at(py + h - 1, px), at(py, px), at(py + 1, px))),
            deadband(refine(at(py, px + w - 1), at(py, px), at(py, px + 1))),
        )
    };
    // crop1(x) = crop2(x - d), so M1(X) = M2(X - (origin1 + d - origin2)).
    let shift_px = (
        origin1.1 as f64 + signed(px, w) + fx - origin2.1 as f64,
        origin1.0 as f64 + signed(py, h) + fy - origin2.0 as f64,
    );
    let registration = Registration { shift_px };
    let (top, left, bottom, right) = registration.overlap(size1, size2);
    let covered = ((bottom - top) * (right - left)) as f64 / (size1.height * size1.width) as f64;
    if covered < MIN_OVERLAP {
        return Err(Error::bad_parameter(format!(
            "cannot register M2 ({}x{}) onto M1 ({}x{}): aligned, it covers only {:.0}% of M1",
            size2.width,
            size2.height,
            size1.width,
            size1.height,
            100.0 * covered
        )));
    }
    Ok(registration)
}

/// The phase correlation of two spectra (`h x w` crops), its peak smoothed
/// to a Gaussian of `sigma_px`.
fn correlation_surface(f1: &[Complex32], f2: &[Complex32], h: usize, w: usize, sigma_px: f64) -> Vec<f32> {
    let plan = fft::plan(h, w);
    let signed = |k: usize, n: usize| if k > n / 2 { k as f64 - n as f64 } else { k as f64 };
    let mut cross: Vec<Complex32> = f1
        .iter()
        .zip(f2)
        .enumerate()
        .map(|(i, (a, b))| {
            let c = a * b.conj();
            let norm = c.norm();
            if norm <= 1e-20 {
                return Complex32::default();
            }
            let (ky, kx) = plan.coordinates(i);
            let wy = std::f64::consts::TAU * signed(ky, h) / h as f64;
            let wx = std::f64::consts::TAU * kx as f64 / w as f64;
            let smooth = (-0.5 * sigma_px * sigma_px * (wx * wx + wy * wy)).exp() as f32;
            c * (smooth / norm)
        })
        .collect();
    let mut surface = vec![0.0f32; h * w];
    plan.inverse_destroying(&mut cross, &mut surface);
    surface
}

impl Registration {
    /// Integer part of the shift (rounded) and the sub-pixel rest.
    pub fn split(&self) -> ((i64, i64), (f64, f64)) {
        let (dx, dy) = self.shift_px;
        let (ix, iy) = (dx.round(), dy.round());
        ((ix as i64, iy as i64), (dx - ix, dy - iy))
    }

    /// The rows `top..bottom` and columns `left..right` of M1's frame that
    /// M2 covers once moved by the integer shift (empty when none).
    pub fn overlap(&self, size1: Size, size2: Size) -> (usize, usize, usize, usize) {
        let ((ix, iy), _) = self.split();
        let clamp = |v: i64, n: usize| v.clamp(0, n as i64) as usize;
        let top = clamp(iy, size1.height);
        let left = clamp(ix, size1.width);
        let bottom = clamp(iy + size2.height as i64, size1.height).max(top);
        let right = clamp(ix + size2.width as i64, size1.width).max(left);
        (top, left, bottom, right)
    }

    /// `plane` of M2 (`size2`) moved by the integer shift into M1's frame
    /// (`size1`); outside M2, the nearest edge pixel.
    pub fn frame(&self, plane: &[f32], size1: Size, size2: Size) -> Vec<f32> {
        let ((ix, iy), _) = self.split();
        let mut out = vec![0.0f32; size1.height * size1.width];
        out.par_chunks_mut(size1.width).enumerate().for_each(|(y, row)| {
            let sy = (y as i64 - iy).clamp(0, size2.height as i64 - 1) as usize;
            let source = &plane[sy * size2.width..(sy + 1) * size2.width];
            for (x, v) in row.iter_mut().enumerate() {
                *v = source[(x as i64 - ix).clamp(0, size2.width as i64 - 1) as usize];
            }
        });
        out
    }

    /// Crops of at most `side x side` of M1's luminance and of M2's, framed
    /// onto M1 (see [`Registration::frame`]), over the region with the most
    /// detail among a few candidates inside `overlap`, M2's moved by the
    /// sub-pixel rest. Returns (crop1, crop2, height, width).
    pub fn estimation_crops(
        &self,
        lum1: &[f32],
        framed2: &[f32],
        width: usize,
        overlap: (usize, usize, usize, usize),
        side: usize,
    ) -> (Vec<f32>, Vec<f32>, usize, usize) {
        let (_, (fx, fy)) = self.split();
        let (y0, x0, y1, x1) = overlap;
        let (ch, cw) = ((y1 - y0).min(side), (x1 - x0).min(side));
        let (top, left) = busiest_tile(lum1, width, (y0, y1), (x0, x1), ch, cw);
        let cut = |plane: &[f32]| -> Vec<f32> {
            (0..ch * cw)
                .map(|i| plane[(top + i / cw) * width + left + i % cw])
                .collect()
        };
        let crop2 = cut(framed2);
        let crop2 = if fx != 0.0 || fy != 0.0 {
            subpixel_shift(&crop2, ch, cw, fx, fy)
        } else {
            crop2
        };
        (cut(lum1), crop2, ch, cw)
    }
}

/// Moves a plane by a sub-pixel (dx, dy) with a Fourier phase ramp.
fn subpixel_shift(plane: &[f32], h: usize, w: usize, dx: f64, dy: f64) -> Vec<f32> {
    let plan = fft::plan(h, w);
    let mut spectrum = plan.forward(plane);
    let signed = |k: usize, n: usize| if k > n / 2 { k as f64 - n as f64 } else { k as f64 };
    for (i, v) in spectrum.iter_mut().enumerate() {
        let (ky, kx) = plan.coordinates(i);
        let phase = -std::f64::consts::TAU * (kx as f64 * dx / w as f64 + signed(ky, h) * dy / h as f64);
        *v *= Complex32::new(phase.cos() as f32, phase.sin() as f32);
    }
    let mut out = vec![0.0f32; h * w];
    plan.inverse_destroying(&mut spectrum, &mut out);
    out
}

/// Top-left of the `h x w` tile inside rows `ys`, columns `xs` with the most
/// gradient energy, among a 3 x 3 grid of candidates.
fn busiest_tile(
    plane: &[f32],
    width: usize,
    ys: (usize, usize),
    xs: (usize, usize),
    h: usize,
    w: usize,
) -> (usize, usize) {
    let spread = |range: (usize, usize), n: usize| -> Vec<usize> {
        let slack = range.1 - range.0 - n;
        (0..3).map(|i| range.0 + slack * i / 2).collect()
    };
    let energy = |top: usize, left: usize| -> f64 {
        // Every other row and column is plenty to compare tiles.
        let mut sum = 0.0;
        for y in (top..top + h - 1).step_by(2) {
            for x in (left..left + w - 1).step_by(2) {
                let v = plane[y * width + x];
                sum += ((plane[y * width + x + 1] - v).abs() + (plane[(y + 1) * width + x] - v).abs()) as f64;
            }
        }
        sum
    };
    let mut best = (ys.0, xs.0, f64::NEG_INFINITY);
    for &top in &spread(ys, h) {
        for &left in &spread(xs, w) {
            let e = energy(top, left);
            if e > best.2 {
                best = (top, left, e);
            }
        }
    }
    (best.0, best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broadband texture: sixty waves of seeded frequencies, directions
    /// and phases (analytic, so a fractional offset is exact).
    fn texture(height: usize, width: usize, dx: f32, dy: f32) -> Vec<f32> {
        let mut state = 0x2545F4914F6CDD1Du64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        let waves: Vec<(f32, f32, f32, f32)> = (0..60)
            .map(|_| {
                let frequency = 0.05 + 2.5 * uniform();
                let angle = std::f32::consts::TAU * uniform();
                let phase = std::f32::consts::TAU * uniform();
                // Natural images: amplitude falls with frequency.
                (frequency * angle.cos(), frequency * angle.sin(), phase, 1.0 / frequency)
            })
            .collect();
        (0..height * width)
            .map(|i| {
                let y = (i / width) as f32 + dy;
                let x = (i % width) as f32 + dx;
                waves.iter().map(|(fx, fy, p, a)| a * (fx * x + fy * y + p).sin()).sum()
            })
            .collect()
    }

    #[test]
    fn finds_an_integer_translation_and_its_sign() {
        let size = Size {
            height: 128,
            width: 160,
        };
        let m1 = texture(128, 160, 0.0, 0.0);
        // M2's pixel x shows M1's x + (5, -3): aligned(x) = M2(x - (5, -3)).
        let m2 = texture(128, 160, 5.0, -3.0);
        let found = register(&m1, size, &m2, size).unwrap();
        // The content entering and leaving the small crop pulls the peak by
        // up to a few tenths of a pixel; the whole pixels are exact.
        let (dx, dy) = found.shift_px;
        assert!((dx - 5.0).abs() < 0.3 && (dy + 3.0).abs() < 0.3, "({dx}, {dy})");
        assert_eq!(found.split().0, (5, -3));
        let framed = found.frame(&m2, size, size);
        // Inside the covered part, the framed M2 is M1.
        let (top, left, bottom, right) = found.overlap(size, size);
        for y in top..bottom {
            for x in left..right {
                assert!((framed[y * 160 + x] - m1[y * 160 + x]).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn places_a_half_pixel_shift() {
        let size = Size {
            height: 128,
            width: 160,
        };
        let m1 = texture(128, 160, 0.0, 0.0);
        let m2 = texture(128, 160, 3.5, -2.0);
        let (dx, dy) = register(&m1, size, &m2, size).unwrap().shift_px;
        assert!((dx - 3.5).abs() < 0.1 && (dy + 2.0).abs() < 0.1, "({dx}, {dy})");
    }

    #[test]
    fn refuses_unrelated_planes() {
        let size = Size {
            height: 128,
            width: 128,
        };
        let m1 = texture(128, 128, 0.0, 0.0);
        let noise: Vec<f32> = (0..128 * 128u32)
            .map(|i| ((i.wrapping_mul(2654435761) >> 7) % 1000) as f32 / 1000.0)
            .collect();
        assert!(register(&m1, size, &noise, size).is_err());
    }
}
