//! The dashboard's state and the one place it changes: [`App::on_event`] takes a
//! trainer event and [`App::on_action`] a key action, returning what the event loop
//! should do (commands for the trainer, files to write), whose results come back
//! through [`App::on_effect_done`]. Keys are handled in `actions`.
//!
//! What a run is (its settings, curves, snapshots: a [`RunView`], in `run`) is kept
//! apart from what the screen is (theme, images, panels, overlays, the status line):
//! the [`App`] holds one `RunView` per trainer and shows the focused one, and puts the
//! [`RunNews`] a run's events bring into words for the status line.

mod actions;
mod canvas;
mod draw;
mod images;
mod race;
mod run;

pub use super::effect::{Effect, EffectDone};

use std::path::Path;
use std::sync::Arc;

use crate::capture::figure::{FigureData, FigureRun, LineStyle};
use crate::data::Dataset;
use crate::data::own::{OwnImage, ProbeImage};
use crate::train::{Command, Event, LearningRate, SaveReason};
use crate::train::{Pace, Stride};
use crate::ui::history::Series;
use crate::ui::keys::{Action, KeyMap};
use crate::ui::theme::Theme;
pub use canvas::{Canvas, Pen};
pub use draw::Pointer;
pub use images::ImageList;
pub use race::{LaneSummary, RaceView};
pub use run::{RunNews, RunSettings, RunView};

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

/// Everything the dashboard shows: the screen's own state, and the runs it shows.
pub struct App {
    /// Colours and markers.
    pub theme: Theme,
    /// Keys → actions.
    pub keymap: KeyMap,
    /// The data, for test images and class names (plain bytes, no tensors).
    pub dataset: Arc<Dataset>,
    /// Each trainer's run: one, or one per variant in a race (in race order). The
    /// focused one is [`App::run`].
    pub runs: Vec<RunView>,
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
    /// The optional panels shown, in [`Panel::ALL`] order.
    pub panels: Vec<Panel>,
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
    /// Replaying a saved run (its name): nothing trains, the keys move the play head.
    pub replay: Option<String>,
    /// A race: the variants' labels and which one is in focus.
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
            runs: vec![RunView::new()],
            images,
            probes,
            compare: Compare::Off,
            drawing: None,
            image_prompt: String::new(),
            probes_changed: false,
            panels: Vec::new(),
            overlay: None,
            status: None,
            exit_on_finish: false,
            gpu: None,
            max_output: Some(f64::from(super::budget::DEFAULT_KB_PER_SEC) * 1000.0),
            should_quit: false,
            recording: false,
            replay: None,
            race: None,
        }
    }

    /// The run in focus: the only one, or the focused variant's in a race.
    pub fn run(&self) -> &RunView {
        &self.runs[self.focus()]
    }

    /// The run in focus, to change.
    pub fn run_mut(&mut self) -> &mut RunView {
        let focus = self.focus();
        &mut self.runs[focus]
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

    /// Applies an event from the trainer of the run in focus.
    pub fn on_event(&mut self, event: Event) {
        self.on_lane_event(self.focus(), event);
    }

    /// Takes a key press: draw mode has the arrows, Space and a few more, an open
    /// image prompt has every key, and otherwise the keymap decides.
    pub fn on_key(&mut self, key: &crate::ui::keys::Key) -> Vec<Effect> {
        let drawn = match self.overlay {
            Some(Overlay::OpenImage) => self.on_prompt_key(key),
            Some(_) => None,
            None => self.on_draw_key(key),
        };
        match (drawn, self.keymap.action(key)) {
            (Some(effects), _) => effects,
            (None, Some(action)) => self.on_action(action),
            (None, None) => {
                self.on_unbound_key();
                Vec::new()
            }
        }
    }

    /// The status line's words for news of the run in focus.
    fn in_words(&self, news: &RunNews) -> String {
        let key = |action| self.keymap.name(action);
        match news {
            RunNews::LookingBack => format!(
                "looking back: {} / {} step, {} first snapshot, {} back to live",
                key(Action::HistoryBack),
                key(Action::HistoryForward),
                key(Action::HistoryStart),
                key(Action::HistoryEnd)
            ),
            RunNews::BackToLive => "back to live".into(),
            RunNews::Rejected(why) => why.clone(),
            RunNews::Finished { test_acc, epoch } => match &self.replay {
                Some(_) => format!(
                    "end of the replay: test acc {test_acc:.3} after {epoch} epochs; {} plays \
                     it again",
                    key(Action::HistoryStart)
                ),
                None => format!("finished: test acc {test_acc:.3} after {epoch} epochs"),
            },
            RunNews::Saved(path) => format!("checkpoint saved: {}", short_checkpoint(path)),
            RunNews::SaveFailed { part, message } => format!("{part} not saved: {message}"),
            RunNews::Warning { part, message } => format!("{part}: {message}"),
            RunNews::Diverged(what) => format!("training {what}"),
            RunNews::Restored { from, at } => {
                format!("restored {} (epoch {at:.2})", short_checkpoint(from))
            }
            RunNews::Error(message) => format!("error: {message}"),
            RunNews::Paused => match &self.replay {
                Some(_) => format!(
                    "paused: {} / {} step through the run, {} plays",
                    key(Action::HistoryBack),
                    key(Action::HistoryForward),
                    key(Action::TogglePause)
                ),
                None => format!(
                    "paused: {} trains one batch, {} to the end of the epoch",
                    key(Action::StepBatch),
                    key(Action::StepEpoch)
                ),
            },
            RunNews::Resumed => "resumed".into(),
            RunNews::Restarted => "restarted with fresh weights".into(),
        }
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
        let focused = self.run();
        let current = focused.curves.each();
        // A race: every variant, each in a line style of its own, in race order.
        let runs = if let Some(race) = &self.race {
            race.labels
                .iter()
                .zip(&self.runs)
                .enumerate()
                .map(|(i, (l, lane))| {
                    run(
                        format!("{} {l}", i + 1),
                        LineStyle::EACH[i % LineStyle::EACH.len()],
                        lane.curves.each(),
                    )
                })
                .collect()
        } else {
            match focused.curve_labels() {
                None => vec![run(String::new(), LineStyle::Solid, current)],
                Some((past, label)) => focused
                    .past_runs
                    .iter()
                    .zip(past)
                    .map(|(r, l)| run(l, LineStyle::Faint, r.curves.each()))
                    .chain(std::iter::once(run(label, LineStyle::Solid, current)))
                    .collect(),
            }
        };
        let title = match &self.race {
            Some(race) => format!(
                "LeNet-5 on Fashion-MNIST: a race of {}",
                race.labels.join(", ")
            ),
            None => {
                let s = &focused.settings;
                format!(
                    "LeNet-5 on Fashion-MNIST: {} pooling, {}, lr {}",
                    s.pooling, s.activation, s.learning_rate
                )
            }
        };
        FigureData {
            title,
            epochs: f64::from(focused.epochs.max(1)),
            runs,
            changes: focused.change_labels(),
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
        let run = self.run();
        crate::capture::dir::stem(
            now,
            run.at.floor() as u32,
            &run.settings.pooling.to_string(),
            &run.settings.activation.to_string(),
        )
    }

    /// Seconds left in the run in focus.
    pub fn eta_seconds(&self) -> Option<f64> {
        self.run().eta_seconds(self.replay.is_some())
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
