//! The training thread: owns the model, optimiser and data; takes [`Command`]s in and
//! sends [`Event`]s out over crossbeam channels. It never touches the terminal.

pub mod confusion;
pub mod messages;
pub mod settings;
pub(crate) mod step;
mod trainer;

pub use confusion::{Confusion, ConfusionMatrix};
pub use messages::{
    Change, Command, ConvKernels, Divergence, EpochSummary, Event, History, MarkedChange,
    ProbeReport, Progress, Restored, RunInfo, SaveReason, Saved,
};
pub use settings::{BatchSize, Epochs, LearningRate, TrainSettings};
pub use trainer::{CheckpointPolicy, THREAD_NAME, TrainerHandle, TrainerSpec, spawn};
