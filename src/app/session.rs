//! What survives a restart or a crash: the open documents with their layers'
//! parameters, recent files and presets, as JSON in the state folder. Every
//! committed change is written (atomically), so only recomputable pixels are
//! ever lost.

use std::path::{Path, PathBuf};

use crate::imaging::save_atomically;
use serde::{Deserialize, Serialize};

use super::document::DocState;
use super::params::Params;

/// Recent files kept.
const RECENT_LIMIT: usize = 12;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedDocument {
    /// `None` for the built-in sample.
    pub path: Option<PathBuf>,
    pub reference: Option<PathBuf>,
    pub second: Option<PathBuf>,
    pub state: Option<DocState>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub documents: Vec<SavedDocument>,
    pub active: usize,
    pub recent: Vec<PathBuf>,
}

impl Session {
    pub fn add_recent(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(RECENT_LIMIT);
    }
}

/// The folder holding the session, presets and estimated kernels.
#[derive(Clone, Debug)]
pub struct StateDir(pub PathBuf);

impl StateDir {
    /// `UNBLUR_STATE_DIR`, else the platform's data folder.
    pub fn default_location() -> Self {
        let dir = std::env::var_os("UNBLUR_STATE_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs::data_dir().map(|d| d.join("unblur")))
            .unwrap_or_else(|| std::env::temp_dir().join("unblur"));
        StateDir(dir)
    }

    fn session_path(&self) -> PathBuf {
        self.0.join("session.json")
    }

    pub fn presets_dir(&self) -> PathBuf {
        self.0.join("presets")
    }

    pub fn kernels_dir(&self) -> PathBuf {
        self.0.join("kernels")
    }

    /// The last session; a missing file is an empty session, a damaged one
    /// is set aside (kept, renamed) and reported.
    pub fn load_session(&self) -> (Session, Option<String>) {
        let path = self.session_path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            return (Session::default(), None);
        };
        match serde_json::from_str(&text) {
            Ok(session) => (session, None),
            Err(error) => {
                let _ = std::fs::rename(&path, path.with_extension("json.damaged"));
                (
                    Session::default(),
                    Some(format!(
                        "the saved session could not be read ({error}); starting afresh"
                    )),
                )
            }
        }
    }

    pub fn save_session(&self, session: &Session) -> Result<(), String> {
        write_json(&self.session_path(), session)
    }

    /// Preset names, sorted.
    pub fn presets(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.presets_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                if path.extension()? != "json" {
                    return None;
                }
                Some(path.file_stem()?.to_string_lossy().into_owned())
            })
            .collect();
        names.sort();
        names
    }

    pub fn save_preset(&self, name: &str, params: &Params) -> Result<(), String> {
        let name = preset_file_name(name)?;
        write_json(&self.presets_dir().join(format!("{name}.json")), params)
    }

    pub fn load_preset(&self, name: &str) -> Result<Params, String> {
        let path = self.presets_dir().join(format!("{}.json", preset_file_name(name)?));
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: not a preset: {e}", path.display()))
    }
}

/// A preset name usable as a file name.
fn preset_file_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().any(|c| matches!(c, '/' | '\\' | ':' | '\0')) || name.starts_with('.') {
        return Err(format!(
            "'{name}' cannot be a preset name: use letters, digits and spaces"
        ));
    }
    Ok(name.to_string())
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    }
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    save_atomically(path, |file| {
        std::io::Write::write_all(file, text.as_bytes()).map_err(|e| e.to_string())
    })
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_presets_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir(dir.path().join("state"));
        assert_eq!(state.load_session().0, Session::default());
        let mut session = Session::default();
        session.add_recent(Path::new("a.png"));
        session.add_recent(Path::new("b.png"));
        session.add_recent(Path::new("a.png"));
        assert_eq!(session.recent, [PathBuf::from("a.png"), PathBuf::from("b.png")]);
        session.documents.push(SavedDocument {
            path: Some("a.png".into()),
            state: Some(DocState::new(Params::default())),
            ..Default::default()
        });
        state.save_session(&session).unwrap();
        assert_eq!(state.load_session().0, session);

        let mut params = Params::default();
        params.psf.radius = 4.5;
        state.save_preset("soft focus", &params).unwrap();
        assert_eq!(state.presets(), ["soft focus"]);
        assert_eq!(state.load_preset("soft focus").unwrap(), params);
        assert!(state.save_preset("../escape", &params).is_err());
    }

    #[test]
    fn a_damaged_session_is_set_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir(dir.path().to_path_buf());
        std::fs::write(dir.path().join("session.json"), "{ not json").unwrap();
        let (session, warning) = state.load_session();
        assert_eq!(session, Session::default());
        assert!(warning.unwrap().contains("could not be read"));
        assert!(dir.path().join("session.json.damaged").exists());
    }
}
