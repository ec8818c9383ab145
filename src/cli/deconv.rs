//! `unblur deconv INPUT -o OUTPUT --psf SPEC [...]`.

use std::path::PathBuf;

use clap::ValueEnum;
use unblur::deconv::{Boundary, Method, Settings};
use unblur::engine::{self, Backend};
use unblur::imaging::{self, BitDepth, DecodeOptions, EncodeOptions, SpaceChoice};
use unblur::psf::PsfSpec;

use super::Failure;
use super::paths::refuse_overwriting_inputs;
use super::progress::TerminalProgress;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The blurred image (PNG, JPEG or TIFF).
    pub input: PathBuf,
    /// Where to write the result (.png, .jpg or .tif).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The blur: disk:r=6[,feather=F], gaussian:sigma=3, gaussian:sx=1,sy=3,angle=30,
    /// motion:len=15,angle=30 or file:PATH.
    #[arg(long)]
    pub psf: String,
    #[arg(long, value_enum, default_value_t = MethodArg::Wiener)]
    pub method: MethodArg,
    /// Wiener's noise-to-signal ratio (default: chosen from the image).
    #[arg(long, allow_negative_numbers = true)]
    pub nsr: Option<f64>,
    /// Tikhonov's or TV's regularization weight (default: chosen from the image).
    #[arg(long, allow_negative_numbers = true)]
    pub lambda: Option<f64>,
    /// Iterations of TV or Richardson–Lucy.
    #[arg(long)]
    pub iters: Option<usize>,
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    #[arg(long, value_enum, default_value_t = BoundaryArg::Auto)]
    pub boundary: BoundaryArg,
    #[arg(long, value_enum, default_value_t = SpaceArg::Auto)]
    pub space: SpaceArg,
    /// Output bits per sample (default: as the input).
    #[arg(long, value_parser = ["8", "16"])]
    pub depth: Option<String>,
    /// JPEG output quality.
    #[arg(long, default_value_t = 95, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Refuse images above this many megapixels.
    #[arg(long, default_value_t = imaging::DEFAULT_MAX_MEGAPIXELS)]
    pub max_megapixels: f64,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    Wiener,
    Tikhonov,
    Tv,
    Rl,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    Cpu,
    Gpu,
    Auto,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum BoundaryArg {
    Auto,
    Periodic,
    Reflect,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SpaceArg {
    Auto,
    Srgb,
    Linear,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Wiener => Method::Wiener,
            MethodArg::Tikhonov => Method::Tikhonov,
            MethodArg::Tv => Method::TotalVariation,
            MethodArg::Rl => Method::RichardsonLucy,
        }
    }
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Cpu => Backend::Cpu,
            BackendArg::Gpu => Backend::Gpu,
            BackendArg::Auto => Backend::Auto,
        }
    }
}

impl From<BoundaryArg> for Boundary {
    fn from(b: BoundaryArg) -> Self {
        match b {
            BoundaryArg::Auto => Boundary::Auto,
            BoundaryArg::Periodic => Boundary::Periodic,
            BoundaryArg::Reflect => Boundary::Reflect,
        }
    }
}

impl From<SpaceArg> for SpaceChoice {
    fn from(s: SpaceArg) -> Self {
        match s {
            SpaceArg::Auto => SpaceChoice::Auto,
            SpaceArg::Srgb => SpaceChoice::Srgb,
            SpaceArg::Linear => SpaceChoice::Linear,
        }
    }
}

pub fn run(args: &Args) -> Result<(), Failure> {
    if !(args.max_megapixels.is_finite() && args.max_megapixels > 0.0) {
        return Err(Failure::usage("--max-megapixels must be a positive number"));
    }
    refuse_overwriting_inputs(&args.output, &[&args.input])?;
    imaging::check_output_path(&args.output)?;
    let spec: PsfSpec = args
        .psf
        .parse()
        .map_err(|e: unblur::Error| Failure::usage(format!("--psf: {e}")))?;
    let kernel = spec.kernel()?;
    let decoded = super::input::load(
        &args.input,
        &DecodeOptions {
            space: args.space.into(),
            max_megapixels: args.max_megapixels,
        },
    )?;
    let settings = Settings {
        method: args.method.into(),
        nsr: args.nsr,
        lambda: args.lambda,
        iterations: args.iters,
        boundary: args.boundary.into(),
        noise_floor: imaging::noise_floor(&decoded),
        source_space: decoded.space,
        tv_weight_per_variance: None,
    };
    let progress = TerminalProgress::new();
    let outcome = engine::deconvolve(&decoded.image, &kernel, &settings, args.backend.into(), &progress);
    progress.finish();
    let (result, applied, used) = outcome.map_err(|e| match e {
        unblur::Error::BadParameter(m) => Failure::usage(format!("{}: {m}", args.input.display())),
        other => other.into(),
    })?;
    let depth = match args.depth.as_deref() {
        Some("8") => BitDepth::Eight,
        Some(_) => BitDepth::Sixteen,
        // The input's depth: float data stays float in a TIFF.
        None => decoded.depth,
    };
    imaging::save(
        &args.output,
        &decoded.in_file_units(&result, depth),
        &EncodeOptions {
            depth,
            space: decoded.space,
            jpeg_quality: args.quality,
        },
    )?;
    let space = if decoded.space == imaging::LightSpace::Srgb {
        "srgb"
    } else {
        "linear"
    };
    eprintln!(
        "unblur: {applied} space={space}{} {used}",
        super::input::scale_note(&decoded)
    );
    Ok(())
}
