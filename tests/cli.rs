//! The command line contract of DESIGN.md §5, run through the real binary:
//! output formats, exit codes, one-line errors, atomic writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use unblur::imaging::{self, BitDepth, DecodeOptions, EncodeOptions, Image, LightSpace};

fn unblur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unblur"))
        .args(args)
        .output()
        .expect("run unblur")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn case(id: &str) -> PathBuf {
    common::data_dir().join("cases").join(id)
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Files in a folder (to see that failures leave nothing behind).
fn listing(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts exit code 2, one stderr line naming `needle`, no panic.
fn assert_bad_input(output: &Output, needle: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.contains(needle), "'{needle}' not in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn small_rgb(width: usize, height: usize) -> Image {
    let plane = |k: usize| {
        (0..width * height)
            .map(|i| ((i * (k + 3)) % 17) as f32 / 16.0)
            .collect()
    };
    Image::from_planes(width, height, vec![plane(0), plane(1), plane(2)])
}

#[test]
fn deconv_improves_a_case_and_keeps_16_bit() {
    let dir = tempfile::tempdir().unwrap();
    let c = case("camera__gauss_s3__noisy");
    let out = dir.path().join("out.png");
    let kernel = format!("file:{}", c.join("kernel.png").display());
    let run = unblur(&[
        "deconv",
        arg(&c.join("blurred.png")),
        "-o",
        arg(&out),
        "--psf",
        &kernel,
        "--method",
        "wiener",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(text(&run.stderr).contains("backend=cpu"));
    let decoded = imaging::load(&out, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.depth, BitDepth::Sixteen);
    assert_eq!(decoded.space, LightSpace::Linear);
    let metrics = unblur(&["metrics", arg(&out), arg(&c.join("gt.png"))]);
    let line = text(&metrics.stdout);
    let psnr: f64 = line
        .trim()
        .strip_prefix("psnr=")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(psnr > 25.5, "{line}");
}

#[test]
fn jpeg_input_gives_8_bit_output_unless_depth_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let c = case("brick__gauss_s3__camera");
    let input = c.join("blurred.jpg");
    for (depth, expected) in [(None, BitDepth::Eight), (Some("16"), BitDepth::Sixteen)] {
        let out = dir.path().join(format!("out{}.png", depth.unwrap_or("")));
        let mut args = vec!["deconv", arg(&input), "-o", arg(&out), "--psf", "gaussian:sigma=3"];
        if let Some(d) = depth {
            args.extend(["--depth", d]);
        }
        let run = unblur(&args);
        assert!(run.status.success(), "{}", text(&run.stderr));
        assert!(text(&run.stderr).contains("space=srgb"));
        assert_eq!(imaging::load(&out, &DecodeOptions::default()).unwrap().depth, expected);
    }
}

#[test]
fn metrics_prints_one_line_or_json() {
    let c = case("camera__disk_r6__clean");
    let (a, b) = (c.join("blurred.png"), c.join("gt.png"));
    let plain = text(&unblur(&["metrics", arg(&a), arg(&b)]).stdout);
    // psnr=<dB, 4 decimals> ssim=<6 decimals>, one line.
    let fields: Vec<&str> = plain.strip_suffix('\n').unwrap().split(' ').collect();
    assert_eq!(fields.len(), 2, "{plain}");
    assert_eq!(fields[0], "psnr=23.0581");
    assert!(
        fields[1].starts_with("ssim=0.657") && fields[1].len() == "ssim=0.657199".len(),
        "{plain}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&text(&unblur(&["metrics", arg(&a), arg(&b), "--json"]).stdout)).unwrap();
    assert!((json["psnr"].as_f64().unwrap() - 23.0581).abs() < 1e-3);
    assert!((json["ssim"].as_f64().unwrap() - 0.6572).abs() < 1e-4);
    assert_eq!(
        text(&unblur(&["metrics", arg(&b), arg(&b)]).stdout),
        "psnr=inf ssim=1.000000\n"
    );
}

#[test]
fn psf_renders_a_kernel_that_file_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.png");
    let run = unblur(&["psf", "motion:len=15,angle=30", "-o", arg(&out)]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let read = unblur::psf::Kernel::from_file(&out).unwrap();
    let made = "motion:len=15,angle=30"
        .parse::<unblur::psf::PsfSpec>()
        .unwrap()
        .kernel()
        .unwrap();
    assert_eq!((read.width, read.height), (made.width, made.height));
    for (a, b) in read.data.iter().zip(&made.data) {
        assert!((a - b).abs() < 2e-5);
    }
}

#[test]
fn alpha_and_16_bit_tiff_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = small_rgb(48, 40);
    image.alpha = Some((0..48 * 40).map(|i| (i % 7) as f32 / 6.0).collect());
    let input = dir.path().join("in.tif");
    let options = EncodeOptions {
        depth: BitDepth::Sixteen,
        space: LightSpace::Linear,
        jpeg_quality: 95,
    };
    imaging::save(&input, &image, &options).unwrap();
    let out = dir.path().join("out.tif");
    let run = unblur(&[
        "deconv",
        arg(&input),
        "-o",
        arg(&out),
        "--psf",
        "disk:r=1.5",
        "--method",
        "tv",
        "--iters",
        "5",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let decoded = imaging::load(&out, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.depth, BitDepth::Sixteen);
    assert_eq!(
        decoded.image.alpha,
        image
            .alpha
            .map(|a| a.iter().map(|v| (v * 65535.0).round() / 65535.0).collect())
    );
}

#[test]
fn float_tiff_results_stay_float_and_unclipped() {
    let dir = tempfile::tempdir().unwrap();
    // Linear data far above 1 (photon counts, say), as scientific tools write it.
    let (w, h) = (48, 40);
    let spot = |i: usize| {
        let (x, y) = ((i % w) as f32 - 24.0, (i / w) as f32 - 20.0);
        0.2 + 2.5 * (-(x * x + y * y) / 20.0).exp()
    };
    let image = Image::from_planes(w, h, vec![(0..w * h).map(spot).collect()]);
    let input = dir.path().join("counts.tif");
    let float = EncodeOptions {
        depth: BitDepth::Float,
        space: LightSpace::Linear,
        jpeg_quality: 95,
    };
    imaging::save(&input, &image, &float).unwrap();
    let (read, _) = imaging::load_stored(&input, 100.0).unwrap();
    assert_eq!(read.planes, image.planes, "float TIFFs round-trip exactly");

    let run = |output: &Path, extra: &[&str]| {
        let mut args = vec!["deconv", arg(&input), "-o", arg(output), "--psf", "disk:r=1.5"];
        args.extend_from_slice(extra);
        let run = unblur(&args);
        assert!(run.status.success(), "{}", text(&run.stderr));
        // The stored values, as other tools read them.
        let (stored, depth) = imaging::load_stored(output, 100.0).unwrap();
        let brightest = stored.planes[0].iter().copied().fold(f32::MIN, f32::max);
        (depth, brightest)
    };
    let (depth, brightest) = run(&dir.path().join("out.tif"), &[]);
    assert_eq!(depth, BitDepth::Float);
    assert!(brightest > 2.0, "the peak was clipped: {brightest}");
    // Formats without float samples, or a depth asked for, are 16-bit in
    // [0, 1]: the data scaled to its largest value, so the peak is not lost.
    for (output, extra) in [("out.png", &[][..]), ("out16.tif", &["--depth", "16"][..])] {
        let (depth, brightest) = run(&dir.path().join(output), extra);
        assert_eq!(depth, BitDepth::Sixteen);
        assert!(brightest > 0.8 && brightest <= 1.0, "{output}: {brightest}");
    }

    // The automatic parameters see the same image whatever the file's units:
    // the same data times 1000 gives the same result times 1000.
    let kilo = dir.path().join("kilo.tif");
    let times = |k: f32| Image::from_planes(w, h, vec![image.planes[0].iter().map(|v| v * k).collect()]);
    imaging::save(&kilo, &times(1000.0), &float).unwrap();
    let results: Vec<Vec<f32>> = [(&input, "tv.tif", "2.700e0"), (&kilo, "tv_kilo.tif", "2.700e3")]
        .iter()
        .map(|(input, name, scale)| {
            let output = dir.path().join(name);
            let run = unblur(&[
                "deconv",
                arg(input),
                "-o",
                arg(&output),
                "--psf",
                "disk:r=1.5",
                "--method",
                "tv",
                "--iters",
                "20",
            ]);
            assert!(run.status.success(), "{}", text(&run.stderr));
            // The status line names the divisor its noise and weight are relative to.
            assert!(
                text(&run.stderr).contains(&format!(" scale={scale} ")),
                "{}",
                text(&run.stderr)
            );
            imaging::load_stored(&output, 100.0).unwrap().0.planes.swap_remove(0)
        })
        .collect();
    for (a, b) in results[0].iter().zip(&results[1]) {
        assert!((a * 1000.0 - b).abs() <= 1e-3 * b.abs().max(1.0), "{a} {b}");
    }
}

#[test]
fn a_tiff_stack_is_worked_on_its_first_image_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack.tif");
    {
        let file = std::fs::File::create(&stack).unwrap();
        let mut encoder = tiff::encoder::TiffEncoder::new(file).unwrap();
        for page in 0..3u8 {
            let samples: Vec<u8> = (0..48 * 40).map(|i| ((i * 7) % 200) as u8 + page * 20).collect();
            encoder
                .write_image::<tiff::encoder::colortype::Gray8>(48, 40, &samples)
                .unwrap();
        }
    }
    let out = dir.path().join("out.png");
    let run = unblur(&["deconv", arg(&stack), "-o", arg(&out), "--psf", "disk:r=1.5"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let warning = format!(
        "unblur: warning: {}: 3 images in the file; only the first is used",
        stack.display()
    );
    assert!(text(&run.stderr).lines().any(|l| l == warning), "{}", text(&run.stderr));
    let (written, _) = imaging::load_stored(&out, 100.0).unwrap();
    assert_eq!((written.width, written.height), (48, 40));
}

#[test]
fn the_decode_limit_refuses_big_images_before_decoding() {
    let c = case("camera__disk_r6__clean");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let run = unblur(&[
        "deconv",
        arg(&c.join("blurred.png")),
        "-o",
        arg(&out),
        "--psf",
        "disk:r=6",
        "--max-megapixels",
        "0.1",
    ]);
    assert_bad_input(&run, "over the 0.1 MP limit");
    assert!(!out.exists());
}

#[test]
fn bad_input_exits_2_with_one_line_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = case("camera__disk_r6__clean").join("blurred.png");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(d.join("truncated.png"), &bytes[..bytes.len() / 2]).unwrap();
    let jpeg = std::fs::read(case("brick__gauss_s3__camera").join("blurred.jpg")).unwrap();
    std::fs::write(d.join("truncated.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    std::fs::write(d.join("text.png"), "not an image at all").unwrap();
    // A PNG signature and a header chunk claiming a 0x0 image.
    let mut empty = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];
    empty.extend([0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    std::fs::write(d.join("empty.png"), &empty).unwrap();
    let options = EncodeOptions {
        depth: BitDepth::Eight,
        space: LightSpace::Srgb,
        jpeg_quality: 90,
    };
    imaging::save(&d.join("one.png"), &Image::gray(1, 1, vec![0.5]), &options).unwrap();
    imaging::save(&d.join("small.png"), &small_rgb(8, 8), &options).unwrap();
    // A float TIFF with one NaN sample (scientific data can hold them).
    let mut samples = vec![0.5f32; 32 * 32];
    samples[100] = f32::NAN;
    let nan_file = std::fs::File::create(d.join("nan.tif")).unwrap();
    tiff::encoder::TiffEncoder::new(nan_file)
        .unwrap()
        .write_image::<tiff::encoder::colortype::Gray32Float>(32, 32, &samples)
        .unwrap();
    let before = listing(d);
    let out = d.join("out.png");
    let o = arg(&out);
    let g = arg(&good);
    let path = |name: &str| d.join(name).to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![path("missing.png")], "file not found"),
        (vec![path("text.png")], "not a PNG, JPEG or TIFF image"),
        (vec![path("truncated.png")], "truncated"),
        (vec![path("truncated.jpg")], "truncated JPEG"),
        (vec![path("empty.png")], "empty.png"),
        (vec![path("one.png")], "PSF (13x13) is larger than the image (1x1)"),
        (vec![path("small.png")], "larger than the image (8x8)"),
        (vec![path("nan.tif")], "image holds NaN or infinite values"),
        (vec![g.into(), "--psf-override".into()], "unexpected argument"),
    ];
    for (input, needle) in cases {
        let mut args = vec!["deconv".to_string()];
        args.extend(input);
        args.extend(["-o".into(), o.into()]);
        if !args.iter().any(|a| a == "--psf-override") {
            args.extend(["--psf".into(), "disk:r=6".into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_bad_input(&unblur(&args), needle);
    }
    let with = |extra: &[&str]| {
        let mut args = vec!["deconv", g, "-o", o];
        args.extend(extra);
        unblur(&args)
    };
    assert_bad_input(&with(&["--psf", "motion:len=-3"]), "motion: len must be > 0");
    assert_bad_input(&with(&["--psf", "blob:r=2"]), "unknown PSF model 'blob'");
    assert_bad_input(
        &with(&["--psf", "disk:r=6", "--nsr", "NaN"]),
        "--nsr must be a positive number",
    );
    assert_bad_input(
        &with(&["--psf", "disk:r=6", "--lambda", "-1"]),
        "--lambda must be a positive number",
    );
    assert_bad_input(
        &with(&["--psf", "disk:r=6", "--method", "tv", "--iters", "0"]),
        "--iters must be between 1",
    );
    assert_bad_input(
        &with(&["--psf", "file:/no/such/kernel.png"]),
        "kernel.png: file not found",
    );
    assert_bad_input(&with(&["--psf", "disk:r=6", "--method", "magic"]), "magic");
    let missing_folder = d.join("no/such/folder/out.png");
    assert_bad_input(
        &unblur(&["deconv", g, "-o", arg(&missing_folder), "--psf", "disk:r=6"]),
        "output folder does not exist",
    );
    let copy = d.join("copy.png");
    std::fs::copy(&good, &copy).unwrap();
    assert_bad_input(
        &unblur(&["deconv", arg(&copy), "-o", arg(&copy), "--psf", "disk:r=6"]),
        "same file as an input",
    );
    assert_eq!(std::fs::read(&copy).unwrap(), bytes, "the input must stay untouched");
    assert_bad_input(&unblur(&["metrics", g, &path("small.png")]), "size mismatch");
    let nan = path("nan.tif");
    assert_bad_input(
        &unblur(&["metrics", &nan, &nan]),
        "nan.tif: image holds NaN or infinite values",
    );
    assert_bad_input(
        &unblur(&["psf", "gaussian:sigma=0", "-o", o]),
        "gaussian: sx must be > 0",
    );
    std::fs::remove_file(&copy).unwrap();
    assert_eq!(listing(d), before, "failed runs must leave no files behind");
}

#[test]
fn a_failed_run_keeps_an_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    std::fs::write(&out, b"previous result").unwrap();
    let c = case("camera__disk_r6__clean");
    let run = unblur(&[
        "deconv",
        arg(&c.join("blurred.png")),
        "-o",
        arg(&out),
        "--psf",
        "disk:r=nan",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(std::fs::read(&out).unwrap(), b"previous result");
}

#[test]
fn separate_single_writes_two_layers_and_refuses_bad_input_in_one_line() {
    let folder = tempfile::tempdir().unwrap();
    let input = folder.path().join("photo.png");
    let options = EncodeOptions {
        depth: BitDepth::Eight,
        space: LightSpace::Srgb,
        jpeg_quality: 95,
    };
    imaging::save(&input, &small_rgb(40, 30), &options).unwrap();
    let (l1, l2) = (folder.path().join("l1.png"), folder.path().join("l2.png"));
    let quick = ["--iters", "3", "--size", "32", "--width", "4", "--backend", "cpu"];
    let separate = |image: &Path, extra: &[&str]| {
        let mut args = vec!["separate-single", arg(image), "-o", arg(&l1), "-o", arg(&l2)];
        args.extend(extra);
        unblur(&args)
    };
    let output = separate(&input, &quick);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    for layer in [&l1, &l2] {
        let decoded = imaging::load(layer, &DecodeOptions::default()).unwrap();
        // Shrunk to the working size, 8-bit as the input.
        assert_eq!((decoded.image.width, decoded.image.height), (32, 24));
        assert_eq!(decoded.depth, BitDepth::Eight);
    }
    let before = listing(folder.path());
    let one = unblur(&["separate-single", arg(&input), "-o", arg(&l1)]);
    assert_bad_input(&one, "two layers");
    let same = unblur(&["separate-single", arg(&input), "-o", arg(&l1), "-o", arg(&l1)]);
    assert_bad_input(&same, "same file");
    let missing = folder.path().join("missing.png");
    assert_bad_input(&separate(&missing, &quick), "missing.png");
    assert_bad_input(&separate(&input, &["--iters", "0"]), "--iters");
    assert_bad_input(&separate(&input, &["--size", "5000"]), "--size");
    let over = unblur(&["separate-single", arg(&input), "-o", arg(&input), "-o", arg(&l2)]);
    assert_eq!(over.status.code(), Some(2));
    let tiny = folder.path().join("tiny.png");
    imaging::save(&tiny, &small_rgb(5, 40), &options).unwrap();
    assert_bad_input(&separate(&tiny, &quick), "5x40");
    let mut after = listing(folder.path());
    after.retain(|n| n != "tiny.png");
    assert_eq!(before, after, "failed runs must leave nothing behind");
}
