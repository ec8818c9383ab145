//! Reading an input image, with what the user should hear about it.

use std::path::Path;

use unblur::imaging::{self, DecodeOptions, Decoded};

use super::Failure;

/// Decodes `path`; a TIFF stack gets a warning, as only its first image is
/// worked on.
pub fn load(path: &Path, options: &DecodeOptions) -> Result<Decoded, Failure> {
    let decoded = imaging::load(path, options)?;
    if decoded.pages > 1 {
        eprintln!(
            "unblur: warning: {}: {} images in the file; only the first is used",
            path.display(),
            decoded.pages
        );
    }
    Ok(decoded)
}

/// ` scale=S` for data worked on divided by S (`Decoded::scale`): the noise
/// and weights printed are relative to it. Empty for photos.
pub(super) fn scale_note(decoded: &Decoded) -> String {
    if decoded.scale == 1.0 {
        String::new()
    } else {
        format!(" scale={:.3e}", decoded.scale)
    }
}
