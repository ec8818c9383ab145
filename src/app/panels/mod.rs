//! Drawing the window: the toolbar and tabs, the status bar and help; the
//! side panels and the viewer live in the submodules.

mod layers;
mod method;
mod viewer;

use eframe::egui::{self, Color32};

use super::document::{Document, LayerId, LayerKind};
use super::view::Compare;
use super::{App, Pick};

pub fn draw(app: &mut App, ui: &mut egui::Ui) {
    let ctx = ui.ctx().clone();
    egui::Panel::top("toolbar").show(ui, |ui| toolbar(app, ui, &ctx));
    egui::Panel::bottom("status").show(ui, |ui| status_bar(app, ui));
    if app.documents.is_empty() {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.centered_and_justified(|ui| {
                ui.label("Open an image (Ctrl+O), drop one here, or open the built-in sample from the toolbar.");
            });
        });
        help_window(app, &ctx);
        return;
    }
    egui::Panel::left("layers")
        .default_size(230.0)
        .show(ui, |ui| layers::layers_panel(app, ui, &ctx));
    egui::Panel::right("method").default_size(300.0).show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| method::method_panel(app, ui, &ctx));
    });
    let mut hover = None;
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(document) = app.documents.get_mut(app.active) {
            hover = viewer::viewer(document, ui);
        }
    });
    if let (Some(hover), Some(document)) = (hover, app.documents.get(app.active)) {
        app.hover_text = viewer::pixel_readout(document, &hover);
    } else {
        app.hover_text.clear();
    }
    help_window(app, &ctx);
}

fn toolbar(app: &mut App, ui: &mut egui::Ui, ctx: &egui::Context) {
    ui.horizontal_wrapped(|ui| {
        if ui.button("Open…").on_hover_text("Open an image (Ctrl+O)").clicked() {
            app.pick_file(ctx, Pick::Open);
        }
        ui.menu_button("Recent", |ui| {
            if app.session.recent.is_empty() {
                ui.label("No recent files");
            }
            for path in app.session.recent.clone() {
                if ui.button(path.display().to_string()).clicked() {
                    app.open(ctx, path, None, None);
                    ui.close();
                }
            }
        });
        if ui
            .button("Sample")
            .on_hover_text("Open the built-in blurred sample")
            .clicked()
        {
            app.open_sample(ctx);
        }
        let has_document = !app.documents.is_empty();
        ui.add_enabled_ui(has_document, |ui| {
            if ui
                .button("Reference…")
                .on_hover_text("Attach the sharp original: results then show PSNR/SSIM")
                .clicked()
            {
                app.pick_file(ctx, Pick::Reference);
            }
            if ui
                .button("Export…")
                .on_hover_text("Export the selected layer (Ctrl+E)")
                .clicked()
            {
                app.pick_file(ctx, Pick::Export);
            }
            if ui
                .button("Separate…")
                .on_hover_text(
                    "Separate a reflection: choose a second shot through the same glass, focused on the other layer",
                )
                .clicked()
            {
                app.pick_file(ctx, Pick::SecondShot);
            }
            if ui
                .button("Separate layers (single image)")
                .on_hover_text(
                    "Split this photo into two overlaid layers (a reflection, a double exposure); \
                     the layers update as the networks train: cancel once they look right",
                )
                .clicked()
            {
                app.separate_single(ctx);
            }
            ui.separator();
            let (can_undo, can_redo) = app
                .document()
                .map_or((false, false), |d| (d.history.can_undo(), d.history.can_redo()));
            if ui
                .add_enabled(can_undo, egui::Button::new("Undo"))
                .on_hover_text("Ctrl+Z")
                .clicked()
            {
                app.undo();
            }
            if ui
                .add_enabled(can_redo, egui::Button::new("Redo"))
                .on_hover_text("Ctrl+Shift+Z")
                .clicked()
            {
                app.redo();
            }
            ui.separator();
            if let Some(document) = app.document_mut() {
                if ui.button("Fit").on_hover_text("Ctrl+0").clicked() {
                    document.view.fit = true;
                }
                if ui.button("100%").on_hover_text("Ctrl+1").clicked() {
                    document.view.set_zoom(1.0);
                }
                if ui.button("200%").on_hover_text("Ctrl+2").clicked() {
                    document.view.set_zoom(2.0);
                }
                ui.separator();
                let single = document.compare == Compare::Single;
                if ui.selectable_label(single, "Single").clicked() {
                    document.compare = Compare::Single;
                }
                let split = matches!(document.compare, Compare::Split { .. });
                if ui.selectable_label(split, "Before/after").on_hover_text("C").clicked() {
                    toggle_split(document);
                }
                let side = matches!(document.compare, Compare::SideBySide(_));
                if ui.selectable_label(side, "Side by side").clicked() && !side {
                    document.compare = Compare::SideBySide(default_side_by_side(document));
                }
            }
        });
        ui.separator();
        if ui.button("Help").on_hover_text("F1").clicked() {
            app.show_help = !app.show_help;
        }
    });
    // Tabs.
    ui.horizontal_wrapped(|ui| {
        let mut close = None;
        for (index, document) in app.documents.iter().enumerate() {
            let busy = if document.worker.is_idle() { "" } else { " …" };
            let tab = ui.selectable_label(index == app.active, format!("{}{busy}", document.title));
            if tab.clicked() {
                app.active = index;
            }
            tab.on_hover_text(
                document
                    .path
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string()),
            );
            if ui
                .small_button("×")
                .on_hover_text(format!("Close {}", document.title))
                .clicked()
            {
                close = Some(index);
            }
            ui.separator();
        }
        if let Some(index) = close {
            app.close_document(index);
        }
    });
}

pub fn toggle_split(document: &mut Document) {
    document.compare = match document.compare {
        Compare::Split { .. } => Compare::Single,
        _ => {
            let source = document.state.layers[0].id;
            let after = document.state.active_result().unwrap_or(source);
            Compare::Split {
                before: source,
                after,
                divider: 0.5,
            }
        }
    };
}

fn default_side_by_side(document: &Document) -> Vec<LayerId> {
    let mut layers: Vec<LayerId> = document
        .state
        .layers
        .iter()
        .filter(|l| {
            l.visible
                && matches!(
                    l.kind,
                    LayerKind::Source | LayerKind::Result(_) | LayerKind::Separated(_) | LayerKind::SingleLayer(_)
                )
        })
        .map(|l| l.id)
        .collect();
    layers.truncate(4);
    let first = layers.first().copied().unwrap_or(document.state.layers[0].id);
    while layers.len() < 2 {
        layers.push(first);
    }
    layers
}

fn status_bar(app: &mut App, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.label(&app.hover_text);
        ui.separator();
        let mut cancel = None;
        for (index, pending) in app.pending.iter().enumerate() {
            if let Some(progress) = pending.progress() {
                let (stage, fraction) = progress.status();
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .text(format!("{}: {stage}", pending.label()))
                        .desired_width(220.0),
                );
                if ui.small_button("Cancel").clicked() {
                    cancel = Some(index);
                }
            }
        }
        if let Some(index) = cancel
            && let Some(progress) = app.pending[index].progress()
        {
            progress.cancel.cancel();
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.weak(format!("GPU: {}", app.gpu_note));
        });
    });
    let mut dismiss = None;
    for (index, message) in app.messages.iter().enumerate() {
        ui.horizontal(|ui| {
            let color = if message.is_error {
                Color32::LIGHT_RED
            } else {
                Color32::LIGHT_GREEN
            };
            ui.colored_label(color, &message.text);
            if ui.small_button("Dismiss").clicked() {
                dismiss = Some(index);
            }
        });
    }
    if let Some(index) = dismiss {
        app.messages.remove(index);
    }
}

fn help_window(app: &mut App, ctx: &egui::Context) {
    let mut open = app.show_help;
    let mut open_sample = false;
    egui::Window::new("Help")
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().max_height(520.0).show(ui, |ui| {
                ui.label(HELP_TEXT);
                if ui.button("Open the example").clicked() {
                    open_sample = true;
                }
            });
        });
    app.show_help = open;
    if open_sample {
        app.open_sample(ctx);
    }
}

const HELP_TEXT: &str = "\
unblur undoes blur when you know, or can find, its shape (the PSF).

Try it on the example: it was blurred by a defocus disk of radius 6 px. Drag Radius: below 6 the result stays soft, above 6 it rings with halos. The spectrum panel shows dark rings where the blur erased detail; the orange rings are the zeros your radius predicts — match them.

Methods
• Wiener: one pass, instant. Noise K trades sharpness (small K) against noise and ringing (large K). Auto measures the noise and chooses K.
• Tikhonov: like Wiener, but penalizes roughness (a Laplacian); smoother in flat areas. λ is its strength.
• Total variation: iterative; keeps edges crisp and flat areas clean, the best for noisy or JPEG images. λ is the smoothing weight; Iterations, how long it refines.
• Richardson–Lucy: iterative and never negative; good for bright points (stars, lights). More iterations = sharper and noisier.

PSF models
• Defocus disk: Radius of the blur circle; Feather softens its edge (real lenses).
• Gaussian: Sigma x / y and Angle, for soft, atmospheric or lens blur.
• Motion: Length and Angle of a straight camera movement (angle counter-clockwise from the right).
• Kernel from file: a grayscale image of the blur, e.g. one estimated elsewhere.

Output
• Strength blends the result with the original.
• Luminance only sharpens brightness and keeps the original colours (less colour noise).
• Light space: blur happens in linear light. 8-bit images and JPEGs are sRGB and are converted; 16-bit untagged files are taken as linear. Switch it if a result looks wrong in dark areas.

Reflections
• Separate…: two shots through the same glass, one focused on the scene, one on the reflection.
• Separate layers (single image): one photo split into two overlaid layers by two small networks trained on it; the layers update every 200 iterations (50 on the CPU). Cancel keeps what is shown. Minutes on a GPU, much longer on the CPU.

Compare: Before/after (C) splits the view with a draggable divider; Side by side shows 2-4 layers with one zoom. Attach the sharp original (Reference…) to see PSNR/SSIM.
Zoom with the wheel, pan by dragging; Ctrl+0 fit, Ctrl+1 100%, Ctrl+2 200%. Ctrl+Z / Ctrl+Shift+Z undo and redo; Ctrl+O open; Ctrl+E export.
Your documents and parameters are saved continuously and come back after a restart.";
