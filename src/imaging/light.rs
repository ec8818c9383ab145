//! The sRGB transfer function (IEC 61966-2-1), applied per sample.

use rayon::prelude::*;

/// sRGB-encoded value in [0, 1] to linear light.
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear light to an sRGB-encoded value; negative input maps to 0.
pub fn linear_to_srgb(v: f32) -> f32 {
    if v <= 0.003_130_8 {
        (v * 12.92).max(0.0)
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

pub(crate) fn decode_plane(plane: &mut [f32]) {
    plane.par_iter_mut().for_each(|v| *v = srgb_to_linear(*v));
}

pub(crate) fn encode_plane(plane: &mut [f32]) {
    plane.par_iter_mut().for_each(|v| *v = linear_to_srgb(*v));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_functions_are_inverse() {
        for i in 0..=1000 {
            let v = i as f32 / 1000.0;
            assert!((linear_to_srgb(srgb_to_linear(v)) - v).abs() < 1e-5, "{v}");
        }
        assert!((srgb_to_linear(0.5) - 0.214_041).abs() < 1e-5);
    }
}
