//! A race in the dashboard: several variants train at once and one is in focus.
//!
//! The focused variant's run lives in the [`App`]'s own fields, so every panel (shape
//! table, activations, probabilities, kernels, confusion, diagnostics) follows the
//! focus without knowing about races; the other variants' runs wait in
//! [`RaceView::lanes`], each a whole [`App`] that takes its own events. Moving the
//! focus swaps the run fields (never the screen's: images, panels, overlays).

use crate::train::{Command, Event};
use crate::ui::app::{App, RunState};
use crate::ui::history::Series;

/// The race's variants and which is in focus.
pub struct RaceView {
    /// Each variant's label, in race order.
    pub labels: Vec<String>,
    /// The variant in focus: its run is the [`App`]'s own.
    pub focus: usize,
    /// Every variant's run but the focused one's (whose slot holds a fresh [`App`]
    /// until the focus comes back to it).
    lanes: Vec<App>,
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

/// Swaps what belongs to a run (figures, settings, activations) between two apps,
/// leaving what belongs to the screen.
fn swap_runs(a: &mut App, b: &mut App) {
    macro_rules! swap {
        ($($field:ident),* $(,)?) => { $(std::mem::swap(&mut a.$field, &mut b.$field);)* };
    }
    swap!(
        info,
        state,
        epochs,
        at,
        batch,
        examples_per_sec,
        pooling,
        activation,
        learning_rate,
        pace,
        layers,
        loss,
        train_acc,
        test_acc,
        gradients,
        changes,
        activations,
        kernels,
        confusion,
        confusion_epoch,
        recipe,
        past_runs,
        last_epoch,
        eval_seconds,
        last_checkpoint,
        past,
    );
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
        let lanes = labels
            .iter()
            .map(|_| {
                let mut lane = App::new(
                    self.dataset.clone(),
                    self.theme.clone(),
                    self.keymap.clone(),
                );
                lane.max_output = None;
                lane
            })
            .collect();
        let n = labels.len();
        self.status = Some(format!(
            "a race of {n}: {}–{} focus a variant, {} pauses them all",
            self.keymap.name(crate::ui::keys::Action::Focus1),
            self.keymap.name(crate::ui::keys::Action::focus(n)),
            self.keymap.name(crate::ui::keys::Action::TogglePause)
        ));
        self.race = Some(RaceView {
            labels,
            focus: 0,
            lanes,
        });
    }

    /// The number of variants trained: one without a race.
    pub fn lane_count(&self) -> usize {
        self.race.as_ref().map_or(1, |r| r.labels.len())
    }

    /// The variant in focus (0 without a race).
    pub fn focus(&self) -> usize {
        self.race.as_ref().map_or(0, |r| r.focus)
    }

    /// Applies an event from variant `lane`'s trainer.
    pub fn on_lane_event(&mut self, lane: usize, event: Event) {
        let Some(race) = self.race.as_mut() else {
            self.on_event(event);
            return;
        };
        if lane == race.focus {
            let finished = matches!(event, Event::Finished(_));
            let quit_when_done = std::mem::take(&mut self.exit_on_finish);
            self.on_event(event);
            self.exit_on_finish = quit_when_done;
            if finished {
                self.after_a_finish();
            }
            return;
        }
        let Some(other) = race.lanes.get_mut(lane) else {
            return;
        };
        let label = race.labels[lane].clone();
        // What another variant has to say reaches the status line only when it is news:
        // it diverged, finished or failed.
        let news = matches!(
            event,
            Event::Diverged(_) | Event::Finished(_) | Event::Error(_) | Event::SaveFailed { .. }
        );
        let finished = matches!(event, Event::Finished(_));
        other.on_event(event);
        let status = other.status.take();
        if news && let Some(s) = status {
            self.status = Some(format!("{label}: {s}"));
        }
        if finished {
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
        let old = race.focus;
        // The focused run goes back to its slot; the new one's comes out of its own.
        let mut lanes = std::mem::take(&mut race.lanes);
        swap_runs(self, &mut lanes[old]);
        swap_runs(self, &mut lanes[lane]);
        let race = self.race.as_mut().expect("checked above");
        race.lanes = lanes;
        race.focus = lane;
        self.status = Some(format!("focus: {} {}", lane + 1, race.labels[lane]));
    }

    /// Another variant's run (`None` for the focused one, whose run is the app's).
    fn other_lane(&self, lane: usize) -> Option<&App> {
        let race = self.race.as_ref()?;
        (lane != race.focus).then(|| race.lanes.get(lane))?
    }

    /// The run of variant `lane`: the app itself for the one in focus.
    pub fn lane_run(&self, lane: usize) -> &App {
        self.other_lane(lane).unwrap_or(self)
    }

    /// Variant `lane`'s state.
    pub fn lane_state(&self, lane: usize) -> &RunState {
        &self.lane_run(lane).state
    }

    /// Variant `lane`'s loss, train and test accuracy curves.
    pub fn lane_series(&self, lane: usize) -> [&Series; 3] {
        let run = self.lane_run(lane);
        [&run.loss, &run.train_acc, &run.test_acc]
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
        assert_eq!(app.loss.points(), &[(0.1, 2.0)]);
        assert_eq!(app.lane_series(1)[0].points(), &[(0.1, 1.0), (0.2, 0.9)]);
        assert!(app.lane_series(2)[0].points().is_empty());
        app.focus_lane(1);
        assert_eq!(app.focus(), 1);
        assert_eq!(app.loss.points(), &[(0.1, 1.0), (0.2, 0.9)]);
        assert_eq!(app.lane_series(0)[0].points(), &[(0.1, 2.0)]);
        // Events keep going where they belong after the move.
        app.on_lane_event(0, progress(0.2, 1.8));
        assert_eq!(app.lane_series(0)[0].points(), &[(0.1, 2.0), (0.2, 1.8)]);
        assert_eq!(app.loss.points().len(), 2);
        app.focus_lane(0);
        assert_eq!(app.loss.points(), &[(0.1, 2.0), (0.2, 1.8)]);
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
    fn without_a_race_everything_goes_to_the_one_trainer() {
        let app = plain_app();
        assert_eq!(app.recipients(Command::Pause), vec![(0, Command::Pause)]);
        assert_eq!(app.lane_count(), 1);
        assert!(app.lane_summaries().is_empty());
    }
}
