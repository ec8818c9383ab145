//! Synthetic two-shot mixtures for the separation tests and benchmarks:
//! sources from `tests/data/images`, cross blurs as pixel-integrated
//! Gaussians with a gain, circular convolution, seeded Gaussian noise; and
//! the quality measures of issue 5 (high-passed PSNR, crosstalk).
#![allow(dead_code)]

use std::path::Path;

use unblur::deconv;
use unblur::fft::{self, Complex32};
use unblur::imaging::{self, Image};
use unblur::psf::{Kernel, PsfSpec};
use unblur::separate::{self, Transfer};

/// Noise of the cases: 2.5 / 255 per sample.
pub const NOISE_SIGMA: f32 = 2.5 / 255.0;

/// A source image's stored values in [0, 1].
pub fn source(name: &str) -> Image {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/images")
        .join(name);
    imaging::load_stored(&path, 250.0).expect("test image").0
}

/// The mean of the colour planes, as a gray image.
pub fn gray(image: &Image) -> Image {
    let n = image.planes.len() as f32;
    let samples = (0..image.pixel_count())
        .map(|i| image.planes.iter().map(|p| p[i]).sum::<f32>() / n)
        .collect();
    Image::gray(image.width, image.height, samples)
}

/// A `height x width` crop at (top, left).
pub fn crop(image: &Image, top: usize, left: usize, height: usize, width: usize) -> Image {
    image
        .map_planes(|p| {
            (0..height * width)
                .map(|i| p[(top + i / width) * image.width + left + i % width])
                .collect()
        })
        .resized(width, height)
}

trait Resized {
    fn resized(self, width: usize, height: usize) -> Image;
}

impl Resized for Image {
    fn resized(mut self, width: usize, height: usize) -> Image {
        self.width = width;
        self.height = height;
        self
    }
}

/// The Gaussian kernel of widths (sx, sy) px, as `psf::gaussian` rasterizes it.
pub fn gaussian(sigma_x_px: f64, sigma_y_px: f64) -> Kernel {
    let spec: PsfSpec = format!("gaussian:sx={sigma_x_px},sy={sigma_y_px},angle=0")
        .parse()
        .unwrap();
    spec.kernel().unwrap()
}

/// Index of `k` in `0..n` under half-sample symmetric extension.
fn mirror(k: i64, n: usize) -> usize {
    let period = 2 * n as i64;
    let k = k.rem_euclid(period);
    (if k < n as i64 { k } else { period - 1 - k }) as usize
}

/// Linear convolution of every plane with `kernel`, times `gain`, the
/// borders extended by half-sample mirroring (as a camera sees a scene
/// that goes on past the frame), cropped back to the image's size.
pub fn blur(image: &Image, kernel: &Kernel, gain: f32) -> Image {
    let margin = kernel.width.max(kernel.height);
    let (h, w) = (image.height + 2 * margin, image.width + 2 * margin);
    let plan = fft::plan(h, w);
    let otf = deconv::otf(kernel, &plan);
    image.map_planes(|p| {
        let padded: Vec<f32> = (0..h * w)
            .map(|i| {
                let y = mirror((i / w) as i64 - margin as i64, image.height);
                let x = mirror((i % w) as i64 - margin as i64, image.width);
                p[y * image.width + x]
            })
            .collect();
        let mut s = plan.forward(&padded);
        s.iter_mut().zip(&otf).for_each(|(v, o)| *v = *v * *o * gain);
        let blurred = plan.inverse(&s);
        (0..image.pixel_count())
            .map(|i| blurred[(i / image.width + margin) * w + i % image.width + margin])
            .collect()
    })
}

fn add(a: &Image, b: &Image) -> Image {
    let mut out = a.clone();
    for (p, q) in out.planes.iter_mut().zip(&b.planes) {
        p.iter_mut().zip(q).for_each(|(x, y)| *x += y);
    }
    out
}

/// Adds seeded Gaussian noise of `sigma`.
pub fn noisy(image: &Image, sigma: f32, seed: u64) -> Image {
    let mut state = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    image.map_planes(|p| {
        p.iter()
            .map(|v| {
                let normal = (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
                v + sigma * normal as f32
            })
            .collect()
    })
}

/// A two-shot mixture: m1 = s1 + g k12 * s2, m2 = g k21 * s1 + s2, plus noise
/// (convolutions with mirrored borders).
pub struct Mixture {
    pub sources: [Image; 2],
    pub mixtures: [Image; 2],
    pub kernels: [Kernel; 2],
    pub sigmas_px: [(f64, f64); 2],
    pub gain: f64,
}

pub fn mix(s1: &Image, s2: &Image, sigma12: (f64, f64), sigma21: (f64, f64), gain: f64, seed: u64) -> Mixture {
    mix_with_noise(s1, s2, sigma12, sigma21, gain, NOISE_SIGMA, seed)
}

/// As [`mix`] with noise of standard deviation `noise`.
pub fn mix_with_noise(
    s1: &Image,
    s2: &Image,
    sigma12: (f64, f64),
    sigma21: (f64, f64),
    gain: f64,
    noise: f32,
    seed: u64,
) -> Mixture {
    let mut mixture = mix_kernels(
        s1,
        s2,
        gaussian(sigma12.0, sigma12.1),
        gaussian(sigma21.0, sigma21.1),
        gain,
        noise,
        seed,
    );
    mixture.sigmas_px = [sigma12, sigma21];
    mixture
}

/// A mixture through any pair of kernels (`sigmas_px` left at zero).
pub fn mix_kernels(s1: &Image, s2: &Image, k12: Kernel, k21: Kernel, gain: f64, noise: f32, seed: u64) -> Mixture {
    let m1 = noisy(&add(s1, &blur(s2, &k12, gain as f32)), noise, seed);
    let m2 = noisy(&add(&blur(s1, &k21, gain as f32), s2), noise, seed + 1);
    Mixture {
        sources: [s1.clone(), s2.clone()],
        mixtures: [m1, m2],
        kernels: [k12, k21],
        sigmas_px: [(0.0, 0.0); 2],
        gain,
    }
}

impl Mixture {
    /// The ORACLE: the same inverse built from the true kernels and gain.
    pub fn oracle(&self) -> [Image; 2] {
        let transfer = |k: &Kernel| Transfer::Kernel {
            kernel: k.clone(),
            gain: self.gain,
        };
        separate::unmix(
            &self.mixtures[0],
            &self.mixtures[1],
            &transfer(&self.kernels[0]),
            &transfer(&self.kernels[1]),
            (0.0, 0.0),
            &unblur::jobs::Silent,
        )
        .unwrap()
    }
}

/// Sigma of the low band removed before comparing (not recoverable).
pub const LOW_BAND_SIGMA_PX: f64 = 4.0;

/// `plane` minus its Gaussian low-pass of sigma 4 px (circular: the low
/// band near the borders is off, equally for every image compared).
pub fn high_pass(plane: &[f32], height: usize, width: usize) -> Vec<f32> {
    let plan = fft::plan(height, width);
    let mut s = plan.forward(plane);
    for (i, v) in s.iter_mut().enumerate() {
        let (ky, kx) = plan.coordinates(i);
        let signed = |k: usize, n: usize| if k > n / 2 { k as f64 - n as f64 } else { k as f64 };
        let wy = std::f64::consts::TAU * signed(ky, height) / height as f64;
        let wx = std::f64::consts::TAU * kx as f64 / width as f64;
        let low = (-0.5 * LOW_BAND_SIGMA_PX.powi(2) * (wx * wx + wy * wy)).exp();
        *v *= Complex32::new((1.0 - low) as f32, 0.0);
    }
    plan.inverse(&s)
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// PSNR (dB) of `estimate` against `source` after removing the low band from
/// both and fitting the estimate's gain by least squares, over all planes.
pub fn band_psnr(estimate: &Image, source: &Image) -> f64 {
    let (mut error, mut count) = (0.0, 0usize);
    for (e, s) in estimate.planes.iter().zip(&source.planes) {
        let e = high_pass(e, source.height, source.width);
        let s = high_pass(s, source.height, source.width);
        let gain = dot(&e, &s) / dot(&e, &e).max(1e-30);
        error += e
            .iter()
            .zip(&s)
            .map(|(x, y)| (gain * *x as f64 - *y as f64).powi(2))
            .sum::<f64>();
        count += s.len();
    }
    10.0 * (count as f64 / error).log10()
}

/// Correlation of the high-passed `layer` with the high-passed `other` source.
pub fn crosstalk(layer: &Image, other: &Image) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (a, b) in layer.planes.iter().zip(&other.planes) {
        let a = high_pass(a, other.height, other.width);
        let b = high_pass(b, other.height, other.width);
        ab += dot(&a, &b);
        aa += dot(&a, &a);
        bb += dot(&b, &b);
    }
    (ab / (aa * bb).sqrt()).abs()
}
