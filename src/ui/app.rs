//! The dashboard's state and the one place it changes: [`App::on_event`] takes a
//! trainer event and [`App::on_action`] a key action, returning what the event loop
//! should do (commands for the trainer, files to write).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::capture::figure::{FigureData, FigureRun, LineStyle};
use crate::data::Dataset;
use crate::model::{Activation, LayerTable, Pooling};
use crate::train::{
    Change, Command, ConfusionMatrix, ConvKernels, EpochSummary, Event, History, LearningRate,
    ProbeReport, RunInfo, SaveReason,
};
use crate::train::{RunRecipe, run_labels};
use crate::ui::history::{PAST_RUNS, PastRun, Series};
use crate::ui::keys::{Action, KeyMap};
use crate::ui::theme::Theme;

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
}

impl Panel {
    /// Every panel, in the order they are laid out.
    pub const ALL: [Panel; 3] = [Panel::Probabilities, Panel::Confusion, Panel::Kernels];
}

/// What a key asks for beyond a state change: a trainer command, or file output that
/// the event loop carries out (the state itself never does I/O).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this to the trainer.
    Trainer(Command),
    /// Save the current frame as SVG, PNG and text.
    Screenshot,
    /// Start or stop recording.
    ToggleRecording,
    /// Save the training figure.
    Figure,
}

/// What carrying out an [`Effect`] came to, fed back to [`App::on_effect_done`] so
/// that the state changes only here. Paths are as the status line shows them.
#[derive(Debug, Clone, PartialEq)]
pub enum EffectDone {
    /// A screenshot's files (`…/name.{svg,png,txt}`), or where and why it failed.
    Screenshot(Result<String, String>),
    /// The training figure's files, or where and why it failed; `asked` when a key
    /// asked for it (the figure saved at the end of a run reports only failures).
    Figure {
        /// The files, or where and why not.
        result: Result<String, String>,
        /// Whether the user asked for it.
        asked: bool,
    },
    /// A recording the user started: its file, or where and why it failed.
    RecordingStarted(Result<String, String>),
    /// A recording that runs from the first frame (`--record`).
    RecordingFromStart,
    /// The user stopped the recording, saved in this file.
    RecordingStopped(String),
    /// The recording stopped by itself (a full disk), and why.
    RecordingLost(String),
}

impl EffectDone {
    /// The line for the status bar and the log, if there is one to tell.
    pub fn message(&self) -> Option<String> {
        match self {
            EffectDone::Screenshot(Ok(files)) => Some(format!("saved {files}")),
            EffectDone::Screenshot(Err(why)) => Some(format!("screenshot failed: {why}")),
            EffectDone::Figure {
                result: Ok(files), ..
            } => Some(format!("figure saved: {files}")),
            EffectDone::Figure {
                result: Err(why), ..
            } => Some(format!("figure failed: {why}")),
            EffectDone::RecordingStarted(Ok(file)) => Some(format!("recording to {file}")),
            EffectDone::RecordingStarted(Err(why)) => Some(format!("recording failed: {why}")),
            EffectDone::RecordingFromStart => None,
            EffectDone::RecordingStopped(file) => Some(format!("recording saved: {file}")),
            EffectDone::RecordingLost(why) => Some(why.clone()),
        }
    }
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
    /// Current training throughput.
    pub examples_per_sec: Option<f64>,
    /// Current pooling.
    pub pooling: Pooling,
    /// Current activation.
    pub activation: Activation,
    /// Current learning rate.
    pub learning_rate: f64,
    /// The per-layer table.
    pub layers: Option<LayerTable>,
    /// Train loss over epochs.
    pub loss: Series,
    /// Train accuracy over epochs.
    pub train_acc: Series,
    /// Test accuracy at epoch ends.
    pub test_acc: Series,
    /// Setting changes, for chart markers.
    pub changes: Vec<ChangeMark>,
    /// Test images shown: left, right.
    pub probes: [usize; 2],
    /// Compare mode.
    pub compare: Compare,
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
}

impl App {
    /// A dashboard for `dataset`, before the trainer has said anything.
    pub fn new(dataset: Arc<Dataset>, theme: Theme, keymap: KeyMap) -> Self {
        // Exercise 4 of the chapter: a pullover beside a coat.
        let first = |class| dataset.test.first_of_class(class).unwrap_or(0);
        let probes = [first(2), first(4)];
        Self {
            theme,
            keymap,
            dataset,
            info: None,
            state: RunState::Starting,
            epochs: 0,
            at: 0.0,
            examples_per_sec: None,
            pooling: Pooling::Avg,
            activation: Activation::Sigmoid,
            learning_rate: LearningRate::CHAPTER.get(),
            layers: None,
            loss: Series::new(),
            train_acc: Series::new(),
            test_acc: Series::new(),
            changes: Vec::new(),
            probes,
            compare: Compare::Off,
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
        }
    }

    /// The commands to send when the trainer starts: which images to probe.
    pub fn initial_commands(&self) -> Vec<Command> {
        vec![self.probe_command()]
    }

    /// The test images currently shown.
    pub fn shown_probes(&self) -> Vec<usize> {
        match self.compare {
            Compare::Off => vec![self.probes[0]],
            _ => self.probes.to_vec(),
        }
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
                self.recipe = self.current_recipe();
                self.layers = Some(info.layers.clone());
                self.info = Some(info);
                if self.state == RunState::Starting {
                    self.state = RunState::Running;
                }
            }
            Event::Progress(p) => {
                self.at = p.at;
                self.examples_per_sec = Some(p.examples_per_sec);
                self.loss.push(p.at, p.train_loss);
                self.train_acc.push(p.at, p.train_acc);
            }
            Event::EpochFinished(e) => {
                self.at = f64::from(e.epoch);
                self.test_acc.push(f64::from(e.epoch), e.test_acc);
                self.eval_seconds = e.eval_seconds;
                self.last_epoch = Some(e);
            }
            Event::Layers(table) => self.layers = Some(table),
            Event::Gpu(stats) => self.gpu = Some(stats),
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
            Event::Rejected(why) => self.status = Some(why),
            Event::Finished(e) => {
                self.state = RunState::Finished;
                self.status = Some(format!(
                    "finished: test acc {:.3} after {} epochs",
                    e.test_acc, e.epoch
                ));
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
            Event::SaveFailed { message, .. } => {
                self.status = Some(format!("checkpoint: {message}"));
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
        for p in &history.progress {
            self.loss.push(p.at, p.train_loss);
            self.train_acc.push(p.at, p.train_acc);
        }
        for e in &history.epochs {
            self.test_acc.push(f64::from(e.epoch), e.test_acc);
        }
        self.changes = history
            .changes
            .iter()
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
                self.status = Some("paused".into());
            }
            Change::Resumed => {
                self.state = RunState::Running;
                self.status = Some("resumed".into());
            }
            Change::Pooling(p) => self.pooling = p,
            Change::Activation(a) => self.activation = a,
            Change::LearningRate(lr) => self.learning_rate = lr,
            Change::Probes(_) => {}
            Change::Restarted => {
                self.keep_past_run();
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

    /// Applies a key action; returns what the event loop should do.
    pub fn on_action(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::ForceQuit {
            self.should_quit = true;
            return Vec::new();
        }
        let overlay = self.overlay.take();
        match overlay {
            Some(Overlay::ConfirmQuit) => {
                if action == Action::Quit {
                    self.should_quit = true;
                }
                return Vec::new();
            }
            Some(Overlay::ConfirmRestart) => {
                if action == Action::Restart {
                    return vec![Effect::Trainer(Command::Restart)];
                }
                return Vec::new();
            }
            // Any key closes help; only the help key does nothing else.
            Some(Overlay::Help) if action == Action::Help => return Vec::new(),
            Some(Overlay::Help) | None => {}
        }
        match action {
            Action::TogglePause => match self.state {
                RunState::Running => vec![Effect::Trainer(Command::Pause)],
                RunState::Paused => vec![Effect::Trainer(Command::Resume)],
                RunState::Diverged(_) => {
                    self.status = Some(format!(
                        "diverged: {} goes back to the last good checkpoint, {} restarts",
                        self.keymap.name(Action::RestoreGood),
                        self.keymap.name(Action::Restart)
                    ));
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Action::Save => vec![Effect::Trainer(Command::Save(SaveReason::User))],
            Action::RestoreGood => {
                if matches!(self.state, RunState::Diverged(_)) {
                    vec![Effect::Trainer(Command::RestoreLastGood)]
                } else {
                    self.status = Some(format!(
                        "{} goes back to the last good checkpoint after a divergence; \
                         training has not diverged",
                        self.keymap.name(Action::RestoreGood)
                    ));
                    Vec::new()
                }
            }
            Action::TogglePooling => {
                self.pooling = self.pooling.toggled();
                vec![Effect::Trainer(Command::SetPooling(self.pooling))]
            }
            Action::ToggleActivation => {
                self.activation = self.activation.toggled();
                vec![Effect::Trainer(Command::SetActivation(self.activation))]
            }
            Action::LrUp | Action::LrDown => {
                let factor = if action == Action::LrUp { 2.0 } else { 0.5 };
                match LearningRate::try_from(self.learning_rate * factor) {
                    Ok(lr) => {
                        self.learning_rate = lr.get();
                        vec![Effect::Trainer(Command::SetLearningRate(lr))]
                    }
                    Err(why) => {
                        self.status = Some(why);
                        Vec::new()
                    }
                }
            }
            Action::PrevImage | Action::NextImage => {
                let n = self.dataset.test.len().max(1);
                let step = if action == Action::NextImage {
                    1
                } else {
                    n - 1
                };
                let side = self.active_side();
                self.probes[side] = (self.probes[side] + step) % n;
                vec![Effect::Trainer(self.probe_command())]
            }
            Action::PrevClass | Action::NextClass => {
                let side = self.active_side();
                let classes = self.dataset.classes.len().max(1);
                let current = usize::from(self.dataset.test.labels[self.probes[side]]);
                let step = if action == Action::NextClass {
                    1
                } else {
                    classes - 1
                };
                let target = (current + step) % classes;
                if let Some(i) = self.next_of_class(self.probes[side], target) {
                    self.probes[side] = i;
                }
                vec![Effect::Trainer(self.probe_command())]
            }
            Action::Compare => {
                self.compare = match self.compare {
                    Compare::Off => Compare::Left,
                    Compare::Left => Compare::Right,
                    Compare::Right => Compare::Off,
                };
                vec![Effect::Trainer(self.probe_command())]
            }
            Action::ToggleProbabilities => self.toggle(Panel::Probabilities),
            Action::ToggleConfusion => self.toggle(Panel::Confusion),
            Action::ToggleKernels => self.toggle(Panel::Kernels),
            Action::Restart => {
                self.overlay = Some(Overlay::ConfirmRestart);
                Vec::new()
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Action::Quit => {
                if self.state.is_active() {
                    self.overlay = Some(Overlay::ConfirmQuit);
                } else {
                    self.should_quit = true;
                }
                Vec::new()
            }
            Action::Screenshot => vec![Effect::Screenshot],
            Action::Record => vec![Effect::ToggleRecording],
            Action::Figure => vec![Effect::Figure],
            Action::ForceQuit => Vec::new(),
        }
    }

    /// Shows `panel` if hidden, hides it if shown.
    fn toggle(&mut self, panel: Panel) -> Vec<Effect> {
        if self.shows(panel) {
            self.panels.retain(|&p| p != panel);
        } else {
            self.panels.push(panel);
            self.panels
                .sort_by_key(|p| Panel::ALL.iter().position(|a| a == p));
        }
        Vec::new()
    }

    /// Whether `panel` is shown.
    pub fn shows(&self, panel: Panel) -> bool {
        self.panels.contains(&panel)
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

    /// Cancels an overlay (a key with no action, such as Esc or `n`).
    pub fn on_unbound_key(&mut self) {
        self.overlay = None;
    }

    fn active_side(&self) -> usize {
        usize::from(self.compare == Compare::Right)
    }

    /// The first test image of `class` after `from`, wrapping around.
    fn next_of_class(&self, from: usize, class: usize) -> Option<usize> {
        let labels = &self.dataset.test.labels;
        let n = labels.len();
        (1..=n)
            .map(|k| (from + k) % n)
            .find(|&i| usize::from(labels[i]) == class)
    }

    /// Seconds left, from the current throughput and the last evaluation time.
    pub fn eta_seconds(&self) -> Option<f64> {
        let info = self.info.as_ref()?;
        let speed = self.examples_per_sec.filter(|s| *s > 0.0)?;
        if !self.state.is_active() {
            return None;
        }
        let remaining_epochs = (f64::from(self.epochs) - self.at).max(0.0);
        let evals_left = f64::from(self.epochs) - self.at.floor();
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
        let runs = match self.curve_labels() {
            None => vec![run(String::new(), LineStyle::Solid, current)],
            Some((past, label)) => self
                .past_runs
                .iter()
                .zip(past)
                .map(|(r, l)| run(l, LineStyle::Faint, [&r.loss, &r.train_acc, &r.test_acc]))
                .chain(std::iter::once(run(label, LineStyle::Solid, current)))
                .collect(),
        };
        FigureData {
            title: format!(
                "LeNet-5 on Fashion-MNIST: {} pooling, {}, lr {}",
                self.pooling, self.activation, self.learning_rate
            ),
            epochs: f64::from(self.epochs.max(1)),
            runs,
            changes: self
                .changes
                .iter()
                .map(|c| (c.at, c.label.clone()))
                .collect(),
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
mod tests {
    use super::*;
    use crate::ui::theme::{ChartMarker, ColorDepth, ThemeKind};

    fn app() -> App {
        App::new(
            Arc::new(Dataset::embedded()),
            Theme::new(ThemeKind::Dark, ColorDepth::Ansi256, ChartMarker::Braille),
            KeyMap::default(),
        )
    }

    #[test]
    fn starts_on_a_pullover_and_compares_it_with_a_coat() {
        let mut a = app();
        let labels = &a.dataset.test.labels;
        assert_eq!((labels[a.probes[0]], labels[a.probes[1]]), (2, 4));
        assert_eq!(
            a.initial_commands(),
            vec![Command::SetProbes(vec![a.probes[0]])]
        );
        let cmds = a.on_action(Action::Compare);
        assert_eq!(
            cmds,
            vec![Effect::Trainer(Command::SetProbes(a.probes.to_vec()))]
        );
        // Tab again: the arrows now move the right image.
        a.on_action(Action::Compare);
        let left = a.probes[0];
        a.on_action(Action::NextImage);
        assert_eq!(a.probes[0], left);
        assert_eq!(a.compare, Compare::Right);
        a.on_action(Action::Compare);
        assert_eq!(a.shown_probes().len(), 1);
    }

    #[test]
    fn class_keys_walk_through_classes() {
        let mut a = app();
        a.on_action(Action::NextClass);
        assert_eq!(a.dataset.test.labels[a.probes[0]], 3);
        a.on_action(Action::PrevClass);
        a.on_action(Action::PrevClass);
        assert_eq!(a.dataset.test.labels[a.probes[0]], 1);
        let before = a.probes[0];
        a.on_action(Action::PrevImage);
        a.on_action(Action::NextImage);
        assert_eq!(a.probes[0], before);
    }

    #[test]
    fn quit_and_restart_ask_first_while_training() {
        let mut a = app();
        a.state = RunState::Running;
        assert!(a.on_action(Action::Quit).is_empty());
        assert_eq!(a.overlay, Some(Overlay::ConfirmQuit));
        a.on_unbound_key();
        assert!(!a.should_quit && a.overlay.is_none());
        a.on_action(Action::Quit);
        a.on_action(Action::Quit);
        assert!(a.should_quit);

        let mut a = app();
        a.state = RunState::Running;
        a.on_action(Action::Restart);
        assert_eq!(a.on_action(Action::Help), Vec::new(), "another key cancels");
        a.on_action(Action::Restart);
        assert_eq!(
            a.on_action(Action::Restart),
            vec![Effect::Trainer(Command::Restart)]
        );

        let mut a = app();
        a.state = RunState::Finished;
        a.on_action(Action::Quit);
        assert!(a.should_quit, "nothing to lose once finished");
    }

    #[test]
    fn panel_keys_show_and_hide_panels_in_a_fixed_order() {
        let mut a = app();
        assert!(a.panels.is_empty());
        assert_eq!(a.on_action(Action::ToggleKernels), vec![]);
        a.on_action(Action::ToggleProbabilities);
        a.on_action(Action::ToggleConfusion);
        assert_eq!(a.panels, Panel::ALL);
        a.on_action(Action::ToggleProbabilities);
        assert!(!a.shows(Panel::Probabilities));
        assert_eq!(a.panels, [Panel::Confusion, Panel::Kernels]);
    }

    /// Plays a run: progress at each quarter epoch up to `epochs`, an epoch end each.
    fn play(a: &mut App, epochs: u32, loss: f64) {
        for q in 1..=epochs * 4 {
            let at = f64::from(q) / 4.0;
            a.on_event(Event::Progress(crate::train::Progress {
                epoch: at.ceil() as u32,
                at,
                batch: 1,
                batches: 4,
                train_loss: loss / at,
                train_acc: 0.5,
                examples_per_sec: 100.0,
            }));
        }
        for e in 1..=epochs {
            a.on_event(Event::EpochFinished(EpochSummary {
                epoch: e,
                train_loss: loss,
                train_acc: 0.5,
                test_acc: 0.6,
                examples_per_sec: 100.0,
                train_seconds: 1.0,
                eval_seconds: 0.1,
            }));
        }
    }

    fn restarted(a: &mut App) {
        a.on_event(Event::Changed {
            at: 1.0,
            change: Change::Restarted,
        });
    }

    #[test]
    fn a_restart_keeps_the_earlier_runs_curves_labelled_by_their_settings() {
        let mut a = app();
        assert_eq!(a.curve_labels(), None, "one run: plain curve names");
        play(&mut a, 2, 2.0);
        a.on_event(Event::Confusion {
            epoch: 2,
            matrix: ConfusionMatrix::new(10),
        });
        // p, then r: the new run has max pooling; the old one started with avg.
        a.on_event(Event::Changed {
            at: 2.0,
            change: Change::Pooling(Pooling::Max),
        });
        restarted(&mut a);
        assert!(a.loss.points().is_empty() && a.test_acc.points().is_empty());
        assert_eq!(a.confusion, None, "the matrix was the old run's");
        assert_eq!(a.past_runs.len(), 1);
        assert_eq!(a.past_runs[0].loss.points().len(), 8);
        assert_eq!(a.past_runs[0].test_acc.points().len(), 2);
        assert_eq!(
            a.curve_labels(),
            Some((vec!["avg/sigmoid".to_string()], "max/sigmoid".to_string()))
        );
        // A restart before anything was plotted keeps no empty run.
        restarted(&mut a);
        assert_eq!(a.past_runs.len(), 1);
        // Only the newest few are kept.
        for _ in 0..PAST_RUNS + 2 {
            play(&mut a, 1, 1.0);
            restarted(&mut a);
        }
        assert_eq!(a.past_runs.len(), PAST_RUNS);
        assert!(a.past_runs.iter().all(|r| r.loss.max_y() == Some(4.0)));
    }

    #[test]
    fn swaps_and_learning_rate_keys_send_commands() {
        let mut a = app();
        a.state = RunState::Running;
        let t = |c| vec![Effect::Trainer(c)];
        assert_eq!(a.on_action(Action::TogglePause), t(Command::Pause));
        assert_eq!(
            a.on_action(Action::TogglePooling),
            t(Command::SetPooling(Pooling::Max))
        );
        assert_eq!(
            a.on_action(Action::ToggleActivation),
            t(Command::SetActivation(Activation::Relu))
        );
        assert_eq!(
            a.on_action(Action::LrDown),
            t(Command::SetLearningRate(
                LearningRate::try_from(0.45).unwrap()
            ))
        );
        assert_eq!(a.on_action(Action::Screenshot), vec![Effect::Screenshot]);
        assert_eq!(a.on_action(Action::Record), vec![Effect::ToggleRecording]);
        a.on_action(Action::Quit);
        assert_eq!(
            a.on_action(Action::Screenshot),
            vec![],
            "answers the confirmation only"
        );
        a.on_event(Event::Changed {
            at: 1.5,
            change: Change::Pooling(Pooling::Max),
        });
        assert_eq!(
            a.changes[0],
            ChangeMark {
                at: 1.5,
                label: "pool max".into()
            }
        );
    }
}
