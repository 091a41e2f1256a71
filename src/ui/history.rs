//! Bounded chart history: a series keeps at most a fixed number of points by halving
//! its resolution when full, so hours of training cost the same to draw as minutes.
//! After a restart the earlier runs' curves are kept (a few of them) so the new run
//! can be compared with them, each named by the settings it started with.

use crate::train::{LayerStats, RunRecipe};

/// Points kept per series: a few per column of a wide chart, and cheap to draw.
pub const MAX_POINTS: usize = 512;

/// An (x, y) series, x ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Every `stride`-th point offered, then possibly one provisional newest point.
    points: Vec<(f64, f64)>,
    stride: usize,
    offered: usize,
    provisional: bool,
}

impl Default for Series {
    fn default() -> Self {
        Self::new()
    }
}

impl Series {
    /// An empty series.
    pub fn new() -> Self {
        Self {
            points: Vec::new(),
            stride: 1,
            offered: 0,
            provisional: false,
        }
    }

    /// Adds a point. When full, every other kept point is dropped and the stride
    /// doubles, so the spacing stays even; the newest point is always shown, so the
    /// line ends where training is.
    pub fn push(&mut self, x: f64, y: f64) {
        if !y.is_finite() {
            return;
        }
        if self.provisional {
            self.points.pop();
            self.provisional = false;
        }
        let on_grid = self.offered.is_multiple_of(self.stride);
        self.offered += 1;
        self.points.push((x, y));
        if !on_grid {
            self.provisional = true;
            return;
        }
        if self.points.len() > MAX_POINTS {
            self.points = self.points.iter().copied().step_by(2).collect();
            self.stride *= 2;
        }
    }

    /// The points, for a chart dataset.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// The last point.
    pub fn last(&self) -> Option<(f64, f64)> {
        self.points.last().copied()
    }

    /// Largest y, if any.
    pub fn max_y(&self) -> Option<f64> {
        self.points.iter().map(|p| p.1).reduce(f64::max)
    }
}

/// Earlier runs whose curves stay on the charts: enough to compare a few recipes,
/// few enough that the faint lines do not bury the current one.
pub const PAST_RUNS: usize = 3;

/// A run's loss and accuracy curves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Curves {
    /// Train loss over epochs.
    pub loss: Series,
    /// Train accuracy over epochs.
    pub train_acc: Series,
    /// Test accuracy at epoch ends.
    pub test_acc: Series,
}

impl Curves {
    /// The three curves: loss, train accuracy, test accuracy.
    pub fn each(&self) -> [&Series; 3] {
        [&self.loss, &self.train_acc, &self.test_acc]
    }
}

/// An earlier run's curves, kept after a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRun {
    /// What it started with.
    pub recipe: RunRecipe,
    /// Its curves.
    pub curves: Curves,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(layer: &str, grad_norm: f64) -> LayerStats {
        LayerStats {
            layer: layer.into(),
            grad_norm,
            weight_norm: 1.0,
            update_ratio: 0.1,
            act_mean: 0.0,
            act_std: 0.0,
            saturated: None,
            dead: None,
            hist: vec![0; 16],
            hist_range: [0.0, 1.0],
        }
    }

    #[test]
    fn gradient_flow_keeps_log_norms_per_layer_and_spans_whole_decades() {
        let mut flow = GradientFlow::default();
        assert_eq!(flow.decades(), [-3.0, 0.0], "before any report");
        flow.push(0.5, &[stats("conv1", 0.002), stats("fc1", 0.3)]);
        flow.push(0.6, &[]);
        flow.push(1.0, &[stats("conv1", 0.0), stats("fc1", 3.0)]);
        assert_eq!(flow.layers.len(), 2);
        let conv1 = flow.layers[0].1.points();
        assert_eq!(conv1.len(), 1, "a zero gradient has no logarithm");
        assert!((conv1[0].1 - 0.002f64.log10()).abs() < 1e-12);
        assert_eq!(flow.layers[1].1.points().len(), 2);
        assert_eq!(flow.decades(), [-3.0, 1.0]);
        assert_eq!(flow.latest[1].grad_norm, 3.0);
        // Other layers (a new model): the curves start again.
        flow.push(
            1.5,
            &[stats("conv1", 1.0), stats("conv2", 1.0), stats("fc1", 1.0)],
        );
        assert_eq!(flow.layers.len(), 3);
        assert_eq!(flow.layers[0].1.points().len(), 1);
        assert_eq!(flow.decades(), [0.0, 1.0], "one decade at least");
    }

    #[test]
    fn stays_bounded_and_ends_at_the_newest_point() {
        let mut s = Series::new();
        for i in 0..10_000 {
            s.push(i as f64, (i * 2) as f64);
            assert!(s.points().len() <= MAX_POINTS + 1);
        }
        assert_eq!(s.last(), Some((9999.0, 19998.0)));
        assert_eq!(s.points()[0], (0.0, 0.0));
        assert!(s.points().windows(2).all(|w| w[0].0 < w[1].0));
        assert!(s.points().len() > MAX_POINTS / 2);
    }

    #[test]
    fn ignores_non_finite_values() {
        let mut s = Series::new();
        s.push(0.0, f64::NAN);
        s.push(1.0, 2.0);
        assert_eq!(s.points(), &[(1.0, 2.0)]);
        assert_eq!(s.max_y(), Some(2.0));
    }
}

/// Each weighted layer's gradient norm over the run, as log10 (ratatui's charts have
/// no log axis: the widget labels the decades), and the newest report's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GradientFlow {
    /// Per layer, in order: its name and log10 ‖∂loss/∂W‖ over epochs.
    pub layers: Vec<(String, Series)>,
    /// The newest report's figures of every layer.
    pub latest: Vec<LayerStats>,
}

impl GradientFlow {
    /// Adds a report's figures at `at` epochs (a report without any changes nothing;
    /// other layers than before start the curves again).
    pub fn push(&mut self, at: f64, stats: &[LayerStats]) {
        if stats.is_empty() {
            return;
        }
        let same = self.layers.len() == stats.len()
            && self
                .layers
                .iter()
                .zip(stats)
                .all(|((name, _), s)| *name == s.layer);
        if !same {
            self.layers = stats
                .iter()
                .map(|s| (s.layer.clone(), Series::new()))
                .collect();
        }
        for ((_, series), s) in self.layers.iter_mut().zip(stats) {
            // A zero gradient has no logarithm: the curve skips the point.
            if let Some(norm) = s.plotted_grad_norm() {
                series.push(at, norm.log10());
            }
        }
        self.latest = stats.to_vec();
    }

    /// The decades (whole powers of ten) the curves span, at least one: the chart's y
    /// bounds as exponents.
    pub fn decades(&self) -> [f64; 2] {
        let ys = self
            .layers
            .iter()
            .flat_map(|(_, s)| s.points().iter().map(|p| p.1));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
        if lo > hi {
            return [-3.0, 0.0];
        }
        let (lo, hi) = (lo.floor(), hi.ceil());
        [lo, if hi > lo { hi } else { lo + 1.0 }]
    }
}
