//! The runs a dashboard watches: one, or a race's variants, with what they train on.
//! Every screen over them reads the same [`Runs`]; which one a screen looks at is its
//! own [`Screen::focus`](super::Screen::focus).

use std::sync::Arc;

use crate::capture::figure::{FigureData, FigureRun, LineStyle};
use crate::data::Dataset;
use crate::train::Command;
use crate::ui::app::{RunState, RunView};
use crate::ui::history::Series;
use crate::ui::keys::Action;

/// A race's variants, by label in race order.
pub struct RaceView {
    /// Each variant's label, in race order.
    pub labels: Vec<String>,
}

/// What the header and legends say about one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneSummary<'a> {
    /// 1-based number, the key that focuses it.
    pub number: usize,
    /// Its label.
    pub label: &'a str,
    /// Where it is.
    pub state: &'a RunState,
    /// The epoch in progress (1-based) and the run's epochs.
    pub epoch: (u32, u32),
    /// Training throughput, last reported.
    pub examples_per_sec: Option<f64>,
    /// Test accuracy after its last finished epoch.
    pub test_acc: Option<f64>,
    /// Whether it is the one in focus.
    pub focused: bool,
}

/// How a dashboard watches a live run trained by another process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watching {
    /// Whether this viewer's commands drive the run (else it only watches).
    pub control: bool,
    /// The process training the run.
    pub pid: u32,
}

/// The runs watched, shared by every screen.
pub struct Runs {
    /// The data, for test images and class names (plain bytes, no tensors).
    pub dataset: Arc<Dataset>,
    /// Each trainer's run: one, or one per variant in a race (in race order).
    pub views: Vec<RunView>,
    /// A race: the variants' labels.
    pub race: Option<RaceView>,
    /// Replaying a saved run (its name): nothing trains, the keys move the play head.
    pub replay: Option<String>,
    /// The GPU's memory and utilisation, last reported.
    pub gpu: Option<crate::device::GpuStats>,
    /// Attached to another process's live run: nothing is saved here on the way out,
    /// and without control the keys that drive the run say "view only".
    pub watching: Option<Watching>,
}

impl Runs {
    /// One run on `dataset`, before its trainer has said anything.
    pub fn new(dataset: Arc<Dataset>) -> Self {
        Self {
            dataset,
            views: vec![RunView::new()],
            race: None,
            replay: None,
            gpu: None,
            watching: None,
        }
    }

    /// The number of variants trained: one without a race.
    pub fn lane_count(&self) -> usize {
        self.race.as_ref().map_or(1, |r| r.labels.len())
    }

    /// The run of variant `lane` (the first's for a lane out of range).
    pub fn lane(&self, lane: usize) -> &RunView {
        self.views.get(lane).unwrap_or(&self.views[0])
    }

    /// Variant `lane`'s state.
    pub fn lane_state(&self, lane: usize) -> &RunState {
        &self.lane(lane).state
    }

    /// Variant `lane`'s label in a race.
    pub fn label(&self, lane: usize) -> Option<&str> {
        let race = self.race.as_ref()?;
        race.labels.get(lane).map(String::as_str)
    }

    /// What the header says about each variant, in race order, `focus` marked;
    /// empty without a race.
    pub fn lane_summaries(&self, focus: usize) -> Vec<LaneSummary<'_>> {
        let Some(race) = &self.race else {
            return Vec::new();
        };
        race.labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let run = self.lane(i);
                LaneSummary {
                    number: i + 1,
                    label,
                    state: &run.state,
                    epoch: (run.current_epoch(), run.epochs),
                    examples_per_sec: run.examples_per_sec,
                    test_acc: run.last_epoch.as_ref().map(|e| e.test_acc),
                    focused: i == focus,
                }
            })
            .collect()
    }

    /// Who gets `command`, as `(variant, command)`: the variant in `focus` alone for
    /// a change of its recipe; else every variant that can act on it (a pause or a
    /// step for those still training, so a diverged variant stays paused).
    pub fn recipients(&self, command: Command, focus: usize) -> Vec<(usize, Command)> {
        if self.race.is_none() {
            return vec![(0, command)];
        }
        if for_focus_only(&command) {
            return vec![(focus, command)];
        }
        let training = |i: usize| {
            matches!(
                self.lane_state(i),
                RunState::Running | RunState::Paused | RunState::Starting
            )
        };
        let pausing = matches!(command, Command::Pause | Command::Resume | Command::Step(_));
        (0..self.lane_count())
            .filter(|&i| !pausing || training(i))
            .map(|i| (i, command.clone()))
            .collect()
    }

    /// Whether every variant has finished.
    pub fn all_finished(&self) -> bool {
        (0..self.lane_count()).all(|i| self.lane_state(i) == &RunState::Finished)
    }

    /// Seconds left in the run in `focus`.
    pub fn eta_seconds(&self, focus: usize) -> Option<f64> {
        self.lane(focus).eta_seconds(self.replay.is_some())
    }

    /// Whether `action` does something here (a replay cannot change the run, nor a
    /// viewer without control).
    pub fn offers(&self, action: Action) -> bool {
        self.refuses(action).is_none()
    }

    /// Why `action` does nothing here, if it does not: a replay shows the run as
    /// recorded; a view-only viewer cannot drive it.
    pub fn refuses(&self, action: Action) -> Option<String> {
        if self.replay.is_some() {
            let what = action.spec().changes_run?;
            return Some(format!(
                "a replay shows the run as it was recorded: {what} cannot change \
                 (train with `lenet-tui train --resume` to go on from it)"
            ));
        }
        self.watching.filter(|w| !w.control)?;
        let what = action.spec().changes_run.or(match action {
            Action::TogglePause | Action::StepBatch | Action::StepEpoch => Some("its progress"),
            Action::PaceUp | Action::PaceDown => Some("the pace"),
            _ => None,
        })?;
        Some(format!("view only: this viewer cannot change {what}"))
    }

    /// The chart series as plain data for the training figure: a race's variants,
    /// each in a line style of its own, or the run in `focus` with its earlier runs
    /// faintly beneath it, as the charts show them.
    pub fn figure_data(&self, focus: usize) -> FigureData {
        let run = |label: String, line, [loss, train, test]: [&Series; 3]| FigureRun {
            label,
            line,
            train_loss: loss.points().to_vec(),
            train_acc: train.points().to_vec(),
            test_acc: test.points().to_vec(),
        };
        let focused = self.lane(focus);
        let current = focused.curves.each();
        let runs = if let Some(race) = &self.race {
            race.labels
                .iter()
                .zip(&self.views)
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

    /// File stem for a capture of the run in `focus` made at `now` (the caller reads
    /// the clock).
    pub fn capture_stem(&self, focus: usize, now: chrono::DateTime<chrono::Local>) -> String {
        let run = self.lane(focus);
        crate::capture::dir::stem(
            now,
            run.at.floor() as u32,
            &run.settings.pooling.to_string(),
            &run.settings.activation.to_string(),
        )
    }
}

/// Whether `command` is for the focused variant alone (a change of its recipe, a
/// look at its past) rather than for the whole race (pause, pace, probes, saving).
fn for_focus_only(command: &Command) -> bool {
    matches!(
        command,
        Command::SetPooling(_)
            | Command::SetActivation(_)
            | Command::SetLearningRate(_)
            | Command::Recall(_)
            | Command::Explain(_)
            | Command::Gallery { .. }
            | Command::RestoreLastGood
    )
}
