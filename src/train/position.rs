//! Where a run stands: the training loop's running totals, enough to continue it
//! batch for batch (checkpoints store it as it is).

use serde::{Deserialize, Serialize};

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

    /// The epoch so far: mean training loss, training accuracy, examples a second.
    pub fn totals(&self) -> EpochTotals {
        let seen = self.seen.max(1) as f64;
        EpochTotals {
            train_loss: self.loss_sum / seen,
            train_acc: self.correct as f64 / seen,
            examples_per_sec: self.seen as f64 / self.train_seconds.max(1e-9),
        }
    }

    /// Starts the next epoch's tallies.
    pub fn clear_tallies(&mut self) {
        (self.loss_sum, self.correct, self.seen, self.train_seconds) = (0.0, 0, 0, 0.0);
    }
}

/// An epoch's figures so far, as the progress reports and the epoch's summary give them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochTotals {
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy.
    pub train_acc: f64,
    /// Training examples a second (training time only).
    pub examples_per_sec: f64,
}
