//! Turning engine images (linear light) into screen pixels. Runs on worker
//! threads: the UI thread only uploads the result.

use std::sync::OnceLock;

use crate::imaging::{Image, LightSpace, linear_to_srgb};
use eframe::egui::{Color32, ColorImage};
use rayon::prelude::*;

/// Entries of the linear -> sRGB byte table: fine enough that every 8-bit
/// level but the first few is reached exactly.
const TABLE_SIZE: usize = 1 << 14;

fn srgb_table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..TABLE_SIZE)
            .map(|i| (linear_to_srgb(i as f32 / (TABLE_SIZE - 1) as f32) * 255.0).round() as u8)
            .collect()
    })
}

/// One stored sample (in [0, 1]) of `space` as a display byte. Images are shown
/// the way their file stores them, so a result looks like it will once saved.
fn to_byte(value: f32, space: LightSpace, table: &[u8]) -> u8 {
    let v = value.clamp(0.0, 1.0);
    match space {
        LightSpace::Srgb => table[(v * (TABLE_SIZE - 1) as f32 + 0.5) as usize],
        LightSpace::Linear => (v * 255.0 + 0.5) as u8,
    }
}

/// The image as RGBA bytes for a texture, shrunk by an integer box filter when
/// a side exceeds `max_side` (the GPU's texture limit). Returns the image and
/// the shrink factor (1 = full resolution).
pub fn to_color_image(image: &Image, space: LightSpace, max_side: usize) -> (ColorImage, usize) {
    let factor = image.width.max(image.height).div_ceil(max_side.max(1)).max(1);
    let (width, height) = (image.width / factor, image.height / factor);
    let (width, height) = (width.max(1), height.max(1));
    let table = srgb_table();
    let sample = |plane: &[f32], x: usize, y: usize| -> f32 {
        if factor == 1 {
            return plane[y * image.width + x];
        }
        let mut sum = 0.0;
        for dy in 0..factor {
            let row = &plane[(y * factor + dy) * image.width + x * factor..][..factor];
            sum += row.iter().sum::<f32>();
        }
        sum / (factor * factor) as f32
    };
    let mut pixels = vec![Color32::BLACK; width * height];
    pixels.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        for (x, pixel) in row.iter_mut().enumerate() {
            let rgb: [u8; 3] = match image.planes.len() {
                1 => [to_byte(sample(&image.planes[0], x, y), space, table); 3],
                _ => std::array::from_fn(|c| to_byte(sample(&image.planes[c], x, y), space, table)),
            };
            let alpha = image
                .alpha
                .as_ref()
                .map_or(255, |a| (sample(a, x, y).clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
            *pixel = Color32::from_rgba_unmultiplied(rgb[0], rgb[1], rgb[2], alpha);
        }
    });
    (ColorImage::new([width, height], pixels), factor)
}

/// A sample's stored value (what a pixel readout shows), in [0, 1].
pub fn stored_value(value: f32, space: LightSpace) -> f32 {
    match space {
        LightSpace::Srgb => linear_to_srgb(value.clamp(0.0, 1.0)),
        LightSpace::Linear => value.clamp(0.0, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_bytes_match_the_exact_curve() {
        let table = srgb_table();
        for i in 0..=1000 {
            let v = i as f32 / 1000.0;
            let exact = (linear_to_srgb(v) * 255.0).round() as i32;
            let fast = to_byte(v, LightSpace::Srgb, table) as i32;
            assert!((exact - fast).abs() <= 1, "{v}: {exact} vs {fast}");
        }
    }

    #[test]
    fn big_images_are_shrunk_to_the_texture_limit() {
        let image = Image::gray(10, 4, (0..40).map(|i| (i % 10) as f32 / 10.0).collect());
        let (shown, factor) = to_color_image(&image, LightSpace::Linear, 5);
        assert_eq!(factor, 2);
        assert_eq!(shown.size, [5, 2]);
        // The first output pixel averages columns 0 and 1: 0.05 -> 13.
        assert_eq!(shown.pixels[0].r(), 13);
    }
}
