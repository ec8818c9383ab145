//! The deep-image-prior generator: the "skip" encoder-decoder of Deep Image
//! Prior (Ulyanov et al.), as Double-DIP and BITS-Net use it. Its structure,
//! not training data, is the prior: fitted to one image from a fixed noise
//! input, it reproduces natural image content long before noise.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, sigmoid};
use burn::tensor::ops::PadMode;

/// Slope of the leaky ReLUs (DIP's value).
const LEAK: f64 = 0.2;

/// The shape of a generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Channels of the noise input.
    pub input: usize,
    /// Channels of every encoder and decoder level.
    pub width: usize,
    /// Channels each skip connection carries.
    pub skip: usize,
    /// Down-sampling levels; image sides must be multiples of 2^levels.
    pub levels: usize,
    /// Channels of the output image.
    pub output: usize,
}

/// Convolution + batch norm (+ leaky ReLU), reflection-padded so the size
/// only changes with the stride.
#[derive(Module, Debug)]
struct ConvBlock {
    conv: Conv2d,
    norm: BatchNorm,
    pad: usize,
}

impl ConvBlock {
    fn new(from: usize, to: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        ConvBlock {
            conv: Conv2dConfig::new([from, to], [kernel, kernel])
                .with_stride([stride, stride])
                .init(device),
            norm: BatchNormConfig::new(to).init(device),
            pad: kernel / 2,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = if self.pad > 0 {
            x.pad((self.pad, self.pad, self.pad, self.pad), PadMode::Reflect)
        } else {
            x
        };
        leaky_relu(self.norm.forward(self.conv.forward(x)), LEAK)
    }
}

/// One level: the way down, the skip across and the way up.
#[derive(Module, Debug)]
struct Level {
    down: ConvBlock,
    down_more: ConvBlock,
    skip: ConvBlock,
    merge_norm: BatchNorm,
    up: ConvBlock,
    up_more: ConvBlock,
}

/// A DIP generator.
#[derive(Module, Debug)]
pub struct Generator {
    levels: Vec<Level>,
    out: Conv2d,
}

/// A generator's output and the decoder features of its finest levels
/// (finest first), on which the feature exclusion loss acts.
pub struct Output {
    pub image: Tensor<4>,
    pub features: Vec<Tensor<4>>,
}

impl Generator {
    pub fn new(shape: Shape, device: &Device) -> Self {
        let levels = (0..shape.levels)
            .map(|i| {
                let from = if i == 0 { shape.input } else { shape.width };
                Level {
                    down: ConvBlock::new(from, shape.width, 3, 2, device),
                    down_more: ConvBlock::new(shape.width, shape.width, 3, 1, device),
                    skip: ConvBlock::new(from, shape.skip, 1, 1, device),
                    merge_norm: BatchNormConfig::new(shape.width + shape.skip).init(device),
                    up: ConvBlock::new(shape.width + shape.skip, shape.width, 3, 1, device),
                    up_more: ConvBlock::new(shape.width, shape.width, 1, 1, device),
                }
            })
            .collect();
        Generator {
            levels,
            out: Conv2dConfig::new([shape.width, shape.output], [1, 1]).init(device),
        }
    }

    /// The image for input `z` (`[1, input, H, W]`), in (0, 1).
    pub fn forward(&self, z: Tensor<4>, feature_levels: usize) -> Output {
        let mut skips = Vec::with_capacity(self.levels.len());
        let mut x = z;
        for level in &self.levels {
            skips.push(level.skip.forward(x.clone()));
            x = level.down_more.forward(level.down.forward(x));
        }
        let mut features = Vec::new();
        for (i, level) in self.levels.iter().enumerate().rev() {
            let skip = skips.pop().expect("one skip per level");
            let up = upsample(x);
            let merged = level.merge_norm.forward(Tensor::cat(vec![up, skip], 1));
            x = level.up_more.forward(level.up.forward(merged));
            if i < feature_levels {
                features.push(x.clone());
            }
        }
        features.reverse();
        Output {
            image: sigmoid(self.out.forward(x)),
            features,
        }
    }
}

/// Doubles the height and width by bilinear interpolation (pixel centres
/// aligned, edges repeated), built from slices so that every backend can
/// differentiate it (burn's GPU backends have no bilinear backward).
pub fn upsample(x: Tensor<4>) -> Tensor<4> {
    upsample_axis(upsample_axis(x, 3), 2)
}

/// Sample 2i of the result is 3/4 x[i] + 1/4 x[i-1], sample 2i+1 is
/// 3/4 x[i] + 1/4 x[i+1], along `axis`.
fn upsample_axis(x: Tensor<4>, axis: usize) -> Tensor<4> {
    let n = x.dims()[axis];
    let (before, after) = if n == 1 {
        (x.clone(), x.clone())
    } else {
        (
            Tensor::cat(
                vec![x.clone().narrow(axis, 0, 1), x.clone().narrow(axis, 0, n - 1)],
                axis,
            ),
            Tensor::cat(
                vec![x.clone().narrow(axis, 1, n - 1), x.clone().narrow(axis, n - 1, 1)],
                axis,
            ),
        )
    };
    let centre = x.mul_scalar(0.75);
    let even = centre.clone() + before.mul_scalar(0.25);
    let odd = centre + after.mul_scalar(0.25);
    // Interleave: stack behind `axis`, then merge the two axes.
    let mut dims = even.dims();
    let stacked: Tensor<5> = Tensor::stack(vec![even, odd], axis + 1);
    dims[axis] *= 2;
    stacked.reshape(dims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

    #[test]
    fn upsample_is_bilinear_interpolation() {
        let device = Device::flex();
        let data: Vec<f32> = (0..2 * 5 * 7).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        let x = Tensor::<4>::from_data(TensorData::new(data, [1, 2, 5, 7]), &device);
        let ours = upsample(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let reference = interpolate(
            x,
            InterpolateOptions::new(InterpolateMode::Bilinear)
                .with_align_corners(false)
                .with_output_size([10, 14]),
        )
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "largest difference {worst}");
    }
}
