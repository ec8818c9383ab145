//! `unblur psf SPEC -o K.png`: render a PSF as an image.

use std::path::PathBuf;

use unblur::imaging::{self, BitDepth, EncodeOptions, LightSpace};
use unblur::psf::PsfSpec;

use super::Failure;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The PSF spec, e.g. disk:r=6 or motion:len=15,angle=30.
    pub spec: String,
    /// The image to write: 16-bit, values proportional to the PSF, maximum
    /// white (read back with --psf file:K.png).
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let spec: PsfSpec = args
        .spec
        .parse()
        .map_err(|e: unblur::Error| Failure::usage(e.to_string()))?;
    if let PsfSpec::File(path) = &spec {
        super::paths::refuse_overwriting_inputs(&args.output, &[path])?;
    }
    let kernel = spec.kernel()?;
    let options = EncodeOptions {
        depth: BitDepth::Sixteen,
        space: LightSpace::Linear,
        jpeg_quality: 100,
    };
    imaging::save(&args.output, &kernel.to_display_image(), &options)?;
    eprintln!("unblur: {spec} -> {}x{} kernel", kernel.width, kernel.height);
    Ok(())
}
