//! When captures are taken and when a routine refresh may reach the terminal: one
//! small policy consulted by the dashboard's loop and by headless runs alike. Like
//! Burn's checkpointing strategies it owns no I/O: it is told what happened and
//! answers with a decision, and the loop does the work.

use std::time::{Duration, Instant};

use super::budget::OutputBudget;
use crate::train::Event;

/// Which epoch ends earn a screenshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochShots {
    /// None.
    Never,
    /// Each epoch end of the variant in focus (the dashboard shows that one).
    Focused,
    /// Each epoch that every variant still training has ended (a headless race's
    /// screenshot shows all of them one epoch on).
    Slowest,
}

/// What of an event counts for the cadence: taken before the event moves into the
/// state, so that nothing large is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    /// An epoch ended: this one, from 1.
    EpochEnd(u32),
    /// The last epoch ended.
    Finished,
    /// Anything else.
    Other,
}

impl Milestone {
    /// What `event` is to the cadence.
    pub fn of(event: &Event) -> Self {
        match event {
            Event::EpochFinished(e) => Milestone::EpochEnd(e.epoch),
            Event::Finished(_) => Milestone::Finished,
            _ => Milestone::Other,
        }
    }
}

/// What to capture after an event has been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shots {
    /// Save a screenshot of the dashboard.
    pub screenshot: bool,
    /// Save the training figure: the last variant still training has finished.
    pub figure: bool,
}

/// What the caller knows of the variants once an event has counted.
#[derive(Debug, Clone, Copy)]
pub struct Lanes<'a> {
    /// The variant in focus (0 without a race).
    pub focus: usize,
    /// Per variant, whether it is done training: finished (and, headless, diverged).
    pub done: &'a [bool],
}

/// The capture cadence and the output budget's hold-back.
#[derive(Debug, Clone)]
pub struct CaptureCadence {
    epoch_shots: EpochShots,
    figure_at_end: bool,
    /// Epochs each variant has ended.
    epochs_done: Vec<u32>,
    /// The last epoch a [`EpochShots::Slowest`] screenshot showed.
    shot_epoch: u32,
    budget: Option<OutputBudget>,
    /// The newest routine heatmap refresh the budget has held back, and its variant.
    held: Option<(usize, Event)>,
}

impl CaptureCadence {
    /// A cadence for `lanes` variants: screenshots at `epoch_shots`, the figure when
    /// the last one finishes if `figure_at_end`.
    pub fn new(lanes: usize, epoch_shots: EpochShots, figure_at_end: bool) -> Self {
        Self {
            epoch_shots,
            figure_at_end,
            epochs_done: vec![0; lanes],
            shot_epoch: 0,
            budget: None,
            held: None,
        }
    }

    /// With routine refreshes held back while the output is over `bytes_per_sec`.
    pub fn with_budget(mut self, bytes_per_sec: Option<f64>, now: Instant) -> Self {
        self.budget = bytes_per_sec.map(|rate| OutputBudget::new(rate, now));
        self
    }

    /// Variant `lane`'s event, of which `milestone` is what counts here, has been
    /// applied; what to capture now.
    pub fn after(&mut self, lane: usize, milestone: Milestone, lanes: Lanes<'_>) -> Shots {
        if let Milestone::EpochEnd(epoch) = milestone
            && let Some(done) = self.epochs_done.get_mut(lane)
        {
            *done = epoch;
        }
        let screenshot = matches!(milestone, Milestone::EpochEnd(_))
            && match self.epoch_shots {
                EpochShots::Never => false,
                EpochShots::Focused => lane == lanes.focus,
                EpochShots::Slowest => self.slowest_moved_on(lanes.done),
            };
        Shots {
            screenshot,
            figure: self.figure_at_end
                && milestone == Milestone::Finished
                && lanes.done.iter().all(|&d| d),
        }
    }

    /// Whether the slowest variant still training has ended an epoch no screenshot
    /// showed yet; if so, that epoch is now shown.
    fn slowest_moved_on(&mut self, done: &[bool]) -> bool {
        let behind = self
            .epochs_done
            .iter()
            .zip(done)
            .filter(|&(_, &done)| !done)
            .map(|(&epochs, _)| epochs)
            .min();
        match behind {
            Some(epoch) if epoch > self.shot_epoch => {
                self.shot_epoch = epoch;
                true
            }
            _ => false,
        }
    }

    /// Variant `lane`'s `event`, if it is to be applied now; `None` when the budget
    /// keeps it (a periodic heatmap refresh while heatmaps are `showing` and the
    /// output is over budget). One refresh is held at a time: a race's others show
    /// theirs at their next one.
    pub fn admit(
        &mut self,
        lane: usize,
        event: Event,
        showing: bool,
        now: Instant,
    ) -> Option<Event> {
        if let Some(b) = self.budget.as_mut()
            && b.holds_back(&event, showing, now)
        {
            self.held = Some((lane, event));
            return None;
        }
        if matches!(event, Event::Activations { .. })
            && self.held.as_ref().is_some_and(|(l, _)| *l == lane)
        {
            // Newer than the refresh held back.
            self.held = None;
        }
        Some(event)
    }

    /// The held refresh, once the budget lets it through.
    pub fn release(&mut self, now: Instant) -> Option<(usize, Event)> {
        self.held.as_ref()?;
        if self.budget.as_mut().is_none_or(|b| b.allows(now)) {
            self.held.take()
        } else {
            None
        }
    }

    /// How long until the held refresh may go out; `None` when nothing is held.
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        self.held.as_ref()?;
        self.budget.as_mut().map(|b| b.wait(now))
    }

    /// Counts `bytes` just written to the terminal.
    pub fn spent(&mut self, bytes: u64, now: Instant) {
        if let Some(b) = self.budget.as_mut() {
            b.spend(bytes, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Divergence, EpochSummary};

    fn summary(epoch: u32) -> EpochSummary {
        EpochSummary {
            epoch,
            train_loss: 0.5,
            train_acc: 0.8,
            test_acc: 0.9,
            examples_per_sec: 1000.0,
            train_seconds: 1.0,
            eval_seconds: 0.1,
            layers: Vec::new(),
            class_acc: Vec::new(),
        }
    }

    fn epoch(e: u32) -> Event {
        Event::EpochFinished(summary(e))
    }

    fn refresh(periodic: bool) -> Event {
        Event::Activations {
            reports: Vec::new(),
            kernels: None,
            periodic,
        }
    }

    fn shots(c: &mut CaptureCadence, lane: usize, event: &Event, lanes: Lanes<'_>) -> Shots {
        c.after(lane, Milestone::of(event), lanes)
    }

    fn at(focus: usize, done: &[bool]) -> Lanes<'_> {
        Lanes { focus, done }
    }

    #[test]
    fn focused_shots_follow_the_variant_in_focus() {
        let mut c = CaptureCadence::new(2, EpochShots::Focused, true);
        let live = [false, false];
        assert!(shots(&mut c, 0, &epoch(1), at(0, &live)).screenshot);
        assert!(!shots(&mut c, 1, &epoch(1), at(0, &live)).screenshot);
        assert!(shots(&mut c, 1, &epoch(2), at(1, &live)).screenshot);
        assert!(!shots(&mut c, 0, &refresh(true), at(0, &live)).screenshot);
        let mut off = CaptureCadence::new(1, EpochShots::Never, true);
        assert!(!shots(&mut off, 0, &epoch(1), at(0, &[false])).screenshot);
    }

    #[test]
    fn slowest_shots_wait_for_every_variant_still_training() {
        let mut c = CaptureCadence::new(3, EpochShots::Slowest, true);
        let live = [false; 3];
        assert!(!shots(&mut c, 0, &epoch(1), at(0, &live)).screenshot);
        assert!(!shots(&mut c, 1, &epoch(1), at(0, &live)).screenshot);
        assert!(
            shots(&mut c, 2, &epoch(1), at(0, &live)).screenshot,
            "all at 1"
        );
        assert!(!shots(&mut c, 2, &epoch(2), at(0, &live)).screenshot);
        assert!(!shots(&mut c, 1, &epoch(2), at(0, &live)).screenshot);
        // Variant 0 diverged in its second epoch: it drops out, and the next epoch
        // end shows the others' second one.
        let diverged = [true, false, false];
        let d = Event::Diverged(Divergence {
            epoch: 2,
            batch: 3,
            loss: f64::NAN,
            last_good: None,
        });
        assert_eq!(shots(&mut c, 0, &d, at(0, &diverged)), Shots::default());
        assert!(
            shots(&mut c, 1, &epoch(3), at(0, &diverged)).screenshot,
            "at 2"
        );
        assert!(
            shots(&mut c, 2, &epoch(3), at(0, &diverged)).screenshot,
            "at 3"
        );
        assert!(
            !shots(&mut c, 2, &epoch(3), at(0, &diverged)).screenshot,
            "shown once"
        );
    }

    #[test]
    fn a_finished_variant_no_longer_holds_the_others_back() {
        let mut c = CaptureCadence::new(2, EpochShots::Slowest, true);
        let live = [false, false];
        assert!(!shots(&mut c, 0, &epoch(1), at(0, &live)).screenshot);
        assert!(!shots(&mut c, 0, &epoch(2), at(0, &live)).screenshot);
        let finished = Event::Finished(summary(2));
        let first = shots(&mut c, 0, &finished, at(0, &[true, false]));
        assert_eq!(first, Shots::default(), "variant 1 still trains");
        assert!(shots(&mut c, 1, &epoch(1), at(0, &[true, false])).screenshot);
        assert!(shots(&mut c, 1, &epoch(2), at(0, &[true, false])).screenshot);
        let last = shots(&mut c, 1, &finished, at(0, &[true, true]));
        assert_eq!(
            last,
            Shots {
                screenshot: false,
                figure: true
            }
        );
    }

    #[test]
    fn the_figure_comes_only_when_asked_for_at_the_end() {
        let finished = Event::Finished(summary(3));
        let mut replay = CaptureCadence::new(1, EpochShots::Focused, false);
        assert!(!shots(&mut replay, 0, &finished, at(0, &[true])).figure);
        let mut run = CaptureCadence::new(1, EpochShots::Never, true);
        assert!(shots(&mut run, 0, &finished, at(0, &[true])).figure);
        assert!(!shots(&mut run, 0, &epoch(3), at(0, &[true])).figure);
    }

    #[test]
    fn over_budget_refreshes_are_held_and_released_when_it_allows() {
        let t0 = Instant::now();
        let mut c = CaptureCadence::new(2, EpochShots::Never, false).with_budget(Some(1000.0), t0);
        assert!(
            c.admit(0, refresh(true), true, t0).is_some(),
            "within budget"
        );
        assert_eq!(c.wait(t0), None, "nothing held");
        c.spent(5000, t0);
        assert!(c.admit(0, refresh(true), true, t0).is_none());
        assert!(
            c.admit(0, refresh(true), false, t0).is_some(),
            "nothing shown yet"
        );
        assert!(c.admit(0, refresh(true), true, t0).is_none());
        assert!(
            c.admit(1, refresh(false), true, t0).is_some(),
            "asked for by a key"
        );
        assert!(c.admit(0, epoch(1), true, t0).is_some());
        let wait = c.wait(t0).expect("a refresh is held");
        assert!((wait.as_secs_f64() - 3.0).abs() < 1e-9, "{wait:?}");
        assert_eq!(c.release(t0 + Duration::from_secs(2)), None);
        let (lane, event) = c.release(t0 + wait).expect("paid off");
        assert_eq!((lane, event), (0, refresh(true)));
        assert_eq!(c.release(t0 + wait), None, "released once");
    }

    #[test]
    fn a_newer_refresh_of_the_same_variant_replaces_the_held_one() {
        let t0 = Instant::now();
        let mut c = CaptureCadence::new(2, EpochShots::Never, false).with_budget(Some(1000.0), t0);
        c.spent(5000, t0);
        assert!(c.admit(1, refresh(true), true, t0).is_none());
        assert!(c.admit(0, refresh(false), true, t0).is_some());
        assert!(c.wait(t0).is_some(), "variant 0's refresh leaves 1's held");
        assert!(c.admit(1, refresh(false), true, t0).is_some());
        assert_eq!(c.wait(t0), None);
        assert_eq!(c.release(t0 + Duration::from_secs(10)), None);
    }

    #[test]
    fn without_a_budget_nothing_waits() {
        let t0 = Instant::now();
        let mut c = CaptureCadence::new(1, EpochShots::Never, false).with_budget(None, t0);
        c.spent(1_000_000, t0);
        assert!(c.admit(0, refresh(true), true, t0).is_some());
        assert_eq!(c.wait(t0), None);
    }
}
