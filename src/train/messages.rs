//! The typed messages between the trainer thread and whoever drives it. No Candle
//! type crosses: activations travel as plain `Vec<f32>` with their shape.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::own::{ImageId, ProbeImage};
use crate::engine::{ConfusionMatrix, LayerStats};
use crate::model::explain::{Cell, Explanation};
use crate::model::{Activation, LayerTable, Pooling, Probe};
use crate::train::moments::{EpochConfusion, Moment, Seek};
use crate::train::pace::Pace;
use crate::train::settings::{LearningRate, TrainSettings};

/// What the trainer is told to do; each takes effect before the next batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Stop taking batches until [`Command::Resume`].
    Pause,
    /// Continue after [`Command::Pause`].
    Resume,
    /// Use this pooling from the next batch on; the weights are kept.
    SetPooling(Pooling),
    /// Use this activation from the next batch on; the weights are kept.
    SetActivation(Activation),
    /// Use this SGD learning rate from the next batch on.
    SetLearningRate(LearningRate),
    /// Keep this pace from the next batch on.
    SetPace(Pace),
    /// While paused: train this far, report, and pause again.
    Step(Stride),
    /// Report activations for these images (test images or the user's) from now on.
    SetProbes(Vec<ProbeImage>),
    /// Look back: what the model of the snapshot `Seek` lands on made of the shown
    /// images, answered by [`Event::Recalled`]; training carries on (or stays paused).
    Recall(Seek),
    /// A replay: move the play head to the snapshot `Seek` lands on, answered by
    /// [`Event::Seeked`]. A live run refuses it (it cannot skip ahead or unlearn).
    Seek(Seek),
    /// Work out one value of the network for a shown image (with the weights of the
    /// snapshot at `at`, or the current ones), answered by [`Event::Explained`].
    Explain(ExplainAsk),
    /// The test images of one confusion cell at the newest epoch's evaluation,
    /// answered by [`Event::Gallery`].
    Gallery {
        /// The true class.
        truth: usize,
        /// The class predicted.
        predicted: usize,
    },
    /// Start over from epoch 1 with fresh weights.
    Restart,
    /// Write a checkpoint now; answered by [`Event::Saved`] or [`Event::SaveFailed`].
    Save(SaveReason),
    /// After a divergence: reload the last good checkpoint, divide the learning rate
    /// by ten and go on.
    RestoreLastGood,
    /// End the thread.
    Stop,
}

/// How far a [`Command::Step`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stride {
    /// Exactly one batch.
    Batch,
    /// To the end of the current epoch, its evaluation included.
    Epoch,
}

/// What the trainer reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The run is set up and about to take its first batch.
    Started(RunInfo),
    /// Running figures within an epoch.
    Progress(Progress),
    /// An epoch ended and the test set was evaluated.
    EpochFinished(EpochSummary),
    /// The test set's confusion matrix after an epoch, sent just before its
    /// [`Event::EpochFinished`] from the same evaluation.
    Confusion {
        /// Epoch number, from 1.
        epoch: u32,
        /// Test images by true and predicted class.
        matrix: ConfusionMatrix,
    },
    /// The layer table changed (pooling or activation swapped).
    Layers(LayerTable),
    /// The probe images as the model sees them now.
    Activations {
        /// One report per probe image.
        reports: Vec<ProbeReport>,
        /// The first convolution's kernels at the same moment (none without a conv
        /// layer); they ride in this refresh so the dashboard's output budget covers
        /// them too.
        kernels: Option<ConvKernels>,
        /// A routine refresh while training, not an answer to a command: a
        /// dashboard short of bandwidth may show it late.
        periodic: bool,
    },
    /// The answer to [`Command::Recall`]: the model at a snapshot, or `None` when the
    /// seek went past the newest one (back to live).
    Recalled(Option<PastView>),
    /// The answer to [`Command::Explain`].
    Explained(Explained),
    /// The answer to [`Command::Gallery`].
    Gallery(Gallery),
    /// A replay's play head moved: the charts show `history` (the run up to `at`);
    /// activations at the new position follow.
    Seeked {
        /// The new position, in epochs.
        at: f64,
        /// The snapshot shown there, with the pieces in force then.
        moment: Moment,
        /// The run's figures up to it.
        history: History,
        /// The newest epoch's confusion matrix by then.
        confusion: Option<EpochConfusion>,
    },
    /// The GPU's memory and utilisation (CUDA runs where NVML loads), every few seconds.
    Gpu(crate::device::GpuStats),
    /// A setting or the run state changed at `at` (epochs, fractional).
    Changed {
        /// Position in the run, in epochs.
        at: f64,
        /// What changed.
        change: Change,
    },
    /// A command that could not be carried out; the run goes on.
    Rejected(String),
    /// A checkpoint was written (or the last one still holds this exact state).
    Saved(Saved),
    /// A save asked for ([`Command::Save`]) is under way: the batch in flight has ended.
    Saving(SaveReason),
    /// A checkpoint, or the history beside it, could not be written; the run goes on
    /// and the last good checkpoint stays.
    SaveFailed {
        /// Why it was asked for.
        reason: SaveReason,
        /// What was not written.
        part: SavePart,
        /// What went wrong, naming the file.
        message: String,
        /// About how many bytes the write needed, when known.
        needs: Option<u64>,
    },
    /// Something the run keeps on disk needed care, and the run goes on (a damaged
    /// history set aside on resume).
    Warning {
        /// Which of the run's files.
        part: SavePart,
        /// What happened, naming the file.
        message: String,
    },
    /// The loss became NaN or infinite, or exploded: the trainer paused itself.
    Diverged(Divergence),
    /// The model, settings and history were loaded from a checkpoint (on resume, and
    /// after [`Command::RestoreLastGood`]).
    Restored(Restored),
    /// All epochs are done; the trainer still answers commands until stopped.
    Finished(EpochSummary),
    /// The thread ends after [`Command::Stop`] or when its command channel closes.
    Stopped,
    /// A fatal error; the thread ends.
    Error(String),
    /// Never sent by a trainer: a live run's socket sends it to a viewer before the
    /// run so far (when it attaches, or catches up after falling behind), to forget
    /// what it showed.
    CatchUp,
    /// Never sent by a trainer: the run so far has been sent; what follows is live.
    CaughtUp,
}

/// What a run is made of, sent once it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Where the data came from, in words.
    pub data: String,
    /// The device, in words (`cpu`, `cuda:0`).
    pub device: String,
    /// Training examples.
    pub train_examples: usize,
    /// Test examples.
    pub test_examples: usize,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Batches in one epoch.
    pub batches_per_epoch: usize,
    /// The settings the run starts with.
    pub settings: TrainSettings,
    /// The per-layer table.
    pub layers: LayerTable,
}

/// Running figures within an epoch, averaged over the batches so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Epoch number, from 1.
    pub epoch: u32,
    /// Position in the run in epochs, e.g. 2.4 is 40 % into epoch 3.
    pub at: f64,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches in an epoch.
    pub batches: usize,
    /// Mean cross-entropy over this epoch's examples so far.
    pub train_loss: f64,
    /// Accuracy over this epoch's examples so far.
    pub train_acc: f64,
    /// Training throughput this epoch (pauses excluded).
    pub examples_per_sec: f64,
    /// Each weighted layer's gradient flow and activations on the report's batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerStats>,
}

/// The figures of one finished epoch, as the chapter prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// Epoch number, from 1.
    pub epoch: u32,
    /// Mean cross-entropy over the epoch.
    pub train_loss: f64,
    /// Training accuracy over the epoch.
    pub train_acc: f64,
    /// Accuracy on the whole test set after the epoch.
    pub test_acc: f64,
    /// Training throughput (training batches only, pauses excluded).
    pub examples_per_sec: f64,
    /// Seconds spent on training batches this epoch.
    pub train_seconds: f64,
    /// Seconds spent evaluating the test set.
    pub eval_seconds: f64,
    /// Each weighted layer's figures on the epoch's last batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerStats>,
    /// Accuracy on each class's test images, in label order (NaN for a class with
    /// none); empty in runs saved before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_acc: Vec<f64>,
}

impl EpochSummary {
    /// The class the model gets right least often, and its accuracy.
    pub fn weakest_class(&self) -> Option<(usize, f64)> {
        self.class_acc
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, a)| a.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// A change of setting or state, for chart markers and the status line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Change {
    /// Training paused.
    Paused,
    /// Training resumed.
    Resumed,
    /// Pooling swapped.
    Pooling(Pooling),
    /// Activation swapped.
    Activation(Activation),
    /// Learning rate changed.
    LearningRate(f64),
    /// Pace changed.
    Pace(Pace),
    /// Other probe images chosen.
    Probes(Vec<ImageId>),
    /// Fresh weights, back to epoch 1.
    Restarted,
}

impl Change {
    /// The short label a chart marks a setting change with (`pool max`, `lr 0.1`);
    /// `None` for changes that are not settings.
    pub fn setting_label(&self) -> Option<String> {
        match self {
            Change::Pooling(p) => Some(format!("pool {p}")),
            Change::Activation(a) => Some(format!("act {a}")),
            Change::LearningRate(lr) => Some(format!("lr {lr}")),
            Change::Pace(Pace::Full) => Some("full speed".into()),
            Change::Pace(Pace::PerSecond(n)) => Some(format!("pace {n}")),
            _ => None,
        }
    }
}

/// One probe image and what the model makes of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Which image.
    pub id: ImageId,
    /// True class, if known (the user's images may have none).
    pub label: Option<usize>,
    /// Most probable class.
    pub predicted: usize,
    /// The image, `rows × cols` values in [0, 1].
    pub image: Vec<f32>,
    /// Image rows.
    pub rows: usize,
    /// Image columns.
    pub cols: usize,
    /// Activations and probabilities.
    pub probe: Probe,
}

/// Which value to work out, for which image, with which weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainAsk {
    /// The image.
    pub image: ProbeImage,
    /// The value.
    pub cell: Cell,
    /// The snapshot at this position (epochs), or `None` for the weights now.
    pub at: Option<f64>,
}

/// One value of the network worked out, or why it could not be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    /// The image.
    pub image: ImageId,
    /// The value asked for.
    pub cell: Cell,
    /// The snapshot's position whose weights were used, or `None` for the weights now.
    pub at: Option<f64>,
    /// The arithmetic, or why there is none.
    pub work: Result<Explanation, String>,
}

/// The test images of one confusion cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gallery {
    /// The evaluation's epoch.
    pub epoch: u32,
    /// The true class.
    pub truth: usize,
    /// The class predicted.
    pub predicted: usize,
    /// Each image's index in the test set and its top probability, in test-set order.
    pub images: Vec<(usize, f32)>,
}

/// The model as it was at a snapshot: what it made of the shown images then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastView {
    /// When the snapshot was taken, and the pieces in force then.
    pub moment: Moment,
    /// One report per shown image.
    pub reports: Vec<ProbeReport>,
    /// The first convolution's kernels then.
    pub kernels: Option<ConvKernels>,
    /// The confusion matrix of the newest epoch finished by then.
    pub confusion: Option<EpochConfusion>,
}

/// A convolution layer's weights as plain numbers: `out_channels × in_channels`
/// kernels of `rows × cols`, as Candle stores them (`[out, in, rows, cols]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvKernels {
    /// Output channels (feature maps).
    pub out_channels: usize,
    /// Input channels (1 for grey images).
    pub in_channels: usize,
    /// Kernel rows.
    pub rows: usize,
    /// Kernel columns.
    pub cols: usize,
    /// `out_channels · in_channels · rows · cols` weights, kernel by kernel, row-major.
    pub values: Vec<f32>,
}

impl ConvKernels {
    /// Number of 2-D kernels (`out_channels × in_channels`).
    pub fn count(&self) -> usize {
        self.out_channels * self.in_channels
    }

    /// The `i`-th 2-D kernel: output channel `i / in_channels`, input `i % in_channels`.
    pub fn kernel(&self, i: usize) -> &[f32] {
        let n = self.rows * self.cols;
        &self.values[i * n..(i + 1) * n]
    }
}

/// Why a checkpoint is written; recorded in it and shown by `lenet-tui runs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveReason {
    /// The fresh weights a run starts from: the last good state until epoch 1 ends.
    Start,
    /// The end of an epoch.
    EpochEnd,
    /// The user asked (`w`).
    User,
    /// The user quit.
    Quit,
    /// SIGHUP: the terminal or SSH connection went away.
    Hangup,
    /// SIGTERM.
    Terminate,
    /// SIGINT (Ctrl-C) in headless mode.
    Interrupt,
    /// A panic, with the model still intact.
    Panic,
}

/// What a save keeps on disk: the checkpoint, or the run's history beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavePart {
    /// `ckpt-NNNN/`: weights, settings, position and figures.
    Checkpoint,
    /// `history/timeline.safetensors`: the snapshots for looking back and replay.
    History,
}

impl fmt::Display for SavePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SavePart::Checkpoint => "checkpoint",
            SavePart::History => "history",
        })
    }
}

impl fmt::Display for SaveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SaveReason::Start => "start",
            SaveReason::EpochEnd => "epoch end",
            SaveReason::User => "saved by hand",
            SaveReason::Quit => "quit",
            SaveReason::Hangup => "hang-up (SIGHUP)",
            SaveReason::Terminate => "SIGTERM",
            SaveReason::Interrupt => "Ctrl-C (SIGINT)",
            SaveReason::Panic => "panic",
        })
    }
}

/// A checkpoint on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The checkpoint's directory.
    pub path: PathBuf,
    /// Why it was written.
    pub reason: SaveReason,
    /// Epochs trained when it was taken (fractional).
    pub at: f64,
}

/// Where and how training diverged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// Epoch, from 1.
    pub epoch: u32,
    /// Batch within the epoch, from 1.
    pub batch: usize,
    /// The offending batch loss (NaN, infinite, or exploded).
    pub loss: f64,
    /// The newest checkpoint taken before it, if checkpoints are on.
    pub last_good: Option<PathBuf>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "diverged at epoch {} batch {} (loss {})",
            self.epoch, self.batch, self.loss
        )
    }
}

/// A run state loaded from a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restored {
    /// The checkpoint's directory.
    pub from: PathBuf,
    /// Position in the run, in epochs.
    pub at: f64,
    /// The settings in force from now on.
    pub settings: super::TrainSettings,
    /// Everything the charts showed up to the checkpoint.
    pub history: History,
}

/// A change at a position in the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkedChange {
    /// Position in epochs.
    pub at: f64,
    /// What changed.
    pub change: Change,
}

/// The figures a run has produced: what its charts show, kept in checkpoints so a
/// resumed run continues its curves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Progress reports, thinned to at most [`History::MAX_PROGRESS`].
    pub progress: Vec<Progress>,
    /// Every finished epoch.
    pub epochs: Vec<EpochSummary>,
    /// Setting changes (pooling, activation, learning rate).
    pub changes: Vec<MarkedChange>,
}

impl History {
    /// Progress points kept; beyond this every other one is dropped, so a long run's
    /// checkpoints stay small while its curves keep their shape.
    pub const MAX_PROGRESS: usize = 4096;

    /// Records a progress report.
    pub fn push_progress(&mut self, p: Progress) {
        self.progress.push(p);
        if self.progress.len() > Self::MAX_PROGRESS {
            let mut keep = false;
            self.progress.retain(|_| {
                keep = !keep;
                keep
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_keeps_its_layer_figures_and_old_checkpoints_still_read() {
        let layer = LayerStats {
            layer: "conv1".into(),
            grad_norm: 1.5e-3,
            weight_norm: 1.6,
            update_ratio: 8.4e-4,
            act_mean: 0.52,
            act_std: 0.15,
            saturated: Some(0.0),
            dead: None,
            hist: (0..16).collect(),
            hist_range: [0.0, 1.0],
        };
        let p = Progress {
            epoch: 1,
            at: 0.2,
            batch: 47,
            batches: 235,
            train_loss: 2.3,
            train_acc: 0.1,
            examples_per_sec: 1.0,
            layers: vec![layer],
        };
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains(r#""saturated":0.0,"dead":null"#), "{json}");
        assert_eq!(serde_json::from_str::<Progress>(&json).unwrap(), p);
        // A checkpoint written before layers were measured has no such field.
        let old = r#"{"epoch":1,"at":0.2,"batch":47,"batches":235,"train_loss":2.3,"train_acc":0.1,"examples_per_sec":1.0}"#;
        assert!(
            serde_json::from_str::<Progress>(old)
                .unwrap()
                .layers
                .is_empty()
        );
    }

    #[test]
    fn a_long_history_is_thinned_evenly() {
        let mut h = History::default();
        let n = History::MAX_PROGRESS + 1;
        for i in 0..n {
            h.push_progress(Progress {
                epoch: 1,
                at: i as f64,
                batch: i,
                batches: n,
                train_loss: 1.0,
                train_acc: 0.5,
                examples_per_sec: 1.0,
                layers: Vec::new(),
            });
        }
        assert_eq!(h.progress.len(), n.div_ceil(2));
        assert_eq!(h.progress[0].at, 0.0);
        assert_eq!(h.progress[1].at, 2.0, "every other point kept");
    }
}
