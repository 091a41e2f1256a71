//! Finding a saved run from what the user typed (`latest`, a run or checkpoint
//! directory, or a run's name in the runs directory), and reading its newest intact
//! checkpoint, as `compare` and `replay` both do.

use std::path::{Path, PathBuf};

use super::{CheckpointError, Meta, ResumeFrom, load_resumable};

/// A saved run as `compare` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRun {
    /// The run's name: its directory's (`2026-11-30_09-12-03`).
    pub name: String,
    /// The checkpoint read (the run's newest).
    pub checkpoint: PathBuf,
    /// Its metadata: settings and the whole history.
    pub meta: Meta,
}

/// Finds and reads the run `arg` names: `latest`, a run or checkpoint directory, or
/// a run's name in `runs_dir`. Errors name the paths looked at; the warning says which
/// damaged newest checkpoint was passed over.
pub fn load_run(arg: &str, runs_dir: &Path) -> Result<(SavedRun, Option<String>), CheckpointError> {
    load_found(&find_run(arg, runs_dir)?, runs_dir)
}

/// Reads the run `from` names, found by [`find_run`]: its newest intact checkpoint,
/// as `--resume` and `predict` read it, with the warning when that is not the newest.
pub fn load_found(
    from: &ResumeFrom,
    runs_dir: &Path,
) -> Result<(SavedRun, Option<String>), CheckpointError> {
    let (checkpoint, warning) = load_resumable(from, runs_dir)?;
    let dir = &checkpoint.dir;
    let name = dir.parent().and_then(Path::file_name).map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let run = SavedRun {
        name,
        checkpoint: checkpoint.dir,
        meta: checkpoint.meta,
    };
    Ok((run, warning))
}

/// What `arg` names: `latest`, an existing run or checkpoint directory, or a run's name
/// in `runs_dir`. Errors name the paths looked at.
pub fn find_run(arg: &str, runs_dir: &Path) -> Result<ResumeFrom, CheckpointError> {
    Ok(match arg.parse::<ResumeFrom>() {
        Ok(ResumeFrom::Latest) => ResumeFrom::Latest,
        Ok(ResumeFrom::Path(path)) if path.exists() => ResumeFrom::Path(path),
        _ if runs_dir.join(arg).exists() => ResumeFrom::Path(runs_dir.join(arg)),
        _ => {
            return Err(CheckpointError::NotFound(format!(
                "{arg}: no such run: neither {} nor {} exists (`lenet-tui runs` lists them)",
                Path::new(arg).display(),
                runs_dir.join(arg).display()
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_run_names_both_places_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_run("nope", dir.path()).unwrap_err().to_string();
        assert!(err.contains("nope: no such run"), "{err}");
        assert!(
            err.contains(&dir.path().join("nope").display().to_string()),
            "{err}"
        );
    }
}
