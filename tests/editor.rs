//! The editor driven through its real UI (egui_kittest, wgpu renderer on
//! whatever adapter exists: lavapipe in CI), and the real binary under Xvfb.

mod mixtures;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use unblur::app::{App, Compare, LayerKind, Options};
use unblur::imaging::{self, Image};

/// Longest a test waits for previews (lavapipe renders slowly).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The app on a fresh state folder (so it opens the built-in sample).
fn editor(state: &Path, files: Vec<PathBuf>) -> Harness<'static, App> {
    editor_with(state, files, false)
}

fn editor_with(state: &Path, files: Vec<PathBuf>, force_gpu_previews: bool) -> Harness<'static, App> {
    let options = Options {
        files,
        state_dir: Some(state.to_path_buf()),
        screenshot: None,
        fresh: false,
        force_gpu_previews,
    };
    Harness::builder()
        .with_size([1400.0, 900.0])
        .wgpu_setup(unblur::app::wgpu_setup())
        .build_eframe(move |cc| App::new(cc, options))
}

/// True when a GPU adapter (lavapipe counts) can host the harness; without
/// one the test is skipped with a reason, unless `UNBLUR_REQUIRE_GPU=1`.
fn adapter_or_skip() -> bool {
    match unblur::gpu::GpuContext::new_headless() {
        Ok(_) => true,
        Err(error) => {
            assert!(
                std::env::var_os("UNBLUR_REQUIRE_GPU").is_none_or(|v| v != "1"),
                "UNBLUR_REQUIRE_GPU=1 but no adapter: {error}"
            );
            eprintln!("skipped: no GPU adapter ({error})");
            false
        }
    }
}

/// Steps frames until loading and previews are done.
fn settle(harness: &mut Harness<'static, App>) {
    let started = Instant::now();
    harness.step();
    while harness.state().is_busy() {
        assert!(started.elapsed() < SETTLE_TIMEOUT, "the editor did not settle");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.step();
}

/// Opens the combo box `combo` and picks `item`.
fn choose(harness: &mut Harness<'static, App>, combo: &str, item: &str) {
    harness.get_by_role_and_label(Role::ComboBox, combo).click();
    harness.run_steps(2);
    harness.get_by_label(item).click();
    settle(harness);
}

fn active_result(harness: &Harness<'static, App>) -> u64 {
    harness.state().state().unwrap().active_result().unwrap()
}

fn result_pixels(harness: &Harness<'static, App>, id: u64) -> Arc<Image> {
    let app = harness.state();
    app.layer_image(id)
        .unwrap_or_else(|| panic!("layer {id} has no pixels: {:?}", app.layer_error(id)))
}

/// The active document's layers whose kind passes `keep`.
fn layers_where(app: &App, keep: impl Fn(&LayerKind) -> bool) -> Vec<u64> {
    app.state()
        .unwrap()
        .layers
        .iter()
        .filter(|l| keep(&l.kind))
        .map(|l| l.id)
        .collect()
}

fn radius(harness: &Harness<'static, App>) -> f64 {
    let id = active_result(harness);
    harness.state().state().unwrap().params(id).unwrap().psf.radius
}

#[test]
fn the_sample_loads_and_the_radius_slider_changes_the_result() {
    if !adapter_or_skip() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let mut harness = editor(state.path(), vec![]);
    settle(&mut harness);
    assert_eq!(harness.state().documents(), 1);
    let id = active_result(&harness);
    let before = result_pixels(&harness, id);
    // The sample's sliders start at its true blur, so the result beats it.
    let quality = harness.state().layer_quality(id).expect("the sample has a reference");
    assert!(quality.psnr_db > 22.0, "sample result: {} dB", quality.psnr_db);
    assert_eq!(radius(&harness), 6.0);

    harness
        .get_by_role_and_label(Role::Slider, "Radius")
        .set_value_accesskit(4.0);
    settle(&mut harness);
    assert_eq!(radius(&harness), 4.0);
    let after = result_pixels(&harness, id);
    let changed = before.planes[0]
        .iter()
        .zip(&after.planes[0])
        .filter(|(a, b)| (*a - *b).abs() > 1e-3)
        .count();
    assert!(changed > before.pixel_count() / 4, "only {changed} pixels changed");

    // Undo (the button) brings the radius back, and the pixels with it.
    harness.get_by_label("Undo").click();
    settle(&mut harness);
    assert_eq!(radius(&harness), 6.0);
    assert_eq!(*result_pixels(&harness, id), *before);
    harness.get_by_label("Redo").click();
    settle(&mut harness);
    assert_eq!(radius(&harness), 4.0);
}

/// Previews computed on the renderer's device (forced on a software
/// adapter) match the CPU's.
#[test]
fn gpu_previews_match_cpu_previews() {
    if !adapter_or_skip() {
        return;
    }
    // No reference attached: the GPU then leaves its result on screen and
    // reads the pixels back only once previews stop coming.
    let photo = PathBuf::from("assets/sample.jpg");
    let cpu_state = tempfile::tempdir().unwrap();
    let mut cpu = editor(cpu_state.path(), vec![photo.clone()]);
    settle(&mut cpu);
    let gpu_state = tempfile::tempdir().unwrap();
    let mut gpu = editor_with(gpu_state.path(), vec![photo], true);
    settle(&mut gpu);
    // One-pass methods: iterative ones take minutes on a software adapter
    // (their GPU parity is tested in gpu_parity.rs).
    for method in ["Wiener", "Tikhonov"] {
        for harness in [&mut cpu, &mut gpu] {
            choose(harness, "Method", method);
        }
        let (a, b) = (
            result_pixels(&cpu, active_result(&cpu)),
            result_pixels(&gpu, active_result(&gpu)),
        );
        let error: f64 = a
            .planes
            .iter()
            .flatten()
            .zip(b.planes.iter().flatten())
            .map(|(x, y)| ((x - y) as f64).powi(2))
            .sum();
        let norm: f64 = a.planes.iter().flatten().map(|x| (*x as f64).powi(2)).sum();
        let relative = (error / norm).sqrt();
        assert!(
            relative < 1e-3,
            "{method}: GPU preview differs from the CPU's by {relative:.2e}"
        );
    }
    // The GPU draws its result into its own texture; on screen it must look
    // like the CPU's uploaded one (the viewer's middle, away from text).
    let (a, b) = (cpu.render().unwrap(), gpu.render().unwrap());
    let (mut sum, mut count) = (0u64, 0u64);
    for y in 200..700 {
        for x in 350..900 {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            sum += (0..3).map(|c| p[c].abs_diff(q[c]) as u64).sum::<u64>();
            count += 3;
        }
    }
    let mean = sum as f64 / count as f64;
    assert!(mean < 1.0, "GPU-drawn result differs on screen by {mean:.2} levels");
    assert!(gpu.state().gpu_note().ends_with("previews on the GPU"));
}

#[test]
fn a_second_method_can_be_added_and_compared_side_by_side() {
    if !adapter_or_skip() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let mut harness = editor(state.path(), vec![]);
    settle(&mut harness);
    let first = active_result(&harness);
    harness.get_by_label("Add result").click();
    settle(&mut harness);
    let second = active_result(&harness);
    assert_ne!(first, second);
    choose(&mut harness, "Method", "Richardson–Lucy");
    let app = harness.state();
    let params = app.state().unwrap().params(second).unwrap();
    assert_eq!(params.method.method, unblur::deconv::Method::RichardsonLucy);
    let (a, b) = (app.layer_quality(first).unwrap(), app.layer_quality(second).unwrap());
    assert!(a.psnr_db != b.psnr_db, "two methods gave the same result");

    harness.get_by_label("Side by side").click();
    settle(&mut harness);
    match harness.state().compare() {
        Some(Compare::SideBySide(layers)) => {
            assert!(layers.len() >= 2);
            assert!(layers.contains(&first) && layers.contains(&second), "{layers:?}");
        }
        other => panic!("not side by side: {other:?}"),
    }
    // Each panel shows its layer's PSNR/SSIM.
    let label = format!("{:.2} dB · SSIM", a.psnr_db);
    assert!(
        harness.query_by_label_contains(&label).is_some(),
        "no panel shows {label}"
    );

    harness.get_by_label("Before/after").click();
    harness.step();
    assert!(matches!(harness.state().compare(), Some(Compare::Split { .. })));
}

#[test]
fn export_writes_what_the_cli_writes() {
    if !adapter_or_skip() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let mut harness = editor(state.path(), vec![]);
    settle(&mut harness);
    let id = active_result(&harness);
    let exported = state.path().join("editor.png");
    let ctx = harness.ctx.clone();
    harness.state_mut().export_layer(&ctx, id, exported.clone());
    settle(&mut harness);
    let messages: Vec<&str> = harness.state().messages.iter().map(|m| m.text.as_str()).collect();
    assert!(messages.iter().any(|m| m.starts_with("exported")), "{messages:?}");

    let sample = state.path().join("sample/sample.jpg");
    let from_cli = state.path().join("cli.png");
    let status = Command::new(env!("CARGO_BIN_EXE_unblur"))
        .args([
            "deconv",
            sample.to_str().unwrap(),
            "-o",
            from_cli.to_str().unwrap(),
            "--psf",
            "disk:r=6",
        ])
        .args(["--backend", "cpu"])
        .status()
        .unwrap();
    assert!(status.success());
    let (a, _) = imaging::load_stored(&exported, 100.0).unwrap();
    let (b, _) = imaging::load_stored(&from_cli, 100.0).unwrap();
    let worst = a
        .planes
        .iter()
        .flatten()
        .zip(b.planes.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(worst <= 1.0 / 255.0 + 1e-6, "editor and CLI differ by {worst}");

    // Never over the source.
    harness.state_mut().export_layer(&ctx, id, sample.clone());
    settle(&mut harness);
    assert!(
        harness
            .state()
            .messages
            .iter()
            .any(|m| m.is_error && m.text.contains("refusing to overwrite"))
    );
}

#[test]
fn a_corrupt_file_is_a_message_and_the_editor_goes_on() {
    if !adapter_or_skip() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let corrupt = state.path().join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nthis is not an image").unwrap();
    let mut harness = editor(state.path(), vec![corrupt.clone()]);
    settle(&mut harness);
    let app = harness.state();
    assert_eq!(app.documents(), 0);
    let error = app.messages.iter().find(|m| m.is_error).expect("an error message");
    assert!(error.text.contains("corrupt.png"), "{}", error.text);
    // Still working: the sample opens.
    harness.get_by_label("Sample").click();
    settle(&mut harness);
    assert_eq!(harness.state().documents(), 1);
    assert!(
        harness
            .state()
            .state()
            .unwrap()
            .layers
            .iter()
            .any(|l| matches!(l.kind, LayerKind::Result(_)))
    );
}

#[test]
fn the_session_comes_back_after_a_restart() {
    if !adapter_or_skip() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    {
        let mut harness = editor(state.path(), vec![]);
        settle(&mut harness);
        harness
            .get_by_role_and_label(Role::Slider, "Radius")
            .set_value_accesskit(5.5);
        settle(&mut harness);
    }
    let mut harness = editor(state.path(), vec![]);
    settle(&mut harness);
    assert_eq!(harness.state().documents(), 1);
    assert_eq!(radius(&harness), 5.5);
}

/// The real binary in a real (virtual) window: renders the sample and saves
/// a screenshot that is not blank.
#[test]
fn the_binary_renders_the_sample_under_xvfb() {
    let available = Command::new("xvfb-run").arg("--help").output().is_ok();
    if !available {
        assert!(
            std::env::var_os("UNBLUR_REQUIRE_DISPLAY").is_none(),
            "xvfb-run is missing and UNBLUR_REQUIRE_DISPLAY is set"
        );
        eprintln!("skipped: xvfb-run is not installed");
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let shot = state.path().join("shot.png");
    let output = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1600x1000x24"])
        .arg(env!("CARGO_BIN_EXE_unblur"))
        .args(["--screenshot", shot.to_str().unwrap()])
        .env("UNBLUR_STATE_DIR", state.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let picture = image::open(&shot).unwrap().to_rgb8();
    assert!(picture.width() >= 800 && picture.height() >= 500);
    // Not blank: many distinct grey levels (the photo, the text, the panels).
    let mut levels = std::collections::HashSet::new();
    for pixel in picture.pixels() {
        levels.insert(pixel.0);
    }
    assert!(levels.len() > 1000, "only {} distinct colours", levels.len());
}

#[test]
fn estimate_sets_the_sliders_and_estimate_kernel_makes_an_editable_kernel() {
    if !adapter_or_skip() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let mut harness = editor(state.path(), vec![]);
    settle(&mut harness);
    harness
        .get_by_role_and_label(Role::Slider, "Radius")
        .set_value_accesskit(3.0);
    settle(&mut harness);
    // The sample was blurred by a disk of radius 6.
    harness.get_by_label("Estimate").click();
    settle(&mut harness);
    let estimated = radius(&harness);
    assert!((estimated - 6.0).abs() <= 0.6, "estimated radius {estimated}");
    harness.get_by_label("Undo").click();
    settle(&mut harness);
    assert_eq!(radius(&harness), 3.0);

    harness.get_by_label("Estimate kernel").click();
    settle(&mut harness);
    let id = active_result(&harness);
    let psf = harness.state().state().unwrap().params(id).unwrap().psf.clone();
    assert_eq!(psf.model, unblur::app::PsfModel::File);
    let file = psf.file.unwrap();
    assert!(file.starts_with(state.path()), "{}", file.display());
    let kernel = unblur::psf::Kernel::from_file(&file).unwrap();
    assert!(kernel.width >= 5 && kernel.height >= 5);
    assert!(harness.state().layer_error(id).is_none());
    let quality = harness.state().layer_quality(id).unwrap();
    assert!(
        quality.psnr_db > 21.0,
        "free-form kernel result: {} dB",
        quality.psnr_db
    );

    // Thresholding writes an edited copy and points the layer at it.
    harness.get_by_label("Apply").click();
    settle(&mut harness);
    let edited = harness
        .state()
        .state()
        .unwrap()
        .params(id)
        .unwrap()
        .psf
        .file
        .clone()
        .unwrap();
    assert_ne!(edited, file);
    assert!(edited.exists());
}

#[test]
fn separate_adds_the_two_layers_of_a_pair_of_shots() {
    if !adapter_or_skip() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let s1 = mixtures::gray(&mixtures::source("camera.png"));
    let s2 = mixtures::gray(&mixtures::source("brick.png"));
    let mixture = mixtures::mix(&s1, &s2, (1.5, 3.0), (3.0, 1.5), 1.0, 7);
    // Untagged 16-bit PNGs: taken as linear, as the mixtures are.
    let options = imaging::EncodeOptions {
        depth: imaging::BitDepth::Sixteen,
        space: imaging::LightSpace::Linear,
        jpeg_quality: 95,
    };
    let shots = [state.path().join("m1.png"), state.path().join("m2.png")];
    for (path, image) in shots.iter().zip(&mixture.mixtures) {
        imaging::save(path, image, &options).unwrap();
    }
    let mut harness = editor(state.path(), vec![shots[0].clone()]);
    settle(&mut harness);
    let ctx = harness.ctx.clone();
    harness.state_mut().separate_with(&ctx, shots[1].clone());
    settle(&mut harness);
    let app = harness.state();
    let layers = layers_where(app, |kind| matches!(kind, LayerKind::Separated(_)));
    assert_eq!(
        layers.len(),
        2,
        "{:?}",
        app.messages.iter().map(|m| &m.text).collect::<Vec<_>>()
    );
    // Each layer's detail (horizontal differences: the low band cannot be
    // recovered) follows its own source more than the other.
    let detail = |image: &Image| -> Vec<f32> { image.planes[0].windows(2).map(|w| w[1] - w[0]).collect() };
    let correlation = |a: &Image, b: &Image| {
        let (a, b) = (&detail(a), &detail(b));
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        let (ma, mb) = (mean(a), mean(b));
        let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
        for (x, y) in a.iter().zip(b) {
            let (x, y) = ((x - ma) as f64, (y - mb) as f64);
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        ab / (aa * bb).sqrt()
    };
    for (index, id) in layers.iter().enumerate() {
        let image = app.layer_image(*id).expect("separated pixels");
        let own = correlation(&image, &mixture.sources[index]);
        let other = correlation(&image, &mixture.sources[1 - index]);
        assert!(own > other + 0.3, "layer {index}: own {own:.2}, other {other:.2}");
    }
    assert!(app.messages.iter().any(|m| m.text.starts_with("separated: window=")));
}

#[test]
fn separate_layers_single_image_adds_two_layers_that_explain_the_image() {
    if !adapter_or_skip() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let mut harness = editor(state.path(), vec![]);
    settle(&mut harness);
    // A short run: the action is what is tested here, the method in tests/separate_single.rs.
    harness.state_mut().single_layer_options = Some(unblur::separate_single::SingleOptions {
        iterations: 40,
        size: 48,
        seed: 1,
        width: 8,
        backend: unblur::engine::Backend::Cpu,
        preview_every: 10,
    });
    harness.get_by_label("Separate layers (single image)").click();
    settle(&mut harness);
    let app = harness.state();
    let layers = layers_where(app, |kind| matches!(kind, LayerKind::SingleLayer(_)));
    let messages: Vec<&String> = app.messages.iter().map(|m| &m.text).collect();
    assert_eq!(layers.len(), 2, "{messages:?}");
    assert!(
        messages.iter().any(|m| m.contains("layers separated: 40 iterations")),
        "{messages:?}"
    );
    let [a, b] = [0, 1].map(|k| result_pixels(&harness, layers[k]));
    assert_eq!((a.width, a.height), (b.width, b.height));
    assert!(a.width <= 48 && a.height <= 48 && a.width.max(a.height) == 48);
    // Both layers hold part of the image: neither is empty.
    for layer in [&a, &b] {
        let mean = layer.planes.iter().flatten().sum::<f32>() / (layer.planes.len() * layer.pixel_count()) as f32;
        assert!(mean > 0.02, "a layer is nearly black: mean {mean}");
    }
}
