//! The editor: documents in tabs, each a source image with a stack of layers
//! (source, PSF, results, separated layers), previews computed off the UI
//! thread while sliders move, comparison views, export, undo and a session
//! that survives restarts.

mod display;
mod document;
mod estimate;
mod io;
mod panels;
mod params;
mod render;
mod separation;
mod session;
mod single;
mod spectrum;
mod view;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::gpu::GpuContext;
use crate::imaging::SpaceChoice;
use crate::psf::PsfSpec;
use eframe::egui;

pub use document::{LayerId, LayerKind};
pub use io::{ExportOptions, SAMPLE_PSF};
pub use params::{MethodParams, Params, PsfModel, PsfParams};
pub use session::StateDir;
pub use view::Compare;

use document::{DocState, Document};
use io::{ExportContent, Loaded};
use session::{SavedDocument, Session};
use worker::Job;

/// How the editor starts.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Images to open (the command line).
    pub files: Vec<PathBuf>,
    /// Where the session, presets and estimated kernels live.
    pub state_dir: Option<PathBuf>,
    /// Save a screenshot here once the first document is fully computed,
    /// then quit (CI smoke runs).
    pub screenshot: Option<PathBuf>,
    /// Start empty: no session restore, no sample.
    pub fresh: bool,
    /// Compute previews on the renderer's GPU even when it is a software
    /// adapter (tests; `UNBLUR_PREVIEW_GPU=1` from the command line).
    pub force_gpu_previews: bool,
}

/// A message shown in the window.
pub struct Message {
    pub text: String,
    pub is_error: bool,
    pub at: Instant,
}

/// Work the app waits for.
enum Pending {
    Load {
        job: Job<Loaded>,
        state: Option<DocState>,
        /// A second shot to separate again (a restored session).
        second: Option<PathBuf>,
    },
    /// A document's source decoded again (light space changed).
    Reload {
        document: u64,
        job: Job<Loaded>,
    },
    Export(Job<PathBuf>),
    /// A sharp reference read and measured for a document.
    Reference {
        document: u64,
        job: Job<(render::Source, PathBuf)>,
    },
    /// A file dialog, running on its own thread so the window keeps drawing.
    Pick {
        job: Job<Option<PathBuf>>,
        purpose: Pick,
    },
    /// A two-image separation of a document's image and a second shot.
    Separate {
        document: u64,
        job: Job<separation::Separated>,
    },
    /// A single-image separation of a document's image, with its previews.
    SeparateSingle {
        document: u64,
        job: Job<single::Finished>,
        previews: std::sync::mpsc::Receiver<single::Layers>,
    },
    /// A blind PSF estimate for a document's result layer.
    Estimate {
        document: u64,
        layer: LayerId,
        job: Job<estimate::Estimated>,
    },
}

impl Pending {
    fn progress(&self) -> Option<&worker::SharedProgress> {
        match self {
            Pending::Load { job, .. } | Pending::Reload { job, .. } => Some(&job.progress),
            Pending::Export(job) => Some(&job.progress),
            Pending::Reference { job, .. } => Some(&job.progress),
            Pending::Estimate { job, .. } => Some(&job.progress),
            Pending::Separate { job, .. } => Some(&job.progress),
            Pending::SeparateSingle { job, .. } => Some(&job.progress),
            Pending::Pick { .. } => None,
        }
    }

    fn label(&self) -> &str {
        match self {
            Pending::Load { job, .. } | Pending::Reload { job, .. } => &job.label,
            Pending::Export(job) => &job.label,
            Pending::Reference { job, .. } => &job.label,
            Pending::Pick { job, .. } => &job.label,
            Pending::Estimate { job, .. } => &job.label,
            Pending::Separate { job, .. } => &job.label,
            Pending::SeparateSingle { job, .. } => &job.label,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Pick {
    Open,
    SecondShot,
    Reference,
    Kernel,
    Export,
}

pub struct App {
    state_dir: StateDir,
    session: Session,
    documents: Vec<Document>,
    active: usize,
    next_document: u64,
    pending: Vec<Pending>,
    pub messages: Vec<Message>,
    show_help: bool,
    export_options: ExportOptions,
    preset_name: String,
    /// Preset names, read from the state folder at start and after a save.
    presets: Vec<String>,
    gpu_note: String,
    screenshot: Option<ScreenshotState>,
    frame_times: Vec<f32>,
    hover_text: String,
    /// The engine on the renderer's device, when it is a hardware GPU.
    gpu: Option<render::PreviewGpu>,
    /// Options of single-image layer separation; `None`: the paper's, with
    /// fewer channels on the CPU (see `single::options`).
    pub single_layer_options: Option<crate::separate_single::SingleOptions>,
}

struct ScreenshotState {
    path: PathBuf,
    started: Instant,
    requested: bool,
    done: Arc<std::sync::Mutex<Option<Result<(), String>>>>,
}

/// Longest a `--screenshot` run waits for its first complete frame.
const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(300);

impl App {
    pub fn new(cc: &eframe::CreationContext<'_>, options: Options) -> Self {
        let state_dir = options
            .state_dir
            .clone()
            .map(StateDir)
            .unwrap_or_else(StateDir::default_location);
        let (gpu, gpu_note) = preview_gpu(cc, options.force_gpu_previews);
        let mut app = App {
            state_dir,
            session: Session::default(),
            documents: vec![],
            active: 0,
            next_document: 0,
            pending: vec![],
            messages: vec![],
            show_help: false,
            export_options: ExportOptions {
                depth: None,
                jpeg_quality: 95,
            },
            preset_name: String::new(),
            presets: vec![],
            gpu_note,
            screenshot: options.screenshot.as_ref().map(|path| ScreenshotState {
                path: path.clone(),
                started: Instant::now(),
                requested: false,
                done: Arc::default(),
            }),
            frame_times: vec![],
            hover_text: String::new(),
            gpu,
            single_layer_options: None,
        };
        app.presets = app.state_dir.presets();
        let ctx = &cc.egui_ctx;
        if !options.fresh {
            let (session, warning) = app.state_dir.load_session();
            if let Some(warning) = warning {
                app.error(warning);
            }
            app.session = session;
        }
        if !options.files.is_empty() {
            for path in &options.files {
                app.open(ctx, path.clone(), None, None);
            }
        } else if !options.fresh && !app.session.documents.is_empty() {
            for saved in app.session.documents.clone() {
                match saved.path {
                    Some(path) => {
                        app.open(ctx, path, saved.reference, saved.state);
                        if let Some(Pending::Load { second, .. }) = app.pending.last_mut() {
                            *second = saved.second;
                        }
                    }
                    None => app.open_sample(ctx),
                }
            }
        } else if !options.fresh || options.screenshot.is_some() {
            app.open_sample(ctx);
        }
        app
    }

    fn info(&mut self, text: impl Into<String>) {
        self.messages.push(Message {
            text: text.into(),
            is_error: false,
            at: Instant::now(),
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.messages.push(Message {
            text: text.into(),
            is_error: true,
            at: Instant::now(),
        });
    }

    /// Opens an image on a job thread; `state` restores its layers.
    pub fn open(&mut self, ctx: &egui::Context, path: PathBuf, reference: Option<PathBuf>, state: Option<DocState>) {
        let space = state.as_ref().map_or(SpaceChoice::Auto, |s| s.space);
        let label = format!("opening {}", path.display());
        let max_side = ctx.input(|i| i.max_texture_side);
        let job = Job::spawn(label, ctx, move |_| {
            io::open_image(&path, space, reference.as_deref(), max_side)
        });
        self.pending.push(Pending::Load {
            job,
            state,
            second: None,
        });
    }

    /// Opens the built-in sample with its sharp original as the reference.
    pub fn open_sample(&mut self, ctx: &egui::Context) {
        match io::write_sample(&self.state_dir) {
            Ok((blurred, sharp)) => {
                let mut params = Params::default();
                if let Ok(spec) = SAMPLE_PSF.parse::<PsfSpec>() {
                    params.psf.set_from_spec(&spec);
                }
                self.open(ctx, blurred, Some(sharp), Some(DocState::new(params)));
            }
            Err(error) => self.error(format!("the built-in sample could not be written: {error}")),
        }
    }

    /// What computes previews (the adapter, or the CPU).
    pub fn gpu_note(&self) -> &str {
        &self.gpu_note
    }

    pub fn documents(&self) -> usize {
        self.documents.len()
    }

    fn document(&self) -> Option<&Document> {
        self.documents.get(self.active)
    }

    fn document_mut(&mut self) -> Option<&mut Document> {
        self.documents.get_mut(self.active)
    }

    /// True while anything (loading, previews, exports) is still running.
    pub fn is_busy(&self) -> bool {
        !self.pending.is_empty() || self.documents.iter().any(|d| !d.worker.is_idle())
    }

    /// True when every result layer of the active document shows its latest
    /// parameters (a GPU result's pixels may still be on their way back).
    pub fn previews_on_screen(&self) -> bool {
        self.document().is_some_and(|d| {
            d.state.layers.iter().all(|l| {
                !matches!(l.kind, LayerKind::Result(_))
                    || d.computed
                        .get(&l.id)
                        .is_some_and(|c| c.requested.is_some() && c.shown == c.generation)
            })
        })
    }

    /// The active document's editable state (tests and scripts).
    pub fn state(&self) -> Option<&DocState> {
        self.document().map(|d| &d.state)
    }

    pub fn state_mut(&mut self) -> Option<&mut DocState> {
        self.document_mut().map(|d| &mut d.state)
    }

    /// A layer's computed pixels (linear light), if ready.
    pub fn layer_image(&self, id: LayerId) -> Option<Arc<crate::imaging::Image>> {
        self.document()?.computed.get(&id)?.image.clone()
    }

    /// A layer's error, if its computation failed.
    pub fn layer_error(&self, id: LayerId) -> Option<String> {
        self.document()?.computed.get(&id)?.error.clone()
    }

    /// A result layer's PSNR and SSIM against the reference, if attached.
    pub fn layer_quality(&self, id: LayerId) -> Option<crate::metrics::Quality> {
        self.document()?.computed.get(&id)?.quality
    }

    pub fn compare(&self) -> Option<&Compare> {
        self.document().map(|d| &d.compare)
    }

    pub fn undo(&mut self) -> bool {
        self.document_mut().is_some_and(|d| d.undo())
    }

    pub fn redo(&mut self) -> bool {
        self.document_mut().is_some_and(|d| d.redo())
    }

    /// Exports layer `id` of the active document to `path` on a job thread.
    pub fn export_layer(&mut self, ctx: &egui::Context, id: LayerId, path: PathBuf) {
        let Some(document) = self.document() else {
            return;
        };
        let content = match document.state.layer(id).map(|l| &l.kind) {
            Some(LayerKind::Result(params)) => ExportContent::Result(params.clone()),
            Some(LayerKind::Psf) => match document.state.active_result().and_then(|r| document.state.params(r)) {
                Some(params) => match params.psf.spec().and_then(|s| s.kernel().map_err(|e| e.to_string())) {
                    Ok(kernel) => ExportContent::Kernel(kernel),
                    Err(error) => return self.error(error),
                },
                None => return self.error("no result layer, so no PSF to export"),
            },
            Some(_) => match document.computed.get(&id).and_then(|c| c.image.clone()) {
                Some(image) => ExportContent::Pixels(image),
                None => return self.error("that layer has no pixels yet"),
            },
            None => return,
        };
        let source = document.source.clone();
        let source_depth = document.depth;
        let document_path = document.path.clone();
        let options = self.export_options;
        let label = format!("exporting {}", path.display());
        let job = Job::spawn(label, ctx, move |progress| {
            io::export(
                &source,
                source_depth,
                document_path.as_deref(),
                content,
                &path,
                options,
                progress,
            )
        });
        self.pending.push(Pending::Export(job));
    }

    /// Adds a result layer with the active result's parameters (or the
    /// defaults) and selects it.
    pub fn add_result(&mut self) -> Option<LayerId> {
        let document = self.document_mut()?;
        let params = document
            .state
            .active_result()
            .and_then(|id| document.state.params(id).cloned())
            .unwrap_or_default();
        let name = params.summary();
        let id = document.state.add(LayerKind::Result(params), &name);
        document.state.selected = id;
        Some(id)
    }

    pub fn set_export_options(&mut self, options: ExportOptions) {
        self.export_options = options;
    }

    fn pick_file(&mut self, ctx: &egui::Context, purpose: Pick) {
        let suggested = self
            .document()
            .and_then(|d| d.path.as_ref())
            .and_then(|p| p.file_stem())
            .map(|s| format!("{}-sharp.png", s.to_string_lossy()))
            .unwrap_or_else(|| "result.png".into());
        let job = Job::spawn("choosing a file", ctx, move |_| {
            let dialog = rfd::FileDialog::new()
                .add_filter("Images", &["png", "jpg", "jpeg", "tif", "tiff"])
                .add_filter("All files", &["*"]);
            Ok(match purpose {
                Pick::Export => dialog.set_file_name(suggested).save_file(),
                _ => dialog.pick_file(),
            })
        });
        self.pending.push(Pending::Pick { job, purpose });
    }

    /// Takes in finished jobs.
    fn poll_pending(&mut self, ctx: &egui::Context) {
        let pending = std::mem::take(&mut self.pending);
        for item in pending {
            match item {
                Pending::Load { job, state, second } => match job.poll() {
                    None => self.pending.push(Pending::Load { job, state, second }),
                    Some(Ok(loaded)) => {
                        self.add_document(ctx, loaded, state);
                        if let Some(second) = second {
                            self.separate_with(ctx, second);
                        }
                    }
                    Some(Err(error)) => self.error(error),
                },
                Pending::Reload { document, job } => match job.poll() {
                    None => self.pending.push(Pending::Reload { document, job }),
                    Some(Ok(loaded)) => {
                        let mut again = None;
                        if let Some(doc) = self.documents.iter_mut().find(|d| d.id == document) {
                            doc.replace_source(ctx, loaded.opened);
                            // They were made in the old space and take minutes to redo.
                            doc.state.drop_single_layers();
                            again = doc.second.as_ref().map(|s| s.path.clone());
                        }
                        // Separated layers were made in the old space.
                        if let Some(second) = again {
                            self.separate_with(ctx, second);
                        }
                    }
                    Some(Err(error)) => self.error(error),
                },
                Pending::Export(job) => match job.poll() {
                    None => self.pending.push(Pending::Export(job)),
                    Some(Ok(path)) => self.info(format!("exported {}", path.display())),
                    Some(Err(error)) => self.error(format!("export failed: {error}")),
                },
                Pending::Reference { document, job } => match job.poll() {
                    None => self.pending.push(Pending::Reference { document, job }),
                    Some(Ok((source, path))) => self.apply_reference(document, source, path),
                    Some(Err(error)) => self.error(error),
                },
                Pending::Separate { document, job } => match job.poll() {
                    None => self.pending.push(Pending::Separate { document, job }),
                    Some(Ok(separated)) => self.apply_separation(ctx, document, separated),
                    Some(Err(error)) => self.error(format!("separation: {error}")),
                },
                Pending::SeparateSingle {
                    document,
                    job,
                    previews,
                } => {
                    if let Some(latest) = previews.try_iter().last() {
                        self.apply_single_layers(ctx, document, latest);
                    }
                    match job.poll() {
                        None => self.pending.push(Pending::SeparateSingle {
                            document,
                            job,
                            previews,
                        }),
                        Some(Ok(finished)) => {
                            let iterations = finished.layers.iteration;
                            self.apply_single_layers(ctx, document, finished.layers);
                            self.info(format!(
                                "layers separated: {iterations} iterations on {}",
                                finished.device
                            ));
                        }
                        Some(Err(error)) if error == crate::Error::Cancelled.to_string() => {
                            self.info("layer separation stopped; the layers shown are kept")
                        }
                        Some(Err(error)) => self.error(format!("layer separation: {error}")),
                    }
                }
                Pending::Estimate { document, layer, job } => match job.poll() {
                    None => self.pending.push(Pending::Estimate { document, layer, job }),
                    Some(Ok(estimated)) => self.apply_estimate(document, layer, estimated),
                    Some(Err(error)) => self.error(format!("estimation: {error}")),
                },
                Pending::Pick { job, purpose } => match job.poll() {
                    None => self.pending.push(Pending::Pick { job, purpose }),
                    Some(Ok(Some(path))) => self.picked(ctx, purpose, path),
                    Some(Ok(None)) => {}
                    Some(Err(error)) => self.error(error),
                },
            }
        }
    }

    fn picked(&mut self, ctx: &egui::Context, purpose: Pick, path: PathBuf) {
        match purpose {
            Pick::Open => self.open(ctx, path, None, None),
            Pick::Export => {
                if let Some(id) = self.document().map(|d| d.state.selected) {
                    self.export_layer(ctx, id, path);
                }
            }
            Pick::Reference => self.attach_reference(ctx, path),
            Pick::SecondShot => self.separate_with(ctx, path),
            Pick::Kernel => {
                if let Some(document) = self.document_mut()
                    && let Some(id) = document.state.active_result()
                    && let Some(params) = document.state.params_mut(id)
                {
                    params.psf.model = PsfModel::File;
                    params.psf.file = Some(path);
                }
            }
        }
    }

    /// Separates the active document's image (the shot focused on one
    /// layer) and `second` (focused on the other) on a job thread; the two
    /// layers join the document.
    pub fn separate_with(&mut self, ctx: &egui::Context, second: PathBuf) {
        let Some(document) = self.document() else {
            return;
        };
        let (first, space, id) = (document.source.image.clone(), document.source.space, document.id);
        let scale = document.source.scale;
        let max_side = ctx.input(|i| i.max_texture_side);
        let job = Job::spawn("separating", ctx, move |progress| {
            separation::run(&first, (space, scale), &second, max_side, progress)
        });
        self.pending.push(Pending::Separate { document: id, job });
    }

    /// Splits the active document's image into two overlaid layers on a job
    /// thread; the layers join the document as they improve.
    pub fn separate_single(&mut self, ctx: &egui::Context) {
        let Some(document) = self.document() else {
            return;
        };
        if self
            .pending
            .iter()
            .any(|p| matches!(p, Pending::SeparateSingle { document: d, .. } if *d == document.id))
        {
            return self.info("this image's layers are already being separated");
        }
        let (image, space, id) = (document.source.image.clone(), document.source.space, document.id);
        let max_side = ctx.input(|i| i.max_texture_side);
        let (sender, previews) = std::sync::mpsc::channel();
        let repaint = ctx.clone();
        let chosen = self.single_layer_options.clone();
        let job = Job::spawn("separating layers", ctx, move |progress| {
            let options = chosen.unwrap_or_else(single::options);
            single::run(&image, space, &options, max_side, &sender, &repaint, progress)
        });
        self.pending.push(Pending::SeparateSingle {
            document: id,
            job,
            previews,
        });
    }

    fn apply_single_layers(&mut self, ctx: &egui::Context, document: u64, layers: single::Layers) {
        let Some(doc) = self.documents.iter_mut().find(|d| d.id == document) else {
            return;
        };
        let [first, second] = layers.images;
        let [shown_first, shown_second] = layers.shown;
        let names = ["Layer 1 (single image)", "Layer 2 (single image)"];
        for (index, (image, shown)) in [(first, shown_first), (second, shown_second)].into_iter().enumerate() {
            let (id, added) = show_layer(ctx, doc, LayerKind::SingleLayer(index), names[index], image, shown);
            if index == 0 && added {
                doc.state.selected = id;
            }
        }
    }

    fn apply_separation(&mut self, ctx: &egui::Context, document: u64, separated: separation::Separated) {
        let Some(doc) = self.documents.iter_mut().find(|d| d.id == document) else {
            return;
        };
        let second_name = separated
            .second
            .file_name()
            .map_or_else(|| "the second shot".into(), |n| n.to_string_lossy().into_owned());
        let names = [
            format!("Separated: in focus in {}", doc.title),
            format!("Separated: in focus in {second_name}"),
        ];
        let [first, second] = separated.layers;
        let [shown_first, shown_second] = separated.shown;
        for (index, (image, shown)) in [(first, shown_first), (second, shown_second)].into_iter().enumerate() {
            let (id, _) = show_layer(ctx, doc, LayerKind::Separated(index), &names[index], image, shown);
            if index == 0 {
                doc.state.selected = id;
            }
        }
        doc.second = Some(document::SecondShot { path: separated.second });
        self.info(format!("separated: {}", separated.report));
        self.save_session();
    }

    /// Estimates the active result's PSF from the image (or the drawn
    /// region) on a job thread: a parametric fit for the chosen model, or a
    /// free-form kernel when `free_form`.
    pub fn estimate_psf(&mut self, ctx: &egui::Context, free_form: bool) {
        let kernels = self.state_dir.kernels_dir();
        let Some(document) = self.document() else {
            return;
        };
        let Some(layer) = document.state.active_result() else {
            return self.error("add a result layer first");
        };
        let model = document.state.params(layer).map_or(PsfModel::Disk, |p| p.psf.model);
        let (image, region, size, id) = (
            document.source.image.clone(),
            document.region,
            document.kernel_size,
            document.id,
        );
        let job = if free_form {
            Job::spawn("estimating the kernel", ctx, move |progress| {
                estimate::free_form(&image, size, region, &kernels, progress)
            })
        } else {
            Job::spawn("estimating the PSF", ctx, move |progress| {
                estimate::parametric(&image, model, region, progress)
            })
        };
        self.pending.push(Pending::Estimate {
            document: id,
            layer,
            job,
        });
    }

    fn apply_estimate(&mut self, document: u64, layer: LayerId, estimated: estimate::Estimated) {
        let Some(doc) = self.documents.iter_mut().find(|d| d.id == document) else {
            return;
        };
        let Some(params) = doc.state.params_mut(layer) else {
            return self.error("the layer the estimate was for is gone");
        };
        let (text, warnings) = match estimated {
            estimate::Estimated::Parametric(spec, confidence, warnings) => {
                params.psf.set_from_spec(&spec);
                (
                    format!("estimated {spec} (confidence {:.0}%)", confidence * 100.0),
                    warnings,
                )
            }
            estimate::Estimated::Kernel(path, warnings) => {
                params.psf.model = PsfModel::File;
                params.psf.file = Some(path);
                (
                    "estimated a free-form kernel: edit it in the PSF panel".to_string(),
                    warnings,
                )
            }
        };
        self.info(text);
        for warning in warnings {
            self.error(format!("estimation: {warning}"));
        }
    }

    /// Replaces the active result's kernel file by an edited copy: weights
    /// under the threshold removed, or one pixel erased.
    fn edit_kernel(&mut self, erase: Option<(usize, usize)>) {
        let kernels = self.state_dir.kernels_dir();
        let Some(document) = self.document_mut() else {
            return;
        };
        let threshold = if erase.is_some() {
            0.0
        } else {
            document.kernel_threshold
        };
        let Some(id) = document.state.active_result() else {
            return;
        };
        let Some(params) = document.state.params_mut(id) else {
            return;
        };
        let Some(path) = params.psf.file.clone() else {
            return;
        };
        let outcome = crate::psf::Kernel::from_file(&path)
            .map_err(|e| e.to_string())
            .and_then(|kernel| estimate::edit_kernel(&kernel, threshold, erase))
            .and_then(|kernel| estimate::save_kernel(&kernel, &kernels, "edited"));
        match outcome {
            Ok(edited) => params.psf.file = Some(edited),
            Err(error) => self.error(format!("kernel edit: {error}")),
        }
    }

    /// Attaches a sharp reference to the active document: every result then
    /// shows PSNR and SSIM.
    pub fn attach_reference(&mut self, ctx: &egui::Context, path: PathBuf) {
        let Some(document) = self.document() else {
            return;
        };
        let (mut source, id) = (document.source.clone(), document.id);
        let job = Job::spawn("reading the reference", ctx, move |_| {
            let reference = io::load_reference(&path, &source.image, source.scale)?;
            source.set_reference(Arc::new(reference));
            Ok((source, path))
        });
        self.pending.push(Pending::Reference { document: id, job });
    }

    fn apply_reference(&mut self, document: u64, source: render::Source, path: PathBuf) {
        // A source decoded again meanwhile (another light space) keeps its own.
        if let Some(doc) = self.documents.iter_mut().find(|d| d.id == document)
            && Arc::ptr_eq(&doc.source.image, &source.image)
        {
            doc.source = source;
            doc.reference_path = Some(path);
            // Results are measured again against the new reference.
            doc.computed.values_mut().for_each(|c| c.requested = None);
            self.save_session();
        }
    }

    fn add_document(&mut self, ctx: &egui::Context, loaded: Loaded, state: Option<DocState>) {
        if let Some(path) = &loaded.opened.path {
            self.session.add_recent(path);
        }
        let mut state = state.unwrap_or_else(|| DocState::new(Params::default()));
        state.drop_single_layers();
        let mut document = Document::new(ctx, loaded.opened, state, self.gpu.clone());
        document.id = self.next_document;
        self.next_document += 1;
        let (picture, side) = loaded.spectrum;
        document.spectrum = Some((
            ctx.load_texture("spectrum", picture, egui::TextureOptions::LINEAR),
            side,
        ));
        self.documents.push(document);
        self.active = self.documents.len() - 1;
        self.save_session();
    }

    fn close_document(&mut self, index: usize) {
        if index < self.documents.len() {
            self.documents.remove(index);
            self.active = self.active.min(self.documents.len().saturating_sub(1));
            self.save_session();
        }
    }

    /// Switches the active document's light space; the image is decoded again.
    fn set_space(&mut self, ctx: &egui::Context, space: SpaceChoice) {
        let Some(document) = self.document_mut() else {
            return;
        };
        document.state.space = space;
        let (Some(path), id) = (document.path.clone(), document.id) else {
            return;
        };
        let reference = document.reference_path.clone();
        let max_side = ctx.input(|i| i.max_texture_side);
        let job = Job::spawn("decoding again", ctx, move |_| {
            io::open_image(&path, space, reference.as_deref(), max_side)
        });
        self.pending.push(Pending::Reload { document: id, job });
    }

    fn save_session(&mut self) {
        self.session.documents = self
            .documents
            .iter()
            .map(|d| SavedDocument {
                path: d.path.clone(),
                reference: d.reference_path.clone(),
                second: d.second.as_ref().map(|s| s.path.clone()),
                state: Some(d.committed.clone()),
            })
            .collect();
        self.session.active = self.active;
        if let Err(error) = self.state_dir.save_session(&self.session) {
            self.error(format!("the session could not be saved: {error}"));
        }
    }

    fn handle_shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let command = Modifiers::COMMAND;
        let shortcut = |modifiers, key| ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(modifiers, key)));
        if shortcut(command, Key::O) {
            self.pick_file(ctx, Pick::Open);
        }
        if shortcut(command, Key::E) {
            self.pick_file(ctx, Pick::Export);
        }
        if shortcut(command | Modifiers::SHIFT, Key::Z) || shortcut(command, Key::Y) {
            self.redo();
        }
        if shortcut(command, Key::Z) {
            self.undo();
        }
        let typing = ctx.egui_wants_keyboard_input();
        if let Some(document) = self.document_mut() {
            if shortcut(command, Key::Num0) {
                document.view.fit = true;
            }
            if shortcut(command, Key::Num1) {
                document.view.set_zoom(1.0);
            }
            if shortcut(command, Key::Num2) {
                document.view.set_zoom(2.0);
            }
            if !typing && shortcut(Modifiers::NONE, Key::C) {
                panels::toggle_split(document);
            }
        }
        if !typing && shortcut(Modifiers::NONE, Key::F1) {
            self.show_help = !self.show_help;
        }
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        for path in dropped {
            self.open(ctx, path, None, None);
        }
    }

    /// For `--screenshot`: once everything is computed, capture and quit.
    fn drive_screenshot(&mut self, ctx: &egui::Context) {
        let Some(shot) = &mut self.screenshot else {
            return;
        };
        if let Some(outcome) = shot.done.lock().unwrap_or_else(|p| p.into_inner()).take() {
            match outcome {
                Ok(()) => eprintln!("unblur: screenshot saved to {}", shot.path.display()),
                Err(error) => eprintln!("unblur: error: screenshot: {error}"),
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if shot.started.elapsed() > SCREENSHOT_TIMEOUT {
            eprintln!("unblur: error: screenshot: nothing was computed within {SCREENSHOT_TIMEOUT:?}");
            std::process::exit(1);
        }
        let ready = !self.documents.is_empty()
            && self.pending.is_empty()
            && self.documents.iter().all(|d| {
                d.worker.is_idle()
                    && d.state.layers.iter().all(|l| {
                        !matches!(l.kind, LayerKind::Result(_))
                            || d.computed
                                .get(&l.id)
                                .is_some_and(|c| c.texture.is_some() || c.error.is_some())
                    })
            });
        if ready && !shot.requested {
            shot.requested = true;
            let (path, done) = (shot.path.clone(), shot.done.clone());
            let repaint = ctx.clone();
            ctx.request_screenshot(move |picture| {
                let [w, h] = picture.size;
                let bytes: Vec<u8> = picture.pixels.iter().flat_map(|p| p.to_array()).collect();
                let outcome = image::RgbaImage::from_raw(w as u32, h as u32, bytes)
                    .ok_or_else(|| "bad screenshot size".to_string())
                    .and_then(|shot| shot.save(&path).map_err(|e| e.to_string()));
                *done.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
                repaint.request_repaint();
            });
        }
        ctx.request_repaint_after(Duration::from_millis(100));
    }

    /// Median and 95th percentile of the UI thread's time per frame, in ms.
    pub fn frame_time_stats(&self) -> Option<(f32, f32)> {
        let mut times = self.frame_times.clone();
        if times.is_empty() {
            return None;
        }
        times.sort_by(f32::total_cmp);
        Some((
            times[times.len() / 2],
            times[(times.len() * 95 / 100).min(times.len() - 1)],
        ))
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.poll_pending(&ctx);
        self.handle_dropped_files(&ctx);
        self.handle_shortcuts(&ctx);
        let mut working = false;
        for document in &mut self.documents {
            working |= document.sync(&ctx);
        }
        panels::draw(self, ui);
        // Changes made in this frame go to the workers now, not a frame later.
        for document in &mut self.documents {
            working |= document.sync(&ctx);
        }
        let pointer_down = ctx.input(|i| i.pointer.any_down());
        let mut committed = false;
        for document in &mut self.documents {
            committed |= document.commit_if_settled(pointer_down);
        }
        if committed {
            self.save_session();
        }
        self.messages
            .retain(|m| m.is_error || m.at.elapsed() < Duration::from_secs(8));
        self.drive_screenshot(&ctx);
        if working || !self.pending.is_empty() {
            ctx.request_repaint_after(Duration::from_millis(50));
        }
        self.frame_times.push(started.elapsed().as_secs_f32() * 1000.0);
        if self.frame_times.len() > 10_000 {
            self.frame_times.drain(..5_000);
        }
    }

    fn on_exit(&mut self) {
        self.save_session();
        // Stop the preview workers (and free their GPU resources) first.
        self.documents.clear();
        if std::env::var_os("UNBLUR_FRAME_STATS").is_some()
            && let Some((median, p95)) = self.frame_time_stats()
        {
            eprintln!("unblur: UI thread per frame: median {median:.2} ms, 95th percentile {p95:.2} ms");
        }
    }
}

/// The GPU engine on the renderer's device, and a line saying what computes
/// previews. A software adapter (lavapipe) is slower than the CPU path, so it
/// only draws unless `forced`.
fn preview_gpu(cc: &eframe::CreationContext<'_>, forced: bool) -> (Option<render::PreviewGpu>, String) {
    let Some(render) = &cc.wgpu_render_state else {
        return (None, "no GPU renderer: previews on the CPU".into());
    };
    let info = render.adapter.get_info();
    let software = info.device_type == eframe::wgpu::DeviceType::Cpu;
    let name = format!("{} ({:?})", info.name, info.backend);
    if software && !forced {
        return (None, format!("{name}, software: previews on the CPU"));
    }
    let ctx = GpuContext::from_device(render.device.clone(), render.queue.clone(), info);
    let gpu = render::PreviewGpu {
        ctx: Arc::new(ctx),
        renderer: render.renderer.clone(),
    };
    (Some(gpu), format!("{name}: previews on the GPU"))
}

/// The wgpu setup the editor uses (eframe adds the window's display handle): the adapter's own limits,
/// since the default ones are too small for compute on some backends.
pub fn wgpu_setup() -> eframe::egui_wgpu::WgpuSetup {
    let mut setup = eframe::egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.device_descriptor = Arc::new(|adapter| eframe::wgpu::DeviceDescriptor {
        label: Some("unblur"),
        required_limits: adapter.limits(),
        ..Default::default()
    });
    eframe::egui_wgpu::WgpuSetup::CreateNew(setup)
}

/// Opens the editor window; returns when it closes.
pub fn run(options: Options) -> Result<(), String> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("unblur")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([800.0, 500.0])
            .with_drag_and_drop(true),
        wgpu_options: eframe::egui_wgpu::WgpuConfiguration {
            wgpu_setup: wgpu_setup(),
            ..Default::default()
        },
        ..Default::default()
    };
    eframe::run_native(
        "unblur",
        native,
        Box::new(move |cc| Ok(Box::new(App::new(cc, options)))),
    )
    .map_err(|e| e.to_string())
}

/// Puts computed pixels into the document's layer of `kind`, adding the
/// layer (named `name`) if it has none; returns its id and whether it is new.
fn show_layer(
    ctx: &egui::Context,
    doc: &mut Document,
    kind: LayerKind,
    name: &str,
    image: Arc<crate::imaging::Image>,
    shown: egui::ColorImage,
) -> (LayerId, bool) {
    let existing = doc.state.layers.iter().find(|l| l.kind == kind).map(|l| l.id);
    let id = existing.unwrap_or_else(|| doc.state.add(kind, name));
    let computed = doc.computed.entry(id).or_default();
    computed.image = Some(image);
    computed.texture = Some(ctx.load_texture(format!("layer-{id}"), shown, document::TEXTURE_OPTIONS));
    computed.error = None;
    (id, existing.is_none())
}
