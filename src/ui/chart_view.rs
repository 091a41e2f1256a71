//! How one screen shows the charts: smoothing of the noisy lines, a log scale for the
//! loss, and a zoom onto the newest stretch of the run; with the arithmetic each
//! needs (TensorBoard's debiased moving average, ticks at decades and their halves,
//! the window and the y range of what is shown). Ratatui's chart has no log axis, so
//! the log scale is done on the data: values become their log10 and the axis is
//! labelled with the values they stand for.

use serde::Deserialize;

/// The moving average's weight on the past, 0 (none) to 0.99, as TensorBoard's slider.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "f64")]
pub struct Smoothing(f64);

impl Smoothing {
    /// TensorBoard's default.
    pub const DEFAULT: Smoothing = Smoothing(0.6);
    /// The weights `m` steps through: none, TensorBoard's default, heavy.
    pub const STEPS: [f64; 3] = [0.0, 0.6, 0.9];

    /// The weight.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The next of [`Smoothing::STEPS`] after this weight (round).
    pub fn next(self) -> Smoothing {
        let next = Self::STEPS
            .iter()
            .copied()
            .find(|&s| s > self.0 + 1e-9)
            .unwrap_or(Self::STEPS[0]);
        Smoothing(next)
    }
}

impl TryFrom<f64> for Smoothing {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        if (0.0..=0.99).contains(&v) {
            Ok(Smoothing(v))
        } else {
            Err(format!(
                "smoothing {v}: a weight from 0 (none) to 0.99 (TensorBoard's slider; 0.6 by default)"
            ))
        }
    }
}

/// What the charts show on this screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartView {
    /// The loss and train-accuracy lines' smoothing.
    pub smoothing: Smoothing,
    /// The loss on a log scale.
    pub log_loss: bool,
    /// Only the newest stretch of the run ([`zoom_window`]).
    pub zoomed: bool,
}

impl Default for ChartView {
    fn default() -> Self {
        Self {
            smoothing: Smoothing::DEFAULT,
            log_loss: false,
            zoomed: false,
        }
    }
}

impl ChartView {
    /// What is on, for a chart's title: `smooth 0.6 · log · last 2 ep` (`log_axis`:
    /// this chart's y axis is on the log scale; `window`: the zoom's).
    pub fn words(&self, log_axis: bool, window: Option<[f64; 2]>) -> Vec<String> {
        let mut words = Vec::new();
        if self.smoothing.get() > 0.0 {
            words.push(format!("smooth {}", self.smoothing.get()));
        }
        if log_axis {
            words.push("log".into());
        }
        if let Some([from, to]) = window {
            words.push(format!("last {} ep", short(to - from)));
        }
        words
    }
}

/// An exponential moving average debiased for its start, as TensorBoard smooths and
/// Adam keeps its moments: the mean starts at zero, so after n values it is divided by
/// the weight they have had, 1 − weight^n; the first value comes out as itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DebiasedMean {
    weight: f64,
    mean: f64,
    n: i32,
}

impl DebiasedMean {
    /// A mean with `weight` on the past (0: none).
    pub fn new(weight: f64) -> Self {
        Self {
            weight,
            mean: 0.0,
            n: 0,
        }
    }

    /// Takes `value`; the debiased mean so far.
    pub fn push(&mut self, value: f64) -> f64 {
        let w = self.weight;
        self.mean = self.mean * w + (1.0 - w) * value;
        self.n += 1;
        let debias = if w == 1.0 { 1.0 } else { 1.0 - w.powi(self.n) };
        self.mean / debias
    }
}

/// TensorBoard's smoothing of `points` with `weight`: a [`DebiasedMean`], so the line
/// starts at the first value rather than near 0; values that are not finite pass
/// through untouched and do not enter the average, and a constant series stays as it
/// is.
pub fn smooth(points: &[(f64, f64)], weight: f64) -> Vec<(f64, f64)> {
    let constant = points.iter().all(|p| p.1 == points[0].1);
    let mut mean = DebiasedMean::new(weight);
    points
        .iter()
        .map(|&(x, y)| {
            if constant || !y.is_finite() {
                (x, y)
            } else {
                (x, mean.push(y))
            }
        })
        .collect()
}

/// The points as the log scale draws them: y is log10(y); points at or below 0, or
/// not finite, are left out.
pub fn to_log(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points
        .iter()
        .filter(|p| p.1.is_finite() && p.1 > 0.0)
        .map(|&(x, y)| (x, y.log10()))
        .collect()
}

/// A log axis over values from `low` to `high` (both > 0): bounds in log10 at whole
/// half decades around them, and a label at each half decade (1, 3, 10, 30 …; the
/// halves only where there are at most `max_labels` labels in all). Ratatui spreads an
/// axis's labels evenly, and half decades are evenly spaced in log10, so each label
/// sits on its value.
pub fn log_axis(low: f64, high: f64, max_labels: usize) -> ([f64; 2], Vec<String>) {
    let (low, high) = (low.min(high), high.max(low));
    let mut from = (low.log10() * 2.0).floor() / 2.0;
    let mut to = (high.log10() * 2.0).ceil() / 2.0;
    if to <= from {
        to = from + 0.5;
    }
    let halves = ((to - from) * 2.0).round() as usize;
    let step = if halves < max_labels.max(2) { 1 } else { 2 };
    if step == 2 {
        // Decades only: the bounds move out to whole decades.
        from = from.floor();
        to = to.ceil();
    }
    let count = ((to - from) * 2.0).round() as usize / step;
    let labels = (0..=count)
        .map(|i| tick_label(from + (i * step) as f64 / 2.0))
        .collect();
    ([from, to], labels)
}

/// The value at `log10` = a whole or half decade, as one readable figure: 0.03, 1, 30.
fn tick_label(log10: f64) -> String {
    let decade = log10.floor();
    let mantissa = if log10 - decade > 0.25 { 3.0 } else { 1.0 };
    let value = mantissa * 10f64.powf(decade);
    let decimals = (-decade).max(0.0) as usize;
    format!("{value:.decimals$}")
}

/// The stretch of the run a zoomed chart shows: the last 2 epochs or the newest 10 %
/// of the run so far, whichever is longer, ending at `now` (epochs).
pub fn zoom_window(now: f64) -> [f64; 2] {
    let span = (now * 0.1).max(2.0);
    // Before the first report there is nothing to zoom onto: the first epoch.
    let to = if now > 0.0 { now } else { 1.0 };
    [(to - span).max(0.0), to]
}

/// The lowest and highest y of the points of `series` inside `window` (finite ones);
/// `None` when none is inside.
pub fn value_range(series: &[&[(f64, f64)]], window: [f64; 2]) -> Option<[f64; 2]> {
    series
        .iter()
        .flat_map(|s| s.iter())
        .filter(|p| p.0 >= window[0] && p.0 <= window[1] && p.1.is_finite())
        .map(|p| p.1)
        .fold(None, |acc: Option<[f64; 2]>, y| {
            Some(acc.map_or([y, y], |[l, h]| [l.min(y), h.max(y)]))
        })
}

/// [`value_range`] with a little room above and below, for a linear axis.
pub fn fitted_range(series: &[&[(f64, f64)]], window: [f64; 2]) -> Option<[f64; 2]> {
    let [low, high] = value_range(series, window)?;
    let pad = ((high - low) * 0.1).max(1e-3);
    Some([low - pad, high + pad])
}

/// The value of `points` at `at`: the newest point at or before it.
pub fn value_at(points: &[(f64, f64)], at: f64) -> Option<f64> {
    points
        .iter()
        .take_while(|p| p.0 <= at + 1e-9)
        .last()
        .map(|p| p.1)
}

/// `2`, `2.5`, `0.25`: a number with no trailing zeros.
pub fn short(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(ys: &[f64]) -> Vec<(f64, f64)> {
        ys.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect()
    }

    #[test]
    fn smoothing_is_tensorboards_debiased_moving_average() {
        // Worked by hand with TensorBoard's formula, weight 0.6:
        // last_1 = 0.4·1 = 0.4,            debias 1 − 0.6  = 0.4   → 1
        // last_2 = 0.6·0.4 + 0.4·3 = 1.44, debias 1 − 0.36 = 0.64  → 2.25
        // last_3 = 0.6·1.44 + 0.4·2 = 1.664, debias 1 − 0.216 = 0.784 → 2.122449
        let s = smooth(&points(&[1.0, 3.0, 2.0]), 0.6);
        let ys: Vec<f64> = s.iter().map(|p| p.1).collect();
        for (got, want) in ys.iter().zip([1.0, 2.25, 1.664 / 0.784]) {
            assert!((got - want).abs() < 1e-12, "{ys:?}");
        }
        // The first point is never pulled towards 0; weight 0 is the raw line.
        assert_eq!(smooth(&points(&[5.0, 1.0]), 0.9)[0].1, 5.0);
        assert_eq!(
            smooth(&points(&[5.0, 1.0, 4.0]), 0.0),
            points(&[5.0, 1.0, 4.0])
        );
        // A NaN passes through and does not poison what follows; constants stay.
        let s = smooth(&points(&[1.0, f64::NAN, 1.0, 3.0]), 0.5);
        assert!(s[1].1.is_nan());
        assert_eq!(s[2].1, 1.0);
        // last = 0.5 → 0.75 → 0.375 + 1.5 = 1.875, debiased by 1 − 0.5³.
        assert!((s[3].1 - 1.875 / 0.875).abs() < 1e-12, "{s:?}");
        assert_eq!(smooth(&points(&[2.0, 2.0]), 0.6), points(&[2.0, 2.0]));
    }

    #[test]
    fn log_ticks_sit_at_decades_and_their_halves() {
        let (bounds, labels) = log_axis(0.01, 3.0, 8);
        assert_eq!(bounds, [-2.0, 0.5]);
        assert_eq!(labels, ["0.01", "0.03", "0.1", "0.3", "1", "3"]);
        let (bounds, labels) = log_axis(0.2, 0.9, 8);
        assert_eq!(bounds, [-1.0, 0.0]);
        assert_eq!(labels, ["0.1", "0.3", "1"]);
        // Too many halves for the room: decades only.
        let (bounds, labels) = log_axis(0.001, 30.0, 4);
        assert_eq!(bounds, [-3.0, 2.0]);
        assert_eq!(labels, ["0.001", "0.01", "0.1", "1", "10", "100"]);
        // One value: half a decade around it.
        let (bounds, labels) = log_axis(2.3, 2.3, 8);
        assert_eq!(bounds, [0.0, 0.5]);
        assert_eq!(labels, ["1", "3"]);
    }

    #[test]
    fn log_ticks_of_a_loss_with_nan_in_it() {
        // As the loss chart takes its axis: the drawable points' range, back from log10.
        let loss = [
            (0.0, 2.3),
            (0.5, f64::NAN),
            (1.0, 0.4),
            (1.5, f64::INFINITY),
            (2.0, 0.02),
        ];
        let drawn = to_log(&loss);
        let [low, high] = value_range(&[&drawn], [0.0, 2.0]).unwrap();
        let (bounds, labels) = log_axis(10f64.powf(low), 10f64.powf(high), 8);
        assert_eq!(labels, ["0.01", "0.03", "0.1", "0.3", "1", "3"]);
        assert_eq!(bounds, [-2.0, 0.5]);
    }

    #[test]
    fn the_log_scale_skips_what_it_cannot_draw() {
        let drawn = to_log(&[
            (0.0, 2.3),
            (0.5, f64::NAN),
            (1.0, 0.0),
            (1.5, -1.0),
            (2.0, f64::INFINITY),
            (2.5, 0.1),
        ]);
        assert_eq!(drawn.len(), 2);
        assert!((drawn[0].1 - 2.3f64.log10()).abs() < 1e-12);
        assert!((drawn[1].1 + 1.0).abs() < 1e-12);
    }

    #[test]
    fn zoom_shows_two_epochs_or_the_newest_tenth_and_fits_the_y_range() {
        assert_eq!(zoom_window(10.0), [8.0, 10.0]);
        assert_eq!(zoom_window(50.0), [45.0, 50.0]);
        assert_eq!(zoom_window(1.0)[0], 0.0);
        let line = points(&[9.0, 5.0, 0.5, 0.4, 0.45]);
        let [low, high] = fitted_range(&[&line], [2.0, 4.0]).unwrap();
        assert!(
            low < 0.4 && low > 0.35 && high > 0.5 && high < 0.6,
            "{low} {high}"
        );
        assert_eq!(fitted_range(&[&line], [10.0, 11.0]), None);
    }

    #[test]
    fn m_steps_through_none_the_default_and_heavy() {
        let s = Smoothing::DEFAULT;
        assert_eq!(s.next().get(), 0.9);
        assert_eq!(s.next().next().get(), 0.0);
        assert_eq!(Smoothing::try_from(0.3).unwrap().next().get(), 0.6);
        assert!(Smoothing::try_from(1.0).unwrap_err().contains("0.99"));
        assert_eq!(value_at(&points(&[1.0, 2.0, 3.0]), 1.5), Some(2.0));
        assert_eq!(value_at(&points(&[1.0]), -1.0), None);
    }
}
