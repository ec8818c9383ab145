//! Argument parsing and the subcommands (DESIGN.md §5). Errors end here: one
//! line on stderr and exit code 2 for bad usage or input, 1 otherwise.

mod bench;
mod blind;
mod deconv;
mod editor;
mod input;
mod metrics;
mod paths;
mod progress;
mod psf;
mod sample;
mod separate;
mod separate_single;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sharpens blurred photos.
#[derive(Parser, Debug)]
#[command(name = "unblur", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// An image to open in the editor; without one, the editor restores the
    /// last session or opens the built-in sample.
    image: Option<std::path::PathBuf>,
    #[command(flatten)]
    editor: editor::Args,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Deconvolve an image with a known PSF.
    Deconv(deconv::Args),
    /// Estimate the blur from the image alone, then deblur.
    Blind(blind::Args),
    /// Render a PSF as an image.
    Psf(psf::Args),
    /// PSNR and SSIM of an image against a reference.
    Metrics(metrics::Args),
    /// Timings of the engine.
    Bench(bench::Args),
    /// Separate two shots through glass, each focused on one layer, into the layers.
    Separate(separate::Args),
    /// Separate one photo holding two overlaid layers (a reflection, a double exposure).
    SeparateSingle(separate_single::Args),
    /// Deblur the built-in sample with every method, without a window.
    Sample,
}

/// A failure with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl From<unblur::Error> for Failure {
    fn from(error: unblur::Error) -> Self {
        Failure {
            code: if error.is_bad_input() { 2 } else { 1 },
            message: error.to_string(),
        }
    }
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "unblur: error: {} (see unblur --help)",
                one_line(&error.render().to_string())
            );
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.command {
        Some(Command::Deconv(args)) => deconv::run(&args),
        Some(Command::Blind(args)) => blind::run(&args),
        Some(Command::Psf(args)) => psf::run(&args),
        Some(Command::Metrics(args)) => metrics::run(&args),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Separate(args)) => separate::run(&args),
        Some(Command::SeparateSingle(args)) => separate_single::run(&args),
        Some(Command::Sample) => sample::run(),
        None => editor::run(cli.image.as_deref(), &cli.editor),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("unblur: error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// clap's message as one line: the problem, with the lines that name what it
/// is about (missing arguments are listed below it), without the usage text.
fn one_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad usage").trim_start_matches("error: ");
    let details: Vec<&str> = lines
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("tip:"))
        .collect();
    if details.is_empty() {
        first.to_string()
    } else {
        format!("{first} {}", details.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line_that_names_the_argument() {
        let error = Cli::try_parse_from(["unblur", "deconv", "in.png"]).unwrap_err();
        let line = one_line(&error.render().to_string());
        assert!(line.contains("--output") && line.contains("--psf"), "{line}");
        assert!(!line.contains('\n') && !line.contains("Usage"), "{line}");
        let error = Cli::try_parse_from([
            "unblur", "deconv", "in.png", "-o", "o.png", "--psf", "disk:r=2", "--method", "magic",
        ])
        .unwrap_err();
        let line = one_line(&error.render().to_string());
        assert!(line.contains("magic"), "{line}");
    }
}
