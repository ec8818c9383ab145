//! Blurred variants of the test images, made in code: convolution with
//! mirrored borders, kernels turned and mirrored, seeded noise. Shared by
//! the `blind_variants` example and the blind tests.

use unblur::imaging::Image;
use unblur::psf::Kernel;

/// Rec. 709 luminance of the stored values (gray images are kept).
pub fn luminance(image: &Image) -> Image {
    if image.channels() == 1 {
        return Image::gray(image.width, image.height, image.planes[0].clone());
    }
    let [r, g, b] = [&image.planes[0], &image.planes[1], &image.planes[2]];
    let y = (0..r.len())
        .map(|i| 0.2126 * r[i] + 0.7152 * g[i] + 0.0722 * b[i])
        .collect();
    Image::gray(image.width, image.height, y)
}

/// Convolution (not correlation) of a gray image with half-sample mirrored
/// borders.
pub fn convolved(image: &Image, kernel: &Kernel) -> Image {
    let mirror = |i: isize, n: isize| {
        let i = i.rem_euclid(2 * n);
        if i < n { i } else { 2 * n - 1 - i }
    };
    Image::gray(image.width, image.height, convolved_plane(image, 0, kernel, mirror))
}

/// Convolution of every plane with periodic borders, as the shared cases
/// are made.
pub fn convolved_periodic(image: &Image, kernel: &Kernel) -> Image {
    let planes = (0..image.channels())
        .map(|p| convolved_plane(image, p, kernel, isize::rem_euclid))
        .collect();
    Image::from_planes(image.width, image.height, planes)
}

/// Plane `p` of `image` convolved with `kernel`; `border(i, n)` maps an
/// index outside `0..n` inside.
fn convolved_plane(image: &Image, p: usize, kernel: &Kernel, border: impl Fn(isize, isize) -> isize) -> Vec<f32> {
    let (w, h) = (image.width as isize, image.height as isize);
    let (cy, cx) = ((kernel.height / 2) as isize, (kernel.width / 2) as isize);
    let plane = &image.planes[p];
    (0..w * h)
        .map(|n| {
            let (y, x) = (n / w, n % w);
            let mut sum = 0.0f32;
            for r in 0..kernel.height as isize {
                for c in 0..kernel.width as isize {
                    let weight = kernel.data[(r * kernel.width as isize + c) as usize];
                    if weight != 0.0 {
                        let (sy, sx) = (border(y - (r - cy), h), border(x - (c - cx), w));
                        sum += weight * plane[(sy * w + sx) as usize];
                    }
                }
            }
            sum
        })
        .collect()
}

pub fn remapped(
    kernel: &Kernel,
    width: usize,
    height: usize,
    source: impl Fn(usize, usize) -> (usize, usize),
) -> Kernel {
    let weights = (0..width * height)
        .map(|n| {
            let (r, c) = source(n / width, n % width);
            kernel.data[r * kernel.width + c] as f64
        })
        .collect();
    Kernel::from_weights(width, height, weights).expect("kernel")
}

pub fn transposed(k: &Kernel) -> Kernel {
    remapped(k, k.height, k.width, |r, c| (c, r))
}

/// Rotated a quarter turn counter-clockwise.
pub fn rotated(k: &Kernel) -> Kernel {
    remapped(k, k.height, k.width, |r, c| (c, k.width - 1 - r))
}

/// Mirrored top to bottom.
pub fn flipped(k: &Kernel) -> Kernel {
    remapped(k, k.width, k.height, |r, c| (k.height - 1 - r, c))
}

/// A seeded standard normal sample (Box-Muller on a 64-bit LCG).
pub fn gaussian(state: &mut u64) -> f32 {
    let mut uniform = || {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (u, v) = (uniform(), uniform());
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}
