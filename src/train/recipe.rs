//! The settings a run started with, and the labels that tell runs apart on a chart
//! or in a comparison (the dashboard's earlier runs, `lenet-tui compare`).

use crate::model::{Activation, Pooling};

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
}
