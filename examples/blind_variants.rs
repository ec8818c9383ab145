//! Writes blurred cases the shared set does not hold, laid out as
//! `tests/data/cases` is, for `UNBLUR_CASES=DIR blind_evaluate`: the four
//! test images (gray) under the shared shakes rotated and mirrored, a
//! longer motion blur and a smaller disk, clean (noise 0.001, shakes only)
//! and noisy (0.01), with half-sample mirrored borders as the shared noisy
//! cases. They check that the estimator was not tuned to the shared cases.
//!
//! `cargo run --release --example blind_variants DIR`

#[path = "../tests/common/variants.rs"]
#[allow(dead_code)]
mod variants;

use std::path::Path;

use variants::{convolved, flipped, gaussian, luminance, rotated, transposed};

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
