//! What a result layer is made from: the PSF model and the method with their
//! slider values. Serializable, so presets, the session file and undo all
//! share one form; `None` means "chosen from the image".

use std::path::PathBuf;

use crate::deconv::{Boundary, Method, Settings};
use crate::imaging::LightSpace;
use crate::psf::PsfSpec;
use serde::{Deserialize, Serialize};

/// The PSF models the sliders describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PsfModel {
    Disk,
    Gaussian,
    Motion,
    File,
}

impl PsfModel {
    pub const ALL: [PsfModel; 4] = [PsfModel::Disk, PsfModel::Gaussian, PsfModel::Motion, PsfModel::File];

    pub fn label(self) -> &'static str {
        match self {
            PsfModel::Disk => "Defocus disk",
            PsfModel::Gaussian => "Gaussian",
            PsfModel::Motion => "Motion",
            PsfModel::File => "Kernel from file",
        }
    }
}

/// Every PSF slider's value; the model picks which ones count, so switching
/// models and back keeps what the user set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PsfParams {
    pub model: PsfModel,
    pub radius: f64,
    pub feather: f64,
    pub sigma_x: f64,
    pub sigma_y: f64,
    pub gaussian_angle: f64,
    pub length: f64,
    pub motion_angle: f64,
    pub file: Option<PathBuf>,
}

impl Default for PsfParams {
    fn default() -> Self {
        PsfParams {
            model: PsfModel::Disk,
            radius: 3.0,
            feather: 0.0,
            sigma_x: 2.0,
            sigma_y: 2.0,
            gaussian_angle: 0.0,
            length: 9.0,
            motion_angle: 0.0,
            file: None,
        }
    }
}

impl PsfParams {
    /// The spec these sliders describe (its text form is the CLI's `--psf`).
    pub fn spec(&self) -> Result<PsfSpec, String> {
        let spec = match self.model {
            PsfModel::Disk => PsfSpec::Disk {
                radius_px: self.radius,
                feather_px: self.feather,
            },
            PsfModel::Gaussian => PsfSpec::Gaussian {
                sigma_x_px: self.sigma_x,
                sigma_y_px: self.sigma_y,
                angle_deg: self.gaussian_angle,
            },
            PsfModel::Motion => PsfSpec::Motion {
                length_px: self.length,
                angle_deg: self.motion_angle,
            },
            PsfModel::File => match &self.file {
                Some(path) => PsfSpec::File(path.clone()),
                None => return Err("choose a kernel file for the PSF".into()),
            },
        };
        spec.validate().map_err(|e| e.to_string())?;
        Ok(spec)
    }

    /// Sets the sliders from a spec (an estimate, a preset).
    pub fn set_from_spec(&mut self, spec: &PsfSpec) {
        match spec {
            PsfSpec::Disk { radius_px, feather_px } => {
                self.model = PsfModel::Disk;
                self.radius = *radius_px;
                self.feather = *feather_px;
            }
            PsfSpec::Gaussian {
                sigma_x_px,
                sigma_y_px,
                angle_deg,
            } => {
                self.model = PsfModel::Gaussian;
                self.sigma_x = *sigma_x_px;
                self.sigma_y = *sigma_y_px;
                self.gaussian_angle = *angle_deg;
            }
            PsfSpec::Motion { length_px, angle_deg } => {
                self.model = PsfModel::Motion;
                self.length = *length_px;
                self.motion_angle = *angle_deg;
            }
            PsfSpec::File(path) => {
                self.model = PsfModel::File;
                self.file = Some(path.clone());
            }
        }
    }
}

/// A method and its parameters; `None` is automatic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodParams {
    #[serde(with = "method_text")]
    pub method: Method,
    pub nsr: Option<f64>,
    pub lambda: Option<f64>,
    pub iterations: Option<usize>,
}

impl Default for MethodParams {
    fn default() -> Self {
        MethodParams {
            method: Method::Wiener,
            nsr: None,
            lambda: None,
            iterations: None,
        }
    }
}

/// Everything a result layer is computed from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub psf: PsfParams,
    pub method: MethodParams,
    /// 1 = the result, 0 = the original, in between a blend (linear light).
    pub strength: f32,
    /// Deconvolve the luminance only and keep the original colour.
    pub luminance_only: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            psf: PsfParams::default(),
            method: MethodParams::default(),
            strength: 1.0,
            luminance_only: false,
        }
    }
}

impl Params {
    /// Engine settings, the way `unblur deconv` builds them.
    pub fn settings(&self, noise_floor: Option<f64>, source_space: LightSpace) -> Settings {
        Settings {
            method: self.method.method,
            nsr: self.method.nsr,
            lambda: self.method.lambda,
            iterations: self.method.iterations,
            boundary: Boundary::Auto,
            noise_floor,
            source_space,
            tv_weight_per_variance: None,
        }
    }

    /// A short description for layer names and tooltips.
    pub fn summary(&self) -> String {
        let psf = self.psf.spec().map(|s| s.to_string()).unwrap_or_else(|e| e);
        format!("{} · {psf}", method_label(self.method.method))
    }
}

pub fn method_label(method: Method) -> &'static str {
    match method {
        Method::Wiener => "Wiener",
        Method::Tikhonov => "Tikhonov",
        Method::TotalVariation => "Total variation",
        Method::RichardsonLucy => "Richardson–Lucy",
    }
}

/// `Method` as its CLI word in JSON.
mod method_text {
    use crate::deconv::Method;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(method: &Method, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&method.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Method, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_through_json() {
        let mut params = Params::default();
        params.method.method = Method::RichardsonLucy;
        params.method.iterations = Some(40);
        params.psf.model = PsfModel::Motion;
        params.psf.length = 15.0;
        let text = serde_json::to_string(&params).unwrap();
        assert!(text.contains("\"rl\""), "{text}");
        let back: Params = serde_json::from_str(&text).unwrap();
        assert_eq!(back, params);
    }

    #[test]
    fn sliders_give_the_cli_spec() {
        let mut psf = PsfParams {
            model: PsfModel::Motion,
            length: 15.0,
            motion_angle: 30.0,
            ..PsfParams::default()
        };
        assert_eq!(psf.spec().unwrap().to_string(), "motion:len=15,angle=30");
        psf.length = -1.0;
        assert!(psf.spec().unwrap_err().contains("len must be > 0"));
        let spec: PsfSpec = "gaussian:sx=1,sy=3,angle=30".parse().unwrap();
        psf.set_from_spec(&spec);
        assert_eq!(psf.model, PsfModel::Gaussian);
        assert_eq!(psf.spec().unwrap(), spec);
    }
}
