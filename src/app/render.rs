//! Computing a result layer from its parameters. Previews reuse the padded
//! image's spectra across slider moves (only the OTF and one inverse FFT per
//! channel change); exports run the same engine call as `unblur deconv`.

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui::TextureId;
use eframe::egui::mutex::RwLock;
use eframe::egui_wgpu::Renderer;
use eframe::wgpu;

use crate::deconv::{self, Applied, Boundary, Method, Prepared, Settings, SpectrumModel};
use crate::engine::{self, Backend};
use crate::fft::Complex32;
use crate::gpu::{GpuContext, GpuDeconvolver};
use crate::imaging::{Image, LUMA, LightSpace};
use crate::jobs::Progress;
use crate::metrics::{self, Quality};
use crate::psf::Kernel;

use super::params::Params;

/// Kernel sizes are rounded up to this step when padding, so that dragging a
/// radius slider does not re-pad and re-transform the image at every pixel.
const PADDING_STEP: usize = 16;

/// The document's image and what its results are judged and shown with.
#[derive(Clone)]
pub struct Source {
    /// Linear light.
    pub image: Arc<Image>,
    /// The space the file stores its values in (results are shown and saved
    /// in it).
    pub space: LightSpace,
    pub noise_floor: Option<f64>,
    /// What the file's values were divided by (`Decoded::scale`): float
    /// files are worked on at a largest magnitude of 1 and exported back in
    /// their own units.
    pub scale: f32,
    /// Images in the file (`Decoded::pages`): a TIFF stack's first is shown.
    pub pages: usize,
    /// A sharp reference, as stored values in [0, 1] (a float one divided
    /// by `scale`, as the image is).
    pub reference: Option<Arc<Image>>,
    /// The image's own PSNR/SSIM against the reference (the baseline
    /// results are judged against), computed once.
    pub baseline: Option<Quality>,
}

impl Source {
    /// Attaches a sharp reference (stored values) and measures the baseline.
    pub fn set_reference(&mut self, reference: Arc<Image>) {
        self.baseline = metrics::quality(&stored_values(&self.image, self.space), &reference).ok();
        self.reference = Some(reference);
    }
}

/// A computed result layer.
pub struct Rendered {
    /// Linear light, strength and luminance mode applied. `None` when the
    /// GPU drew the result on screen and reading it back was left for later
    /// (`PreviewCache::read_back`): a readback costs more than the update.
    pub image: Option<Arc<Image>>,
    pub applied: Applied,
    pub quality: Option<Quality>,
    /// The texture the GPU wrote the result into, when it was shown straight
    /// from the device (full strength, all channels).
    pub on_screen: Option<(TextureId, [usize; 2])>,
}

/// The prepared image and OTF of the last preview, reused while only the
/// method's parameters (or a PSF of similar size) change.
#[derive(Default)]
pub struct PreviewCache {
    prepared: Option<(PreparedKey, Arc<Prepared>)>,
    otf: Option<(String, Vec<Complex32>, SpectrumModel)>,
    gpu: Option<GpuPreview>,
    /// The source image last checked for NaN and infinities.
    validated: Option<usize>,
    /// The luminance of the source image it was computed from.
    luminance: Option<(usize, Arc<Image>)>,
    /// The last PSF and its spec text.
    kernel: Option<(String, Arc<Kernel>)>,
}

/// Previews on a hardware GPU: the padded image and its spectra stay on the
/// device, so a parameter change is one filter pass and one inverse FFT per
/// channel pair there (iterations too); the CPU still chooses the automatic
/// parameters when the PSF changes.
struct GpuPreview {
    ctx: Arc<GpuContext>,
    renderer: Arc<RwLock<Renderer>>,
    deconvolver: Option<(PreparedKey, GpuDeconvolver)>,
    kernel: Option<String>,
    /// Per layer: the texture results are drawn into, registered with egui.
    screens: HashMap<u64, (wgpu::Texture, TextureId)>,
}

/// What the preview worker needs to compute on the renderer's device.
#[derive(Clone)]
pub struct PreviewGpu {
    pub ctx: Arc<GpuContext>,
    pub renderer: Arc<RwLock<Renderer>>,
}

/// Magnified pixels stay honest (nearest); minified ones are averaged.
fn screen_sampler() -> wgpu::SamplerDescriptor<'static> {
    wgpu::SamplerDescriptor {
        label: Some("result"),
        mag_filter: wgpu::FilterMode::Nearest,
        min_filter: wgpu::FilterMode::Linear,
        ..Default::default()
    }
}

impl GpuPreview {
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        key: &PreparedKey,
        input: &Image,
        kernel: &Kernel,
        kernel_id: &str,
        method: Method,
        value: f32,
        steps: usize,
        progress: &dyn Progress,
    ) -> crate::Result<()> {
        if self.deconvolver.as_ref().is_none_or(|(cached, _)| cached != key) {
            self.deconvolver = None;
            let (h, w) = key.kernel_bucket;
            let deconvolver = GpuDeconvolver::new(
                self.ctx.clone(),
                input,
                key.boundary,
                h.min(input.height),
                w.min(input.width),
            )?;
            self.deconvolver = Some((key.clone(), deconvolver));
            self.kernel = None;
        }
        let (_, deconvolver) = self.deconvolver.as_mut().expect("created above");
        if self.kernel.as_deref() != Some(kernel_id) {
            deconvolver.set_psf(kernel)?;
            self.kernel = Some(kernel_id.to_string());
        }
        deconvolver.set_params(method, value, steps, progress)
    }

    /// The device's current result, read back.
    fn read(&self) -> crate::Result<Image> {
        let (_, deconvolver) = self
            .deconvolver
            .as_ref()
            .ok_or_else(|| crate::Error::Other("no result".into()))?;
        deconvolver.read()
    }

    /// Draws the device's current result into layer `layer`'s texture.
    fn show(&mut self, layer: u64, encode_srgb: bool) -> crate::Result<(TextureId, [usize; 2])> {
        let (_, deconvolver) = self
            .deconvolver
            .as_ref()
            .ok_or_else(|| crate::Error::Other("GPU: nothing computed to show".into()))?;
        let (w, h) = (deconvolver.layout.image_width, deconvolver.layout.image_height);
        let device = &self.ctx.device;
        let stale = self
            .screens
            .get(&layer)
            .is_none_or(|(t, _)| (t.width() as usize, t.height() as usize) != (w, h));
        if stale {
            let texture = device.create_texture(&wgpu::TextureDescriptor {
                label: Some("result on screen"),
                size: wgpu::Extent3d {
                    width: w as u32,
                    height: h as u32,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba8Unorm,
                usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            });
            let view = texture.create_view(&Default::default());
            let mut renderer = self.renderer.write();
            let id = match self.screens.remove(&layer) {
                Some((_, id)) => {
                    renderer.update_egui_texture_from_wgpu_texture_with_sampler_options(
                        device,
                        &view,
                        screen_sampler(),
                        id,
                    );
                    id
                }
                None => renderer.register_native_texture_with_sampler_options(device, &view, screen_sampler()),
            };
            self.screens.insert(layer, (texture, id));
        }
        let (texture, id) = &self.screens[&layer];
        deconvolver.display(texture, encode_srgb)?;
        Ok((*id, [w, h]))
    }
}

impl Drop for GpuPreview {
    fn drop(&mut self) {
        let mut renderer = self.renderer.write();
        for (_, id) in self.screens.values() {
            renderer.free_texture(id);
        }
    }
}

#[derive(Clone, PartialEq)]
struct PreparedKey {
    image: usize,
    luminance: bool,
    boundary: Boundary,
    kernel_bucket: (usize, usize),
}

impl PreviewCache {
    /// A cache that computes on `gpu` (a hardware adapter) when given.
    pub fn new(gpu: Option<PreviewGpu>) -> Self {
        PreviewCache {
            gpu: gpu.map(|gpu| GpuPreview {
                ctx: gpu.ctx,
                renderer: gpu.renderer,
                deconvolver: None,
                kernel: None,
                screens: HashMap::new(),
            }),
            ..Default::default()
        }
    }

    /// Reads back the GPU's last result (after a preview that left it on
    /// the device).
    pub fn read_back(&self) -> Option<Image> {
        self.gpu.as_ref()?.read().ok()
    }

    /// Computes the preview of `params` on `source`.
    #[cfg(test)]
    pub fn render(&mut self, source: &Source, params: &Params, progress: &dyn Progress) -> Result<Rendered, String> {
        self.render_layer(source, params, progress, None)
    }

    /// Computes the preview of layer `layer`; on a GPU, a result at full
    /// strength (and no larger than `max_texture_side`) is drawn straight
    /// into that layer's texture.
    pub fn render_layer(
        &mut self,
        source: &Source,
        params: &Params,
        progress: &dyn Progress,
        layer: Option<(u64, usize)>,
    ) -> Result<Rendered, String> {
        let kernel_id = params.psf.spec()?.to_string();
        let kernel = self.kernel(&kernel_id, params)?;
        let input = self.working_image(&source.image, params.luminance_only);
        let settings = params.settings(source.noise_floor, source.space);
        // Scanning every sample for NaN costs a pass over the image: once per source.
        let image_id = Arc::as_ptr(&source.image) as usize;
        deconv::check_kernel_fits(&input, &kernel).map_err(|e| e.to_string())?;
        deconv::validate_settings(&settings).map_err(|e| e.to_string())?;
        if self.validated != Some(image_id) {
            deconv::check_finite(&input).map_err(|e| e.to_string())?;
            self.validated = Some(image_id);
        }
        progress.step("preparing", 0.0).map_err(|e| e.to_string())?;
        let boundary = deconv::resolve_boundary(&source.image, Boundary::Auto);
        let key = PreparedKey {
            image: Arc::as_ptr(&source.image) as usize,
            luminance: params.luminance_only,
            boundary,
            kernel_bucket: (bucket(kernel.height), bucket(kernel.width)),
        };
        let prepared = match &self.prepared {
            Some((cached, prepared)) if *cached == key => prepared.clone(),
            _ => {
                let (h, w) = key.kernel_bucket;
                let prepared = Arc::new(Prepared::new(&input, boundary, h.min(input.height), w.min(input.width)));
                self.prepared = Some((key.clone(), prepared.clone()));
                self.otf = None;
                prepared
            }
        };
        if self.otf.as_ref().is_none_or(|(id, _, _)| *id != kernel_id) {
            let otf = prepared.otf(&kernel);
            let mut model = prepared.analyze(&otf, &input);
            if let Some(floor) = source.noise_floor {
                model.raise_noise(floor);
            }
            self.otf = Some((kernel_id, otf, model));
        }
        let (kernel_id, otf, model) = self.otf.as_ref().expect("computed above");
        let resolved = deconv::resolve_parameters(&settings, model);
        let value = resolved.parameter.unwrap_or_default() as f32;
        let steps = resolved.iterations.unwrap_or(1);
        let applied = Applied {
            method: settings.method,
            parameter: resolved.parameter,
            iterations: resolved.iterations,
            boundary,
            noise_sigma: model.noise_sigma,
        };
        let luminance = params.luminance_only.then_some(&*input);
        let cancelled = |e: crate::Error| e.to_string();
        if let Some(gpu) = &mut self.gpu {
            match gpu.run(
                &key,
                &input,
                &kernel,
                kernel_id,
                settings.method,
                value,
                steps,
                progress,
            ) {
                Ok(()) => {
                    let direct = params.strength >= 1.0 && !params.luminance_only;
                    let on_screen = match layer {
                        Some((id, max_side)) if direct && source.image.width.max(source.image.height) <= max_side => {
                            match gpu.show(id, source.space == LightSpace::Srgb) {
                                Ok(shown) => Some(shown),
                                Err(error) => {
                                    eprintln!("unblur: GPU display failed, uploading instead: {error}");
                                    None
                                }
                            }
                        }
                        _ => None,
                    };
                    if on_screen.is_some() && source.reference.is_none() {
                        return Ok(Rendered {
                            image: None,
                            applied,
                            quality: None,
                            on_screen,
                        });
                    }
                    let result = gpu.read().map_err(|e| e.to_string())?;
                    let mut rendered = finish_render(source, params, luminance, result, applied);
                    rendered.on_screen = on_screen;
                    return Ok(rendered);
                }
                Err(crate::Error::Cancelled) => return Err("cancelled".into()),
                // A GPU failure (lost device, out of memory): the CPU takes over.
                Err(error) => {
                    eprintln!("unblur: GPU preview failed, using the CPU from now on: {error}");
                    self.gpu = None;
                }
            }
        }
        let result = match settings.method {
            Method::Wiener => prepared.wiener(otf, value),
            Method::Tikhonov => prepared.tikhonov(otf, value),
            Method::TotalVariation => {
                deconv::total_variation(&prepared, otf, value, steps, progress).map_err(cancelled)?
            }
            Method::RichardsonLucy => deconv::richardson_lucy(&prepared, otf, steps, progress).map_err(cancelled)?,
        };
        Ok(finish_render(source, params, luminance, result, applied))
    }

    /// The PSF of `params` (named `id`), rasterized or read from its file only
    /// when it changes: a method-parameter drag reuses it.
    fn kernel(&mut self, id: &str, params: &Params) -> Result<Arc<Kernel>, String> {
        if let Some((cached, kernel)) = &self.kernel
            && cached == id
        {
            return Ok(kernel.clone());
        }
        let kernel = Arc::new(kernel_of(params)?);
        self.kernel = Some((id.to_string(), kernel.clone()));
        Ok(kernel)
    }

    /// The image the method runs on: the colour planes, or their luminance
    /// (kept, so a drag in luminance mode computes it once).
    fn working_image(&mut self, image: &Arc<Image>, luminance_only: bool) -> Arc<Image> {
        if !luminance_only || image.channels() == 1 {
            return image.clone();
        }
        let id = Arc::as_ptr(image) as usize;
        match &self.luminance {
            Some((cached, luminance)) if *cached == id => luminance.clone(),
            _ => {
                let luminance = Arc::new(luminance_image(image));
                self.luminance = Some((id, luminance.clone()));
                luminance
            }
        }
    }
}

/// Computes `params` on `source` exactly as `unblur deconv` does (CPU or a
/// hardware GPU), for export.
pub fn render_full(source: &Source, params: &Params, progress: &dyn Progress) -> Result<Rendered, String> {
    let kernel = kernel_of(params)?;
    let luminance = (params.luminance_only && source.image.channels() > 1).then(|| luminance_image(&source.image));
    let input = luminance.as_ref().unwrap_or(&source.image);
    let settings: Settings = params.settings(source.noise_floor, source.space);
    let (result, applied, _) =
        engine::deconvolve(input, &kernel, &settings, Backend::Auto, progress).map_err(|e| e.to_string())?;
    Ok(finish_render(source, params, luminance.as_ref(), result, applied))
}

fn kernel_of(params: &Params) -> Result<Kernel, String> {
    params.psf.spec()?.kernel().map_err(|e| e.to_string())
}

fn bucket(size: usize) -> usize {
    size.div_ceil(PADDING_STEP) * PADDING_STEP
}

/// `luminance`: the source's luminance when the method ran on it alone.
fn finish_render(
    source: &Source,
    params: &Params,
    luminance: Option<&Image>,
    deconvolved: Image,
    applied: Applied,
) -> Rendered {
    // At full strength the result is the deconvolved image itself: no copy.
    let image = if params.strength >= 1.0 && deconvolved.channels() == source.image.channels() {
        deconvolved
    } else {
        combine(&source.image, luminance, &deconvolved, params)
    };
    let quality = source.reference.as_ref().and_then(|reference| {
        let stored = stored_values(&image, source.space);
        metrics::quality(&stored, reference).ok()
    });
    Rendered {
        image: Some(Arc::new(image)),
        applied,
        quality,
        on_screen: None,
    }
}

/// Rec. 709 luminance of a colour image (linear light).
fn luminance_image(image: &Image) -> Image {
    let luminance = (0..image.pixel_count())
        .map(|i| (0..3).map(|c| LUMA[c] * image.planes[c][i]).sum())
        .collect();
    Image::gray(image.width, image.height, luminance)
}

/// Puts the deconvolved planes back together with the original: the
/// luminance change added to every channel in luminance mode, then blended
/// by strength.
/// `luminance` is the original's, when `deconvolved` is a luminance image.
pub fn combine(original: &Image, luminance: Option<&Image>, deconvolved: &Image, params: &Params) -> Image {
    let strength = params.strength.clamp(0.0, 1.0);
    let planes = if deconvolved.channels() == original.channels() {
        original
            .planes
            .iter()
            .zip(&deconvolved.planes)
            .map(|(o, d)| o.iter().zip(d).map(|(o, d)| o + strength * (d - o)).collect())
            .collect()
    } else {
        let computed;
        let luminance = match luminance {
            Some(luminance) => luminance,
            None => {
                computed = luminance_image(original);
                &computed
            }
        };
        original
            .planes
            .iter()
            .map(|o| {
                o.iter()
                    .zip(&deconvolved.planes[0])
                    .zip(&luminance.planes[0])
                    .map(|((o, d), y)| o + strength * (d - y))
                    .collect()
            })
            .collect()
    };
    Image {
        width: original.width,
        height: original.height,
        planes,
        alpha: original.alpha.clone(),
    }
}

/// The values a file in `space` would store, in [0, 1] (metrics use these).
pub fn stored_values(image: &Image, space: LightSpace) -> Image {
    image.map_planes(|p| p.iter().map(|&v| super::display::stored_value(v, space)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::params::PsfModel;
    use crate::jobs::Silent;

    fn blurred_squares() -> Source {
        let (w, h) = (96, 80);
        let sharp: Vec<f32> = (0..w * h)
            .map(|i| if (i % w / 12 + i / w / 12) % 2 == 0 { 0.8 } else { 0.2 })
            .collect();
        let kernel = crate::psf::PsfSpec::Disk {
            radius_px: 3.0,
            feather_px: 0.0,
        }
        .kernel()
        .unwrap();
        let blurred = convolve_periodic(&sharp, w, h, &kernel);
        let sharp = Image::gray(w, h, sharp);
        Source {
            image: Arc::new(Image::gray(w, h, blurred)),
            space: LightSpace::Linear,
            noise_floor: None,
            scale: 1.0,
            pages: 1,
            reference: Some(Arc::new(sharp)),
            baseline: None,
        }
    }

    fn convolve_periodic(plane: &[f32], w: usize, h: usize, kernel: &Kernel) -> Vec<f32> {
        let (ch, cw) = (kernel.height / 2, kernel.width / 2);
        (0..w * h)
            .map(|i| {
                let (y, x) = (i / w, i % w);
                let mut sum = 0.0;
                for ky in 0..kernel.height {
                    for kx in 0..kernel.width {
                        let sy = (y + h + ch - ky) % h;
                        let sx = (x + w + cw - kx) % w;
                        sum += kernel.at(ky, kx) * plane[sy * w + sx];
                    }
                }
                sum
            })
            .collect()
    }

    fn disk(radius: f64) -> Params {
        let mut params = Params::default();
        params.psf.model = PsfModel::Disk;
        params.psf.radius = radius;
        params
    }

    #[test]
    fn previews_match_the_engine_and_sharpen() {
        let source = blurred_squares();
        let mut cache = PreviewCache::default();
        let mut params = disk(3.0);
        params.method.nsr = Some(1e-3);
        let preview = cache.render(&source, &params, &Silent).unwrap();
        let full = render_full(&source, &params, &Silent).unwrap();
        let before = metrics::psnr(&source.image, source.reference.as_ref().unwrap());
        let after = preview.quality.unwrap().psnr_db;
        assert!(after > before + 5.0, "{before} -> {after}");
        let gap = metrics::psnr(preview.image.as_ref().unwrap(), full.image.as_ref().unwrap());
        assert!(gap > 45.0, "preview differs from the engine: {gap} dB");
    }

    #[test]
    fn strength_zero_gives_the_original_and_luminance_mode_keeps_colour() {
        let source = blurred_squares();
        let mut params = disk(3.0);
        params.strength = 0.0;
        let rendered = PreviewCache::default().render(&source, &params, &Silent).unwrap();
        assert_eq!(**rendered.image.as_ref().unwrap(), *source.image);

        let gray = &source.image.planes[0];
        let colour = Image::from_planes(
            source.image.width,
            source.image.height,
            vec![gray.clone(), gray.iter().map(|v| v * 0.5).collect(), gray.clone()],
        );
        let source = Source {
            image: Arc::new(colour),
            reference: None,
            ..source
        };
        let mut params = disk(3.0);
        params.luminance_only = true;
        let rendered = PreviewCache::default().render(&source, &params, &Silent).unwrap();
        // Colour differences survive untouched: R - G is the original's.
        for i in (0..source.image.pixel_count()).step_by(97) {
            let before = source.image.planes[0][i] - source.image.planes[1][i];
            let image = rendered.image.as_ref().unwrap();
            let after = image.planes[0][i] - image.planes[1][i];
            assert!((before - after).abs() < 1e-5);
        }
    }

    #[test]
    fn bad_parameters_are_messages() {
        let source = blurred_squares();
        let mut params = disk(-2.0);
        let error = PreviewCache::default().render(&source, &params, &Silent).err().unwrap();
        assert!(error.contains("r must be > 0"), "{error}");
        params.psf.radius = 60.0;
        let error = PreviewCache::default().render(&source, &params, &Silent).err().unwrap();
        assert!(error.contains("larger than the image"), "{error}");
    }
}
