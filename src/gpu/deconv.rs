//! Deconvolution on the GPU: the image is padded, packed two channels per
//! complex plane and transformed once on upload; the methods then run as
//! fused spectral passes (Wiener, Tikhonov) or iterations that never leave
//! the device (TV, Richardson–Lucy). Readback happens only for results.

use std::sync::Arc;

use super::GpuContext;
use super::buffers::{self, grid};
use super::fft::GpuFft2d;
use crate::deconv::{Boundary, Layout, Method, place_kernel, tv_penalty};
use crate::error::{Error, Result};
use crate::imaging::Image;
use crate::jobs::Progress;
use crate::psf::Kernel;

const NONE: u32 = u32::MAX;

// Uniform structs, each kept in sync with the `Params` of its shader.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PadParams {
    image_width: u32,
    image_height: u32,
    width: u32,
    height: u32,
    plane_a: u32,
    plane_b: u32,
    packed_offset: u32,
    threads_per_row: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CropParams {
    image_width: u32,
    image_height: u32,
    width: u32,
    top: u32,
    left: u32,
    plane_a: u32,
    plane_b: u32,
    packed_offset: u32,
    scale: f32,
    threads_per_row: u32,
    unused: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SpectralParams {
    width: u32,
    height: u32,
    count: u32,
    laplacian: u32,
    weight: f32,
    scale: f32,
    conjugate: u32,
    threads_per_row: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct TvParams {
    width: u32,
    height: u32,
    pairs: u32,
    u_scale: f32,
    rho: f32,
    threshold: f32,
    scale: f32,
    threads_per_row: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct DisplayParams {
    width: u32,
    height: u32,
    channels: u32,
    encode_srgb: u32,
    threads_per_row: u32,
    unused: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RlParams {
    count: u32,
    scale: f32,
    threads_per_row: u32,
    unused: u32,
}

/// Recipe of one padded position, as `pad_pack.wgsl` reads it.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Recipe {
    first: u32,
    second: u32,
    weight_first: f32,
    unused: u32,
}

/// An image uploaded for deconvolution: padded, packed and transformed once,
/// so a parameter change costs one fused pass and one inverse FFT per pair.
pub struct GpuDeconvolver {
    ctx: Arc<GpuContext>,
    pub layout: Layout,
    fft: GpuFft2d,
    channels: usize,
    /// Complex planes: channels packed two by two.
    pairs: usize,
    alpha: Option<Vec<f32>>,
    /// The padded image (spatial), pairs x N.
    observed: wgpu::Buffer,
    /// Its spectrum, pairs x N.
    spectra: wgpu::Buffer,
    work: wgpu::Buffer,
    scratch: wgpu::Buffer,
    otf: Option<wgpu::Buffer>,
    /// Cropped real planes, channels x h x w.
    output: wgpu::Buffer,
}

impl GpuDeconvolver {
    /// Bytes of the largest buffer a job on an image of `channels` colour
    /// channels in `layout` binds (TV's split variables are the largest).
    pub fn largest_binding_bytes(layout: &Layout, channels: usize, method_is_tv: bool) -> u64 {
        let pairs = channels.div_ceil(2) as u64;
        let n = (layout.height * layout.width) as u64;
        let image = (channels * layout.image_height * layout.image_width * 4) as u64;
        (pairs * n * if method_is_tv { 16 } else { 8 }).max(image)
    }

    /// Uploads `image` (linear light) with room for kernels up to
    /// `kernel_height x kernel_width`; `boundary` is Periodic or Reflect.
    pub fn new(
        ctx: Arc<GpuContext>,
        image: &Image,
        boundary: Boundary,
        kernel_height: usize,
        kernel_width: usize,
    ) -> Result<Self> {
        let layout = Layout::for_deconvolution(boundary, image.height, image.width, kernel_height, kernel_width);
        let fft = GpuFft2d::new(&ctx, layout.height, layout.width)?;
        let channels = image.channels();
        let pairs = channels.div_ceil(2);
        let n = layout.height * layout.width;
        let complex_bytes = (pairs * n * 8) as u64;
        let planes: Vec<f32> = image.planes.concat();
        let planes_buffer = buffers::storage_with(&ctx, "image planes", &planes)?;
        let (row_recipe, column_recipe) = layout.recipes();
        let to_gpu = |recipe: Vec<(usize, usize, f32)>| -> Vec<Recipe> {
            recipe
                .into_iter()
                .map(|(a, b, w)| Recipe {
                    first: a as u32,
                    second: b as u32,
                    weight_first: w,
                    unused: 0,
                })
                .collect()
        };
        let rows = buffers::storage_with(&ctx, "row recipes", &to_gpu(row_recipe))?;
        let columns = buffers::storage_with(&ctx, "column recipes", &to_gpu(column_recipe))?;
        let deconvolver = GpuDeconvolver {
            observed: buffers::storage(&ctx, "observed", complex_bytes)?,
            spectra: buffers::storage(&ctx, "spectra", complex_bytes)?,
            work: buffers::storage(&ctx, "work", complex_bytes)?,
            scratch: buffers::storage(&ctx, "scratch", complex_bytes)?,
            output: buffers::storage(&ctx, "output", (channels * image.pixel_count() * 4) as u64)?,
            otf: None,
            alpha: image.alpha.clone(),
            ctx,
            layout,
            fft,
            channels,
            pairs,
        };
        let ctx = &deconvolver.ctx;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        for pair in 0..pairs {
            let (_, threads_per_row) = grid(n as u32);
            let params = buffers::uniform(
                ctx,
                &PadParams {
                    image_width: image.width as u32,
                    image_height: image.height as u32,
                    width: layout.width as u32,
                    height: layout.height as u32,
                    plane_a: (2 * pair) as u32,
                    plane_b: if 2 * pair + 1 < channels {
                        (2 * pair + 1) as u32
                    } else {
                        NONE
                    },
                    packed_offset: (pair * n) as u32,
                    threads_per_row,
                },
            );
            let group = buffers::bind(
                ctx,
                &ctx.pipelines.pad_pack,
                &[&params, &planes_buffer, &rows, &columns, &deconvolver.observed],
            );
            buffers::dispatch(&mut encoder, &ctx.pipelines.pad_pack, &group, n as u32);
        }
        encoder.copy_buffer_to_buffer(&deconvolver.observed, 0, &deconvolver.spectra, 0, complex_bytes);
        deconvolver.fft.record(
            ctx,
            &mut encoder,
            &deconvolver.spectra,
            &deconvolver.scratch,
            pairs,
            false,
        );
        ctx.queue.submit([encoder.finish()]);
        ctx.check()?;
        Ok(deconvolver)
    }

    /// One forward and one inverse 2D FFT of the packed image (benchmarks).
    pub fn fft_round_trip(&self) -> Result<()> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(
            &self.observed,
            0,
            &self.work,
            0,
            (self.pairs * self.pixels() * 8) as u64,
        );
        self.fft
            .record(&self.ctx, &mut encoder, &self.work, &self.scratch, self.pairs, false);
        self.fft
            .record(&self.ctx, &mut encoder, &self.work, &self.scratch, self.pairs, true);
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.check()
    }

    fn pixels(&self) -> usize {
        self.layout.height * self.layout.width
    }

    /// Sets the blur: its OTF is computed on the device.
    pub fn set_psf(&mut self, kernel: &Kernel) -> Result<()> {
        let (h, w) = (self.layout.height, self.layout.width);
        if kernel.height > h || kernel.width > w {
            return Err(Error::bad_parameter("PSF larger than the prepared domain"));
        }
        let placed: Vec<[f32; 2]> = place_kernel(kernel, h, w).into_iter().map(|v| [v, 0.0]).collect();
        let otf = buffers::storage_with(&self.ctx, "otf", &placed)?;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        self.fft.record(&self.ctx, &mut encoder, &otf, &self.scratch, 1, false);
        self.ctx.queue.submit([encoder.finish()]);
        self.otf = Some(otf);
        self.ctx.check()
    }

    fn otf(&self) -> Result<&wgpu::Buffer> {
        self.otf.as_ref().ok_or_else(|| Error::Other("GPU: no PSF set".into()))
    }

    fn spectral_params(&self, laplacian: bool, weight: f32, scale: f32, conjugate: bool) -> wgpu::Buffer {
        let count = (self.pairs * self.pixels()) as u32;
        buffers::uniform(
            &self.ctx,
            &SpectralParams {
                width: self.layout.width as u32,
                height: self.layout.height as u32,
                count,
                laplacian: laplacian as u32,
                weight,
                scale,
                conjugate: conjugate as u32,
                threads_per_row: grid(count).1,
            },
        )
    }

    /// One fused filter pass and one inverse FFT per pair, then the crop
    /// into the result (on the device).
    fn filter(&self, laplacian: bool, weight: f32) -> Result<()> {
        let ctx = &self.ctx;
        let scale = 1.0 / self.pixels() as f32;
        let params = self.spectral_params(laplacian, weight, scale, false);
        let group = buffers::bind(
            ctx,
            &ctx.pipelines.spectral_filter,
            &[&params, self.otf()?, &self.spectra, &self.work],
        );
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        buffers::dispatch(
            &mut encoder,
            &ctx.pipelines.spectral_filter,
            &group,
            (self.pairs * self.pixels()) as u32,
        );
        self.fft
            .record(ctx, &mut encoder, &self.work, &self.scratch, self.pairs, true);
        self.record_crop(&mut encoder, &self.work, 1.0);
        ctx.queue.submit([encoder.finish()]);
        ctx.check()
    }

    /// Computes Wiener with noise-to-signal ratio `nsr` into the result on
    /// the device: the slider update (no readback; see `display`, `read`).
    pub fn apply_wiener(&self, nsr: f32) -> Result<()> {
        self.filter(false, nsr)
    }

    /// Computes Tikhonov with Laplacian weight `lambda` into the result.
    pub fn apply_tikhonov(&self, lambda: f32) -> Result<()> {
        self.filter(true, lambda)
    }

    /// Wiener, read back.
    pub fn wiener(&self, nsr: f32) -> Result<Image> {
        self.apply_wiener(nsr)?;
        self.read()
    }

    /// Tikhonov, read back.
    pub fn tikhonov(&self, lambda: f32) -> Result<Image> {
        self.apply_tikhonov(lambda)?;
        self.read()
    }

    /// Writes the current result to `texture` (RGBA8, the image's size,
    /// with STORAGE_BINDING usage), sRGB-encoded when `encode_srgb`.
    pub fn display(&self, texture: &wgpu::Texture, encode_srgb: bool) -> Result<()> {
        let ctx = &self.ctx;
        let (w, h) = (self.layout.image_width as u32, self.layout.image_height as u32);
        if texture.width() != w || texture.height() != h || texture.format() != wgpu::TextureFormat::Rgba8Unorm {
            return Err(Error::Other(format!("GPU: display needs a {w}x{h} Rgba8Unorm texture")));
        }
        let params = buffers::uniform(
            ctx,
            &DisplayParams {
                width: w,
                height: h,
                channels: if self.channels == 1 { 1 } else { 3 },
                encode_srgb: encode_srgb as u32,
                threads_per_row: grid(w * h).1,
                unused: [0; 3],
            },
        );
        let view = texture.create_view(&Default::default());
        let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("display"),
            layout: &ctx.pipelines.display.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: self.output.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
            ],
        });
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        buffers::dispatch(&mut encoder, &ctx.pipelines.display, &group, w * h);
        ctx.queue.submit([encoder.finish()]);
        ctx.check()
    }

    /// Crops every pair of `from` (spatial, times `scale`) into `output`.
    fn record_crop(&self, encoder: &mut wgpu::CommandEncoder, from: &wgpu::Buffer, scale: f32) {
        let ctx = &self.ctx;
        let pixels = (self.layout.image_height * self.layout.image_width) as u32;
        for pair in 0..self.pairs {
            let params = buffers::uniform(
                ctx,
                &CropParams {
                    image_width: self.layout.image_width as u32,
                    image_height: self.layout.image_height as u32,
                    width: self.layout.width as u32,
                    top: self.layout.top as u32,
                    left: self.layout.left as u32,
                    plane_a: (2 * pair) as u32,
                    plane_b: if 2 * pair + 1 < self.channels {
                        (2 * pair + 1) as u32
                    } else {
                        NONE
                    },
                    packed_offset: (pair * self.pixels()) as u32,
                    scale,
                    threads_per_row: grid(pixels).1,
                    unused: [0; 2],
                },
            );
            let group = buffers::bind(ctx, &ctx.pipelines.crop_unpack, &[&params, from, &self.output]);
            buffers::dispatch(encoder, &ctx.pipelines.crop_unpack, &group, pixels);
        }
    }

    /// Reads the current result back (for export).
    pub fn read(&self) -> Result<Image> {
        let (h, w) = (self.layout.image_height, self.layout.image_width);
        let data: Vec<f32> = buffers::read_back(&self.ctx, &self.output, self.channels * h * w)?;
        Ok(Image {
            width: w,
            height: h,
            planes: data.chunks(h * w).map(|c| c.to_vec()).collect(),
            alpha: self.alpha.clone(),
        })
    }

    /// The interactive update: computes `method` with its `parameter` (K,
    /// or lambda; unused by Richardson–Lucy) and `iterations` into the result
    /// on the device. Show it with `display`, export it with `read`.
    pub fn set_params(&self, method: Method, parameter: f32, iterations: usize, progress: &dyn Progress) -> Result<()> {
        match method {
            Method::Wiener => self.apply_wiener(parameter),
            Method::Tikhonov => self.apply_tikhonov(parameter),
            Method::TotalVariation => self.apply_total_variation(parameter, iterations, progress),
            Method::RichardsonLucy => self.apply_richardson_lucy(iterations, progress),
        }
    }

    /// Total variation, read back.
    pub fn total_variation(&self, lambda: f32, iterations: usize, progress: &dyn Progress) -> Result<Image> {
        self.apply_total_variation(lambda, iterations, progress)?;
        self.read()
    }

    /// Richardson–Lucy, read back.
    pub fn richardson_lucy(&self, iterations: usize, progress: &dyn Progress) -> Result<Image> {
        self.apply_richardson_lucy(iterations, progress)?;
        self.read()
    }

    /// Total variation by ADMM (the CPU twin's algorithm and penalty
    /// schedule) into the result on the device.
    pub fn apply_total_variation(&self, lambda: f32, iterations: usize, progress: &dyn Progress) -> Result<()> {
        let ctx = &self.ctx;
        let n = self.pixels();
        let vec4_bytes = (self.pairs * n * 16) as u64;
        let z = buffers::storage(ctx, "tv z", vec4_bytes)?;
        let u = buffers::storage(ctx, "tv u", vec4_bytes)?;
        let params = |u_scale: f32, rho: f32, threshold: f32| {
            let threads = (self.pairs * n) as u32;
            buffers::uniform(
                ctx,
                &TvParams {
                    width: self.layout.width as u32,
                    height: self.layout.height as u32,
                    pairs: self.pairs as u32,
                    u_scale,
                    rho,
                    threshold,
                    scale: 1.0 / n as f32,
                    threads_per_row: grid(threads).1,
                },
            )
        };
        let otf = self.otf()?;
        let (rhs, solve, shrink) = (&ctx.pipelines.tv_rhs, &ctx.pipelines.tv_solve, &ctx.pipelines.tv_shrink);
        let bind = |pipeline: &wgpu::ComputePipeline, p: &wgpu::Buffer| {
            let bindings: &[(u32, &wgpu::Buffer)] = if std::ptr::eq(pipeline, solve) {
                &[(0, p), (1, otf), (2, &self.spectra), (3, &self.work)]
            } else {
                &[(0, p), (3, &self.work), (4, &z), (5, &u)]
            };
            buffers::bind_at(ctx, pipeline, bindings)
        };
        // z = grad g, u = 0: the shrink pass with threshold 0 on the image.
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.observed, 0, &self.work, 0, (self.pairs * n * 8) as u64);
        let start = params(0.0, 1.0, 0.0);
        buffers::dispatch(&mut encoder, shrink, &bind(shrink, &start), n as u32);
        ctx.queue.submit([encoder.finish()]);
        let mut rho = tv_penalty(lambda, 0, iterations);
        for iteration in 0..iterations {
            let next_rho = tv_penalty(lambda, iteration, iterations);
            let u_scale = rho / next_rho;
            rho = next_rho;
            let p = params(u_scale, rho, lambda / rho);
            // After the first shrink of this iteration u is stored at the new scale.
            let p_after = params(1.0, rho, lambda / rho);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            buffers::dispatch(&mut encoder, rhs, &bind(rhs, &p), (self.pairs * n) as u32);
            self.fft
                .record(ctx, &mut encoder, &self.work, &self.scratch, self.pairs, false);
            buffers::dispatch(&mut encoder, solve, &bind(solve, &p_after), (self.pairs * n) as u32);
            self.fft
                .record(ctx, &mut encoder, &self.work, &self.scratch, self.pairs, true);
            buffers::dispatch(&mut encoder, shrink, &bind(shrink, &p), n as u32);
            ctx.queue.submit([encoder.finish()]);
            progress.step("total variation", (iteration + 1) as f32 / iterations as f32)?;
        }
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.record_crop(&mut encoder, &self.work, 1.0);
        ctx.queue.submit([encoder.finish()]);
        ctx.check()
    }

    /// Records `work = IFFT(H FFT(work))` (H or its conjugate, as `multiply`
    /// is bound), unnormalized.
    fn record_convolution(&self, encoder: &mut wgpu::CommandEncoder, multiply: &wgpu::BindGroup, count: u32) {
        let ctx = &self.ctx;
        self.fft
            .record(ctx, encoder, &self.work, &self.scratch, self.pairs, false);
        buffers::dispatch(encoder, &ctx.pipelines.spectral_multiply, multiply, count);
        self.fft
            .record(ctx, encoder, &self.work, &self.scratch, self.pairs, true);
    }

    /// Richardson–Lucy (the CPU twin's iteration) into the result on the device.
    pub fn apply_richardson_lucy(&self, iterations: usize, progress: &dyn Progress) -> Result<()> {
        let ctx = &self.ctx;
        let n = self.pixels();
        let count = (self.pairs * n) as u32;
        let estimate = buffers::storage(ctx, "rl estimate", (self.pairs * n * 8) as u64)?;
        let scale = 1.0 / n as f32;
        let rl_params = |s: f32| {
            buffers::uniform(
                ctx,
                &RlParams {
                    count,
                    scale: s,
                    threads_per_row: grid(count).1,
                    unused: 0,
                },
            )
        };
        let (start, step) = (rl_params(0.0), rl_params(scale));
        let ratio_group = buffers::bind(ctx, &ctx.pipelines.rl_ratio, &[&step, &self.observed, &self.work]);
        let update_group = |p: &wgpu::Buffer| {
            buffers::bind(
                ctx,
                &ctx.pipelines.rl_update,
                &[p, &self.observed, &self.work, &estimate],
            )
        };
        let otf = self.otf()?;
        let forward = self.spectral_params(false, 0.0, 1.0, false);
        let adjoint = self.spectral_params(false, 0.0, 1.0, true);
        let multiply = |p: &wgpu::Buffer| {
            buffers::bind_at(
                ctx,
                &ctx.pipelines.spectral_multiply,
                &[(0, p), (1, otf), (3, &self.work)],
            )
        };
        let (multiply_forward, multiply_adjoint) = (multiply(&forward), multiply(&adjoint));
        let (ratio, update) = (ratio_group, update_group(&step));
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        buffers::dispatch(&mut encoder, &ctx.pipelines.rl_update, &update_group(&start), count);
        ctx.queue.submit([encoder.finish()]);
        for iteration in 0..iterations {
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            encoder.copy_buffer_to_buffer(&estimate, 0, &self.work, 0, (count as u64) * 8);
            // h * f, then g / (h * f), then h~ * ratio, then the update.
            self.record_convolution(&mut encoder, &multiply_forward, count);
            buffers::dispatch(&mut encoder, &ctx.pipelines.rl_ratio, &ratio, count);
            self.record_convolution(&mut encoder, &multiply_adjoint, count);
            buffers::dispatch(&mut encoder, &ctx.pipelines.rl_update, &update, count);
            ctx.queue.submit([encoder.finish()]);
            progress.step("Richardson-Lucy", (iteration + 1) as f32 / iterations as f32)?;
        }
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.record_crop(&mut encoder, &estimate, 1.0);
        ctx.queue.submit([encoder.finish()]);
        ctx.check()
    }
}
