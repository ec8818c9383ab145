//! Runs a deconvolution on the backend the caller asks for (DESIGN.md §4):
//! the GPU when asked, or under `auto` when a hardware adapter exists; the
//! CPU otherwise, and as the fallback when the GPU cannot take the job.

use std::fmt;
use std::sync::Arc;

use crate::deconv::{self, Applied, Boundary, Layout, Method, Plan, Resolved, Settings};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuDeconvolver, fft_factors};
use crate::imaging::Image;
use crate::jobs::Progress;
use crate::psf::Kernel;

/// Where the work runs (`--backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    Cpu,
    Gpu,
    /// GPU on a hardware adapter, CPU otherwise (a software adapter such as
    /// lavapipe is slower than the CPU path).
    #[default]
    Auto,
}

/// What ran the job, for the one status line.
#[derive(Clone, Debug, PartialEq)]
pub enum Used {
    Cpu,
    Gpu(String),
    /// The CPU, after the GPU could not run the job (the reason).
    CpuFallback(String),
}

impl fmt::Display for Used {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Used::Cpu => write!(f, "backend=cpu"),
            Used::Gpu(device) => write!(f, "backend=gpu ({device})"),
            Used::CpuFallback(reason) => write!(f, "backend=cpu (GPU not used: {reason})"),
        }
    }
}

/// Deconvolves on `backend`. Automatic parameters come from the CPU
/// analysis in every case, so both backends solve the same problem.
pub fn deconvolve(
    image: &Image,
    kernel: &Kernel,
    settings: &Settings,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<(Image, Applied, Used)> {
    if backend == Backend::Cpu {
        // Validates as it goes (the NaN check rides on its first pass).
        let (result, applied) = deconv::deconvolve(image, kernel, settings, progress)?;
        return Ok((result, applied, Used::Cpu));
    }
    // Bad input fails before any GPU is touched.
    deconv::validate(image, kernel, settings)?;
    let context = match GpuContext::new_headless() {
        Ok(ctx) if backend == Backend::Auto && ctx.is_software() => {
            let reason = format!("{} is a software adapter", ctx.adapter.name);
            return cpu_fallback(image, kernel, settings, progress, reason);
        }
        Ok(ctx) => ctx,
        Err(e) if backend == Backend::Auto => return cpu_fallback(image, kernel, settings, progress, e.to_string()),
        Err(e) => return Err(e),
    };
    match on_gpu(&context, image, kernel, settings, progress, context.max_binding_bytes) {
        Ok((result, applied)) => Ok((result, applied, Used::Gpu(context.description()))),
        Err(e @ (Error::BadParameter(_) | Error::BadFile { .. } | Error::Cancelled)) => Err(e),
        Err(e) if backend == Backend::Auto => cpu_fallback(image, kernel, settings, progress, e.to_string()),
        Err(e) => Err(e),
    }
}

fn cpu_fallback(
    image: &Image,
    kernel: &Kernel,
    settings: &Settings,
    progress: &dyn Progress,
    reason: String,
) -> Result<(Image, Applied, Used)> {
    let (result, applied) = deconv::deconvolve(image, kernel, settings, progress)?;
    Ok((result, applied, Used::CpuFallback(reason)))
}

/// Runs on `ctx`, in tiles when the image does not fit the device's largest
/// buffer binding (`max_binding_bytes`, the device's own limit unless a
/// caller sets a smaller one).
pub fn on_gpu(
    ctx: &Arc<GpuContext>,
    image: &Image,
    kernel: &Kernel,
    settings: &Settings,
    progress: &dyn Progress,
    max_binding_bytes: u64,
) -> Result<(Image, Applied)> {
    let boundary = deconv::resolve_boundary(image, settings.boundary);
    if boundary == Boundary::Periodic && (fft_factors(image.height).is_none() || fft_factors(image.width).is_none()) {
        return Err(Error::Other(format!(
            "periodic boundary on {}x{}: the GPU FFT needs sizes with factors 2, 3, 5 and 7 only",
            image.width, image.height
        )));
    }
    // The CPU plan chooses the automatic parameters (one FFT per channel).
    let plan = Plan::new(image, kernel, settings, progress)?;
    let applied = plan.applied(settings.method);
    let Plan { staged, resolved, .. } = plan;
    let layout = staged.layout;
    // Only its parameters are needed from here: free the CPU planes.
    drop(staged);
    let resolved = &resolved;
    let is_tv = settings.method == Method::TotalVariation;
    let fits = GpuDeconvolver::largest_binding_bytes(&layout, image.channels(), is_tv) <= max_binding_bytes;
    let result = if fits {
        run_whole(ctx, image, kernel, boundary, settings.method, resolved, progress)?
    } else if boundary == Boundary::Periodic {
        return Err(Error::Other(
            "image too large for this GPU with a periodic boundary".into(),
        ));
    } else {
        run_tiled(
            ctx,
            image,
            kernel,
            settings.method,
            resolved,
            progress,
            max_binding_bytes,
        )?
    };
    progress.report("done", 1.0);
    Ok((result, applied))
}

fn run_whole(
    ctx: &Arc<GpuContext>,
    image: &Image,
    kernel: &Kernel,
    boundary: Boundary,
    method: Method,
    resolved: &Resolved,
    progress: &dyn Progress,
) -> Result<Image> {
    let mut gpu = GpuDeconvolver::new(ctx.clone(), image, boundary, kernel.height, kernel.width)?;
    gpu.set_psf(kernel)?;
    let value = resolved.parameter.unwrap_or_default() as f32;
    gpu.set_params(method, value, resolved.iterations.unwrap_or(1), progress)?;
    gpu.read()
}

/// Context kept around each tile, beyond the kernel's own reach: the
/// deconvolution of a pixel depends on its surroundings well past the
/// kernel, so tiles overlap by several kernel sizes.
fn tile_overlap(kernel: &Kernel) -> usize {
    8 * kernel.height.max(kernel.width) + 64
}

/// Deconvolves tiles with overlapping context (reflect-padded at their own
/// edges) and keeps each tile's core.
fn run_tiled(
    ctx: &Arc<GpuContext>,
    image: &Image,
    kernel: &Kernel,
    method: Method,
    resolved: &Resolved,
    progress: &dyn Progress,
    max_binding_bytes: u64,
) -> Result<Image> {
    let overlap = tile_overlap(kernel);
    let is_tv = method == Method::TotalVariation;
    let fits = |core: usize| {
        let (h, w) = (
            (core + 2 * overlap).min(image.height),
            (core + 2 * overlap).min(image.width),
        );
        let layout = Layout::for_deconvolution(Boundary::Reflect, h, w, kernel.height, kernel.width);
        GpuDeconvolver::largest_binding_bytes(&layout, image.channels(), is_tv) <= max_binding_bytes
    };
    let mut core = image.width.max(image.height);
    while core > 16 && !fits(core) {
        core = core * 3 / 4;
    }
    if !fits(core) {
        return Err(Error::Other("GPU buffers too small for any tile of this image".into()));
    }
    let mut output = Image {
        width: image.width,
        height: image.height,
        planes: vec![vec![0.0; image.pixel_count()]; image.channels()],
        alpha: image.alpha.clone(),
    };
    let tiles_y = image.height.div_ceil(core);
    let tiles_x = image.width.div_ceil(core);
    for ty in 0..tiles_y {
        for tx in 0..tiles_x {
            let (y0, x0) = (ty * core, tx * core);
            let (y1, x1) = ((y0 + core).min(image.height), (x0 + core).min(image.width));
            let (cy0, cx0) = (y0.saturating_sub(overlap), x0.saturating_sub(overlap));
            let (cy1, cx1) = ((y1 + overlap).min(image.height), (x1 + overlap).min(image.width));
            let (tw, th) = (cx1 - cx0, cy1 - cy0);
            let planes = image
                .planes
                .iter()
                .map(|p| {
                    (cy0..cy1)
                        .flat_map(|y| p[y * image.width + cx0..y * image.width + cx1].to_vec())
                        .collect()
                })
                .collect();
            let tile = Image::from_planes(tw, th, planes);
            let done = run_whole(
                ctx,
                &tile,
                kernel,
                Boundary::Reflect,
                method,
                resolved,
                &crate::jobs::Silent,
            )?;
            for (out, plane) in output.planes.iter_mut().zip(&done.planes) {
                for y in y0..y1 {
                    let from = (y - cy0) * tw + (x0 - cx0);
                    out[y * image.width + x0..y * image.width + x1].copy_from_slice(&plane[from..from + (x1 - x0)]);
                }
            }
            progress.step("tiles", (ty * tiles_x + tx + 1) as f32 / (tiles_y * tiles_x) as f32)?;
        }
    }
    Ok(output)
}
