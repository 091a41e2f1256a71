//! Finding runs and checkpoints on disk: `--resume`, `lenet-tui runs`.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{CheckpointError, META_FILE, PREFIX, RaceDir, io_error};

/// Which checkpoint to resume from, as `--resume` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeFrom {
    /// The newest checkpoint of all runs.
    Latest,
    /// A checkpoint directory, or a run directory (its newest checkpoint).
    Path(PathBuf),
}

impl FromStr for ResumeFrom {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Err("expected `latest` or a checkpoint or run directory".into()),
            "latest" => Ok(ResumeFrom::Latest),
            path => Ok(ResumeFrom::Path(PathBuf::from(path))),
        }
    }
}

impl fmt::Display for ResumeFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResumeFrom::Latest => f.write_str("latest"),
            ResumeFrom::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// `<data dir>/lenet-tui/runs`, where runs go unless configured otherwise.
pub fn default_runs_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lenet-tui").map(|d| d.data_dir().join("runs"))
}

/// The finished checkpoints in a run directory, oldest first, with their numbers.
pub(super) fn checkpoint_dirs(run: &Path) -> Result<Vec<(u32, PathBuf)>, CheckpointError> {
    let mut dirs: Vec<(u32, PathBuf)> = fs::read_dir(run)
        .map_err(io_error(run))?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let n = name.to_str()?.strip_prefix(PREFIX)?.parse().ok()?;
            entry
                .path()
                .join(META_FILE)
                .is_file()
                .then(|| (n, entry.path()))
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Finds the checkpoint `from` names, in `runs_dir` for `latest`.
pub fn locate(from: &ResumeFrom, runs_dir: &Path) -> Result<PathBuf, CheckpointError> {
    match from {
        ResumeFrom::Path(path) if path.join(META_FILE).is_file() => Ok(path.clone()),
        ResumeFrom::Path(path) if path.is_dir() => checkpoint_dirs(path)?
            .pop()
            .map(|(_, dir)| dir)
            .ok_or_else(|| {
                CheckpointError::NotFound(format!(
                    "{}: neither a checkpoint nor a run directory with checkpoints",
                    path.display()
                ))
            }),
        ResumeFrom::Path(path) => Err(CheckpointError::NotFound(format!(
            "{}: no such checkpoint or run directory",
            path.display()
        ))),
        ResumeFrom::Latest => list_runs(runs_dir)?
            .into_iter()
            .filter_map(|run| run.checkpoints.last().cloned())
            .max_by(|a, b| {
                let key = |p: &PathBuf| fs::metadata(p.join(META_FILE)).and_then(|m| m.modified());
                key(a).ok().cmp(&key(b).ok()).then_with(|| a.cmp(b))
            })
            .ok_or_else(|| {
                CheckpointError::NotFound(format!(
                    "no checkpoints in {} yet: nothing to resume",
                    runs_dir.display()
                ))
            }),
    }
}

/// A run directory and its finished checkpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    /// The run's directory.
    pub dir: PathBuf,
    /// Its checkpoints, oldest first.
    pub checkpoints: Vec<PathBuf>,
}

/// The runs in `runs_dir`, oldest first (a race's variants as runs of their own, in
/// its directory); none if it does not exist yet.
pub fn list_runs(runs_dir: &Path) -> Result<Vec<RunEntry>, CheckpointError> {
    let mut runs: Vec<RunEntry> = subdirs(runs_dir)?
        .into_iter()
        .flat_map(|dir| {
            if RaceDir::is_race(&dir) {
                subdirs(&dir).unwrap_or_default()
            } else {
                vec![dir]
            }
        })
        .filter_map(|dir| {
            let checkpoints = checkpoint_dirs(&dir).ok()?;
            Some(RunEntry {
                dir,
                checkpoints: checkpoints.into_iter().map(|(_, p)| p).collect(),
            })
        })
        .filter(|r| !r.checkpoints.is_empty())
        .collect();
    runs.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(runs)
}

/// The directories in `dir`; none if it does not exist.
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error(dir)(e)),
    }
}
