//! The small policies the training loop consults: when to report progress and
//! activations, and when a run has diverged. Each holds only the little state its
//! decision needs and returns the decision; the loop carries it out.

use std::time::{Duration, Instant};

use super::pace::Pace;

/// Progress reports within an epoch are at least this far apart.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Activations go out with progress reports at most this often: heatmaps that change
/// a little several times a second cost the dashboard a core's share of CPU and SSH
/// tens of KB/s, and show nothing a refresh every two seconds does not (setting
/// changes and new images are reported at once).
const PROBES_EVERY: Duration = Duration::from_secs(2);

/// When the loop reports: evenly spaced progress reports, the last one on an epoch's
/// final batch, as the chapter's animator plots them; when batches fly, no more than
/// a few a second (a fast CPU or a GPU would otherwise flood the dashboard); and
/// activations with a progress report every couple of seconds.
#[derive(Debug, Clone, Default)]
pub struct ReportCadence {
    progress_sent: Option<Instant>,
    probes_sent: Option<Instant>,
}

/// What to send after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reports {
    /// A progress report.
    pub progress: bool,
    /// Activations (and GPU figures) with it.
    pub probes: bool,
}

impl ReportCadence {
    /// What to report after batch `i` (from 0) of `batches`, with `per_epoch` reports
    /// wanted per epoch, at `now`; a report it allows counts as sent.
    pub fn after_batch(
        &mut self,
        i: usize,
        batches: usize,
        per_epoch: u32,
        now: Instant,
    ) -> Reports {
        let due = Self::due(i, batches, per_epoch);
        let last = i + 1 == batches;
        let spaced = self
            .progress_sent
            .is_none_or(|t| now.duration_since(t) >= PROGRESS_EVERY);
        let progress = due && (last || spaced);
        if progress {
            self.progress_sent = Some(now);
        }
        let probes = progress
            && self
                .probes_sent
                .is_none_or(|t| now.duration_since(t) >= PROBES_EVERY);
        Reports { progress, probes }
    }

    /// Whether batch `i` (from 0) of `batches` is one of the `per_epoch` evenly
    /// spaced report points (a report goes out after it unless one went out just
    /// before): the batches whose layers are worth measuring.
    pub fn due(i: usize, batches: usize, per_epoch: u32) -> bool {
        let reports = (per_epoch.max(1) as usize).min(batches.max(1));
        (i + 1) * reports / batches != i * reports / batches
    }

    /// Activations went out at `now` (with a report, or on their own after a change).
    pub fn probes_sent(&mut self, now: Instant) {
        self.probes_sent = Some(now);
    }

    /// The next report is due at once (a new curve, or a run restored).
    pub fn restart(&mut self) {
        self.progress_sent = None;
    }
}

/// A batch loss this many times the loss of guessing (ln of the class count) counts as
/// exploded; far above any loss a run that still learns has after its first batches.
const EXPLODED_FACTOR: f64 = 10.0;
/// Consecutive exploded batches that make a divergence: one spike may recover.
const EXPLODED_BATCHES: u32 = 3;

/// Tells a diverging run: a loss that is not finite, or several exploded batches in a
/// row.
#[derive(Debug, Clone, Default)]
pub struct DivergenceGuard {
    exploded: u32,
}

impl DivergenceGuard {
    /// Whether a batch with loss `loss` (over `classes` classes) means training has
    /// diverged; such a batch must not update the weights.
    pub fn diverging(&mut self, loss: f64, classes: usize) -> bool {
        if !loss.is_finite() {
            return true;
        }
        let guessing = (classes.max(2) as f64).ln();
        if loss > EXPLODED_FACTOR * guessing {
            self.exploded += 1;
        } else {
            self.exploded = 0;
        }
        self.exploded >= EXPLODED_BATCHES
    }

    /// Forgets earlier batches (new weights, or weights restored).
    pub fn reset(&mut self) {
        self.exploded = 0;
    }
}

/// Keeps the pace: how long to wait before the next batch so that the examples
/// trained since the pace was set (or training resumed) come no faster than it says.
/// A pause, a resume or a new pace starts the count again, so nothing is caught up.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    pace: Pace,
    /// When the count started (the first batch after it), and examples since.
    since: Option<Instant>,
    examples: u64,
}

impl Pacer {
    /// A pacer at `pace`.
    pub fn new(pace: Pace) -> Self {
        Self {
            pace,
            ..Self::default()
        }
    }

    /// Keeps `pace` from now on.
    pub fn set(&mut self, pace: Pace) {
        self.pace = pace;
        self.start_over();
    }

    /// Counts from the next batch (after a pause, a rewind, a restart).
    pub fn start_over(&mut self) {
        self.since = None;
        self.examples = 0;
    }

    /// How long to wait at `now` before the next batch.
    pub fn wait(&self, now: Instant) -> Duration {
        let (Some(rate), Some(since)) = (self.pace.per_second(), self.since) else {
            return Duration::ZERO;
        };
        let due = since + Duration::from_secs_f64(self.examples as f64 / f64::from(rate));
        due.saturating_duration_since(now)
    }

    /// A batch of `n` examples starts at `now`.
    pub fn batch_started(&mut self, n: usize, now: Instant) {
        if self.since.is_none() {
            self.since = Some(now);
        }
        self.examples += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_loss_or_three_exploded_batches_diverge() {
        let mut g = DivergenceGuard::default();
        assert!(g.diverging(f64::NAN, 10));
        assert!(g.diverging(f64::INFINITY, 10));
        let exploded = 10.0 * 10f64.ln() + 1.0;
        assert!(!g.diverging(exploded, 10));
        assert!(!g.diverging(exploded, 10));
        assert!(!g.diverging(1.0, 10), "a good batch in between starts over");
        assert!(!g.diverging(exploded, 10));
        assert!(!g.diverging(exploded, 10));
        assert!(g.diverging(exploded, 10));
        g.reset();
        assert!(!g.diverging(exploded, 10));
    }

    #[test]
    fn the_pacer_spaces_batches_by_the_examples_they_hold() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut p = Pacer::new(Pace::PerSecond(1000));
        assert_eq!(p.wait(t0), Duration::ZERO, "the first batch goes at once");
        p.batch_started(250, t0);
        // 250 examples at 1000 a second: the next batch is due 250 ms after the first.
        assert_eq!(p.wait(t0 + ms(100)), ms(150));
        assert_eq!(
            p.wait(t0 + ms(300)),
            Duration::ZERO,
            "a slow batch is not waited for"
        );
        p.batch_started(250, t0 + ms(300));
        assert_eq!(p.wait(t0 + ms(300)), ms(200));
        // A pause: the count starts again, nothing is caught up.
        p.start_over();
        assert_eq!(p.wait(t0 + ms(5000)), Duration::ZERO);
        p.set(Pace::Full);
        p.batch_started(250, t0);
        assert_eq!(p.wait(t0), Duration::ZERO, "full speed never waits");
    }

    #[test]
    fn reports_are_evenly_spaced_and_throttled() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut c = ReportCadence::default();
        // 10 batches, 5 reports an epoch, batches far apart: every second batch.
        let sent: Vec<usize> = (0..10)
            .filter(|&i| c.after_batch(i, 10, 5, t0 + ms(1000 * i as u64)).progress)
            .collect();
        assert_eq!(sent, [1, 3, 5, 7, 9]);
        // Batches 1 ms apart: the first due report, then only the epoch's last.
        let mut c = ReportCadence::default();
        let sent: Vec<usize> = (0..10)
            .filter(|&i| c.after_batch(i, 10, 5, t0 + ms(i as u64)).progress)
            .collect();
        assert_eq!(sent, [1, 9]);
        // Activations ride along at most every two seconds.
        let mut c = ReportCadence::default();
        let first = c.after_batch(0, 1, 1, t0);
        assert!(first.progress && first.probes);
        c.probes_sent(t0);
        let soon = c.after_batch(0, 1, 1, t0 + ms(300));
        assert!(soon.progress && !soon.probes);
        assert!(c.after_batch(0, 1, 1, t0 + ms(2100)).probes);
    }
}
