//! Where a run stands at a snapshot ([`Moment`]), which snapshot a cursor moves to
//! ([`Seek`]), and a finished epoch's confusion matrix ([`EpochConfusion`]): the
//! payloads that the events ([`super::messages`]) carry and the timeline
//! ([`super::timeline`], which re-exports them) keeps. A leaf, so that neither of
//! those two reads the other for them.

use serde::{Deserialize, Serialize};

use crate::engine::ConfusionMatrix;
use crate::model::{Activation, Pooling};
use crate::train::settings::LearningRate;

/// Where in the run a snapshot was taken, and the pieces in force then (a snapshot's
/// activations are drawn with the pooling and activation it was trained with).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moment {
    /// Position in epochs (0 is the fresh weights, 2.25 a quarter into epoch 3).
    pub at: f64,
    /// Epoch number, from 1 (the fresh weights are before epoch 1's first batch).
    pub epoch: u32,
    /// Batches done in that epoch.
    pub batch: usize,
    /// Batches in an epoch.
    pub batches: usize,
    /// Pooling at that moment.
    pub pooling: Pooling,
    /// Activation at that moment.
    pub activation: Activation,
    /// SGD learning rate at that moment (timelines written before it was kept read
    /// as the chapter's).
    #[serde(default = "chapter_learning_rate")]
    pub learning_rate: f64,
}

fn chapter_learning_rate() -> f64 {
    LearningRate::CHAPTER.get()
}

/// The confusion matrix of one finished epoch's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochConfusion {
    /// Epoch number, from 1.
    pub epoch: u32,
    /// Test images by true and predicted class.
    pub matrix: ConfusionMatrix,
}

/// Which snapshot a cursor moves to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Seek {
    /// The first (the run's fresh weights).
    Start,
    /// The newest before this position.
    Before(f64),
    /// The oldest after this position.
    After(f64),
    /// The newest at or before this position (to show other images at the same
    /// moment).
    At(f64),
    /// The newest of all.
    End,
}
