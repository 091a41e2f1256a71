//! A race on disk: `runs/<started>-race/` holds `race.json` (the variants' labels and
//! directories, in racing order) and one run directory per variant, `1-<label>/`,
//! `2-<label>/`, …, each an ordinary run with its own checkpoints and history.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{CheckpointError, io_error, new_dir};

/// The manifest in a race directory.
pub const RACE_FILE: &str = "race.json";
/// A manifest larger than this is refused unread (four labels take a few hundred bytes).
const MAX_RACE_BYTES: u64 = 1 << 20;

/// One variant of a saved race.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaceEntry {
    /// Its label, as the dashboard and the reports show it.
    pub label: String,
    /// Its run directory's name, inside the race directory.
    pub dir: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    variants: Vec<RaceEntry>,
}

/// A race's directory and its variants, in racing order.
#[derive(Debug, Clone, PartialEq)]
pub struct RaceDir {
    /// The directory.
    pub path: PathBuf,
    /// Its variants.
    pub variants: Vec<RaceEntry>,
}

impl RaceDir {
    /// Creates a race directory in `runs_dir` for variants labelled `labels` (their
    /// run directories are made by their first checkpoints) and writes its manifest.
    pub fn create(runs_dir: &Path, labels: &[String]) -> Result<Self, CheckpointError> {
        let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S");
        let path = new_dir(runs_dir, &format!("{stamp}-race"))?;
        let variants: Vec<RaceEntry> = labels
            .iter()
            .enumerate()
            .map(|(i, label)| RaceEntry {
                label: label.clone(),
                dir: format!("{}-{}", i + 1, slug(label)),
            })
            .collect();
        let manifest = Manifest {
            variants: variants.clone(),
        };
        let text = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
        // Written aside and renamed, so a crash leaves no half manifest.
        let tmp = path.join(format!(".{RACE_FILE}.tmp"));
        let file = path.join(RACE_FILE);
        let mut f = fs::File::create(&tmp).map_err(io_error(&tmp))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io_error(&tmp))?;
        fs::rename(&tmp, &file).map_err(io_error(&file))?;
        Ok(Self { path, variants })
    }

    /// Whether `path` is a race directory: it holds a manifest.
    pub fn is_race(path: &Path) -> bool {
        path.join(RACE_FILE).is_file()
    }

    /// Reads the race in `path`; `None` when `path` is not a race directory.
    pub fn open(path: &Path) -> Result<Option<Self>, CheckpointError> {
        if !Self::is_race(path) {
            return Ok(None);
        }
        let file = path.join(RACE_FILE);
        let damaged = |why: String| CheckpointError::Damaged {
            path: file.clone(),
            why,
        };
        let len = fs::metadata(&file).map_err(io_error(&file))?.len();
        if len > MAX_RACE_BYTES {
            return Err(damaged(format!(
                "{len} bytes, more than a race manifest can be"
            )));
        }
        let text = fs::read_to_string(&file).map_err(io_error(&file))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        if manifest.variants.is_empty() {
            return Err(damaged("names no variants".into()));
        }
        for v in &manifest.variants {
            // The names are joined to the race's path: nothing may lead out of it.
            let plain = Path::new(&v.dir)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if v.dir.is_empty() || !plain || v.dir.contains(['/', '\\']) {
                return Err(damaged(format!(
                    "variant `{}`: `{}` is not a directory name",
                    v.label, v.dir
                )));
            }
        }
        Ok(Some(Self {
            path: path.to_path_buf(),
            variants: manifest.variants,
        }))
    }

    /// The race a run directory belongs to, if it is one's variant.
    pub fn of_run(run_dir: &Path) -> Result<Option<Self>, CheckpointError> {
        match run_dir.parent() {
            Some(parent) => Self::open(parent),
            None => Ok(None),
        }
    }

    /// A variant's run directory.
    pub fn run_dir(&self, entry: &RaceEntry) -> PathBuf {
        self.path.join(&entry.dir)
    }
}

/// A label as a directory name: lower case, words joined by `-`.
fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "variant".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_directory_names() {
        assert_eq!(slug("relu lr 0.1"), "relu-lr-0.1");
        assert_eq!(slug("max #3"), "max-3");
        assert_eq!(slug("Three-Blocks"), "three-blocks");
        assert_eq!(slug("/// "), "variant");
    }

    #[test]
    fn a_race_directory_names_its_variants_in_order_and_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let labels = vec![
            "avg sigmoid".to_string(),
            "max".into(),
            "relu lr 0.1".into(),
        ];
        let race = RaceDir::create(tmp.path(), &labels).unwrap();
        assert!(
            race.path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("-race")
        );
        let dirs: Vec<_> = race.variants.iter().map(|v| v.dir.as_str()).collect();
        assert_eq!(dirs, ["1-avg-sigmoid", "2-max", "3-relu-lr-0.1"]);
        assert_eq!(RaceDir::open(&race.path).unwrap().unwrap(), race);
        let second = race.run_dir(&race.variants[1]);
        assert_eq!(RaceDir::of_run(&second).unwrap().unwrap(), race);
        assert_eq!(RaceDir::open(tmp.path()).unwrap(), None, "not a race");
        // Two races in one second get different directories.
        let again = RaceDir::create(tmp.path(), &labels).unwrap();
        assert_ne!(again.path, race.path);
    }

    #[test]
    fn a_damaged_manifest_is_named_and_cannot_lead_out_of_the_race() {
        let tmp = tempfile::tempdir().unwrap();
        for (text, why) in [
            ("{", "EOF"),
            (r#"{"variants": []}"#, "names no variants"),
            (
                r#"{"variants": [{"label": "x", "dir": "../../etc"}]}"#,
                "is not a directory name",
            ),
        ] {
            fs::write(tmp.path().join(RACE_FILE), text).unwrap();
            let e = RaceDir::open(tmp.path()).unwrap_err().to_string();
            assert!(e.contains(RACE_FILE) && e.contains(why), "{e}");
        }
    }
}
