//! Progress reporting and cancellation for long work, shared by the CLI
//! (terminal progress bars) and the editor (worker threads).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// Receives progress from long work and tells it when to stop. Every long
/// loop calls [`Progress::step`] once per iteration.
pub trait Progress: Sync {
    /// `fraction` of the work is done, in [0, 1].
    fn report(&self, stage: &str, fraction: f32);
    /// True once the work should stop.
    fn is_cancelled(&self) -> bool;

    /// Reports and returns `Err(Cancelled)` if the work should stop.
    fn step(&self, stage: &str, fraction: f32) -> Result<()> {
        if self.is_cancelled() {
            return Err(Error::Cancelled);
        }
        self.report(stage, fraction);
        Ok(())
    }
}

/// Progress that goes nowhere and never cancels.
pub struct Silent;

impl Progress for Silent {
    fn report(&self, _stage: &str, _fraction: f32) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// Passes cancellation through and drops the reports: for a piece of work
/// whose own fractions would not fit the outer progress (a quick probe
/// before the main work, which starts again from 0).
pub struct CancelOnly<'a>(pub &'a dyn Progress);

impl Progress for CancelOnly<'_> {
    fn report(&self, _stage: &str, _fraction: f32) {}
    fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// A shared flag that asks a job to stop.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
