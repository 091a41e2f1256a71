//! The dashboard's state and the one place it changes: [`App::on_event`] takes a
//! trainer event and [`App::on_action`] a key action, returning what the event loop
//! should do (commands for the trainer, files to write), whose results come back
//! through [`App::on_effect_done`]. Keys are handled in `actions`.

mod actions;
mod canvas;
mod draw;
mod images;
mod race;

pub use super::effect::{Effect, EffectDone};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::capture::figure::{FigureData, FigureRun, LineStyle};
use crate::capture::gradients::{GradientFigure, GradientPanel};
use crate::data::Dataset;
use crate::data::own::{OwnImage, ProbeImage};
use crate::model::{Activation, LayerTable, Pooling};
use crate::train::{
    Change, Command, ConfusionMatrix, ConvKernels, EpochSummary, Event, History, LearningRate,
    PastView, ProbeReport, RunInfo, SaveReason,
};
use crate::train::{Pace, RunRecipe, Stride, run_labels};
use crate::ui::history::{GradientFlow, PAST_RUNS, PastRun, Series};
use crate::ui::keys::{Action, KeyMap};
use crate::ui::theme::Theme;
pub use canvas::{Canvas, Pen};
pub use draw::Pointer;
pub use images::ImageList;
pub use race::{LaneSummary, RaceView};

/// Where the run is.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Waiting for the trainer's first event.
    Starting,
    /// Taking batches.
    Running,
    /// Paused by the user.
    Paused,
    /// Paused by the trainer: the loss became NaN or exploded (the message says where).
    Diverged(String),
    /// All epochs done; the figures stay up until the user quits.
    Finished,
    /// The trainer failed.
    Error(String),
}

impl RunState {
    /// Whether training may still take batches.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            RunState::Starting | RunState::Running | RunState::Paused | RunState::Diverged(_)
        )
    }
}

/// A modal overlay over the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// The key list.
    Help,
    /// "Quit while training?"
    ConfirmQuit,
    /// "Restart with fresh weights?"
    ConfirmRestart,
    /// The name of an image file to open, as typed so far ([`App::image_prompt`]).
    OpenImage,
}

/// Compare mode, and which image ←/→ move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// One image.
    Off,
    /// Two images; the keys move the left one.
    Left,
    /// Two images; the keys move the right one.
    Right,
}

/// A panel that a key shows and hides, beside the activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Class probabilities of the shown images, as bars.
    Probabilities,
    /// The test set's confusion matrix after the last epoch.
    Confusion,
    /// The first convolution's kernels.
    Kernels,
    /// Gradient flow per layer over the run, and the newest activation statistics.
    Diagnostics,
}

impl Panel {
    /// Every panel, in the order they are laid out.
    pub const ALL: [Panel; 4] = [
        Panel::Probabilities,
        Panel::Confusion,
        Panel::Kernels,
        Panel::Diagnostics,
    ];
}

/// A change of setting drawn as a marker on the charts.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeMark {
    /// Position in epochs.
    pub at: f64,
    /// Short label, e.g. `pool max`.
    pub label: String,
}

/// Everything the dashboard shows.
pub struct App {
    /// Colours and markers.
    pub theme: Theme,
    /// Keys → actions.
    pub keymap: KeyMap,
    /// The data, for test images and class names (plain bytes, no tensors).
    pub dataset: Arc<Dataset>,
    /// Run facts from the trainer's start event.
    pub info: Option<RunInfo>,
    /// Run state.
    pub state: RunState,
    /// Epochs in the run.
    pub epochs: u32,
    /// Position in the run, in epochs.
    pub at: f64,
    /// The last reported batch within its epoch, and the epoch's batches.
    pub batch: Option<(usize, usize)>,
    /// Current training throughput.
    pub examples_per_sec: Option<f64>,
    /// Current pooling.
    pub pooling: Pooling,
    /// Current activation.
    pub activation: Activation,
    /// Current learning rate.
    pub learning_rate: f64,
    /// The pace training keeps.
    pub pace: Pace,
    /// The per-layer table.
    pub layers: Option<LayerTable>,
    /// Train loss over epochs.
    pub loss: Series,
    /// Train accuracy over epochs.
    pub train_acc: Series,
    /// Test accuracy at epoch ends.
    pub test_acc: Series,
    /// Each layer's gradient norm over the run, and the newest layer statistics.
    pub gradients: GradientFlow,
    /// Setting changes, for chart markers.
    pub changes: Vec<ChangeMark>,
    /// The images `←`/`→` move through: the user's, then the test set's.
    pub images: ImageList,
    /// Positions in `images` of the images shown: left, right.
    pub probes: [usize; 2],
    /// Compare mode.
    pub compare: Compare,
    /// Draw mode's canvas, in place of the left image while drawing.
    pub drawing: Option<Canvas>,
    /// The file name typed into the open-image prompt.
    pub image_prompt: String,
    /// The shown images changed outside a key (an image file loaded): the trainer is
    /// told at the next [`App::tick`].
    pub probes_changed: bool,
    /// The latest activations, one per shown image.
    pub activations: Vec<ProbeReport>,
    /// The first convolution's kernels, as of the latest activations.
    pub kernels: Option<ConvKernels>,
    /// The test set's confusion matrix after the last finished epoch.
    pub confusion: Option<ConfusionMatrix>,
    /// The epoch `confusion` is from.
    pub confusion_epoch: u32,
    /// The optional panels shown, in [`Panel::ALL`] order.
    pub panels: Vec<Panel>,
    /// What the current run started with, which names its curves beside past runs'.
    pub recipe: RunRecipe,
    /// Earlier runs of this session (oldest first, at most [`PAST_RUNS`]), drawn faintly.
    pub past_runs: Vec<PastRun>,
    /// The last finished epoch.
    pub last_epoch: Option<EpochSummary>,
    /// Seconds the last test evaluation took, for the ETA.
    pub eval_seconds: f64,
    /// A modal overlay, if any.
    pub overlay: Option<Overlay>,
    /// The status line message.
    pub status: Option<String>,
    /// Leave once training finishes.
    pub exit_on_finish: bool,
    /// The GPU's memory and utilisation, last reported.
    pub gpu: Option<crate::device::GpuStats>,
    /// Bytes a second routine heatmap refreshes keep the terminal output within.
    pub max_output: Option<f64>,
    /// Set when the dashboard should close.
    pub should_quit: bool,
    /// Whether an asciicast recording is running (the header shows ● REC).
    pub recording: bool,
    /// The newest checkpoint written.
    pub last_checkpoint: Option<PathBuf>,
    /// Looking back: the model at a snapshot of the run, shown instead of the live one
    /// while set (training carries on behind it).
    pub past: Option<PastView>,
    /// Replaying a saved run (its name): nothing trains, the keys move the play head.
    pub replay: Option<String>,
    /// A race: the other variants' runs and which one is in focus.
    pub race: Option<RaceView>,
}

impl App {
    /// A dashboard for `dataset`, before the trainer has said anything.
    pub fn new(dataset: Arc<Dataset>, theme: Theme, keymap: KeyMap) -> Self {
        // Exercise 4 of the chapter: a pullover beside a coat.
        let first = |class| dataset.test.first_of_class(class).unwrap_or(0);
        let probes = [first(2), first(4)];
        let images = ImageList::new(Vec::new(), dataset.test.len());
        Self {
            theme,
            keymap,
            dataset,
            info: None,
            state: RunState::Starting,
            epochs: 0,
            at: 0.0,
            batch: None,
            examples_per_sec: None,
            pooling: Pooling::Avg,
            activation: Activation::Sigmoid,
            learning_rate: LearningRate::CHAPTER.get(),
            pace: Pace::Full,
            layers: None,
            loss: Series::new(),
            train_acc: Series::new(),
            test_acc: Series::new(),
            gradients: GradientFlow::default(),
            changes: Vec::new(),
            images,
            probes,
            compare: Compare::Off,
            drawing: None,
            image_prompt: String::new(),
            probes_changed: false,
            activations: Vec::new(),
            kernels: None,
            confusion: None,
            confusion_epoch: 0,
            panels: Vec::new(),
            recipe: RunRecipe {
                pooling: Pooling::Avg,
                activation: Activation::Sigmoid,
                learning_rate: LearningRate::CHAPTER.get(),
            },
            past_runs: Vec::new(),
            last_epoch: None,
            eval_seconds: 0.0,
            overlay: None,
            status: None,
            exit_on_finish: false,
            gpu: None,
            max_output: Some(f64::from(super::budget::DEFAULT_KB_PER_SEC) * 1000.0),
            should_quit: false,
            recording: false,
            last_checkpoint: None,
            past: None,
            replay: None,
            race: None,
        }
    }

    /// The reports of the shown images: the past's while looking back, else the live.
    pub fn shown_activations(&self) -> &[ProbeReport] {
        self.past.as_ref().map_or(&self.activations, |p| &p.reports)
    }

    /// The first layer's kernels as shown (the past's while looking back).
    pub fn shown_kernels(&self) -> Option<&ConvKernels> {
        match &self.past {
            Some(p) => p.kernels.as_ref(),
            None => self.kernels.as_ref(),
        }
    }

    /// The confusion matrix shown and its epoch (while looking back: the newest epoch
    /// finished by then).
    pub fn shown_confusion(&self) -> Option<(&ConfusionMatrix, u32)> {
        match &self.past {
            Some(p) => p.confusion.as_ref().map(|c| (&c.matrix, c.epoch)),
            None => self.confusion.as_ref().map(|m| (m, self.confusion_epoch)),
        }
    }

    /// The commands to send when the trainer starts: which images to probe.
    pub fn initial_commands(&self) -> Vec<Command> {
        vec![self.probe_command()]
    }

    /// The images currently shown.
    pub fn shown_probes(&self) -> Vec<ProbeImage> {
        let shown = match self.compare {
            Compare::Off => &self.probes[..1],
            _ => &self.probes[..],
        };
        let mut images: Vec<ProbeImage> = shown.iter().map(|&p| self.images.get(p)).collect();
        if let Some(drawing) = self.drawing_image() {
            images[0] = drawing;
        }
        images
    }

    /// The report shown for `image`, if one has come.
    pub fn report_for(&self, image: &ProbeImage) -> Option<&ProbeReport> {
        let id = image.id();
        self.shown_activations().iter().find(|r| r.id == id)
    }

    /// The user's images first in the list, the first of them shown on the left
    /// (the right keeps its test image).
    pub fn add_own_images(&mut self, own: Vec<Arc<OwnImage>>) {
        if own.is_empty() {
            return;
        }
        let added = own.len();
        for image in own.into_iter().rev() {
            self.images.push_front(image);
        }
        self.probes = [0, self.probes[1] + added];
    }

    fn probe_command(&self) -> Command {
        Command::SetProbes(self.shown_probes())
    }

    /// Applies a trainer event.
    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Started(info) => {
                self.epochs = info.settings.epochs.get();
                self.pooling = info.settings.pooling;
                self.activation = info.settings.activation;
                self.learning_rate = info.settings.learning_rate.get();
                self.pace = info.settings.pace;
                self.recipe = self.current_recipe();
                self.layers = Some(info.layers.clone());
                self.info = Some(info);
                if self.state == RunState::Starting {
                    self.state = RunState::Running;
                }
            }
            Event::Progress(p) => {
                self.at = p.at;
                self.batch = Some((p.batch, p.batches));
                self.examples_per_sec = Some(p.examples_per_sec);
                self.loss.push(p.at, p.train_loss);
                self.train_acc.push(p.at, p.train_acc);
                self.gradients.push(p.at, &p.layers);
            }
            Event::EpochFinished(e) => {
                self.at = f64::from(e.epoch);
                self.test_acc.push(f64::from(e.epoch), e.test_acc);
                self.eval_seconds = e.eval_seconds;
                self.last_epoch = Some(e);
            }
            Event::Layers(table) => self.layers = Some(table),
            Event::Gpu(stats) => self.gpu = Some(stats),
            // The answer (saved or not) is what the screen shows.
            Event::Saving(_) => {}
            Event::Activations {
                reports, kernels, ..
            } => {
                self.activations = reports;
                self.kernels = kernels;
            }
            Event::Confusion { epoch, matrix } => {
                self.confusion = Some(matrix);
                self.confusion_epoch = epoch;
            }
            Event::Changed { at, change } => self.on_change(at, change),
            Event::Recalled(Some(view)) => {
                if self.past.is_none() {
                    self.status = Some(format!(
                        "looking back: {} / {} step, {} first snapshot, {} back to live",
                        self.keymap.name(Action::HistoryBack),
                        self.keymap.name(Action::HistoryForward),
                        self.keymap.name(Action::HistoryStart),
                        self.keymap.name(Action::HistoryEnd)
                    ));
                }
                self.past = Some(view);
            }
            Event::Recalled(None) => {
                if self.past.take().is_some() {
                    self.status = Some("back to live".into());
                }
            }
            Event::Seeked {
                at,
                moment,
                history,
                confusion,
            } => {
                self.load_history(&history);
                self.pooling = moment.pooling;
                self.activation = moment.activation;
                self.learning_rate = moment.learning_rate;
                self.at = at;
                self.batch = history.progress.last().map(|p| (p.batch, p.batches));
                self.examples_per_sec = history.progress.last().map(|p| p.examples_per_sec);
                (self.confusion, self.confusion_epoch) = match confusion {
                    Some(c) => (Some(c.matrix), c.epoch),
                    None => (None, 0),
                };
            }
            Event::Rejected(why) => self.status = Some(why),
            Event::Finished(e) => {
                self.state = RunState::Finished;
                self.status = Some(match &self.replay {
                    Some(_) => format!(
                        "end of the replay: test acc {:.3} after {} epochs; {} plays it again",
                        e.test_acc,
                        e.epoch,
                        self.keymap.name(Action::HistoryStart)
                    ),
                    None => format!(
                        "finished: test acc {:.3} after {} epochs",
                        e.test_acc, e.epoch
                    ),
                });
                self.last_epoch = Some(e);
                if self.exit_on_finish {
                    self.should_quit = true;
                }
            }
            Event::Saved(saved) => {
                // Routine saves stay out of the status line; asked-for ones answer there.
                if !matches!(saved.reason, SaveReason::Start | SaveReason::EpochEnd) {
                    self.status = Some(format!(
                        "checkpoint saved: {}",
                        short_checkpoint(&saved.path)
                    ));
                }
                self.last_checkpoint = Some(saved.path);
            }
            Event::SaveFailed { part, message, .. } => {
                self.status = Some(format!("{part} not saved: {message}"));
            }
            Event::Warning { part, message } => {
                self.status = Some(format!("{part}: {message}"));
            }
            Event::Diverged(d) => {
                // The notice over the charts says what to do about it.
                self.status = Some(format!("training {d}"));
                self.state = RunState::Diverged(d.to_string());
            }
            Event::Restored(r) => {
                self.epochs = r.settings.epochs.get();
                self.pooling = r.settings.pooling;
                self.activation = r.settings.activation;
                self.learning_rate = r.settings.learning_rate.get();
                self.pace = r.settings.pace;
                self.load_history(&r.history);
                self.at = r.at;
                self.state = RunState::Running;
                self.status = Some(format!(
                    "restored {} (epoch {:.2})",
                    short_checkpoint(&r.from),
                    r.at
                ));
                self.last_checkpoint = Some(r.from);
            }
            Event::Stopped => {
                if self.state.is_active() {
                    self.state = RunState::Error("the trainer stopped unexpectedly".into());
                }
            }
            Event::Error(message) => {
                self.status = Some(format!("error: {message}"));
                self.state = RunState::Error(message);
            }
        }
    }

    /// Replaces the charts with a checkpoint's history.
    fn load_history(&mut self, history: &History) {
        self.loss = Series::new();
        self.train_acc = Series::new();
        self.test_acc = Series::new();
        self.gradients = GradientFlow::default();
        for p in &history.progress {
            self.loss.push(p.at, p.train_loss);
            self.train_acc.push(p.at, p.train_acc);
            self.gradients.push(p.at, &p.layers);
        }
        for e in &history.epochs {
            self.test_acc.push(f64::from(e.epoch), e.test_acc);
        }
        self.changes = history
            .changes
            .iter()
            // A replay keeps a pace of its own: the run's do not apply.
            .filter(|c| self.replay.is_none() || !matches!(c.change, Change::Pace(_)))
            .filter_map(|c| {
                c.change
                    .setting_label()
                    .map(|label| ChangeMark { at: c.at, label })
            })
            .collect();
        self.last_epoch = history.epochs.last().cloned();
        if let Some(e) = &self.last_epoch {
            self.eval_seconds = e.eval_seconds;
        }
    }

    fn on_change(&mut self, at: f64, change: Change) {
        if let Some(label) = change.setting_label() {
            self.changes.push(ChangeMark { at, label });
        }
        match change {
            Change::Paused => {
                self.state = RunState::Paused;
                self.status = Some(match &self.replay {
                    Some(_) => format!(
                        "paused: {} / {} step through the run, {} plays",
                        self.keymap.name(Action::HistoryBack),
                        self.keymap.name(Action::HistoryForward),
                        self.keymap.name(Action::TogglePause)
                    ),
                    None => format!(
                        "paused: {} trains one batch, {} to the end of the epoch",
                        self.keymap.name(Action::StepBatch),
                        self.keymap.name(Action::StepEpoch)
                    ),
                });
            }
            Change::Resumed => {
                self.state = RunState::Running;
                self.status = Some("resumed".into());
            }
            Change::Pooling(p) => self.pooling = p,
            Change::Activation(a) => self.activation = a,
            Change::LearningRate(lr) => self.learning_rate = lr,
            Change::Pace(p) => self.pace = p,
            Change::Probes(_) => {}
            Change::Restarted => {
                self.keep_past_run();
                self.past = None;
                self.recipe = self.current_recipe();
                self.confusion = None;
                self.changes.clear();
                self.last_epoch = None;
                self.at = 0.0;
                self.state = RunState::Running;
                self.status = Some("restarted with fresh weights".into());
            }
        }
    }

    /// The settings in force now, as a run recipe.
    fn current_recipe(&self) -> RunRecipe {
        RunRecipe {
            pooling: self.pooling,
            activation: self.activation,
            learning_rate: self.learning_rate,
        }
    }

    /// Moves the current curves to the past runs (dropping the oldest beyond
    /// [`PAST_RUNS`]) and starts empty ones; a run with nothing plotted is not kept.
    fn keep_past_run(&mut self) {
        let run = PastRun {
            recipe: self.recipe,
            loss: std::mem::take(&mut self.loss),
            train_acc: std::mem::take(&mut self.train_acc),
            test_acc: std::mem::take(&mut self.test_acc),
        };
        // Gradient flow is shown for the current run only.
        self.gradients = GradientFlow::default();
        if run.loss.points().is_empty() && run.test_acc.points().is_empty() {
            return;
        }
        self.past_runs.push(run);
        if self.past_runs.len() > PAST_RUNS {
            self.past_runs.remove(0);
        }
    }

    /// Curve labels when past runs are shown: one per past run (oldest first), then
    /// the current run's; `None` while there is only the current run.
    pub fn curve_labels(&self) -> Option<(Vec<String>, String)> {
        if self.past_runs.is_empty() {
            return None;
        }
        let mut recipes: Vec<RunRecipe> = self.past_runs.iter().map(|r| r.recipe).collect();
        recipes.push(self.recipe);
        let mut labels = run_labels(&recipes);
        let current = labels.pop().unwrap_or_default();
        Some((labels, current))
    }

    /// Seconds left, from the current throughput and the last evaluation time.
    pub fn eta_seconds(&self) -> Option<f64> {
        let info = self.info.as_ref()?;
        // Training goes at the pace when it is slower than the machine.
        let measured = self.examples_per_sec.filter(|s| *s > 0.0)?;
        let speed = self
            .pace
            .per_second()
            .map_or(measured, |p| measured.min(f64::from(p)));
        if !self.state.is_active() {
            return None;
        }
        let remaining_epochs = (f64::from(self.epochs) - self.at).max(0.0);
        // A replay's evaluations are already done.
        let evals_left = match self.replay {
            Some(_) => 0.0,
            None => f64::from(self.epochs) - self.at.floor(),
        };
        Some(remaining_epochs * info.train_examples as f64 / speed + evals_left * self.eval_seconds)
    }

    /// The chart series as plain data for the training figure: the current run, and
    /// the earlier runs faintly beneath it, as the charts show them.
    pub fn figure_data(&self) -> FigureData {
        let run = |label: String, line, [loss, train, test]: [&Series; 3]| FigureRun {
            label,
            line,
            train_loss: loss.points().to_vec(),
            train_acc: train.points().to_vec(),
            test_acc: test.points().to_vec(),
        };
        let current = [&self.loss, &self.train_acc, &self.test_acc];
        // A race: every variant, each in a line style of its own, in race order.
        let runs = if let Some(race) = &self.race {
            race.labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    run(
                        format!("{} {l}", i + 1),
                        LineStyle::EACH[i % LineStyle::EACH.len()],
                        self.lane_series(i),
                    )
                })
                .collect()
        } else {
            match self.curve_labels() {
                None => vec![run(String::new(), LineStyle::Solid, current)],
                Some((past, label)) => self
                    .past_runs
                    .iter()
                    .zip(past)
                    .map(|(r, l)| run(l, LineStyle::Faint, [&r.loss, &r.train_acc, &r.test_acc]))
                    .chain(std::iter::once(run(label, LineStyle::Solid, current)))
                    .collect(),
            }
        };
        let title = match &self.race {
            Some(race) => format!(
                "LeNet-5 on Fashion-MNIST: a race of {}",
                race.labels.join(", ")
            ),
            None => format!(
                "LeNet-5 on Fashion-MNIST: {} pooling, {}, lr {}",
                self.pooling, self.activation, self.learning_rate
            ),
        };
        FigureData {
            title,
            epochs: f64::from(self.epochs.max(1)),
            runs,
            changes: self.change_labels(),
        }
    }

    /// (epoch, label) of each setting change, for the figures.
    fn change_labels(&self) -> Vec<(f64, String)> {
        self.changes
            .iter()
            .map(|c| (c.at, c.label.clone()))
            .collect()
    }

    /// The gradient-flow figure of the current run, as the panel shows it.
    pub fn gradient_figure_data(&self) -> GradientFigure {
        let layers = self
            .gradients
            .layers
            .iter()
            .map(|(name, series)| {
                let points = series.points().iter().map(|&(x, y)| (x, 10f64.powf(y)));
                (name.clone(), points.collect())
            })
            .collect();
        GradientFigure {
            title: format!(
                "Gradient flow: LeNet-5, {} pooling, {}, lr {}",
                self.pooling, self.activation, self.learning_rate
            ),
            epochs: f64::from(self.epochs.max(1)),
            panels: vec![GradientPanel {
                label: String::new(),
                layers,
                changes: self.change_labels(),
            }],
        }
    }

    /// Takes in what carrying out an effect came to.
    pub fn on_effect_done(&mut self, done: EffectDone) {
        match &done {
            EffectDone::RecordingStarted(Ok(_)) | EffectDone::RecordingFromStart => {
                self.recording = true;
            }
            EffectDone::RecordingStopped(_) | EffectDone::RecordingLost(_) => {
                self.recording = false;
            }
            EffectDone::DrawingSaved { .. } => self.drawing_saved(&done),
            EffectDone::ImageOpened(Ok(image)) => {
                self.add_own_images(vec![Arc::clone(image)]);
                self.probes_changed = true;
            }
            _ => {}
        }
        let quiet = matches!(
            done,
            EffectDone::Figure {
                result: Ok(_),
                asked: false
            }
        );
        if let Some(message) = done.message().filter(|_| !quiet) {
            self.status = Some(message);
        }
    }

    /// File stem for a capture made at `now` (the caller reads the clock).
    pub fn capture_stem(&self, now: chrono::DateTime<chrono::Local>) -> String {
        crate::capture::dir::stem(
            now,
            self.at.floor() as u32,
            &self.pooling.to_string(),
            &self.activation.to_string(),
        )
    }

    /// The epoch in progress (1-based), for the header.
    pub fn current_epoch(&self) -> u32 {
        // 2.4 is in epoch 3; 3.0 is the end of epoch 3, not the start of epoch 4.
        (self.at.ceil() as u32).clamp(1, self.epochs.max(1))
    }
}

/// `run/ckpt-0003` of a checkpoint path: enough to recognise it in the status line.
fn short_checkpoint(path: &Path) -> String {
    let parts: Vec<_> = path.iter().rev().take(2).collect();
    match parts.as_slice() {
        [ckpt, run] => format!("{}/{}", run.to_string_lossy(), ckpt.to_string_lossy()),
        _ => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests;
