//! Replaying a saved run: a thread that speaks the trainer's protocol (commands in,
//! events out) from a run's saved timeline instead of training, so the dashboard shows
//! it with every panel, key and capture as in a live run. It plays the run's figures
//! forward at a pace and shows each snapshot's model as the play head passes it; the
//! keys move the head. It trains nothing, needs no GPU and writes nothing.

mod thread;

use std::time::{Duration, Instant};

use super::messages::{Change, Event, History};
use super::pace::{Pace, SLOWEST};
use super::timeline::EpochConfusion;

pub use thread::{ReplaySpec, spawn_replay};

/// Two positions closer than this (in epochs) are the same.
const SAME: f64 = 1e-9;

/// The events the play head passes going from `from` (exclusive) to `to`
/// (inclusive), in the order the run sent them: its progress reports, each epoch's
/// confusion matrix and summary, and its setting changes (pooling, activation,
/// learning rate; the run's own pace changes are not the replay's).
pub fn events_between(
    history: &History,
    confusions: &[EpochConfusion],
    from: f64,
    to: f64,
) -> Vec<Event> {
    let passed = |at: f64| at > from + SAME && at <= to + SAME;
    // At one position the run reported progress, then ended the epoch, then changed.
    let mut timed: Vec<(f64, u8, Event)> = Vec::new();
    for p in history.progress.iter().filter(|p| passed(p.at)) {
        timed.push((p.at, 0, Event::Progress(p.clone())));
    }
    for e in history.epochs.iter().filter(|e| passed(f64::from(e.epoch))) {
        let at = f64::from(e.epoch);
        if let Some(c) = confusions.iter().find(|c| c.epoch == e.epoch) {
            timed.push((
                at,
                1,
                Event::Confusion {
                    epoch: c.epoch,
                    matrix: c.matrix.clone(),
                },
            ));
        }
        timed.push((at, 2, Event::EpochFinished(e.clone())));
    }
    for c in history.changes.iter().filter(|c| passed(c.at)) {
        if matches!(
            c.change,
            Change::Pooling(_) | Change::Activation(_) | Change::LearningRate(_)
        ) {
            timed.push((
                c.at,
                3,
                Event::Changed {
                    at: c.at,
                    change: c.change.clone(),
                },
            ));
        }
    }
    timed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    timed.into_iter().map(|(_, _, e)| e).collect()
}

/// Where a replay stands and how fast it goes: the play head's arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct Playhead {
    /// Position in epochs.
    pub at: f64,
    /// Where the run's record ends, in epochs.
    pub end: f64,
    /// Whether the head moves.
    pub playing: bool,
    /// Training examples a second the head moves at.
    pub pace: Pace,
    /// What `Pace::Full` means here: the run's own training speed (examples/sec).
    pub full_speed: f64,
    /// Training examples in an epoch.
    pub examples_per_epoch: f64,
    /// When the head last moved.
    since: Instant,
}

impl Playhead {
    /// A head at the start of a run ending at `end`, playing.
    pub fn new(
        end: f64,
        pace: Pace,
        full_speed: f64,
        examples_per_epoch: usize,
        now: Instant,
    ) -> Self {
        Self {
            at: 0.0,
            end,
            playing: true,
            pace,
            full_speed: full_speed.max(1.0),
            examples_per_epoch: examples_per_epoch.max(1) as f64,
            since: now,
        }
    }

    /// Epochs the head moves a second at its pace.
    pub fn epochs_per_second(&self) -> f64 {
        let examples = self.pace.per_second().map_or(self.full_speed, f64::from);
        examples / self.examples_per_epoch
    }

    /// Moves the head by the time gone since it last moved; returns the stretch it
    /// passed, `None` when it did not move.
    pub fn advance(&mut self, now: Instant) -> Option<(f64, f64)> {
        let elapsed = now.saturating_duration_since(self.since);
        self.since = now;
        if !self.playing || self.at >= self.end {
            return None;
        }
        let from = self.at;
        self.at = (from + elapsed.as_secs_f64() * self.epochs_per_second()).min(self.end);
        (self.at > from).then_some((from, self.at))
    }

    /// Starts or stops the head (from `now`, so a pause is not played back later).
    pub fn set_playing(&mut self, playing: bool, now: Instant) {
        self.playing = playing;
        self.since = now;
    }

    /// Whether the head is at the end of the run.
    pub fn at_end(&self) -> bool {
        self.at >= self.end - SAME
    }

    /// How long until the head next needs moving.
    pub fn wait(&self) -> Option<Duration> {
        (self.playing && !self.at_end()).then_some(TICK)
    }
}

/// How often a playing head moves: smooth curves at a fraction of the frame rate.
const TICK: Duration = Duration::from_millis(50);

/// A lecture pace for a run with `examples_per_epoch`: an epoch in ten to twenty seconds,
/// on the grid the pace keys double and halve on (a power of two), and never faster
/// than the run itself went (`full_speed`).
pub fn lecture_pace(examples_per_epoch: usize, full_speed: f64) -> Pace {
    let target = (examples_per_epoch as f64 / 10.0).max(f64::from(SLOWEST));
    let pow2 = 2f64.powi(target.log2().floor() as i32);
    if pow2 >= full_speed {
        Pace::Full
    } else {
        Pace::PerSecond(pow2 as u32)
    }
}

/// The run's own training speed: examples a second over its finished epochs (or its
/// newest progress report before the first ends).
pub fn run_speed(history: &History) -> Option<f64> {
    let (examples, seconds) = history.epochs.iter().fold((0.0, 0.0), |(n, s), e| {
        (
            n + e.examples_per_sec * e.train_seconds,
            s + e.train_seconds,
        )
    });
    if seconds > 0.0 && examples > 0.0 {
        return Some(examples / seconds);
    }
    history
        .progress
        .last()
        .map(|p| p.examples_per_sec)
        .filter(|s| *s > 0.0)
}

#[cfg(test)]
mod tests;
