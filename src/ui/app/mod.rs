//! The dashboard's state and the one place it changes: [`App::update`] folds a
//! [`Message`] (a trainer's event, a key, the pointer, a tick, what an effect came
//! to) into it and returns the [`Effect`]s the event loop should carry out (commands
//! for the trainer, files to write). Keys are handled in `actions`, draw mode and the
//! prompt in `draw`, a race's focus in `race`.
//!
//! The state is two halves: [`Runs`], what the runs are (one [`RunView`] per trainer:
//! settings, curves, snapshots), shared by every screen that watches them; and
//! [`Screen`], what this terminal shows (theme, images, panels, overlays, focus, the
//! status line). The [`App`] pairs them and puts the [`RunNews`] a run's events
//! bring into words for the screen's status line.

mod actions;
mod canvas;
mod draw;
mod images;
mod inspect;
mod race;
mod run;
mod runs;
mod screen;

pub use super::effect::{Effect, EffectDone};

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::data::Dataset;
use crate::train::{Command, Event, LearningRate, SaveReason};
use crate::train::{Pace, Stride};
use crate::ui::keys::{Action, Key, KeyMap};
use crate::ui::theme::Theme;
pub use canvas::{Canvas, Pen};
pub use draw::Pointer;
pub use images::ImageList;
pub use inspect::{GALLERY_COLUMNS, Inspect, maps_of};
pub use run::{RunNews, RunSettings, RunView};
pub use runs::{LaneSummary, RaceView, Runs, Watching};
pub use screen::{Compare, Overlay, Panel, Screen};

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

/// One thing that happened, for [`App::update`].
#[derive(Debug)]
pub enum Message {
    /// Variant `lane`'s trainer sent an event (any lane is the one run without a race).
    Trainer(usize, Event),
    /// A key was pressed.
    Key(Key),
    /// The pointer painted, erased or lifted over draw mode's canvas.
    Pointer(Pointer),
    /// Time passed: a drawing or newly opened images may be due to the trainer.
    Tick(Instant),
    /// What carrying out an effect came to.
    Done(EffectDone),
}

/// A change of setting drawn as a marker on the charts.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeMark {
    /// Position in epochs.
    pub at: f64,
    /// Short label, e.g. `pool max`.
    pub label: String,
}

/// Everything the dashboard knows: the runs it watches, and this terminal's screen
/// over them. [`App::update`] is the one place either changes.
pub struct App {
    /// The runs watched and what they train on.
    pub runs: Runs,
    /// What this terminal shows of them.
    pub screen: Screen,
    /// Leave once training finishes.
    pub exit_on_finish: bool,
    /// Set when the dashboard should close.
    pub should_quit: bool,
}

impl App {
    /// A dashboard for `dataset`, before the trainer has said anything.
    pub fn new(dataset: Arc<Dataset>, theme: Theme, keymap: KeyMap) -> Self {
        Self {
            screen: Screen::new(&dataset, theme, keymap),
            runs: Runs::new(dataset),
            exit_on_finish: false,
            should_quit: false,
        }
    }

    /// Folds one message into the state and returns what the event loop should do:
    /// the one way into the dashboard's state for the loop (and for headless).
    pub fn update(&mut self, message: Message) -> Vec<Effect> {
        match message {
            Message::Trainer(lane, event) => self.on_trainer(lane, event),
            Message::Key(key) => self.on_key(&key),
            Message::Pointer(pointer) => self.on_pointer(pointer),
            Message::Tick(now) => self.tick(now),
            Message::Done(done) => {
                self.on_effect_done(done);
                Vec::new()
            }
        }
    }

    /// The variant in focus (0 without a race).
    pub fn focus(&self) -> usize {
        self.screen.focus
    }

    /// The run in focus: the only one, or the focused variant's in a race.
    pub fn run(&self) -> &RunView {
        self.runs.lane(self.focus())
    }

    /// The run in focus, to change.
    pub fn run_mut(&mut self) -> &mut RunView {
        let focus = self.focus();
        &mut self.runs.views[focus]
    }

    /// The commands to send when the trainer starts: which images to probe.
    pub fn initial_commands(&self) -> Vec<Command> {
        vec![self.probe_command()]
    }

    fn probe_command(&self) -> Command {
        Command::SetProbes(self.screen.shown_probes())
    }

    /// Applies an event from the trainer of the run in focus.
    pub fn on_event(&mut self, event: Event) {
        self.on_lane_event(self.focus(), event);
    }

    /// Takes a key press: draw mode has the arrows, Space and a few more, an open
    /// image prompt has every key, and otherwise the keymap decides.
    pub fn on_key(&mut self, key: &Key) -> Vec<Effect> {
        let drawn = match self.screen.overlay {
            Some(Overlay::OpenImage) => self.on_prompt_key(key),
            Some(_) => None,
            None => self.on_draw_key(key).or_else(|| self.on_inspect_key(key)),
        };
        match (drawn, self.screen.keymap.action(key)) {
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
        let key = |action| self.screen.keymap.name(action);
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
            RunNews::Finished { test_acc, epoch } => match &self.runs.replay {
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
            RunNews::Paused => match &self.runs.replay {
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

    /// Takes in what carrying out an effect came to.
    pub fn on_effect_done(&mut self, done: EffectDone) {
        match &done {
            EffectDone::RecordingStarted(Ok(_)) | EffectDone::RecordingFromStart => {
                self.screen.recording = true;
            }
            EffectDone::RecordingStopped(_) | EffectDone::RecordingLost(_) => {
                self.screen.recording = false;
            }
            EffectDone::DrawingSaved { .. } => self.drawing_saved(&done),
            EffectDone::ImageOpened(Ok(image)) => {
                self.screen.add_own_images(vec![Arc::clone(image)]);
                self.screen.probes_changed = true;
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
            self.screen.status = Some(message);
        }
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
