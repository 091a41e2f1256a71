//! What the model makes of one image, as plain numbers: the activation maps of its
//! first two layers and its class probabilities. These cross the channel to the UI.

use serde::{Deserialize, Serialize};

/// A stack of 2-D activation maps for one image, e.g. 6×28×28 after conv1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationMap {
    /// Number of maps.
    pub channels: usize,
    /// Rows per map.
    pub height: usize,
    /// Columns per map.
    pub width: usize,
    /// `channels * height * width` values, map by map, row-major.
    pub values: Vec<f32>,
}

impl ActivationMap {
    /// The values of map `c`.
    pub fn channel(&self, c: usize) -> &[f32] {
        let n = self.height * self.width;
        &self.values[c * n..(c + 1) * n]
    }
}

/// What the model makes of one image: its first two layers' activations and its
/// class probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Activations after the first conv block's activation function.
    pub layer1: ActivationMap,
    /// Activations after the second conv block's activation function.
    pub layer2: ActivationMap,
    /// Softmax over the classes.
    pub probabilities: Vec<f32>,
}

impl Probe {
    /// The activations of conv block `layer` (1 or 2).
    pub fn layer(&self, layer: usize) -> Option<&ActivationMap> {
        match layer {
            1 => Some(&self.layer1),
            2 => Some(&self.layer2),
            _ => None,
        }
    }
}

/// A map with no values, for a model with fewer than two conv blocks.
pub(crate) fn empty_map() -> ActivationMap {
    ActivationMap {
        channels: 0,
        height: 0,
        width: 0,
        values: Vec::new(),
    }
}
