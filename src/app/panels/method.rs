//! The method panel: light space, method and PSF sliders, blind estimation,
//! output options, presets, progress, and the PSF with the spectrum.

use eframe::egui::{self, Color32, RichText, Sense, Vec2, vec2};

use crate::deconv::Method;
use crate::imaging::{LightSpace, SpaceChoice};

use super::super::display;
use super::super::document::{Document, LayerId, LayerKind, TEXTURE_OPTIONS};
use super::super::params::{PsfModel, method_label};
use super::super::view::Compare;
use super::super::{App, Pick};

pub fn method_panel(app: &mut App, ui: &mut egui::Ui, ctx: &egui::Context) {
    let presets = app.presets.clone();
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
    if document.source.pages > 1 {
        ui.label(format!("the first of {} images in the file", document.source.pages));
    }
    if document.source.scale != 1.0 {
        // Four significant digits: 3000, 2.700, 0.04578.
        let scale = document.source.scale;
        let decimals = (3 - scale.log10().floor() as i32).max(0) as usize;
        ui.label(format!("values shown ÷ {scale:.decimals$} (the file's largest)"))
            .on_hover_text("Float and integer data is worked on and shown divided by its largest value; exports to TIFF are written back in the file's units.");
    }

    let Some(active) = document.state.active_result() else {
        ui.separator();
        if ui.button("Add result").clicked() {
            let name = super::super::Params::default().summary();
            let id = document
                .state
                .add(LayerKind::Result(super::super::Params::default()), &name);
            document.state.selected = id;
        }
        apply_actions(app, ctx, actions);
        return;
    };
    let applied = document.computed.get(&active).and_then(|c| c.applied.clone());
    let running = document.worker.running();
    let error = document.computed.get(&active).and_then(|c| c.error.clone());
    let layer_name = document.state.layer(active).map(|l| l.name.clone()).unwrap_or_default();
    let Some(params) = document.state.params_mut(active) else {
        return;
    };
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
    // The automatic values the sliders show until moved.
    let shown = applied.as_ref().and_then(|a| a.parameter).unwrap_or(1e-3);
    let shown_iterations = applied.as_ref().and_then(|a| a.iterations);
    let method = params.method.method;
    if method == Method::Wiener {
        let label = format!("Noise K{}", auto(params.method.nsr));
        log_slider(ui, &mut params.method.nsr, shown, 1e-7..=1.0, &label);
    }
    if matches!(method, Method::Tikhonov | Method::TotalVariation) {
        let label = format!("Regularization λ{}", auto(params.method.lambda));
        let top = if method == Method::Tikhonov { 10.0 } else { 1.0 };
        log_slider(ui, &mut params.method.lambda, shown, 1e-7..=top, &label);
    }
    if method.is_iterative() {
        iterations_slider(ui, &mut params.method.iterations, shown_iterations);
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
    let defaults = super::super::PsfParams::default();
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
                    *params = super::super::Params {
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
                        Ok(()) => {
                            app.presets = app.state_dir.presets();
                            app.info(format!("preset '{}' saved", app.preset_name.trim()));
                        }
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
    // The kernel is rasterized (or read from its file) only when its spec
    // changes, not at every frame.
    let spec = params.psf.spec();
    let key = spec.as_ref().map_or_else(|e| e.clone(), |s| s.to_string());
    if document.psf_texture.as_ref().is_none_or(|(k, _)| *k != key) {
        let shown = spec.and_then(|s| s.kernel().map_err(|e| e.to_string())).map(|kernel| {
            let (picture, _) = display::to_color_image(&kernel.to_display_image(), LightSpace::Linear, 4096);
            (
                ctx.load_texture("psf", picture, TEXTURE_OPTIONS),
                [kernel.width, kernel.height],
            )
        });
        document.psf_texture = Some((key, shown));
    }
    match document.psf_texture.as_ref().map(|(_, shown)| shown) {
        Some(Ok((texture, [width, height]))) => {
            let (width, height) = (*width, *height);
            let (rect, response) = ui.allocate_exact_size(Vec2::splat(psf_side), Sense::click());
            ui.painter().rect_filled(rect, 0.0, Color32::BLACK);
            let aspect = width as f32 / height as f32;
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
                let col = ((at.x - picture.left()) / picture.width() * width as f32) as usize;
                let row = ((at.y - picture.top()) / picture.height() * height as f32) as usize;
                erase = Some((row.min(height - 1), col.min(width - 1)));
            }
            ui.painter().image(
                texture.id(),
                picture,
                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                Color32::WHITE,
            );
            ui.weak(format!("{width}x{height} px"));
        }
        Some(Err(error)) => {
            ui.colored_label(Color32::LIGHT_RED, error);
        }
        None => {}
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
        super::super::spectrum::draw_psf_zeros(ui.painter(), rect, *spectrum_side, &params.psf);
    }
    erase
}
