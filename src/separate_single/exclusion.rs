//! The exclusion loss of Zhang, Ng and Chen 2018 ("Single Image Reflection
//! Separation with Perceptual Losses"): two layers of one photo rarely have
//! edges in the same place, so the loss penalizes gradients that are strong
//! in both at once, at several scales. This is the form of the authors'
//! published code: per direction, the squashed gradients tanh(g / 2) of one
//! layer and of the other (rescaled to the first's mean magnitude) are
//! multiplied, squared, averaged, and taken to the power 1/4.

use burn::prelude::*;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;

/// Scales the loss is summed over (the paper's 3).
pub const SCALES: usize = 3;

/// Keeps the ratio and the fourth root finite on flat inputs.
const TINY: f32 = 1e-8;

/// The exclusion loss of `a` and `b` (`[1, C, H, W]` each, same shape): a
/// scalar in [0, 1], 0 when no gradient of one coincides with one of the other.
pub fn exclusion(a: Tensor<4>, b: Tensor<4>, scales: usize) -> Tensor<1> {
    let mut a = a;
    let mut b = b;
    let mut total: Option<Tensor<1>> = None;
    for scale in 0..scales {
        let [_, _, h, w] = a.dims();
        if h < 2 || w < 2 {
            break;
        }
        for axis in [2, 3] {
            let term = coincidence(difference(a.clone(), axis), difference(b.clone(), axis));
            total = Some(match total {
                Some(t) => t + term,
                None => term,
            });
        }
        if scale + 1 < scales {
            a = halve(a);
            b = halve(b);
        }
    }
    let device = a.device();
    total.unwrap_or_else(|| Tensor::zeros([1], &device)) / scales as f32
}

/// mean((tanh(ga / 2) tanh(alpha gb / 2))^2)^(1/4), alpha matching the mean
/// gradient magnitudes (the authors' factor 2 included).
fn coincidence(ga: Tensor<4>, gb: Tensor<4>) -> Tensor<1> {
    let alpha = ga.clone().abs().mean().mul_scalar(2.0) / gb.clone().abs().mean().add_scalar(TINY);
    let sa = ga.div_scalar(2.0).tanh();
    let sb = (gb * alpha.unsqueeze::<4>()).div_scalar(2.0).tanh();
    (sa.square() * sb.square()).mean().add_scalar(TINY).powf_scalar(0.25)
}

/// Forward differences along `axis` (2: rows, 3: columns), one sample shorter.
pub fn difference(x: Tensor<4>, axis: usize) -> Tensor<4> {
    let n = x.dims()[axis];
    x.clone().narrow(axis, 1, n - 1) - x.narrow(axis, 0, n - 1)
}

/// Halves the size by 2x2 averaging (odd edges dropped).
fn halve(x: Tensor<4>) -> Tensor<4> {
    avg_pool2d(x, AvgPoolOptions::new([2, 2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(seed: usize, h: usize, w: usize) -> Vec<f32> {
        (0..h * w)
            .map(|i| {
                let (y, x) = ((i / w) as f32, (i % w) as f32);
                0.5 + 0.3 * ((x * (0.7 + seed as f32 * 0.4) + y * 1.3).sin()) * ((y * 0.5 + seed as f32).cos())
            })
            .collect()
    }

    fn tensor(data: &[f32], dims: [usize; 4], device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(data.to_vec(), dims), device)
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let device = Device::flex().autodiff();
        let dims = [1, 2, 12, 10];
        let n = dims.iter().product();
        let a: Vec<f32> = pattern(1, 24, 10);
        let b: Vec<f32> = pattern(2, 24, 10);
        assert_eq!(a.len(), n);
        let a_tensor = tensor(&a, dims, &device).require_grad();
        let loss = exclusion(a_tensor.clone(), tensor(&b, dims, &device), SCALES);
        let gradient = a_tensor
            .grad(&loss.backward())
            .expect("gradient")
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let value = |a: &[f32]| -> f64 {
            exclusion(tensor(a, dims, &device), tensor(&b, dims, &device), SCALES).into_scalar::<f32>() as f64
        };
        let eps = 1e-3f32;
        let mut worst = 0.0f64;
        let scale = gradient.iter().fold(0.0f32, |m, g| m.max(g.abs())) as f64;
        // |.| in the gradient-magnitude ratio has kinks: probe only samples
        // whose neighbour differences stay clear of zero within the step.
        let (h, w) = (dims[2], dims[3]);
        let smooth = |i: usize| {
            let (y, x) = ((i / w) % h, i % w);
            let mut neighbours = Vec::new();
            if x > 0 {
                neighbours.push(i - 1);
            }
            if x + 1 < w {
                neighbours.push(i + 1);
            }
            if y > 0 {
                neighbours.push(i - w);
            }
            if y + 1 < h {
                neighbours.push(i + w);
            }
            neighbours.iter().all(|&j| (a[i] - a[j]).abs() > 4.0 * eps)
        };
        let mut probed = 0;
        for i in (0..n).step_by(3).filter(|&i| smooth(i)) {
            probed += 1;
            let mut plus = a.clone();
            plus[i] += eps;
            let mut minus = a.clone();
            minus[i] -= eps;
            let numeric = (value(&plus) - value(&minus)) / (2.0 * eps as f64);
            worst = worst.max((numeric - gradient[i] as f64).abs());
        }
        assert!(probed > 20, "only {probed} samples probed");
        assert!(scale > 1e-4, "the loss must depend on a");
        assert!(
            worst <= 0.01 * scale,
            "worst difference {worst} against gradients up to {scale}"
        );
    }

    #[test]
    fn layers_with_edges_in_different_places_score_lower() {
        let device = Device::flex();
        let dims = [1, 1, 16, 16];
        // Vertical stripes against horizontal stripes: no shared gradient direction.
        let vertical: Vec<f32> = (0..256).map(|i| ((i % 16) / 4 % 2) as f32).collect();
        let horizontal: Vec<f32> = (0..256).map(|i| ((i / 16) / 4 % 2) as f32).collect();
        let apart = exclusion(
            tensor(&vertical, dims, &device),
            tensor(&horizontal, dims, &device),
            SCALES,
        );
        let together = exclusion(
            tensor(&vertical, dims, &device),
            tensor(&vertical, dims, &device),
            SCALES,
        );
        let (apart, together) = (apart.into_scalar::<f32>(), together.into_scalar::<f32>());
        assert!(apart < 0.05 && together > 0.3, "apart {apart}, together {together}");
    }
}
