//! A run's past, for time travel and replay: the weights as they were at every
//! progress report, thinned as the run grows so that they stay within a memory bound,
//! and the confusion matrix of every finished epoch. The trainer keeps one while it
//! trains and writes it to the run's `history/` (see [`file`]); `lenet-tui replay`
//! reads it back.

pub mod file;
mod recall;

pub use super::moments::{EpochConfusion, Moment, Seek};
pub use recall::PastModel;

use super::messages::{History, Progress};
use crate::engine::ConfusionMatrix;

/// Default memory for a run's snapshots (`[history] memory_mb`): the chapter's 51
/// snapshots of 247 KB fit four times over.
pub const DEFAULT_MEMORY_MB: u32 = 64;

/// Default size of a run's saved history (`[history] file_mb`): the chapter's run at
/// five snapshots an epoch (12.6 MB) whole; a dashboard run's forty an epoch, every
/// third.
pub const DEFAULT_FILE_MB: u32 = 20;

/// How a run keeps its past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    /// Megabytes the snapshots keep within.
    pub memory_mb: u32,
    /// Megabytes the saved file keeps within (its snapshots thinned evenly from those
    /// kept in memory).
    pub file_mb: u32,
    /// Whether the run writes them to its `history/` (with its checkpoints).
    pub save: bool,
}

impl Default for HistoryPolicy {
    fn default() -> Self {
        Self {
            memory_mb: DEFAULT_MEMORY_MB,
            file_mb: DEFAULT_FILE_MB,
            save: true,
        }
    }
}

/// Two positions closer than this (in epochs) are the same moment.
const SAME_MOMENT: f64 = 1e-9;

/// The weights at one moment, parameter by parameter in the timeline's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When.
    pub moment: Moment,
    /// One flat vector per parameter.
    pub weights: Vec<Vec<f32>>,
}

/// Which snapshots to keep: every `stride`-th one offered, and always the newest.
/// When more than `capacity` would be kept the stride doubles, so the kept ones stay
/// evenly spread over the run, the first among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thinning {
    capacity: usize,
    stride: u64,
}

impl Thinning {
    /// At most `capacity` snapshots (never fewer than two: the first and the newest).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(2),
            stride: 1,
        }
    }

    /// At most as many snapshots of `bytes_each` as fit in `memory_mb` megabytes.
    pub fn within(memory_mb: u32, bytes_each: usize) -> Self {
        Self::new((u64::from(memory_mb) << 20) as usize / bytes_each.max(1))
    }

    /// Snapshots kept at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the `seq`-th snapshot offered stays once newer ones come.
    fn on_grid(&self, seq: u64) -> bool {
        seq.is_multiple_of(self.stride)
    }
}

/// A run's snapshots and per-epoch confusion matrices.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Parameter names and shapes, in the order each snapshot holds them.
    parameters: Vec<(String, Vec<usize>)>,
    thinning: Thinning,
    /// Snapshots offered so far.
    offered: u64,
    /// Kept snapshots with their sequence numbers, oldest first.
    snapshots: Vec<(u64, Snapshot)>,
    confusions: Vec<EpochConfusion>,
}

impl Timeline {
    /// An empty timeline for a model with `parameters`, within `memory_mb` megabytes.
    pub fn new(parameters: Vec<(String, Vec<usize>)>, memory_mb: u32) -> Self {
        let bytes = snapshot_bytes(&parameters);
        Self {
            parameters,
            thinning: Thinning::within(memory_mb, bytes),
            offered: 0,
            snapshots: Vec::new(),
            confusions: Vec::new(),
        }
    }

    /// A timeline with `thinning` instead of a memory bound (for tests and replay).
    pub fn with_thinning(parameters: Vec<(String, Vec<usize>)>, thinning: Thinning) -> Self {
        Self {
            thinning,
            ..Self::new(parameters, 1)
        }
    }

    /// Parameter names and shapes, in snapshot order.
    pub fn parameters(&self) -> &[(String, Vec<usize>)] {
        &self.parameters
    }

    /// Parameter names, in snapshot order.
    pub fn parameter_names(&self) -> Vec<String> {
        self.parameters.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Bytes of one snapshot's weights.
    pub fn snapshot_bytes(&self) -> usize {
        snapshot_bytes(&self.parameters)
    }

    /// Keeps `snapshot` as the newest, thinning the older ones if need be.
    pub fn push(&mut self, snapshot: Snapshot) {
        // A second snapshot of the same moment (a report after a step, say) replaces it.
        if let Some((_, last)) = self.snapshots.last_mut()
            && (last.moment.at - snapshot.moment.at).abs() < SAME_MOMENT
        {
            *last = snapshot;
            return;
        }
        // The previous newest was kept only for being newest.
        if let Some(&(seq, _)) = self.snapshots.last()
            && self.snapshots.len() > 1
            && !self.thinning.on_grid(seq)
        {
            self.snapshots.pop();
        }
        self.snapshots.push((self.offered, snapshot));
        self.offered += 1;
        while self.snapshots.len() > self.thinning.capacity {
            self.thinning.stride *= 2;
            let newest = self.snapshots.len() - 1;
            let thinning = self.thinning;
            let mut i = 0;
            self.snapshots.retain(|(seq, _)| {
                let keep = thinning.on_grid(*seq) || i == newest;
                i += 1;
                keep
            });
        }
    }

    /// Records an epoch's confusion matrix.
    pub fn push_confusion(&mut self, epoch: u32, matrix: ConfusionMatrix) {
        self.confusions.retain(|c| c.epoch < epoch);
        self.confusions.push(EpochConfusion { epoch, matrix });
    }

    /// Forgets everything after `at` (the run went back to a checkpoint there).
    pub fn truncate(&mut self, at: f64) {
        self.snapshots
            .retain(|(_, s)| s.moment.at <= at + SAME_MOMENT);
        self.confusions
            .retain(|c| f64::from(c.epoch) <= at + SAME_MOMENT);
    }

    /// Forgets everything (fresh weights make a new run).
    pub fn clear(&mut self) {
        let parameters = std::mem::take(&mut self.parameters);
        *self = Self::with_thinning(parameters, Thinning::new(self.thinning.capacity));
    }

    /// The kept snapshots, oldest first.
    pub fn snapshots(&self) -> impl DoubleEndedIterator<Item = &Snapshot> + ExactSizeIterator + '_ {
        self.snapshots.iter().map(|(_, s)| s)
    }

    /// At most `at_most` of the kept snapshots, evenly spread over them: every k-th
    /// from the first, and the newest.
    pub fn spread(&self, at_most: usize) -> Vec<&Snapshot> {
        let n = self.snapshots.len();
        let at_most = at_most.max(2);
        if n <= at_most {
            return self.snapshots().collect();
        }
        // k-th ones from 0, plus the newest, make at most `at_most`.
        let k = (n - 1).div_ceil(at_most - 1);
        self.snapshots()
            .enumerate()
            .filter(|&(i, _)| i % k == 0 || i == n - 1)
            .map(|(_, s)| s)
            .collect()
    }

    /// Number of kept snapshots.
    pub fn len(&self) -> usize {
        self.snapshots.len()
    }

    /// Whether no snapshot is kept.
    pub fn is_empty(&self) -> bool {
        self.snapshots.is_empty()
    }

    /// The finished epochs' confusion matrices, in epoch order.
    pub fn confusions(&self) -> &[EpochConfusion] {
        &self.confusions
    }

    /// The snapshot `seek` lands on, if there is one.
    pub fn find(&self, seek: Seek) -> Option<&Snapshot> {
        let mut all = self.snapshots();
        match seek {
            Seek::Start => all.next(),
            Seek::End => all.last(),
            Seek::Before(at) => all.rev().find(|s| s.moment.at < at - SAME_MOMENT),
            Seek::After(at) => all.find(|s| s.moment.at > at + SAME_MOMENT),
            Seek::At(at) => all.rev().find(|s| s.moment.at <= at + SAME_MOMENT),
        }
    }

    /// The confusion matrix of the newest epoch finished by `at`.
    pub fn confusion_at(&self, at: f64) -> Option<&EpochConfusion> {
        self.confusions
            .iter()
            .rev()
            .find(|c| f64::from(c.epoch) <= at + SAME_MOMENT)
    }
}

/// Bytes of one snapshot of `parameters`.
fn snapshot_bytes(parameters: &[(String, Vec<usize>)]) -> usize {
    parameters
        .iter()
        .map(|(_, shape)| shape.iter().product::<usize>() * size_of::<f32>())
        .sum()
}

/// A run's figures cut at `at`: what its charts showed at that moment.
pub fn history_until(history: &History, at: f64) -> History {
    let until = |x: f64| x <= at + SAME_MOMENT;
    History {
        progress: history
            .progress
            .iter()
            .filter(|p: &&Progress| until(p.at))
            .cloned()
            .collect(),
        epochs: history
            .epochs
            .iter()
            .filter(|e| until(f64::from(e.epoch)))
            .cloned()
            .collect(),
        changes: history
            .changes
            .iter()
            .filter(|c| until(c.at))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests;
