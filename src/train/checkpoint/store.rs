//! Writing checkpoints: a hidden temporary directory, each file fsynced, renamed into
//! place, the parent fsynced; the oldest beyond `keep` removed.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::runs::checkpoint_dirs;
use super::*;

/// A run's directory, where its checkpoints are written, held by this process (see
/// [`RunLock`]) for as long as this value lives.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    next: u32,
    keep: usize,
    _lock: RunLock,
}

impl RunDir {
    /// Creates a new run directory in `runs_dir`, called `name` or else after the
    /// local time.
    pub fn create(
        runs_dir: &Path,
        keep: usize,
        name: Option<&str>,
    ) -> Result<Self, CheckpointError> {
        let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S").to_string();
        let path = new_dir(runs_dir, name.unwrap_or(&stamp))?;
        let lock = RunLock::acquire(&path)?;
        Ok(Self {
            path,
            next: 1,
            keep: keep.max(1),
            _lock: lock,
        })
    }

    /// An existing run directory, to go on writing checkpoints after a resume, held by
    /// `lock`. What interrupted writes left behind is removed first.
    pub fn open(path: &Path, keep: usize, lock: RunLock) -> Result<Self, CheckpointError> {
        remove_leftovers(path);
        let last = checkpoint_dirs(path)?.last().map_or(0, |(n, _)| *n);
        Ok(Self {
            path: path.to_path_buf(),
            next: last + 1,
            keep: keep.max(1),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a checkpoint of `parameters` and `meta` (whose `weights` field is filled
    /// in here), then removes all but the newest `keep`. Returns its directory.
    pub fn save(
        &mut self,
        parameters: &[(String, Tensor)],
        mut meta: Meta,
    ) -> Result<PathBuf, CheckpointError> {
        for (name, t) in parameters {
            let values = t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
            if values.iter().any(|v| !v.is_finite()) {
                return Err(CheckpointError::NotFinite(name.clone()));
            }
        }
        let weights = safetensors::serialize(parameters.iter().map(|(n, t)| (n, t)), None)
            .map_err(|e| CheckpointError::Damaged {
                path: self.path.clone(),
                why: format!("cannot serialise the weights: {e}"),
            })?;
        meta.weights = WeightsFacts {
            bytes: weights.len() as u64,
            crc32: crc32(&weights),
        };
        let meta_json = serde_json::to_vec_pretty(&meta).expect("checkpoint metadata serialises");

        let name = format!("{PREFIX}{:04}", self.next);
        let tmp = self.path.join(format!("{TMP_PREFIX}{name}"));
        let target = self.path.join(&name);
        let result = (|| {
            if tmp.exists() {
                fs::remove_dir_all(&tmp).map_err(io_error(&tmp))?;
            }
            fs::create_dir_all(&tmp).map_err(io_error(&tmp))?;
            write_synced(&tmp.join(WEIGHTS_FILE), &weights)?;
            write_synced(&tmp.join(META_FILE), &meta_json)?;
            sync_dir(&tmp)?;
            fs::rename(&tmp, &target).map_err(io_error(&target))?;
            sync_dir(&self.path)
        })();
        if let Err(e) = result {
            tracing::warn!(path = %target.display(), "checkpoint write failed: {e}");
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        self.next += 1;
        tracing::debug!(
            path = %target.display(),
            weight_bytes = weights.len(),
            "checkpoint written and synced"
        );
        self.prune();
        Ok(target)
    }

    /// Removes all but the newest `keep` checkpoints, and leftovers of interrupted
    /// writes. Failures only leave more files behind, so they are ignored.
    fn prune(&self) {
        if let Ok(dirs) = checkpoint_dirs(&self.path) {
            let excess = dirs.len().saturating_sub(self.keep);
            for (_, dir) in dirs.into_iter().take(excess) {
                tracing::debug!(path = %dir.display(), "older checkpoint removed");
                let _ = fs::remove_dir_all(dir);
            }
        }
        remove_leftovers(&self.path);
    }
}

/// Removes what interrupted writes left in the run directory `run`: hidden temporary
/// checkpoints and timelines, and a checkpoint directory without its metadata (which
/// no write of this program leaves under a final name, but older ones could). Only
/// the run's owner calls this; failures only leave files behind.
pub(super) fn remove_leftovers(run: &Path) {
    let history = run.join(HISTORY_DIR);
    for dir in [run, history.as_path()] {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let torn =
                name.starts_with(PREFIX) && dir == run && !entry.path().join(META_FILE).is_file();
            if name.starts_with(".tmp") || torn {
                tracing::info!(path = %entry.path().display(), "left by an interrupted write: removed");
                let path = entry.path();
                let _ = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
            }
        }
    }
}

/// Writes `bytes` to a new file and flushes it to the disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let mut file = File::create(path).map_err(io_error(path))?;
    if path.file_name().is_some_and(|n| n == WEIGHTS_FILE) && crash_now() {
        let _ = file.write_all(&bytes[..bytes.len() / 2]);
        let _ = file.sync_all();
        std::process::abort();
    }
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

fn crash_now() -> bool {
    static PASSES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    crate::failpoint::hit(CRASH_IN_WRITE, &PASSES)
}

/// Makes a directory's entries (a rename into it) durable.
fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}
