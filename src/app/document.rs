//! A document: one source image and its stack of layers. The editable part
//! (`DocState`) is plain data, so undo, the session file and presets share
//! it; the computed part (pixels, textures) lives beside it and is redone from
//! it whenever it changes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::blind::Region;
use crate::deconv::Applied;
use crate::imaging::{BitDepth, Image, SpaceChoice};
use crate::metrics::Quality;
use eframe::egui::{self, ColorImage, TextureHandle, TextureId, TextureOptions};
use serde::{Deserialize, Serialize};

use super::params::Params;
use super::render::{PreviewGpu, Source};
use super::view::{Compare, View};
use super::worker::{Outcome, PreviewWorker, Shown};

pub type LayerId = u64;

/// What a layer shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerKind {
    /// The image as opened.
    Source,
    /// The PSF of the selected result, drawn large.
    Psf,
    /// A deconvolution with these parameters.
    Result(Params),
    /// One layer of a two-image separation (0: in focus in the first shot).
    Separated(usize),
    /// One layer of a single-image separation (0: the stronger). Not
    /// restored with a session: it took minutes to compute and is exported
    /// if it is to be kept.
    SingleLayer(usize),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerState {
    pub id: LayerId,
    pub name: String,
    pub visible: bool,
    pub kind: LayerKind,
}

/// Everything the user edits in a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocState {
    pub layers: Vec<LayerState>,
    pub selected: LayerId,
    #[serde(with = "space_text")]
    pub space: SpaceChoice,
    pub next_id: LayerId,
}

impl DocState {
    /// Source, PSF and one result made with `params`.
    pub fn new(params: Params) -> Self {
        let mut state = DocState {
            layers: vec![],
            selected: 0,
            space: SpaceChoice::Auto,
            next_id: 0,
        };
        state.add(LayerKind::Source, "Source");
        state.add(LayerKind::Psf, "PSF");
        let name = params.summary();
        state.selected = state.add(LayerKind::Result(params), &name);
        state
    }

    pub fn add(&mut self, kind: LayerKind, name: &str) -> LayerId {
        let id = self.next_id;
        self.next_id += 1;
        self.layers.push(LayerState {
            id,
            name: name.to_string(),
            visible: true,
            kind,
        });
        id
    }

    pub fn layer(&self, id: LayerId) -> Option<&LayerState> {
        self.layers.iter().find(|l| l.id == id)
    }

    pub fn layer_mut(&mut self, id: LayerId) -> Option<&mut LayerState> {
        self.layers.iter_mut().find(|l| l.id == id)
    }

    /// The result layer the method panel edits: the selected one, or else the
    /// topmost result.
    pub fn active_result(&self) -> Option<LayerId> {
        let is_result = |l: &&LayerState| matches!(l.kind, LayerKind::Result(_));
        self.layer(self.selected)
            .filter(is_result)
            .or_else(|| self.layers.iter().rev().find(is_result))
            .map(|l| l.id)
    }

    pub fn params_mut(&mut self, id: LayerId) -> Option<&mut Params> {
        match &mut self.layer_mut(id)?.kind {
            LayerKind::Result(params) => Some(params),
            _ => None,
        }
    }

    pub fn params(&self, id: LayerId) -> Option<&Params> {
        match &self.layer(id)?.kind {
            LayerKind::Result(params) => Some(params),
            _ => None,
        }
    }

    /// Removes a layer; the source layer stays.
    pub fn remove(&mut self, id: LayerId) {
        if self.layer(id).is_some_and(|l| l.kind != LayerKind::Source) {
            self.layers.retain(|l| l.id != id);
            if self.selected == id {
                self.selected = self.layers.last().map_or(0, |l| l.id);
            }
        }
    }

    /// Removes the layers of a single-image separation (see [`LayerKind::SingleLayer`]).
    pub fn drop_single_layers(&mut self) {
        let single: Vec<LayerId> = self
            .layers
            .iter()
            .filter(|l| matches!(l.kind, LayerKind::SingleLayer(_)))
            .map(|l| l.id)
            .collect();
        for id in single {
            self.remove(id);
        }
    }

    /// A copy of a layer, above it, with the same parameters.
    pub fn duplicate(&mut self, id: LayerId) -> Option<LayerId> {
        let layer = self.layer(id)?.clone();
        if layer.kind == LayerKind::Source {
            return None;
        }
        let copy = self.add(layer.kind, &format!("{} (copy)", layer.name));
        self.selected = copy;
        Some(copy)
    }
}

/// Undo and redo of `DocState`. Changes are committed when the pointer is
/// released, so one slider drag is one step.
#[derive(Default)]
pub struct History {
    undo: Vec<DocState>,
    redo: Vec<DocState>,
}

/// Steps kept; parameters are small, so this costs little.
const HISTORY_DEPTH: usize = 200;

impl History {
    /// Records that `before` was replaced by a new state.
    pub fn commit(&mut self, before: DocState) {
        self.undo.push(before);
        if self.undo.len() > HISTORY_DEPTH {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    pub fn undo(&mut self, current: &mut DocState) -> bool {
        match self.undo.pop() {
            Some(previous) => {
                self.redo.push(std::mem::replace(current, previous));
                true
            }
            None => false,
        }
    }

    pub fn redo(&mut self, current: &mut DocState) -> bool {
        match self.redo.pop() {
            Some(next) => {
                self.undo.push(std::mem::replace(current, next));
                true
            }
            None => false,
        }
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}

/// What was computed for a layer.
#[derive(Default)]
pub struct Computed {
    /// The parameters of the last request, and its number.
    pub requested: Option<Params>,
    pub generation: u64,
    /// The request number whose result is on screen.
    pub shown: u64,
    pub image: Option<Arc<Image>>,
    pub texture: Option<TextureHandle>,
    /// The GPU's own texture, when the result was drawn there (it then
    /// wins over `texture`).
    pub on_screen: Option<TextureId>,
    pub applied: Option<Applied>,
    pub quality: Option<Quality>,
    pub error: Option<String>,
}

/// A drawn PSF: its texture and size, or why it cannot be drawn.
pub type PsfPicture = Result<(TextureHandle, [usize; 2]), String>;

/// A second shot for two-image separation.
pub struct SecondShot {
    pub path: PathBuf,
}

pub struct Document {
    /// Stable while the app runs (jobs name their document by it).
    pub id: u64,
    pub path: Option<PathBuf>,
    pub title: String,
    pub source: Source,
    pub depth: BitDepth,
    pub reference_path: Option<PathBuf>,
    pub second: Option<SecondShot>,
    pub state: DocState,
    /// The state as last committed to the history.
    pub committed: DocState,
    pub history: History,
    pub computed: HashMap<LayerId, Computed>,
    pub view: View,
    pub compare: Compare,
    pub worker: PreviewWorker,
    pub spectrum: Option<(TextureHandle, usize)>,
    /// The spec (or its error) the PSF picture was made for, and the
    /// picture with the kernel's width and height.
    pub psf_texture: Option<(String, PsfPicture)>,
    /// The rectangle blind estimation works on (image pixels), and whether
    /// dragging in the viewer draws it instead of panning.
    pub region: Option<Region>,
    pub drawing_region: bool,
    pub region_anchor: Option<(f32, f32)>,
    /// The free-form kernel side asked for (`None`: suggested).
    pub kernel_size: Option<usize>,
    /// Kernel edits: weights below this fraction of the peak are removed.
    pub kernel_threshold: f64,
}

/// Textures shrink when minified (mipmaps) and show honest pixels when
/// magnified.
pub const TEXTURE_OPTIONS: TextureOptions = TextureOptions {
    magnification: egui::TextureFilter::Nearest,
    minification: egui::TextureFilter::Linear,
    wrap_mode: egui::TextureWrapMode::ClampToEdge,
    mipmap_mode: Some(egui::TextureFilter::Linear),
};

impl Document {
    pub fn new(ctx: &egui::Context, opened: Opened, state: DocState, gpu: Option<PreviewGpu>) -> Self {
        let opened_shown = opened.shown;
        let title = opened
            .path
            .as_ref()
            .and_then(|p| p.file_name())
            .map_or_else(|| "Untitled".to_string(), |n| n.to_string_lossy().into_owned());
        let mut document = Document {
            id: 0,
            path: opened.path,
            title,
            source: opened.source,
            depth: opened.depth,
            reference_path: opened.reference_path,
            second: None,
            committed: state.clone(),
            state,
            history: History::default(),
            computed: HashMap::new(),
            view: View::default(),
            compare: Compare::Single,
            worker: PreviewWorker::new(ctx, gpu),
            spectrum: None,
            psf_texture: None,
            region: None,
            drawing_region: false,
            region_anchor: None,
            kernel_size: None,
            kernel_threshold: 0.05,
        };
        document.upload_source(ctx, opened_shown);
        document
    }

    /// Replaces the source image (a new light space) and recomputes.
    pub fn replace_source(&mut self, ctx: &egui::Context, opened: Opened) {
        self.worker.cancel_all();
        self.source = opened.source;
        self.computed.clear();
        self.upload_source(ctx, opened.shown);
    }

    fn upload_source(&mut self, ctx: &egui::Context, shown: ColorImage) {
        let texture = ctx.load_texture("source", shown, TEXTURE_OPTIONS);
        for layer in &self.state.layers {
            if layer.kind == LayerKind::Source {
                let computed = self.computed.entry(layer.id).or_default();
                computed.texture = Some(texture.clone());
                computed.image = Some(self.source.image.clone());
            }
        }
    }

    /// Requests previews for results whose parameters changed and takes in
    /// the ones that are ready. Returns true while work is pending.
    pub fn sync(&mut self, ctx: &egui::Context) -> bool {
        for layer in &mut self.state.layers {
            let computed = self.computed.entry(layer.id).or_default();
            match &layer.kind {
                LayerKind::Result(params) if computed.requested.as_ref() != Some(params) => {
                    // A name the user has not changed follows the parameters.
                    if computed
                        .requested
                        .as_ref()
                        .is_some_and(|old| old.summary() == layer.name)
                    {
                        layer.name = params.summary();
                    }
                    computed.generation += 1;
                    computed.requested = Some(params.clone());
                    self.worker
                        .request(layer.id, computed.generation, params.clone(), self.source.clone());
                }
                _ => {}
            }
        }
        for reply in self.worker.replies() {
            let Some(computed) = self.computed.get_mut(&reply.layer) else {
                continue;
            };
            if reply.generation != computed.generation {
                continue;
            }
            match reply.outcome {
                Outcome::Done(rendered, shown) => {
                    computed.shown = reply.generation;
                    match shown {
                        Shown::OnScreen(id) => computed.on_screen = Some(id),
                        Shown::Pixels(shown) => {
                            computed.on_screen = None;
                            match &mut computed.texture {
                                Some(texture) if texture.size() == shown.size => texture.set(shown, TEXTURE_OPTIONS),
                                _ => {
                                    let name = format!("layer-{}", reply.layer);
                                    computed.texture = Some(ctx.load_texture(name, shown, TEXTURE_OPTIONS));
                                }
                            }
                        }
                    }
                    computed.image = rendered.image;
                    computed.applied = Some(rendered.applied);
                    computed.quality = rendered.quality;
                    computed.error = None;
                }
                Outcome::Failed(error) => {
                    computed.shown = reply.generation;
                    computed.error = Some(error);
                }
                Outcome::Pixels(image) => computed.image = Some(image),
            }
        }
        !self.worker.is_idle()
    }

    /// Commits the state to the history once the pointer is released.
    /// Returns true when something was committed.
    pub fn commit_if_settled(&mut self, pointer_down: bool) -> bool {
        if pointer_down || self.state == self.committed {
            return false;
        }
        let before = std::mem::replace(&mut self.committed, self.state.clone());
        self.history.commit(before);
        true
    }

    pub fn undo(&mut self) -> bool {
        self.commit_if_settled(false);
        let done = self.history.undo(&mut self.state);
        self.committed = self.state.clone();
        done
    }

    pub fn redo(&mut self) -> bool {
        let done = self.history.redo(&mut self.state);
        self.committed = self.state.clone();
        done
    }

    /// The texture a layer shows, if computed.
    pub fn texture(&self, id: LayerId) -> Option<TextureId> {
        let computed = self.computed.get(&id)?;
        computed.on_screen.or_else(|| computed.texture.as_ref().map(|t| t.id()))
    }
}

/// A file opened and decoded (on a worker thread).
pub struct Opened {
    pub path: Option<PathBuf>,
    pub source: Source,
    pub depth: BitDepth,
    pub reference_path: Option<PathBuf>,
    /// The image as shown on screen.
    pub shown: ColorImage,
}

mod space_text {
    use crate::imaging::SpaceChoice;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(space: &SpaceChoice, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match space {
            SpaceChoice::Auto => "auto",
            SpaceChoice::Srgb => "srgb",
            SpaceChoice::Linear => "linear",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SpaceChoice, D::Error> {
        match String::deserialize(deserializer)?.as_str() {
            "srgb" => Ok(SpaceChoice::Srgb),
            "linear" => Ok(SpaceChoice::Linear),
            _ => Ok(SpaceChoice::Auto),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_image_layers_are_dropped_and_the_selection_moves() {
        let mut state = DocState::new(Params::default());
        let result = state.active_result().unwrap();
        let first = state.add(LayerKind::SingleLayer(0), "Layer 1 (single image)");
        state.add(LayerKind::SingleLayer(1), "Layer 2 (single image)");
        state.selected = first;
        state.drop_single_layers();
        assert!(!state.layers.iter().any(|l| matches!(l.kind, LayerKind::SingleLayer(_))));
        assert!(state.layer(state.selected).is_some());
        assert!(state.layer(result).is_some());
    }

    #[test]
    fn undo_and_redo_walk_the_committed_states() {
        let mut state = DocState::new(Params::default());
        let mut history = History::default();
        let id = state.active_result().unwrap();
        let before = state.clone();
        state.params_mut(id).unwrap().psf.radius = 7.0;
        history.commit(before);
        assert!(history.undo(&mut state));
        assert_eq!(state.params(id).unwrap().psf.radius, 3.0);
        assert!(history.redo(&mut state));
        assert_eq!(state.params(id).unwrap().psf.radius, 7.0);
        assert!(!history.redo(&mut state));
    }

    #[test]
    fn layers_duplicate_and_delete_but_the_source_stays() {
        let mut state = DocState::new(Params::default());
        let result = state.active_result().unwrap();
        let copy = state.duplicate(result).unwrap();
        assert_eq!(state.params(copy), state.params(result));
        assert_eq!(state.selected, copy);
        let source = state.layers[0].id;
        state.remove(source);
        assert_eq!(state.layers[0].kind, LayerKind::Source);
        state.remove(copy);
        assert!(state.layer(copy).is_none());
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<DocState>(&text).unwrap(), state);
    }
}
