//! The training thread: owns the model, optimiser and data; takes [`Command`]s in and
//! sends [`Event`]s out over crossbeam channels. It never touches the terminal.

pub mod messages;
pub mod settings;
mod trainer;

pub use messages::{Change, Command, EpochSummary, Event, ProbeReport, Progress, RunInfo};
pub use settings::{BatchSize, Epochs, LearningRate, TrainSettings};
pub use trainer::{THREAD_NAME, TrainerHandle, TrainerSpec, spawn};
