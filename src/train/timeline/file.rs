//! A run's timeline on disk: `history/timeline.safetensors` in the run directory, one
//! file. Each parameter is one tensor `[snapshots, ...shape]`; the safetensors header's
//! metadata holds the rest as JSON (the moments, the per-epoch confusion matrices, the
//! run's figures, architecture, settings and data, and a CRC-32 of the weights). It is
//! written to a hidden temporary file, fsynced and renamed over the old one, so a crash
//! leaves the previous timeline whole.
//!
//! Nothing read back is trusted: the size is bounded before reading, the header is
//! parsed by safetensors (a truncated file fails there), the CRC is checked, and every
//! tensor must match the architecture the file names.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{EpochConfusion, Moment, Snapshot, Thinning, Timeline};
use crate::model::{Architecture, LeNet};
use crate::train::checkpoint::{CheckpointError, DataFacts};
use crate::train::{History, TrainSettings};

/// The directory in a run directory that holds its timeline.
pub const DIR: &str = crate::train::checkpoint::HISTORY_DIR;
/// The timeline's file in [`DIR`].
pub const FILE: &str = "timeline.safetensors";
/// Version of the layout; bumped when old timelines can no longer be read.
pub const FORMAT: u32 = 1;
/// The safetensors metadata key holding the JSON.
const META_KEY: &str = "lenet-tui";
/// Larger files are refused unread ([`super::DEFAULT_MEMORY_MB`] is 64; the config
/// allows up to 4096).
const MAX_BYTES: u64 = 4200 << 20;
const TMP_FILE: &str = ".tmp-timeline.safetensors";

/// What a saved timeline says about its run besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    /// The program that wrote it, e.g. `lenet-tui 0.1.0`.
    pub program: String,
    /// Local time of writing, RFC 3339.
    pub saved_at: String,
    /// The network's layout.
    pub architecture: Architecture,
    /// The settings at the time of writing.
    pub settings: TrainSettings,
    /// The data.
    pub data: DataFacts,
    /// Batches in an epoch.
    pub batches_per_epoch: usize,
    /// The run's figures up to the newest snapshot.
    pub history: History,
    /// Where the run stood when this was written, in epochs.
    pub at: f64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: u32,
    facts: RunFacts,
    parameters: Vec<(String, Vec<usize>)>,
    moments: Vec<Moment>,
    confusions: Vec<EpochConfusion>,
    crc32: u32,
}

/// A timeline read back from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedTimeline {
    /// The file.
    pub path: PathBuf,
    /// What it says of its run.
    pub facts: RunFacts,
    /// The snapshots and confusion matrices.
    pub timeline: Timeline,
}

/// The timeline's file in the run directory `run`.
pub fn path_in(run: &Path) -> PathBuf {
    run.join(DIR).join(FILE)
}

/// One parameter across all snapshots, as one tensor `[snapshots, ...shape]`, its
/// bytes laid out once for both the checksum and the file.
struct Stacked {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Stacked {
    fn new(snapshots: &[&Snapshot], index: usize, shape: &[usize]) -> Self {
        let mut stacked_shape = vec![snapshots.len()];
        stacked_shape.extend(shape);
        let bytes = snapshots
            .iter()
            .flat_map(|s| s.weights[index].iter().flat_map(|v| v.to_le_bytes()))
            .collect();
        Self {
            shape: stacked_shape,
            bytes,
        }
    }
}

impl safetensors::View for &Stacked {
    fn dtype(&self) -> safetensors::Dtype {
        safetensors::Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn crc_of(parts: impl IntoIterator<Item = impl AsRef<[u8]>>) -> u32 {
    let mut crc = flate2::Crc::new();
    for part in parts {
        crc.update(part.as_ref());
    }
    crc.sum()
}

/// The snapshots a file of at most `file_mb` megabytes keeps: evenly spread, the
/// first and the newest among them.
fn kept(timeline: &Timeline, file_mb: u32) -> Vec<&Snapshot> {
    timeline.spread(Thinning::within(file_mb, timeline.snapshot_bytes()).capacity())
}

/// About the bytes [`write`] needs for `timeline` (the weights; the header is small
/// beside them), for a message when the disk is full.
pub fn bytes_needed(timeline: &Timeline, file_mb: u32) -> u64 {
    (kept(timeline, file_mb).len() * timeline.snapshot_bytes()) as u64
}

/// Moves the run's timeline out of the way, to `timeline.damaged-<time>.safetensors`
/// beside it (a number after it if that is taken), and returns the new path.
pub fn set_aside(run: &Path) -> Result<PathBuf, CheckpointError> {
    let from = path_in(run);
    let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S");
    let dir = run.join(DIR);
    let mut to = dir.join(format!("timeline.damaged-{stamp}.safetensors"));
    let mut n = 2;
    while to.exists() {
        to = dir.join(format!("timeline.damaged-{stamp}-{n}.safetensors"));
        n += 1;
    }
    fs::rename(&from, &to).map_err(io_error(&from))?;
    Ok(to)
}

/// Writes `timeline` into the run directory `run` (replacing what was there), its
/// snapshots thinned evenly to fit in `file_mb` megabytes; returns the file's path and
/// size.
pub fn write(
    run: &Path,
    timeline: &Timeline,
    facts: RunFacts,
    file_mb: u32,
) -> Result<(PathBuf, u64), CheckpointError> {
    let dir = run.join(DIR);
    fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let snapshots = kept(timeline, file_mb);
    let stacked: Vec<(&String, Stacked)> = timeline
        .parameters()
        .iter()
        .enumerate()
        .map(|(index, (name, shape))| (name, Stacked::new(&snapshots, index, shape)))
        .collect();
    let header = Header {
        format: FORMAT,
        facts,
        parameters: timeline.parameters().to_vec(),
        moments: snapshots.iter().map(|s| s.moment).collect(),
        confusions: timeline.confusions().to_vec(),
        crc32: crc_of(stacked.iter().map(|(_, s)| &s.bytes)),
    };
    let json = serde_json::to_string(&header).expect("timeline metadata serialises");
    let tmp = dir.join(TMP_FILE);
    let target = dir.join(FILE);
    let result = (|| {
        safetensors::serialize_to_file(
            stacked.iter().map(|(name, s)| (name.as_str(), s)),
            Some(HashMap::from([(META_KEY.to_string(), json)])),
            &tmp,
        )
        .map_err(|e| CheckpointError::Damaged {
            path: tmp.clone(),
            why: format!("cannot write the timeline: {e}"),
        })?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io_error(&tmp))?;
        fs::rename(&tmp, &target).map_err(io_error(&target))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(&dir))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let bytes = fs::metadata(&target).map_err(io_error(&target))?.len();
    Ok((target, bytes))
}

/// Reads the timeline of the run directory `run`, checking every tensor against the
/// architecture the file names.
pub fn read(run: &Path) -> Result<SavedTimeline, CheckpointError> {
    let path = path_in(run);
    let damaged = |why: String| CheckpointError::Damaged {
        path: path.clone(),
        why,
    };
    let incompatible = |why: String| CheckpointError::Incompatible {
        path: path.clone(),
        why,
    };
    let bytes = read_bounded(run, &path)?;
    let tensors = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
        damaged(format!(
            "not a valid timeline (truncated or overwritten?): {e}"
        ))
    })?;
    let header = header_of(&bytes).map_err(damaged)?;
    // The tensors must be those of the architecture the file names.
    let expected = expected_parameters(&header.facts.architecture)
        .map_err(|e| incompatible(format!("its architecture does not build: {e}")))?;
    if expected != header.parameters {
        return Err(incompatible(
            "its parameters are not those of the model it names: another model's history".into(),
        ));
    }
    let count = header.moments.len();
    if count == 0 {
        return Err(damaged("holds no snapshots".into()));
    }
    let columns = columns_of(&tensors, &expected, count).map_err(incompatible)?;
    if crc_of(&columns) != header.crc32 {
        return Err(damaged("checksum mismatch: the file is damaged".into()));
    }
    let positions_ok = header.moments.windows(2).all(|w| w[0].at < w[1].at)
        && header
            .moments
            .iter()
            .all(|m| m.at.is_finite() && m.at >= 0.0);
    if !positions_ok {
        return Err(damaged(
            "its snapshots are not in order of position in the run".into(),
        ));
    }
    let timeline = rebuild(&header, &expected, &columns);
    Ok(SavedTimeline {
        path,
        facts: header.facts,
        timeline,
    })
}

/// The timeline file's bytes, its size bounded before reading.
fn read_bounded(run: &Path, path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CheckpointError::NotFound(format!(
                "{}: this run has no saved history ({DIR}/{FILE} is missing); runs save \
                 it unless `[history] save = false`",
                run.display()
            )));
        }
        Err(e) => return Err(io_error(path)(e)),
    };
    let len = file.metadata().map_err(io_error(path))?.len();
    if len > MAX_BYTES {
        return Err(CheckpointError::Damaged {
            path: path.to_path_buf(),
            why: format!("{len} bytes, more than the {MAX_BYTES} a timeline may have"),
        });
    }
    fs::read(path).map_err(io_error(path))
}

/// The header in the file's safetensors metadata, its format checked first; why not.
fn header_of(bytes: &[u8]) -> Result<Header, String> {
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("not a valid timeline: {e}"))?;
    let json = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or("not a lenet-tui timeline: no `lenet-tui` metadata")?;
    #[derive(Deserialize)]
    struct Version {
        format: Option<u32>,
    }
    match serde_json::from_str::<Version>(json).map(|v| v.format) {
        Ok(Some(FORMAT)) => {}
        Ok(Some(other)) => {
            return Err(format!(
                "timeline format {other}; this lenet-tui reads format {FORMAT}"
            ));
        }
        Ok(None) | Err(_) => return Err("not a lenet-tui timeline: no `format`".into()),
    }
    serde_json::from_str(json).map_err(|e| format!("not valid timeline metadata: {e}"))
}

/// Each expected parameter's bytes over all `count` snapshots, or why the tensors are
/// not those of the model.
fn columns_of<'a>(
    tensors: &safetensors::SafeTensors<'a>,
    expected: &[(String, Vec<usize>)],
    count: usize,
) -> Result<Vec<&'a [u8]>, String> {
    if tensors.len() != expected.len() {
        return Err(format!(
            "holds {} tensors, the model it names has {}",
            tensors.len(),
            expected.len()
        ));
    }
    expected
        .iter()
        .map(|(name, shape)| {
            let view = tensors
                .tensor(name)
                .map_err(|_| format!("no tensor `{name}`: another model's history"))?;
            let mut want = vec![count];
            want.extend(shape);
            if view.dtype() != safetensors::Dtype::F32 || view.shape() != want.as_slice() {
                return Err(format!(
                    "`{name}` is {:?} {:?}, expected F32 {want:?}",
                    view.dtype(),
                    view.shape()
                ));
            }
            Ok(view.data())
        })
        .collect()
}

/// The timeline the checked header and columns describe.
fn rebuild(header: &Header, expected: &[(String, Vec<usize>)], columns: &[&[u8]]) -> Timeline {
    let count = header.moments.len();
    let mut timeline = Timeline::with_thinning(expected.to_vec(), Thinning::new(count));
    for (k, moment) in header.moments.iter().enumerate() {
        let weights = columns
            .iter()
            .zip(expected)
            .map(|(data, (_, shape))| {
                let n: usize = shape.iter().product();
                data[k * n * 4..(k + 1) * n * 4]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect();
        timeline.push(Snapshot {
            moment: *moment,
            weights,
        });
    }
    for c in &header.confusions {
        timeline.push_confusion(c.epoch, c.matrix.clone());
    }
    timeline
}

/// Each parameter's name and shape for `architecture`, in snapshot order.
pub fn expected_parameters(
    architecture: &Architecture,
) -> Result<Vec<(String, Vec<usize>)>, crate::model::ModelError> {
    use rand::SeedableRng;
    let defaults = TrainSettings::default();
    let model = LeNet::new(
        architecture,
        defaults.pooling,
        defaults.activation,
        &candle_core::Device::Cpu,
        &mut crate::rng::SeededRng::seed_from_u64(0),
    )?;
    Ok(model.parameter_shapes())
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
