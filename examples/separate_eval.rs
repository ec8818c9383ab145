//! Prints the separation's fitted blurs and quality against the ORACLE on
//! synthetic mixtures: `cargo run --release --example separate_eval [WINDOW...]`
//! (windows fixed, or chosen when none is given). `EXTRA=1` adds harder
//! cases (large and non-Gaussian blurs), `ONLY=NAME` runs the cases whose
//! name holds NAME, `NOISE=S` sets the noise (default 2.5/255).

#[path = "../tests/mixtures/mod.rs"]
mod mixtures;

use mixtures::*;
use unblur::jobs::Silent;
use unblur::separate::{self, SeparateOptions};

fn main() {
    let windows: Vec<Option<usize>> = {
        let w: Vec<_> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .map(Some)
            .collect();
        if w.is_empty() { vec![None] } else { w }
    };
    let camera = source("camera.png");
    let brick = source("brick.png");
    let astronaut = gray(&source("astronaut.png"));
    let coffee = gray(&source("coffee.png"));
    let noise: f32 = std::env::var("NOISE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(NOISE_SIGMA);
    let mix = |a: &unblur::imaging::Image, b: &unblur::imaging::Image, s12, s21, g, seed| {
        mix_with_noise(a, b, s12, s21, g, noise, seed)
    };
    let extra = std::env::var("EXTRA").is_ok();
    let only: Option<String> = std::env::var("ONLY").ok();
    let mut cases = vec![
        ("camera/brick", mix(&camera, &brick, (1.5, 3.0), (3.0, 1.5), 1.0, 1)),
        (
            "astronaut/camera",
            mix(&astronaut, &camera, (3.0, 1.5), (1.5, 3.0), 1.0, 3),
        ),
        ("camera/brick g.6", mix(&camera, &brick, (1.5, 3.0), (3.0, 1.5), 0.6, 5)),
        (
            "paper",
            mix(
                &crop(&camera, 100, 180, 122, 162),
                &crop(&coffee, 150, 250, 122, 162),
                (1.0, 2.0),
                (2.0, 1.0),
                1.0,
                7,
            ),
        ),
    ];
    if extra {
        let a = crop(&astronaut, 56, 0, 400, 512);
        let c = crop(&coffee, 0, 44, 400, 512);
        cases.push(("coffee/astro .8", mix(&c, &a, (2.5, 2.5), (1.0, 1.0), 0.8, 41)));
        cases.push((
            "brick/astro big",
            mix(&brick, &astronaut, (5.0, 5.0), (4.0, 6.0), 1.0, 43),
        ));
        cases.push(("camera/coffee .4", mix(&c, &a, (1.5, 1.5), (2.0, 3.0), 0.4, 45)));
        let disk = |r: f64| {
            format!("disk:r={r}")
                .parse::<unblur::psf::PsfSpec>()
                .unwrap()
                .kernel()
                .unwrap()
        };
        cases.push((
            "camera/brick disk",
            mix_kernels(&camera, &brick, disk(3.0), disk(4.0), 1.0, noise, 47),
        ));
    }
    for (name, case) in &cases {
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let oracle = case.oracle();
        for window in &windows {
            let start = std::time::Instant::now();
            let result = separate::separate_pair(
                &case.mixtures[0],
                &case.mixtures[1],
                &SeparateOptions { window: *window },
                &Silent,
            );
            let secs = start.elapsed().as_secs_f64();
            match result {
                Ok(sep) => {
                    let r = &sep.report;
                    let mut line = format!(
                        "{name:<18} W={:<3} {secs:.2}s g12={:.3} s12=({:.2},{:.2}) g21={:.3} s21=({:.2},{:.2}) used={:?} shift=({:.2},{:.2})",
                        r.window,
                        r.blur_12.gain,
                        r.blur_12.sigma_x_px,
                        r.blur_12.sigma_y_px,
                        r.blur_21.gain,
                        r.blur_21.sigma_x_px,
                        r.blur_21.sigma_y_px,
                        r.channels_used,
                        r.shift_px.0,
                        r.shift_px.1
                    );
                    for (k, oracle_layer) in oracle.iter().enumerate() {
                        let est = band_psnr(&sep.layers[k], &case.sources[k]);
                        let ora = band_psnr(oracle_layer, &case.sources[k]);
                        let mixed = band_psnr(&case.mixtures[k], &case.sources[k]);
                        let xt = crosstalk(&sep.layers[k], &case.sources[1 - k]);
                        let oracle_xt = crosstalk(oracle_layer, &case.sources[1 - k]);
                        // The sources' own correlation: the floor any layer's crosstalk sits on.
                        let sources_xt = crosstalk(&case.sources[k], &case.sources[1 - k]);
                        line += &format!(
                            " | L{}: {est:.2} dB gap {:+.2} mix {:+.2} xt {xt:.3} (oracle {oracle_xt:.3}, sources {sources_xt:.3})",
                            k + 1,
                            est - ora,
                            est - mixed
                        );
                    }
                    println!("{line}");
                }
                Err(e) => println!("{name:<18} W={window:?}: error {e}"),
            }
        }
    }
}
