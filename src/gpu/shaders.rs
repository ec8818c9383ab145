//! The WGSL sources (one file per kernel in `shaders/`) and their pipelines,
//! built once per device.

/// A shader with the shared snippets of `shaders/common/` it uses in front.
macro_rules! with_complex {
    ($file:literal) => {
        concat!(
            include_str!("../../shaders/common/complex.wgsl"),
            include_str!(concat!("../../shaders/", $file))
        )
    };
}

/// Every shader: (file name, full source). `cargo test` validates each with naga.
pub const SOURCES: &[(&str, &str)] = &[
    ("fft_pass.wgsl", with_complex!("fft_pass.wgsl")),
    ("fft_shared.wgsl", with_complex!("fft_shared.wgsl")),
    ("pad_pack.wgsl", include_str!("../../shaders/pad_pack.wgsl")),
    ("crop_unpack.wgsl", include_str!("../../shaders/crop_unpack.wgsl")),
    ("spectral.wgsl", with_complex!("spectral.wgsl")),
    ("tv.wgsl", with_complex!("tv.wgsl")),
    ("rl.wgsl", include_str!("../../shaders/rl.wgsl")),
    ("display.wgsl", include_str!("../../shaders/display.wgsl")),
];

fn source(name: &str) -> &'static str {
    SOURCES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .unwrap_or_default()
}

/// The compute pipelines of the engine.
pub struct Pipelines {
    pub fft_pass: wgpu::ComputePipeline,
    pub fft_shared: wgpu::ComputePipeline,
    pub pad_pack: wgpu::ComputePipeline,
    pub crop_unpack: wgpu::ComputePipeline,
    pub spectral_filter: wgpu::ComputePipeline,
    pub spectral_multiply: wgpu::ComputePipeline,
    pub tv_rhs: wgpu::ComputePipeline,
    pub tv_solve: wgpu::ComputePipeline,
    pub tv_shrink: wgpu::ComputePipeline,
    pub rl_ratio: wgpu::ComputePipeline,
    pub rl_update: wgpu::ComputePipeline,
    pub display: wgpu::ComputePipeline,
}

impl Pipelines {
    pub fn new(device: &wgpu::Device) -> Self {
        let build = |file: &str, entry: &str| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(file),
                source: wgpu::ShaderSource::Wgsl(source(file).into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        Pipelines {
            fft_pass: build("fft_pass.wgsl", "main"),
            fft_shared: build("fft_shared.wgsl", "main"),
            pad_pack: build("pad_pack.wgsl", "main"),
            crop_unpack: build("crop_unpack.wgsl", "main"),
            spectral_filter: build("spectral.wgsl", "apply_filter"),
            spectral_multiply: build("spectral.wgsl", "multiply"),
            tv_rhs: build("tv.wgsl", "rhs"),
            tv_solve: build("tv.wgsl", "solve"),
            tv_shrink: build("tv.wgsl", "shrink"),
            rl_ratio: build("rl.wgsl", "ratio"),
            rl_update: build("rl.wgsl", "update"),
            display: build("display.wgsl", "main"),
        }
    }
}
