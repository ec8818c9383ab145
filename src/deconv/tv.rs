//! Total-variation deconvolution by ADMM:
//! `argmin_f 1/2 ||h * f - g||^2 + lambda TV(f)`, with TV the isotropic total
//! variation coupled across colour channels (edges shared by R, G and B).
//! Splitting `z = grad f`, each iteration is one FFT pair per channel (the
//! f-step is diagonal in Fourier) plus pointwise shrinkage.

use rayon::prelude::*;

use super::operators;
use super::spectral::Prepared;
use crate::error::Result;
use crate::fft::Complex32;
use crate::imaging::Image;
use crate::jobs::Progress;

/// The penalty grows from `lambda * RHO_START` to `lambda * RHO_END` over the
/// first part of the iterations (continuation, as in FTVd): fast early
/// progress, an accurate solution at the end.
const RHO_START: f32 = 1.0;
const RHO_END: f32 = 256.0;
/// Fraction of the iterations spent raising the penalty.
const RAMP_FRACTION: f32 = 0.6;

/// Runs `iterations` ADMM steps with TV weight `lambda`.
pub fn total_variation(
    prepared: &Prepared,
    otf: &[Complex32],
    lambda: f32,
    iterations: usize,
    progress: &dyn Progress,
) -> Result<Image> {
    let fft = &prepared.fft;
    let (h, w) = (fft.height, fft.width);
    let n = h * w;
    let channels = prepared.planes().len();
    let energy = operators::gradient_energy(fft);
    // conj(H) G per channel, fixed for the whole run.
    let data_terms: Vec<Vec<Complex32>> = prepared
        .spectra
        .iter()
        .map(|g| g.par_iter().zip(otf.par_iter()).map(|(g, h)| h.conj() * g).collect())
        .collect();
    let mut estimate = prepared.planes().to_vec();
    let mut zx = vec![vec![0.0f32; n]; channels];
    let mut zy = vec![vec![0.0f32; n]; channels];
    for c in 0..channels {
        operators::gradient(&estimate[c], h, w, &mut zx[c], &mut zy[c]);
    }
    let mut ux = vec![vec![0.0f32; n]; channels];
    let mut uy = vec![vec![0.0f32; n]; channels];
    let mut rhs = vec![0.0f32; n];
    let mut spectrum = vec![Complex32::default(); fft.spectrum_len()];
    let (mut dx, mut dy) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut rho = tv_penalty(lambda, 0, iterations);

    for iteration in 0..iterations {
        let next_rho = tv_penalty(lambda, iteration, iterations);
        if next_rho != rho {
            // Scaled duals are multipliers divided by rho.
            let scale = rho / next_rho;
            for u in ux.iter_mut().chain(uy.iter_mut()) {
                u.par_iter_mut().for_each(|v| *v *= scale);
            }
            rho = next_rho;
        }
        // f-step: (H*H + rho D*D) f = H* g + rho D*(z - u).
        for c in 0..channels {
            let wx: Vec<f32> = zx[c].par_iter().zip(&ux[c]).map(|(z, u)| z - u).collect();
            let wy: Vec<f32> = zy[c].par_iter().zip(&uy[c]).map(|(z, u)| z - u).collect();
            operators::gradient_adjoint(&wx, &wy, h, w, &mut rhs);
            fft.forward_into(&rhs, &mut spectrum);
            spectrum
                .par_iter_mut()
                .zip(data_terms[c].par_iter())
                .zip(otf.par_iter().zip(energy.par_iter()))
                .for_each(|((s, d), (hh, e))| *s = (d + *s * rho) / (hh.norm_sqr() + rho * e));
            fft.inverse_destroying(&mut spectrum, &mut estimate[c]);
        }
        // z-step: shrink grad f + u by lambda / rho, jointly over channels.
        let threshold = lambda / rho;
        let mut norm = vec![0.0f32; n];
        for c in 0..channels {
            operators::gradient(&estimate[c], h, w, &mut dx, &mut dy);
            ux[c].par_iter_mut().zip(dx.par_iter()).for_each(|(u, d)| *u += d);
            uy[c].par_iter_mut().zip(dy.par_iter()).for_each(|(u, d)| *u += d);
            norm.par_iter_mut()
                .zip(ux[c].par_iter().zip(uy[c].par_iter()))
                .for_each(|(m, (a, b))| *m += a * a + b * b);
        }
        let shrink: Vec<f32> = norm
            .par_iter()
            .map(|m| {
                let m = m.sqrt();
                if m > threshold { 1.0 - threshold / m } else { 0.0 }
            })
            .collect();
        // u now holds grad f + u_old = v; z = shrink * v; u = v - z.
        for c in 0..channels {
            for (z, u) in [(&mut zx[c], &mut ux[c]), (&mut zy[c], &mut uy[c])] {
                z.par_iter_mut()
                    .zip(u.par_iter_mut())
                    .zip(shrink.par_iter())
                    .for_each(|((z, u), s)| {
                        *z = *u * s;
                        *u -= *z;
                    });
            }
        }
        progress.step("total variation", (iteration + 1) as f32 / iterations as f32)?;
    }
    Ok(prepared.finish(estimate))
}

/// The ADMM penalty at `iteration`: geometric ramp, then constant (shared
/// with the GPU twin).
pub fn tv_penalty(lambda: f32, iteration: usize, iterations: usize) -> f32 {
    let ramp = (RAMP_FRACTION * iterations as f32).max(1.0);
    let t = (iteration as f32 / ramp).min(1.0);
    lambda * RHO_START * (RHO_END / RHO_START).powf(t)
}
