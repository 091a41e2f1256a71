//! One run as the dashboard knows it: its settings, curves, snapshots and where it is.
//!
//! A [`RunView`] is kept once per trainer (one for a lone run, one per variant in a
//! race) and folds that trainer's events in; the screen ([`App`](super::App)) points
//! at the focused one by index, so moving the focus copies nothing. What an event
//! means for the status line comes back as [`RunNews`], which the screen puts into
//! words (the words name keys, and the keymap is the screen's).

use std::path::PathBuf;

use crate::capture::gradients::{GradientFigure, GradientPanel};
use crate::model::{Activation, LayerTable, Pooling};
use crate::train::timeline::{EpochConfusion, Moment};
use crate::train::{
    Change, ConvKernels, EpochSummary, Event, History, LearningRate, Pace, PastView, ProbeReport,
    Progress, Restored, RunInfo, RunRecipe, SaveReason, Saved, run_labels,
};
use crate::ui::history::{Curves, GradientFlow, PAST_RUNS, PastRun};

use super::{ChangeMark, RunState};
use crate::data::own::ProbeImage;

/// The settings a run trains with now, changed live by keys.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSettings {
    /// Pooling.
    pub pooling: Pooling,
    /// Activation.
    pub activation: Activation,
    /// Learning rate.
    pub learning_rate: f64,
    /// The pace training keeps.
    pub pace: Pace,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            pooling: Pooling::Avg,
            activation: Activation::Sigmoid,
            learning_rate: LearningRate::CHAPTER.get(),
            pace: Pace::Full,
        }
    }
}

impl RunSettings {
    /// The live settings of a run that trains with `settings`.
    pub fn of(settings: &crate::train::TrainSettings) -> Self {
        Self {
            pooling: settings.pooling,
            activation: settings.activation,
            learning_rate: settings.learning_rate.get(),
            pace: settings.pace,
        }
    }

    /// The settings as a run recipe (the pace does not name a run).
    pub fn recipe(&self) -> RunRecipe {
        RunRecipe {
            pooling: self.pooling,
            activation: self.activation,
            learning_rate: self.learning_rate,
        }
    }
}

/// What an event means for the status line, if anything; the screen words it.
#[derive(Debug, Clone, PartialEq)]
pub enum RunNews {
    /// The first look back at a snapshot.
    LookingBack,
    /// The look back ended.
    BackToLive,
    /// The trainer refused a command, for this reason.
    Rejected(String),
    /// All epochs done.
    Finished {
        /// Test accuracy at the end.
        test_acc: f64,
        /// The last epoch.
        epoch: u32,
    },
    /// A checkpoint the user asked for was written here.
    Saved(PathBuf),
    /// Something was not saved.
    SaveFailed {
        /// What.
        part: String,
        /// Why.
        message: String,
    },
    /// The trainer warns about something.
    Warning {
        /// About what.
        part: String,
        /// What.
        message: String,
    },
    /// Training diverged, as said here.
    Diverged(String),
    /// Training went on from a checkpoint.
    Restored {
        /// The checkpoint.
        from: PathBuf,
        /// Where in the run it was.
        at: f64,
    },
    /// The trainer failed.
    Error(String),
    /// Training paused.
    Paused,
    /// Training resumed.
    Resumed,
    /// Training restarted with fresh weights.
    Restarted,
}

impl RunNews {
    /// Whether the status line tells of it when it comes from a variant out of focus:
    /// only what needs the user (a divergence, an end, a failure).
    pub fn worth_telling_from_afar(&self) -> bool {
        matches!(
            self,
            RunNews::Diverged(_)
                | RunNews::Finished { .. }
                | RunNews::Error(_)
                | RunNews::SaveFailed { .. }
        )
    }
}

/// Everything the dashboard knows about one run.
pub struct RunView {
    /// Run facts from the trainer's start event.
    pub info: Option<RunInfo>,
    /// Where the run is.
    pub state: RunState,
    /// Epochs in the run.
    pub epochs: u32,
    /// Position in the run, in epochs.
    pub at: f64,
    /// The last reported batch within its epoch, and the epoch's batches.
    pub batch: Option<(usize, usize)>,
    /// Current training throughput.
    pub examples_per_sec: Option<f64>,
    /// The settings in force now.
    pub settings: RunSettings,
    /// The per-layer table.
    pub layers: Option<LayerTable>,
    /// Loss and accuracy over the run.
    pub curves: Curves,
    /// Each layer's gradient norm over the run, and the newest layer statistics.
    pub gradients: GradientFlow,
    /// Setting changes, for chart markers.
    pub changes: Vec<ChangeMark>,
    /// The latest activations, one per shown image.
    pub activations: Vec<ProbeReport>,
    /// The first convolution's kernels, as of the latest activations.
    pub kernels: Option<ConvKernels>,
    /// The test set's confusion matrix after the last finished epoch, and its epoch.
    pub confusion: Option<EpochConfusion>,
    /// What the current run started with, which names its curves beside past runs'.
    pub recipe: RunRecipe,
    /// Earlier runs of this session (oldest first, at most [`PAST_RUNS`]), drawn faintly.
    pub past_runs: Vec<PastRun>,
    /// The last finished epoch.
    pub last_epoch: Option<EpochSummary>,
    /// Seconds the last test evaluation took, for the ETA.
    pub eval_seconds: f64,
    /// The newest checkpoint written.
    pub last_checkpoint: Option<PathBuf>,
    /// Looking back: the model at a snapshot of the run, shown instead of the live one
    /// while set (training carries on behind it).
    pub past: Option<PastView>,
}

impl Default for RunView {
    fn default() -> Self {
        Self::new()
    }
}

impl RunView {
    /// A run before its trainer has said anything.
    pub fn new() -> Self {
        let settings = RunSettings::default();
        Self {
            info: None,
            state: RunState::Starting,
            epochs: 0,
            at: 0.0,
            batch: None,
            examples_per_sec: None,
            settings,
            layers: None,
            curves: Curves::default(),
            gradients: GradientFlow::default(),
            changes: Vec::new(),
            activations: Vec::new(),
            kernels: None,
            confusion: None,
            recipe: settings.recipe(),
            past_runs: Vec::new(),
            last_epoch: None,
            eval_seconds: 0.0,
            last_checkpoint: None,
            past: None,
        }
    }

    /// Applies one of this run's trainer events; `replay` when the run is a replay
    /// (its own pace changes are not drawn). The GPU's figures are the screen's, not
    /// the run's: the caller takes [`Event::Gpu`] before this.
    pub fn on_event(&mut self, event: Event, replay: bool) -> Option<RunNews> {
        match event {
            Event::Started(info) => self.on_started(info),
            Event::Progress(p) => self.on_progress(&p),
            Event::EpochFinished(e) => self.on_epoch_finished(e),
            Event::Layers(table) => self.layers = Some(table),
            // The answer (saved or not) is what the screen shows; the GPU, and the
            // answers to a cursor's questions, are the screen's.
            Event::Saving(_) | Event::Gpu(_) | Event::Explained(_) | Event::Gallery(_) => {}
            Event::Activations {
                reports, kernels, ..
            } => {
                self.activations = reports;
                self.kernels = kernels;
            }
            Event::Confusion { epoch, matrix } => {
                self.confusion = Some(EpochConfusion { epoch, matrix });
            }
            Event::Changed { at, change } => return self.on_change(at, change),
            Event::Recalled(view) => return self.on_recalled(view),
            Event::Seeked {
                at,
                moment,
                history,
                confusion,
            } => self.on_seeked(at, &moment, &history, confusion, replay),
            Event::Rejected(why) => return Some(RunNews::Rejected(why)),
            Event::Finished(e) => return Some(self.on_finished(e)),
            Event::Saved(saved) => return self.on_saved(saved),
            Event::SaveFailed { part, message, .. } => {
                let part = part.to_string();
                return Some(RunNews::SaveFailed { part, message });
            }
            Event::Warning { part, message } => {
                let part = part.to_string();
                return Some(RunNews::Warning { part, message });
            }
            Event::Diverged(d) => {
                // The notice over the charts says what to do about it.
                self.state = RunState::Diverged(d.to_string());
                return Some(RunNews::Diverged(d.to_string()));
            }
            Event::Restored(r) => return Some(self.on_restored(r, replay)),
            Event::Stopped if self.state.is_active() => {
                self.state = RunState::Error("the trainer stopped unexpectedly".into());
            }
            Event::Stopped => {}
            Event::CatchUp => *self = RunView::new(),
            Event::CaughtUp => {}
            Event::Error(message) => {
                self.state = RunState::Error(message.clone());
                return Some(RunNews::Error(message));
            }
        }
        None
    }

    fn on_started(&mut self, info: RunInfo) {
        self.epochs = info.settings.epochs.get();
        self.settings = RunSettings::of(&info.settings);
        self.recipe = self.settings.recipe();
        self.layers = Some(info.layers.clone());
        self.info = Some(info);
        if self.state == RunState::Starting {
            self.state = RunState::Running;
        }
    }

    fn on_progress(&mut self, p: &Progress) {
        self.at = p.at;
        self.batch = Some((p.batch, p.batches));
        self.examples_per_sec = Some(p.examples_per_sec);
        self.curves.loss.push(p.at, p.train_loss);
        self.curves.train_acc.push(p.at, p.train_acc);
        self.gradients.push(p.at, &p.layers);
    }

    fn on_epoch_finished(&mut self, e: EpochSummary) {
        self.at = f64::from(e.epoch);
        self.curves.test_acc.push(f64::from(e.epoch), e.test_acc);
        self.eval_seconds = e.eval_seconds;
        self.last_epoch = Some(e);
    }

    /// Looking back starts (news the first time), moves, or ends.
    fn on_recalled(&mut self, view: Option<PastView>) -> Option<RunNews> {
        match view {
            Some(view) => {
                let first = self.past.is_none();
                self.past = Some(view);
                first.then_some(RunNews::LookingBack)
            }
            None => self.past.take().map(|_| RunNews::BackToLive),
        }
    }

    /// A replay's play head moved: the run as it was at `at`.
    fn on_seeked(
        &mut self,
        at: f64,
        moment: &Moment,
        history: &History,
        confusion: Option<EpochConfusion>,
        replay: bool,
    ) {
        self.load_history(history, replay);
        self.settings.pooling = moment.pooling;
        self.settings.activation = moment.activation;
        self.settings.learning_rate = moment.learning_rate;
        self.at = at;
        self.batch = history.progress.last().map(|p| (p.batch, p.batches));
        self.examples_per_sec = history.progress.last().map(|p| p.examples_per_sec);
        self.confusion = confusion;
    }

    fn on_finished(&mut self, e: EpochSummary) -> RunNews {
        self.state = RunState::Finished;
        let news = RunNews::Finished {
            test_acc: e.test_acc,
            epoch: e.epoch,
        };
        self.last_epoch = Some(e);
        news
    }

    fn on_saved(&mut self, saved: Saved) -> Option<RunNews> {
        // Routine saves stay out of the status line; asked-for ones answer there.
        let asked = !matches!(saved.reason, SaveReason::Start | SaveReason::EpochEnd);
        self.last_checkpoint = Some(saved.path.clone());
        asked.then_some(RunNews::Saved(saved.path))
    }

    fn on_restored(&mut self, r: Restored, replay: bool) -> RunNews {
        self.epochs = r.settings.epochs.get();
        self.settings = RunSettings::of(&r.settings);
        self.load_history(&r.history, replay);
        self.at = r.at;
        self.state = RunState::Running;
        self.last_checkpoint = Some(r.from.clone());
        RunNews::Restored {
            from: r.from,
            at: r.at,
        }
    }

    /// Replaces the charts with a checkpoint's history (a replay's pace changes left
    /// out: a replay keeps a pace of its own).
    fn load_history(&mut self, history: &History, replay: bool) {
        self.curves = Curves::default();
        self.gradients = GradientFlow::default();
        for p in &history.progress {
            self.curves.loss.push(p.at, p.train_loss);
            self.curves.train_acc.push(p.at, p.train_acc);
            self.gradients.push(p.at, &p.layers);
        }
        for e in &history.epochs {
            self.curves.test_acc.push(f64::from(e.epoch), e.test_acc);
        }
        self.changes = history
            .changes
            .iter()
            .filter(|c| !replay || !matches!(c.change, Change::Pace(_)))
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

    fn on_change(&mut self, at: f64, change: Change) -> Option<RunNews> {
        if let Some(label) = change.setting_label() {
            self.changes.push(ChangeMark { at, label });
        }
        match change {
            Change::Paused => {
                self.state = RunState::Paused;
                return Some(RunNews::Paused);
            }
            Change::Resumed => {
                self.state = RunState::Running;
                return Some(RunNews::Resumed);
            }
            Change::Pooling(p) => self.settings.pooling = p,
            Change::Activation(a) => self.settings.activation = a,
            Change::LearningRate(lr) => self.settings.learning_rate = lr,
            Change::Pace(p) => self.settings.pace = p,
            Change::Probes(_) => {}
            Change::Restarted => {
                self.keep_past_run();
                self.past = None;
                self.recipe = self.settings.recipe();
                self.confusion = None;
                self.changes.clear();
                self.last_epoch = None;
                self.at = 0.0;
                self.state = RunState::Running;
                return Some(RunNews::Restarted);
            }
        }
        None
    }

    /// Moves the current curves to the past runs (dropping the oldest beyond
    /// [`PAST_RUNS`]) and starts empty ones; a run with nothing plotted is not kept.
    fn keep_past_run(&mut self) {
        let run = PastRun {
            recipe: self.recipe,
            curves: std::mem::take(&mut self.curves),
        };
        // Gradient flow is shown for the current run only.
        self.gradients = GradientFlow::default();
        if run.curves.loss.points().is_empty() && run.curves.test_acc.points().is_empty() {
            return;
        }
        self.past_runs.push(run);
        if self.past_runs.len() > PAST_RUNS {
            self.past_runs.remove(0);
        }
    }

    /// The reports of the shown images: the past's while looking back, else the live.
    pub fn shown_activations(&self) -> &[ProbeReport] {
        self.past.as_ref().map_or(&self.activations, |p| &p.reports)
    }

    /// The report shown for `image`, if one has come.
    pub fn report_for(&self, image: &ProbeImage) -> Option<&ProbeReport> {
        let id = image.id();
        self.shown_activations().iter().find(|r| r.id == id)
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
    pub fn shown_confusion(&self) -> Option<&EpochConfusion> {
        match &self.past {
            Some(p) => p.confusion.as_ref(),
            None => self.confusion.as_ref(),
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

    /// Seconds left, from the current throughput and the last evaluation time
    /// (`replay`: the evaluations are already done).
    pub fn eta_seconds(&self, replay: bool) -> Option<f64> {
        let info = self.info.as_ref()?;
        // Training goes at the pace when it is slower than the machine.
        let measured = self.examples_per_sec.filter(|s| *s > 0.0)?;
        let speed = self
            .settings
            .pace
            .per_second()
            .map_or(measured, |p| measured.min(f64::from(p)));
        if !self.state.is_active() {
            return None;
        }
        let remaining_epochs = (f64::from(self.epochs) - self.at).max(0.0);
        let evals_left = if replay {
            0.0
        } else {
            f64::from(self.epochs) - self.at.floor()
        };
        Some(remaining_epochs * info.train_examples as f64 / speed + evals_left * self.eval_seconds)
    }

    /// (epoch, label) of each setting change, for the figures.
    pub fn change_labels(&self) -> Vec<(f64, String)> {
        self.changes
            .iter()
            .map(|c| (c.at, c.label.clone()))
            .collect()
    }

    /// The gradient-flow figure of this run, as the panel shows it.
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
        let s = &self.settings;
        GradientFigure {
            title: format!(
                "Gradient flow: LeNet-5, {} pooling, {}, lr {}",
                s.pooling, s.activation, s.learning_rate
            ),
            epochs: f64::from(self.epochs.max(1)),
            panels: vec![GradientPanel {
                label: String::new(),
                layers,
                changes: self.change_labels(),
            }],
        }
    }

    /// The epoch in progress (1-based), for the header.
    pub fn current_epoch(&self) -> u32 {
        // 2.4 is in epoch 3; 3.0 is the end of epoch 3, not the start of epoch 4.
        (self.at.ceil() as u32).clamp(1, self.epochs.max(1))
    }
}
