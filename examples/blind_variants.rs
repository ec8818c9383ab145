//! Writes blurred cases the shared set does not hold, laid out as
//! `tests/data/cases` is, for `UNBLUR_CASES=DIR blind_evaluate`: the four
//! test images (gray) under the shared shakes rotated and mirrored, a
//! longer motion blur and a smaller disk, clean (noise 0.001, shakes only)
//! and noisy (0.01), with half-sample mirrored borders as the shared noisy
//! cases. They check that the estimator was not tuned to the shared cases.
//!
//! `cargo run --release --example blind_variants DIR`

use std::path::Path;

use unblur::imaging::{self, BitDepth, EncodeOptions, Image, LightSpace};
use unblur::psf::{Kernel, PsfSpec};

fn main() {
    let out = std::env::args().nth(1).expect("usage: blind_variants DIR");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let shake = |name: &str| Kernel::from_file(&data.join(format!("kernels/{name}.png"))).expect("kernel");
    let spec = |text: &str| text.parse::<PsfSpec>().and_then(|s| s.kernel()).expect("spec");
    let kernels = [
        ("shake5T", transposed(&shake("shake_5"))),
        ("shake5R", rotated(&shake("shake_5"))),
        ("shake2R", rotated(&shake("shake_2"))),
        ("shake2F", flipped(&shake("shake_2"))),
        ("motion21a75", spec("motion:len=21,angle=75")),
        ("disk4", spec("disk:r=4")),
    ];
    let mut seed = 7u64;
    for image in ["astronaut", "brick", "camera", "coffee"] {
        let (sharp, _) = imaging::load_stored(&data.join(format!("images/{image}.png")), 100.0).expect("image");
        let gray = luminance(&sharp);
        for (name, kernel) in &kernels {
            for (degradation, sigma) in [("clean", 0.001f32), ("noisy", 0.01)] {
                if degradation == "clean" && !name.starts_with("shake") {
                    continue;
                }
                let mut blurred = convolved(&gray, kernel);
                for v in blurred.planes[0].iter_mut() {
                    *v = (*v + sigma * gaussian(&mut seed)).clamp(0.0, 1.0);
                }
                let dir = Path::new(&out).join(format!("{image}__{name}__{degradation}"));
                std::fs::create_dir_all(&dir).expect("folder");
                save_stored(&dir.join("blurred.png"), &blurred, BitDepth::Sixteen);
                save_stored(&dir.join("gt.png"), &gray, BitDepth::Eight);
                kernel.save_png(&dir.join("kernel.png")).expect("kernel");
            }
        }
    }
}

/// Rec. 709 luminance of the stored values (gray images are kept).
fn luminance(image: &Image) -> Image {
    if image.channels() == 1 {
        return Image::gray(image.width, image.height, image.planes[0].clone());
    }
    let [r, g, b] = [&image.planes[0], &image.planes[1], &image.planes[2]];
    let y = (0..r.len())
        .map(|i| 0.2126 * r[i] + 0.7152 * g[i] + 0.0722 * b[i])
        .collect();
    Image::gray(image.width, image.height, y)
}

/// Writes the values as they are, untagged: read back as linear light
/// (16-bit) or as stored (the 8-bit ground truth), as the shared cases are.
fn save_stored(path: &Path, image: &Image, depth: BitDepth) {
    let options = EncodeOptions {
        depth,
        space: LightSpace::Linear,
        jpeg_quality: 100,
    };
    imaging::save(path, image, &options).expect("save");
}

/// Convolution (not correlation) with half-sample mirrored borders.
fn convolved(image: &Image, kernel: &Kernel) -> Image {
    let (w, h) = (image.width as isize, image.height as isize);
    let mirror = |i: isize, n: isize| {
        let i = i.rem_euclid(2 * n);
        if i < n { i } else { 2 * n - 1 - i }
    };
    let (cy, cx) = ((kernel.height / 2) as isize, (kernel.width / 2) as isize);
    let plane = &image.planes[0];
    let out = (0..w * h)
        .map(|n| {
            let (y, x) = (n / w, n % w);
            let mut sum = 0.0f32;
            for r in 0..kernel.height as isize {
                for c in 0..kernel.width as isize {
                    let weight = kernel.data[(r * kernel.width as isize + c) as usize];
                    if weight != 0.0 {
                        let (sy, sx) = (mirror(y - (r - cy), h), mirror(x - (c - cx), w));
                        sum += weight * plane[(sy * w + sx) as usize];
                    }
                }
            }
            sum
        })
        .collect();
    Image::gray(image.width, image.height, out)
}

fn remapped(kernel: &Kernel, width: usize, height: usize, source: impl Fn(usize, usize) -> (usize, usize)) -> Kernel {
    let weights = (0..width * height)
        .map(|n| {
            let (r, c) = source(n / width, n % width);
            kernel.data[r * kernel.width + c] as f64
        })
        .collect();
    Kernel::from_weights(width, height, weights).expect("kernel")
}

fn transposed(k: &Kernel) -> Kernel {
    remapped(k, k.height, k.width, |r, c| (c, r))
}

/// Rotated a quarter turn counter-clockwise.
fn rotated(k: &Kernel) -> Kernel {
    remapped(k, k.height, k.width, |r, c| (c, k.width - 1 - r))
}

/// Mirrored top to bottom.
fn flipped(k: &Kernel) -> Kernel {
    remapped(k, k.width, k.height, |r, c| (k.height - 1 - r, c))
}

/// A seeded standard normal sample (Box-Muller on a 64-bit LCG).
fn gaussian(state: &mut u64) -> f32 {
    let mut uniform = || {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (u, v) = (uniform(), uniform());
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}
