//! The denoiser f of the RED regularizer: total-variation (ROF) denoising by
//! Chambolle's dual projection, in tensor operations so it runs on the same
//! device as the generators with no transfers.
//!
//! Why TV: it keeps the edges that tell the layers apart, it is cheap (a few
//! pointwise passes per iteration, against hundreds of patch comparisons
//! per pixel for non-local means), and it is the proximal operator of a
//! convex function, so x - f(x) is exactly the gradient of that function's
//! Moreau envelope M(x) = min_u 1/2 ||u - x||^2 + weight TV(u): the
//! fixed-point step of the ADMM is then a true gradient step on a known
//! regularizer (the tests check this against finite differences).

use burn::prelude::*;
use burn::tensor::ops::PadMode;

use super::exclusion::difference;

/// Step of the dual iteration; Chambolle proves 1/8 and 1/4 works in practice.
const TAU: f32 = 0.24;

/// `image` (`[1, C, H, W]`) denoised by isotropic TV with `weight` per channel,
/// after `iterations` dual steps.
pub fn tv_denoise(image: Tensor<4>, weight: f32, iterations: usize) -> Tensor<4> {
    let mut px = image.zeros_like();
    let mut py = image.zeros_like();
    for _ in 0..iterations {
        let v = divergence(px.clone(), py.clone()) - image.clone().div_scalar(weight);
        let (gx, gy) = gradient(v);
        let magnitude = (gx.clone().square() + gy.clone().square()).sqrt();
        let shrink = magnitude.mul_scalar(TAU).add_scalar(1.0);
        px = (px + gx.mul_scalar(TAU)) / shrink.clone();
        py = (py + gy.mul_scalar(TAU)) / shrink;
    }
    image - divergence(px, py).mul_scalar(weight)
}

/// Forward differences along columns and rows, zero at the far edge
/// (Neumann boundary).
pub fn gradient(u: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let gx = difference(u.clone(), 3).pad((0, 1, 0, 0), PadMode::Constant(0.0));
    let gy = difference(u, 2).pad((0, 0, 0, 1), PadMode::Constant(0.0));
    (gx, gy)
}

/// The negative adjoint of [`gradient`].
fn divergence(px: Tensor<4>, py: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = px.dims();
    let px_before = px.clone().pad((1, 0, 0, 0), PadMode::Constant(0.0)).narrow(3, 0, w);
    let py_before = py.clone().pad((0, 0, 1, 0), PadMode::Constant(0.0)).narrow(2, 0, h);
    // The last column of px (row of py) is always 0, as the gradient's is.
    (px - px_before) + (py - py_before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total_variation(u: Tensor<4>) -> f64 {
        let (gx, gy) = gradient(u);
        (gx.square() + gy.square()).sqrt().sum().into_scalar::<f32>() as f64
    }

    /// min_u 1/2 ||u - x||^2 + weight TV(u), evaluated at the denoiser's u.
    fn moreau_envelope(x: Tensor<4>, weight: f32, iterations: usize) -> f64 {
        let u = tv_denoise(x.clone(), weight, iterations);
        0.5 * (u.clone() - x).square().sum().into_scalar::<f32>() as f64 + weight as f64 * total_variation(u)
    }

    fn test_image(device: &Device) -> Tensor<4> {
        // A smooth ramp with an edge and a little deterministic texture.
        let (h, w) = (12, 14);
        let data: Vec<f32> = (0..h * w)
            .map(|i| {
                let (y, x) = ((i / w) as f32, (i % w) as f32);
                0.3 + 0.02 * x + if x > 6.0 { 0.3 } else { 0.0 } + 0.05 * ((x * 1.7 + y * 2.3).sin())
            })
            .collect();
        Tensor::from_data(TensorData::new(data, [1, 1, h, w]), device)
    }

    #[test]
    fn red_gradient_is_the_gradient_of_the_moreau_envelope() {
        let device = Device::flex();
        let x = test_image(&device);
        let (weight, iterations) = (0.05, 3000);
        let red = (x.clone() - tv_denoise(x.clone(), weight, iterations))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        // Central differences along a few fixed directions.
        let n = red.len();
        for seed in 0..3usize {
            let direction: Vec<f32> = (0..n)
                .map(|i| (((i * 7919 + seed * 104729) % 997) as f32 / 997.0) - 0.5)
                .collect();
            let d = Tensor::<4>::from_data(TensorData::new(direction.clone(), [1, 1, 12, 14]), &device);
            // M is only once differentiable: keep the step small.
            let eps = 1e-3f32;
            let plus = moreau_envelope(x.clone() + d.clone().mul_scalar(eps), weight, iterations);
            let minus = moreau_envelope(x.clone() - d.mul_scalar(eps), weight, iterations);
            let numeric = (plus - minus) / (2.0 * eps as f64);
            let analytic: f64 = red.iter().zip(&direction).map(|(g, d)| (*g as f64) * (*d as f64)).sum();
            assert!(
                (numeric - analytic).abs() <= 2e-3 * analytic.abs().max(0.05),
                "direction {seed}: finite difference {numeric}, x - f(x) gives {analytic}"
            );
        }
    }

    #[test]
    fn denoising_lowers_total_variation_and_keeps_the_mean() {
        let device = Device::flex();
        let x = test_image(&device);
        let u = tv_denoise(x.clone(), 0.05, 200);
        assert!(total_variation(u.clone()) < 0.8 * total_variation(x.clone()));
        let (mx, mu) = (x.mean().into_scalar::<f32>(), u.mean().into_scalar::<f32>());
        assert!((mx - mu).abs() < 1e-4, "mean {mx} became {mu}");
    }
}
