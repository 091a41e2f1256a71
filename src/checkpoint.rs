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

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::model::Architecture;
use crate::train::{History, SaveReason, TrainSettings};

/// Version of the checkpoint layout; bumped when old checkpoints can no longer be read.
pub const FORMAT: u32 = 1;
/// The metadata file in a checkpoint directory.
pub const META_FILE: &str = "checkpoint.json";
/// The weights file in a checkpoint directory.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
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

/// Where a run stands: enough to continue it batch for batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The epoch in progress, from 1 (after the last batch of epoch e: e + 1).
    pub epoch: u32,
    /// Batches done in `epoch`.
    pub batch: usize,
    /// Batches in an epoch.
    pub batches: usize,
    /// Epoch orders drawn from the shuffling RNG so far, the current one included.
    pub orders_drawn: u64,
    /// Restarts so far: weight draws from the initialisation RNG after the first.
    pub restarts: u32,
    /// Sum of batch losses × batch sizes in the epoch so far.
    pub loss_sum: f64,
    /// Correct predictions in the epoch so far.
    pub correct: u64,
    /// Examples seen in the epoch so far.
    pub seen: usize,
    /// Seconds of training in the epoch so far.
    pub train_seconds: f64,
}

impl Position {
    /// The start of a fresh run.
    pub fn start(batches: usize) -> Self {
        Self {
            epoch: 1,
            batch: 0,
            batches,
            orders_drawn: 0,
            restarts: 0,
            loss_sum: 0.0,
            correct: 0,
            seen: 0,
            train_seconds: 0.0,
        }
    }

    /// Position in the run, in epochs.
    pub fn at(&self) -> f64 {
        f64::from(self.epoch.saturating_sub(1)) + self.batch as f64 / self.batches.max(1) as f64
    }

    /// Epochs completely trained.
    pub fn epochs_done(&self) -> u32 {
        self.epoch.saturating_sub(1)
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
    /// The weights hold NaN or infinity; saving them would replace good checkpoints.
    #[error("not saved: parameter {0} holds NaN or infinity")]
    NotFinite(String),
    /// A tensor operation failed.
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

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

/// A run's directory, where its checkpoints are written.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    next: u32,
    keep: usize,
}

impl RunDir {
    /// Creates a new run directory in `runs_dir`, named after the local time.
    pub fn create(runs_dir: &Path, keep: usize) -> Result<Self, CheckpointError> {
        fs::create_dir_all(runs_dir).map_err(io_error(runs_dir))?;
        let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S").to_string();
        let mut path = runs_dir.join(&stamp);
        let mut n = 2;
        // Two runs started in the same second get -2, -3, …
        loop {
            match fs::create_dir(&path) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    path = runs_dir.join(format!("{stamp}-{n}"));
                    n += 1;
                }
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
        Ok(Self {
            path,
            next: 1,
            keep: keep.max(1),
        })
    }

    /// An existing run directory, to go on writing checkpoints after a resume.
    pub fn open(path: &Path, keep: usize) -> Result<Self, CheckpointError> {
        let last = checkpoint_dirs(path)?.last().map_or(0, |(n, _)| *n);
        Ok(Self {
            path: path.to_path_buf(),
            next: last + 1,
            keep: keep.max(1),
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
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        self.next += 1;
        self.prune();
        Ok(target)
    }

    /// Removes all but the newest `keep` checkpoints, and leftovers of interrupted
    /// writes. Failures only leave more files behind, so they are ignored.
    fn prune(&self) {
        if let Ok(dirs) = checkpoint_dirs(&self.path) {
            let excess = dirs.len().saturating_sub(self.keep);
            for (_, dir) in dirs.into_iter().take(excess) {
                let _ = fs::remove_dir_all(dir);
            }
        }
        if let Ok(entries) = fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    let _ = fs::remove_dir_all(entry.path());
                }
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

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// The finished checkpoints in a run directory, oldest first, with their numbers.
fn checkpoint_dirs(run: &Path) -> Result<Vec<(u32, PathBuf)>, CheckpointError> {
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

/// The runs in `runs_dir`, oldest first; none if it does not exist yet.
pub fn list_runs(runs_dir: &Path) -> Result<Vec<RunEntry>, CheckpointError> {
    let entries = match fs::read_dir(runs_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(runs_dir)(e)),
    };
    let mut runs: Vec<RunEntry> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let checkpoints = checkpoint_dirs(&e.path()).ok()?;
            Some(RunEntry {
                dir: e.path(),
                checkpoints: checkpoints.into_iter().map(|(_, p)| p).collect(),
            })
        })
        .filter(|r| !r.checkpoints.is_empty())
        .collect();
    runs.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::TrainSettings;

    fn meta(position: Position) -> Meta {
        Meta {
            format: FORMAT,
            program: "lenet-tui test".into(),
            saved_at: "2026-11-30T00:00:00+00:00".into(),
            reason: SaveReason::EpochEnd,
            architecture: Architecture::default(),
            settings: TrainSettings::default(),
            position,
            data: DataFacts {
                description: "test".into(),
                dir: None,
                train_examples: 10,
                test_examples: 5,
                classes: vec!["a".into(), "b".into()],
            },
            history: History::default(),
            weights: WeightsFacts { bytes: 0, crc32: 0 },
        }
    }

    fn params(v: f32) -> Vec<(String, Tensor)> {
        vec![
            (
                "a.weight".into(),
                Tensor::full(v, (2, 3), &Device::Cpu).unwrap(),
            ),
            ("a.bias".into(), Tensor::full(v, 2, &Device::Cpu).unwrap()),
        ]
    }

    fn shapes() -> Vec<(String, Vec<usize>)> {
        vec![("a.bias".into(), vec![2]), ("a.weight".into(), vec![2, 3])]
    }

    #[test]
    fn saves_load_back_and_only_the_newest_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let mut run = RunDir::create(tmp.path(), 2).unwrap();
        let mut last = PathBuf::new();
        for i in 1..=4 {
            let mut p = Position::start(3);
            p.epoch = i;
            last = run.save(&params(i as f32), meta(p)).unwrap();
        }
        let runs = list_runs(tmp.path()).unwrap();
        assert_eq!(runs.len(), 1);
        let names: Vec<String> = runs[0]
            .checkpoints
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["ckpt-0003", "ckpt-0004"]);
        assert_eq!(locate(&ResumeFrom::Latest, tmp.path()).unwrap(), last);
        assert_eq!(
            locate(&ResumeFrom::Path(runs[0].dir.clone()), tmp.path()).unwrap(),
            last
        );
        let ckpt = load(&last).unwrap();
        assert_eq!(ckpt.meta.position.epoch, 4);
        let w = ckpt.weights(&shapes(), &Device::Cpu).unwrap();
        assert_eq!(w["a.weight"].to_vec2::<f32>().unwrap(), [[4.0; 3]; 2]);

        // A run reopened after a resume numbers on.
        let mut again = RunDir::open(&runs[0].dir, 2).unwrap();
        let next = again.save(&params(5.0), meta(Position::start(3))).unwrap();
        assert!(next.ends_with("ckpt-0005"), "{}", next.display());
    }

    #[test]
    fn damage_and_mismatch_are_refused_with_the_file_named() {
        let tmp = tempfile::tempdir().unwrap();
        let mut run = RunDir::create(tmp.path(), 5).unwrap();
        let dir = run.save(&params(1.0), meta(Position::start(3))).unwrap();
        let weights = dir.join(WEIGHTS_FILE);

        let wrong: Vec<(String, Vec<usize>)> =
            vec![("a.bias".into(), vec![2]), ("a.weight".into(), vec![3, 2])];
        let e = load(&dir)
            .unwrap()
            .weights(&wrong, &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`a.weight` has shape [2, 3]"), "{e}");
        assert!(e.contains("weights.safetensors"), "{e}");

        let mut bytes = fs::read(&weights).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&weights, &bytes).unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("checksum mismatch"), "{e}");
        fs::write(&weights, &bytes[..10]).unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");

        let meta_path = dir.join(META_FILE);
        fs::write(&meta_path, "{\"format\": 99}").unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("checkpoint format 99"), "{e}");
        fs::write(&meta_path, "{\"format\": 1, \"program\": 3}").unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("checkpoint.json") && e.contains("line 1"), "{e}");

        let e = run
            .save(&params(f32::NAN), meta(Position::start(3)))
            .unwrap_err();
        assert!(matches!(e, CheckpointError::NotFinite(_)), "{e}");
        assert_eq!(list_runs(tmp.path()).unwrap()[0].checkpoints.len(), 1);
    }

    #[test]
    fn an_interrupted_write_is_invisible_and_cleaned_up() {
        let tmp = tempfile::tempdir().unwrap();
        let mut run = RunDir::create(tmp.path(), 5).unwrap();
        let good = run.save(&params(1.0), meta(Position::start(3))).unwrap();
        // What a crash between the two file writes leaves behind.
        let half = run.path().join(".tmp-ckpt-0002");
        fs::create_dir(&half).unwrap();
        fs::write(half.join(WEIGHTS_FILE), b"half").unwrap();
        assert_eq!(locate(&ResumeFrom::Latest, tmp.path()).unwrap(), good);
        run.save(&params(2.0), meta(Position::start(3))).unwrap();
        assert!(!half.exists(), "leftovers are removed at the next save");
    }

    #[test]
    fn resume_targets_are_parsed_and_missing_ones_named() {
        assert_eq!("latest".parse(), Ok(ResumeFrom::Latest));
        assert_eq!(
            "runs/x".parse(),
            Ok(ResumeFrom::Path(PathBuf::from("runs/x")))
        );
        let tmp = tempfile::tempdir().unwrap();
        let e = locate(&ResumeFrom::Latest, tmp.path()).unwrap_err();
        assert!(e.to_string().contains("nothing to resume"), "{e}");
        let e = locate(&ResumeFrom::Path(tmp.path().join("nope")), tmp.path()).unwrap_err();
        assert!(e.to_string().contains("no such checkpoint"), "{e}");
    }
}
