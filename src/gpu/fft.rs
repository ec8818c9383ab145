//! The WGSL FFT: batched 1D complex transforms by Stockham passes of radix
//! 2, 3, 4, 5 and 7, combined into 2D transforms of stacked complex images.
//! Real images are transformed two at a time, packed as real and imaginary
//! parts: every filter the engine applies comes from a real kernel, so it
//! acts on both halves of a packed pair independently.

use super::GpuContext;
use std::sync::Arc;

use super::buffers;
use crate::error::{Error, Result};

/// Uniforms of `fft_pass.wgsl` (keep in sync with its `Params`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FftPassParams {
    n: u32,
    radix: u32,
    ns: u32,
    stride: u32,
    batch_stride: u32,
    batches: u32,
    inverse: u32,
    threads_per_row: u32,
    batches_per_group: u32,
    group_stride: u32,
    _pad: [u32; 2],
}

/// Uniforms of `fft_shared.wgsl` (keep in sync with its `Params`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FftSharedParams {
    n: u32,
    passes: u32,
    stride: u32,
    batch_stride: u32,
    batches_per_group: u32,
    group_stride: u32,
    inverse: u32,
    groups_per_row: u32,
    radices: [u32; 12],
}

/// Longest transform done in workgroup memory (`fft_shared.wgsl`'s MAX_N:
/// 16 KiB, WebGPU's guaranteed workgroup storage).
pub const SHARED_MAX_N: usize = 2048;
/// Most workgroups along one dispatch dimension.
const MAX_GROUPS_X: u32 = 65_535;

/// The radices of the passes for length `n` (4s first, then 2, 3, 5, 7), or
/// `None` when `n` has another prime factor.
pub fn fft_factors(n: usize) -> Option<Vec<u32>> {
    let mut rest = n;
    let mut factors = Vec::new();
    for radix in [4, 2, 3, 5, 7] {
        while rest.is_multiple_of(radix) && rest > 1 {
            factors.push(radix as u32);
            rest /= radix;
        }
    }
    (rest == 1).then_some(factors)
}

/// One axis: its length, its passes and its twiddle table. Cached per
/// length in the context (`GpuContext::axis_plan`).
pub struct AxisPlan {
    n: usize,
    factors: Vec<u32>,
    twiddles: wgpu::Buffer,
}

impl AxisPlan {
    pub(super) fn new(ctx: &GpuContext, n: usize) -> Result<Self> {
        let factors =
            fft_factors(n).ok_or_else(|| Error::Other(format!("GPU FFT: length {n} has a prime factor above 7")))?;
        // exp(-2 pi i m / n) in f64, rounded once to f32.
        let table: Vec<[f32; 2]> = (0..n)
            .map(|m| {
                let angle = -std::f64::consts::TAU * m as f64 / n as f64;
                [angle.cos() as f32, angle.sin() as f32]
            })
            .collect();
        Ok(AxisPlan {
            n,
            factors,
            twiddles: buffers::storage_with(ctx, "fft twiddles", &table)?,
        })
    }
}

/// A 2D complex FFT of row-major `height x width` images, several of them
/// stacked one after the other in a buffer. Transforms run in place, with a
/// scratch buffer of the same size for the ping-pong passes.
pub struct GpuFft2d {
    pub height: usize,
    pub width: usize,
    rows: Arc<AxisPlan>,
    columns: Arc<AxisPlan>,
}

impl GpuFft2d {
    pub fn new(ctx: &GpuContext, height: usize, width: usize) -> Result<Self> {
        Ok(GpuFft2d {
            height,
            width,
            rows: ctx.axis_plan(width)?,
            columns: ctx.axis_plan(height)?,
        })
    }

    /// Records the forward (or inverse, unnormalized) 2D transform of the
    /// `stack` images in `data`.
    pub fn record(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        data: &wgpu::Buffer,
        scratch: &wgpu::Buffer,
        stack: usize,
        inverse: bool,
    ) {
        let (h, w) = (self.height as u32, self.width as u32);
        let image = h * w;
        let bytes = (image as usize * stack * 8) as u64;
        let stack = stack as u32;
        // Rows: contiguous, one transform per row of every image.
        let in_scratch = self.record_axis(
            ctx,
            encoder,
            &self.rows,
            [data, scratch],
            inverse,
            1,
            w,
            h * stack,
            h * stack,
            0,
        );
        let (a, b) = if in_scratch { (scratch, data) } else { (data, scratch) };
        // Columns: stride w, `w` transforms per image, images `image` apart.
        let back = self.record_axis(ctx, encoder, &self.columns, [a, b], inverse, w, 1, w * stack, w, image);
        if in_scratch != back {
            encoder.copy_buffer_to_buffer(scratch, 0, data, 0, bytes);
        }
    }

    /// Records the passes of one axis, alternating between the two buffers;
    /// returns true when the result ends in the second one.
    #[allow(clippy::too_many_arguments)]
    fn record_axis(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        plan: &AxisPlan,
        buffers: [&wgpu::Buffer; 2],
        inverse: bool,
        stride: u32,
        batch_stride: u32,
        batches: u32,
        batches_per_group: u32,
        group_stride: u32,
    ) -> bool {
        if plan.n <= SHARED_MAX_N {
            let mut radices = [0u32; 12];
            radices[..plan.factors.len()].copy_from_slice(&plan.factors);
            let groups_per_row = batches.min(MAX_GROUPS_X);
            let params = buffers::uniform(
                ctx,
                &FftSharedParams {
                    n: plan.n as u32,
                    passes: plan.factors.len() as u32,
                    stride,
                    batch_stride,
                    batches_per_group,
                    group_stride,
                    inverse: inverse as u32,
                    groups_per_row,
                    radices,
                },
            );
            let group = buffers::bind(ctx, &ctx.pipelines.fft_shared, &[&params, buffers[0], &plan.twiddles]);
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("fft shared"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&ctx.pipelines.fft_shared);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(groups_per_row, batches.div_ceil(groups_per_row), 1);
            return false;
        }
        let mut ns = 1u32;
        let mut current = 0;
        for &radix in &plan.factors {
            let threads = (plan.n as u32 / radix) * batches;
            let (_, threads_per_row) = buffers::grid(threads);
            let params = buffers::uniform(
                ctx,
                &FftPassParams {
                    n: plan.n as u32,
                    radix,
                    ns,
                    stride,
                    batch_stride,
                    batches,
                    inverse: inverse as u32,
                    threads_per_row,
                    batches_per_group,
                    group_stride,
                    _pad: [0; 2],
                },
            );
            let group = buffers::bind(
                ctx,
                &ctx.pipelines.fft_pass,
                &[&params, buffers[current], buffers[1 - current], &plan.twiddles],
            );
            buffers::dispatch(encoder, &ctx.pipelines.fft_pass, &group, threads);
            ns *= radix;
            current = 1 - current;
        }
        current == 1
    }
}

/// Transforms `stack` complex `height x width` images on the device and reads
/// them back (for tests and benchmarks; the pipelines keep data on the device).
pub fn transform(
    ctx: &GpuContext,
    height: usize,
    width: usize,
    data: &[[f32; 2]],
    inverse: bool,
) -> Result<Vec<[f32; 2]>> {
    let stack = data.len() / (height * width);
    let fft = GpuFft2d::new(ctx, height, width)?;
    let buffer = buffers::storage_with(ctx, "fft data", data)?;
    let scratch = buffers::storage(ctx, "fft scratch", (data.len() * 8) as u64)?;
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    fft.record(ctx, &mut encoder, &buffer, &scratch, stack, inverse);
    ctx.queue.submit([encoder.finish()]);
    buffers::read_back(ctx, &buffer, data.len())
}
