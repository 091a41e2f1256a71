//! Gradient flow and activation statistics per layer, measured on a training batch
//! by the step that trains on it (no second pass): what shows *why* ReLU trains
//! better than the sigmoid. Both engines tally their activations here, so the figures
//! mean the same on the CPU kernels and on Candle's path.

use serde::{Deserialize, Serialize};

use crate::model::Activation;

/// Bins of a layer's activation histogram.
pub const HISTOGRAM_BINS: usize = 16;

/// A sigmoid output below this, or above one minus it, sits on a flat end of the
/// curve, where its slope (at most 0.02) passes almost no gradient back.
pub const SATURATION_MARGIN: f32 = 0.02;

/// Whether a step measures its layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Figures only (loss, accuracy).
    Nothing,
    /// Also gradient norms and activation statistics per layer.
    Layers,
}

/// One layer's figures for one training batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// The layer, as the shape table names it (`conv1`, `fc3`).
    pub layer: String,
    /// L2 norm of the loss's gradient by the layer's weights (bias not included).
    pub grad_norm: f64,
    /// L2 norm of the weights the step started from.
    pub weight_norm: f64,
    /// The step's relative size: learning rate × gradient norm / weight norm.
    pub update_ratio: f64,
    /// Mean of the layer's output over the batch (after its activation; the logits
    /// for the classifier).
    pub act_mean: f64,
    /// Standard deviation of the same.
    pub act_std: f64,
    /// Sigmoid layers: the fraction of outputs on the flat ends of the curve.
    pub saturated: Option<f64>,
    /// ReLU layers: the fraction of units that are zero for every image of the batch.
    pub dead: Option<f64>,
    /// Outputs per bin, [`HISTOGRAM_BINS`] equal bins over `hist_range`.
    pub hist: Vec<u32>,
    /// The histogram's span: the sigmoid's (0, 1), else the batch's smallest and
    /// largest output.
    pub hist_range: [f64; 2],
}

impl LayerStats {
    /// The gradient norm where a log axis can show it (positive and finite).
    pub fn plotted_grad_norm(&self) -> Option<f64> {
        (self.grad_norm > 0.0 && self.grad_norm.is_finite()).then_some(self.grad_norm)
    }
}

/// The activation of weighted layer `i` of `layers` in a network using `activation`:
/// every layer's but the classifier's, whose outputs are the logits.
pub fn layer_activation(i: usize, layers: usize, activation: Activation) -> Option<Activation> {
    (i + 1 < layers).then_some(activation)
}

/// The running sums of one layer's outputs over a batch, added chunk by chunk and
/// merged in a fixed order, so the figures do not depend on thread timing.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationTally {
    count: u64,
    sum: f64,
    sum_sq: f64,
    saturated: u64,
    min: f32,
    max: f32,
    /// Per unit (an output position of one channel, or one neuron): nonzero for some
    /// image so far.
    alive: Vec<bool>,
    hist: [u32; HISTOGRAM_BINS],
}

impl ActivationTally {
    /// An empty tally for a layer with `units` outputs per image.
    pub fn new(units: usize) -> Self {
        Self {
            count: 0,
            sum: 0.0,
            sum_sq: 0.0,
            saturated: 0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            alive: vec![false; units],
            hist: [0; HISTOGRAM_BINS],
        }
    }

    /// Back to empty, keeping its size.
    pub fn clear(&mut self) {
        let units = std::mem::take(&mut self.alive);
        *self = Self::new(0);
        self.alive = units;
        self.alive.fill(false);
    }

    /// Outputs laid out image by image: `values[b · units + u]`.
    pub fn add_by_image(&mut self, values: &[f32]) {
        let units = self.alive.len();
        for image in values.chunks_exact(units) {
            self.add_run(image, 0);
        }
    }

    /// Outputs laid out channel by channel, `[channels][images][plane]` (the CPU
    /// kernels' layout): unit `c · plane + p`.
    pub fn add_by_channel(&mut self, values: &[f32], images: usize, plane: usize) {
        for (run, values) in values.chunks_exact(plane).enumerate() {
            let channel = run / images;
            self.add_run(values, channel * plane);
        }
    }

    /// A run of outputs of consecutive units from `first` on.
    fn add_run(&mut self, values: &[f32], first: usize) {
        /// Independent accumulators, so the loop vectorises (a measured step tallies
        /// ~1.7 M outputs for the chapter's batch; one chain of f64 adds would cost
        /// a good part of a step).
        const LANES: usize = 8;
        let (mut sum, mut sum_sq) = ([0.0f32; LANES], [0.0f32; LANES]);
        let mut saturated = [0u32; LANES];
        let (mut lo, mut hi) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES]);
        let alive = &mut self.alive[first..first + values.len()];
        let mut lane = |k: usize, v: f32, alive: &mut bool| {
            sum[k] += v;
            sum_sq[k] += v * v;
            saturated[k] += u32::from(!(SATURATION_MARGIN..=1.0 - SATURATION_MARGIN).contains(&v));
            *alive |= v != 0.0;
            lo[k] = if v < lo[k] { v } else { lo[k] };
            hi[k] = if v > hi[k] { v } else { hi[k] };
        };
        let mut chunks = values.chunks_exact(LANES);
        let mut alive_chunks = alive.chunks_exact_mut(LANES);
        for (v, a) in (&mut chunks).zip(&mut alive_chunks) {
            for k in 0..LANES {
                lane(k, v[k], &mut a[k]);
            }
        }
        let rest = chunks.remainder().iter().zip(alive_chunks.into_remainder());
        for (k, (&v, a)) in rest.enumerate() {
            lane(k, v, a);
        }
        // A run is one channel's plane or one image's outputs (a few thousand values
        // at most): f32 sums that short lose nothing the figures show; totals are f64.
        self.count += values.len() as u64;
        self.sum += sum.iter().map(|&v| f64::from(v)).sum::<f64>();
        self.sum_sq += sum_sq.iter().map(|&v| f64::from(v)).sum::<f64>();
        self.saturated += saturated.iter().map(|&v| u64::from(v)).sum::<u64>();
        self.min = lo.iter().copied().fold(self.min, f32::min);
        self.max = hi.iter().copied().fold(self.max, f32::max);
    }

    /// Empties the histogram alone.
    pub fn clear_histogram(&mut self) {
        self.hist = [0; HISTOGRAM_BINS];
    }

    /// Adds another chunk's histogram of the same layer (and nothing else).
    pub fn merge_histogram(&mut self, other: &ActivationTally) {
        self.hist
            .iter_mut()
            .zip(&other.hist)
            .for_each(|(a, b)| *a += b);
    }

    /// Adds another chunk's tally of the same layer.
    pub fn merge(&mut self, other: &ActivationTally) {
        self.count += other.count;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.saturated += other.saturated;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.alive
            .iter_mut()
            .zip(&other.alive)
            .for_each(|(a, &b)| *a |= b);
        self.merge_histogram(other);
    }

    /// The span the histogram of a layer with `activation` covers, given what the
    /// tally has seen: the sigmoid's whole range, so that saturation piles up in the
    /// end bins and one report compares with the next; else the outputs' own span.
    pub fn histogram_range(&self, activation: Option<Activation>) -> (f32, f32) {
        match activation {
            Some(Activation::Sigmoid) => (0.0, 1.0),
            _ if self.count == 0 => (0.0, 1.0),
            _ => (self.min, self.max),
        }
    }

    /// Adds `values` to the histogram over `range` (values outside go to the end
    /// bins).
    pub fn bin(&mut self, values: &[f32], (lo, hi): (f32, f32)) {
        let scale = if hi > lo {
            HISTOGRAM_BINS as f32 / (hi - lo)
        } else {
            0.0
        };
        for &v in values {
            let bin = ((v - lo) * scale) as usize; // saturating: NaN and below are 0
            self.hist[bin.min(HISTOGRAM_BINS - 1)] += 1;
        }
    }

    /// The layer's figures, with `activation` its own (`None` for the classifier)
    /// and the weight figures already worked out.
    pub fn finish(
        &self,
        layer: String,
        activation: Option<Activation>,
        range: (f32, f32),
        weights: WeightFigures,
    ) -> LayerStats {
        let n = self.count.max(1) as f64;
        let mean = self.sum / n;
        let variance = (self.sum_sq / n - mean * mean).max(0.0);
        let units = self.alive.len().max(1) as f64;
        LayerStats {
            layer,
            grad_norm: weights.grad_norm,
            weight_norm: weights.weight_norm,
            update_ratio: weights.update_ratio(),
            act_mean: mean,
            act_std: variance.sqrt(),
            saturated: (activation == Some(Activation::Sigmoid)).then(|| self.saturated as f64 / n),
            dead: (activation == Some(Activation::Relu))
                .then(|| self.alive.iter().filter(|&&a| !a).count() as f64 / units),
            hist: self.hist.to_vec(),
            hist_range: [f64::from(range.0), f64::from(range.1)],
        }
    }
}

/// A layer's weight norms and the step's learning rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightFigures {
    /// ‖∂loss/∂W‖.
    pub grad_norm: f64,
    /// ‖W‖ before the step.
    pub weight_norm: f64,
    /// The step's learning rate.
    pub learning_rate: f64,
}

impl WeightFigures {
    /// The figures of `weights` and their `gradient`.
    pub fn of(weights: &[f32], gradient: &[f32], learning_rate: f64) -> Self {
        Self {
            grad_norm: l2_norm(gradient),
            weight_norm: l2_norm(weights),
            learning_rate,
        }
    }

    /// Learning rate × ‖grad‖ / ‖W‖ (0 for weights that are all zero).
    pub fn update_ratio(&self) -> f64 {
        if self.weight_norm > 0.0 {
            self.learning_rate * self.grad_norm / self.weight_norm
        } else {
            0.0
        }
    }
}

/// Each weighted layer's figures from its outputs laid out image by image
/// (`outputs[i]`: `images × units`), the hidden layers with `activation`, the last
/// (the classifier) with none.
pub fn stats_of_outputs(
    names: Vec<String>,
    outputs: &[Vec<f32>],
    images: usize,
    activation: Activation,
    weights: &[WeightFigures],
) -> Vec<LayerStats> {
    let layers = outputs.len();
    names
        .into_iter()
        .zip(outputs)
        .zip(weights)
        .enumerate()
        .map(|(i, ((name, values), &weights))| {
            let act = layer_activation(i, layers, activation);
            let mut tally = ActivationTally::new(values.len() / images.max(1));
            tally.add_by_image(values);
            let range = tally.histogram_range(act);
            tally.bin(values, range);
            tally.finish(name, act, range, weights)
        })
        .collect()
}

/// The L2 norm, summed in f64.
pub fn l2_norm(values: &[f32]) -> f64 {
    values
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt()
}

/// The layers' names and activations in order: each conv block, then each dense
/// layer, the classifier (no activation) last.
pub fn layer_names(parameter_names: &[String]) -> Vec<String> {
    parameter_names
        .iter()
        .step_by(2)
        .map(|p| p.split('.').next().unwrap_or(p).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_spread_and_saturation_are_those_of_the_values() {
        let values = [0.01f32, 0.5, 0.99, 0.25];
        let mut t = ActivationTally::new(2);
        t.add_by_image(&values);
        let range = t.histogram_range(Some(Activation::Sigmoid));
        t.bin(&values, range);
        let w = WeightFigures {
            grad_norm: 2.0,
            weight_norm: 4.0,
            learning_rate: 0.5,
        };
        let s = t.finish("conv1".into(), Some(Activation::Sigmoid), range, w);
        let mean = (0.01 + 0.5 + 0.99 + 0.25) / 4.0;
        assert!((s.act_mean - mean).abs() < 1e-6);
        let var = values
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / 4.0;
        assert!((s.act_std - var.sqrt()).abs() < 1e-6);
        assert_eq!(s.saturated, Some(0.5), "0.01 and 0.99 are on the flat ends");
        assert_eq!(s.dead, None, "dead units are a ReLU figure");
        assert_eq!(s.update_ratio, 0.25);
        assert_eq!(s.hist_range, [0.0, 1.0]);
        assert_eq!(s.hist.iter().sum::<u32>(), 4);
        assert_eq!((s.hist[0], s.hist[4], s.hist[8], s.hist[15]), (1, 1, 1, 1));
    }

    #[test]
    fn a_unit_is_dead_only_when_no_image_moves_it() {
        // Two channels of a 2-pixel plane, three images, channel-major: unit 0 is
        // zero everywhere, unit 3 fires for the last image only.
        let values = [
            0.0, 1.0, 0.0, 2.0, 0.0, 3.0, // channel 0: images 0, 1, 2
            0.0, 0.0, 0.0, 0.0, 4.0, 5.0, // channel 1
        ];
        let mut t = ActivationTally::new(4);
        t.add_by_channel(&values, 3, 2);
        let range = t.histogram_range(Some(Activation::Relu));
        assert_eq!(range, (0.0, 5.0));
        t.bin(&values, range);
        let w = WeightFigures::of(&[3.0, 4.0], &[0.0, 1.0], 0.1);
        assert_eq!(w.weight_norm, 5.0);
        let s = t.finish("conv2".into(), Some(Activation::Relu), range, w);
        assert_eq!(s.dead, Some(0.25), "unit 0 of 4");
        assert_eq!(s.saturated, None);
        assert_eq!(s.hist[0], 7, "the seven zeros");
        assert_eq!(
            (s.hist[3], s.hist[12]),
            (1, 1),
            "1.0 and 4.0 at 16/5 bins a unit"
        );
        assert_eq!(s.hist[15], 1, "the largest value lands in the last bin");
    }

    #[test]
    fn merged_tallies_equal_one_over_everything() {
        let a = [0.1f32, 0.2, 0.3, 0.0];
        let b = [0.9f32, 0.0, 0.5, 0.0];
        let mut whole = ActivationTally::new(2);
        whole.add_by_image(&a);
        whole.add_by_image(&b);
        let mut left = ActivationTally::new(2);
        left.add_by_image(&a);
        let mut right = ActivationTally::new(2);
        right.add_by_image(&b);
        left.merge(&right);
        assert_eq!(left, whole);
        left.clear();
        assert_eq!(left, ActivationTally::new(2));
    }

    #[test]
    fn layers_are_named_by_their_parameters() {
        let names = ["conv1.weight", "conv1.bias", "fc1.weight", "fc1.bias"].map(String::from);
        assert_eq!(layer_names(&names), ["conv1", "fc1"]);
    }
}

#[cfg(test)]
#[path = "diagnostics_tests.rs"]
mod engine_tests;
