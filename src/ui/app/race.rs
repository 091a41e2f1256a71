//! A race in the dashboard: several variants train at once and one is in focus.
//!
//! Each variant's run is a [`RunView`] in [`Runs::views`], in race order, and takes
//! its own trainer's events; the screen's focus is an index into them. Every panel
//! (shape table, activations, probabilities, kernels, confusion, diagnostics) draws
//! the focused run, so it follows the focus without knowing about races, and moving
//! the focus copies nothing. The screen (images, panels, overlays) is one for all
//! variants.

use crate::train::{Command, Event};
use crate::ui::app::{App, RaceView, RunNews, RunView};
use crate::ui::keys::Action;

impl App {
    /// Makes this dashboard show a race of `labels` (two to
    /// [`MAX_VARIANTS`](crate::train::race::MAX_VARIANTS)), the first in focus.
    pub fn race(&mut self, labels: Vec<String>) {
        let n = labels.len();
        // The first variant keeps the run shown so far; the others start fresh (a
        // dashboard's state handed on to headless already has them all).
        if self.runs.views.len() != n.max(1) {
            self.runs.views.truncate(1);
            self.runs.views.resize_with(n.max(1), RunView::new);
        }
        self.screen.status = Some(format!(
            "a race of {n}: {}–{} focus a variant, {} pauses them all",
            self.screen.keymap.name(Action::Focus1),
            self.screen.keymap.name(Action::focus(n)),
            self.screen.keymap.name(Action::TogglePause)
        ));
        self.runs.race = Some(RaceView { labels });
        self.screen.focus = 0;
    }

    /// Applies an event from variant `lane`'s trainer (any event goes to the one run
    /// without a race).
    pub fn on_lane_event(&mut self, lane: usize, event: Event) {
        let lane = if self.runs.race.is_some() { lane } else { 0 };
        let focused = lane == self.focus();
        if let Event::Gpu(stats) = event {
            // The header shows the focused variant's figures.
            if focused {
                self.runs.gpu = Some(stats);
            }
            return;
        }
        let replay = self.runs.replay.is_some();
        let Some(run) = self.runs.views.get_mut(lane) else {
            return;
        };
        let Some(news) = run.on_event(event, replay) else {
            return;
        };
        if focused {
            self.screen.status = Some(self.in_words(&news));
        } else if news.worth_telling_from_afar()
            && let Some(label) = self.runs.label(lane)
        {
            // Another variant reaches the status line only with news: it diverged,
            // finished or failed.
            self.screen.status = Some(format!("{label}: {}", self.in_words(&news)));
        }
        if matches!(news, RunNews::Finished { .. }) && self.exit_on_finish {
            // `--exit-on-finish` leaves once every variant has finished.
            self.should_quit |= self.runs.all_finished();
        }
    }

    /// Moves the focus to variant `lane` (0-based); the status line names it.
    pub fn focus_lane(&mut self, lane: usize) {
        let count = self.runs.lane_count();
        if self.runs.race.is_none() {
            self.screen.status = Some("no race: start one with --race SPEC".into());
            return;
        }
        if lane >= count {
            self.screen.status = Some(format!(
                "the race has {count} variants: keys 1–{count} focus them"
            ));
            return;
        }
        if lane == self.screen.focus {
            return;
        }
        self.screen.focus = lane;
        let label = self.runs.label(lane).unwrap_or_default();
        self.screen.status = Some(format!("focus: {} {label}", lane + 1));
    }

    /// Who gets `command`: see [`Runs::recipients`](super::Runs::recipients).
    pub fn recipients(&self, command: Command) -> Vec<(usize, Command)> {
        self.runs.recipients(command, self.screen.focus)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::Dataset;
    use crate::model::Pooling;
    use crate::train::Change;
    use crate::ui::app::RunState;
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
        assert_eq!(
            app.runs.lane(1).curves.loss.points(),
            &[(0.1, 1.0), (0.2, 0.9)]
        );
        assert!(app.runs.lane(2).curves.loss.points().is_empty());
        app.focus_lane(1);
        assert_eq!(app.focus(), 1);
        assert_eq!(app.run().curves.loss.points(), &[(0.1, 1.0), (0.2, 0.9)]);
        assert_eq!(app.runs.lane(0).curves.loss.points(), &[(0.1, 2.0)]);
        // Events keep going where they belong after the move.
        app.on_lane_event(0, progress(0.2, 1.8));
        assert_eq!(
            app.runs.lane(0).curves.loss.points(),
            &[(0.1, 2.0), (0.2, 1.8)]
        );
        assert_eq!(app.run().curves.loss.points().len(), 2);
        app.focus_lane(0);
        assert_eq!(app.run().curves.loss.points(), &[(0.1, 2.0), (0.2, 1.8)]);
        app.focus_lane(7);
        assert_eq!(app.focus(), 0);
        assert!(app.screen.status.as_deref().unwrap().contains("1–3"));
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
        assert!(app.screen.status.as_deref().unwrap_or("").contains("focus"));
        assert!(matches!(app.runs.lane_state(2), RunState::Diverged(_)));
    }

    #[test]
    fn another_variant_reaches_the_status_line_only_with_news() {
        let mut app = race_app(2);
        app.screen.status = None;
        let paused = Event::Changed {
            at: 0.5,
            change: Change::Paused,
        };
        app.on_lane_event(1, paused.clone());
        app.on_lane_event(1, Event::Rejected("no".into()));
        assert_eq!(app.screen.status, None, "not news from afar");
        assert_eq!(app.runs.lane_state(1), &RunState::Paused);
        app.on_lane_event(0, paused);
        assert!(
            app.screen
                .status
                .as_deref()
                .unwrap()
                .starts_with("paused: ")
        );
        app.on_lane_event(1, Event::Error("out of memory".into()));
        assert_eq!(
            app.screen.status.as_deref(),
            Some("v2: error: out of memory")
        );
    }

    #[test]
    fn without_a_race_everything_goes_to_the_one_trainer() {
        let app = plain_app();
        assert_eq!(app.recipients(Command::Pause), vec![(0, Command::Pause)]);
        assert_eq!(app.runs.lane_count(), 1);
        assert!(app.runs.lane_summaries(0).is_empty());
    }
}
