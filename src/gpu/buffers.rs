//! Buffer helpers: creation, uploads, readback and dispatch sizing.

use bytemuck::Pod;
use wgpu::util::DeviceExt;

use super::GpuContext;
use crate::error::{Error, Result};

/// Threads per workgroup of every engine kernel (`@workgroup_size(64)`).
pub const WORKGROUP: u32 = 64;
/// Most workgroups along one dispatch dimension (WebGPU's minimum limit).
const MAX_GROUPS_X: u32 = 65_535;

/// A storage buffer of `bytes` bytes, zeroed.
pub fn storage(ctx: &GpuContext, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
    check_size(ctx, label, bytes)?;
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(16),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    }))
}

/// A storage buffer holding `data`.
pub fn storage_with<T: Pod>(ctx: &GpuContext, label: &str, data: &[T]) -> Result<wgpu::Buffer> {
    let bytes: &[u8] = bytemuck::cast_slice(data);
    check_size(ctx, label, bytes.len() as u64)?;
    if bytes.is_empty() {
        return storage(ctx, label, 16);
    }
    Ok(ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    }))
}

/// A uniform buffer holding `value`.
pub fn uniform<T: Pod>(ctx: &GpuContext, value: &T) -> wgpu::Buffer {
    ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("params"),
        contents: bytemuck::bytes_of(value),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

fn check_size(ctx: &GpuContext, label: &str, bytes: u64) -> Result<()> {
    if bytes > ctx.max_binding_bytes {
        return Err(Error::Other(format!(
            "GPU: {label} needs {} MiB, over this device's {} MiB buffer limit",
            bytes >> 20,
            ctx.max_binding_bytes >> 20
        )));
    }
    Ok(())
}

/// A bind group of group 0 with buffers at the given bindings. Pipelines
/// derive their layouts from their entry points, which include only the
/// bindings an entry point uses, so callers name exactly those.
pub fn bind_at(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[(u32, &wgpu::Buffer)],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .map(|(binding, b)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

/// A bind group with `buffers` at bindings 0, 1, 2, ... of group 0.
pub fn bind(ctx: &GpuContext, pipeline: &wgpu::ComputePipeline, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
    let numbered: Vec<(u32, &wgpu::Buffer)> = buffers.iter().enumerate().map(|(i, b)| (i as u32, *b)).collect();
    bind_at(ctx, pipeline, &numbered)
}

/// Workgroup grid for `threads` threads, and the threads per grid row that
/// kernels use to rebuild their linear index.
pub fn grid(threads: u32) -> ((u32, u32), u32) {
    let groups = threads.div_ceil(WORKGROUP).max(1);
    let x = groups.min(MAX_GROUPS_X);
    ((x, groups.div_ceil(x)), x * WORKGROUP)
}

/// Records one dispatch of `pipeline` over `threads` threads.
pub fn dispatch(
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    group: &wgpu::BindGroup,
    threads: u32,
) {
    let ((x, y), _) = grid(threads);
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: None,
        timestamp_writes: None,
    });
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, group, &[]);
    pass.dispatch_workgroups(x, y, 1);
}

/// Copies `buffer` back to the CPU (waits for the queue).
pub fn read_back<T: Pod>(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<T>> {
    let bytes = (len * std::mem::size_of::<T>()) as u64;
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
    ctx.queue.submit([encoder.finish()]);
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = sender.send(r);
    });
    ctx.wait_idle()?;
    receiver
        .recv()
        .map_err(|_| Error::Other("GPU readback was dropped".into()))?
        .map_err(|e| Error::Other(format!("GPU readback failed: {e}")))?;
    let data = {
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| Error::Other(format!("GPU readback failed: {e}")))?;
        bytemuck::cast_slice::<u8, T>(&view[..bytes as usize]).to_vec()
    };
    staging.unmap();
    Ok(data)
}
