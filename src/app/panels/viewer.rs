//! The central view: one layer, before/after, or side by side, with the
//! estimation region and the pixel readout.

use eframe::egui::{self, Color32, Vec2, vec2};

use super::super::display;
use super::super::document::{Document, LayerId, LayerKind};
use super::super::view::{self, Compare, Hover};

pub fn viewer(document: &mut Document, ui: &mut egui::Ui) -> Option<Hover> {
    let rect = ui.available_rect_before_wrap();
    let image_size = vec2(document.source.image.width as f32, document.source.image.height as f32);
    match document.compare.clone() {
        Compare::Single => {
            let selected = document.state.selected;
            let kind = document.state.layer(selected).map(|l| l.kind.clone());
            if kind == Some(LayerKind::Psf) {
                let texture = match &document.psf_texture {
                    Some((_, Ok((texture, _)))) => Some(texture.clone()),
                    _ => None,
                };
                let size = texture.as_ref().map_or(Vec2::splat(1.0), |t| t.size_vec2());
                let mut view = view::View::default();
                view::image_panel(ui, rect, &mut view, size, texture.map(|t| t.id()), "psf", true);
                return None;
            }
            let texture = document.texture(selected);
            let drawing = document.drawing_region;
            let (response, hover) =
                view::image_panel(ui, rect, &mut document.view, image_size, texture, "single", !drawing);
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
                    true,
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
        document.region = super::super::estimate::region_between(anchor, at(p), width, height);
    }
    if response.drag_stopped() {
        document.region_anchor = None;
        document.drawing_region = false;
    }
}

/// PSNR/SSIM in the corner when a reference is attached.
fn overlay_quality(document: &Document, ui: &egui::Ui, rect: egui::Rect, layer: LayerId) {
    let is_source = document.state.layer(layer).is_some_and(|l| l.kind == LayerKind::Source);
    let quality = match is_source {
        true => document.source.baseline,
        false => document.computed.get(&layer).and_then(|c| c.quality),
    };
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

pub fn pixel_readout(document: &Document, hover: &Hover) -> String {
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
