//! `unblur separate-single IMAGE -o L1 -o L2 [--iters N] [--size S] [--seed S]`:
//! one photo holding two overlaid layers (a scene and its reflection, a
//! double exposure) into the two layers, stronger first.

use std::path::PathBuf;

use unblur::imaging::{self, DecodeOptions};
use unblur::separate_single::{self, SingleOptions};

use super::Failure;
use super::deconv::{BackendArg, SpaceArg};
use super::paths::refuse_overwriting_inputs;
use super::progress::TerminalProgress;
use super::separate::{check_two_outputs, save_both};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The photo (PNG, JPEG or TIFF).
    pub image: PathBuf,
    /// Where to write the stronger layer, then the other: `-o L1 -o L2`.
    #[arg(short, long = "output", required = true)]
    pub outputs: Vec<PathBuf>,
    /// Optimization steps (the method's paper uses 8000).
    #[arg(long, default_value_t = 8000)]
    pub iters: usize,
    /// Longest side of the working image; larger photos are shrunk to it and
    /// the layers are written at that size.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Seed of the networks' weights and inputs: the same seed gives the same layers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Channels per network level (default: 128 as in the paper on a GPU, 32
    /// on the CPU; fewer is faster and coarser).
    #[arg(long)]
    pub width: Option<usize>,
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    #[arg(long, value_enum, default_value_t = SpaceArg::Auto)]
    pub space: SpaceArg,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let (l1, l2) = check_two_outputs("separate-single", &args.outputs)?;
    for output in [l1, l2] {
        refuse_overwriting_inputs(output, &[&args.image])?;
        imaging::check_output_path(output)?;
    }
    let mut options = SingleOptions {
        iterations: args.iters,
        size: args.size,
        seed: args.seed,
        // A valid stand-in until the adapter probe below sets the default.
        width: args.width.unwrap_or(128),
        backend: args.backend.into(),
        preview_every: 0,
    };
    separate_single::validate_options(&options).map_err(|e| Failure::usage(e.to_string()))?;
    let decoded = super::input::load(
        &args.image,
        &DecodeOptions {
            space: args.space.into(),
            ..DecodeOptions::default()
        },
    )?;
    separate_single::validate_image(&decoded.image)
        .map_err(|e| Failure::usage(format!("{}: {e}", args.image.display())))?;
    // Only valid options and a usable image reach the adapter probe the
    // default width needs.
    if args.width.is_none() {
        options.width = separate_single::default_width(options.backend);
    }
    let progress = TerminalProgress::new();
    let outcome = separate_single::separate_single(&decoded.image, &options, &progress, &mut |_| {});
    progress.finish();
    let separation = outcome.map_err(|e| match e {
        unblur::Error::BadParameter(m) => Failure::usage(format!("{}: {m}", args.image.display())),
        other => other.into(),
    })?;
    let [layer1, layer2] = &separation.layers;
    save_both([(l1, layer1), (l2, layer2)], &decoded)?;
    eprintln!(
        "unblur: layers {}x{} iterations={} backend={}",
        layer1.width, layer1.height, args.iters, separation.device
    );
    Ok(())
}
