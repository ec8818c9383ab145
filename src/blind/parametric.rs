//! Parametric blur estimation: the defocus disk's radius, the Gaussian's
//! sigma, linear motion's length and angle, from the image alone.
//!
//! The averaged power spectrum P of the image (Welch, see `spectrum`) is
//! modelled as `P(f) = a |f|^-beta |H(f)|^2 + N`: a power-law image spectrum
//! (natural images have beta near 2), the candidate blur's transfer function
//! and white noise. For each candidate PSF the three nuisance parameters
//! (a, beta, N) are fitted to log P by Gauss–Newton and the candidate scores
//! the mean squared log residual; the zero rings of a disk, the zero stripes
//! of motion and the Gaussian's roll-off each fit only near the true
//! parameters. A coarse grid finds the basin, finer grids refine it. The
//! Hann window's effect on the spectrum (a [1 4 1]/6 smoothing per axis) is
//! part of the model, so the dips are matched as they are measured.
//!
//! Cost: one Welch pass (a few hundred 128x128 or 256x256 FFTs, on a
//! downscaled-free crop of at most `MAX_PATCHES` patches) and a few thousand
//! model evaluations on a few thousand frequencies.

use rayon::prelude::*;

use super::input::{self, Region};
use super::spectrum::{self, PowerSpectrum};
use crate::error::{Error, Result};
use crate::imaging::Image;
use crate::jobs::Progress;
use crate::psf::PsfSpec;

/// Which family of PSF to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParametricModel {
    Disk,
    Gaussian,
    Motion,
}

/// A fitted PSF and how much better it explains the image than no blur.
#[derive(Clone, Debug, PartialEq)]
pub struct ParametricEstimate {
    /// The PSF with its fitted parameters (a disk, a round Gaussian or a
    /// motion segment), ready for the sliders or `spec.kernel()`.
    pub spec: PsfSpec,
    /// In [0, 1]: the share of the no-blur model's spectral misfit that the
    /// fitted PSF explains. Near 0: no blur of this kind is visible.
    pub confidence: f64,
    /// Mean squared log-spectrum residual of the fit (lower is better).
    pub residual: f64,
    /// Problems with the input that may make the estimate poor.
    pub warnings: Vec<String>,
}

/// Patch size of the coarse search's spectrum.
const COARSE_PATCH: usize = 64;
/// Images below this side have too few frequencies to fit.
pub const MIN_SIDE: usize = 64;
/// Lowest frequency ring used (in bins): the first rings hold the window's
/// leakage of the patch mean and of the image's coarse layout.
const FIRST_RING: f64 = 2.0;
/// Highest frequency used, as a fraction of the patch size (0.5 is Nyquist):
/// above it the pixel aperture and aliasing make the model crude.
const LAST_RING_FRACTION: f64 = 0.45;
/// Gauss–Newton iterations of the nuisance fit in the search and at the end.
const SEARCH_ITERATIONS: usize = 4;
const FINAL_ITERATIONS: usize = 10;
/// Range of the image spectrum's power-law exponent.
const BETA_RANGE: (f64, f64) = (0.0, 5.0);
/// Range of the log noise power (variance 1e-17 to e^5).
const LOG_NOISE_RANGE: (f64, f64) = (-40.0, 5.0);

/// Estimates the parameters of `model` from `image` (linear light; colour is
/// reduced to luminance). Works on the whole image; see
/// [`estimate_parametric_in`] for a region.
pub fn estimate_parametric(
    image: &Image,
    model: ParametricModel,
    progress: &dyn Progress,
) -> Result<ParametricEstimate> {
    estimate_parametric_in(image, None, model, progress)
}

/// As [`estimate_parametric`], on `region` of the image.
pub fn estimate_parametric_in(
    image: &Image,
    region: Option<Region>,
    model: ParametricModel,
    progress: &dyn Progress,
) -> Result<ParametricEstimate> {
    progress.step("measuring the spectrum", 0.0)?;
    let region = region.or_else(|| input::central_region(image, MAX_WORKING_SIDE));
    let (plane, warnings) = input::luminance(image, region, MIN_SIDE)?;
    let side = plane.width.min(plane.height);
    // Enough patches to average: 128-point patches from 256 pixels on, which
    // resolve blurs up to the search ranges below (radius 32, sigma 12.8,
    // length 64 pixels).
    let patch = match side {
        s if s >= 256 => 128,
        _ => 64,
    };
    let noise_sigma = crate::deconv::estimate_noise_sigma(&plane.data, plane.height, plane.width);
    // The search runs on a half-resolution spectrum, the refinement on the full one.
    let coarse = Fitter::new(&spectrum::welch(&plane, COARSE_PATCH.min(patch)), noise_sigma);
    let fine = Fitter::new(&spectrum::welch(&plane, patch), noise_sigma);
    let fits = Fits {
        coarse: &coarse,
        fine: &fine,
    };
    progress.step("fitting", 0.2)?;
    let none = fine.score(&Blur::None, FINAL_ITERATIONS, None).0;
    let (spec, residual) = match model {
        ParametricModel::Disk => {
            let max = patch as f64 / 4.0;
            let (radius, residual) = search_1d(&fits, 0.5, max, Blur::Disk, progress)?;
            (
                PsfSpec::Disk {
                    radius_px: radius,
                    feather_px: 0.0,
                },
                residual,
            )
        }
        ParametricModel::Gaussian => {
            let max = patch as f64 / 10.0;
            let (sigma, residual) = search_1d(&fits, 0.3, max, Blur::Gaussian, progress)?;
            (
                PsfSpec::Gaussian {
                    sigma_x_px: sigma,
                    sigma_y_px: sigma,
                    angle_deg: 0.0,
                },
                residual,
            )
        }
        ParametricModel::Motion => {
            let max = patch as f64 / 2.0;
            let (length, angle, residual) = search_motion(&fits, max, progress)?;
            (
                PsfSpec::Motion {
                    length_px: length,
                    angle_deg: angle,
                },
                residual,
            )
        }
    };
    progress.report("done", 1.0);
    let spec = rounded(spec);
    let confidence = if none > 0.0 {
        ((none - residual) / none).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Ok(ParametricEstimate {
        spec,
        confidence,
        residual,
        warnings,
    })
}

/// Larger images are fitted on a central square of this side: the spectrum
/// averages at most `spectrum::MAX_PATCHES` patches, which this holds.
const MAX_WORKING_SIDE: usize = 2048;

/// Parameters rounded to what a slider shows: 0.01 px and 0.1 degree.
fn rounded(spec: PsfSpec) -> PsfSpec {
    let px = |v: f64| (v * 100.0).round() / 100.0;
    let deg = |v: f64| ((v * 10.0).round() / 10.0).rem_euclid(180.0);
    match spec {
        PsfSpec::Disk { radius_px, feather_px } => PsfSpec::Disk {
            radius_px: px(radius_px),
            feather_px,
        },
        PsfSpec::Gaussian {
            sigma_x_px,
            sigma_y_px,
            angle_deg,
        } => PsfSpec::Gaussian {
            sigma_x_px: px(sigma_x_px),
            sigma_y_px: px(sigma_y_px),
            angle_deg,
        },
        PsfSpec::Motion { length_px, angle_deg } => PsfSpec::Motion {
            length_px: px(length_px),
            angle_deg: deg(angle_deg),
        },
        other => other,
    }
}

/// A candidate blur.
#[derive(Clone, Copy, Debug)]
enum Blur {
    None,
    Disk(f64),
    Gaussian(f64),
    /// Length (px) and angle (degrees).
    Motion(f64, f64),
}

impl Blur {
    /// |H(f)|^2 at frequency (fx, fy) in cycles per pixel (fx along columns,
    /// fy along rows, rows going down), without the pixel aperture.
    fn transfer_squared(&self, fx: f64, fy: f64) -> f64 {
        use std::f64::consts::PI;
        match *self {
            Blur::None => 1.0,
            Blur::Disk(radius) => {
                let t = 2.0 * PI * radius * (fx * fx + fy * fy).sqrt();
                if t < 1e-6 { 1.0 } else { (2.0 * libm::j1(t) / t).powi(2) }
            }
            Blur::Gaussian(sigma) => (-4.0 * PI * PI * sigma * sigma * (fx * fx + fy * fy)).exp(),
            Blur::Motion(length, angle_deg) => {
                // Direction (d_col, d_row) = (cos a, -sin a).
                let (sin, cos) = angle_deg.to_radians().sin_cos();
                sinc(length * (fx * cos - fy * sin)).powi(2)
            }
        }
    }
}

fn sinc(t: f64) -> f64 {
    if t.abs() < 1e-9 {
        1.0
    } else {
        let x = std::f64::consts::PI * t;
        x.sin() / x
    }
}

/// One frequency used by the fit.
struct Bin {
    /// Position in the model grid.
    grid: usize,
    log_radius: f64,
    log_power: f64,
}

/// The fitting problem: measured log power at the used frequencies, and the
/// grid on which candidate transfer functions are evaluated and smoothed.
struct Fitter {
    size: usize,
    /// Grid half-width in bins: frequencies -reach..=reach on both axes.
    reach: usize,
    /// The pixel aperture's |H|^2 on the grid.
    aperture: Vec<f64>,
    bins: Vec<Bin>,
    /// Initial nuisance parameters (log a, beta, log N).
    start: [f64; 3],
}

impl Fitter {
    fn new(power: &PowerSpectrum, noise_sigma: f64) -> Self {
        let size = power.size;
        let last = LAST_RING_FRACTION * size as f64;
        let reach = last.ceil() as usize + 1;
        let side = 2 * reach + 1;
        let mut aperture = vec![0.0; side * side];
        for gy in 0..side {
            for gx in 0..side {
                let fy = (gy as f64 - reach as f64) / size as f64;
                let fx = (gx as f64 - reach as f64) / size as f64;
                aperture[gy * side + gx] = (sinc(fx) * sinc(fy)).powi(2);
            }
        }
        let mut bins = Vec::new();
        for ky in -(reach as isize)..=reach as isize {
            for kx in 0..=reach {
                // Half plane: kx > 0, or kx == 0 with ky > 0.
                if kx == 0 && ky <= 0 {
                    continue;
                }
                let radius = ((kx * kx) as f64 + (ky * ky) as f64).sqrt();
                if radius < FIRST_RING || radius > last {
                    continue;
                }
                let p = power.at(ky, kx).max(f64::MIN_POSITIVE);
                bins.push(Bin {
                    grid: (ky + reach as isize) as usize * side + (kx + reach),
                    log_radius: (radius / size as f64).ln(),
                    log_power: p.ln(),
                });
            }
        }
        let noise = noise_sigma.max(1e-5).powi(2);
        let beta = 2.0;
        let low: Vec<&Bin> = bins
            .iter()
            .filter(|b| b.log_radius < (8.0 / size as f64).ln())
            .collect();
        let log_a = low.iter().map(|b| b.log_power + beta * b.log_radius).sum::<f64>() / low.len().max(1) as f64;
        Fitter {
            size,
            reach,
            aperture,
            bins,
            start: [log_a, beta, noise.ln()],
        }
    }

    /// The candidate's |H|^2 times the aperture on the grid, smoothed by the
    /// Hann window's [1 4 1]/6 per axis. Only the half plane kx >= 0 is
    /// evaluated (|H|^2 is symmetric: the column kx = -1 mirrors kx = 1).
    fn model_grid(&self, blur: &Blur) -> Vec<f64> {
        let side = 2 * self.reach + 1;
        let scale = 1.0 / self.size as f64;
        let mut raw = vec![0.0; side * side];
        for gy in 0..side {
            let fy = (gy as f64 - self.reach as f64) * scale;
            for gx in self.reach..side {
                let fx = (gx as f64 - self.reach as f64) * scale;
                raw[gy * side + gx] = blur.transfer_squared(fx, fy) * self.aperture[gy * side + gx];
            }
        }
        for gy in 0..side {
            raw[gy * side + self.reach - 1] = raw[(side - 1 - gy) * side + self.reach + 1];
        }
        let mut rows = vec![0.0; side * side];
        for gy in 0..side {
            for gx in self.reach..side {
                let at = |x: usize| raw[gy * side + x];
                let right = at((gx + 1).min(side - 1));
                rows[gy * side + gx] = (at(gx - 1) + 4.0 * at(gx) + right) / 6.0;
            }
        }
        for gy in 0..side {
            for gx in self.reach..side {
                let at = |y: usize| rows[y * side + gx];
                let up = at(gy.saturating_sub(1));
                let down = at((gy + 1).min(side - 1));
                raw[gy * side + gx] = (up + 4.0 * at(gy) + down) / 6.0;
            }
        }
        raw
    }

    /// Fits (log a, beta, log N) for `blur`, from `start` (or the default
    /// start), and returns the mean squared log residual and the parameters.
    fn score(&self, blur: &Blur, iterations: usize, start: Option<[f64; 3]>) -> (f64, [f64; 3]) {
        let grid = self.model_grid(blur);
        let q: Vec<f64> = self.bins.iter().map(|b| grid[b.grid].max(1e-30)).collect();
        let mut p = start.unwrap_or(self.start);
        let mut best = (f64::INFINITY, p);
        for _ in 0..=iterations {
            // Residual, cost and normal equations of the linearization at p.
            let mut jtj = [[0.0f64; 3]; 3];
            let mut jtr = [0.0f64; 3];
            let mut cost = 0.0;
            let (a, n) = (p[0].exp(), p[2].exp());
            for (bin, q) in self.bins.iter().zip(&q) {
                let s = a * (-p[1] * bin.log_radius).exp() * q;
                let total = s + n;
                let r = bin.log_power - total.ln();
                cost += r * r;
                let share = s / total;
                let j = [share, -bin.log_radius * share, n / total];
                for i in 0..3 {
                    jtr[i] += j[i] * r;
                    for k in 0..3 {
                        jtj[i][k] += j[i] * j[k];
                    }
                }
            }
            cost /= self.bins.len().max(1) as f64;
            if cost >= best.0 {
                // The step overshot: back to halfway from the best point.
                p = [
                    (p[0] + best.1[0]) / 2.0,
                    (p[1] + best.1[1]) / 2.0,
                    (p[2] + best.1[2]) / 2.0,
                ];
                continue;
            }
            best = (cost, p);
            // Levenberg damping keeps steps sane when a parameter is unobservable.
            for (i, row) in jtj.iter_mut().enumerate() {
                row[i] = row[i] * 1.001 + 1e-9;
            }
            let Some(step) = solve3(jtj, jtr) else { break };
            p = [
                p[0] + step[0],
                (p[1] + step[1]).clamp(BETA_RANGE.0, BETA_RANGE.1),
                (p[2] + step[2]).clamp(LOG_NOISE_RANGE.0, LOG_NOISE_RANGE.1),
            ];
        }
        best
    }
}

/// Solves a 3x3 system by Cramer's rule.
fn solve3(m: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if !d.is_finite() || d.abs() < 1e-300 {
        return None;
    }
    let mut out = [0.0; 3];
    for (i, value) in out.iter_mut().enumerate() {
        let mut mi = m;
        for r in 0..3 {
            mi[r][i] = b[r];
        }
        *value = det(&mi) / d;
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// The same fit at two frequency resolutions.
struct Fits<'a> {
    coarse: &'a Fitter,
    fine: &'a Fitter,
}

/// A scored candidate: residual, parameters and the fitted nuisance parameters.
type Scored<P> = (f64, P, [f64; 3]);

fn best_of<P: Copy + Send + Sync>(
    fit: &Fitter,
    candidates: &[P],
    blur: impl Fn(P) -> Blur + Sync,
    iterations: usize,
    start: Option<[f64; 3]>,
) -> Option<Scored<P>> {
    candidates
        .par_iter()
        .map(|c| {
            let (score, p) = fit.score(&blur(*c), iterations, start);
            (score, *c, p)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

/// Geometric steps of this ratio in the coarse 1D search.
const COARSE_RATIO: f64 = 1.04;

/// Best parameter of a one-parameter family in [min, max]: a geometric
/// coarse grid on the coarse spectrum, then two finer linear grids around
/// the best on the full one.
fn search_1d(
    fits: &Fits,
    min: f64,
    max: f64,
    blur: impl Fn(f64) -> Blur + Sync + Copy,
    progress: &dyn Progress,
) -> Result<(f64, f64)> {
    let mut grid = vec![min];
    while grid[grid.len() - 1] < max {
        grid.push(grid[grid.len() - 1] * COARSE_RATIO);
    }
    let (_, mut best, start) = best_of(fits.coarse, &grid, blur, SEARCH_ITERATIONS, None)
        .ok_or_else(|| Error::Other("empty search".into()))?;
    progress.step("fitting", 0.6)?;
    let mut step = best * (COARSE_RATIO - 1.0) * 2.0;
    let mut best_score = f64::INFINITY;
    for _ in 0..2 {
        let local: Vec<f64> = (-5..=5)
            .map(|i| best + i as f64 * step / 5.0)
            .filter(|v| *v >= min * 0.9)
            .collect();
        if let Some((score, value, _)) = best_of(fits.fine, &local, blur, FINAL_ITERATIONS, Some(start)) {
            (best_score, best) = (score, value);
        }
        step /= 5.0;
    }
    Ok((best, best_score))
}

/// Coarse grid of the motion search: angle step (degrees) and length ratio.
const MOTION_ANGLE_STEP: f64 = 6.0;
const MOTION_LENGTH_RATIO: f64 = 1.12;
/// Distinct coarse basins refined.
const MOTION_BASINS: usize = 2;
/// The refinement stops when its angle step falls below this (degrees).
const MOTION_FINEST_ANGLE_STEP: f64 = 0.2;

/// Best (length, angle in [0, 180), residual) of linear motion.
fn search_motion(fits: &Fits, max_length: f64, progress: &dyn Progress) -> Result<(f64, f64, f64)> {
    let mut lengths = vec![2.0];
    while lengths[lengths.len() - 1] < max_length {
        lengths.push(lengths[lengths.len() - 1] * MOTION_LENGTH_RATIO);
    }
    let angles: Vec<f64> = (0..(180.0 / MOTION_ANGLE_STEP) as usize)
        .map(|i| i as f64 * MOTION_ANGLE_STEP)
        .collect();
    // Per angle, lengths in order, each fit starting from the previous one's.
    let mut scored: Vec<Scored<(f64, f64)>> = angles
        .par_iter()
        .flat_map_iter(|&angle| {
            let mut start = None;
            lengths
                .iter()
                .map(|&length| {
                    let (score, p) = fits.coarse.score(&Blur::Motion(length, angle), 2, start);
                    start = Some(p);
                    (score, (length, angle), p)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    progress.step("fitting", 0.5)?;
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Distinct basins: skip candidates close to a better one.
    let mut basins: Vec<Scored<(f64, f64)>> = Vec::new();
    for s in scored {
        let near = |b: &Scored<(f64, f64)>| {
            let da = (s.1.1 - b.1.1).rem_euclid(180.0);
            da.min(180.0 - da) <= 2.0 * MOTION_ANGLE_STEP
                && (s.1.0 / b.1.0).ln().abs() <= 3.0 * MOTION_LENGTH_RATIO.ln()
        };
        if !basins.iter().any(near) {
            basins.push(s);
        }
        if basins.len() == MOTION_BASINS {
            break;
        }
    }
    let mut best = (f64::INFINITY, 0.0, 0.0);
    for (i, basin) in basins.iter().enumerate() {
        let (_, (mut length, mut angle), start) = *basin;
        // Pattern search on a 3x3 stencil: move to the best neighbour, or
        // halve the steps when the centre is best.
        let mut angle_step = MOTION_ANGLE_STEP / 2.0;
        let mut length_step = length * (MOTION_LENGTH_RATIO - 1.0) / 2.0;
        let mut score = f64::INFINITY;
        while angle_step >= MOTION_FINEST_ANGLE_STEP {
            let local: Vec<(f64, f64)> = (-1..=1)
                .flat_map(|i| (-1..=1).map(move |j| (length + i as f64 * length_step, angle + j as f64 * angle_step)))
                .filter(|(l, _)| *l >= 1.0)
                .collect();
            let Some((s, (l, a), _)) = best_of(
                fits.fine,
                &local,
                |(l, a)| Blur::Motion(l, a),
                SEARCH_ITERATIONS,
                Some(start),
            ) else {
                break;
            };
            if (l, a) == (length, angle) || s >= score {
                angle_step /= 2.0;
                length_step /= 2.0;
            }
            if s < score {
                (score, length, angle) = (s, l, a);
            }
        }
        if score < best.0 {
            best = (score, length, angle);
        }
        progress.step("fitting", 0.5 + 0.5 * (i + 1) as f32 / basins.len() as f32)?;
    }
    let (score, _) = fits.fine.score(&Blur::Motion(best.1, best.2), FINAL_ITERATIONS, None);
    Ok((best.1, best.2.rem_euclid(180.0), score.min(best.0)))
}
