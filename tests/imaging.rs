//! Decoding and encoding: formats, bit depths, channels, alpha, and the
//! light-space rule of DESIGN.md §3.

mod common;

use unblur::imaging::{self, BitDepth, DecodeOptions, EncodeOptions, Image, LightSpace, SpaceChoice};

fn gradient(channels: usize, alpha: bool) -> Image {
    let (w, h) = (37, 23);
    let plane = |k: usize| (0..w * h).map(|i| ((i * (2 * k + 1)) % 97) as f32 / 96.0).collect();
    let mut image = Image::from_planes(w, h, (0..channels).map(plane).collect());
    if alpha {
        image.alpha = Some(plane(5));
    }
    image
}

fn max_difference(a: &Image, b: &Image) -> f32 {
    let mut planes: Vec<(&Vec<f32>, &Vec<f32>)> = a.planes.iter().zip(&b.planes).collect();
    if let (Some(x), Some(y)) = (&a.alpha, &b.alpha) {
        planes.push((x, y));
    }
    planes
        .iter()
        .flat_map(|(x, y)| x.iter().zip(y.iter()).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

#[test]
fn png_and_tiff_round_trip_every_layout_and_depth() {
    let dir = tempfile::tempdir().unwrap();
    for extension in ["png", "tif"] {
        for (channels, alpha) in [(1, false), (1, true), (3, false), (3, true)] {
            for (depth, levels) in [(BitDepth::Eight, 255.0), (BitDepth::Sixteen, 65535.0)] {
                for space in [LightSpace::Linear, LightSpace::Srgb] {
                    let image = gradient(channels, alpha);
                    let path = dir.path().join(format!("t{channels}{alpha}{levels}.{extension}"));
                    imaging::save(
                        &path,
                        &image,
                        &EncodeOptions {
                            depth,
                            space,
                            jpeg_quality: 90,
                        },
                    )
                    .unwrap();
                    let choice = if space == LightSpace::Srgb {
                        SpaceChoice::Srgb
                    } else {
                        SpaceChoice::Linear
                    };
                    let decoded = imaging::load(
                        &path,
                        &DecodeOptions {
                            space: choice,
                            ..DecodeOptions::default()
                        },
                    )
                    .unwrap();
                    assert_eq!(decoded.depth, depth);
                    // TIFF stores gray + alpha as RGBA.
                    let (image, channels) = if extension == "tif" && channels == 1 && alpha {
                        let mut rgb = image.clone();
                        rgb.planes = vec![image.planes[0].clone(); 3];
                        (rgb, 3)
                    } else {
                        (image, channels)
                    };
                    assert_eq!(decoded.image.channels(), channels);
                    assert_eq!(decoded.image.alpha.is_some(), alpha);
                    // Half a quantization step, stretched by the sRGB curve's
                    // steepest slope (12.92) where values were encoded.
                    let step = 0.5 / levels * if space == LightSpace::Srgb { 12.92 } else { 1.0 } + 1e-6;
                    let diff = max_difference(&decoded.image, &image);
                    assert!(
                        diff <= step as f32,
                        "{extension} {channels}ch alpha={alpha} {levels}: {diff}"
                    );
                }
            }
        }
    }
}

#[test]
fn jpeg_round_trips_approximately() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jpg");
    let image = Image::from_planes(
        64,
        64,
        vec![vec![0.25; 64 * 64], vec![0.5; 64 * 64], vec![0.75; 64 * 64]],
    );
    let options = EncodeOptions {
        depth: BitDepth::Eight,
        space: LightSpace::Srgb,
        jpeg_quality: 95,
    };
    imaging::save(&path, &image, &options).unwrap();
    let decoded = imaging::load(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.space, LightSpace::Srgb);
    assert!(max_difference(&decoded.image, &image) < 0.02);
}

#[test]
fn auto_space_follows_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let image = gradient(3, false);
    let cases = [
        ("8-bit untagged", BitDepth::Eight, LightSpace::Linear, LightSpace::Srgb),
        // We tag sRGB output with an sRGB chunk: tagged 16-bit reads as sRGB.
        ("16-bit tagged", BitDepth::Sixteen, LightSpace::Srgb, LightSpace::Srgb),
        (
            "16-bit untagged",
            BitDepth::Sixteen,
            LightSpace::Linear,
            LightSpace::Linear,
        ),
    ];
    for (name, depth, written, expected) in cases {
        let path = dir.path().join(format!("{}.png", name.replace(' ', "_")));
        imaging::save(
            &path,
            &image,
            &EncodeOptions {
                depth,
                space: written,
                jpeg_quality: 90,
            },
        )
        .unwrap();
        assert_eq!(
            imaging::load(&path, &DecodeOptions::default()).unwrap().space,
            expected,
            "{name}"
        );
    }
    // The shared cases: clean/noisy are untagged 16-bit PNGs (linear), camera ones JPEGs (sRGB).
    for case in common::cases() {
        let decoded = imaging::load(&case.blurred, &DecodeOptions::default()).unwrap();
        let expected = if case.degradation == "camera" {
            LightSpace::Srgb
        } else {
            LightSpace::Linear
        };
        assert_eq!(decoded.space, expected, "{}", case.id);
    }
}

#[test]
fn space_choice_overrides_the_rule() {
    let case = &common::cases()[0];
    let linear = imaging::load(
        &case.blurred,
        &DecodeOptions {
            space: SpaceChoice::Linear,
            ..Default::default()
        },
    )
    .unwrap();
    let srgb = imaging::load(
        &case.blurred,
        &DecodeOptions {
            space: SpaceChoice::Srgb,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(srgb.space, LightSpace::Srgb);
    let i = linear.image.width * 10 + 10;
    let v = linear.image.planes[0][i];
    assert!((srgb.image.planes[0][i] - imaging::srgb_to_linear(v)).abs() < 1e-6);
}

#[test]
fn noise_floor_follows_the_file_rounding_and_compression() {
    let dir = tempfile::tempdir().unwrap();
    let image = Image::from_planes(64, 64, vec![vec![0.2; 64 * 64]; 3]);
    let save = |name: &str, depth| {
        let path = dir.path().join(name);
        imaging::save(
            &path,
            &image,
            &EncodeOptions {
                depth,
                space: LightSpace::Srgb,
                jpeg_quality: 90,
            },
        )
        .unwrap();
        imaging::noise_floor(&imaging::load(&path, &DecodeOptions::default()).unwrap())
    };
    let sixteen = save("a.png", BitDepth::Sixteen);
    let png = save("b.png", BitDepth::Eight).unwrap();
    let jpeg = save("c.jpg", BitDepth::Eight).unwrap();
    assert_eq!(sixteen, None);
    // Linear 0.2 is sRGB 0.48, where the curve's slope is about 0.87:
    // step / sqrt(12) for the PNG, two steps for the JPEG.
    assert!((png - 0.87 / 255.0 / 12f64.sqrt()).abs() < 1e-4, "{png}");
    assert!((jpeg - 2.0 * 0.87 / 255.0).abs() < 3e-4, "{jpeg}");
}

/// A JPEG as a camera writes a portrait shot: pixels stored sideways and an
/// EXIF orientation (6: rotate 90 degrees clockwise to display).
fn sideways_jpeg(path: &std::path::Path) {
    // 40 wide, 20 tall: dark left half, bright right half.
    let plane: Vec<f32> = (0..40 * 20).map(|i| if i % 40 < 20 { 0.1 } else { 0.9 }).collect();
    let image = Image::from_planes(40, 20, vec![plane]);
    let options = EncodeOptions {
        depth: BitDepth::Eight,
        space: LightSpace::Srgb,
        jpeg_quality: 95,
    };
    imaging::save(path, &image, &options).unwrap();
    // APP1 "Exif": a little-endian TIFF header and one IFD entry, Orientation (0x0112) = 6.
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0".to_vec();
    exif.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&exif);
    let mut bytes = std::fs::read(path).unwrap();
    bytes.splice(2..2, segment);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn exif_orientation_is_applied_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portrait.jpg");
    sideways_jpeg(&path);
    let decoded = imaging::load(&path, &DecodeOptions::default()).unwrap();
    let image = &decoded.image;
    // Turned upright: 20 wide, 40 tall, the stored left half now on top.
    assert_eq!((image.width, image.height), (20, 40));
    let mean = |rows: std::ops::Range<usize>| {
        let n = rows.len() * image.width;
        rows.flat_map(|y| image.planes[0][y * image.width..][..image.width].to_vec())
            .sum::<f32>()
            / n as f32
    };
    let (top, bottom) = (mean(2..18), mean(22..38));
    assert!(top < 0.1 && bottom > 0.6, "top {top}, bottom {bottom}");
    // Metrics read the same orientation.
    let (stored, _) = imaging::load_stored(&path, 100.0).unwrap();
    assert_eq!((stored.width, stored.height), (20, 40));
}

/// A grayscale TIFF as microscopy and astronomy tools write it, in the
/// sample type `C`, 40 wide and 20 tall, with an orientation tag if given.
fn scientific_tiff<C>(path: &std::path::Path, samples: &[C::Inner], orientation: Option<u16>)
where
    C: tiff::encoder::colortype::ColorType,
    [C::Inner]: tiff::encoder::TiffValue,
{
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = tiff::encoder::TiffEncoder::new(file).unwrap();
    let mut image = encoder.new_image::<C>(40, 20).unwrap();
    if let Some(orientation) = orientation {
        image
            .encoder()
            .write_tag(tiff::tags::Tag::Orientation, orientation)
            .unwrap();
    }
    image.write_data(samples).unwrap();
}

#[test]
fn float_and_32_bit_grayscale_tiffs_are_read() {
    use tiff::encoder::colortype::{Gray32, Gray32Float, Gray64Float, RGBA32Float};
    let dir = tempfile::tempdir().unwrap();
    // Dark left half, bright right half; one sample above 1 (float data is not clipped).
    let value = |i: usize| {
        if i == 45 {
            1.5
        } else if i % 40 < 20 {
            0.1
        } else {
            0.9
        }
    };
    let f32s: Vec<f32> = (0..800).map(|i| value(i) as f32).collect();
    let f64s: Vec<f64> = (0..800).map(value).collect();
    let u32s: Vec<u32> = (0..800).map(|i| (value(i).min(1.0) * u32::MAX as f64) as u32).collect();
    let rgba: Vec<f32> = f32s.iter().flat_map(|&v| [v, v / 2.0, v / 4.0, 1.0]).collect();
    let paths = ["f32.tif", "f64.tif", "u32.tif", "rgba.tif"].map(|n| dir.path().join(n));
    scientific_tiff::<Gray32Float>(&paths[0], &f32s, None);
    scientific_tiff::<Gray64Float>(&paths[1], &f64s, None);
    scientific_tiff::<Gray32>(&paths[2], &u32s, None);
    scientific_tiff::<RGBA32Float>(&paths[3], &rgba, None);
    for path in &paths {
        let decoded = imaging::load(path, &DecodeOptions::default()).unwrap();
        let image = &decoded.image;
        let name = path.display();
        // Untagged float data is linear light (DESIGN.md §3).
        assert_eq!(
            (decoded.depth, decoded.space),
            (BitDepth::Float, LightSpace::Linear),
            "{name}"
        );
        assert_eq!((image.width, image.height), (40, 20), "{name}");
        // Float data is worked on at a largest magnitude of 1, and the scale
        // kept to write results back in the file's units.
        let scale = if path.ends_with("u32.tif") { 1.0 } else { 1.5 };
        assert_eq!(decoded.scale, scale, "{name}");
        let plane = decoded.in_file_units(image, BitDepth::Float).planes[0].clone();
        assert!(
            (plane[0] - 0.1).abs() < 1e-6 && (plane[39] - 0.9).abs() < 1e-6,
            "{name}"
        );
        let brightest = plane.iter().copied().fold(0.0, f32::max);
        assert!((brightest - scale).abs() < 1e-6, "{name}: {brightest}");
        assert_eq!(image.planes[0].iter().copied().fold(0.0, f32::max), 1.0, "{name}");
    }
    let rgba = imaging::load(&paths[3], &DecodeOptions::default()).unwrap().image;
    assert_eq!(rgba.channels(), 3);
    assert!((rgba.planes[2][39] - 0.225 / 1.5).abs() < 1e-6);
    assert!(rgba.alpha.as_ref().is_some_and(|a| a.iter().all(|&v| v == 1.0)));

    // Written back as float (RGBA, and sRGB-tagged RGB), they read back the same.
    let srgb = Image::from_planes(40, 20, rgba.planes.clone());
    for (image, space) in [(&rgba, LightSpace::Linear), (&srgb, LightSpace::Srgb)] {
        let again = dir.path().join("again.tif");
        let options = EncodeOptions {
            depth: BitDepth::Float,
            space,
            jpeg_quality: 95,
        };
        imaging::save(&again, image, &options).unwrap();
        let read = imaging::load(&again, &DecodeOptions::default()).unwrap();
        assert_eq!((read.depth, read.space), (BitDepth::Float, space));
        assert_eq!(read.image.alpha, image.alpha);
        for (a, b) in read.image.planes.iter().flatten().zip(image.planes.iter().flatten()) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    // Signed integers (an elevation model, say) are data too: negative
    // values kept, scaled to the largest magnitude.
    let heights: Vec<i16> = (0..800).map(|i| if i % 40 < 20 { -500 } else { 1500 }).collect();
    let dem = dir.path().join("dem.tif");
    scientific_tiff::<tiff::encoder::colortype::GrayI16>(&dem, &heights, None);
    let decoded = imaging::load(&dem, &DecodeOptions::default()).unwrap();
    assert_eq!((decoded.depth, decoded.space), (BitDepth::Float, LightSpace::Linear));
    let plane = &decoded.image.planes[0];
    assert!(
        (plane[0] + 1.0 / 3.0).abs() < 1e-6 && plane[39] == 1.0,
        "{} {}",
        plane[0],
        plane[39]
    );
    assert!((decoded.scale - 1500.0 / i16::MAX as f32).abs() < 1e-7);

    // A second shot is re-expressed in the first one's units.
    let mut decoded = imaging::load(&paths[0], &DecodeOptions::default()).unwrap();
    decoded.rescale_to(3.0);
    assert_eq!(decoded.scale, 3.0);
    assert!((decoded.image.planes[0][39] - 0.3).abs() < 1e-6);

    // The orientation tag turns the image upright here too.
    let turned = dir.path().join("turned.tif");
    scientific_tiff::<Gray32Float>(&turned, &f32s, Some(6));
    let image = imaging::load(&turned, &DecodeOptions::default()).unwrap().image;
    assert_eq!((image.width, image.height), (20, 40));
    assert!((image.planes[0][0] * 1.5 - 0.1).abs() < 1e-6 && (image.planes[0][39 * 20] * 1.5 - 0.9).abs() < 1e-6);

    // The size limit holds before any sample is read.
    let small = DecodeOptions {
        max_megapixels: 0.0005,
        ..DecodeOptions::default()
    };
    let refused = imaging::load(&paths[0], &small).unwrap_err().to_string();
    assert!(refused.contains("over the 0.0005 MP limit"), "{refused}");
}

#[test]
fn srgb_tiff_results_carry_a_profile_and_read_back_as_srgb() {
    let dir = tempfile::tempdir().unwrap();
    let image = gradient(3, false);
    for (depth, name) in [(BitDepth::Sixteen, "16.tif"), (BitDepth::Eight, "8.tif")] {
        let path = dir.path().join(name);
        let options = EncodeOptions {
            depth,
            space: LightSpace::Srgb,
            jpeg_quality: 90,
        };
        imaging::save(&path, &image, &options).unwrap();
        let decoded = imaging::load(&path, &DecodeOptions::default()).unwrap();
        // Untagged, a 16-bit file would read as linear light.
        assert_eq!(decoded.space, LightSpace::Srgb, "{name}");
        let tolerance = if depth == BitDepth::Eight { 0.01 } else { 1e-4 };
        assert!(max_difference(&decoded.image, &image) < tolerance, "{name}");
    }
    // Linear results stay untagged, so they read back as linear.
    let path = dir.path().join("linear.tif");
    let options = EncodeOptions {
        depth: BitDepth::Sixteen,
        space: LightSpace::Linear,
        jpeg_quality: 90,
    };
    imaging::save(&path, &image, &options).unwrap();
    assert_eq!(
        imaging::load(&path, &DecodeOptions::default()).unwrap().space,
        LightSpace::Linear
    );
}

#[test]
fn tiff_results_are_compressed_losslessly() {
    // A smooth photo-like gradient: deflate with horizontal differencing
    // stores it in a fraction of its raw size, and it reads back exactly.
    let (w, h) = (256, 192);
    let plane = |k: f32| {
        (0..w * h)
            .map(|i| ((i % w) as f32 * k + (i / w) as f32) / 900.0)
            .collect()
    };
    let image = Image::from_planes(w, h, vec![plane(1.0), plane(1.5), plane(2.0)]);
    let dir = tempfile::tempdir().unwrap();
    for (depth, bytes) in [(BitDepth::Eight, 1), (BitDepth::Sixteen, 2)] {
        let path = dir.path().join(format!("smooth{bytes}.tif"));
        let options = EncodeOptions {
            depth,
            space: LightSpace::Linear,
            jpeg_quality: 90,
        };
        imaging::save(&path, &image, &options).unwrap();
        let size = std::fs::metadata(&path).unwrap().len() as usize;
        let raw = w * h * 3 * bytes;
        assert!(size * 4 < raw, "{bytes}-byte samples: {size} bytes of {raw} raw");
        let file = std::fs::File::open(&path).unwrap();
        let mut decoder = tiff::decoder::Decoder::new(std::io::BufReader::new(file)).unwrap();
        let compression = decoder.get_tag_u32(tiff::tags::Tag::Compression).unwrap();
        assert_eq!(compression, 8, "deflate");
        // 8-bit files read as sRGB by default; these values are linear.
        let linear = DecodeOptions {
            space: SpaceChoice::Linear,
            ..DecodeOptions::default()
        };
        let decoded = imaging::load(&path, &linear).unwrap();
        let levels = if bytes == 1 { 255.0 } else { 65535.0 };
        let diff = max_difference(&decoded.image, &image);
        assert!(diff <= 0.5 / levels + 1e-6, "{bytes}-byte samples: {diff}");
    }
}
