//! A terminal progress bar for long work (hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};
use unblur::jobs::Progress;

pub struct TerminalProgress {
    bar: ProgressBar,
}

const STEPS: u64 = 1000;

impl TerminalProgress {
    pub fn new() -> Self {
        let bar = ProgressBar::new(STEPS);
        bar.set_style(
            ProgressStyle::with_template("{msg:>16} [{bar:40}] {percent:>3}% {elapsed}/{duration}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        TerminalProgress { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for TerminalProgress {
    fn report(&self, stage: &str, fraction: f32) {
        self.bar.set_message(stage.to_string());
        self.bar.set_position((fraction.clamp(0.0, 1.0) * STEPS as f32) as u64);
    }

    fn is_cancelled(&self) -> bool {
        false
    }
}
