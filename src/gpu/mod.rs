//! The GPU engine: a wgpu context (its own headless device, or the editor's),
//! a WGSL FFT, and deconvolution pipelines that keep the image on the device.
//! The CPU path in `crate::deconv` is the reference it is tested against.

mod buffers;
mod deconv;
mod fft;
pub mod shaders;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use deconv::GpuDeconvolver;
pub use fft::{GpuFft2d, fft_factors, transform};

use crate::error::{Error, Result};

/// A device and queue with the engine's pipelines built on it.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: wgpu::AdapterInfo,
    pipelines: shaders::Pipelines,
    /// Largest storage buffer binding, in bytes.
    pub max_binding_bytes: u64,
    /// The first error the device reported (validation, out of memory,
    /// device lost): wgpu reports them asynchronously; `check` turns them
    /// into an `Err` instead of a panic.
    errors: Arc<Mutex<Option<String>>>,
    /// FFT plans (twiddle tables) by length, built once.
    axis_plans: Mutex<HashMap<usize, Arc<fft::AxisPlan>>>,
}

/// Features that let the benchmark time work on the GPU itself.
pub fn timestamp_features() -> wgpu::Features {
    wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
}

/// The adapter a headless device would open (wgpu's high-performance
/// choice), without opening it; `None` when there is none.
pub fn best_adapter() -> Option<wgpu::AdapterInfo> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
        apply_limit_buckets: false,
    }))
    .ok()
    .map(|adapter| adapter.get_info())
}

impl GpuContext {
    /// Creates a headless device on the best adapter (any kind, software
    /// included); `Err` when there is none.
    pub fn new_headless() -> Result<Arc<Self>> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            apply_limit_buckets: false,
        }))
        .map_err(|e| Error::Other(format!("no GPU adapter: {e}")))?;
        let limits = adapter.limits();
        if limits.max_compute_workgroup_size_x < 64 || limits.max_storage_buffers_per_shader_stage < 4 {
            return Err(Error::Other(format!(
                "GPU adapter '{}' cannot run compute shaders",
                adapter.get_info().name
            )));
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("unblur engine"),
            // Timestamps for `unblur bench`, where the adapter has them.
            required_features: adapter.features() & timestamp_features(),
            // The adapter's own limits: the defaults cap buffers far below what images need.
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::default(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::Other(format!("cannot open the GPU: {e}")))?;
        Ok(Arc::new(Self::from_device(device, queue, adapter.get_info())))
    }

    /// Builds the engine on an existing device (the editor's).
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue, adapter: wgpu::AdapterInfo) -> Self {
        let max_binding_bytes = device.limits().max_storage_buffer_binding_size;
        let errors: Arc<Mutex<Option<String>>> = Arc::default();
        let record = |errors: &Arc<Mutex<Option<String>>>, message: String| {
            let mut slot = errors.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(message);
        };
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| record(&sink, e.to_string())));
        let sink = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            record(&sink, format!("device lost ({reason:?}): {message}"))
        });
        let pipelines = shaders::Pipelines::new(&device);
        GpuContext {
            device,
            queue,
            adapter,
            pipelines,
            max_binding_bytes,
            errors,
            axis_plans: Mutex::default(),
        }
    }

    /// The FFT plan for length `n`, built on first use.
    fn axis_plan(&self, n: usize) -> Result<Arc<fft::AxisPlan>> {
        let mut plans = self.axis_plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(plan) = plans.get(&n) {
            return Ok(plan.clone());
        }
        let plan = Arc::new(fft::AxisPlan::new(self, n)?);
        plans.insert(n, plan.clone());
        Ok(plan)
    }

    /// `Err` with the first error the device reported since the last check.
    pub fn check(&self) -> Result<()> {
        let taken = self.errors.lock().unwrap_or_else(|p| p.into_inner()).take();
        match taken {
            Some(message) => {
                let line: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                Err(Error::Other(format!("GPU: {}", line.join(" "))))
            }
            None => Ok(()),
        }
    }

    /// Measures `work` on the GPU: with timestamp queries where the device
    /// has them, else wall clock until the queue is idle. Seconds.
    pub fn time(&self, work: impl FnOnce() -> Result<()>) -> Result<f64> {
        if !self.device.features().contains(timestamp_features()) {
            self.wait_idle()?;
            let start = std::time::Instant::now();
            work()?;
            self.wait_idle()?;
            return Ok(start.elapsed().as_secs_f64());
        }
        let queries = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("bench"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolved = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let stamp = |index: u32| {
            let mut encoder = self.device.create_command_encoder(&Default::default());
            encoder.write_timestamp(&queries, index);
            if index == 1 {
                encoder.resolve_query_set(&queries, 0..2, &resolved, 0);
            }
            self.queue.submit([encoder.finish()]);
        };
        self.wait_idle()?;
        stamp(0);
        work()?;
        stamp(1);
        let ticks: Vec<u64> = buffers::read_back(self, &resolved, 2)?;
        let nanos = ticks[1].saturating_sub(ticks[0]) as f64 * self.queue.get_timestamp_period() as f64;
        Ok(nanos * 1e-9)
    }

    /// True for a CPU-emulated adapter (lavapipe, llvmpipe, WARP): slower
    /// than the CPU path, so `auto` does not pick it.
    pub fn is_software(&self) -> bool {
        self.adapter.device_type == wgpu::DeviceType::Cpu
    }

    /// "name (backend, kind)" for status lines.
    pub fn description(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.adapter.name, self.adapter.backend, self.adapter.device_type
        )
    }

    /// Waits until the queue is idle; reports a lost device as an error.
    pub fn wait_idle(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| Error::Other(format!("GPU: {e}")))?;
        self.check()
    }
}
