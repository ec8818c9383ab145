//! The working image of a separation: the photo shrunk to the working size,
//! its colour planes stacked, and mirrored out to sides the generators'
//! down-sampling divides; and back from there to images.

use crate::imaging::Image;
use crate::imaging::resample;

pub struct Canvas {
    /// The working size before padding.
    pub image_width: usize,
    pub image_height: usize,
    /// The padded size the generators see.
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    /// Planes one after the other, `channels x height x width`.
    pub samples: Vec<f32>,
}

impl Canvas {
    /// `image` shrunk so its longest side is at most `size`, padded by
    /// mirroring to multiples of `multiple`. Alpha is dropped.
    pub fn new(image: &Image, size: usize, multiple: usize) -> Self {
        let longest = image.width.max(image.height);
        let (image_width, image_height) = if longest > size {
            let scale = size as f64 / longest as f64;
            let side = |s: usize| ((s as f64 * scale).round() as usize).max(1);
            (side(image.width), side(image.height))
        } else {
            (image.width, image.height)
        };
        let width = image_width.div_ceil(multiple) * multiple;
        let height = image_height.div_ceil(multiple) * multiple;
        let mut samples = Vec::with_capacity(image.channels() * width * height);
        for plane in &image.planes {
            let small = resample(plane, image.width, image.height, image_width, image_height);
            for y in 0..height {
                let row = mirror(y, image_height) * image_width;
                samples.extend((0..width).map(|x| small[row + mirror(x, image_width)].clamp(0.0, 1.0)));
            }
        }
        Canvas {
            image_width,
            image_height,
            width,
            height,
            channels: image.channels(),
            samples,
        }
    }

    /// The working-size image inside padded samples laid out like `samples`.
    pub fn crop(&self, padded: &[f32]) -> Image {
        let planes = (0..self.channels)
            .map(|c| {
                let plane = &padded[c * self.width * self.height..(c + 1) * self.width * self.height];
                (0..self.image_height)
                    .flat_map(|y| plane[y * self.width..y * self.width + self.image_width].iter().copied())
                    .collect()
            })
            .collect();
        Image::from_planes(self.image_width, self.image_height, planes)
    }
}

/// Index `i` of an endless mirrored repetition of `0..n` (edge samples not
/// repeated), so any padding length works.
fn mirror(i: usize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let k = i % period;
    if k < n { k } else { period - k }
}

/// A random stream that is a pure function of its seed (SplitMix64): the
/// same numbers on every backend and whatever else runs in the process.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64, stream: u64) -> Self {
        Random(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// `count` samples uniform in [0, scale).
pub fn uniform_noise(seed: u64, stream: u64, count: usize, scale: f32) -> Vec<f32> {
    let mut random = Random::new(seed, stream);
    (0..count).map(|_| random.uniform() * scale).collect()
}

/// `count` samples normal with standard deviation `sigma`.
pub fn normal_noise(seed: u64, stream: u64, count: usize, sigma: f32) -> Vec<f32> {
    let mut random = Random::new(seed, stream);
    (0..count).map(|_| random.normal() * sigma).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_reflects_without_repeating_edges() {
        let got: Vec<usize> = (0..9).map(|i| mirror(i, 4)).collect();
        assert_eq!(got, [0, 1, 2, 3, 2, 1, 0, 1, 2]);
        assert_eq!(mirror(5, 1), 0);
    }

    #[test]
    fn canvas_pads_to_the_multiple_and_crops_back() {
        let image = Image::from_planes(5, 3, vec![(0..15).map(|v| v as f32 / 15.0).collect(), vec![0.5; 15]]);
        let canvas = Canvas::new(&image, 64, 4);
        assert_eq!((canvas.width, canvas.height, canvas.channels), (8, 4, 2));
        assert_eq!(canvas.samples.len(), 2 * 8 * 4);
        let back = canvas.crop(&canvas.samples);
        assert_eq!(back.planes, image.planes);
    }

    #[test]
    fn large_images_shrink_to_the_working_size() {
        let image = Image::gray(300, 150, vec![0.25; 300 * 150]);
        let canvas = Canvas::new(&image, 100, 32);
        assert_eq!((canvas.image_width, canvas.image_height), (100, 50));
        assert_eq!((canvas.width, canvas.height), (128, 64));
        assert!(canvas.samples.iter().all(|&v| (v - 0.25).abs() < 1e-5));
    }

    #[test]
    fn noise_is_reproducible_and_in_range() {
        let a = uniform_noise(7, 0, 1000, 0.1);
        assert_eq!(a, uniform_noise(7, 0, 1000, 0.1));
        assert_ne!(a, uniform_noise(7, 1, 1000, 0.1));
        assert!(a.iter().all(|&v| (0.0..0.1).contains(&v)));
        let mean = a.iter().sum::<f32>() / 1000.0;
        assert!((mean - 0.05).abs() < 0.005, "{mean}");
        let n = normal_noise(7, 2, 20000, 2.0);
        let mean = n.iter().sum::<f32>() / n.len() as f32;
        let var = n.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n.len() as f32;
        assert!(
            mean.abs() < 0.05 && (var.sqrt() - 2.0).abs() < 0.05,
            "mean {mean}, sd {}",
            var.sqrt()
        );
    }
}
