//! Two-image semi-reflection separation ("Efficient separation of
//! convolutive image mixtures", ICA 2006, with the fit improved).
//!
//! Two shots through glass, each focused on one layer, are convolutive
//! mixtures m1 = s1 + a12 * s2, m2 = a21 * s1 + s2, with a12, a21 attenuated
//! defocus blurs. The pipeline: register the shots (phase correlation),
//! take a bounded crop of their luminance, transform it with a short-time
//! Fourier transform so each frequency channel is an instantaneous 2x2
//! mixture, separate every channel by sparse ICA (relative Newton), rank the
//! channels by how much sparser they became, fit an attenuated Gaussian per
//! cross term to the measured gains with the window's smoothing modelled,
//! grow the window with the fitted blur, refine the fit by separating what
//! it leaves, and invert the whole image with the fitted transfers.
//! Estimation cost does not grow with image size; the inverse is four FFTs
//! per colour channel.

mod blur_fit;
mod ica;
mod inverse;
mod ranking;
mod registration;
mod stft;

use rayon::prelude::*;

pub use blur_fit::CrossBlur;
pub use inverse::{Transfer, unmix};
use registration::{Registration, Size};

use crate::error::{Error, Result};
use crate::imaging::Image;
use crate::jobs::{Progress, Silent};

/// Options of a separation.
#[derive(Clone, Debug, Default)]
pub struct SeparateOptions {
    /// STFT window side in pixels; `None` chooses it from the fitted blur.
    pub window: Option<usize>,
}

/// What the separation found.
#[derive(Clone, Debug)]
pub struct Report {
    /// How M1 holds layer 2 (a12) and M2 holds layer 1 (a21).
    pub blur_12: CrossBlur,
    pub blur_21: CrossBlur,
    /// STFT window side used for the final fit, in pixels.
    pub window: usize,
    /// Translation (dx, dy) px applied to M2 to align it with M1.
    pub shift_px: (f64, f64),
    /// Channels that entered each fit.
    pub channels_used: [usize; 2],
}

impl std::fmt::Display for Report {
    /// One line of `key=value` pairs (what `unblur separate --report` prints).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "window={} shift_x={:.2} shift_y={:.2} gain12={:.3} sigma12_x={:.3} sigma12_y={:.3} \
             gain21={:.3} sigma21_x={:.3} sigma21_y={:.3}",
            self.window,
            self.shift_px.0,
            self.shift_px.1,
            self.blur_12.gain,
            self.blur_12.sigma_x_px,
            self.blur_12.sigma_y_px,
            self.blur_21.gain,
            self.blur_21.sigma_x_px,
            self.blur_21.sigma_y_px
        )
    }
}

/// The two layers (each of the inputs' size, in M1's frame) and the report.
#[derive(Clone, Debug)]
pub struct Separation {
    /// Layer 1: in focus in M1; layer 2: in focus in M2.
    pub layers: [Image; 2],
    pub report: Report,
}

/// Where each phase's progress lies in the whole job's [0, 1] (start, span),
/// roughly in proportion to their time.
struct Phases {
    registration: (f32, f32),
    first_look: (f32, f32),
    final_pass: (f32, f32),
    refinement: (f32, f32),
    unmixing: (f32, f32),
}

const PHASES: Phases = Phases {
    registration: (0.0, 0.05),
    first_look: (0.05, 0.1),
    final_pass: (0.15, 0.25),
    refinement: (0.4, 0.25),
    unmixing: (0.65, 0.35),
};

/// One phase of a longer job: its fractions map into its share of the whole.
struct Phase<'a> {
    whole: &'a dyn Progress,
    start: f32,
    span: f32,
}

impl<'a> Phase<'a> {
    fn new(whole: &'a dyn Progress, (start, span): (f32, f32)) -> Self {
        Phase { whole, start, span }
    }
}

impl Progress for Phase<'_> {
    fn report(&self, stage: &str, fraction: f32) {
        self.whole
            .report(stage, self.start + self.span * fraction.clamp(0.0, 1.0));
    }

    fn is_cancelled(&self) -> bool {
        self.whole.is_cancelled()
    }
}

/// Side of the square crop the blur is estimated on: big enough for
/// thousands of STFT samples per channel, bounded so estimation cost does
/// not grow with the image.
const ESTIMATION_SIDE: usize = 512;
/// Window sides tried, and the window needed per pixel of blur width: the
/// measurable band (gain above a few percent) must span several channels.
const WINDOWS: [usize; 7] = [16, 24, 32, 48, 64, 96, 128];
const WINDOW_PER_SIGMA: f64 = 20.0;
/// First window, before any blur is known (a sparse look).
const FIRST_WINDOW: usize = 32;
/// Windows per crop side at least (enough patches per channel).
const PATCHES_PER_SIDE: usize = 3;
/// Channels whose separation did not make them sparser by at least this
/// much (ranking score above it) do not enter the fit.
const RANK_LIMIT: f64 = 0.995;

/// Separates the pair of shots `m1` (focused on layer 1) and `m2` (focused on
/// layer 2): registration, estimation on a bounded crop, then the inverse.
/// The layers have M1's size and frame. Runs on the calling thread (rayon
/// inside); reports progress and stops with `Error::Cancelled` when asked.
pub fn separate_pair(m1: &Image, m2: &Image, options: &SeparateOptions, progress: &dyn Progress) -> Result<Separation> {
    check_pair(m1, m2)?;
    let size1 = Size {
        height: m1.height,
        width: m1.width,
    };
    let size2 = Size {
        height: m2.height,
        width: m2.width,
    };
    let lum1 = luminance(m1);
    let lum2 = luminance(m2);
    check_not_blank(&lum1, "M1")?;
    check_not_blank(&lum2, "M2")?;
    Phase::new(progress, PHASES.registration).step("Registering", 0.0)?;
    let registration = registration::register(&lum1, size1, &lum2, size2)?;
    let ((ix, iy), rest_px) = registration.split();
    let framed = if size1 == size2 && ix == 0 && iy == 0 {
        None
    } else {
        Some(m2.map_planes(|p| registration.frame(p, size1, size2)))
    };
    let m2 = framed.as_ref().unwrap_or(m2);
    let lum2 = match &framed {
        Some(_) => luminance(m2),
        None => lum2,
    };
    check_not_identical(&lum1, &lum2)?;
    let overlap = registration.overlap(size1, size2);
    let (c1, c2, ch, cw) = registration.estimation_crops(&lum1, &lum2, m1.width, overlap, ESTIMATION_SIDE);
    let (blur_12, blur_21, window, channels_used) = estimate(&c1, &c2, ch, cw, options, progress)?;
    let (t12, t21) = (Transfer::Gaussian(blur_12), Transfer::Gaussian(blur_21));
    let unmixing = Phase::new(progress, PHASES.unmixing);
    let layers = unmix_overlap(m1, m2, overlap, &t12, &t21, rest_px, &unmixing)?;
    if layers.iter().flat_map(|l| &l.planes).flatten().any(|v| !v.is_finite()) {
        return Err(Error::Other("separation produced non-finite values".into()));
    }
    Ok(Separation {
        layers,
        report: Report {
            blur_12,
            blur_21,
            window,
            shift_px: registration.shift_px,
            channels_used,
        },
    })
}

/// The layers of `m1` and the framed `m2` (M1's size), unmixed only where
/// both shots hold data (`overlap`: top, left, bottom, right), reflected
/// borders there as for any photo, then extended to M1's frame by their edge
/// pixels: M2's made-up border would otherwise leak into the low band
/// everywhere.
fn unmix_overlap(
    m1: &Image,
    m2: &Image,
    overlap: (usize, usize, usize, usize),
    t12: &Transfer,
    t21: &Transfer,
    rest_px: (f64, f64),
    progress: &dyn Progress,
) -> Result<[Image; 2]> {
    if overlap == (0, 0, m1.height, m1.width) {
        return unmix(m1, m2, t12, t21, rest_px, progress);
    }
    let (top, left, bottom, right) = overlap;
    let frame = Size {
        height: m1.height,
        width: m1.width,
    };
    let inner = Size {
        height: bottom - top,
        width: right - left,
    };
    let cut = |image: &Image| Image {
        width: inner.width,
        height: inner.height,
        planes: image
            .planes
            .iter()
            .map(|p| {
                (0..inner.height * inner.width)
                    .map(|i| p[(top + i / inner.width) * frame.width + left + i % inner.width])
                    .collect()
            })
            .collect(),
        alpha: None,
    };
    let placed = Registration {
        shift_px: (left as f64, top as f64),
    };
    Ok(
        unmix(&cut(m1), &cut(m2), t12, t21, rest_px, progress)?.map(|layer| Image {
            width: frame.width,
            height: frame.height,
            planes: layer.planes.iter().map(|p| placed.frame(p, frame, inner)).collect(),
            alpha: m1.alpha.clone(),
        }),
    )
}

/// Shots whose aligned luminance differs by less than this RMS, relative to
/// the detail they hold, are one image (nothing tells the layers apart).
const IDENTICAL_RELATIVE_RMS: f64 = 1e-3;

fn check_not_identical(lum1: &[f32], lum2: &[f32]) -> Result<()> {
    let difference = lum1
        .par_iter()
        .zip(lum2)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        / lum1.len() as f64;
    let (_, spread) = mean_and_spread(lum1);
    if difference.sqrt() <= IDENTICAL_RELATIVE_RMS * spread {
        return Err(Error::bad_parameter(
            "M1 and M2 are the same image: separation needs two shots focused on different layers",
        ));
    }
    Ok(())
}

fn check_pair(m1: &Image, m2: &Image) -> Result<()> {
    if m1.channels() != m2.channels() {
        return Err(Error::bad_parameter(format!(
            "M1 has {} colour channels but M2 has {}: both shots must be gray or both colour",
            m1.channels(),
            m2.channels()
        )));
    }
    for (name, image) in [("M1", m1), ("M2", m2)] {
        if image.width < 32 || image.height < 32 {
            return Err(Error::bad_parameter(format!(
                "{name} is {}x{}: separation needs at least 32x32 pixels",
                image.width, image.height
            )));
        }
        if image.planes.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::bad_parameter(format!("{name} holds non-finite values")));
        }
    }
    Ok(())
}

/// The mean of the colour planes.
fn luminance(image: &Image) -> Vec<f32> {
    if image.channels() == 1 {
        return image.planes[0].clone();
    }
    let scale = 1.0 / image.channels() as f32;
    let mut out = vec![0.0f32; image.pixel_count()];
    out.par_iter_mut().enumerate().for_each(|(i, v)| {
        *v = image.planes.iter().map(|p| p[i]).sum::<f32>() * scale;
    });
    out
}

/// Relative standard deviation below which an image counts as blank.
const BLANK_CONTRAST: f64 = 1e-4;

/// Mean and standard deviation of a plane.
fn mean_and_spread(plane: &[f32]) -> (f64, f64) {
    let n = plane.len() as f64;
    let mean = plane.par_iter().map(|&v| v as f64).sum::<f64>() / n;
    let variance = plane.par_iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

fn check_not_blank(plane: &[f32], name: &str) -> Result<()> {
    let (mean, spread) = mean_and_spread(plane);
    if spread <= BLANK_CONTRAST * mean.abs().max(1.0) {
        return Err(Error::bad_parameter(format!(
            "{name} is blank (uniform): nothing to separate"
        )));
    }
    Ok(())
}

/// Estimates both cross blurs from aligned luminance crops `c1`, `c2`
/// (`height x width`): (blur_12, blur_21, window, channels used per fit).
fn estimate(
    c1: &[f32],
    c2: &[f32],
    height: usize,
    width: usize,
    options: &SeparateOptions,
    progress: &dyn Progress,
) -> Result<(CrossBlur, CrossBlur, usize, [usize; 2])> {
    let largest = (height.min(width) - 1) / PATCHES_PER_SIDE;
    type Fits = Option<(CrossBlur, CrossBlur, [usize; 2])>;
    let fits = |window: usize, hop: usize, bins, phase: &dyn Progress| -> Result<Fits> {
        let (m12, m21) = measure(c1, c2, height, width, window, hop, bins, Pass::Fit, phase)?;
        Ok(fit_both(&m12, &m21, window))
    };
    let chosen = options.window;
    if let Some(window) = chosen
        && (window < 8 || window >= height.min(width))
    {
        return Err(Error::bad_parameter(format!(
            "--window {window}: must be at least 8 and below the images' smaller side ({})",
            height.min(width)
        )));
    }
    // A sparse first look (half-window hop) on a modest window finds the
    // blur's size; the final pass uses the window it needs, densely, on
    // the channels where either blur's gain is measurable.
    let first_window = chosen.unwrap_or(FIRST_WINDOW.min(largest.max(WINDOWS[0])));
    let first_look = Phase::new(progress, PHASES.first_look);
    let Some((b12, b21, _)) = fits(
        first_window,
        first_window / 2,
        stft::all_bins(first_window),
        &first_look,
    )?
    else {
        return Err(Error::bad_parameter(
            "the two images do not separate: no frequency channel shows two independent layers",
        ));
    };
    let sigma = [b12.sigma_x_px, b12.sigma_y_px, b21.sigma_x_px, b21.sigma_y_px]
        .into_iter()
        .fold(0.0f64, f64::max);
    let window = chosen.unwrap_or_else(|| {
        WINDOWS
            .iter()
            .copied()
            .find(|&w| w as f64 >= WINDOW_PER_SIGMA * sigma)
            .unwrap_or(WINDOWS[WINDOWS.len() - 1])
            .min(largest.max(WINDOWS[0]))
    });
    let bins = measurable_bins(window, &[b12, b21]);
    let found = fits(
        window,
        dense_hop(window),
        bins,
        &Phase::new(progress, PHASES.final_pass),
    )?;
    let Some((mut blur_12, mut blur_21, mut channels_used)) = found else {
        return Err(Error::bad_parameter(
            "the two images do not separate: no frequency channel shows two independent layers",
        ));
    };
    let bins = measurable_bins(window, &[blur_12, blur_21]);
    let refining = Phase::new(progress, PHASES.refinement);
    if let Some((b12, b21, used)) = refine(c1, c2, height, width, window, bins, blur_12, blur_21, &refining)? {
        (blur_12, blur_21, channels_used) = (b12, b21, used);
    }
    Ok((blur_12, blur_21, window, channels_used))
}

/// Refits the blurs from what they leave. The crops unmixed exactly (no
/// fill) with the fitted transfers hold a residual mixture R = A_fit^-1 A,
/// near the identity and far from singular. On the original mixtures the
/// channel ICA's gains come out 1-3% low where A is nearly singular (the
/// window's footprint residual, amplified by 1 / det A), which the 0.06
/// crosstalk bar cannot afford; on R it measures the small off-diagonal
/// terms without that amplification. Each channel's measurement becomes
/// the fitted model's (window smoothing included) plus the change that
/// A = A_fit R makes to the cross gain. The residual channels are no
/// sparser than their inputs, so they are not ranked.
#[allow(clippy::too_many_arguments)]
fn refine(
    c1: &[f32],
    c2: &[f32],
    height: usize,
    width: usize,
    window: usize,
    bins: Vec<(i32, i32)>,
    blur_12: CrossBlur,
    blur_21: CrossBlur,
    progress: &dyn Progress,
) -> Result<Option<(CrossBlur, CrossBlur, [usize; 2])>> {
    let image = |plane: &[f32]| Image::gray(width, height, plane.to_vec());
    let [u1, u2] = inverse::unmix_filled(
        &image(c1),
        &image(c2),
        &Transfer::Gaussian(blur_12),
        &Transfer::Gaussian(blur_21),
        (0.0, 0.0),
        0.0,
        &Silent,
    )?;
    let (residual_12, residual_21) = measure(
        &u1.planes[0],
        &u2.planes[0],
        height,
        width,
        window,
        dense_hop(window),
        bins,
        Pass::Refinement,
        progress,
    )?;
    let model_12 = blur_fit::as_measured(&blur_12, window);
    let model_21 = blur_fit::as_measured(&blur_21, window);
    let angular = |k: i32| std::f64::consts::TAU * k as f64 / window as f64;
    let mut m12 = Vec::new();
    let mut m21 = Vec::new();
    for (r12, r21) in residual_12.iter().zip(&residual_21) {
        let (wx, wy) = (angular(r12.kx), angular(r12.ky));
        let (a, b) = (blur_12.transfer(wx, wy), blur_21.transfer(wx, wy));
        // A = A_fit R with unit diagonals: a12 = (r12 + a) / (1 + b r12);
        // d12 is its derivative in r12, for the variance.
        let composed_12 = (r12.gain + a) / (1.0 + b * r12.gain);
        let composed_21 = (r21.gain + b) / (1.0 + a * r21.gain);
        let d12 = (1.0 - a * b) / (1.0 + b * r12.gain).powi(2);
        let d21 = (1.0 - a * b) / (1.0 + a * r21.gain).powi(2);
        m12.push(blur_fit::Measurement {
            gain: model_12(r12.ky, r12.kx) + composed_12 - a,
            variance: r12.variance * d12 * d12,
            ..*r12
        });
        m21.push(blur_fit::Measurement {
            gain: model_21(r21.ky, r21.kx) + composed_21 - b,
            variance: r21.variance * d21 * d21,
            ..*r21
        });
    }
    Ok(fit_both(&m12, &m21, window))
}

/// Both cross blurs fitted, with the channels each used; `None` unless both fit.
fn fit_both(
    m12: &[blur_fit::Measurement],
    m21: &[blur_fit::Measurement],
    window: usize,
) -> Option<(CrossBlur, CrossBlur, [usize; 2])> {
    match (blur_fit::fit(m12, window), blur_fit::fit(m21, window)) {
        (Some((b12, n12)), Some((b21, n21))) => Some((b12, b21, [n12, n21])),
        _ => None,
    }
}

/// The hop of the final and refining passes: a quarter window, so each
/// channel holds enough samples for its ICA.
fn dense_hop(window: usize) -> usize {
    (window / 4).max(1)
}

/// Gains below this (at the channel's bin, less the window's footprint)
/// tell the fit nothing new: such channels are not separated.
const MEASURABLE_GAIN: f64 = 0.01;
/// Bins of the window's spectral footprint on each side (Hann: 2).
const FOOTPRINT_BINS: f64 = 2.0;

/// The channels of a `window`-sided STFT where either blur's gain, as a rough
/// first fit predicts it, is measurable.
fn measurable_bins(window: usize, blurs: &[CrossBlur]) -> Vec<(i32, i32)> {
    let angular = |k: i32| std::f64::consts::TAU * (k.abs() as f64 - FOOTPRINT_BINS).max(0.0) / window as f64;
    stft::all_bins(window)
        .into_iter()
        .filter(|&(ky, kx)| {
            blurs
                .iter()
                .any(|b| b.transfer(angular(kx), angular(ky)) >= MEASURABLE_GAIN * b.gain.max(0.1))
        })
        .collect()
}

/// What a measurement pass is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// On the mixtures: only channels the separation made sparser count.
    Fit,
    /// On the residual of a fit, whose channels are nearly separated already.
    Refinement,
}

impl Pass {
    fn stage(self, window: usize) -> String {
        match self {
            Pass::Fit => format!("Separating ({window} px)"),
            Pass::Refinement => format!("Refining the fit ({window} px)"),
        }
    }
}

/// Per-channel gains of both cross terms from a `window`-sided STFT of the
/// crops' differences, a patch every `hop` pixels, on the channels `bins`.
#[allow(clippy::too_many_arguments)]
fn measure(
    c1: &[f32],
    c2: &[f32],
    height: usize,
    width: usize,
    window: usize,
    hop: usize,
    bins: Vec<(i32, i32)>,
    pass: Pass,
    progress: &dyn Progress,
) -> Result<(Vec<blur_fit::Measurement>, Vec<blur_fit::Measurement>)> {
    progress.step("Transforming", 0.0)?;
    let (dx1, dy1) = stft::differences(c1, height, width);
    let (dx2, dy2) = stft::differences(c2, height, width);
    let channels = stft::transform(&[(&dx1, &dx2), (&dy1, &dy2)], height - 1, width - 1, window, hop, bins);
    const BATCHES: usize = 16;
    let per_batch = channels.bins.len().div_ceil(BATCHES);
    let mut m12 = Vec::new();
    let mut m21 = Vec::new();
    for (b, range) in (0..channels.bins.len()).step_by(per_batch.max(1)).enumerate() {
        progress.step(&pass.stage(window), b as f32 / BATCHES as f32)?;
        let end = (range + per_batch).min(channels.bins.len());
        let found: Vec<_> = (range..end)
            .into_par_iter()
            .filter_map(|c| {
                let (x1, x2) = channels.channel(c);
                let unmixing = ica::separate_channel(x1, x2)?;
                if pass == Pass::Fit && ranking::score(x1, x2, unmixing.matrix) > RANK_LIMIT {
                    return None;
                }
                let gains = unmixing.cross_gains()?;
                let (ky, kx) = channels.bins[c];
                Some((
                    blur_fit::Measurement {
                        ky,
                        kx,
                        gain: gains.a12,
                        variance: gains.a12_variance,
                    },
                    blur_fit::Measurement {
                        ky,
                        kx,
                        gain: gains.a21,
                        variance: gains.a21_variance,
                    },
                ))
            })
            .collect();
        for (a, b) in found {
            m12.push(a);
            m21.push(b);
        }
    }
    Ok((m12, m21))
}
