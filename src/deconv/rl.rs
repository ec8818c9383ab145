//! Richardson–Lucy: `f <- f * (h~ * (g / (h * f)))`, the multiplicative
//! maximum-likelihood iteration for Poisson noise. It keeps the estimate
//! non-negative and its flux equal to the input's; stopping early regularizes.

use rayon::prelude::*;

use super::spectral::Prepared;
use crate::error::Result;
use crate::fft::Complex32;
use crate::imaging::Image;
use crate::jobs::Progress;

/// Predicted values below this are treated as this (no division by zero in
/// black areas); well under one 16-bit step.
const FLOOR: f32 = 1e-6;

/// Runs `iterations` Richardson–Lucy steps on every channel.
pub fn richardson_lucy(
    prepared: &Prepared,
    otf: &[Complex32],
    iterations: usize,
    progress: &dyn Progress,
) -> Result<Image> {
    let fft = &prepared.fft;
    let observed: Vec<Vec<f32>> = prepared
        .planes
        .iter()
        .map(|p| p.par_iter().map(|v| v.max(0.0)).collect())
        .collect();
    let mut estimate = observed.clone();
    let mut spectrum = vec![Complex32::default(); fft.spectrum_len()];
    let mut buffer = vec![0.0f32; fft.height * fft.width];
    let channels = observed.len();
    for iteration in 0..iterations {
        for c in 0..channels {
            // h * f
            fft.forward_into(&estimate[c], &mut spectrum);
            spectrum.par_iter_mut().zip(otf.par_iter()).for_each(|(s, h)| *s *= h);
            fft.inverse_destroying(&mut spectrum, &mut buffer);
            // g / (h * f)
            buffer
                .par_iter_mut()
                .zip(observed[c].par_iter())
                .for_each(|(b, g)| *b = g / b.max(FLOOR));
            // h~ * ratio, applied as conj(H)
            fft.forward_into(&buffer, &mut spectrum);
            spectrum
                .par_iter_mut()
                .zip(otf.par_iter())
                .for_each(|(s, h)| *s *= h.conj());
            fft.inverse_destroying(&mut spectrum, &mut buffer);
            estimate[c]
                .par_iter_mut()
                .zip(buffer.par_iter())
                .for_each(|(f, correction)| *f = (*f * correction).max(0.0));
            let done = (iteration * channels + c + 1) as f32 / (iterations * channels) as f32;
            progress.step("Richardson-Lucy", done)?;
        }
    }
    Ok(prepared.finish(estimate))
}
