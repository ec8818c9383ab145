//! `unblur blind INPUT -o OUTPUT [--kernel-out K.png] [--kernel-size N]
//! [--model free|disk|gaussian|motion] [--backend cpu|gpu|auto]`: estimate
//! the blur, then deblur.

use std::path::PathBuf;

use clap::ValueEnum;
use unblur::blind::{self, KernelOptions, ParametricModel};
use unblur::imaging::{self, DecodeOptions, EncodeOptions};
use unblur::psf::Kernel;

use super::Failure;
use super::deconv::BackendArg;
use super::paths::refuse_overwriting_inputs;
use super::progress::TerminalProgress;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The blurred image (PNG, JPEG or TIFF).
    pub input: PathBuf,
    /// Where to write the deblurred result (.png, .jpg or .tif).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the estimated kernel as a 16-bit PNG (maximum white), which
    /// `--psf file:K.png` reads back.
    #[arg(long)]
    pub kernel_out: Option<PathBuf>,
    /// Side of the free-form kernel in pixels (odd; default: suggested from
    /// the image).
    #[arg(long)]
    pub kernel_size: Option<usize>,
    /// The blur model to estimate: a free-form kernel (camera shake) or a
    /// parametric PSF.
    #[arg(long, value_enum, default_value_t = ModelArg::Free)]
    pub model: ModelArg,
    /// Where the final deconvolution runs (the estimate itself runs on the CPU).
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelArg {
    Free,
    Disk,
    Gaussian,
    Motion,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let mut outputs = vec![&args.output];
    if let Some(kernel_out) = &args.kernel_out {
        outputs.push(kernel_out);
        let is_png = kernel_out.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if !is_png {
            return Err(Failure::usage(format!(
                "{}: --kernel-out writes a 16-bit PNG; give a .png path",
                kernel_out.display()
            )));
        }
        if kernel_out == &args.output {
            return Err(Failure::usage("--kernel-out and -o name the same file"));
        }
    }
    for output in &outputs {
        refuse_overwriting_inputs(output, &[&args.input])?;
        imaging::check_output_path(output)?;
    }
    if args.kernel_size.is_some() && args.model != ModelArg::Free {
        return Err(Failure::usage("--kernel-size applies to --model free only"));
    }
    let decoded = super::input::load(&args.input, &DecodeOptions::default())?;
    let image = &decoded.image;
    let named = |e: unblur::Error| match e {
        unblur::Error::BadParameter(m) => Failure::usage(format!("{}: {m}", args.input.display())),
        other => other.into(),
    };
    let progress = TerminalProgress::new();
    let estimated = estimate(args, image, &progress);
    progress.finish();
    let (kernel, description, warnings) = estimated.map_err(named)?;
    for warning in &warnings {
        eprintln!("unblur: warning: {}: {warning}", args.input.display());
    }
    if let Some(kernel_out) = &args.kernel_out {
        kernel.save_png(kernel_out)?;
    }
    let progress = TerminalProgress::new();
    let restored = blind::deblur(
        image,
        &kernel,
        imaging::noise_floor(&decoded),
        args.backend.into(),
        &progress,
    );
    progress.finish();
    let (result, applied, used) = restored.map_err(named)?;
    imaging::save(
        &args.output,
        &decoded.in_file_units(&result, decoded.depth),
        &EncodeOptions {
            // The input's depth: float data stays float in a TIFF.
            depth: decoded.depth,
            space: decoded.space,
            jpeg_quality: 95,
        },
    )?;
    eprintln!(
        "unblur: {description}; {applied}{} {used}",
        super::input::scale_note(&decoded)
    );
    Ok(())
}

/// The kernel, a one-line description of it, and warnings about the input.
fn estimate(
    args: &Args,
    image: &imaging::Image,
    progress: &TerminalProgress,
) -> unblur::Result<(Kernel, String, Vec<String>)> {
    let model = match args.model {
        ModelArg::Free => {
            let options = KernelOptions {
                kernel_size: args.kernel_size,
                region: None,
            };
            let estimate = blind::estimate_kernel(image, &options, progress)?;
            let how = if estimate.size_suggested { "suggested" } else { "given" };
            let description = format!("estimated a {0}x{0} kernel ({how} size)", estimate.size);
            return Ok((estimate.kernel, description, estimate.warnings));
        }
        ModelArg::Disk => ParametricModel::Disk,
        ModelArg::Gaussian => ParametricModel::Gaussian,
        ModelArg::Motion => ParametricModel::Motion,
    };
    let estimate = blind::estimate_parametric(image, model, progress)?;
    let kernel = estimate.spec.kernel()?;
    let description = format!("estimated {} (confidence {:.2})", estimate.spec, estimate.confidence);
    Ok((kernel, description, estimate.warnings))
}
