//! The training thread: owns the model, optimiser and data; takes [`Command`]s in and
//! sends [`Event`]s out over crossbeam channels. It never touches the terminal.

pub mod checkpoint;
pub mod messages;
mod position;
pub mod recipe;
pub mod settings;
mod trainer;

pub use crate::engine::{Confusion, ConfusionMatrix};
pub use messages::{
    Change, Command, ConvKernels, Divergence, EpochSummary, Event, History, MarkedChange,
    ProbeReport, Progress, Restored, RunInfo, SaveReason, Saved,
};
pub use position::Position;
pub use recipe::{RunRecipe, run_labels};
pub use settings::{BatchSize, Epochs, LearningRate, TrainSettings};
pub use trainer::{CheckpointPolicy, THREAD_NAME, TrainerHandle, TrainerSpec, spawn};
