//! Single-image transparency separation: BITS-Net (Zhou, Lyu and Rodrigues,
//! "Blind Image Transparency Separation Network").
//!
//! One photo I holding two overlaid layers (a scene and its reflection, a
//! double exposure) is split as I = y1 + y2 with no training data: two
//! deep-image-prior generators, each fed its own fixed noise, produce the
//! layers. They are fitted to this one image by ADMM on
//!
//!   a1 Excl(y1, y2) + a2 sum_k Excl(phi1_k, phi2_k) + ||I - (y1 + y2)||_1
//!     + l1 rho(y1) + l2 rho(y2),
//!
//! Excl the exclusion loss (edges of one layer are not edges of the other),
//! phi_k decoder features, rho the RED regularizer of a TV denoiser f. Each
//! iteration takes one Adam step on the generators with the proximity terms
//! mu/2 ||y - x + u||^2, one fixed-point step x = (l f(x) + mu (y + u)) /
//! (l + mu) on the auxiliary variables, and the multiplier update
//! u = u + y - x. The generators run on the GPU through burn's wgpu backend
//! where a hardware adapter exists, on its pure-Rust CPU backend otherwise.

pub(crate) mod canvas;
mod denoise;
mod exclusion;
mod network;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use std::sync::Mutex;

pub use denoise::tv_denoise;
pub use exclusion::exclusion;
pub use network::{Generator, Shape};

use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::imaging::Image;
use crate::jobs::Progress;
use canvas::{Canvas, Random};

/// burn draws initial weights from a device-wide generator: seeding it and
/// drawing must not interleave with another separation in the process.
static WEIGHT_DRAWS: Mutex<()> = Mutex::new(());

/// `N` generators whose initial weights are drawn from `seed`, in order,
/// under the lock every draw takes: drawn without it (as a test once did),
/// they interleave with a concurrent separation's draws and change its
/// result.
pub fn seeded_generators<const N: usize>(shape: Shape, device: &Device, seed: u64) -> [Generator; N] {
    let _draws = WEIGHT_DRAWS.lock().unwrap_or_else(|p| p.into_inner());
    device.seed(seed);
    std::array::from_fn(|_| Generator::new(shape, device))
}

/// The paper's weights and step sizes.
pub mod weights {
    /// Exclusion loss on the layers.
    pub const A1: f32 = 0.01;
    /// Exclusion loss on the decoder features.
    pub const A2: f32 = 0.001;
    /// RED weights l1 = l2.
    pub const LAMBDA: f32 = 0.5;
    /// ADMM penalties mu1 = mu2.
    pub const MU: f32 = 0.5;
    /// Adam's learning rate.
    pub const LEARNING_RATE: f64 = 0.008;
}

/// Strength of the TV denoiser inside RED, for values in [0, 1]: removes the
/// generators' high-frequency artifacts without flattening texture.
const DENOISE_WEIGHT: f32 = 0.02;
/// Dual iterations of the denoiser per ADMM step (it starts cold; a few
/// iterations reach most of the way, and the ADMM loop repeats it anyway).
const DENOISE_ITERATIONS: usize = 10;
/// Channels of the noise inputs (DIP's choice).
const INPUT_CHANNELS: usize = 32;
/// Scale of the uniform noise inputs (DIP's 1/10).
const INPUT_SCALE: f32 = 0.1;
/// Standard deviation of the perturbation added to the inputs at every
/// step (DIP's regularization against fitting noise).
const INPUT_JITTER: f32 = 1.0 / 30.0;
/// Perturbation fields drawn once per input; each step mixes two of them
/// with random weights (no per-step upload, no shared random state).
const JITTER_FIELDS: usize = 8;
/// Weight of the newest output in the running average that is returned.
const AVERAGE_WEIGHT: f32 = 0.01;
/// Down-sampling levels of the generators (sides padded to multiples of 64).
const LEVELS: usize = 5;
/// Decoder levels whose features enter the feature exclusion loss.
const FEATURE_LEVELS: usize = 2;
/// Smallest image side accepted.
pub const MIN_SIDE: usize = 8;
/// Largest working size: at width 128 a 1024x1024 run already holds
/// gigabytes of activations for the backward pass.
pub const MAX_SIZE: usize = 1024;

/// What to run.
#[derive(Clone, Debug)]
pub struct SingleOptions {
    /// ADMM iterations (the paper: 8000).
    pub iterations: usize,
    /// Longest side of the working image; larger photos are shrunk to it
    /// and the layers come out at that size.
    pub size: usize,
    /// Seeds the weights, the noise inputs and their perturbations.
    pub seed: u64,
    /// Channels per generator level (DIP: 128); fewer is faster and coarser.
    pub width: usize,
    pub backend: Backend,
    /// Hand the current layers to the preview callback every this many
    /// iterations (0: never).
    pub preview_every: usize,
}

impl Default for SingleOptions {
    fn default() -> Self {
        SingleOptions {
            iterations: 8000,
            size: 256,
            seed: 0,
            width: 128,
            backend: Backend::Auto,
            preview_every: 0,
        }
    }
}

/// The separated layers, stronger (brighter on average) first.
#[derive(Clone, Debug)]
pub struct Separation {
    pub layers: [Image; 2],
    /// The device the generators ran on, for the status line.
    pub device: String,
}

/// Layers part way through, for previews.
pub struct Preview {
    pub iteration: usize,
    pub layers: [Image; 2],
}

/// Splits `image` (linear light, values in [0, 1]) into two layers that add
/// up to it. Cancelling through `progress` returns `Err(Cancelled)`; the last
/// preview is the best result at that point.
pub fn separate_single(
    image: &Image,
    options: &SingleOptions,
    progress: &dyn Progress,
    preview: &mut dyn FnMut(Preview),
) -> Result<Separation> {
    validate(image, options)?;
    // One more halving than the levels: the deepest level keeps 2 samples to mirror.
    let canvas = Canvas::new(image, options.size, 2 << LEVELS);
    let (device, description) = choose_device(options.backend)?;
    // burn reports device failures (a lost GPU, memory) by panicking: turn
    // them into an error so the CLI exits with 1 and the editor goes on.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Trainer::new(&canvas, options, &device).run(&canvas, options, progress, preview)
    }));
    let layers = outcome.unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown failure");
        Err(Error::Other(format!(
            "the network backend ({description}) failed: {reason}"
        )))
    })?;
    Ok(Separation {
        layers,
        device: description,
    })
}

fn validate(image: &Image, options: &SingleOptions) -> Result<()> {
    validate_image(image)?;
    validate_options(options)
}

/// Refuses images too small to separate, naming their size.
pub fn validate_image(image: &Image) -> Result<()> {
    if image.width < MIN_SIDE || image.height < MIN_SIDE {
        return Err(Error::BadParameter(format!(
            "image is {}x{}; layer separation needs at least {MIN_SIDE}x{MIN_SIDE} pixels",
            image.width, image.height
        )));
    }
    Ok(())
}

/// Refuses options that cannot run, naming the option.
pub fn validate_options(options: &SingleOptions) -> Result<()> {
    if options.iterations == 0 {
        return Err(Error::BadParameter("--iters must be at least 1".into()));
    }
    if !(MIN_SIDE..=MAX_SIZE).contains(&options.size) {
        return Err(Error::BadParameter(format!(
            "--size must be between {MIN_SIDE} and {MAX_SIZE} (the networks' memory grows with its square)"
        )));
    }
    if !(4..=512).contains(&options.width) {
        return Err(Error::BadParameter("--width must be between 4 and 512".into()));
    }
    Ok(())
}

/// Channels per generator level for `backend`: the paper's 128 on a GPU;
/// 32 on the CPU, where 128 costs about 9 s per iteration at 256x256 on two
/// cores and 32 about 1.6 s (BENCHMARKS.md).
pub fn default_width(backend: Backend) -> usize {
    if runs_on_cpu(backend) { 32 } else { 128 }
}

/// True when `backend` resolves to the CPU (asked for, or no hardware adapter under `auto`).
pub fn runs_on_cpu(backend: Backend) -> bool {
    match backend {
        Backend::Cpu => true,
        Backend::Gpu => false,
        Backend::Auto => crate::gpu::best_adapter().is_none_or(|a| a.device_type == wgpu::DeviceType::Cpu),
    }
}

/// burn's device for `backend`: wgpu on a hardware adapter (or any adapter
/// when asked for the GPU), the pure-Rust CPU backend otherwise.
fn choose_device(backend: Backend) -> Result<(Device, String)> {
    let cpu = || (Device::flex(), "cpu".to_string());
    if backend == Backend::Cpu {
        return Ok(cpu());
    }
    match crate::gpu::best_adapter() {
        Some(info) if backend == Backend::Gpu || info.device_type != wgpu::DeviceType::Cpu => Ok((
            Device::wgpu(DeviceKind::DefaultDevice),
            format!("gpu ({}, {:?})", info.name, info.backend),
        )),
        Some(_) => Ok(cpu()),
        None if backend == Backend::Gpu => Err(Error::Other("no GPU adapter".into())),
        None => Ok(cpu()),
    }
}

/// The two generators, trained together by one optimizer.
#[derive(Module, Debug)]
struct Pair {
    first: Generator,
    second: Generator,
}

/// The state of the ADMM iterations.
struct Trainer {
    pair: Option<Pair>,
    inputs: [Tensor<4>; 2],
    jitter: [Vec<Tensor<4>>; 2],
    random: Random,
    observed: Tensor<4>,
    /// Auxiliary variables x (denoised layers) and scaled multipliers u.
    auxiliary: [Tensor<4>; 2],
    multipliers: [Tensor<4>; 2],
    /// Running averages of the outputs: what is returned.
    averages: [Tensor<4>; 2],
}

impl Trainer {
    fn new(canvas: &Canvas, options: &SingleOptions, device: &Device) -> Self {
        let device = device.clone().autodiff();
        let shape = Shape {
            input: INPUT_CHANNELS,
            width: options.width,
            skip: 4,
            levels: LEVELS,
            output: canvas.channels,
        };
        let [first, second] = seeded_generators(shape, &device, options.seed);
        let pair = Pair { first, second };
        let dims = [1, INPUT_CHANNELS, canvas.height, canvas.width];
        let count = dims.iter().product();
        let upload = |samples: Vec<f32>| Tensor::<4>::from_data(TensorData::new(samples, dims), &device);
        let inputs = [0u64, 1].map(|stream| upload(canvas::uniform_noise(options.seed, stream, count, INPUT_SCALE)));
        let jitter = [0u64, 1].map(|input| {
            (0..JITTER_FIELDS as u64)
                .map(|k| {
                    upload(canvas::normal_noise(
                        options.seed,
                        2 + input * 64 + k,
                        count,
                        INPUT_JITTER,
                    ))
                })
                .collect()
        });
        let observed = Tensor::from_data(
            TensorData::new(
                canvas.samples.clone(),
                [1, canvas.channels, canvas.height, canvas.width],
            ),
            &device,
        );
        let half = observed.clone().div_scalar(2.0);
        Trainer {
            pair: Some(pair),
            inputs,
            jitter,
            random: Random::new(options.seed, 1 << 32),
            auxiliary: [half.clone(), half.clone()],
            multipliers: [half.zeros_like(), half.zeros_like()],
            averages: [half.clone(), half],
            observed,
        }
    }

    fn run(
        mut self,
        canvas: &Canvas,
        options: &SingleOptions,
        progress: &dyn Progress,
        preview: &mut dyn FnMut(Preview),
    ) -> Result<[Image; 2]> {
        let mut optimizer = AdamConfig::new().init();
        for iteration in 1..=options.iterations {
            progress.step("separating layers", (iteration - 1) as f32 / options.iterations as f32)?;
            let [y1, y2] = self.step(&mut optimizer);
            self.update_auxiliary([y1, y2]);
            if options.preview_every > 0 && iteration % options.preview_every == 0 && iteration < options.iterations {
                preview(Preview {
                    iteration,
                    layers: self.layers(canvas)?,
                });
            }
        }
        progress.report("separating layers", 1.0);
        self.layers(canvas)
    }

    /// One Adam step on the generators; returns their (detached) outputs.
    fn step(&mut self, optimizer: &mut ModuleOptimizer) -> [Tensor<4>; 2] {
        let [z1, z2] = [0, 1].map(|k| self.inputs[k].clone() + self.next_jitter(k));
        let pair = self.pair.take().expect("the generators are in place between steps");
        let out1 = pair.first.forward(z1, FEATURE_LEVELS);
        let out2 = pair.second.forward(z2, FEATURE_LEVELS);
        let (y1, y2) = (out1.image, out2.image);
        let data = (self.observed.clone() - y1.clone() - y2.clone()).abs().mean();
        let mut loss = data + exclusion(y1.clone(), y2.clone(), exclusion::SCALES).mul_scalar(weights::A1);
        for (f1, f2) in out1.features.into_iter().zip(out2.features) {
            loss = loss + exclusion(f1, f2, 1).mul_scalar(weights::A2);
        }
        for (y, (x, u)) in [&y1, &y2].into_iter().zip(self.auxiliary.iter().zip(&self.multipliers)) {
            let proximity = (y.clone() - x.clone() + u.clone()).square().mean();
            loss = loss + proximity.mul_scalar(weights::MU / 2.0);
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &pair);
        self.pair = Some(optimizer.step(weights::LEARNING_RATE, pair, gradients));
        [y1.detach(), y2.detach()]
    }

    /// A fresh-looking perturbation for input `k`: two of its fields mixed
    /// with weights (cos t, sin t), so the variance stays INPUT_JITTER^2.
    fn next_jitter(&mut self, k: usize) -> Tensor<4> {
        let first = (self.random.next_u64() % JITTER_FIELDS as u64) as usize;
        let offset = 1 + (self.random.next_u64() % (JITTER_FIELDS as u64 - 1)) as usize;
        let second = (first + offset) % JITTER_FIELDS;
        let angle = std::f32::consts::TAU * self.random.uniform();
        let fields = &self.jitter[k];
        fields[first].clone().mul_scalar(angle.cos()) + fields[second].clone().mul_scalar(angle.sin())
    }

    /// The fixed-point step on x and the multiplier update, then the averages.
    fn update_auxiliary(&mut self, outputs: [Tensor<4>; 2]) {
        let (l, mu) = (weights::LAMBDA, weights::MU);
        for (k, y) in outputs.into_iter().enumerate() {
            let x = self.auxiliary[k].clone();
            let u = self.multipliers[k].clone();
            let denoised = tv_denoise(x, DENOISE_WEIGHT, DENOISE_ITERATIONS);
            let x = (denoised.mul_scalar(l) + (y.clone() + u.clone()).mul_scalar(mu)).div_scalar(l + mu);
            self.multipliers[k] = u + y.clone() - x.clone();
            self.auxiliary[k] = x;
            self.averages[k] = self.averages[k].clone().mul_scalar(1.0 - AVERAGE_WEIGHT) + y.mul_scalar(AVERAGE_WEIGHT);
        }
    }

    /// The current layers as images, stronger first.
    fn layers(&self, canvas: &Canvas) -> Result<[Image; 2]> {
        let read = |t: &Tensor<4>| -> Result<Vec<f32>> {
            t.clone()
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Other(format!("cannot read the layers back: {e:?}")))
        };
        let first = canvas.crop(&read(&self.averages[0])?);
        let second = canvas.crop(&read(&self.averages[1])?);
        let mean = |image: &Image| image.planes.iter().flatten().map(|&v| v as f64).sum::<f64>();
        Ok(if mean(&second) > mean(&first) {
            [second, first]
        } else {
            [first, second]
        })
    }
}
