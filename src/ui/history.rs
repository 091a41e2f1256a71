//! Bounded chart history: a series keeps at most a fixed number of points by halving
//! its resolution when full, so hours of training cost the same to draw as minutes.
//! After a restart the earlier runs' curves are kept (a few of them) so the new run
//! can be compared with them, each named by the settings it started with.

use crate::model::{Activation, Pooling};

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
        let on_grid = self.offered % self.stride == 0;
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

/// The settings a run started with, which name its curves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunRecipe {
    /// Pooling.
    pub pooling: Pooling,
    /// Activation.
    pub activation: Activation,
    /// Learning rate.
    pub learning_rate: f64,
}

/// An earlier run's curves, kept after a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRun {
    /// What it started with.
    pub recipe: RunRecipe,
    /// Train loss over epochs.
    pub loss: Series,
    /// Train accuracy over epochs.
    pub train_acc: Series,
    /// Test accuracy at epoch ends.
    pub test_acc: Series,
}

/// Labels for runs' curves, in the order given: `avg/sigmoid`, with ` lr R` when the
/// runs' learning rates differ, and ` #N` (the run's place in the list, from 1) for
/// runs that would still share a label.
pub fn run_labels(recipes: &[RunRecipe]) -> Vec<String> {
    let lr_differs = recipes
        .windows(2)
        .any(|w| w[0].learning_rate != w[1].learning_rate);
    let base: Vec<String> = recipes
        .iter()
        .map(|r| {
            let mut label = format!("{}/{}", r.pooling, r.activation);
            if lr_differs {
                label.push_str(&format!(" lr {}", r.learning_rate));
            }
            label
        })
        .collect();
    base.iter()
        .enumerate()
        .map(|(i, label)| {
            if base.iter().filter(|&other| other == label).count() > 1 {
                format!("{label} #{}", i + 1)
            } else {
                label.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(pooling: Pooling, activation: Activation, learning_rate: f64) -> RunRecipe {
        RunRecipe {
            pooling,
            activation,
            learning_rate,
        }
    }

    #[test]
    fn runs_are_named_by_what_sets_them_apart() {
        use Activation::*;
        use Pooling::*;
        assert_eq!(
            run_labels(&[recipe(Avg, Sigmoid, 0.9), recipe(Max, Sigmoid, 0.9)]),
            ["avg/sigmoid", "max/sigmoid"]
        );
        assert_eq!(
            run_labels(&[recipe(Max, Relu, 0.9), recipe(Max, Relu, 0.1)]),
            ["max/relu lr 0.9", "max/relu lr 0.1"]
        );
        assert_eq!(
            run_labels(&[
                recipe(Avg, Sigmoid, 0.9),
                recipe(Max, Relu, 0.9),
                recipe(Avg, Sigmoid, 0.9)
            ]),
            ["avg/sigmoid #1", "max/relu", "avg/sigmoid #3"]
        );
        assert_eq!(run_labels(&[recipe(Avg, Relu, 0.5)]), ["avg/relu"]);
        assert!(run_labels(&[]).is_empty());
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
