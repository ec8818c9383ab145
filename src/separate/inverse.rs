//! Inverts the 2x2 convolutive mixture over the whole image: per frequency,
//! W = A^-1 with A = [[1, a12], [a21, 1]], regularized where det A -> 0.
//!
//! With the exact A, adj(A) A = det(A) I, so the regularized inverse
//! adj(A) conj(det) / (|det|^2 + delta^2) attenuates the low frequencies it
//! cannot recover but mixes no crosstalk into them. delta^2 is the output's
//! noise-to-signal ratio (Wiener's choice): the noise, estimated per plane,
//! over the source power, a radial average of the mixtures' spectra; with a
//! floor, so errors in the fitted blur are not amplified without bound.
//! Where det A ~ 0 (the low band both shots hold alike when g ~ 1), part of
//! the 2x2 Wiener estimate fills the band (see `COMMON_BAND_FILL`), with
//! each source's power taken from its nearest measurable detail.

use rayon::prelude::*;

use super::blur_fit::{CrossBlur, axis_transfer};
use crate::deconv::{self, Boundary, Layout};
use crate::error::Result;
use crate::fft::{self, Complex32, Fft2d};
use crate::imaging::Image;
use crate::jobs::Progress;
use crate::psf::Kernel;

/// Least regularization: where |det A| falls below this, the inverse fades
/// out whatever the signal, since a few percent of error in the fitted gains
/// would otherwise return as crosstalk amplified by 1 / |det A|.
pub const DET_REGULARIZATION: f32 = 0.01;
/// Share of the Wiener estimate kept where the layers cannot be told apart
/// (det A ~ 0, the common low band): the 2x2 Wiener inverse fills that band
/// with the sources' common part, which is its best guess in the mean
/// square but is crosstalk. 0.6 keeps the layers 5 dB above the mixtures
/// and their crosstalk under 0.06 on the test pairs (0.5 and 0.65 each
/// miss one; BENCHMARKS.md, "Two-image reflection separation").
pub const COMMON_BAND_FILL: f32 = 0.6;
/// Rings of the radial source-power average per unit of |w| / pi, and the
/// slots they take up to the spectrum's corner (|w| / pi up to sqrt 2).
const RINGS: usize = 128;
const RING_SLOTS: usize = RINGS * 3 / 2 + 1;

/// One cross term of the mixture: how mixture i holds source k != i.
#[derive(Clone, Debug)]
pub enum Transfer {
    /// A fitted Gaussian blur with its attenuation.
    Gaussian(CrossBlur),
    /// A known kernel (summing to 1) times a gain.
    Kernel { kernel: Kernel, gain: f64 },
}

impl Transfer {
    /// Pixels the blur reaches from its centre (for boundary padding).
    fn extent_px(&self) -> usize {
        match self {
            Transfer::Gaussian(b) => (3.0 * b.sigma_x_px.max(b.sigma_y_px)).ceil() as usize * 2 + 1,
            Transfer::Kernel { kernel, .. } => kernel.width.max(kernel.height),
        }
    }

    /// The transfer on the FFT domain `fft`.
    fn otf(&self, fft: &Fft2d) -> Otf {
        match self {
            Transfer::Gaussian(blur) => {
                let angular = |k: usize, n: usize| {
                    let signed = if k > n / 2 { k as f64 - n as f64 } else { k as f64 };
                    std::f64::consts::TAU * signed / n as f64
                };
                Otf::Separable {
                    along_x: (0..fft.columns)
                        .map(|kx| axis_transfer(blur.sigma_x_px, angular(kx, fft.width)) as f32)
                        .collect(),
                    along_y: (0..fft.height)
                        .map(|ky| (blur.gain * axis_transfer(blur.sigma_y_px, angular(ky, fft.height))) as f32)
                        .collect(),
                }
            }
            Transfer::Kernel { kernel, gain } => {
                let mut otf = deconv::otf(kernel, fft);
                otf.iter_mut().for_each(|v| *v *= *gain as f32);
                Otf::Full(otf)
            }
        }
    }
}

/// A transfer function on an FFT domain: a separable real one is kept as
/// two axes (a 12-megapixel domain needs no 50 MB table per cross term).
enum Otf {
    Separable { along_x: Vec<f32>, along_y: Vec<f32> },
    Full(Vec<Complex32>),
}

impl Otf {
    /// The value at frequency (ky, kx), stored index `i`.
    #[inline]
    fn at(&self, ky: usize, kx: usize, i: usize) -> Complex32 {
        match self {
            Otf::Separable { along_x, along_y } => Complex32::new(along_y[ky] * along_x[kx], 0.0),
            Otf::Full(values) => values[i],
        }
    }

    /// The value at (ky, kx) when the transfer is real and separable.
    #[inline]
    fn real_at(&self, ky: usize, kx: usize) -> Option<f32> {
        match self {
            Otf::Separable { along_x, along_y } => Some(along_y[ky] * along_x[kx]),
            Otf::Full(_) => None,
        }
    }
}

/// The two layers of mixtures `m1`, `m2` (same size and channels) given
/// both cross terms. `shift_px` = (dx, dy) moves `m2` onto `m1`'s grid
/// (sub-pixel, as a phase ramp). Cost: four FFTs per colour channel.
pub fn unmix(
    m1: &Image,
    m2: &Image,
    t12: &Transfer,
    t21: &Transfer,
    shift_px: (f64, f64),
    progress: &dyn Progress,
) -> Result<[Image; 2]> {
    unmix_filled(m1, m2, t12, t21, shift_px, COMMON_BAND_FILL, progress)
}

/// [`unmix`] with the common band filled by `common_band_fill` of the
/// Wiener estimate (0: the crosstalk-free inverse alone).
pub(super) fn unmix_filled(
    m1: &Image,
    m2: &Image,
    t12: &Transfer,
    t21: &Transfer,
    shift_px: (f64, f64),
    common_band_fill: f32,
    progress: &dyn Progress,
) -> Result<[Image; 2]> {
    let (h, w) = (m1.height, m1.width);
    let extent = t12.extent_px().max(t21.extent_px());
    let periodic = deconv::looks_periodic(&m1.planes, h, w) && deconv::looks_periodic(&m2.planes, h, w);
    let boundary = if periodic {
        Boundary::Periodic
    } else {
        Boundary::Reflect
    };
    let layout = Layout::new(boundary, h, w, extent.min(h), extent.min(w));
    let fft = fft::plan(layout.height, layout.width);
    let a12 = t12.otf(&fft);
    let a21 = t21.otf(&fft);
    let ramp = phase_ramp(&fft, shift_px);
    let ring = ring_index(&fft);
    let mut first = Vec::with_capacity(m1.channels());
    let mut second = Vec::with_capacity(m1.channels());
    let channels = m1.channels();
    let mut plane1 = vec![0.0f32; layout.height * layout.width];
    let mut plane2 = vec![0.0f32; layout.height * layout.width];
    for (c, (p1, p2)) in m1.planes.iter().zip(&m2.planes).enumerate() {
        progress.step("Unmixing", c as f32 / channels as f32)?;
        let mut s1 = fft.forward(&layout.pad(p1));
        let mut s2 = fft.forward(&layout.pad(p2));
        let noise = [p1, p2].iter().map(|p| noise_variance(p, h, w)).sum::<f64>() / 2.0;
        // E|N(w)|^2 of an unnormalized transform.
        let noise_power = (noise * (layout.height * layout.width) as f64) as f32;
        let source_power = ring_power(&s1, &s2, &ring, noise_power);
        let columns = fft.columns;
        let share = if common_band_fill > 0.0 {
            source_shares(&s1, &s2, ramp.as_deref(), &a12, &a21, &ring, noise_power, columns)
        } else {
            vec![0.5; RING_SLOTS]
        };
        let powers = |i: usize| {
            let r = share[ring[i] as usize];
            [2.0 * r, 2.0 * (1.0 - r)]
        };
        s1.par_chunks_mut(columns)
            .zip(s2.par_chunks_mut(columns))
            .enumerate()
            .for_each(|(ky, (row1, row2))| {
                for (kx, (x1, x2)) in row1.iter_mut().zip(row2.iter_mut()).enumerate() {
                    let i = ky * columns + kx;
                    let y2 = match &ramp {
                        Some(r) => *x2 * r[i],
                        None => *x2,
                    };
                    let nsr = noise_power / source_power[ring[i] as usize];
                    // The mean is a level, not detail: fill it entirely.
                    let fill = if i == 0 { 1.0 } else { common_band_fill };
                    let floor = DET_REGULARIZATION * DET_REGULARIZATION;
                    (*x1, *x2) = match (a12.real_at(ky, kx), a21.real_at(ky, kx)) {
                        (Some(a), Some(b)) => {
                            let r = [(nsr * (1.0 + a * a)).max(floor), (nsr * (1.0 + b * b)).max(floor)];
                            unmix_frequency_real(*x1, y2, a, b, r, fill, powers(i))
                        }
                        _ => {
                            let (a, b) = (a12.at(ky, kx, i), a21.at(ky, kx, i));
                            let r = [
                                (nsr * (1.0 + a.norm_sqr())).max(floor),
                                (nsr * (1.0 + b.norm_sqr())).max(floor),
                            ];
                            unmix_frequency(*x1, y2, a, b, r, fill, powers(i))
                        }
                    };
                }
            });
        fft.inverse_destroying(&mut s1, &mut plane1);
        fft.inverse_destroying(&mut s2, &mut plane2);
        first.push(layout.crop(&plane1));
        second.push(layout.crop(&plane2));
    }
    progress.step("Unmixing", 1.0)?;
    let layer = |planes| Image {
        width: w,
        height: h,
        planes,
        alpha: m1.alpha.clone(),
    };
    Ok([layer(first), layer(second)])
}

/// Side of the central crop the noise is measured on (the estimate needs
/// no more, and its cost then does not grow with the image).
const NOISE_SIDE: usize = 1024;

/// Noise variance of a `height x width` plane, from its central crop.
/// The finest wavelet band's reading, not the patch estimate: on these sharp
/// shots it includes fine detail, and the inverse's regularization was
/// tuned with it (with the lower patch estimate the tested pairs lose 0.6-4.8
/// dB over the mixture).
fn noise_variance(plane: &[f32], height: usize, width: usize) -> f64 {
    let (h, w) = (height.min(NOISE_SIDE), width.min(NOISE_SIDE));
    let (top, left) = ((height - h) / 2, (width - w) / 2);
    let crop: Vec<f32> = (0..h * w)
        .map(|i| plane[(top + i / w) * width + left + i % w])
        .collect();
    deconv::wavelet_noise_sigma(&crop, h, w).powi(2)
}

/// The two layers at one frequency from mixtures m1, m2 and the cross
/// transfers a12, a21, with noise-to-signal ratios `r` per output: the
/// crosstalk-free inverse adj(A) conj(det) / (|det|^2 + r), moved by `fill`
/// towards the 2x2 Wiener inverse P A^H (A P A^H + r I)^-1, P = diag(`powers`)
/// the sources' powers relative to their mean.
fn unmix_frequency(
    m1: Complex32,
    m2: Complex32,
    a12: Complex32,
    a21: Complex32,
    r: [f32; 2],
    fill: f32,
    powers: [f32; 2],
) -> (Complex32, Complex32) {
    let one = Complex32::new(1.0, 0.0);
    let det = one - a12 * a21;
    let exact1 = (m1 - a12 * m2) * (det.conj() / (det.norm_sqr() + r[0]));
    let exact2 = (m2 - a21 * m1) * (det.conj() / (det.norm_sqr() + r[1]));
    if fill == 0.0 {
        return (exact1, exact2);
    }
    let q = r[0].min(r[1]);
    let [p1, p2] = powers;
    // G = A P A^H + q I for A = [[1, a12], [a21, 1]], P = diag(p1, p2).
    let g00 = one * (p1 + p2 * a12.norm_sqr() + q);
    let g01 = a21.conj() * p1 + a12 * p2;
    let g11 = one * (p1 * a21.norm_sqr() + p2 + q);
    let g_det = g00 * g11 - g01 * g01.conj();
    if g_det.norm_sqr() == 0.0 {
        return (exact1, exact2);
    }
    let y1 = (g11 * m1 - g01 * m2) / g_det;
    let y2 = (g00 * m2 - g01.conj() * m1) / g_det;
    let wiener1 = (y1 + a21.conj() * y2) * p1;
    let wiener2 = (a12.conj() * y1 + y2) * p2;
    (exact1 + (wiener1 - exact1) * fill, exact2 + (wiener2 - exact2) * fill)
}

/// [`unmix_frequency`] for real transfers (zero-phase blurs): the same
/// solve in real arithmetic, about a third of the work.
fn unmix_frequency_real(
    m1: Complex32,
    m2: Complex32,
    a12: f32,
    a21: f32,
    r: [f32; 2],
    fill: f32,
    powers: [f32; 2],
) -> (Complex32, Complex32) {
    let det = 1.0 - a12 * a21;
    let exact1 = (m1 - m2 * a12) * (det / (det * det + r[0]));
    let exact2 = (m2 - m1 * a21) * (det / (det * det + r[1]));
    if fill == 0.0 {
        return (exact1, exact2);
    }
    let q = r[0].min(r[1]);
    let [p1, p2] = powers;
    let (g00, g01, g11) = (p1 + p2 * a12 * a12 + q, a21 * p1 + a12 * p2, p1 * a21 * a21 + p2 + q);
    let g_det = g00 * g11 - g01 * g01;
    if g_det == 0.0 {
        return (exact1, exact2);
    }
    let y1 = (m1 * g11 - m2 * g01) / g_det;
    let y2 = (m2 * g00 - m1 * g01) / g_det;
    let wiener1 = (y1 + y2 * a21) * p1;
    let wiener2 = (y1 * a12 + y2) * p2;
    (exact1 + (wiener1 - exact1) * fill, exact2 + (wiener2 - exact2) * fill)
}

/// Where |det A| is at least this, the exact inverse measures each
/// source's power well (noise amplified at most about tenfold).
const RELIABLE_DET: f32 = 0.3;
/// Rings with fewer well-measured frequencies than this borrow the share of
/// the lowest measured rings, pooled until they hold `POOLED_SAMPLES`.
const MIN_RING_SAMPLES: usize = 16;
const POOLED_SAMPLES: usize = 512;
/// Frequencies visited for the shares, about, and rows per parallel task.
const SHARE_SAMPLES: usize = 1 << 20;
const SHARE_ROWS_PER_TASK: usize = 32;

/// Per ring, layer 1's share p1 / (p1 + p2) of the two sources' power: where
/// the exact inverse is well conditioned, measured on its output less the
/// noise it amplifies; below those rings (the common band, where the two
/// shots hold the sources alike), the share of the lowest measured rings.
/// The 2x2 Wiener estimate then splits the common band as the sources'
/// nearest measurable detail does instead of half and half.
#[allow(clippy::too_many_arguments)]
fn source_shares(
    s1: &[Complex32],
    s2: &[Complex32],
    ramp: Option<&[Complex32]>,
    a12: &Otf,
    a21: &Otf,
    ring: &[u16],
    noise_power: f32,
    columns: usize,
) -> Vec<f32> {
    // Every `stride`-th row is enough for ring averages; the cost then
    // stops growing with the image.
    let stride = (s1.len() / SHARE_SAMPLES).max(1);
    let rows: Vec<usize> = (0..s1.len() / columns).step_by(stride).collect();
    // Partial sums over fixed groups of rows, added in order: the shares
    // do not vary from run to run.
    let partial: Vec<(Vec<[f64; 2]>, Vec<usize>)> = rows
        .par_chunks(SHARE_ROWS_PER_TASK)
        .map(|group| {
            let mut sum = vec![[0.0f64; 2]; RING_SLOTS];
            let mut count = vec![0usize; RING_SLOTS];
            for &ky in group {
                for kx in 0..columns {
                    let i = ky * columns + kx;
                    let (a, b) = (a12.at(ky, kx, i), a21.at(ky, kx, i));
                    let det = Complex32::new(1.0, 0.0) - a * b;
                    let det_power = det.norm_sqr();
                    if det_power < RELIABLE_DET * RELIABLE_DET {
                        continue;
                    }
                    let y2 = ramp.map_or(s2[i], |r| s2[i] * r[i]);
                    let e1 = (s1[i] - a * y2) / det;
                    let e2 = (y2 - b * s1[i]) / det;
                    let r = ring[i] as usize;
                    sum[r][0] += (e1.norm_sqr() - noise_power * (1.0 + a.norm_sqr()) / det_power) as f64;
                    sum[r][1] += (e2.norm_sqr() - noise_power * (1.0 + b.norm_sqr()) / det_power) as f64;
                    count[r] += 1;
                }
            }
            (sum, count)
        })
        .collect();
    let mut sum = vec![[0.0f64; 2]; RING_SLOTS];
    let mut count = vec![0usize; RING_SLOTS];
    for (s, c) in partial {
        for r in 0..RING_SLOTS {
            sum[r] = [sum[r][0] + s[r][0], sum[r][1] + s[r][1]];
            count[r] += c[r];
        }
    }
    let share_of = |[p1, p2]: [f64; 2]| {
        let (p1, p2) = (p1.max(0.0), p2.max(0.0));
        if p1 + p2 > 0.0 { (p1 / (p1 + p2)) as f32 } else { 0.5 }
    };
    let measured = |r: usize| count[r] >= MIN_RING_SAMPLES;
    let Some(lowest) = (0..RING_SLOTS).find(|&r| measured(r)) else {
        return vec![0.5; RING_SLOTS];
    };
    let (mut pooled, mut samples) = ([0.0f64; 2], 0usize);
    for r in (lowest..RING_SLOTS).filter(|&r| measured(r)) {
        if samples >= POOLED_SAMPLES {
            break;
        }
        pooled = [pooled[0] + sum[r][0], pooled[1] + sum[r][1]];
        samples += count[r];
    }
    let common = share_of(pooled);
    (0..RING_SLOTS)
        .map(|r| {
            if r > lowest && measured(r) {
                share_of(sum[r])
            } else {
                common
            }
        })
        .collect()
}

/// Per stored frequency, its ring of radius |w| / pi in RINGS steps.
fn ring_index(fft: &Fft2d) -> Vec<u16> {
    let signed = |k: usize, n: usize| if k > n / 2 { k as f64 - n as f64 } else { k as f64 };
    (0..fft.spectrum_len())
        .map(|i| {
            let (ky, kx) = fft.coordinates(i);
            let r = (2.0 * signed(ky, fft.height) / fft.height as f64).hypot(2.0 * kx as f64 / fft.width as f64);
            ((r * RINGS as f64) as usize).min(RING_SLOTS - 1) as u16
        })
        .collect()
}

/// Mean source power per ring: the mixtures' mean power less the noise's
/// (each mixture holds about one source's power where the other is blurred
/// away, and about two where it is not: an over-estimate there is harmless).
fn ring_power(s1: &[Complex32], s2: &[Complex32], ring: &[u16], noise_power: f32) -> Vec<f32> {
    let (sum, count) = s1
        .par_chunks(1 << 16)
        .zip(s2.par_chunks(1 << 16))
        .zip(ring.par_chunks(1 << 16))
        .fold(
            || (vec![0.0f64; RING_SLOTS], vec![0usize; RING_SLOTS]),
            |(mut sum, mut count), ((a, b), r)| {
                for ((a, b), &r) in a.iter().zip(b).zip(r) {
                    sum[r as usize] += 0.5 * (a.norm_sqr() + b.norm_sqr()) as f64;
                    count[r as usize] += 1;
                }
                (sum, count)
            },
        )
        .reduce(
            || (vec![0.0f64; RING_SLOTS], vec![0usize; RING_SLOTS]),
            |(mut sum, mut count), (s, c)| {
                sum.iter_mut().zip(s).for_each(|(a, b)| *a += b);
                count.iter_mut().zip(c).for_each(|(a, b)| *a += b);
                (sum, count)
            },
        );
    sum.iter()
        .zip(&count)
        .map(|(s, &c)| {
            let mean = if c > 0 { (s / c as f64) as f32 } else { 0.0 };
            // Never below a thousandth of the noise, never zero: the noise-to-
            // signal ratio stays finite.
            (mean - noise_power).max(noise_power * 1e-3).max(f32::MIN_POSITIVE)
        })
        .collect()
}

/// exp(-i (wx dx + wy dy)) per stored frequency: a translation by (dx, dy) px,
/// or `None` for no shift.
fn phase_ramp(fft: &Fft2d, (dx, dy): (f64, f64)) -> Option<Vec<Complex32>> {
    if dx == 0.0 && dy == 0.0 {
        return None;
    }
    let signed = |k: usize, n: usize| if k > n / 2 { k as f64 - n as f64 } else { k as f64 };
    let mut out = vec![Complex32::default(); fft.spectrum_len()];
    out.par_chunks_mut(fft.columns).enumerate().for_each(|(ky, row)| {
        let wy = std::f64::consts::TAU * signed(ky, fft.height) / fft.height as f64;
        for (kx, o) in row.iter_mut().enumerate() {
            let wx = std::f64::consts::TAU * kx as f64 / fft.width as f64;
            let phase = -(wx * dx + wy * dy);
            *o = Complex32::new(phase.cos() as f32, phase.sin() as f32);
        }
    });
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Silent;
    use crate::psf::PsfSpec;

    /// A periodic test plane (whole periods across the frame).
    fn periodic(height: usize, width: usize, phase: f32) -> Vec<f32> {
        let tau = std::f32::consts::TAU;
        (0..height * width)
            .map(|i| {
                let (y, x) = ((i / width) as f32 / height as f32, (i % width) as f32 / width as f32);
                0.5 + 0.2 * (tau * (3.0 * x + 2.0 * y) + phase).sin()
                    + 0.1 * (tau * 11.0 * x + phase).cos()
                    + 0.1 * (tau * (17.0 * y - 5.0 * x)).sin()
            })
            .collect()
    }

    fn circular_blur(plane: &[f32], kernel: &Kernel, gain: f32, fft: &Fft2d) -> Vec<f32> {
        let otf = deconv::otf(kernel, fft);
        let mut s = fft.forward(plane);
        s.iter_mut().zip(&otf).for_each(|(v, o)| *v = *v * *o * gain);
        fft.inverse(&s)
    }

    #[test]
    fn the_exact_transfers_return_the_sources_when_the_mixture_is_invertible() {
        let (h, w) = (64, 96);
        let fft = fft::plan(h, w);
        let s1 = periodic(h, w, 0.3);
        let s2 = periodic(h, w, 1.9);
        let k12: Kernel = "gaussian:sx=1.5,sy=3".parse::<PsfSpec>().unwrap().kernel().unwrap();
        let k21: Kernel = "gaussian:sx=3,sy=1.5".parse::<PsfSpec>().unwrap().kernel().unwrap();
        // g = 0.5: det A >= 0.75 everywhere, so nothing is regularized away.
        let b2 = circular_blur(&s2, &k12, 0.5, &fft);
        let b1 = circular_blur(&s1, &k21, 0.5, &fft);
        let m1 = Image::gray(w, h, s1.iter().zip(&b2).map(|(a, b)| a + b).collect());
        let m2 = Image::gray(w, h, s2.iter().zip(&b1).map(|(a, b)| a + b).collect());
        let t = |kernel: Kernel| Transfer::Kernel { kernel, gain: 0.5 };
        let [l1, l2] = unmix(&m1, &m2, &t(k12), &t(k21), (0.0, 0.0), &Silent).unwrap();
        for (layer, source) in [(&l1.planes[0], &s1), (&l2.planes[0], &s2)] {
            let worst = layer
                .iter()
                .zip(source)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 2e-3, "largest error {worst}");
        }
    }
}
