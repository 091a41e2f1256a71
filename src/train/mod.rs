//! The training thread: owns the model, engine and data; takes [`Command`]s in and
//! sends [`Event`]s out over crossbeam channels. It never touches the terminal.
//!
//! [`messages`] are the typed commands and events, [`settings`] the recipe, `handle`
//! starts the thread and talks to it, `trainer` is the run's state and its epoch
//! loop, which consults the policies in [`policy`] (report cadence, divergence guard)
//! and [`saver`] (when and where to write [`checkpoint`]s), and [`position`] is where
//! a run stands.

pub mod checkpoint;
mod handle;
pub mod messages;
pub mod moments;
pub mod pace;
pub mod policy;
pub mod position;
pub mod race;
pub mod recipe;
pub mod replay;
mod report;
pub mod saver;
pub mod settings;
mod spec;
pub mod timeline;
mod trainer;
pub mod turns;

pub use crate::engine::{Confusion, ConfusionMatrix, LayerStats};
pub use handle::{SAVE_ANSWER, STOP_WAIT, THREAD_NAME, TrainerHandle, spawn};
pub use messages::{
    Change, Command, ConvKernels, Divergence, EpochSummary, Event, ExplainAsk, Explained, Gallery,
    History, MarkedChange, PastView, ProbeReport, Progress, Restored, RunInfo, SavePart,
    SaveReason, Saved, Stride,
};
pub use pace::Pace;
pub use position::Position;
pub use race::{Lane, gather_saves, save_all, spawn_race};
pub use recipe::{RunRecipe, run_labels};
pub use saver::CheckpointPolicy;
pub use settings::{BatchSize, Epochs, LearningRate, TrainSettings};
pub use spec::TrainerSpec;
pub use turns::{Turn, Turns};
