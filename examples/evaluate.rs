//! Prints PSNR/SSIM of every method on the shared cases in tests/data
//! (parameters chosen automatically): `cargo run --release --example evaluate [METHOD...]`.

#[path = "../tests/common/mod.rs"]
mod common;

use unblur::deconv::{Method, Settings};

fn main() {
    let wanted: Vec<Method> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let methods = if wanted.is_empty() {
        Method::ALL.to_vec()
    } else {
        wanted
    };
    let cases = common::cases();
    for degradation in ["clean", "noisy", "camera"] {
        for method in &methods {
            let settings = Settings {
                method: *method,
                ..Settings::default()
            };
            let mut sum = 0.0;
            let mut count = 0.0;
            for case in cases.iter().filter(|c| c.degradation == degradation) {
                let (q, applied) = common::run_case(case, &settings);
                println!(
                    "{:<34} {:>7.2} dB (blurred {:.2}) ssim {:.4}  {applied}",
                    case.id, q.psnr_db, case.blurred_psnr, q.ssim
                );
                sum += q.psnr_db;
                count += 1.0;
            }
            println!("== {degradation} {method}: mean {:.2} dB\n", sum / count);
        }
    }
}
