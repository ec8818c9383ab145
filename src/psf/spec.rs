//! The PSF spec text form: `disk:r=6[,feather=F]`, `gaussian:sigma=3`,
//! `gaussian:sx=1,sy=3,angle=30`, `motion:len=15,angle=30`, `file:PATH`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::{Kernel, raster};
use crate::error::{Error, Result};

/// Largest radius, sigma or length accepted, in pixels: far beyond any real
/// blur, small enough that a kernel stays cheap to rasterize.
const MAX_EXTENT_PX: f64 = 500.0;

/// A PSF model with its parameters (lengths in pixels, angles in degrees
/// counter-clockwise from +x as displayed).
#[derive(Clone, Debug, PartialEq)]
pub enum PsfSpec {
    /// Defocus: a uniform disk, area anti-aliased, with an optional linear
    /// edge ramp `feather_px` wide centred on the radius.
    Disk { radius_px: f64, feather_px: f64 },
    /// A pixel-integrated Gaussian with widths along its own axes, the x axis
    /// turned by `angle_deg`.
    Gaussian {
        sigma_x_px: f64,
        sigma_y_px: f64,
        angle_deg: f64,
    },
    /// Linear motion: a segment of `length_px` through the centre.
    Motion { length_px: f64, angle_deg: f64 },
    /// A kernel image, normalized to sum 1.
    File(PathBuf),
}

impl PsfSpec {
    /// Samples the PSF on pixels (a file kernel is read from disk).
    pub fn kernel(&self) -> Result<Kernel> {
        match self {
            PsfSpec::Disk { radius_px, feather_px } => raster::disk(*radius_px, *feather_px),
            PsfSpec::Gaussian {
                sigma_x_px,
                sigma_y_px,
                angle_deg,
            } => raster::gaussian(*sigma_x_px, *sigma_y_px, *angle_deg),
            PsfSpec::Motion { length_px, angle_deg } => raster::motion(*length_px, *angle_deg),
            PsfSpec::File(path) => Kernel::from_file(path),
        }
    }

    /// Checks ranges (the parser does this; for specs built in code).
    pub fn validate(&self) -> Result<()> {
        match self {
            PsfSpec::Disk { radius_px, feather_px } => {
                check_positive("disk", "r", *radius_px)?;
                check_non_negative("disk", "feather", *feather_px)
            }
            PsfSpec::Gaussian {
                sigma_x_px,
                sigma_y_px,
                angle_deg,
            } => {
                check_positive("gaussian", "sx", *sigma_x_px)?;
                check_positive("gaussian", "sy", *sigma_y_px)?;
                check_finite("gaussian", "angle", *angle_deg)
            }
            PsfSpec::Motion { length_px, angle_deg } => {
                check_positive("motion", "len", *length_px)?;
                check_finite("motion", "angle", *angle_deg)
            }
            PsfSpec::File(path) if path.as_os_str().is_empty() => {
                Err(Error::bad_parameter("file: give a path, as in file:kernel.png"))
            }
            PsfSpec::File(_) => Ok(()),
        }
    }
}

fn check_finite(model: &str, name: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::bad_parameter(format!("{model}: {name} must be a finite number")))
    }
}

fn check_positive(model: &str, name: &str, value: f64) -> Result<()> {
    check_finite(model, name, value)?;
    if value <= 0.0 {
        return Err(Error::bad_parameter(format!("{model}: {name} must be > 0")));
    }
    if value > MAX_EXTENT_PX {
        return Err(Error::bad_parameter(format!(
            "{model}: {name} must be <= {MAX_EXTENT_PX}"
        )));
    }
    Ok(())
}

fn check_non_negative(model: &str, name: &str, value: f64) -> Result<()> {
    check_finite(model, name, value)?;
    if value < 0.0 {
        return Err(Error::bad_parameter(format!("{model}: {name} must be >= 0")));
    }
    if value > MAX_EXTENT_PX {
        return Err(Error::bad_parameter(format!(
            "{model}: {name} must be <= {MAX_EXTENT_PX}"
        )));
    }
    Ok(())
}

/// `key=value` pairs of one model, each key allowed once.
struct Params<'a> {
    model: &'a str,
    pairs: Vec<(&'a str, f64)>,
}

impl<'a> Params<'a> {
    fn parse(model: &'a str, text: &'a str, allowed: &[&str]) -> Result<Self> {
        let mut pairs: Vec<(&str, f64)> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| Error::bad_parameter(format!("{model}: expected name=value, got '{item}'")))?;
            let key = key.trim();
            if !allowed.contains(&key) {
                return Err(Error::bad_parameter(format!(
                    "{model}: unknown parameter '{key}' (allowed: {})",
                    allowed.join(", ")
                )));
            }
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(Error::bad_parameter(format!("{model}: {key} given twice")));
            }
            let number: f64 = value
                .trim()
                .parse()
                .map_err(|_| Error::bad_parameter(format!("{model}: {key} is not a number: '{}'", value.trim())))?;
            pairs.push((key, number));
        }
        Ok(Params { model, pairs })
    }

    fn get(&self, key: &str) -> Option<f64> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn require(&self, key: &str) -> Result<f64> {
        self.get(key).ok_or_else(|| {
            Error::bad_parameter(format!("{}: missing {key} (as in {})", self.model, example(self.model)))
        })
    }
}

fn example(model: &str) -> &'static str {
    match model {
        "disk" => "disk:r=6",
        "gaussian" => "gaussian:sigma=3 or gaussian:sx=1,sy=3,angle=30",
        "motion" => "motion:len=15,angle=30",
        _ => "file:kernel.png",
    }
}

impl FromStr for PsfSpec {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        let (model, rest) = text.split_once(':').unwrap_or((text, ""));
        let spec = match model.trim().to_ascii_lowercase().as_str() {
            "disk" => {
                let p = Params::parse("disk", rest, &["r", "feather"])?;
                PsfSpec::Disk {
                    radius_px: p.require("r")?,
                    feather_px: p.get("feather").unwrap_or(0.0),
                }
            }
            "gaussian" => {
                let p = Params::parse("gaussian", rest, &["sigma", "sx", "sy", "angle"])?;
                let (sx, sy) = match (p.get("sigma"), p.get("sx"), p.get("sy")) {
                    (Some(s), None, None) => (s, s),
                    (None, Some(sx), Some(sy)) => (sx, sy),
                    (Some(_), _, _) => {
                        return Err(Error::bad_parameter("gaussian: give sigma, or sx and sy, not both"));
                    }
                    _ => return Err(Error::bad_parameter("gaussian: missing sigma (or sx and sy)")),
                };
                PsfSpec::Gaussian {
                    sigma_x_px: sx,
                    sigma_y_px: sy,
                    angle_deg: p.get("angle").unwrap_or(0.0),
                }
            }
            "motion" => {
                let p = Params::parse("motion", rest, &["len", "angle"])?;
                PsfSpec::Motion {
                    length_px: p.require("len")?,
                    angle_deg: p.get("angle").unwrap_or(0.0),
                }
            }
            "file" => PsfSpec::File(PathBuf::from(rest)),
            "" => {
                return Err(Error::bad_parameter(
                    "empty PSF spec: use disk:r=6, gaussian:sigma=3, motion:len=15,angle=30 or file:PATH",
                ));
            }
            other => {
                return Err(Error::bad_parameter(format!(
                    "unknown PSF model '{other}': use disk, gaussian, motion or file"
                )));
            }
        };
        spec.validate()?;
        Ok(spec)
    }
}

impl fmt::Display for PsfSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PsfSpec::Disk { radius_px, feather_px } if *feather_px == 0.0 => write!(f, "disk:r={radius_px}"),
            PsfSpec::Disk { radius_px, feather_px } => write!(f, "disk:r={radius_px},feather={feather_px}"),
            PsfSpec::Gaussian {
                sigma_x_px,
                sigma_y_px,
                angle_deg,
            } if sigma_x_px == sigma_y_px => {
                let _ = angle_deg; // a round Gaussian has no direction
                write!(f, "gaussian:sigma={sigma_x_px}")
            }
            PsfSpec::Gaussian {
                sigma_x_px,
                sigma_y_px,
                angle_deg,
            } => write!(f, "gaussian:sx={sigma_x_px},sy={sigma_y_px},angle={angle_deg}"),
            PsfSpec::Motion { length_px, angle_deg } => write!(f, "motion:len={length_px},angle={angle_deg}"),
            PsfSpec::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        text.parse::<PsfSpec>().unwrap_err().to_string()
    }

    #[test]
    fn parses_every_model() {
        assert_eq!(
            "disk:r=6".parse::<PsfSpec>().unwrap(),
            PsfSpec::Disk {
                radius_px: 6.0,
                feather_px: 0.0
            }
        );
        assert_eq!(
            "gaussian:sx=1,sy=3,angle=30".parse::<PsfSpec>().unwrap(),
            PsfSpec::Gaussian {
                sigma_x_px: 1.0,
                sigma_y_px: 3.0,
                angle_deg: 30.0
            }
        );
        assert_eq!(
            "motion:len=15,angle=30".parse::<PsfSpec>().unwrap(),
            PsfSpec::Motion {
                length_px: 15.0,
                angle_deg: 30.0
            }
        );
        assert_eq!("file:k.png".parse::<PsfSpec>().unwrap(), PsfSpec::File("k.png".into()));
    }

    #[test]
    fn round_trips_through_text() {
        for text in [
            "disk:r=6",
            "disk:r=2.5,feather=1",
            "gaussian:sigma=3",
            "gaussian:sx=1,sy=3,angle=30",
            "motion:len=15,angle=-30",
        ] {
            assert_eq!(text.parse::<PsfSpec>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(err("motion:len=-3"), "motion: len must be > 0");
        assert_eq!(err("disk:r=0"), "disk: r must be > 0");
        assert_eq!(err("disk:r=nan"), "disk: r must be a finite number");
        assert_eq!(err("disk:r=abc"), "disk: r is not a number: 'abc'");
        assert_eq!(
            err("disk:radius=3"),
            "disk: unknown parameter 'radius' (allowed: r, feather)"
        );
        assert_eq!(
            err("blob:r=3"),
            "unknown PSF model 'blob': use disk, gaussian, motion or file"
        );
        assert_eq!(err("disk:feather=1"), "disk: missing r (as in disk:r=6)");
        assert_eq!(
            err("gaussian:sigma=1,sx=2"),
            "gaussian: give sigma, or sx and sy, not both"
        );
        assert_eq!(err("motion:len=1e9"), "motion: len must be <= 500");
        assert_eq!(err("disk:r=3,r=4"), "disk: r given twice");
    }
}
