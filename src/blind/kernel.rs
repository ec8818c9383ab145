//! Free-form kernel estimation, coarse to fine.
//!
//! At each pyramid level (kernel sides 3, 5, 7, 9, 13, ... up to the
//! requested size, the image shrunk in proportion) a few rounds alternate the
//! L0 image step (`latent`) and the kernel step (`kernel_step`); the kernel
//! grows to the next level as its starting point. The L0 weight decays over
//! the rounds so that the latent image keeps finer edges as the kernel
//! sharpens (Pan et al. 2014's schedule).
//!
//! The outcome can hinge on the support size on textured images, so a
//! second estimate is made on a smaller support, grown back to the full
//! one (both at once, on the two cores a desktop has at least), and the L0
//! objective decides between the two (with a margin). On clean images the
//! chosen kernel gets a last step from a richer latent image.

use super::input::{self, Plane, Region};
use super::latent::{self, Level};
use super::parametric::{self, ParametricModel};
use super::{kernel_step, pyramid};
use crate::error::{Error, Result};
use crate::imaging::Image;
use crate::jobs::{CancelOnly, Progress, Silent};
use crate::psf::{Kernel, PsfSpec};
use std::sync::Mutex;

/// What to estimate.
#[derive(Clone, Debug, Default)]
pub struct KernelOptions {
    /// Side of the square kernel in pixels (odd; an even size is raised by
    /// one). `None`: suggested from the image (see [`suggest_kernel_size`]).
    pub kernel_size: Option<usize>,
    /// The part of the image to estimate from (a textured region works
    /// best); `None`: the whole image, or its centre when it is large.
    pub region: Option<Region>,
}

/// An estimated kernel.
#[derive(Clone, Debug)]
pub struct KernelEstimate {
    /// The kernel, non-negative, summing to 1, centred on the middle of its
    /// extent (see `kernel_step::centre_on_extent`).
    pub kernel: Kernel,
    /// The side it was estimated with.
    pub size: usize,
    /// True when the size was suggested rather than given.
    pub size_suggested: bool,
    /// Problems with the input that may make the estimate poor.
    pub warnings: Vec<String>,
}

/// Smallest and largest kernel sides accepted.
pub const MIN_KERNEL_SIZE: usize = 3;
pub const MAX_KERNEL_SIZE: usize = 201;
/// The image must be at least this many kernel sides across (the estimate
/// needs many more edges than the kernel has pixels).
const MIN_SIDES_ACROSS: usize = 3;
/// Images below this side are refused outright.
const MIN_SIDE: usize = 32;
/// Larger images are estimated on a central crop of this side: more area
/// adds little to the estimate and costs time in proportion.
const MAX_WORKING_SIDE: usize = 1024;
/// Rounds of image and kernel steps per level; the two finest levels, which
/// cost most of the time, start from a kernel that is nearly right (2 rounds
/// there instead of 3 saved a third of their time and gave lower error
/// ratios on most shared cases).
const ROUNDS_PER_LEVEL: usize = 5;
const ROUNDS_FINE_LEVELS: usize = 2;
/// The L0 weight starts at this multiple of the image's mean squared
/// gradient, so that the same share of edges survives in soft and in
/// contrasty, textured or noisy images (Pan et al. use a fixed 4e-3 for
/// images in [0, 1]; 33x the mean gave the best results on the shared cases,
/// about 0.03 on most of them). It decays per round to the floor.
const LAMBDA_PER_GRADIENT_ENERGY: f32 = 33.0;
const LAMBDA_DECAY: f32 = 1.1;
const LAMBDA_FLOOR: f32 = 1e-4;

/// Estimates a free-form blur kernel from `image` (linear light; colour is
/// reduced to luminance). Progress: stage "kernel NxN" (the level's
/// kernel size), once per round of each level; cancel is honoured there.
pub fn estimate_kernel(image: &Image, options: &KernelOptions, progress: &dyn Progress) -> Result<KernelEstimate> {
    let region = options
        .region
        .or_else(|| input::central_region(image, MAX_WORKING_SIDE));
    let (plane, mut warnings) = input::luminance(image, region, MIN_SIDE)?;
    let plane = stretched(plane);
    // The parametric fits serve both the suggestion and the second
    // estimate's cap: made once.
    let fitted = std::cell::OnceCell::new();
    let parametric = || *fitted.get_or_init(|| parametric_size(&plane));
    let (size, size_suggested) = match options.kernel_size {
        Some(n) => (checked_size(n, &plane)?, false),
        None => {
            progress.step("suggesting a size", 0.0)?;
            (suggest_for(&plane, parametric, progress)?, true)
        }
    };
    // A support much larger than the blur is where the first estimate
    // fails most (on textured images), so the second is no larger than the
    // parametric fits' extent.
    let second = second_size(size).map(|side| parametric().map_or(side, |extent| side.min(extent)));
    let kernel = match second {
        None => estimate_on(&plane, size, progress)?.0,
        Some(side) => {
            // The two run at once: the pyramids' small levels leave a core
            // idle, and together they took 1.83 s instead of 2.24 s on the
            // 2-core benchmark.
            let halves = Halves::new(progress);
            let (first, second) = rayon::join(
                || estimate_on(&plane, size, &halves.half(0, "")),
                || estimate_grown(&plane, side, size, &halves.half(1, "second estimate, ")),
            );
            let (first, second) = (first?.0, second?);
            // Both scored on the same crop; the second estimate is made on
            // the whole plane, like the first: made on the crop, it would
            // fit the crop better and be preferred for that alone.
            let crop = central_crop(&plane, CHECK_SIDE.max(MIN_SIDES_ACROSS * size));
            if objective(&crop, &second, size) < (1.0 - SECOND_ESTIMATE_MARGIN) * objective(&crop, &first, size) {
                second
            } else {
                first
            }
        }
    };
    let kernel = if noise_sigma(&plane) < REFINE_MAX_NOISE {
        progress.step("last kernel step", 1.0)?;
        refined(&plane, kernel, size)
    } else {
        kernel
    };
    if size_suggested && mass_extent(&kernel, size, FILLED_TAIL) + FILLED_MARGIN >= size {
        warnings.push(FILLED_WARNING.to_string());
    }
    // Centred to a fraction of a pixel only at the end: during estimation
    // the interpolation would smooth the kernel at every round.
    let data = kernel_step::centre_on_extent(&kernel, size);
    let weights = data.iter().map(|v| *v as f64).collect();
    Ok(KernelEstimate {
        kernel: Kernel::from_weights(size, size, weights)?,
        size,
        size_suggested,
        warnings,
    })
}

/// An odd kernel side within range and small enough for the image.
fn checked_size(n: usize, plane: &Plane) -> Result<usize> {
    if !(MIN_KERNEL_SIZE..=MAX_KERNEL_SIZE).contains(&n) {
        return Err(Error::bad_parameter(format!(
            "kernel size must be between {MIN_KERNEL_SIZE} and {MAX_KERNEL_SIZE} pixels, got {n}"
        )));
    }
    let side = n | 1;
    let smaller = plane.width.min(plane.height);
    if side * MIN_SIDES_ACROSS > smaller {
        return Err(Error::bad_parameter(format!(
            "kernel size {side} is too large for a {}x{} image (at most {})",
            plane.width,
            plane.height,
            (smaller / MIN_SIDES_ACROSS).saturating_sub(1) | 1
        )));
    }
    Ok(side)
}

/// Suggests a kernel side for `image`: the extent of a quick free-form
/// estimate on the image shrunk so that the largest support considered
/// becomes `PROBE_SIDE` pixels, with a margin. Parametric fits make a poor
/// suggestion for camera shake (a 31 px trajectory fits as a short blur),
/// and a support cut shorter than the blur ruins the estimate.
pub fn suggest_kernel_size(image: &Image, progress: &dyn Progress) -> Result<usize> {
    progress.step("suggesting a size", 0.0)?;
    let (plane, _) = input::luminance(image, input::central_region(image, MAX_WORKING_SIDE), MIN_SIDE)?;
    let plane = stretched(plane);
    let size = suggest_for(&plane, || parametric_size(&plane), progress)?;
    progress.report("suggesting a size", 1.0);
    Ok(size)
}

/// The quick estimate's kernel side.
const PROBE_SIDE: usize = 25;
/// A kernel reaching within this many pixels of its support's side filled
/// it. The quick estimate did on the shared brick image for 9 of 13 blurs
/// and reached at most 17 of 25 on the other images.
const FILLED_MARGIN: usize = 2;
/// A finished kernel is measured without this share of its mass at each
/// end of each axis: the suggestion fits its support closely, and faint
/// specks at the edges do not make a kernel fill it. On the 124 cases of
/// the shared set, its variants and `tools/oos_cases.py`, the warning then
/// fell on 11: 6 failed estimates (error ratio above 3, on brick and rocket
/// stripes), 1 at 2.5 and 4 good ones (at most 2) on rocket and text;
/// measured whole, it fell on 20, 13 of them good.
const FILLED_TAIL: f64 = 0.02;
/// The suggestion measures the quick estimate without this share of its
/// mass at each end of each axis: at a probe's coarse scale, faint specks
/// of texture read as blur stretch the box around the non-zero values. Out
/// of sample (BENCHMARKS.md, `tools/oos_cases.py`) shares 0.02, 0.05, 0.08
/// and 0.1 gave 36, 41, 42 and 41 of 72 results with an error ratio of at
/// most 2 (the true kernel's result's squared error, doubled), against 33
/// for the whole box; 0.05 did best on the shared cases' variants (31 of
/// 40).
const PROBE_TAIL: f64 = 0.05;
/// The largest suggestion: at least this, or a ninth of the image's
/// smaller side (large photos are blurred over more pixels).
const MIN_LARGEST_SUGGESTION: usize = 61;
const LARGEST_SUGGESTION_SHARE: usize = 9;
/// The suggestion covers the quick estimate's extent times this, plus
/// `SUGGESTED_PADDING` pixels, and is at least `MIN_SUGGESTED_SIZE`.
const SUGGESTED_MARGIN: f64 = 1.1;
const SUGGESTED_PADDING: f64 = 4.0;
const MIN_SUGGESTED_SIZE: usize = 15;

/// The suggestion for `plane`; `parametric` gives the parametric fits'
/// extent, used when the quick estimate fills its support. The quick
/// estimate honours `progress`'s cancel but reports nothing: its fractions
/// would run ahead of the main estimate's.
fn suggest_for(plane: &Plane, parametric: impl Fn() -> Option<usize>, progress: &dyn Progress) -> Result<usize> {
    let smaller = plane.width.min(plane.height);
    let limit = (smaller / MIN_SIDES_ACROSS).saturating_sub(1) | 1;
    if limit < MIN_KERNEL_SIZE {
        return Err(Error::bad_parameter(format!(
            "{}x{} pixels are too few to estimate a kernel from",
            plane.width, plane.height
        )));
    }
    let largest = (smaller / LARGEST_SUGGESTION_SHARE)
        .max(MIN_LARGEST_SUGGESTION)
        .min(limit)
        | 1;
    let extent = if largest <= PROBE_SIDE {
        largest as f64
    } else {
        let scale = PROBE_SIDE as f64 / largest as f64;
        let across = PROBE_SIDE * MIN_SIDES_ACROSS;
        let shrunk = pyramid::resize_plane(
            plane,
            ((plane.width as f64 * scale).round() as usize).max(across),
            ((plane.height as f64 * scale).round() as usize).max(across),
        );
        let (kernel, _) = estimate_on(&shrunk, PROBE_SIDE, &CancelOnly(progress))?;
        let covered = footprint(&kernel, PROBE_SIDE);
        if covered >= PROBE_SIDE - FILLED_MARGIN {
            // Nothing bounded the probe: a blur beyond the largest support,
            // or (far more often) a texture of parallel stripes read as
            // blur, where a large support derails the estimate.
            return Ok(parametric().unwrap_or(largest).min(largest) | 1);
        }
        mass_extent(&kernel, PROBE_SIDE, PROBE_TAIL) as f64 / scale
    };
    let wanted = (extent * SUGGESTED_MARGIN + SUGGESTED_PADDING).ceil() as usize;
    Ok(wanted.max(MIN_SUGGESTED_SIZE).min(largest) | 1)
}

/// Told when a kernel on a suggested support reaches its edges: the
/// suggestion leaves room around the blur it saw, so an estimate that
/// fills it has most likely read texture as blur. On the shared cases and
/// their variants that happened only on the brick wall, whose parallel
/// mortar lines read as blur, and only on estimates that failed.
const FILLED_WARNING: &str = "the kernel fills its whole suggested support, which usually means texture \
     (parallel stripes) was read as blur: the result may be worse than the input; \
     give the kernel size, or estimate on a part without stripes";

/// The longer side of the box around a (non-negative) kernel's non-zero
/// values.
fn footprint(kernel: &[f32], side: usize) -> usize {
    mass_extent(kernel, side, 0.0)
}

/// The longer side of the box left when `tail` of a kernel's mass is cut
/// from each end of each axis (never more than that share); 0 for a kernel
/// without mass.
fn mass_extent(kernel: &[f32], side: usize, tail: f64) -> usize {
    let span = |marginal: &[f64]| {
        let (mut low, mut dropped) = (0, 0.0);
        while low + 1 < side && dropped + marginal[low] <= tail {
            dropped += marginal[low];
            low += 1;
        }
        let (mut high, mut dropped) = (side - 1, 0.0);
        while high > low && dropped + marginal[high] <= tail {
            dropped += marginal[high];
            high -= 1;
        }
        high + 1 - low
    };
    kernel_step::marginals(kernel, side).map_or(0, |[rows, columns]| span(&rows).max(span(&columns)))
}

/// The parametric fits' extent: of the best-fitting blur (disk, Gaussian or
/// motion), times `PARAMETRIC_MARGIN`, at least `MIN_PARAMETRIC_SIZE`. It
/// caps the second estimate's support: on images of parallel stripes a
/// support much larger than the blur derails the estimate, and the fits
/// see stripes as blur less often than free-form estimates do.
const PARAMETRIC_MARGIN: f64 = 1.5;
const MIN_PARAMETRIC_SIZE: usize = 25;

fn parametric_size(plane: &Plane) -> Option<usize> {
    if plane.width.min(plane.height) < parametric::MIN_SIDE {
        return None;
    }
    let image = Image::gray(plane.width, plane.height, plane.data.clone());
    let mut best: Option<(f64, f64)> = None;
    for model in [
        ParametricModel::Disk,
        ParametricModel::Gaussian,
        ParametricModel::Motion,
    ] {
        let Ok(fit) = parametric::estimate_parametric(&image, model, &Silent) else {
            continue;
        };
        let extent = match fit.spec {
            PsfSpec::Disk { radius_px, .. } => 2.0 * radius_px + 1.0,
            PsfSpec::Gaussian { sigma_x_px, .. } => 6.0 * sigma_x_px + 1.0,
            PsfSpec::Motion { length_px, .. } => length_px + 1.0,
            PsfSpec::File(_) => 0.0,
        };
        if best.is_none_or(|(residual, _)| fit.residual < residual) {
            best = Some((fit.residual, extent));
        }
    }
    best.map(|(_, extent)| ((extent * PARAMETRIC_MARGIN).ceil() as usize).max(MIN_PARAMETRIC_SIZE) | 1)
}

/// Percentiles mapped to 0 and 1 before estimation, so that the image step's
/// fixed splitting schedule (`latent::BETA_MAX`) meets the same contrast in
/// dark and bright, flat and contrasty images.
const STRETCH_PERCENTILES: (f64, f64) = (0.01, 0.99);

/// The plane with its contrast range mapped to [0, 1] (a linear map: the
/// blur model is unchanged).
fn stretched(mut plane: Plane) -> Plane {
    let mut sorted = plane.data.clone();
    sorted.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    let (low, high) = (at(STRETCH_PERCENTILES.0), at(STRETCH_PERCENTILES.1));
    let range = if high > low { high - low } else { 1.0 };
    plane.data.iter_mut().for_each(|v| *v = (*v - low) / range);
    plane
}

/// Mean of |grad|^2 (forward differences) over the plane.
fn mean_gradient_energy(plane: &Plane) -> f32 {
    let (w, h) = (plane.width, plane.height);
    let mut sum = 0.0f64;
    for y in 0..h - 1 {
        let (row, below) = (&plane.data[y * w..(y + 1) * w], &plane.data[(y + 1) * w..(y + 2) * w]);
        for x in 0..w - 1 {
            let (a, b) = (row[x + 1] - row[x], below[x] - row[x]);
            sum += (a * a + b * b) as f64;
        }
    }
    (sum / ((w - 1) * (h - 1)) as f64) as f32
}

/// The L0 weight the schedule starts at on `plane` (see
/// `LAMBDA_PER_GRADIENT_ENERGY`); the objective and the last step use
/// shares of it.
fn starting_lambda(plane: &Plane) -> f32 {
    LAMBDA_PER_GRADIENT_ENERGY * mean_gradient_energy(plane)
}

/// The coarse-to-fine estimate on a gray plane: `size x size` weights, and
/// the L0 weight the schedule ended at.
fn estimate_on(plane: &Plane, size: usize, progress: &dyn Progress) -> Result<(Vec<f32>, f32)> {
    let sides = pyramid::kernel_sides(size);
    // Work per level grows with its area; progress follows it.
    let areas: Vec<f64> = sides.iter().map(|s| (*s as f64 / size as f64).powi(2)).collect();
    let total: f64 = areas.iter().sum();
    let mut done = 0.0;
    let mut kernel = vec![0.0f32; 9];
    kernel[4] = 1.0;
    let mut previous_side = 3;
    let mut lambda = starting_lambda(plane);
    for (level_index, &side) in sides.iter().enumerate() {
        let scale = side as f64 / size as f64;
        let width = ((plane.width as f64 * scale).round() as usize).max(side * 2);
        let height = ((plane.height as f64 * scale).round() as usize).max(side * 2);
        let shrunk = pyramid::resize_plane(plane, width.min(plane.width), height.min(plane.height));
        let level = Level::new(&shrunk.data, shrunk.width, shrunk.height, side);
        kernel = pyramid::resize_kernel(&kernel, previous_side, side);
        previous_side = side;
        let stage = format!("kernel {side}x{side}");
        let rounds = if level_index + 2 >= sides.len() && sides.len() > 2 {
            ROUNDS_FINE_LEVELS
        } else {
            ROUNDS_PER_LEVEL
        };
        for round in 0..rounds {
            let latent = level.latent(&kernel, side, lambda);
            kernel = kernel_step::estimate(&level, &latent, side);
            lambda = (lambda / LAMBDA_DECAY).max(LAMBDA_FLOOR);
            let fraction = (done + areas[level_index] * (round + 1) as f64 / rounds as f64) / total;
            progress.step(&stage, fraction as f32)?;
        }
        done += areas[level_index];
    }
    Ok((kernel, lambda))
}

/// On a clean image the finished kernel gets one more kernel step, from a
/// latent image with a much lighter L0 weight (this share of the starting
/// one) and a lighter ridge than the schedule's: the latent then keeps the
/// fine edges that pin a shake's thin strokes down, and the ridge smooths
/// them less. On the shared astronaut shake_2 clean case the error ratio
/// went 2.18 -> 1.91 (kernel error 0.057 -> 0.044); on noisy images the
/// light latent holds noise and the low ridge lets it into the kernel
/// (ratios up by 3-30% on the noisy variants), hence the noise gate.
const REFINE_LAMBDA_SHARE: f32 = 0.01;
const REFINE_RIDGE: f64 = 0.1;
/// Images whose estimated noise (on the stretched plane, where the shared
/// clean cases measure 0.0009-0.0052 and the noisy ones 0.0085-0.044) is
/// below this get the last step.
const REFINE_MAX_NOISE: f64 = 0.0075;

fn noise_sigma(plane: &Plane) -> f64 {
    crate::deconv::estimate_noise_sigma(&plane.data, plane.height, plane.width)
}

/// `kernel` after the last kernel step (see `REFINE_LAMBDA_SHARE`).
fn refined(plane: &Plane, kernel: Vec<f32>, size: usize) -> Vec<f32> {
    let lambda = REFINE_LAMBDA_SHARE * starting_lambda(plane);
    let level = Level::new(&plane.data, plane.width, plane.height, size);
    let latent = level.latent(&kernel, size, lambda);
    kernel_step::estimate_with_ridge(&level, &latent, size, REFINE_RIDGE)
}

/// Kernels of at least `MIN_SIZE_FOR_SECOND_ESTIMATE` get a second
/// estimate on a support `SECOND_SIZE_RATIO` as large (rounded to odd),
/// grown back to the full one by a round there, and the L0 objective picks
/// one. The alternation's result can change much with the support size on
/// textured images (on the shared brick cases, from a good kernel to a
/// result far below the blurred input), and the objective ranks those
/// outcomes as the image quality does; see BENCHMARKS.md, "Blind
/// estimation".
const SECOND_SIZE_RATIO: f64 = 0.7;
const MIN_SIZE_FOR_SECOND_ESTIMATE: usize = 15;
/// The second estimate replaces the first only when its objective is lower
/// by this share. On 104 case and support pairs (the 12 shared cases and
/// 40 variants, each at the true side + 4 and at the suggested side), where
/// the second was much the better it scored 2-31% lower (brick blurs on
/// oversized supports); where it was much the worse (mostly clean 31 px
/// shakes cut by its smaller support) it scored between 0.6% lower and 4%
/// higher.
const SECOND_ESTIMATE_MARGIN: f64 = 0.05;

/// The support of the second estimate, if `size` gets one.
fn second_size(size: usize) -> Option<usize> {
    (size >= MIN_SIZE_FOR_SECOND_ESTIMATE).then(|| (size as f64 * SECOND_SIZE_RATIO).round() as usize | 1)
}

/// An estimate on a `side x side` support, embedded in a `size x size` one
/// and given a round there, where a tail the smaller support cut off can
/// grow back.
fn estimate_grown(plane: &Plane, side: usize, size: usize, progress: &dyn Progress) -> Result<Vec<f32>> {
    let (kernel, lambda) = estimate_on(plane, side, progress)?;
    let level = Level::new(&plane.data, plane.width, plane.height, size);
    let latent = level.latent(&embedded(&kernel, side, size), size, lambda);
    let kernel = kernel_step::estimate(&level, &latent, size);
    progress.step(&format!("kernel {size}x{size}"), 1.0)?;
    Ok(kernel)
}

/// A `side x side` kernel centred in a `size x size` support (`side <= size`).
fn embedded(kernel: &[f32], side: usize, size: usize) -> Vec<f32> {
    let offset = (size - side) / 2;
    let mut out = vec![0.0f32; size * size];
    for r in 0..side {
        out[(r + offset) * size + offset..][..side].copy_from_slice(&kernel[r * side..][..side]);
    }
    out
}

/// The objective's L0 weight, as a share of the schedule's starting weight.
/// At the starting weight the latent image keeps so few edges that a kernel
/// cut short by a small support fits them about as well as the whole one:
/// on 9 of the 14 pairs above where the second estimate was much the worse
/// it scored lower, by up to 5% (camera shake5R clean, 39 px, took it at
/// error ratio 5.79 against 1.48). At 0.03, near where the schedule ends,
/// 2 of the 14 scored lower, by under 1%. A share of 0.1 chose as well on
/// the variants but took the worse of two failed estimates on the brick
/// shake_5 case, below the blurred input.
const OBJECTIVE_LAMBDA_SHARE: f32 = 0.03;

/// The L0 objective `||k * x - y||^2 + lambda ||grad x||_0` of a finished
/// kernel, with x its L0 latent image for lambda, over the plane's interior
/// (where the blur model holds). Lower is better.
fn objective(plane: &Plane, kernel: &[f32], size: usize) -> f64 {
    let lambda = OBJECTIVE_LAMBDA_SHARE * starting_lambda(plane);
    let level = Level::new(&plane.data, plane.width, plane.height, size);
    let x = level.latent(kernel, size, lambda);
    let predicted = level.blurred(&x, kernel, size);
    let (w, layout) = (level.fft.width, &level.layout);
    let inset = size / 2 + 1;
    let rows = layout.top + inset..layout.top + layout.image_height.saturating_sub(inset);
    let columns = layout.left + inset..layout.left + layout.image_width.saturating_sub(inset);
    // The latent step keeps a gradient where |grad x|^2 >= lambda / beta;
    // at its last beta, the kept ones are what the L0 term counts.
    let kept = lambda / latent::BETA_MAX;
    let (mut residual, mut edges) = (0.0f64, 0usize);
    for y in rows {
        for i in columns.clone().map(|c| y * w + c) {
            residual += ((predicted[i] - level.observed[i]) as f64).powi(2);
            let (gx, gy) = (x[i + 1] - x[i], x[i + w] - x[i]);
            if gx * gx + gy * gy >= kept {
                edges += 1;
            }
        }
    }
    residual + lambda as f64 * edges as f64
}

/// The objectives are measured on a central crop of at most this side (or
/// three kernel sides; more than the shared cases' 512 px): each costs an
/// L0 latent image.
const CHECK_SIDE: usize = 600;

/// The centre of `plane`, at most `side` pixels each way.
fn central_crop(plane: &Plane, side: usize) -> Plane {
    let Region {
        left,
        top,
        width,
        height,
    } = input::centred_region(plane.width, plane.height, side);
    let data = (top..top + height)
        .flat_map(|y| &plane.data[y * plane.width + left..][..width])
        .copied()
        .collect();
    Plane { width, height, data }
}

/// Progress of two halves of the work running at once: the whole has done
/// the mean of their fractions. Reports are serialized, so the whole's
/// fraction never goes back.
struct Halves<'a> {
    outer: &'a dyn Progress,
    done: Mutex<[f32; 2]>,
}

impl<'a> Halves<'a> {
    fn new(outer: &'a dyn Progress) -> Self {
        Halves {
            outer,
            done: Mutex::new([0.0; 2]),
        }
    }

    /// Half `index`, its stages named with `prefix`.
    fn half(&'a self, index: usize, prefix: &'static str) -> Half<'a> {
        Half {
            halves: self,
            index,
            prefix,
        }
    }
}

struct Half<'a> {
    halves: &'a Halves<'a>,
    index: usize,
    prefix: &'static str,
}

impl Progress for Half<'_> {
    fn report(&self, stage: &str, fraction: f32) {
        let mut done = self.halves.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        done[self.index] = done[self.index].max(fraction);
        let whole = 0.5 * (done[0] + done[1]);
        self.halves.outer.report(&format!("{}{stage}", self.prefix), whole);
    }
    fn is_cancelled(&self) -> bool {
        self.halves.outer.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The centre `side x side` of a square kernel, renormalized.
    fn cut(kernel: &[f32], from: usize, side: usize) -> Vec<f32> {
        let offset = (from - side) / 2;
        let mut out: Vec<f32> = (0..side * side)
            .map(|n| kernel[(n / side + offset) * from + n % side + offset])
            .collect();
        let sum: f32 = out.iter().sum();
        out.iter_mut().for_each(|v| *v /= sum);
        out
    }

    /// The objective must tell a kernel cut short by the second estimate's
    /// smaller support from the whole one: on a clean 31 px shake, the
    /// shake cut to 25 px has to score clearly worse (54.1 whole, 56.7 cut).
    /// At the schedule's starting L0 weight they scored within 1.1% (882.1,
    /// 891.6), the latent image keeping too few edges to show the missing
    /// tail.
    #[test]
    fn a_shake_cut_short_scores_worse_than_the_whole_one() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let (image, _) = crate::imaging::load_stored(&data.join("images/camera.png"), 100.0).unwrap();
        let sharp = Plane {
            width: image.width,
            height: image.height,
            data: image.planes[0].clone(),
        };
        let shake = Kernel::from_file(&data.join("kernels/shake_5.png")).unwrap();
        let side = shake.width;
        // A quarter turn, so the test is not on the shared case's own blur.
        let turned: Vec<f32> = (0..side * side)
            .map(|n| shake.data[(n % side) * side + side - 1 - n / side])
            .collect();
        // Blurred by the estimator's own forward model (periodic, on the
        // mirrored padding), with seeded noise of sigma 0.001.
        let level = Level::new(&sharp.data, sharp.width, sharp.height, side);
        let noise = crate::separate_single::canvas::normal_noise(12345, 0, sharp.data.len(), 0.001);
        let blurred = level
            .layout
            .crop(&level.blurred(&level.observed, &turned, side))
            .into_iter()
            .zip(noise)
            .map(|(v, n)| (v + n).clamp(0.0, 1.0))
            .collect();
        let plane = stretched(Plane { data: blurred, ..sharp });
        let support = 39;
        let whole = embedded(&turned, side, support);
        let short = embedded(&cut(&turned, side, 25), 25, support);
        let crop = central_crop(&plane, CHECK_SIDE);
        let (whole, short) = (objective(&crop, &whole, support), objective(&crop, &short, support));
        assert!(short > 1.02 * whole, "cut short {short:.1}, whole {whole:.1}");
    }

    /// A faint speck far from the blur stretches the box around the
    /// non-zero values to the whole support; the trimmed extent ignores it
    /// but keeps all of a uniform streak (its ends hold more than the tail).
    #[test]
    fn the_trimmed_extent_ignores_faint_specks() {
        let side = 25;
        let mut kernel = vec![0.0; side * side];
        (6..17).for_each(|c| kernel[12 * side + c] = 0.09);
        kernel[0] = 0.01;
        assert_eq!(footprint(&kernel, side), 17);
        assert_eq!(mass_extent(&kernel, side, PROBE_TAIL), 11);
        assert_eq!(mass_extent(&kernel, side, 0.0), 17);
    }
}
