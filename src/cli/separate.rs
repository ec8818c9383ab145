//! `unblur separate M1 M2 -o L1 -o L2 [--window N] [--report]`: two shots
//! through glass, each focused on one layer, into the two layers (L1: the
//! layer in focus in M1; L2: in M2).

use std::path::{Path, PathBuf};

use unblur::imaging::{self, DecodeOptions, Decoded, EncodeOptions, Image};
use unblur::separate::{self, SeparateOptions};

use super::Failure;
use super::paths::refuse_overwriting_inputs;
use super::progress::TerminalProgress;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shot focused on layer 1 (PNG, JPEG or TIFF).
    pub m1: PathBuf,
    /// The shot focused on layer 2.
    pub m2: PathBuf,
    /// Where to write layer 1, then layer 2: `-o L1 -o L2`.
    #[arg(short, long = "output", required = true)]
    pub outputs: Vec<PathBuf>,
    /// STFT window side in pixels (default: chosen from the fitted blur).
    #[arg(long)]
    pub window: Option<usize>,
    /// Print the fitted widths, gains, window and registration shift.
    #[arg(long)]
    pub report: bool,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let (l1, l2) = check_two_outputs("separate", &args.outputs)?;
    if let Some(window) = args.window
        && window < 8
    {
        return Err(Failure::usage("--window must be at least 8 pixels"));
    }
    for output in [l1, l2] {
        refuse_overwriting_inputs(output, &[&args.m1, &args.m2])?;
        imaging::check_output_path(output)?;
    }
    let m1 = super::input::load(&args.m1, &DecodeOptions::default())?;
    let mut m2 = super::input::load(&args.m2, &DecodeOptions::default())?;
    // Both shots in the first one's units (float files are scaled each by
    // its own largest value), as the layers are written in them.
    m2.rescale_to(m1.scale);
    let progress = TerminalProgress::new();
    let outcome = separate::separate_pair(
        &m1.image,
        &m2.image,
        &SeparateOptions { window: args.window },
        &progress,
    );
    progress.finish();
    let separation = outcome.map_err(|e| match e {
        unblur::Error::BadParameter(m) => {
            Failure::usage(format!("{} and {}: {m}", args.m1.display(), args.m2.display()))
        }
        other => other.into(),
    })?;
    let [layer1, layer2] = &separation.layers;
    save_both([(l1, layer1), (l2, layer2)], &m1)?;
    if args.report {
        println!("{}", separation.report);
    }
    Ok(())
}

/// The two output paths of a command that writes two layers, refused when
/// there are not two or both name the same file.
pub(super) fn check_two_outputs<'a>(command: &str, outputs: &'a [PathBuf]) -> Result<(&'a Path, &'a Path), Failure> {
    let [l1, l2] = outputs else {
        return Err(Failure::usage(format!(
            "{command} writes two layers: give -o L1 -o L2 (got {} output{})",
            outputs.len(),
            if outputs.len() == 1 { "" } else { "s" }
        )));
    };
    if same_file(l1, l2) {
        return Err(Failure::usage(format!(
            "{}: both layers would be written to the same file",
            l1.display()
        )));
    }
    Ok((l1, l2))
}

fn same_file(a: &Path, b: &Path) -> bool {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    absolute(a) == absolute(b)
}

/// Writes both layers, each through a temporary file next to its
/// destination, and renames them into place only once both are written: a
/// failed encode or write leaves no output at all, never a truncated one.
pub(super) fn save_both(layers: [(&Path, &Image); 2], like: &Decoded) -> Result<(), Failure> {
    let options = EncodeOptions {
        // The input's depth: float data stays float in a TIFF.
        depth: like.depth,
        space: like.space,
        ..EncodeOptions::default()
    };
    let mut written: Vec<(PathBuf, &Path)> = Vec::new();
    for (path, image) in layers {
        let temporary = temporary_sibling(path);
        if let Err(e) = imaging::save(&temporary, &like.in_file_units(image, options.depth), &options) {
            for (t, _) in &written {
                let _ = std::fs::remove_file(t);
            }
            return Err(e.into());
        }
        written.push((temporary, path));
    }
    for (temporary, path) in &written {
        if let Err(e) = std::fs::rename(temporary, path) {
            for (t, _) in &written {
                let _ = std::fs::remove_file(t);
            }
            return Err(Failure {
                code: 1,
                message: format!("{}: cannot write: {e}", path.display()),
            });
        }
    }
    Ok(())
}

/// A hidden name in `path`'s folder with its extension (which picks the format).
fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.partial.{extension}", std::process::id()))
}
