//! A race in the dashboard: several variants train at once and one is in focus.
//!
//! Each variant's run is a [`RunView`] in [`App::runs`], in race order, and takes its
//! own trainer's events; the focus is an index into them. Every panel (shape table,
//! activations, probabilities, kernels, confusion, diagnostics) draws [`App::run`],
//! so it follows the focus without knowing about races, and moving the focus copies
//! nothing. The screen (images, panels, overlays) is one for all variants.

use crate::train::{Command, Event};
use crate::ui::app::{App, RunNews, RunState, RunView};
use crate::ui::history::Curves;
use crate::ui::keys::Action;

/// The race's variants and which is in focus.
pub struct RaceView {
    /// Each variant's label, in race order.
    pub labels: Vec<String>,
    /// The variant in focus: an index into [`App::runs`].
    pub focus: usize,
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

/// Whether `command` is for the focused variant alone (a change of its recipe, a
/// look at its past) rather than for the whole race (pause, pace, probes, saving).
fn for_focus_only(command: &Command) -> bool {
    matches!(
        command,
        Command::SetPooling(_)
            | Command::SetActivation(_)
            | Command::SetLearningRate(_)
            | Command::Recall(_)
            | Command::RestoreLastGood
    )
}

impl App {
    /// Makes this dashboard show a race of `labels` (two to
    /// [`MAX_VARIANTS`](crate::train::race::MAX_VARIANTS)), the first in focus.
    pub fn race(&mut self, labels: Vec<String>) {
        let n = labels.len();
        // The first variant keeps the run shown so far; the others start fresh.
        self.runs.truncate(1);
        self.runs.resize_with(n.max(1), RunView::new);
        self.status = Some(format!(
            "a race of {n}: {}–{} focus a variant, {} pauses them all",
            self.keymap.name(Action::Focus1),
            self.keymap.name(Action::focus(n)),
            self.keymap.name(Action::TogglePause)
        ));
        self.race = Some(RaceView { labels, focus: 0 });
    }

    /// The number of variants trained: one without a race.
    pub fn lane_count(&self) -> usize {
        self.race.as_ref().map_or(1, |r| r.labels.len())
    }

    /// The variant in focus (0 without a race).
    pub fn focus(&self) -> usize {
        self.race.as_ref().map_or(0, |r| r.focus)
    }

    /// Applies an event from variant `lane`'s trainer (any event goes to the one run
    /// without a race).
    pub fn on_lane_event(&mut self, lane: usize, event: Event) {
        let lane = if self.race.is_some() { lane } else { 0 };
        let focused = lane == self.focus();
        if let Event::Gpu(stats) = event {
            // The header shows the focused variant's figures.
            if focused {
                self.gpu = Some(stats);
            }
            return;
        }
        let replay = self.replay.is_some();
        let Some(run) = self.runs.get_mut(lane) else {
            return;
        };
        let Some(news) = run.on_event(event, replay) else {
            return;
        };
        if focused {
            self.status = Some(self.in_words(&news));
        } else if news.worth_telling_from_afar()
            && let Some(race) = &self.race
        {
            // Another variant reaches the status line only with news: it diverged,
            // finished or failed.
            let label = &race.labels[lane];
            self.status = Some(format!("{label}: {}", self.in_words(&news)));
        }
        if matches!(news, RunNews::Finished { .. }) {
            self.after_a_finish();
        }
    }

    /// `--exit-on-finish` leaves once every variant has finished.
    fn after_a_finish(&mut self) {
        let all = (0..self.lane_count()).all(|i| self.lane_state(i) == &RunState::Finished);
        if all && self.exit_on_finish {
            self.should_quit = true;
        }
    }

    /// Moves the focus to variant `lane` (0-based); the status line names it.
    pub fn focus_lane(&mut self, lane: usize) {
        let Some(race) = self.race.as_mut() else {
            self.status = Some("no race: start one with --race SPEC".into());
            return;
        };
        if lane >= race.labels.len() {
            self.status = Some(format!(
                "the race has {} variants: keys 1–{} focus them",
                race.labels.len(),
                race.labels.len()
            ));
            return;
        }
        if lane == race.focus {
            return;
        }
        race.focus = lane;
        self.status = Some(format!("focus: {} {}", lane + 1, race.labels[lane]));
    }

    /// The run of variant `lane` (the focused one's for a lane out of range).
    pub fn lane_run(&self, lane: usize) -> &RunView {
        self.runs.get(lane).unwrap_or_else(|| self.run())
    }

    /// Variant `lane`'s state.
    pub fn lane_state(&self, lane: usize) -> &RunState {
        &self.lane_run(lane).state
    }

    /// Variant `lane`'s loss, train and test accuracy curves.
    pub fn lane_curves(&self, lane: usize) -> &Curves {
        &self.lane_run(lane).curves
    }

    /// What the header says about each variant, in race order; empty without a race.
    pub fn lane_summaries(&self) -> Vec<LaneSummary<'_>> {
        let Some(race) = &self.race else {
            return Vec::new();
        };
        race.labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let run = self.lane_run(i);
                LaneSummary {
                    number: i + 1,
                    label,
                    state: &run.state,
                    epoch: (run.current_epoch(), run.epochs),
                    examples_per_sec: run.examples_per_sec,
                    test_acc: run.last_epoch.as_ref().map(|e| e.test_acc),
                    focused: i == race.focus,
                }
            })
            .collect()
    }

    /// Who gets `command`, as `(variant, command)`: the focused variant alone for a
    /// change of its recipe; else every variant that can act on it (a pause or a
    /// step for those still training, so a diverged variant stays paused).
    pub fn recipients(&self, command: Command) -> Vec<(usize, Command)> {
        if self.race.is_none() {
            return vec![(0, command)];
        }
        if for_focus_only(&command) {
            return vec![(self.focus(), command)];
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
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::Dataset;
    use crate::model::Pooling;
    use crate::train::Change;
    use crate::ui::keys::KeyMap;
    use crate::ui::theme::{ChartMarker, ColorDepth, Theme, ThemeKind};

    fn plain_app() -> App {
        App::new(
            Arc::new(Dataset::embedded()),
            Theme::new(ThemeKind::Dark, ColorDepth::Ansi256, ChartMarker::Braille),
            KeyMap::default(),
        )
    }

    fn race_app(n: usize) -> App {
        let mut app = plain_app();
        app.race((1..=n).map(|i| format!("v{i}")).collect());
        app
    }

    fn progress(at: f64, loss: f64) -> Event {
        Event::Progress(crate::train::Progress {
            epoch: at.ceil() as u32,
            at,
            batch: 1,
            batches: 10,
            train_loss: loss,
            train_acc: 0.5,
            examples_per_sec: 100.0,
            layers: Vec::new(),
        })
    }

    #[test]
    fn each_variant_keeps_its_own_curves_and_the_focus_brings_them_forward() {
        let mut app = race_app(3);
        app.on_lane_event(0, progress(0.1, 2.0));
        app.on_lane_event(1, progress(0.1, 1.0));
        app.on_lane_event(1, progress(0.2, 0.9));
        assert_eq!(app.run().curves.loss.points(), &[(0.1, 2.0)]);
        assert_eq!(app.lane_curves(1).loss.points(), &[(0.1, 1.0), (0.2, 0.9)]);
        assert!(app.lane_curves(2).loss.points().is_empty());
        app.focus_lane(1);
        assert_eq!(app.focus(), 1);
        assert_eq!(app.run().curves.loss.points(), &[(0.1, 1.0), (0.2, 0.9)]);
        assert_eq!(app.lane_curves(0).loss.points(), &[(0.1, 2.0)]);
        // Events keep going where they belong after the move.
        app.on_lane_event(0, progress(0.2, 1.8));
        assert_eq!(app.lane_curves(0).loss.points(), &[(0.1, 2.0), (0.2, 1.8)]);
        assert_eq!(app.run().curves.loss.points().len(), 2);
        app.focus_lane(0);
        assert_eq!(app.run().curves.loss.points(), &[(0.1, 2.0), (0.2, 1.8)]);
        app.focus_lane(7);
        assert_eq!(app.focus(), 0);
        assert!(app.status.as_deref().unwrap().contains("1–3"));
    }

    #[test]
    fn recipe_changes_go_to_the_focus_and_pauses_to_every_training_variant() {
        let mut app = race_app(3);
        for i in 0..3 {
            app.on_lane_event(
                i,
                Event::Changed {
                    at: 0.0,
                    change: Change::Resumed,
                },
            );
        }
        app.on_lane_event(
            2,
            Event::Diverged(crate::train::Divergence {
                epoch: 1,
                batch: 3,
                loss: f64::NAN,
                last_good: None,
            }),
        );
        app.focus_lane(1);
        assert_eq!(
            app.recipients(Command::SetPooling(Pooling::Max)),
            vec![(1, Command::SetPooling(Pooling::Max))]
        );
        let paused: Vec<usize> = app.recipients(Command::Pause).iter().map(|r| r.0).collect();
        assert_eq!(paused, [0, 1], "the diverged variant stays as it is");
        let saved: Vec<usize> = app
            .recipients(Command::Save(crate::train::SaveReason::User))
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(saved, [0, 1, 2]);
        assert!(app.status.as_deref().unwrap_or("").contains("focus"));
        assert!(matches!(app.lane_state(2), RunState::Diverged(_)));
    }

    #[test]
    fn another_variant_reaches_the_status_line_only_with_news() {
        let mut app = race_app(2);
        app.status = None;
        let paused = Event::Changed {
            at: 0.5,
            change: Change::Paused,
        };
        app.on_lane_event(1, paused.clone());
        app.on_lane_event(1, Event::Rejected("no".into()));
        assert_eq!(app.status, None, "not news from afar");
        assert_eq!(app.lane_state(1), &RunState::Paused);
        app.on_lane_event(0, paused);
        assert!(app.status.as_deref().unwrap().starts_with("paused: "));
        app.on_lane_event(1, Event::Error("out of memory".into()));
        assert_eq!(app.status.as_deref(), Some("v2: error: out of memory"));
    }

    #[test]
    fn without_a_race_everything_goes_to_the_one_trainer() {
        let app = plain_app();
        assert_eq!(app.recipients(Command::Pause), vec![(0, Command::Pause)]);
        assert_eq!(app.lane_count(), 1);
        assert!(app.lane_summaries().is_empty());
    }
}
