//! Single-image layer separation from the editor: the document's image is
//! split into two layers on a job thread; the layers so far arrive every
//! few hundred iterations, so the user can stop once they look right (the
//! last ones shown are kept).

use std::sync::Arc;
use std::sync::mpsc::Sender;

use eframe::egui::{self, ColorImage};

use crate::engine::Backend;
use crate::imaging::{Image, LightSpace};
use crate::jobs::Progress;
use crate::separate_single::{self, SingleOptions};

use super::display;

/// Iterations between previews on a GPU, and on the CPU.
pub const PREVIEW_EVERY: usize = 200;
pub const PREVIEW_EVERY_CPU: usize = 50;

/// Two layers ready to show: final, or part way through.
pub struct Layers {
    /// Iterations done.
    pub iteration: usize,
    pub images: [Arc<Image>; 2],
    pub shown: [ColorImage; 2],
}

/// The finished separation.
pub struct Finished {
    pub layers: Layers,
    pub device: String,
}

/// The options the editor runs with: the paper's iterations and working
/// size, with the backend's default width; on the CPU, previews every 50
/// iterations (about a minute and a half on two cores).
pub fn options() -> SingleOptions {
    let on_cpu = separate_single::runs_on_cpu(Backend::Auto);
    SingleOptions {
        width: separate_single::default_width(Backend::Auto),
        preview_every: if on_cpu { PREVIEW_EVERY_CPU } else { PREVIEW_EVERY },
        ..SingleOptions::default()
    }
}

/// Separates `image` (linear light) with `options`, sending previews to `previews`.
pub fn run(
    image: &Image,
    space: LightSpace,
    options: &SingleOptions,
    max_side: usize,
    previews: &Sender<Layers>,
    ctx: &egui::Context,
    progress: &dyn Progress,
) -> Result<Finished, String> {
    let mut send_preview = |preview: separate_single::Preview| {
        let _ = previews.send(to_layers(preview.iteration, preview.layers, space, max_side));
        ctx.request_repaint();
    };
    let separation =
        separate_single::separate_single(image, options, progress, &mut send_preview).map_err(|e| e.to_string())?;
    Ok(Finished {
        layers: to_layers(options.iterations, separation.layers, space, max_side),
        device: separation.device,
    })
}

fn to_layers(iteration: usize, images: [Image; 2], space: LightSpace, max_side: usize) -> Layers {
    let shown = [
        display::to_color_image(&images[0], space, max_side).0,
        display::to_color_image(&images[1], space, max_side).0,
    ];
    let [a, b] = images;
    Layers {
        iteration,
        images: [Arc::new(a), Arc::new(b)],
        shown,
    }
}
