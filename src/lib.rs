//! unblur: sharpens blurred photos. The engine (images, PSFs, FFTs,
//! deconvolution, metrics) behind the `unblur` editor and command line.

pub mod app;
pub mod blind;
pub mod deconv;
pub mod engine;
pub mod error;
pub mod fft;
pub mod gpu;
pub mod imaging;
pub mod jobs;
pub mod metrics;
pub mod psf;
pub mod separate;
pub mod separate_single;

pub use error::{Error, Result};
