//! What a trainer thread starts from: the data, device, layout, recipe, checkpoint
//! and history policies, and its place in a race. A leaf of its own so that the
//! caller's side ([`super::handle`], [`super::race`]) and the trainer itself both
//! read it without reading each other.

use std::sync::Arc;

use super::checkpoint::{Checkpoint, RunLock};
use super::saver::CheckpointPolicy;
use super::settings::TrainSettings;
use super::timeline::HistoryPolicy;
use super::turns::Turn;
use crate::data::Dataset;
use crate::device::OpenedDevice;
use crate::model::Architecture;

/// Everything a trainer thread needs to start.
pub struct TrainerSpec {
    /// The data, shared with the caller (the UI shows test images from it).
    pub dataset: Arc<Dataset>,
    /// Where the model runs, and its name for reports.
    pub device: OpenedDevice,
    /// The network's layout.
    pub architecture: Architecture,
    /// The recipe (on resume: the checkpoint's, with the user's overrides).
    pub settings: TrainSettings,
    /// Where checkpoints go; `None` trains without them.
    pub checkpoints: Option<CheckpointPolicy>,
    /// A checkpoint to continue from, already checked with [`Checkpoint::check_fits`].
    pub resume: Option<Checkpoint>,
    /// The resumed run's lock, when the caller took it before loading the rest; the
    /// trainer takes it itself otherwise.
    pub lock: Option<RunLock>,
    /// How much of its past the run keeps for looking back, and whether it saves it.
    pub history: HistoryPolicy,
    /// Its place among the variants of a race; `None` trains alone.
    pub turn: Option<Turn>,
}
