//! `unblur [IMAGE]`: the editor window.

use std::path::{Path, PathBuf};

use unblur::app::{self, Options};

use super::Failure;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Save a screenshot of the first complete frame to this PNG, then quit.
    #[arg(long, value_name = "PATH")]
    pub screenshot: Option<PathBuf>,
    /// Start without restoring the last session.
    #[arg(long)]
    pub fresh: bool,
}

pub fn run(image: Option<&Path>, args: &Args) -> Result<(), Failure> {
    if let Some(path) = image
        && !path.is_file()
    {
        return Err(Failure::usage(format!("{}: no such file", path.display())));
    }
    if !has_display() {
        if image.is_some() || args.screenshot.is_some() {
            return Err(Failure::usage(
                "no display to open the editor on (set DISPLAY or WAYLAND_DISPLAY, or use xvfb-run)",
            ));
        }
        eprintln!("unblur: no display to open the editor on; running the built-in sample on the command line instead");
        return super::sample::run();
    }
    let options = Options {
        files: image.map(Path::to_path_buf).into_iter().collect(),
        state_dir: None,
        screenshot: args.screenshot.clone(),
        fresh: args.fresh,
        force_gpu_previews: std::env::var_os("UNBLUR_PREVIEW_GPU").is_some_and(|v| v == "1"),
    };
    app::run(options).map_err(|e| Failure {
        code: 1,
        message: format!("the editor could not start: {e}"),
    })
}

/// Linux and the BSDs need an X11 or Wayland display; other systems always have one.
fn has_display() -> bool {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd"
    )) {
        ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
    } else {
        true
    }
}
