//! Blind estimation on the shared cases: parametric fits and free-form kernels.
//! `cargo run --release --example blind_evaluate [parametric|kernel] [CASE-FILTER]`

use std::path::Path;
use std::time::Instant;

use unblur::blind::{self, ParametricModel};
use unblur::imaging::{self, DecodeOptions};
use unblur::jobs::Silent;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("parametric");
    let filter = args.get(2).cloned().unwrap_or_default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cases");
    let mut ids: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|id| id.contains(&filter))
        .collect();
    ids.sort();
    for id in ids {
        let dir = root.join(&id);
        let blurred = if dir.join("blurred.png").exists() { "blurred.png" } else { "blurred.jpg" };
        let decoded = imaging::load(&dir.join(blurred), &DecodeOptions::default()).unwrap();
        if what == "parametric" {
            for model in [ParametricModel::Disk, ParametricModel::Gaussian, ParametricModel::Motion] {
                let start = Instant::now();
                let e = blind::estimate_parametric(&decoded.image, model, &Silent).unwrap();
                println!(
                    "{id:<34} {:<28} conf {:.3} res {:.4} {:.0} ms",
                    e.spec.to_string(),
                    e.confidence,
                    e.residual,
                    start.elapsed().as_secs_f64() * 1e3
                );
            }
        }
    }
}
