//! Richardson–Lucy: `f <- f * (h~ * (g / (h * f)))`, the multiplicative
//! maximum-likelihood iteration for Poisson noise. It keeps the estimate
//! non-negative and its flux equal to the input's; stopping early regularizes.

use rayon::prelude::*;

use super::spectral::Prepared;
use crate::error::Result;
use crate::fft::{ColumnFilter, Complex32};
use crate::imaging::Image;
use crate::jobs::Progress;

/// Predicted values below this are treated as this (no division by zero in
/// black areas); well under one 16-bit step.
const FLOOR: f32 = 1e-6;

/// Runs `iterations` Richardson–Lucy steps on every channel.
///
/// Each convolution is a row FFT, a fused column pass (forward, times the
/// OTF, inverse) and a row inverse; the pointwise steps run inside the row
/// passes, so an iteration touches memory four times rather than a dozen.
pub fn richardson_lucy(
    prepared: &Prepared,
    otf: &[Complex32],
    iterations: usize,
    progress: &dyn Progress,
) -> Result<Image> {
    let fft = &prepared.fft;
    let blur = ColumnFilter::new(fft, otf, |_, h| h);
    // Correlation with the kernel (h~) is conj(H).
    let adjoint = ColumnFilter::new(fft, otf, |_, h| h.conj());
    let channels = prepared.planes().len();
    let mut spectrum = vec![Complex32::default(); fft.spectrum_len()];
    let mut estimates = Vec::with_capacity(channels);
    for (c, plane) in prepared.planes().iter().enumerate() {
        // Mutable only because the row pass hands its companion rows out so.
        let mut observed: Vec<f32> = plane.par_iter().map(|v| v.max(0.0)).collect();
        let mut estimate = observed.clone();
        fft.forward_rows(&estimate, &mut spectrum);
        for iteration in 0..iterations {
            // h * f, then the ratio g / (h * f), transformed again by rows.
            fft.filter_columns(&mut spectrum, &blur);
            fft.rows_round_trip(&mut spectrum, &mut observed, |row, observed_row| {
                for (b, g) in row.iter_mut().zip(observed_row.iter()) {
                    *b = g / b.max(FLOOR);
                }
            });
            // h~ * ratio is the correction; the updated estimate is
            // transformed by rows for the next iteration.
            fft.filter_columns(&mut spectrum, &adjoint);
            if iteration + 1 < iterations {
                fft.rows_round_trip(&mut spectrum, &mut estimate, |row, estimate_row| {
                    for (correction, f) in row.iter_mut().zip(estimate_row.iter_mut()) {
                        *f = (*f * *correction).max(0.0);
                        *correction = *f;
                    }
                });
            } else {
                fft.inverse_rows_into(
                    &mut spectrum,
                    0..fft.height,
                    &mut estimate,
                    |correction, estimate_row| {
                        for (f, c) in estimate_row.iter_mut().zip(correction) {
                            *f = (*f * c).max(0.0);
                        }
                    },
                );
            }
            let done = (c * iterations + iteration + 1) as f32 / (iterations * channels) as f32;
            progress.step("Richardson-Lucy", done)?;
        }
        estimates.push(estimate);
    }
    Ok(prepared.finish(estimates))
}
