//! Work off the UI thread: a preview worker per document (the latest request
//! for a layer wins, and supersedes the one running), and one-off jobs
//! (loading, export, estimation, separation) with progress and cancel.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use crate::jobs::{CancelToken, Progress};
use eframe::egui::{self, ColorImage};

use super::display;
use super::params::Params;
use super::render::{PreviewCache, PreviewGpu, Rendered, Source};

/// Progress shared between a worker and the UI, which draws it.
#[derive(Default)]
pub struct SharedProgress {
    status: Mutex<(String, f32)>,
    pub cancel: CancelToken,
    repaint: Mutex<Option<egui::Context>>,
}

impl SharedProgress {
    fn new(ctx: &egui::Context) -> Arc<Self> {
        Arc::new(SharedProgress {
            repaint: Mutex::new(Some(ctx.clone())),
            ..Default::default()
        })
    }

    /// The last stage and fraction reported.
    pub fn status(&self) -> (String, f32) {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Progress for SharedProgress {
    fn report(&self, stage: &str, fraction: f32) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = (stage.to_string(), fraction);
        if let Some(ctx) = &*self.repaint.lock().unwrap_or_else(|p| p.into_inner()) {
            ctx.request_repaint();
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// A one-off job on its own thread.
pub struct Job<T> {
    pub label: String,
    pub progress: Arc<SharedProgress>,
    receiver: Receiver<Result<T, String>>,
}

impl<T: Send + 'static> Job<T> {
    pub fn spawn(
        label: impl Into<String>,
        ctx: &egui::Context,
        work: impl FnOnce(&dyn Progress) -> Result<T, String> + Send + 'static,
    ) -> Self {
        let progress = SharedProgress::new(ctx);
        let (sender, receiver) = mpsc::channel();
        let shared = progress.clone();
        let ctx = ctx.clone();
        thread::spawn(move || {
            let outcome = work(&*shared);
            let _ = sender.send(outcome);
            ctx.request_repaint();
        });
        Job {
            label: label.into(),
            progress,
            receiver,
        }
    }

    /// The outcome, once the job has finished.
    pub fn poll(&self) -> Option<Result<T, String>> {
        match self.receiver.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(format!("{}: the job stopped unexpectedly", self.label))),
        }
    }
}

/// A preview to compute.
struct Request {
    layer: u64,
    generation: u64,
    params: Params,
    source: Source,
}

/// How a computed preview reaches the screen.
pub enum Shown {
    /// Pixels to upload.
    Pixels(ColorImage),
    /// Already drawn by the GPU into this texture.
    OnScreen(egui::TextureId),
}

/// A computed preview, ready to show.
pub struct Reply {
    pub layer: u64,
    pub generation: u64,
    pub outcome: Outcome,
}

pub enum Outcome {
    Done(Rendered, Shown),
    Failed(String),
    /// The pixels of a result that was shown straight from the GPU, read
    /// back once no newer request was waiting.
    Pixels(Arc<crate::imaging::Image>),
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Request>,
    running: Option<(u64, Arc<SharedProgress>)>,
    closed: bool,
}

/// Computes result layers on one thread, in request order, keeping only the
/// newest request per layer.
pub struct PreviewWorker {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    replies: Receiver<Reply>,
    thread: Option<thread::JoinHandle<()>>,
}

impl PreviewWorker {
    /// A worker computing on the CPU, or on `gpu` when given.
    pub fn new(ctx: &egui::Context, gpu: Option<PreviewGpu>) -> Self {
        let queue: Arc<(Mutex<Queue>, Condvar)> = Arc::default();
        let (sender, replies) = mpsc::channel();
        let worker_queue = queue.clone();
        let ctx = ctx.clone();
        let thread = thread::Builder::new()
            .name("preview".into())
            .spawn(move || run(&worker_queue, &sender, &ctx, PreviewCache::new(gpu)))
            .expect("spawning a thread");
        PreviewWorker {
            queue,
            replies,
            thread: Some(thread),
        }
    }

    /// Asks for `layer` to be computed; supersedes any earlier request for it.
    pub fn request(&self, layer: u64, generation: u64, params: Params, source: Source) {
        let (lock, wake) = &*self.queue;
        let mut queue = lock.lock().unwrap_or_else(|p| p.into_inner());
        queue.pending.retain(|r| r.layer != layer);
        if let Some((running, progress)) = &queue.running
            && *running == layer
        {
            progress.cancel.cancel();
        }
        queue.pending.push_back(Request {
            layer,
            generation,
            params,
            source,
        });
        wake.notify_one();
    }

    /// Stops the running job and drops the pending ones.
    pub fn cancel_all(&self) {
        let mut queue = self.queue.0.lock().unwrap_or_else(|p| p.into_inner());
        queue.pending.clear();
        if let Some((_, progress)) = &queue.running {
            progress.cancel.cancel();
        }
    }

    /// The layer being computed and its progress.
    pub fn running(&self) -> Option<(u64, (String, f32))> {
        let queue = self.queue.0.lock().unwrap_or_else(|p| p.into_inner());
        queue
            .running
            .as_ref()
            .map(|(layer, progress)| (*layer, progress.status()))
    }

    pub fn is_idle(&self) -> bool {
        let queue = self.queue.0.lock().unwrap_or_else(|p| p.into_inner());
        queue.running.is_none() && queue.pending.is_empty()
    }

    /// Replies that arrived since the last call.
    pub fn replies(&self) -> Vec<Reply> {
        self.replies.try_iter().collect()
    }
}

impl Drop for PreviewWorker {
    fn drop(&mut self) {
        self.cancel_all();
        let (lock, wake) = &*self.queue;
        lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        wake.notify_all();
        // The thread may hold GPU resources: let it release them before the
        // device goes away.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(queue: &(Mutex<Queue>, Condvar), replies: &Sender<Reply>, ctx: &egui::Context, mut cache: PreviewCache) {
    loop {
        let (request, progress) = {
            let (lock, wake) = queue;
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if state.closed {
                    return;
                }
                if let Some(request) = state.pending.pop_front() {
                    let progress = SharedProgress::new(ctx);
                    state.running = Some((request.layer, progress.clone()));
                    break (request, progress);
                }
                state = wake.wait(state).unwrap_or_else(|p| p.into_inner());
            }
        };
        let max_side = ctx.input(|i| i.max_texture_side).max(256);
        let layer = Some((request.layer, max_side));
        let outcome = cache
            .render_layer(&request.source, &request.params, &*progress, layer)
            .map(|rendered| {
                let shown = match (rendered.on_screen, &rendered.image) {
                    (Some((id, _)), _) => Shown::OnScreen(id),
                    (None, Some(image)) => {
                        Shown::Pixels(display::to_color_image(image, request.source.space, max_side).0)
                    }
                    (None, None) => unreachable!("a result not on screen has pixels"),
                };
                (rendered, shown)
            });
        let deferred = matches!(&outcome, Ok(rendered) if rendered.0.image.is_none());
        let outcome = match outcome {
            Ok((rendered, shown)) => Outcome::Done(rendered, shown),
            Err(error) => Outcome::Failed(error),
        };
        queue.0.lock().unwrap_or_else(|p| p.into_inner()).running = None;
        // A cancelled preview was superseded: its newer request follows.
        if !progress.is_cancelled() {
            let reply = Reply {
                layer: request.layer,
                generation: request.generation,
                outcome,
            };
            if replies.send(reply).is_err() {
                return;
            }
            // Read the pixels back only when the user has stopped asking for
            // new previews (a drag sends one per frame).
            let idle = queue.0.lock().unwrap_or_else(|p| p.into_inner()).pending.is_empty();
            if deferred
                && idle
                && let Some(image) = cache.read_back()
            {
                let reply = Reply {
                    layer: request.layer,
                    generation: request.generation,
                    outcome: Outcome::Pixels(Arc::new(image)),
                };
                if replies.send(reply).is_err() {
                    return;
                }
            }
        }
        ctx.request_repaint();
    }
}
