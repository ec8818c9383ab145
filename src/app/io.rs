//! Opening images (files, the built-in sample) and exporting layers. These
//! run on job threads; they return messages, never panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::imaging::{self, BitDepth, DecodeOptions, EncodeOptions, Image, LightSpace, SpaceChoice};
use crate::jobs::Progress;
use crate::psf::Kernel;
use eframe::egui::ColorImage;

use super::display;
use super::document::Opened;
use super::params::Params;
use super::render::{self, Source};
use super::session::StateDir;
use super::spectrum;

const SAMPLE_BLURRED: &[u8] = include_bytes!("../../assets/sample.jpg");
const SAMPLE_SHARP: &[u8] = include_bytes!("../../assets/sample-sharp.png");
/// The blur the sample was made with (the sliders start there).
pub const SAMPLE_PSF: &str = "disk:r=6";

/// A file decoded with its spectrum, ready to become a document.
pub struct Loaded {
    pub opened: Opened,
    pub spectrum: (ColorImage, usize),
}

/// Decodes `path` in `space` (auto: DESIGN.md §3's rule).
/// The source's picture is made here too (shrunk to `max_side`), off the UI
/// thread.
pub fn open_image(
    path: &Path,
    space: SpaceChoice,
    reference: Option<&Path>,
    max_side: usize,
) -> Result<Loaded, String> {
    let decoded = imaging::load(
        path,
        &DecodeOptions {
            space,
            max_megapixels: imaging::DEFAULT_MAX_MEGAPIXELS,
        },
    )
    .map_err(|e| e.to_string())?;
    let noise_floor = imaging::noise_floor(&decoded);
    let reference_image = match reference {
        Some(path) => Some(Arc::new(load_reference(path, &decoded.image, decoded.scale)?)),
        None => None,
    };
    let mut source = Source {
        image: Arc::new(decoded.image),
        space: decoded.space,
        noise_floor,
        scale: decoded.scale,
        pages: decoded.pages,
        reference: None,
        baseline: None,
    };
    if let Some(reference) = reference_image {
        source.set_reference(reference);
    }
    let spectrum = spectrum::log_spectrum(&source.image);
    let (shown, _) = display::to_color_image(&source.image, source.space, max_side);
    Ok(Loaded {
        opened: Opened {
            path: Some(path.to_path_buf()),
            source,
            depth: decoded.depth,
            reference_path: reference.map(Path::to_path_buf),
            shown,
        },
        spectrum,
    })
}

/// A sharp reference as stored values, checked against the image's size. A
/// float reference is divided by `scale`, the image's (`Decoded::scale`),
/// so that both are in the same units.
pub fn load_reference(path: &Path, image: &Image, scale: f32) -> Result<Image, String> {
    let (mut reference, depth) =
        imaging::load_stored(path, imaging::DEFAULT_MAX_MEGAPIXELS).map_err(|e| e.to_string())?;
    if depth == BitDepth::Float && scale != 1.0 {
        reference.divide(scale);
    }
    if (reference.width, reference.height) != (image.width, image.height) {
        return Err(format!(
            "{}: the reference is {}x{}, the image {}x{}",
            path.display(),
            reference.width,
            reference.height,
            image.width,
            image.height
        ));
    }
    if reference.channels() != image.channels() {
        return Err(format!(
            "{}: the reference has {} channels, the image {}",
            path.display(),
            reference.channels(),
            image.channels()
        ));
    }
    Ok(reference)
}

/// Writes the built-in sample (blurred shot and its sharp original) into the
/// state folder and returns their paths.
pub fn write_sample(state: &StateDir) -> Result<(PathBuf, PathBuf), String> {
    let folder = state.0.join("sample");
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let blurred = folder.join("sample.jpg");
    let sharp = folder.join("sample-sharp.png");
    for (path, bytes) in [(&blurred, SAMPLE_BLURRED), (&sharp, SAMPLE_SHARP)] {
        let unchanged = std::fs::read(path).is_ok_and(|b| b == bytes);
        if !unchanged {
            imaging::save_atomically(path, |file| {
                std::io::Write::write_all(file, bytes).map_err(|e| e.to_string())
            })
            .map_err(|e| e.to_string())?;
        }
    }
    Ok((blurred, sharp))
}

/// What an export writes.
pub enum ExportContent {
    /// A result, recomputed at full quality from its parameters.
    Result(Params),
    /// Pixels as they are (the source, a separated layer).
    Pixels(Arc<Image>),
    /// A kernel, as a 16-bit PNG that `--psf file:` reads back.
    Kernel(Kernel),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExportOptions {
    /// `None`: the source file's depth (as `unblur deconv` writes).
    pub depth: Option<BitDepth>,
    pub jpeg_quality: u8,
}

/// Exports to `path` (format from its extension), atomically, refusing to
/// overwrite the document's own file.
#[allow(clippy::too_many_arguments)]
pub fn export(
    source: &Source,
    source_depth: BitDepth,
    document_path: Option<&Path>,
    content: ExportContent,
    path: &Path,
    options: ExportOptions,
    progress: &dyn Progress,
) -> Result<PathBuf, String> {
    if let Some(input) = document_path
        && same_file(input, path)
    {
        return Err(format!(
            "{}: refusing to overwrite the document's source image",
            path.display()
        ));
    }
    imaging::check_output_path(path).map_err(|e| e.to_string())?;
    let depth = options.depth.unwrap_or(source_depth);
    let (image, space, depth) = match content {
        ExportContent::Result(params) => {
            let rendered = render::render_full(source, &params, progress)?;
            let image = rendered.image.ok_or("the engine returned no pixels")?;
            (image, source.space, depth)
        }
        ExportContent::Pixels(image) => (image, source.space, depth),
        ExportContent::Kernel(kernel) => (
            Arc::new(kernel.to_display_image()),
            LightSpace::Linear,
            BitDepth::Sixteen,
        ),
    };
    progress.report("writing", 1.0);
    imaging::save(
        path,
        &imaging::in_file_units(&image, source.scale, depth),
        &EncodeOptions {
            depth,
            space,
            jpeg_quality: options.jpeg_quality,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(path.to_path_buf())
}

/// True when both paths name one file (the output may not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Silent;

    #[test]
    fn exports_refuse_the_source_and_write_results() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir(dir.path().to_path_buf());
        let (blurred, sharp) = write_sample(&state).unwrap();
        let loaded = open_image(&blurred, SpaceChoice::Auto, Some(&sharp), 4096).unwrap();
        let source = loaded.opened.source;
        assert_eq!(source.space, LightSpace::Srgb);
        let options = ExportOptions {
            depth: None,
            jpeg_quality: 90,
        };
        let params = Params::default();
        let error = export(
            &source,
            BitDepth::Eight,
            Some(&blurred),
            ExportContent::Result(params.clone()),
            &blurred,
            options,
            &Silent,
        )
        .unwrap_err();
        assert!(error.contains("refusing to overwrite"), "{error}");
        let out = dir.path().join("out.png");
        export(
            &source,
            BitDepth::Eight,
            Some(&blurred),
            ExportContent::Result(params),
            &out,
            options,
            &Silent,
        )
        .unwrap();
        let (written, depth) = imaging::load_stored(&out, 100.0).unwrap();
        assert_eq!(depth, BitDepth::Eight);
        assert_eq!(
            (written.width, written.height),
            (source.image.width, source.image.height)
        );
        let missing = dir.path().join("no/such/folder/out.png");
        let params = Params::default();
        assert!(
            export(
                &source,
                BitDepth::Eight,
                None,
                ExportContent::Result(params),
                &missing,
                options,
                &Silent
            )
            .is_err()
        );
    }

    #[test]
    fn float_sources_are_shown_scaled_and_exported_in_their_units() {
        let dir = tempfile::tempdir().unwrap();
        let counts = dir.path().join("counts.tif");
        let values: Vec<f32> = (0..64 * 48).map(|i| 100.0 + ((i * 37) % 900) as f32).collect();
        let float = EncodeOptions {
            depth: BitDepth::Float,
            space: LightSpace::Linear,
            jpeg_quality: 95,
        };
        imaging::save(&counts, &Image::gray(64, 48, values.clone()), &float).unwrap();
        // The file as its own reference: a float reference is scaled as the
        // image is, so the two agree exactly.
        let loaded = open_image(&counts, SpaceChoice::Auto, Some(&counts), 4096).unwrap();
        let source = loaded.opened.source;
        assert!(source.baseline.unwrap().psnr_db > 100.0);
        // Worked on and shown at a largest value of 1, not clipped white.
        assert_eq!(source.scale, 999.0);
        assert_eq!(source.image.planes[0].iter().copied().fold(0.0, f32::max), 1.0);
        let out = dir.path().join("out.tif");
        let options = ExportOptions {
            depth: None,
            jpeg_quality: 90,
        };
        let pixels = ExportContent::Pixels(source.image.clone());
        export(&source, loaded.opened.depth, None, pixels, &out, options, &Silent).unwrap();
        let (written, depth) = imaging::load_stored(&out, 100.0).unwrap();
        assert_eq!(depth, BitDepth::Float);
        for (w, v) in written.planes[0].iter().zip(&values) {
            assert!((w - v).abs() <= 1e-4 * v, "{w} {v}");
        }
    }

    #[test]
    fn a_tiff_stack_opens_on_its_first_image_and_says_how_many() {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("stack.tif");
        let mut encoder = tiff::encoder::TiffEncoder::new(std::fs::File::create(&stack).unwrap()).unwrap();
        for level in [10u8, 200] {
            encoder
                .write_image::<tiff::encoder::colortype::Gray8>(40, 30, &[level; 40 * 30])
                .unwrap();
        }
        drop(encoder);
        let source = open_image(&stack, SpaceChoice::Auto, None, 4096).unwrap().opened.source;
        assert_eq!(source.pages, 2);
        let first = imaging::srgb_to_linear(10.0 / 255.0);
        assert!(source.image.planes[0].iter().all(|&v| (v - first).abs() < 1e-6));
    }

    #[test]
    fn a_reference_of_another_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (blurred, _) = write_sample(&StateDir(dir.path().to_path_buf())).unwrap();
        let small = dir.path().join("small.png");
        imaging::save(&small, &Image::gray(4, 4, vec![0.5; 16]), &EncodeOptions::default()).unwrap();
        let error = open_image(&blurred, SpaceChoice::Auto, Some(&small), 4096)
            .err()
            .unwrap();
        assert!(error.contains("the reference is 4x4"), "{error}");
    }
}
