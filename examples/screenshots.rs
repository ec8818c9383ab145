//! Renders the editor's views to PNGs for review: the sample, the
//! before/after split, side by side, the spectrum with a motion PSF, and help.
//!
//! cargo run --release --example screenshots -- OUTPUT_FOLDER

use std::path::PathBuf;
use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use unblur::app::{App, Options};

fn main() {
    let folder = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "screenshots".into()));
    std::fs::create_dir_all(&folder).expect("an output folder");
    let state = tempfile::tempdir().expect("a temporary folder");
    let options = Options {
        state_dir: Some(state.path().to_path_buf()),
        ..Options::default()
    };
    let mut harness = Harness::builder()
        .with_size([1400.0, 900.0])
        .wgpu_setup(unblur::app::wgpu_setup())
        .build_eframe(move |cc| App::new(cc, options));
    settle(&mut harness);
    let save = |harness: &mut Harness<'static, App>, name: &str| {
        let picture = harness.render().expect("rendering");
        let path = folder.join(format!("{name}.png"));
        picture.save(&path).expect("saving");
        println!("{}", path.display());
    };
    save(&mut harness, "1-sample");

    harness.get_by_label("Add result").click();
    settle(&mut harness);
    choose(&mut harness, "Method", "Total variation");
    harness.get_by_label("Before/after").click();
    settle(&mut harness);
    save(&mut harness, "2-before-after");

    harness.get_by_label("Side by side").click();
    settle(&mut harness);
    save(&mut harness, "3-side-by-side");

    choose(&mut harness, "PSF model", "Motion");
    harness
        .get_by_role_and_label(Role::Slider, "Length")
        .set_value_accesskit(15.0);
    harness
        .get_by_role_and_label(Role::Slider, "Angle")
        .set_value_accesskit(30.0);
    harness.get_by_label("Single").click();
    settle(&mut harness);
    save(&mut harness, "4-motion-psf");

    harness.get_by_label("Help").click();
    settle(&mut harness);
    save(&mut harness, "5-help");
    harness
        .get_all_by_label("Help")
        .next()
        .expect("the Help button")
        .click();
    settle(&mut harness);

    // A short single-image separation (the layer shown is the stronger one).
    harness.state_mut().single_layer_options = Some(unblur::separate_single::SingleOptions {
        iterations: 300,
        size: 128,
        width: 16,
        preview_every: 100,
        ..Default::default()
    });
    harness.get_by_label("Separate layers (single image)").click();
    settle(&mut harness);
    save(&mut harness, "6-single-image-layers");
}

fn choose(harness: &mut Harness<'static, App>, combo: &str, item: &str) {
    harness.get_by_role_and_label(Role::ComboBox, combo).click();
    harness.run_steps(2);
    harness.get_by_label(item).click();
    settle(harness);
}

fn settle(harness: &mut Harness<'static, App>) {
    harness.step();
    while harness.state().is_busy() {
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_steps(2);
}
