//! The engine's error type. Each variant says whether the caller's input was at
//! fault (bad file, bad parameter: the CLI exits 2) or something else failed (1).

use std::path::{Path, PathBuf};

/// Every failure the engine reports. Messages are one line and name the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file that cannot be read or decoded, or whose contents are unusable.
    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },
    /// A parameter, PSF spec or option that is out of range or malformed.
    #[error("{0}")]
    BadParameter(String),
    /// The work was cancelled through its cancel token.
    #[error("cancelled")]
    Cancelled,
    /// Writing a result failed for a reason outside the caller's input.
    #[error("{}: {message}", path.display())]
    Write { path: PathBuf, message: String },
    /// Any other failure.
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn bad_file(path: &Path, message: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Error::BadParameter(message.into())
    }

    /// True when the caller's input was at fault (CLI exit code 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Error::BadFile { .. } | Error::BadParameter(_))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
