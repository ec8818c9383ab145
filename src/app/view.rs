//! The image viewer: zoom around the cursor, pan by dragging, fit / 100% /
//! 200%, nearest-neighbour pixels when magnified, and the compare modes
//! (before/after split, 2-4 panels side by side) sharing one view.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, TextureId, Vec2, pos2, vec2};

use super::document::LayerId;

/// Zoom limits (screen pixels per image pixel).
const MIN_ZOOM: f32 = 1.0 / 64.0;
const MAX_ZOOM: f32 = 64.0;

/// Where the viewer looks: the image point at the centre of the panel, and
/// the zoom. `fit` keeps the whole image visible as the panel resizes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub zoom: f32,
    pub center: Pos2,
    pub fit: bool,
}

impl Default for View {
    fn default() -> Self {
        View {
            zoom: 1.0,
            center: Pos2::ZERO,
            fit: true,
        }
    }
}

impl View {
    /// Zoom that shows all of an image of `size` in `panel`.
    fn fit_zoom(size: Vec2, panel: Vec2) -> f32 {
        (panel.x / size.x).min(panel.y / size.y).clamp(MIN_ZOOM, MAX_ZOOM)
    }

    fn settle(&mut self, size: Vec2, panel: Vec2) {
        if self.fit {
            self.zoom = Self::fit_zoom(size, panel);
            self.center = (size / 2.0).to_pos2();
        }
    }

    /// Sets an exact zoom (1 = 100%), keeping the centre.
    pub fn set_zoom(&mut self, zoom: f32) {
        self.fit = false;
        self.zoom = zoom.clamp(MIN_ZOOM, MAX_ZOOM);
    }

    pub fn to_screen(self, panel: Rect, image_point: Pos2) -> Pos2 {
        panel.center() + (image_point - self.center) * self.zoom
    }

    /// Where an image of `size` pixels lands on screen.
    pub fn image_rect(self, panel: Rect, size: Vec2) -> Rect {
        Rect::from_min_max(self.to_screen(panel, Pos2::ZERO), self.to_screen(panel, size.to_pos2()))
    }

    pub fn to_image(self, panel: Rect, screen_point: Pos2) -> Pos2 {
        self.center + (screen_point - panel.center()) / self.zoom
    }

    /// Applies wheel zoom (around the cursor) and drag panning.
    fn interact(&mut self, response: &egui::Response, ui: &egui::Ui, panel: Rect, pan: bool) {
        if pan && response.dragged() {
            self.fit = false;
            self.center -= response.drag_delta() / self.zoom;
        }
        if let Some(cursor) = response.hover_pos() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y + i.zoom_delta().ln() * 200.0);
            if scroll != 0.0 {
                let anchor = self.to_image(panel, cursor);
                self.fit = false;
                self.zoom = (self.zoom * (scroll / 200.0).exp()).clamp(MIN_ZOOM, MAX_ZOOM);
                // Keep the image point under the cursor where it was.
                self.center = anchor - (cursor - panel.center()) / self.zoom;
            }
        }
    }
}

/// How the central area shows the document.
#[derive(Clone, Debug, PartialEq)]
pub enum Compare {
    /// The selected layer.
    Single,
    /// `before` left of the divider, `after` right of it; `divider` in [0, 1]
    /// of the panel width.
    Split {
        before: LayerId,
        after: LayerId,
        divider: f32,
    },
    /// 2-4 layers side by side, one view for all.
    SideBySide(Vec<LayerId>),
}

/// Pixel under the cursor, in image coordinates.
pub struct Hover {
    pub x: usize,
    pub y: usize,
}

/// Draws `texture` (covering an image of `size` pixels) in `rect` with the
/// shared `view`, and handles the view's input there; dragging pans unless
/// `pan` is false (the caller then uses the drag, e.g. to draw a region).
pub fn image_panel(
    ui: &mut egui::Ui,
    rect: Rect,
    view: &mut View,
    size: Vec2,
    texture: Option<TextureId>,
    id_salt: &str,
    pan: bool,
) -> (egui::Response, Option<Hover>) {
    let response = ui.interact(rect, ui.scope_id().with(id_salt), Sense::click_and_drag());
    view.settle(size, rect.size());
    view.interact(&response, ui, rect, pan);
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::from_gray(24));
    let image_rect = view.image_rect(rect, size);
    match texture {
        Some(texture) => {
            painter.image(
                texture,
                image_rect,
                Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }
        None => {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "computing…",
                egui::FontId::proportional(16.0),
                Color32::GRAY,
            );
        }
    }
    let hover = response.hover_pos().and_then(|p| {
        let point = view.to_image(rect, p);
        (point.x >= 0.0 && point.y >= 0.0 && point.x < size.x && point.y < size.y).then_some(Hover {
            x: point.x as usize,
            y: point.y as usize,
        })
    });
    (response, hover)
}

/// Draws `before` and `after` split at a draggable divider.
pub fn split_panel(
    ui: &mut egui::Ui,
    rect: Rect,
    view: &mut View,
    size: Vec2,
    before: Option<TextureId>,
    after: Option<TextureId>,
    divider: &mut f32,
) -> Option<Hover> {
    let x = rect.left() + rect.width() * divider.clamp(0.0, 1.0);
    let handle = Rect::from_center_size(pos2(x, rect.center().y), vec2(12.0, rect.height()));
    // The divider's handle is registered after the image so it wins the drag.
    let (_, hover) = image_panel(ui, rect, view, size, after, "split", true);
    let left = Rect::from_min_max(rect.min, pos2(x, rect.max.y));
    if let Some(texture) = before {
        let image_rect = view.image_rect(rect, size);
        ui.painter_at(left).rect_filled(left, 0.0, Color32::from_gray(24));
        ui.painter_at(left).image(
            texture,
            image_rect,
            Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
            Color32::WHITE,
        );
    }
    let response = ui
        .interact(handle, ui.scope_id().with("divider"), Sense::drag())
        .on_hover_cursor(egui::CursorIcon::ResizeHorizontal);
    if response.dragged() {
        *divider = ((x + response.drag_delta().x - rect.left()) / rect.width()).clamp(0.0, 1.0);
    }
    let painter = ui.painter_at(rect);
    painter.line_segment(
        [pos2(x, rect.top()), pos2(x, rect.bottom())],
        Stroke::new(2.0, Color32::WHITE),
    );
    painter.circle_filled(pos2(x, rect.center().y), 7.0, Color32::WHITE);
    for (text, anchor, at) in [
        ("before", egui::Align2::LEFT_TOP, rect.left_top() + vec2(8.0, 8.0)),
        ("after", egui::Align2::RIGHT_TOP, rect.right_top() + vec2(-8.0, 8.0)),
    ] {
        painter.text(at, anchor, text, egui::FontId::proportional(14.0), Color32::WHITE);
    }
    hover
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_and_image_coordinates_invert() {
        let view = View {
            zoom: 2.5,
            center: pos2(100.0, 50.0),
            fit: false,
        };
        let panel = Rect::from_min_size(pos2(10.0, 20.0), vec2(400.0, 300.0));
        let point = pos2(37.0, 81.0);
        let back = view.to_image(panel, view.to_screen(panel, point));
        assert!((back - point).length() < 1e-3);
        assert_eq!(view.to_screen(panel, view.center), panel.center());
    }

    #[test]
    fn fit_shows_the_whole_image() {
        let mut view = View::default();
        view.settle(vec2(800.0, 400.0), vec2(400.0, 400.0));
        assert_eq!(view.zoom, 0.5);
        view.set_zoom(2.0);
        assert!(!view.fit);
        view.settle(vec2(800.0, 400.0), vec2(400.0, 400.0));
        assert_eq!(view.zoom, 2.0);
    }
}
