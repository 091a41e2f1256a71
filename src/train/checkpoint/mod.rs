//! Runs and checkpoints on disk.
//!
//! A run lives in `<data dir>/lenet-tui/runs/<started>/`; each checkpoint is a
//! directory `ckpt-NNNN/` with the weights (`weights.safetensors`) and everything else
//! needed to go on (`checkpoint.json`: architecture, settings, position and shuffling
//! state, the metrics history, the data, the program version). A checkpoint is written
//! into a hidden temporary directory, each file fsynced, and renamed into place, so a
//! crash at any moment (kill -9 included) leaves the earlier checkpoints whole and no
//! half-written one in sight.
//!
//! Nothing read back is trusted: file sizes are bounded before reading, the weights'
//! length and CRC-32 are checked, and every tensor's name, type and shape must match
//! the model before any of them is used.

mod find;
mod lock;
mod race;
mod runs;
mod store;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

pub use super::position::Position;
pub use find::{SavedRun, find_run, load_found, load_run};
pub use lock::{LOCK_FILE, RunLock, holder};
pub use race::{RaceDir, RaceEntry};
pub use runs::{ResumeFrom, RunEntry, default_runs_dir, list_runs, locate};
pub use store::RunDir;

use crate::model::Architecture;
use crate::train::{History, SaveReason, TrainSettings};

/// Version of the checkpoint layout; bumped when old checkpoints can no longer be read.
pub const FORMAT: u32 = 1;
/// The metadata file in a checkpoint directory.
pub const META_FILE: &str = "checkpoint.json";
/// The weights file in a checkpoint directory.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// The run's saved history (its timeline, [`crate::train::timeline::file`]), beside
/// its checkpoints.
pub const HISTORY_DIR: &str = "history";
/// Checkpoints kept per run unless configured otherwise.
pub const DEFAULT_KEEP: usize = 5;
/// Larger metadata is refused unread (a long run's is well under a megabyte).
const MAX_META_BYTES: u64 = 64 << 20;
/// Larger weights are refused unread (the chapter's LeNet has 250 KB).
const MAX_WEIGHTS_BYTES: u64 = 1 << 30;
const PREFIX: &str = "ckpt-";
const TMP_PREFIX: &str = ".tmp-";
/// The failpoint (see [`crate::failpoint`]) that aborts the process halfway through
/// writing the weights: `checkpoint-write:N` crashes in the N-th checkpoint, as a
/// kill -9 or a power cut would.
pub const CRASH_IN_WRITE: &str = "checkpoint-write";

/// Creates `parent/name`, or `name-2`, `name-3`, … when that exists (two runs started
/// in the same second, a variant started afresh).
fn new_dir(parent: &Path, name: &str) -> Result<PathBuf, CheckpointError> {
    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    let mut path = parent.join(name);
    let mut n = 2;
    loop {
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                path = parent.join(format!("{name}-{n}"));
                n += 1;
            }
            Err(e) => return Err(io_error(&path)(e)),
        }
    }
}

/// The data a checkpoint was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFacts {
    /// In words, as the header shows it.
    pub description: String,
    /// The directory, or none for the embedded subset.
    pub dir: Option<PathBuf>,
    /// Training examples.
    pub train_examples: usize,
    /// Test examples.
    pub test_examples: usize,
    /// Class names in label order.
    pub classes: Vec<String>,
}

/// The weights file as the metadata describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsFacts {
    /// Length in bytes.
    pub bytes: u64,
    /// CRC-32 of the whole file.
    pub crc32: u32,
}

/// What a checkpoint holds besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Layout version, [`FORMAT`].
    pub format: u32,
    /// The program that wrote it, e.g. `lenet-tui 0.1.0`.
    pub program: String,
    /// Local time of writing, RFC 3339.
    pub saved_at: String,
    /// Why it was written.
    pub reason: SaveReason,
    /// The network's layout.
    pub architecture: Architecture,
    /// The settings in force (pooling, activation and learning rate as swapped live).
    pub settings: TrainSettings,
    /// Where the run stands.
    pub position: Position,
    /// The data.
    pub data: DataFacts,
    /// Every figure so far.
    pub history: History,
    /// Length and checksum of the weights file.
    pub weights: WeightsFacts,
    /// The random number generator of its shuffles and initialisation
    /// ([`crate::rng::ALGORITHM`]); checkpoints from before it was recorded used
    /// rand 0.9's `StdRng`, which is the same ChaCha12 stream.
    #[serde(default = "chacha12")]
    pub rng: String,
}

fn chacha12() -> String {
    "chacha12".into()
}

impl Meta {
    /// The best test accuracy so far, if an epoch has finished.
    pub fn best_test_acc(&self) -> Option<f64> {
        self.history
            .epochs
            .iter()
            .map(|e| e.test_acc)
            .max_by(f64::total_cmp)
    }
}

/// A checkpoint found on disk, its metadata read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Its directory.
    pub dir: PathBuf,
    /// Its metadata.
    pub meta: Meta,
}

/// Why a checkpoint could not be written, found or used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// Something is wrong with what is in a file.
    #[error("{}: {why}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The checkpoint is fine but does not fit this model or data.
    #[error("{}: {why}", path.display())]
    Incompatible {
        /// The checkpoint.
        path: PathBuf,
        /// What does not fit.
        why: String,
    },
    /// No checkpoint where one was asked for.
    #[error("{0}")]
    NotFound(String),
    /// Another live process trains this run.
    #[error("{}: {}", run.display(), busy_advice(*.pid))]
    Busy {
        /// The run directory.
        run: PathBuf,
        /// The owner's process id, when its lock file names it.
        pid: Option<u32>,
    },
    /// The weights hold NaN or infinity; saving them would replace good checkpoints.
    #[error("not saved: parameter {0} holds NaN or infinity")]
    NotFinite(String),
    /// A tensor operation failed.
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
}

fn busy_advice(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!(
            "this run is being trained by process {pid}; watch it with `lenet-tui attach`, \
             or end it with `lenet-tui stop` (it saves a checkpoint first), then try again"
        ),
        None => "this run is being trained by another process; watch it with `lenet-tui \
                 attach`, or wait for it to end, then try again"
            .into(),
    }
}

pub(super) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// Reads at most `limit` bytes of `path`, refusing larger files unread.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, CheckpointError> {
    let file = File::open(path).map_err(io_error(path))?;
    let len = file.metadata().map_err(io_error(path))?.len();
    if len > limit {
        return Err(CheckpointError::Damaged {
            path: path.to_path_buf(),
            why: format!("{len} bytes, more than the {limit} a checkpoint file may have"),
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    Ok(bytes)
}

/// Parses checkpoint metadata; `path` only names the file in errors.
pub fn parse_meta(bytes: &[u8], path: &Path) -> Result<Meta, CheckpointError> {
    let damaged = |why: String| CheckpointError::Damaged {
        path: path.to_path_buf(),
        why,
    };
    // The format first, so a future layout gets a clear message instead of a key error.
    #[derive(Deserialize)]
    struct Version {
        format: Option<u32>,
    }
    let version: Version = serde_json::from_slice(bytes)
        .map_err(|e| damaged(format!("not valid checkpoint metadata: {e}")))?;
    match version.format {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(damaged(format!(
                "checkpoint format {other}; this lenet-tui reads format {FORMAT}"
            )));
        }
        None => return Err(damaged("not checkpoint metadata: no `format` key".into())),
    }
    let meta: Meta = serde_json::from_slice(bytes)
        .map_err(|e| damaged(format!("not valid checkpoint metadata: {e}")))?;
    let p = &meta.position;
    if p.batches == 0 || p.epoch == 0 || p.batch > p.batches || p.seen < p.batch {
        return Err(damaged(format!(
            "impossible position: epoch {}, batch {} of {}, {} examples seen",
            p.epoch, p.batch, p.batches, p.seen
        )));
    }
    Ok(meta)
}

/// Loads the checkpoint `from` names. When that is a run's newest (`latest`, or a run
/// directory) and it is damaged, the newest intact one before it is loaded instead,
/// with a warning naming both; only when none is intact is it an error (the newest's).
/// A checkpoint directory named outright is that one or an error.
pub fn load_resumable(
    from: &ResumeFrom,
    runs_dir: &Path,
) -> Result<(Checkpoint, Option<String>), CheckpointError> {
    let newest = locate(from, runs_dir)?;
    let damaged = match load(&newest) {
        Ok(c) => return Ok((c, None)),
        Err(e) => e,
    };
    let named_outright = matches!(from, ResumeFrom::Path(p) if p.join(META_FILE).is_file());
    let Some(run) = newest.parent().filter(|_| !named_outright) else {
        return Err(damaged);
    };
    for (_, dir) in runs::checkpoint_dirs(run)?.into_iter().rev() {
        if dir == newest {
            continue;
        }
        if let Ok(c) = load(&dir) {
            let warning = format!(
                "{damaged}; resuming from the newest intact checkpoint instead: {}",
                dir.display()
            );
            return Ok((c, Some(warning)));
        }
    }
    Err(damaged)
}

/// Reads the checkpoint in `dir`: its metadata, and the weights' length and checksum.
pub fn load(dir: &Path) -> Result<Checkpoint, CheckpointError> {
    let meta_path = dir.join(META_FILE);
    if !meta_path.is_file() {
        return Err(CheckpointError::NotFound(format!(
            "{}: not a checkpoint (no {META_FILE})",
            dir.display()
        )));
    }
    let meta = parse_meta(&read_bounded(&meta_path, MAX_META_BYTES)?, &meta_path)?;
    let checkpoint = Checkpoint {
        dir: dir.to_path_buf(),
        meta,
    };
    checkpoint.weight_bytes()?;
    Ok(checkpoint)
}

impl Checkpoint {
    /// Refuses a checkpoint made for another architecture or other data.
    pub fn check_fits(
        &self,
        architecture: &Architecture,
        data: &crate::data::Dataset,
    ) -> Result<(), CheckpointError> {
        let incompatible = |why: String| CheckpointError::Incompatible {
            path: self.dir.clone(),
            why,
        };
        let meta = &self.meta;
        if meta.rng != crate::rng::ALGORITHM {
            return Err(incompatible(format!(
                "its shuffles come from the `{}` random number generator, this lenet-tui's \
                 from `{}`: resumed, the run would not be the one it was",
                meta.rng,
                crate::rng::ALGORITHM
            )));
        }
        if &meta.architecture != architecture {
            return Err(incompatible(format!(
                "made for another model ({}), this one is {}",
                describe(&meta.architecture),
                describe(architecture)
            )));
        }
        let facts = &meta.data;
        if (facts.train_examples, facts.test_examples) != (data.train.len(), data.test.len())
            || facts.classes != data.classes
        {
            return Err(incompatible(format!(
                "trained on {} ({} train / {} test images), the data now is {data}; \
                 pass --data to pick the same data",
                facts.description, facts.train_examples, facts.test_examples
            )));
        }
        Ok(())
    }

    /// The weights file's bytes, checked against the metadata's length and CRC-32.
    fn weight_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        let path = self.dir.join(WEIGHTS_FILE);
        let bytes = read_bounded(&path, MAX_WEIGHTS_BYTES)?;
        let facts = &self.meta.weights;
        if bytes.len() as u64 != facts.bytes {
            return Err(CheckpointError::Damaged {
                path,
                why: format!(
                    "{} bytes, the checkpoint says {}: the file is truncated or was replaced",
                    bytes.len(),
                    facts.bytes
                ),
            });
        }
        if crc32(&bytes) != facts.crc32 {
            return Err(CheckpointError::Damaged {
                path,
                why: "checksum mismatch: the file is damaged".into(),
            });
        }
        Ok(bytes)
    }

    /// The weights as tensors on `device`, each checked against `expected` (name and
    /// shape, as [`crate::model::LeNet::parameter_shapes`] gives them).
    pub fn weights(
        &self,
        expected: &[(String, Vec<usize>)],
        device: &Device,
    ) -> Result<HashMap<String, Tensor>, CheckpointError> {
        let bytes = self.weight_bytes()?;
        parse_weights(&bytes, expected, device, &self.dir.join(WEIGHTS_FILE))
    }
}

/// Parses safetensors bytes into exactly the `expected` tensors (f32, same shapes);
/// `path` only names the file in errors.
pub fn parse_weights(
    bytes: &[u8],
    expected: &[(String, Vec<usize>)],
    device: &Device,
    path: &Path,
) -> Result<HashMap<String, Tensor>, CheckpointError> {
    let tensors =
        safetensors::SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Damaged {
            path: path.to_path_buf(),
            why: format!("not a valid safetensors file: {e}"),
        })?;
    let incompatible = |why: String| CheckpointError::Incompatible {
        path: path.to_path_buf(),
        why,
    };
    if tensors.len() != expected.len() {
        let mut names: Vec<String> = tensors.names().into_iter().map(str::to_string).collect();
        names.sort();
        return Err(incompatible(format!(
            "holds {} tensors ({}), this model has {}",
            names.len(),
            names.join(", "),
            expected.len()
        )));
    }
    let mut out = HashMap::with_capacity(expected.len());
    for (name, shape) in expected {
        let view = tensors
            .tensor(name)
            .map_err(|_| incompatible(format!("no tensor `{name}`: another model")))?;
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(incompatible(format!(
                "`{name}` is {:?}, expected F32",
                view.dtype()
            )));
        }
        if view.shape() != shape.as_slice() {
            return Err(incompatible(format!(
                "`{name}` has shape {:?}, this model needs {:?}: the checkpoint is from \
                 another architecture",
                view.shape(),
                shape
            )));
        }
        let t = Tensor::from_raw_buffer(view.data(), DType::F32, shape, device)?;
        out.insert(name.clone(), t);
    }
    Ok(out)
}

/// An architecture in a few words, for messages.
fn describe(a: &Architecture) -> String {
    let convs: Vec<String> = a
        .convs
        .iter()
        .map(|c| format!("conv {}×{}→{}", c.kernel, c.kernel, c.out_channels))
        .collect();
    let dense: Vec<String> = a.dense.iter().map(usize::to_string).collect();
    format!(
        "{}×{}×{} input, {}, dense {}, {} classes",
        a.input[0],
        a.input[1],
        a.input[2],
        convs.join(", "),
        dense.join("-"),
        a.classes
    )
}

#[cfg(test)]
mod tests;
