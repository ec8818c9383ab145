//! For tuning the automatic parameters: PSNR of one method over a range of its
//! parameter on every shared case, against what the automatic choice gives.
//! `cargo run --release --example sweep -- METHOD [DEGRADATION]`;
//! `UNBLUR_CASES=DIR` reads the cases from DIR instead of `tests/data/cases`;
//! `UNBLUR_AUTO_ONLY=1` runs the automatic choice alone (no oracle).

#[path = "../tests/common/mod.rs"]
mod common;

use unblur::deconv::{Method, Settings};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let method: Method = args.first().and_then(|m| m.parse().ok()).unwrap_or(Method::Wiener);
    let only = args.get(1).cloned();
    for case in common::case_list()
        .iter()
        .filter(|c| only.as_ref().is_none_or(|d| *d == c.degradation))
    {
        let (auto, applied) = common::run_case(
            case,
            &Settings {
                method,
                ..Settings::default()
            },
        );
        let mut best = (f64::NEG_INFINITY, 0.0);
        let grid: Vec<f64> = if std::env::var_os("UNBLUR_AUTO_ONLY").is_some() {
            Vec::new()
        } else if method == Method::RichardsonLucy {
            vec![5.0, 10.0, 20.0, 30.0, 50.0, 80.0, 120.0, 200.0]
        } else {
            (0..=24).map(|k| 10f64.powf(-7.0 + k as f64 * 0.25)).collect()
        };
        for value in grid {
            let mut settings = Settings {
                method,
                ..Settings::default()
            };
            match method {
                Method::Wiener => settings.nsr = Some(value),
                Method::RichardsonLucy => settings.iterations = Some(value as usize),
                _ => settings.lambda = Some(value),
            }
            let (q, _) = common::run_case(case, &settings);
            if q.psnr_db > best.0 {
                best = (q.psnr_db, value);
            }
        }
        println!(
            "{:<34} auto {:>6.2} dB | oracle {:>6.2} dB at {:.2e} | {applied}",
            case.id, auto.psnr_db, best.0, best.1
        );
    }
}
