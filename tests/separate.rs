//! Two-image semi-reflection separation (issue 5) on mixtures synthesized
//! from `tests/data/images`: quality against the ORACLE (the same inverse
//! built from the true kernels), fitted widths and gains, crosstalk, gain
//! over the unprocessed mixture, registration, colour, bad input and the CLI.

mod mixtures;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use mixtures::*;
use unblur::imaging::{self, BitDepth, EncodeOptions, Image, LightSpace};
use unblur::jobs::{Progress, Silent};
use unblur::psf::PsfSpec;
use unblur::separate::{self, CrossBlur, SeparateOptions, Separation};

fn separate(mixture: &Mixture) -> Separation {
    separate::separate_pair(
        &mixture.mixtures[0],
        &mixture.mixtures[1],
        &SeparateOptions::default(),
        &Silent,
    )
    .expect("separation")
}

/// Per layer: (PSNR of the estimate, gap to the ORACLE, gain over the
/// mixture, crosstalk), all on the band the inverse can recover.
fn scores(mixture: &Mixture, separation: &Separation) -> [(f64, f64, f64, f64); 2] {
    let oracle = mixture.oracle();
    std::array::from_fn(|k| {
        let source = &mixture.sources[k];
        let estimate = band_psnr(&separation.layers[k], source);
        (
            estimate,
            estimate - band_psnr(&oracle[k], source),
            estimate - band_psnr(&mixture.mixtures[k], source),
            crosstalk(&separation.layers[k], &mixture.sources[1 - k]),
        )
    })
}

fn describe(name: &str, separation: &Separation, scores: &[(f64, f64, f64, f64); 2]) -> String {
    let r = &separation.report;
    let blur = |b: &CrossBlur| format!("g={:.3} sx={:.3} sy={:.3}", b.gain, b.sigma_x_px, b.sigma_y_px);
    let mut line = format!(
        "{name}: window {} a12 [{}] a21 [{}]",
        r.window,
        blur(&r.blur_12),
        blur(&r.blur_21)
    );
    for (k, (psnr, gap, over_mixture, xt)) in scores.iter().enumerate() {
        line += &format!(
            " | L{}: {psnr:.2} dB, gap {gap:+.2}, over mixture {over_mixture:+.2}, crosstalk {xt:.3}",
            k + 1
        );
    }
    line
}

/// Fitted widths within `tolerance` (relative) and gains within 0.1 of the truth.
fn assert_fit(mixture: &Mixture, separation: &Separation, tolerance: f64) {
    let r = &separation.report;
    for (blur, truth) in [(&r.blur_12, mixture.sigmas_px[0]), (&r.blur_21, mixture.sigmas_px[1])] {
        for (fitted, true_px) in [(blur.sigma_x_px, truth.0), (blur.sigma_y_px, truth.1)] {
            assert!(
                (fitted / true_px - 1.0).abs() <= tolerance,
                "width {fitted:.3} px vs true {true_px} px: {r:?}"
            );
        }
        assert!(
            (blur.gain - mixture.gain).abs() <= 0.1,
            "gain {:.3} vs true {}: {r:?}",
            blur.gain,
            mixture.gain
        );
    }
}

/// The main case: 512x512, widths [1.5, 3] and [3, 1.5] px, noise
/// 2.5/255. Mean gap to the ORACLE >= -0.5 dB, every layer >= -1 dB, widths
/// within 10%, crosstalk <= 0.06, at least 5 dB over the mixture.
#[test]
fn separates_512_pairs_as_well_as_the_oracle() {
    let camera = source("camera.png");
    let brick = source("brick.png");
    let astronaut = gray(&source("astronaut.png"));
    let cases = [
        ("camera/brick", mix(&camera, &brick, (1.5, 3.0), (3.0, 1.5), 1.0, 1)),
        (
            "astronaut/camera",
            mix(&astronaut, &camera, (3.0, 1.5), (1.5, 3.0), 1.0, 3),
        ),
    ];
    let mut gaps = Vec::new();
    for (name, mixture) in &cases {
        let separation = separate(mixture);
        let scores = scores(mixture, &separation);
        println!("{}", describe(name, &separation, &scores));
        assert_fit(mixture, &separation, 0.10);
        for (k, &(_, gap, over_mixture, xt)) in scores.iter().enumerate() {
            assert!(gap >= -1.0, "{name} L{}: gap {gap:.2} dB", k + 1);
            assert!(
                over_mixture >= 5.0,
                "{name} L{}: {over_mixture:.2} dB over the mixture",
                k + 1
            );
            assert!(xt <= 0.06, "{name} L{}: crosstalk {xt:.3}", k + 1);
            gaps.push(gap);
        }
    }
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    assert!(mean >= -0.5, "mean gap {mean:.2} dB");
}

/// The paper's own setup: 122x162, widths [1, 2] and [2, 1] px. Gap >= -1.5
/// dB per layer, crosstalk <= 0.06 and 5 dB above the mixture. With 1-2 px
/// blurs the crosstalk bar leaves room for gains only about 0.3% low: the
/// fit's refinement on the residual mixture is what meets it (0.094 / 0.070
/// without; BENCHMARKS.md, `examples/separate_crosstalk.rs`).
#[test]
fn separates_the_papers_small_setup() {
    let camera = source("camera.png");
    let coffee = gray(&source("coffee.png"));
    let mixture = mix(
        &crop(&camera, 100, 180, 122, 162),
        &crop(&coffee, 150, 250, 122, 162),
        (1.0, 2.0),
        (2.0, 1.0),
        1.0,
        7,
    );
    let separation = separate(&mixture);
    let scores = scores(&mixture, &separation);
    println!("{}", describe("paper setup", &separation, &scores));
    assert_fit(&mixture, &separation, 0.15);
    for (k, &(_, gap, over_mixture, xt)) in scores.iter().enumerate() {
        assert!(gap >= -1.5, "L{}: gap {gap:.2} dB", k + 1);
        assert!(over_mixture >= 5.0, "L{}: {over_mixture:.2} dB over the mixture", k + 1);
        assert!(xt <= 0.06, "L{}: crosstalk {xt:.3}", k + 1);
    }
}

/// Attenuation g = 0.6 through the glass, estimated (not assumed): gap >=
/// -0.75 dB per layer, |g error| <= 0.1, widths within 10%.
#[test]
fn estimates_an_attenuation_below_one() {
    let mixture = mix(
        &source("brick.png"),
        &source("camera.png"),
        (1.5, 3.0),
        (3.0, 1.5),
        0.6,
        11,
    );
    let separation = separate(&mixture);
    let scores = scores(&mixture, &separation);
    println!("{}", describe("g = 0.6", &separation, &scores));
    assert_fit(&mixture, &separation, 0.10);
    for (k, &(_, gap, over_mixture, xt)) in scores.iter().enumerate() {
        assert!(gap >= -0.75, "L{}: gap {gap:.2} dB", k + 1);
        assert!(over_mixture >= 5.0, "L{}: {over_mixture:.2} dB over the mixture", k + 1);
        assert!(xt <= 0.06, "L{}: crosstalk {xt:.3}", k + 1);
    }
}

/// Real defocus is closer to a disk than to the Gaussian the fit assumes:
/// the layers must still come out near the ORACLE (the true disks) and
/// well above the mixture. Uncapped, the fit traded gains of 1.07 and 1.19
/// for the disks' flatter top, 4 and 7 dB below the ORACLE.
#[test]
fn separates_disk_blurs_with_the_gaussian_model() {
    let disk = |r: f64| format!("disk:r={r}").parse::<PsfSpec>().unwrap().kernel().unwrap();
    let mixture = mix_kernels(
        &source("camera.png"),
        &source("brick.png"),
        disk(3.0),
        disk(4.0),
        1.0,
        NOISE_SIGMA,
        47,
    );
    let separation = separate(&mixture);
    let scores = scores(&mixture, &separation);
    println!("{}", describe("disks r 3 / 4", &separation, &scores));
    for (k, &(_, gap, over_mixture, _)) in scores.iter().enumerate() {
        assert!(gap >= -2.0, "L{}: gap {gap:.2} dB", k + 1);
        assert!(over_mixture >= 5.0, "L{}: {over_mixture:.2} dB over the mixture", k + 1);
    }
}

/// Colour: one fit on the luminance, every channel inverted with it.
#[test]
fn separates_colour_shots_with_one_shared_fit() {
    let astronaut = crop(&source("astronaut.png"), 56, 0, 400, 512);
    let coffee = crop(&source("coffee.png"), 0, 44, 400, 512);
    let mixture = mix(&astronaut, &coffee, (2.0, 2.5), (2.5, 1.5), 0.8, 13);
    let separation = separate(&mixture);
    assert!(
        separation
            .layers
            .iter()
            .all(|l| l.channels() == 3 && l.width == 512 && l.height == 400)
    );
    let scores = scores(&mixture, &separation);
    println!("{}", describe("colour", &separation, &scores));
    assert_fit(&mixture, &separation, 0.10);
    for (k, &(_, gap, over_mixture, xt)) in scores.iter().enumerate() {
        assert!(gap >= -1.0, "L{}: gap {gap:.2} dB", k + 1);
        assert!(over_mixture >= 5.0, "L{}: {over_mixture:.2} dB over the mixture", k + 1);
        assert!(xt <= 0.06, "L{}: crosstalk {xt:.3}", k + 1);
    }
}

/// Hand-held shots: M2 framed 6 px right and 9 px up of M1, then also cut
/// to another size. Registration finds the shift; the layers, in M1's
/// frame, match those of the aligned pair away from the uncovered border.
#[test]
fn registers_shifted_shots_of_different_sizes() {
    let full = mix(
        &source("camera.png"),
        &source("brick.png"),
        (1.5, 3.0),
        (3.0, 1.5),
        1.0,
        17,
    );
    let (top, left, side) = (24, 24, 464);
    let (dy, dx) = (-9i64, 6i64);
    let m1 = crop(&full.mixtures[0], top, left, side, side);
    let aligned2 = crop(&full.mixtures[1], top, left, side, side);
    let (r0, c0) = ((top as i64 + dy) as usize, (left as i64 + dx) as usize);
    let shifted2 = crop(&full.mixtures[1], r0, c0, side, side);
    let smaller2 = crop(&full.mixtures[1], r0, c0, side - 40, side - 16);
    let reference = separate::separate_pair(&m1, &aligned2, &SeparateOptions::default(), &Silent).unwrap();
    for m2 in [&shifted2, &smaller2] {
        let separation = separate::separate_pair(&m1, m2, &SeparateOptions::default(), &Silent).unwrap();
        // M1(x) = M2(x - d) for M2's frame moved by d = (dx, dy): the shift is d.
        let (sx, sy) = separation.report.shift_px;
        assert!(
            (sx - dx as f64).abs() < 0.25 && (sy - dy as f64).abs() < 0.25,
            "shift ({sx:.2}, {sy:.2})"
        );
        assert_eq!((separation.layers[0].width, separation.layers[0].height), (side, side));
        // Compare inside the part both frames cover, 16 px from its edges.
        let inner = |image: &Image| crop(image, 16, 16, side - 2 * 16 - 40, side - 2 * 16 - 16);
        for k in 0..2 {
            let source = inner(&crop(&full.sources[k], top, left, side, side));
            let registered = band_psnr(&inner(&separation.layers[k]), &source);
            let aligned = band_psnr(&inner(&reference.layers[k]), &source);
            assert!(
                registered >= aligned - 1.0,
                "L{}: {registered:.2} dB registered vs {aligned:.2} dB aligned",
                k + 1
            );
        }
    }
}

fn bad_input(m1: &Image, m2: &Image, needle: &str) {
    match separate::separate_pair(m1, m2, &SeparateOptions::default(), &Silent) {
        Ok(_) => panic!("separated bad input ({needle})"),
        Err(e) => {
            assert!(e.is_bad_input(), "{e}");
            let message = e.to_string();
            assert!(message.contains(needle), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
}

#[test]
fn refuses_bad_input_with_a_clear_error() {
    let camera = source("camera.png");
    let brick = source("brick.png");
    let mixture = mix(&camera, &brick, (1.5, 3.0), (3.0, 1.5), 1.0, 19);
    let [m1, m2] = &mixture.mixtures;
    // The same shot twice.
    bad_input(m1, m1, "same image");
    // A blank frame.
    let blank = Image::gray(512, 512, vec![0.5; 512 * 512]);
    bad_input(m1, &blank, "blank");
    bad_input(&blank, m2, "blank");
    // Sizes registration cannot reconcile: a small piece of another scene.
    bad_input(m1, &crop(&brick, 0, 0, 200, 120), "register");
    // Unrelated scenes of the same size.
    bad_input(
        m1,
        &source("camera.png").map_planes(|p| p.iter().rev().copied().collect()),
        "register",
    );
    // Gray against colour.
    bad_input(m1, &crop(&source("astronaut.png"), 0, 0, 512, 512), "colour channels");
    // Not a number.
    let mut broken = m2.clone();
    broken.planes[0][1000] = f32::NAN;
    bad_input(m1, &broken, "non-finite");
}

/// Cancels after the first few progress reports.
struct CancelAfter {
    reports: std::sync::atomic::AtomicUsize,
    cancelled: AtomicBool,
}

impl Progress for CancelAfter {
    fn report(&self, stage: &str, fraction: f32) {
        assert!(
            !stage.is_empty() && (0.0..=1.0).contains(&fraction),
            "{stage} {fraction}"
        );
        if self.reports.fetch_add(1, Ordering::Relaxed) >= 3 {
            self.cancelled.store(true, Ordering::Relaxed);
        }
    }
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

#[test]
fn reports_progress_and_stops_when_cancelled() {
    let mixture = mix(
        &source("camera.png"),
        &source("brick.png"),
        (1.5, 3.0),
        (3.0, 1.5),
        1.0,
        23,
    );
    let progress = CancelAfter {
        reports: Default::default(),
        cancelled: AtomicBool::new(false),
    };
    let outcome = separate::separate_pair(
        &mixture.mixtures[0],
        &mixture.mixtures[1],
        &SeparateOptions::default(),
        &progress,
    );
    assert!(
        matches!(outcome, Err(unblur::Error::Cancelled)),
        "{:?}",
        outcome.map(|s| s.report)
    );
}

/// Writes a mixture as the 16-bit linear PNG a script would pass in (scaled
/// by a half: mixtures reach 2).
fn write_mixture(image: &Image, path: &Path) {
    let half = image.map_planes(|p| p.iter().map(|v| 0.5 * v).collect());
    let options = EncodeOptions {
        depth: BitDepth::Sixteen,
        space: LightSpace::Linear,
        jpeg_quality: 95,
    };
    imaging::save(path, &half, &options).unwrap();
}

#[test]
fn command_line_writes_both_layers_and_reports_the_fit() {
    let folder = tempfile::tempdir().unwrap();
    let path = |name: &str| folder.path().join(name);
    let mixture = mix(
        &source("camera.png"),
        &source("brick.png"),
        (1.5, 3.0),
        (3.0, 1.5),
        1.0,
        29,
    );
    write_mixture(&mixture.mixtures[0], &path("m1.png"));
    write_mixture(&mixture.mixtures[1], &path("m2.png"));
    let run = |args: &[&Path]| {
        let output = Command::new(env!("CARGO_BIN_EXE_unblur")).args(args).output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let p = |s: &'static str| Path::new(s);
    let (code, stdout, stderr) = run(&[
        p("separate"),
        &path("m1.png"),
        &path("m2.png"),
        p("-o"),
        &path("l1.png"),
        p("-o"),
        &path("l2.png"),
        p("--report"),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("window=") && stdout.contains("sigma12_x=") && stdout.contains("gain21="),
        "{stdout}"
    );
    for (k, name) in ["l1.png", "l2.png"].into_iter().enumerate() {
        let (layer, _) = imaging::load_stored(&path(name), 250.0).unwrap();
        let psnr = band_psnr(&layer, &mixture.sources[k]);
        assert!(
            psnr > band_psnr(&mixture.mixtures[k], &mixture.sources[k]) + 3.0,
            "{name}: {psnr:.2} dB"
        );
    }
    // Bad input: exit 2, one line naming the problem, nothing written.
    for (args, needle) in [
        (
            vec![
                p("separate"),
                &path("m1.png"),
                &path("m1.png"),
                p("-o"),
                &path("a.png"),
                p("-o"),
                &path("b.png"),
            ],
            "same image",
        ),
        (
            vec![p("separate"), &path("m1.png"), &path("m2.png"), p("-o"), &path("a.png")],
            "-o L1 -o L2",
        ),
        (
            vec![
                p("separate"),
                &path("m1.png"),
                &path("nothing.png"),
                p("-o"),
                &path("a.png"),
                p("-o"),
                &path("b.png"),
            ],
            "nothing.png",
        ),
        (
            vec![
                p("separate"),
                &path("m1.png"),
                &path("m2.png"),
                p("-o"),
                &path("m2.png"),
                p("-o"),
                &path("b.png"),
            ],
            "overwrite",
        ),
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert!(!path("a.png").exists() && !path("b.png").exists());
    }
}

/// Pairs the model barely fits never give non-finite layers: one scene and
/// no reflection (M2 a blurred copy of M1), and a pair with one shot dark.
#[test]
fn degenerate_pairs_give_an_error_or_finite_layers() {
    let camera = source("camera.png");
    let blurred = noisy(&blur(&camera, &gaussian(2.0, 2.0), 1.0), NOISE_SIGMA, 31);
    let dim = camera.map_planes(|p| p.iter().map(|v| 0.01 * v).collect());
    for (name, m1, m2) in [("no reflection", &camera, &blurred), ("one shot dark", &camera, &dim)] {
        match separate::separate_pair(m1, m2, &SeparateOptions::default(), &Silent) {
            Ok(separation) => {
                let finite = separation
                    .layers
                    .iter()
                    .flat_map(|l| &l.planes)
                    .flatten()
                    .all(|v| v.is_finite());
                assert!(finite, "{name}: non-finite layer");
                println!("{name}: separated, {:?}", separation.report);
            }
            Err(e) => {
                assert!(e.is_bad_input(), "{name}: {e}");
                println!("{name}: {e}");
            }
        }
    }
}

/// Records every fraction reported.
struct Recorder(std::sync::Mutex<Vec<f32>>);

impl Progress for Recorder {
    fn report(&self, _stage: &str, fraction: f32) {
        self.0.lock().unwrap().push(fraction);
    }
    fn is_cancelled(&self) -> bool {
        false
    }
}

#[test]
fn progress_runs_once_from_zero_to_one() {
    let camera = source("camera.png");
    let mixture = mix(
        &crop(&camera, 0, 0, 160, 200),
        &crop(&source("brick.png"), 100, 100, 160, 200),
        (1.0, 2.0),
        (2.0, 1.0),
        1.0,
        37,
    );
    let recorder = Recorder(Default::default());
    separate::separate_pair(
        &mixture.mixtures[0],
        &mixture.mixtures[1],
        &SeparateOptions::default(),
        &recorder,
    )
    .unwrap();
    let fractions = recorder.0.into_inner().unwrap();
    assert!(fractions.windows(2).all(|w| w[1] >= w[0]), "{fractions:?}");
    assert_eq!(fractions.first(), Some(&0.0));
    assert_eq!(fractions.last(), Some(&1.0));
}
