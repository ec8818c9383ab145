//! Drawing the window: the toolbar and tabs, the layers and method panels,
//! the PSF and spectrum panel, the viewer and the status bar.

use crate::deconv::Method;
use crate::imaging::{BitDepth, LightSpace, SpaceChoice};
use eframe::egui::{self, Color32, RichText, Sense, Vec2, vec2};

use super::display;
use super::document::{Document, LayerId, LayerKind, TEXTURE_OPTIONS};
use super::params::{PsfModel, method_label};
use super::view::{self, Compare, Hover};
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
        .show(ui, |ui| layers_panel(app, ui, &ctx));
    egui::Panel::right("method").default_size(300.0).show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| method_panel(app, ui, &ctx));
    });
    let mut hover = None;
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(document) = app.documents.get_mut(app.active) {
            hover = viewer(document, ui);
        }
    });
    if let (Some(hover), Some(document)) = (hover, app.documents.get(app.active)) {
        app.hover_text = pixel_readout(document, &hover);
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
                    LayerKind::Source | LayerKind::Result(_) | LayerKind::Separated(_)
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

fn layers_panel(app: &mut App, ui: &mut egui::Ui, ctx: &egui::Context) {
    ui.heading("Layers");
    let Some(document) = app.documents.get_mut(app.active) else {
        return;
    };
    let mut export = None;
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - 120.0)
        .show(ui, |ui| {
            for layer in document.state.layers.iter_mut().rev() {
                ui.horizontal(|ui| {
                    ui.checkbox(&mut layer.visible, "")
                        .on_hover_text(format!("Offer {} in the side-by-side view", layer.name));
                    let selected = document.state.selected == layer.id;
                    let computed = document.computed.get(&layer.id);
                    let mut text = RichText::new(&layer.name);
                    if computed.is_some_and(|c| c.error.is_some()) {
                        text = text.color(Color32::LIGHT_RED);
                    }
                    let response = ui.selectable_label(selected, text);
                    if response.clicked() {
                        document.state.selected = layer.id;
                    }
                    if let Some(quality) = computed.and_then(|c| c.quality) {
                        ui.weak(format!("{:.2} dB", quality.psnr_db));
                    }
                });
            }
        });
    ui.separator();
    let selected = document.state.selected;
    let mut remove = false;
    let mut duplicate = false;
    if let Some(layer) = document.state.layer_mut(selected) {
        ui.horizontal(|ui| {
            ui.label("Name");
            ui.text_edit_singleline(&mut layer.name);
        });
        ui.horizontal(|ui| {
            let removable = layer.kind != LayerKind::Source;
            duplicate = ui
                .add_enabled(removable, egui::Button::new("Duplicate"))
                .on_hover_text("A copy with these parameters")
                .clicked();
            remove = ui.add_enabled(removable, egui::Button::new("Delete")).clicked();
            if ui.button("Export…").clicked() {
                export = Some(());
            }
        });
    }
    let options = &mut app.export_options;
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("Export depth")
            .selected_text(match options.depth {
                None => "as source",
                Some(BitDepth::Eight) => "8-bit",
                Some(_) => "16-bit",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut options.depth, None, "as source");
                ui.selectable_value(&mut options.depth, Some(BitDepth::Eight), "8-bit");
                ui.selectable_value(&mut options.depth, Some(BitDepth::Sixteen), "16-bit");
            });
    });
    ui.add(egui::Slider::new(&mut options.jpeg_quality, 1..=100).text("JPEG quality"));
    if duplicate {
        document.state.duplicate(selected);
    }
    if remove {
        document.state.remove(selected);
    }
    if export.is_some() {
        app.pick_file(ctx, Pick::Export);
    }
}

fn method_panel(app: &mut App, ui: &mut egui::Ui, ctx: &egui::Context) {
    let presets = app.state_dir.presets();
    let Some(document) = app.documents.get_mut(app.active) else {
        return;
    };
    let mut actions = Vec::new();
    // Light space: shown, and switchable.
    ui.heading("Image");
    let chosen = document.state.space;
    let current = match document.source.space {
        LightSpace::Srgb => "sRGB",
        LightSpace::Linear => "linear",
    };
    let mut space = chosen;
    egui::ComboBox::from_label("Light space")
        .selected_text(match chosen {
            SpaceChoice::Auto => format!("Auto ({current})"),
            _ => current.to_string(),
        })
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut space, SpaceChoice::Auto, "Auto");
            ui.selectable_value(&mut space, SpaceChoice::Srgb, "sRGB");
            ui.selectable_value(&mut space, SpaceChoice::Linear, "Linear");
        });
    if space != chosen {
        actions.push(Action::Space(space));
    }
    ui.label(format!(
        "{}x{}, {} channel{}",
        document.source.image.width,
        document.source.image.height,
        document.source.image.channels(),
        if document.source.image.channels() == 1 { "" } else { "s" }
    ));

    let Some(active) = document.state.active_result() else {
        ui.separator();
        if ui.button("Add result").clicked() {
            let name = super::Params::default().summary();
            let id = document.state.add(LayerKind::Result(super::Params::default()), &name);
            document.state.selected = id;
        }
        apply_actions(app, ctx, actions);
        return;
    };
    let applied = document.computed.get(&active).and_then(|c| c.applied.clone());
    let running = document.worker.running();
    let error = document.computed.get(&active).and_then(|c| c.error.clone());
    let layer_name = document.state.layer(active).map(|l| l.name.clone()).unwrap_or_default();
    let params = document.state.params_mut(active).expect("active result");
    ui.separator();
    ui.heading("Result");
    ui.label(RichText::new(&layer_name).weak());

    egui::ComboBox::from_label("Method")
        .selected_text(method_label(params.method.method))
        .show_ui(ui, |ui| {
            for method in Method::ALL {
                ui.selectable_value(&mut params.method.method, method, method_label(method));
            }
        });
    let auto = |value: Option<f64>| value.map_or(" (auto)", |_| "");
    match params.method.method {
        Method::Wiener => {
            let shown = applied.as_ref().and_then(|a| a.parameter).unwrap_or(1e-3);
            let label = format!("Noise K{}", auto(params.method.nsr));
            log_slider(ui, &mut params.method.nsr, shown, 1e-7..=1.0, &label);
        }
        Method::Tikhonov => {
            let shown = applied.as_ref().and_then(|a| a.parameter).unwrap_or(1e-3);
            let label = format!("Regularization λ{}", auto(params.method.lambda));
            log_slider(ui, &mut params.method.lambda, shown, 1e-7..=10.0, &label);
        }
        Method::TotalVariation => {
            let shown = applied.as_ref().and_then(|a| a.parameter).unwrap_or(1e-3);
            let label = format!("Regularization λ{}", auto(params.method.lambda));
            log_slider(ui, &mut params.method.lambda, shown, 1e-7..=1.0, &label);
            iterations_slider(
                ui,
                &mut params.method.iterations,
                applied.as_ref().and_then(|a| a.iterations),
            );
        }
        Method::RichardsonLucy => {
            iterations_slider(
                ui,
                &mut params.method.iterations,
                applied.as_ref().and_then(|a| a.iterations),
            );
        }
    }

    ui.separator();
    ui.heading("Blur (PSF)");
    egui::ComboBox::from_label("PSF model")
        .selected_text(params.psf.model.label())
        .show_ui(ui, |ui| {
            for model in PsfModel::ALL {
                ui.selectable_value(&mut params.psf.model, model, model.label());
            }
        });
    let defaults = super::PsfParams::default();
    match params.psf.model {
        PsfModel::Disk => {
            slider(ui, &mut params.psf.radius, 0.5..=60.0, "Radius", " px", defaults.radius);
            slider(
                ui,
                &mut params.psf.feather,
                0.0..=10.0,
                "Feather",
                " px",
                defaults.feather,
            );
        }
        PsfModel::Gaussian => {
            slider(
                ui,
                &mut params.psf.sigma_x,
                0.2..=30.0,
                "Sigma x",
                " px",
                defaults.sigma_x,
            );
            slider(
                ui,
                &mut params.psf.sigma_y,
                0.2..=30.0,
                "Sigma y",
                " px",
                defaults.sigma_y,
            );
            slider(
                ui,
                &mut params.psf.gaussian_angle,
                -90.0..=90.0,
                "Angle",
                "°",
                defaults.gaussian_angle,
            );
        }
        PsfModel::Motion => {
            slider(
                ui,
                &mut params.psf.length,
                1.0..=150.0,
                "Length",
                " px",
                defaults.length,
            );
            slider(
                ui,
                &mut params.psf.motion_angle,
                -90.0..=90.0,
                "Angle",
                "°",
                defaults.motion_angle,
            );
        }
        PsfModel::File => {
            let name = params
                .psf
                .file
                .as_ref()
                .map_or("none".to_string(), |p| p.display().to_string());
            ui.label(format!("Kernel: {name}"));
            if ui.button("Choose kernel…").clicked() {
                actions.push(Action::PickKernel);
            }
            if params.psf.file.is_some() {
                ui.horizontal(|ui| {
                    ui.add(
                        egui::Slider::new(&mut document.kernel_threshold, 0.0..=0.5)
                            .text("Threshold")
                            .max_decimals(2),
                    )
                    .on_hover_text("Remove kernel weights below this fraction of its peak");
                    if ui.button("Apply").clicked() {
                        actions.push(Action::EditKernel(None));
                    }
                });
                ui.weak("Click a pixel of the PSF below to erase it.");
            }
        }
    }

    // Blind estimation: from the whole image or a drawn region.
    ui.horizontal(|ui| {
        let parametric = params.psf.model != PsfModel::File;
        if ui
            .add_enabled(parametric, egui::Button::new("Estimate"))
            .on_hover_text("Fit this PSF model to the image (or the region) and set the sliders")
            .clicked()
        {
            actions.push(Action::Estimate(false));
        }
        if ui
            .button("Estimate kernel")
            .on_hover_text("Estimate a free-form kernel (camera shake) from the image or the region")
            .clicked()
        {
            actions.push(Action::Estimate(true));
        }
    });
    ui.horizontal(|ui| {
        let mut auto = document.kernel_size.is_none();
        ui.checkbox(&mut auto, "Auto size");
        let mut size = document.kernel_size.unwrap_or(31);
        ui.add_enabled(
            !auto,
            egui::Slider::new(&mut size, 5..=101).text("Kernel size").suffix(" px"),
        );
        document.kernel_size = (!auto).then_some(size | 1);
    });
    ui.horizontal(|ui| {
        let label = if document.drawing_region {
            "Drawing: drag on the image"
        } else {
            "Draw region"
        };
        if ui
            .selectable_label(document.drawing_region, label)
            .on_hover_text("Estimation works best on a textured region")
            .clicked()
        {
            document.drawing_region = !document.drawing_region;
            document.compare = Compare::Single;
        }
        if let Some(region) = document.region {
            ui.weak(format!(
                "{}x{} at {},{}",
                region.width, region.height, region.left, region.top
            ));
            if ui
                .small_button("clear")
                .on_hover_text("Estimate from the whole image")
                .clicked()
            {
                document.region = None;
            }
        }
    });

    ui.separator();
    ui.heading("Output");
    ui.add(egui::Slider::new(&mut params.strength, 0.0..=1.0).text("Strength"))
        .on_hover_text("Blend of the result (1) with the original (0)");
    if params.method.method != Method::Wiener || params.strength != 1.0 {
        // Keeps the layout stable whatever the method.
    }
    ui.checkbox(&mut params.luminance_only, "Luminance only")
        .on_hover_text("Sharpen brightness only; colours stay as they were (less colour noise)");

    ui.separator();
    ui.horizontal(|ui| {
        if ui
            .button("Add result")
            .on_hover_text("A new result layer with these parameters")
            .clicked()
        {
            actions.push(Action::AddResult);
        }
        if ui
            .button("Reset")
            .on_hover_text("Default parameters for this layer")
            .clicked()
        {
            actions.push(Action::Reset);
        }
    });
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("Preset")
            .selected_text("load…")
            .show_ui(ui, |ui| {
                for name in &presets {
                    if ui.button(name).clicked() {
                        actions.push(Action::LoadPreset(name.clone()));
                    }
                }
            });
    });
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut app.preset_name)
                .desired_width(120.0)
                .hint_text("preset name"),
        );
        if ui.button("Save preset").clicked() {
            actions.push(Action::SavePreset);
        }
    });

    // Progress of this document's preview, with cancel.
    if let Some((layer, (stage, fraction))) = running
        && layer == active
    {
        ui.horizontal(|ui| {
            ui.add(egui::ProgressBar::new(fraction).text(stage).desired_width(180.0));
            if ui.button("Cancel").clicked() {
                actions.push(Action::Cancel);
            }
        });
    }
    if let Some(applied) = &applied {
        ui.label(RichText::new(applied.to_string()).small().weak());
    }
    if let Some(error) = error {
        ui.colored_label(Color32::LIGHT_RED, error);
    }

    ui.separator();
    if let Some(erase) = psf_and_spectrum(document, ui, active) {
        actions.push(Action::EditKernel(Some(erase)));
    }
    apply_actions(app, ctx, actions);
}

enum Action {
    Estimate(bool),
    EditKernel(Option<(usize, usize)>),
    Space(SpaceChoice),
    PickKernel,
    AddResult,
    Reset,
    LoadPreset(String),
    SavePreset,
    Cancel,
}

fn apply_actions(app: &mut App, ctx: &egui::Context, actions: Vec<Action>) {
    for action in actions {
        match action {
            Action::Estimate(free_form) => app.estimate_psf(ctx, free_form),
            Action::EditKernel(erase) => app.edit_kernel(erase),
            Action::Space(space) => app.set_space(ctx, space),
            Action::PickKernel => app.pick_file(ctx, Pick::Kernel),
            Action::AddResult => {
                app.add_result();
            }
            Action::Reset => {
                if let Some(document) = app.document_mut()
                    && let Some(id) = document.state.active_result()
                    && let Some(params) = document.state.params_mut(id)
                {
                    let psf = params.psf.clone();
                    *params = super::Params {
                        psf,
                        ..Default::default()
                    };
                }
            }
            Action::LoadPreset(name) => match app.state_dir.load_preset(&name) {
                Ok(preset) => {
                    if let Some(document) = app.document_mut()
                        && let Some(id) = document.state.active_result()
                        && let Some(params) = document.state.params_mut(id)
                    {
                        *params = preset;
                    }
                }
                Err(error) => app.error(error),
            },
            Action::SavePreset => {
                let params = app
                    .document()
                    .and_then(|d| d.state.active_result().and_then(|id| d.state.params(id)).cloned());
                if let Some(params) = params {
                    match app.state_dir.save_preset(&app.preset_name, &params) {
                        Ok(()) => app.info(format!("preset '{}' saved", app.preset_name.trim())),
                        Err(error) => app.error(error),
                    }
                }
            }
            Action::Cancel => {
                if let Some(document) = app.document() {
                    document.worker.cancel_all();
                }
            }
        }
    }
}

/// A slider with its numeric entry and a reset button.
fn slider(
    ui: &mut egui::Ui,
    value: &mut f64,
    range: std::ops::RangeInclusive<f64>,
    label: &str,
    unit: &str,
    default: f64,
) {
    ui.horizontal(|ui| {
        ui.add(egui::Slider::new(value, range).text(label).suffix(unit).max_decimals(2));
        if ui
            .small_button("reset")
            .on_hover_text(format!("Reset {label}"))
            .clicked()
        {
            *value = default;
        }
    });
}

/// A log-scale slider for an automatic parameter: it shows the automatic
/// value until moved; the reset button returns to automatic.
fn log_slider(
    ui: &mut egui::Ui,
    value: &mut Option<f64>,
    shown: f64,
    range: std::ops::RangeInclusive<f64>,
    label: &str,
) {
    ui.horizontal(|ui| {
        let mut current = value.unwrap_or(shown);
        let response = ui.add(
            egui::Slider::new(&mut current, range)
                .logarithmic(true)
                .text(label)
                .custom_formatter(|v, _| format!("{v:.2e}")),
        );
        if response.changed() {
            *value = Some(current);
        }
        if ui.small_button("reset").on_hover_text("Back to automatic").clicked() {
            *value = None;
        }
    });
}

fn iterations_slider(ui: &mut egui::Ui, value: &mut Option<usize>, shown: Option<usize>) {
    ui.horizontal(|ui| {
        let mut current = value.or(shown).unwrap_or(30);
        let label = if value.is_some() {
            "Iterations"
        } else {
            "Iterations (auto)"
        };
        if ui.add(egui::Slider::new(&mut current, 1..=500).text(label)).changed() {
            *value = Some(current);
        }
        if ui.small_button("reset").on_hover_text("Back to automatic").clicked() {
            *value = None;
        }
    });
}

/// The PSF drawn large, and the spectrum with the PSF's zero pattern.
/// Returns the kernel pixel (row, column) clicked to erase it.
fn psf_and_spectrum(document: &mut Document, ui: &mut egui::Ui, active: LayerId) -> Option<(usize, usize)> {
    let params = document.state.params(active).cloned()?;
    let mut erase = None;
    let ctx = ui.ctx().clone();
    let side = (ui.available_width() - 8.0).clamp(120.0, 280.0);
    // The PSF needs less room than the spectrum: a glance at its shape.
    let psf_side = (side * 0.5).round();
    ui.label("PSF");
    match params.psf.spec().and_then(|s| s.kernel().map_err(|e| e.to_string())) {
        Ok(kernel) => {
            let key = params.psf.spec().map(|s| s.to_string()).unwrap_or_default();
            if document.psf_texture.as_ref().is_none_or(|(k, _)| *k != key) {
                let picture = kernel.to_display_image();
                let (shown, _) = display::to_color_image(&picture, LightSpace::Linear, 4096);
                let texture = ctx.load_texture("psf", shown, TEXTURE_OPTIONS);
                document.psf_texture = Some((key, texture));
            }
            if let Some((_, texture)) = &document.psf_texture {
                let (rect, response) = ui.allocate_exact_size(Vec2::splat(psf_side), Sense::click());
                ui.painter().rect_filled(rect, 0.0, Color32::BLACK);
                let aspect = kernel.width as f32 / kernel.height as f32;
                let size = if aspect >= 1.0 {
                    vec2(psf_side, psf_side / aspect)
                } else {
                    vec2(psf_side * aspect, psf_side)
                };
                let picture = egui::Rect::from_center_size(rect.center(), size);
                if params.psf.model == PsfModel::File
                    && let Some(at) = response.interact_pointer_pos().filter(|_| response.clicked())
                    && picture.contains(at)
                {
                    let col = ((at.x - picture.left()) / picture.width() * kernel.width as f32) as usize;
                    let row = ((at.y - picture.top()) / picture.height() * kernel.height as f32) as usize;
                    erase = Some((row.min(kernel.height - 1), col.min(kernel.width - 1)));
                }
                ui.painter().image(
                    texture.id(),
                    picture,
                    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    Color32::WHITE,
                );
                ui.weak(format!("{}x{} px", kernel.width, kernel.height));
            }
        }
        Err(error) => {
            ui.colored_label(Color32::LIGHT_RED, error);
        }
    }
    if let Some((texture, spectrum_side)) = &document.spectrum {
        ui.label("Spectrum and the PSF's zeros").on_hover_text(
            "The image's log power spectrum (centre crop). Match the overlay's rings (disk) or stripes (motion) to the dark pattern.",
        );
        let (rect, _) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
        ui.painter().image(
            texture.id(),
            rect,
            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            Color32::WHITE,
        );
        super::spectrum::draw_psf_zeros(ui.painter(), rect, *spectrum_side, &params.psf);
    }
    erase
}

fn viewer(document: &mut Document, ui: &mut egui::Ui) -> Option<Hover> {
    let rect = ui.available_rect_before_wrap();
    let image_size = vec2(document.source.image.width as f32, document.source.image.height as f32);
    match document.compare.clone() {
        Compare::Single => {
            let selected = document.state.selected;
            let kind = document.state.layer(selected).map(|l| l.kind.clone());
            if kind == Some(LayerKind::Psf) {
                let texture = document.psf_texture.as_ref().map(|(_, t)| t.clone());
                let size = texture.as_ref().map_or(Vec2::splat(1.0), |t| t.size_vec2());
                let mut view = view::View::default();
                view::image_panel(ui, rect, &mut view, size, texture.map(|t| t.id()), "psf");
                return None;
            }
            let texture = document.texture(selected);
            let drawing = document.drawing_region;
            let (response, hover) =
                view::image_panel_with(ui, rect, &mut document.view, image_size, texture, "single", !drawing);
            if drawing {
                draw_region(document, &response, rect);
            }
            if let Some(region) = document.region {
                let corner = |x: usize, y: usize| document.view.to_screen(rect, egui::pos2(x as f32, y as f32));
                let shown = egui::Rect::from_min_max(
                    corner(region.left, region.top),
                    corner(region.left + region.width, region.top + region.height),
                );
                ui.painter_at(rect).rect_stroke(
                    shown,
                    0.0,
                    egui::Stroke::new(2.0, Color32::from_rgb(255, 190, 40)),
                    egui::StrokeKind::Middle,
                );
            }
            overlay_quality(document, ui, rect, selected);
            hover
        }
        Compare::Split {
            before,
            after,
            mut divider,
        } => {
            let (b, a) = (document.texture(before), document.texture(after));
            let hover = view::split_panel(ui, rect, &mut document.view, image_size, b, a, &mut divider);
            if let Compare::Split { divider: d, .. } = &mut document.compare {
                *d = divider;
            }
            hover
        }
        Compare::SideBySide(mut layers) => {
            let choices: Vec<(LayerId, String)> = document
                .state
                .layers
                .iter()
                .filter(|l| l.visible && l.kind != LayerKind::Psf)
                .map(|l| (l.id, l.name.clone()))
                .collect();
            let mut hover = None;
            let count = layers.len().clamp(2, 4);
            let width = (rect.width() - 4.0 * (count - 1) as f32) / count as f32;
            let header = 24.0;
            for (index, layer) in layers.iter_mut().enumerate() {
                let left = rect.left() + index as f32 * (width + 4.0);
                let top = egui::Rect::from_min_size(egui::pos2(left, rect.top()), vec2(width, header));
                let panel = egui::Rect::from_min_max(
                    egui::pos2(left, rect.top() + header),
                    egui::pos2(left + width, rect.bottom()),
                );
                ui.scope_builder(egui::UiBuilder::new().max_rect(top), |ui| {
                    ui.horizontal(|ui| {
                        let name = choices
                            .iter()
                            .find(|(id, _)| id == layer)
                            .map_or("?", |(_, n)| n.as_str());
                        egui::ComboBox::from_id_salt(("panel", index))
                            .selected_text(name)
                            .width(width * 0.4)
                            .show_ui(ui, |ui| {
                                for (id, name) in &choices {
                                    ui.selectable_value(layer, *id, name);
                                }
                            });
                        if let Some(quality) = document.computed.get(layer).and_then(|c| c.quality) {
                            ui.label(format!("{:.2} dB · SSIM {:.3}", quality.psnr_db, quality.ssim));
                        }
                    });
                });
                let texture = document.texture(*layer);
                let (_, panel_hover) = view::image_panel(
                    ui,
                    panel,
                    &mut document.view,
                    image_size,
                    texture,
                    &format!("panel{index}"),
                );
                hover = hover.or(panel_hover);
            }
            let controls = egui::Rect::from_min_size(rect.right_bottom() - vec2(150.0, 28.0), vec2(150.0, 28.0));
            ui.scope_builder(egui::UiBuilder::new().max_rect(controls), |ui| {
                ui.horizontal(|ui| {
                    if layers.len() < 4 && ui.button("+ panel").clicked() {
                        layers.push(layers[layers.len() - 1]);
                    }
                    if layers.len() > 2 && ui.button("- panel").clicked() {
                        layers.pop();
                    }
                });
            });
            document.compare = Compare::SideBySide(layers);
            hover
        }
    }
}

/// Dragging in the viewer draws the estimation region.
fn draw_region(document: &mut Document, response: &egui::Response, rect: egui::Rect) {
    let (width, height) = (document.source.image.width, document.source.image.height);
    let at = |p: egui::Pos2| {
        let q = document.view.to_image(rect, p);
        (q.x, q.y)
    };
    if response.drag_started()
        && let Some(p) = response.interact_pointer_pos()
    {
        document.region_anchor = Some(at(p));
    }
    if response.dragged()
        && let (Some(anchor), Some(p)) = (document.region_anchor, response.interact_pointer_pos())
    {
        document.region = super::estimate::region_between(anchor, at(p), width, height);
    }
    if response.drag_stopped() {
        document.region_anchor = None;
        document.drawing_region = false;
    }
}

/// PSNR/SSIM in the corner when a reference is attached.
fn overlay_quality(document: &Document, ui: &egui::Ui, rect: egui::Rect, layer: LayerId) {
    let quality = document.computed.get(&layer).and_then(|c| c.quality).or_else(|| {
        let kind = &document.state.layer(layer)?.kind;
        (*kind == LayerKind::Source).then_some(())?;
        let reference = document.source.reference.as_ref()?;
        let stored = super::render::stored_values(&document.source.image, document.source.space);
        crate::metrics::quality(&stored, reference).ok()
    });
    if let Some(quality) = quality {
        ui.painter().text(
            rect.left_top() + vec2(8.0, 8.0),
            egui::Align2::LEFT_TOP,
            format!("PSNR {:.2} dB · SSIM {:.3}", quality.psnr_db, quality.ssim),
            egui::FontId::proportional(14.0),
            Color32::WHITE,
        );
    }
}

fn pixel_readout(document: &Document, hover: &Hover) -> String {
    let layer = document.state.selected;
    let image = document
        .computed
        .get(&layer)
        .and_then(|c| c.image.clone())
        .unwrap_or_else(|| document.source.image.clone());
    if hover.x >= image.width || hover.y >= image.height {
        return String::new();
    }
    let i = hover.y * image.width + hover.x;
    let values: Vec<String> = image
        .planes
        .iter()
        .map(|p| format!("{:.3}", display::stored_value(p[i], document.source.space)))
        .collect();
    format!("x {} y {}: {}", hover.x, hover.y, values.join(" "))
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

Compare: Before/after (C) splits the view with a draggable divider; Side by side shows 2-4 layers with one zoom. Attach the sharp original (Reference…) to see PSNR/SSIM.
Zoom with the wheel, pan by dragging; Ctrl+0 fit, Ctrl+1 100%, Ctrl+2 200%. Ctrl+Z / Ctrl+Shift+Z undo and redo; Ctrl+O open; Ctrl+E export.
Your documents and parameters are saved continuously and come back after a restart.";
