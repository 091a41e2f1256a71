//! The range test's arithmetic, kept apart from training so it can be tested on a
//! fixed series: the exponential schedule, the debiased smoothing of the loss, when
//! the sweep stops, and the suggestion. The rules are Lightning's `lr_find` (itself
//! fastai's): smoothing weight 0.98, stop once the smoothed loss is over 4× the best
//! so far, suggest where the smoothed loss falls fastest against log(lr), leaving out
//! the first tenth of the sweep and its last 5 points as fastai does.

use serde::Serialize;

use crate::ui::chart_view::DebiasedMean;

/// The smoothing weight of the running loss: about the last 50 batches count.
pub const BETA: f64 = 0.98;
/// The sweep stops once the smoothed loss exceeds the best so far by this factor.
pub const EXPLODED: f64 = 4.0;
/// The share of the planned sweep left out at the start of the suggestion's search
/// (fastai's): the debiased mean of the first few batches is noisy, and a loss that
/// barely moves (the chapter's sigmoid model, which learns nothing in 200 batches of
/// the embedded subset) would otherwise be "steepest" in that noise: with Lightning's
/// 10 points left out, seeds 42, 1 and 3 suggested 0.0002 there.
pub const SKIP_BEGIN_SHARE: usize = 10;
/// Points left out at the end (fastai's): where the loss turned up and exploded.
pub const SKIP_END: usize = 5;
/// A sweep whose smoothed loss never fell below this share of chance's loss
/// (ln of the classes) learned nothing: its steepest fall is the output layer settling
/// onto chance, not learning, and says nothing about the rate.
pub const PLATEAU_SHARE: f64 = 0.95;
/// On a plateau, the rates the loss stayed within this factor of its best did not
/// diverge.
pub const NOT_DIVERGED: f64 = 1.5;

/// Which rule made a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Where the smoothed loss falls fastest against log(lr) (fastai, Lightning).
    Steepest,
    /// The loss never left chance's plateau (a sigmoid network's first hundreds of
    /// batches): the largest rate tried that did not diverge, ÷ 10 (Smith 2017's
    /// range test read from its upper end).
    Plateau,
}

impl Rule {
    /// The rule in words, for the output.
    pub fn words(self) -> &'static str {
        match self {
            Rule::Steepest => "steepest descent of the smoothed loss (as fastai/Lightning)",
            Rule::Plateau => {
                "largest rate that did not diverge ÷ 10, as the loss never fell below \
                 chance's (Smith 2017); the steepest descent of the smoothed loss (as \
                 fastai/Lightning) is meaningless on a plateau"
            }
        }
    }
}

/// The learning rates of the sweep: `batches` of them from `start` to `end`, evenly
/// spaced on a log scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// The first learning rate.
    pub start: f64,
    /// The last learning rate.
    pub end: f64,
    /// How many batches (learning rates).
    pub batches: usize,
}

impl Schedule {
    /// A schedule, or why not: both ends finite and > 0, the end above the start, at
    /// least two batches.
    pub fn new(start: f64, end: f64, batches: usize) -> Result<Self, String> {
        if !(start.is_finite() && start > 0.0 && end.is_finite() && end > start) {
            return Err(format!(
                "the sweep goes from --start {start} up to --end {end}: both must be finite \
                 numbers > 0 and the end above the start"
            ));
        }
        if batches < 2 {
            return Err(format!("a sweep needs at least two batches, got {batches}"));
        }
        Ok(Self {
            start,
            end,
            batches,
        })
    }

    /// The learning rate of batch `i` (from 0).
    pub fn lr(&self, i: usize) -> f64 {
        let t = i as f64 / (self.batches - 1) as f64;
        self.start * (self.end / self.start).powf(t)
    }
}

/// One batch of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Batch number, from 1.
    pub batch: usize,
    /// The learning rate it trained with.
    pub lr: f64,
    /// Its loss (the mean cross-entropy of the batch, before the step).
    pub loss: f64,
    /// The debiased running mean of the losses up to it.
    pub smoothed: f64,
}

/// Why a sweep ended before its last batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Stop {
    /// The batch's loss was NaN or infinite (that batch is not among the points).
    NotFinite {
        /// The batch, from 1.
        batch: usize,
        /// Its learning rate.
        lr: f64,
    },
    /// The smoothed loss passed [`EXPLODED`] × the best (that batch is the last point).
    Exploded {
        /// The batch, from 1.
        batch: usize,
        /// Its learning rate.
        lr: f64,
        /// Its smoothed loss.
        smoothed: f64,
        /// The best smoothed loss before it.
        best: f64,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::NotFinite { batch, lr } => write!(
                f,
                "stopped at batch {batch} (lr {}): the loss is not a finite number",
                sig(*lr)
            ),
            Stop::Exploded {
                batch,
                lr,
                smoothed,
                best,
            } => write!(
                f,
                "stopped at batch {batch} (lr {}): the smoothed loss {smoothed:.3} is over \
                 {EXPLODED}× the best, {best:.3}",
                sig(*lr)
            ),
        }
    }
}

/// The sweep's record: the points so far, the running mean and the best of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracker {
    points: Vec<Point>,
    mean: DebiasedMean,
    best: f64,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            points: Vec::new(),
            mean: DebiasedMean::new(BETA),
            best: 0.0,
        }
    }
}

impl Tracker {
    /// Records batch `lr`'s `loss`; `Some` when the sweep must stop here.
    pub fn record(&mut self, lr: f64, loss: f64) -> Option<Stop> {
        let batch = self.points.len() + 1;
        if !loss.is_finite() {
            return Some(Stop::NotFinite { batch, lr });
        }
        let smoothed = self.mean.push(loss);
        self.points.push(Point {
            batch,
            lr,
            loss,
            smoothed,
        });
        // Lightning waits for its second batch before it may stop.
        if batch > 2 && smoothed > EXPLODED * self.best {
            return Some(Stop::Exploded {
                batch,
                lr,
                smoothed,
                best: self.best,
            });
        }
        if batch == 1 || smoothed < self.best {
            self.best = smoothed;
        }
        None
    }

    /// The points so far, oldest first.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// The points.
    pub fn into_points(self) -> Vec<Point> {
        self.points
    }
}

/// How many points the suggestion leaves out at the start of a sweep of `planned`
/// batches.
pub fn skip_begin(planned: usize) -> usize {
    planned / SKIP_BEGIN_SHARE
}

/// The suggested learning rate of a sweep planned for `planned` batches: the point
/// where the smoothed loss falls fastest against log(lr) (central differences,
/// one-sided at the ends, as `numpy.gradient`), the first [`skip_begin`] and last
/// [`SKIP_END`] points left out; `None` when fewer than three points remain, or the
/// loss never falls.
pub fn steepest(points: &[Point], planned: usize) -> Option<Point> {
    let end = points.len().checked_sub(SKIP_END)?;
    let kept = points.get(skip_begin(planned)..end)?;
    if kept.len() < 3 {
        return None;
    }
    let x: Vec<f64> = kept.iter().map(|p| p.lr.ln()).collect();
    let y: Vec<f64> = kept.iter().map(|p| p.smoothed).collect();
    let n = kept.len();
    let slope = |i: usize| {
        let (a, b) = match i {
            0 => (0, 1),
            i if i == n - 1 => (n - 2, n - 1),
            i => (i - 1, i + 1),
        };
        (y[b] - y[a]) / (x[b] - x[a])
    };
    let (i, steepest) = (0..n)
        .map(|i| (i, slope(i)))
        .filter(|(_, s)| s.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    (steepest < 0.0).then(|| kept[i])
}

/// The suggested learning rate of a sweep planned for `planned` batches over
/// `classes` classes and the rule that chose it: the [`steepest`] fall of the smoothed
/// loss; but where the loss never fell below [`PLATEAU_SHARE`] of chance's (ln
/// classes), the sweep point nearest a tenth of the largest rate whose smoothed loss
/// stayed within [`NOT_DIVERGED`] of its best.
pub fn suggest(points: &[Point], planned: usize, classes: usize) -> Option<(Point, Rule)> {
    let best = points
        .iter()
        .map(|p| p.smoothed)
        .filter(|v| v.is_finite())
        .reduce(f64::min)?;
    let chance = (classes.max(2) as f64).ln();
    if best < PLATEAU_SHARE * chance {
        return steepest(points, planned).map(|p| (p, Rule::Steepest));
    }
    let top = points
        .iter()
        .rev()
        .find(|p| p.smoothed.is_finite() && p.smoothed <= NOT_DIVERGED * best)?
        .lr;
    let target = (top / 10.0).ln();
    points
        .iter()
        .min_by(|a, b| {
            (a.lr.ln() - target)
                .abs()
                .total_cmp(&(b.lr.ln() - target).abs())
        })
        .map(|&p| (p, Rule::Plateau))
}

/// A learning rate to three significant digits, without trailing zeros (`0.000123`,
/// `0.52`, `3.16`).
pub fn sig(lr: f64) -> String {
    if !lr.is_finite() || lr == 0.0 {
        return lr.to_string();
    }
    let decimals = (2 - lr.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{lr:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(batch: usize, lr: f64, smoothed: f64) -> Point {
        Point {
            batch,
            lr,
            loss: smoothed,
            smoothed,
        }
    }

    #[test]
    fn the_schedule_is_exponential_from_start_to_end() {
        let s = Schedule::new(1e-4, 10.0, 6).unwrap();
        let lrs: Vec<f64> = (0..6).map(|i| s.lr(i)).collect();
        for (got, want) in lrs.iter().zip([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]) {
            assert!((got / want - 1.0).abs() < 1e-12, "{lrs:?}");
        }
        assert!(Schedule::new(1.0, 0.1, 10).is_err());
        assert!(Schedule::new(0.0, 1.0, 10).is_err());
        assert!(Schedule::new(1e-3, f64::INFINITY, 10).is_err());
        assert!(Schedule::new(1e-3, 1.0, 1).is_err());
    }

    #[test]
    fn the_smoothed_loss_is_the_debiased_running_mean() {
        let mut t = Tracker::default();
        for loss in [2.0, 1.0, 3.0] {
            assert_eq!(t.record(0.1, loss), None);
        }
        // By hand: m1 = 0.02 * 2, m2 = 0.98 m1 + 0.02 * 1, m3 = 0.98 m2 + 0.02 * 3,
        // each divided by 1 - 0.98^k.
        let m1 = 0.02 * 2.0;
        let m2 = 0.98 * m1 + 0.02;
        let m3 = 0.98 * m2 + 0.06;
        let want = [
            m1 / 0.02,
            m2 / (1.0 - 0.98f64.powi(2)),
            m3 / (1.0 - 0.98f64.powi(3)),
        ];
        for (p, w) in t.points().iter().zip(want) {
            assert!((p.smoothed - w).abs() < 1e-12, "{:?}", t.points());
        }
        assert_eq!(
            t.points()[0].smoothed,
            2.0,
            "the first point is the first loss"
        );
        assert_eq!(t.points()[2].batch, 3);
    }

    #[test]
    fn the_sweep_stops_when_the_smoothed_loss_explodes_or_is_not_finite() {
        // Flat at 1 for 20 batches, then a loss of 1000: the smoothed loss jumps to
        // about 1 + 0.02 × 999 / (1 − 0.98^21) ≈ 58 > 4 × 1.
        let mut t = Tracker::default();
        for _ in 0..20 {
            assert_eq!(t.record(0.01, 1.0), None);
        }
        match t.record(5.0, 1000.0) {
            Some(Stop::Exploded {
                batch,
                lr,
                smoothed,
                best,
            }) => {
                assert_eq!((batch, lr), (21, 5.0));
                assert!((best - 1.0).abs() < 1e-12, "{best}");
                assert!(smoothed > 4.0, "{smoothed}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            t.points().len(),
            21,
            "the exploding batch is the last point"
        );
        // A rise short of 4× goes on.
        let mut t = Tracker::default();
        for _ in 0..20 {
            t.record(0.01, 1.0);
        }
        assert_eq!(t.record(0.02, 3.0), None);
        // NaN stops at once and is not a point; nor is infinity.
        let mut t = Tracker::default();
        t.record(0.01, 2.3);
        assert_eq!(
            t.record(0.02, f64::NAN),
            Some(Stop::NotFinite { batch: 2, lr: 0.02 })
        );
        assert_eq!(t.points().len(), 1);
        assert_eq!(
            Tracker::default().record(0.5, f64::INFINITY),
            Some(Stop::NotFinite { batch: 1, lr: 0.5 })
        );
    }

    #[test]
    fn the_first_two_batches_never_stop_the_sweep() {
        let mut t = Tracker::default();
        assert_eq!(t.record(0.1, 0.001), None);
        assert_eq!(t.record(0.2, 50.0), None, "Lightning waits for batch 3");
        assert!(matches!(
            t.record(0.3, 50.0),
            Some(Stop::Exploded { batch: 3, .. })
        ));
    }

    #[test]
    fn the_suggestion_is_the_steepest_fall_against_log_lr() {
        // lr 10^(k/10) for k = 0..40; the loss falls from 2 to 1 along a logistic
        // curve centred on lr 100 (k = 20), where it is steepest.
        let points: Vec<Point> = (0..40)
            .map(|k| {
                let x = f64::from(k) / 10.0;
                let smoothed = 2.0 - 1.0 / (1.0 + (-(x - 2.0) * 6.0).exp());
                point(k as usize + 1, 10f64.powf(x), smoothed)
            })
            .collect();
        let best = steepest(&points, 40).unwrap();
        assert_eq!(best.batch, 21, "the middle of the fall: x = 2.0");
        assert!((best.lr - 100.0).abs() < 1e-9, "{best:?}");
        // The first tenth of the sweep is left out even where it falls fastest.
        let mut early = points.clone();
        early[3].smoothed = -50.0;
        assert_eq!(steepest(&early, 40).unwrap().batch, 21);
        // So are the last five points.
        let mut late = points.clone();
        late[35].smoothed = -50.0;
        assert_eq!(steepest(&late, 40).unwrap().batch, 21);
        // A sweep that stopped early leaves out as many at the start as planned.
        let mut cut = points[..30].to_vec();
        cut[3].smoothed = -50.0;
        assert_eq!(steepest(&cut, 40).unwrap().batch, 21);
    }

    #[test]
    fn no_suggestion_from_too_few_points_or_a_loss_that_never_falls() {
        let rising: Vec<Point> = (1..=30)
            .map(|k| point(k, f64::from(k as u32) * 0.1, f64::from(k as u32)))
            .collect();
        assert_eq!(steepest(&rising, 30), None);
        let short: Vec<Point> = rising.iter().take(10).copied().collect();
        assert_eq!(steepest(&short, 30), None, "3 + 5 left out, two remain");
        assert_eq!(steepest(&[], 200), None);
    }

    #[test]
    fn a_loss_that_never_leaves_chance_is_read_from_the_top_of_the_sweep() {
        // lr 10^(k/20 − 4) for k = 0..100 (1e-4 to ~9): the loss settles from 2.5 onto
        // chance's 2.30 early (the steepest fall, at lr ~0.0003) and stays there.
        let lr = |k: usize| 10f64.powf(k as f64 / 20.0 - 4.0);
        let plateau: Vec<Point> = (0..100)
            .map(|k| point(k + 1, lr(k), 2.3 + 0.2 / (1.0 + (k as f64 - 10.0).exp())))
            .collect();
        assert!(steepest(&plateau, 100).unwrap().lr < 1e-3);
        let (p, rule) = suggest(&plateau, 100, 10).unwrap();
        assert_eq!(rule, Rule::Plateau);
        // A tenth of the top rate (~8.9): the point nearest 0.89.
        assert!((p.lr / (lr(99) / 10.0) - 1.0).abs() < 0.07, "{p:?}");
        // Past where it diverged (over 1.5× its best) the top is not counted.
        let mut diverging = plateau.clone();
        for q in &mut diverging[80..] {
            q.smoothed = 4.0;
        }
        let (p, _) = suggest(&diverging, 100, 10).unwrap();
        assert!((p.lr / (lr(79) / 10.0) - 1.0).abs() < 0.07, "{p:?}");
        // A loss that learns (below 95 % of ln 10) keeps the steepest fall.
        let learning: Vec<Point> = plateau
            .iter()
            .map(|q| Point {
                smoothed: q.smoothed - 1.5 / (1.0 + (-(q.batch as f64 - 60.0) / 3.0).exp()),
                ..*q
            })
            .collect();
        let (p, rule) = suggest(&learning, 100, 10).unwrap();
        assert_eq!((rule, p.batch), (Rule::Steepest, 60));
    }

    #[test]
    fn learning_rates_print_to_three_significant_digits() {
        assert_eq!(sig(0.000123456), "0.000123");
        assert_eq!(sig(0.52), "0.52");
        assert_eq!(sig(3.16227766), "3.16");
        assert_eq!(sig(10.0), "10");
        assert_eq!(sig(123.4), "123");
        assert_eq!(sig(1e-4), "0.0001");
    }
}
