//! The layers panel: the stack, selection, visibility, rename, duplicate,
//! delete, export and its options.

use eframe::egui::{self, Color32, RichText};

use crate::imaging::BitDepth;

use super::super::document::LayerKind;
use super::super::{App, Pick};

pub fn layers_panel(app: &mut App, ui: &mut egui::Ui, ctx: &egui::Context) {
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
