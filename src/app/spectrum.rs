//! The image's log power spectrum with the PSF's predicted zeros drawn over
//! it (rings for a disk, stripes for motion, the 10% contour for a
//! Gaussian), so the blur's size can be matched by eye.

use std::f32::consts::PI;

use crate::fft;
use crate::imaging::Image;
use eframe::egui::{Color32, ColorImage, Painter, Pos2, Rect, Stroke, vec2};

use super::params::{PsfModel, PsfParams};

/// Side of the centre crop transformed: enough frequency resolution to see
/// rings of blurs up to ~50 px, cheap to compute.
const CROP: usize = 512;
/// Zeros of the Bessel function J1: a disk of radius r has OTF zeros at
/// frequency rho = j / (2 pi r).
const BESSEL_J1_ZEROS: [f32; 8] = [3.8317, 7.0156, 10.1735, 13.3237, 16.4706, 19.6159, 22.7601, 25.9037];

/// The log spectrum of the image's centre crop (luminance, Hann window),
/// zero frequency in the middle. Returns the picture and its side.
pub fn log_spectrum(image: &Image) -> (ColorImage, usize) {
    let side = CROP.min(image.width).min(image.height).max(2) & !1;
    let (x0, y0) = ((image.width - side) / 2, (image.height - side) / 2);
    let window: Vec<f32> = (0..side)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f32 / side as f32).cos())
        .collect();
    let mut crop = vec![0.0f32; side * side];
    for y in 0..side {
        for x in 0..side {
            let i = (y0 + y) * image.width + x0 + x;
            let value = image.planes.iter().map(|p| p[i]).sum::<f32>() / image.channels() as f32;
            crop[y * side + x] = value * window[x] * window[y];
        }
    }
    let plan = fft::plan(side, side);
    let spectrum = plan.forward(&crop);
    let half = side / 2 + 1;
    // Full-plane magnitude from the half spectrum (conjugate symmetry), shifted.
    let mut log_power = vec![0.0f32; side * side];
    for y in 0..side {
        for x in 0..side {
            let (fy, fx) = ((y + side / 2) % side, (x + side / 2) % side);
            let value = if fx < half {
                spectrum[fy * half + fx]
            } else {
                spectrum[((side - fy) % side) * half + (side - fx)].conj()
            };
            log_power[y * side + x] = (value.norm_sqr() + 1e-12).ln();
        }
    }
    // Map a robust range to grey levels.
    let mut sorted = log_power.clone();
    sorted.sort_by(f32::total_cmp);
    let (low, high) = (
        sorted[sorted.len() / 20],
        sorted[sorted.len() - 1 - sorted.len() / 2000],
    );
    let pixels = log_power
        .iter()
        .map(|&v| Color32::from_gray((((v - low) / (high - low).max(1e-6)).clamp(0.0, 1.0) * 255.0) as u8))
        .collect();
    (ColorImage::new([side, side], pixels), side)
}

/// Draws the PSF's predicted zero pattern over a spectrum of `side` pixels
/// shown in `rect`.
pub fn draw_psf_zeros(painter: &Painter, rect: Rect, side: usize, psf: &PsfParams) {
    let scale = rect.width() / side as f32;
    let center = rect.center();
    let stroke = Stroke::new(1.5, Color32::from_rgba_unmultiplied(255, 190, 40, 200));
    let painter = painter.with_clip_rect(rect);
    // One cycle per pixel spans `side` bins.
    let bins = |cycles_per_pixel: f32| cycles_per_pixel * side as f32 * scale;
    match psf.model {
        PsfModel::Disk => {
            for zero in BESSEL_J1_ZEROS {
                let radius = bins(zero / (2.0 * PI * psf.radius as f32));
                if radius > rect.width() {
                    break;
                }
                painter.circle_stroke(center, radius, stroke);
            }
        }
        PsfModel::Motion => {
            let angle = (psf.motion_angle as f32).to_radians();
            // Screen direction of the motion (y down).
            let direction = vec2(angle.cos(), -angle.sin());
            let across = vec2(-direction.y, direction.x);
            let spacing = bins(1.0 / psf.length as f32);
            if spacing < 2.0 {
                return;
            }
            let reach = rect.width() * 1.5;
            let mut k = 1.0;
            while k * spacing < rect.width() {
                for sign in [-1.0, 1.0] {
                    let foot = center + direction * (sign * k * spacing);
                    painter.line_segment([foot - across * reach, foot + across * reach], stroke);
                }
                k += 1.0;
            }
        }
        PsfModel::Gaussian => {
            // |H| = 0.1 where 2 pi^2 sigma^2 rho^2 = ln 10.
            let rho = |sigma: f64| bins(((10f32).ln() / (2.0 * PI * PI)).sqrt() / sigma as f32);
            let (a, b) = (rho(psf.sigma_x), rho(psf.sigma_y));
            let angle = (psf.gaussian_angle as f32).to_radians();
            let (u, v) = (vec2(angle.cos(), -angle.sin()), vec2(angle.sin(), angle.cos()));
            let points: Vec<Pos2> = (0..=64)
                .map(|i| {
                    let t = i as f32 / 64.0 * 2.0 * PI;
                    center + u * (a * t.cos()) + v * (b * t.sin())
                })
                .collect();
            painter.add(eframe::egui::Shape::line(points, stroke));
        }
        PsfModel::File => {}
    }
    painter.circle_filled(center, 2.0, stroke.color);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_blur_darkens_the_predicted_ring() {
        // White noise blurred by a disk: its spectrum is |H|^2, dark on the
        // first J1 ring.
        let n = 256;
        let mut state = 12345u32;
        let noise: Vec<f32> = (0..n * n)
            .map(|_| {
                state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                (state >> 8) as f32 / (1u32 << 24) as f32
            })
            .collect();
        let radius = 8.0;
        let kernel = crate::psf::PsfSpec::Disk {
            radius_px: radius,
            feather_px: 0.0,
        }
        .kernel()
        .unwrap();
        let plan = fft::plan(n, n);
        let otf = crate::deconv::otf(&kernel, &plan);
        let mut spectrum = plan.forward(&noise);
        spectrum.iter_mut().zip(&otf).for_each(|(s, h)| *s *= h);
        let blurred = Image::gray(n, n, plan.inverse(&spectrum));
        let (picture, side) = log_spectrum(&blurred);
        let ring = BESSEL_J1_ZEROS[0] / (2.0 * PI * radius as f32) * side as f32;
        let grey = |r: f32| {
            let (mut sum, mut count) = (0.0, 0.0);
            for step in 0..360 {
                let t = (step as f32).to_radians();
                let x = (side as f32 / 2.0 + r * t.cos()).round() as usize;
                let y = (side as f32 / 2.0 + r * t.sin()).round() as usize;
                sum += picture.pixels[y * side + x].r() as f32;
                count += 1.0;
            }
            sum / count
        };
        let on_ring = grey(ring);
        let inside = grey(ring * 0.6);
        assert!(on_ring + 20.0 < inside, "ring {on_ring} vs inside {inside}");
    }
}
