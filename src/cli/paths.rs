//! Checks on output paths: never overwrite an input.

use std::path::{Path, PathBuf};

use super::Failure;

/// The absolute form of `path`, resolving its folder when the file does not exist yet.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(folder.canonicalize().ok()?.join(path.file_name()?))
}

/// Fails when `output` names the same file as any of `inputs`.
pub fn refuse_overwriting_inputs(output: &Path, inputs: &[&Path]) -> Result<(), Failure> {
    let Some(out) = resolved(output) else { return Ok(()) };
    for input in inputs {
        if resolved(input).as_ref() == Some(&out) {
            return Err(Failure::usage(format!(
                "{}: output is the same file as an input; refusing to overwrite it",
                output.display()
            )));
        }
    }
    Ok(())
}
