//! The per-chunk training step (see the module docs of [`super`]): the step driver,
//! which hands each chunk of a batch to a [`Worker`] and sums what they found.

use rayon::prelude::*;

use super::direct::{flipped_taps, tap_major};
use super::shape::ConvShape;
use super::worker::{CHUNK_IMAGES, Net, Weights, Worker};
use crate::engine::diagnostics::{
    ActivationTally, LayerStats, Measure, WeightFigures, layer_activation, layer_names,
};
use crate::model::{Activation, Architecture, Pooling};

/// The fewest workers a step keeps (each with its chunk's buffers, about 1.5 MB for
/// LeNet): a batch of 256 in one parallel section.
const MIN_WORKERS: usize = 16;

/// The figures of one training batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchFigures {
    /// Mean cross-entropy over the batch.
    pub loss: f64,
    /// Correct predictions.
    pub correct: usize,
}

/// A reusable training step for one architecture on the CPU.
pub struct CpuStep {
    net: Net,
    /// [`Architecture::parameter_names`], the order the parameters are taken in.
    names: Vec<String>,
    batch: usize,
    workers: Vec<Worker>,
    taps: Vec<Vec<f32>>,
    flipped: Vec<Vec<f32>>,
    /// Parameter gradients, in [`CpuStep::parameter_names`] order.
    grads: Vec<Vec<f32>>,
    /// The last forward pass's logits, `[batch × classes]`.
    logits: Vec<f32>,
    /// The last measured step's outputs of each weighted layer, over the batch.
    tallies: Vec<ActivationTally>,
    /// Each weighted layer's histogram span, fixed by the batch's first group.
    ranges: Vec<(f32, f32)>,
    /// The activation of the last measured step.
    measured: Option<Activation>,
}

impl CpuStep {
    /// A step for `arch`, whose shapes [`crate::model::LeNet::new`] has already checked.
    pub fn new(arch: &Architecture) -> Self {
        let [mut c, mut h, mut w] = arch.input;
        let mut convs = Vec::new();
        for block in &arch.convs {
            let (ho, wo) = (
                (h + 2 * block.padding - block.kernel) / block.stride + 1,
                (w + 2 * block.padding - block.kernel) / block.stride + 1,
            );
            let shape = ConvShape {
                cin: c,
                h,
                w,
                k: block.kernel,
                pad: block.padding,
                stride: block.stride,
                cout: block.out_channels,
                ho,
                wo,
                q: block.pool,
                ph: ho / block.pool,
                pw: wo / block.pool,
            };
            convs.push(shape);
            (c, h, w) = (shape.cout, shape.ph, shape.pw);
        }
        let mut dense = vec![c * h * w];
        dense.extend(&arch.dense);
        dense.push(arch.classes);
        let net = Net { convs, dense };
        CpuStep {
            grads: net.parameter_sizes().map(|len| vec![0.0; len]).collect(),
            taps: vec![Vec::new(); net.convs.len()],
            flipped: vec![Vec::new(); net.convs.len()],
            net,
            names: arch.parameter_names(),
            batch: 0,
            workers: Vec::new(),
            logits: Vec::new(),
            tallies: Vec::new(),
            ranges: Vec::new(),
            measured: None,
        }
    }

    /// Parameter names in the order [`CpuStep::train`] takes them (`conv1.weight`,
    /// `conv1.bias`, …, `fc1.weight`, …), as the model's `VarMap` names them.
    pub fn parameter_names(&self) -> &[String] {
        &self.names
    }

    /// Plain SGD with the gradients of the last [`CpuStep::gradients`] call.
    pub fn apply(&self, params: &mut [Vec<f32>], learning_rate: f32) {
        for (p, g) in params.iter_mut().zip(&self.grads) {
            // 61,706 values: one thread does it faster than two can be woken.
            p.iter_mut()
                .zip(g)
                .for_each(|(p, g)| *p -= learning_rate * g);
        }
    }

    /// The forward pass and loss alone, without gradients.
    pub fn loss(
        &mut self,
        params: &[Vec<f32>],
        images: &[f32],
        labels: &[u32],
        pooling: Pooling,
        activation: Activation,
    ) -> BatchFigures {
        self.run(params, images, labels, pooling, activation, Pass::Forward)
    }

    /// One SGD step on a batch: `images` are `batch × rows·cols` values in [0, 1],
    /// `params` as [`CpuStep::parameter_names`] lists them (updated in place).
    pub fn train(
        &mut self,
        params: &mut [Vec<f32>],
        images: &[f32],
        labels: &[u32],
        pooling: Pooling,
        activation: Activation,
        learning_rate: f32,
    ) -> BatchFigures {
        let pieces = (pooling, activation);
        let figures = self.gradients(params, images, labels, pieces, Measure::Nothing);
        if figures.loss.is_finite() {
            self.apply(params, learning_rate);
        }
        figures
    }

    /// The loss, accuracy and (kept in `self`) parameter gradients for a batch; with
    /// [`Measure::Layers`] each layer's outputs tallied too, for
    /// [`CpuStep::layer_stats`].
    pub fn gradients(
        &mut self,
        params: &[Vec<f32>],
        images: &[f32],
        labels: &[u32],
        (pooling, activation): (Pooling, Activation),
        measure: Measure,
    ) -> BatchFigures {
        let pass = match measure {
            Measure::Nothing => Pass::Backward,
            Measure::Layers => Pass::Measured,
        };
        self.run(params, images, labels, pooling, activation, pass)
    }

    /// Each weighted layer's figures from the last measured [`CpuStep::gradients`]
    /// call, for the weights `params` it started from and a step of `learning_rate`.
    pub fn layer_stats(&self, params: &[Vec<f32>], learning_rate: f64) -> Vec<LayerStats> {
        let Some(act) = self.measured else {
            return Vec::new();
        };
        let layers = self.tallies.len();
        layer_names(&self.names)
            .into_iter()
            .zip(&self.tallies)
            .zip(&self.ranges)
            .enumerate()
            .map(|(i, ((name, tally), &range))| {
                let weights = WeightFigures::of(&params[2 * i], &self.grads[2 * i], learning_rate);
                let activation = layer_activation(i, layers, act);
                tally.finish(name, activation, range, weights)
            })
            .collect()
    }

    /// The batch size of the last step (0 before the first).
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// The gradients of the last [`CpuStep::gradients`] call.
    pub fn parameter_gradients(&self) -> &[Vec<f32>] {
        &self.grads
    }

    /// The logits of the last forward pass (`batch × classes`, row-major).
    pub fn logits(&self) -> &[f32] {
        &self.logits
    }

    /// The forward pass and loss, and as far as `pass` goes the gradients and tallies, of a batch: one
    /// task per chunk of [`CHUNK_IMAGES`], then the chunks' gradients summed.
    fn run(
        &mut self,
        params: &[Vec<f32>],
        images: &[f32],
        labels: &[u32],
        pooling: Pooling,
        act: Activation,
        pass: Pass,
    ) -> BatchFigures {
        assert_eq!(params.len(), self.grads.len(), "one buffer per parameter");
        let backward = pass != Pass::Forward;
        let measuring = pass == Pass::Measured;
        self.measured = measuring.then_some(act);
        let batch = labels.len();
        self.batch = batch;
        self.logits.clear();
        if batch == 0 {
            return BatchFigures {
                loss: f64::NAN,
                correct: 0,
            };
        }
        let group = self.get_ready(params, batch, pass);
        let weights = Weights {
            params,
            taps: &self.taps,
            flipped: &self.flipped,
        };
        let image_len = images.len() / batch;
        let scale = 1.0 / batch as f32;
        let net = &self.net;
        let classes = *net.dense.last().expect("a classifier");
        let (mut loss, mut correct) = (0.0, 0);
        let per_group = group * CHUNK_IMAGES;
        let groups = images
            .chunks(per_group * image_len)
            .zip(labels.chunks(per_group));
        for (g, (images, labels)) in groups.enumerate() {
            let workers = &mut self.workers[..labels.len().div_ceil(CHUNK_IMAGES)];
            workers
                .par_iter_mut()
                .zip(images.par_chunks(CHUNK_IMAGES * image_len))
                .zip(labels.par_chunks(CHUNK_IMAGES))
                .for_each(|((worker, images), labels)| {
                    worker.forward(net, &weights, images, labels.len(), pooling, act);
                    if measuring {
                        worker.tally(net, labels.len());
                    }
                    worker.loss_and_output_gradient(net, labels, scale);
                    if backward {
                        worker.backward(net, &weights, images, labels.len(), pooling, act);
                    }
                });
            for (worker, labels) in workers.iter().zip(labels.chunks(CHUNK_IMAGES)) {
                let logits = &worker.dense_act[net.dense.len() - 1];
                self.logits
                    .extend_from_slice(&logits[..labels.len() * classes]);
                loss += worker.loss;
                correct += worker.correct;
            }
            if backward {
                sum_gradients(workers, &mut self.grads, g > 0);
            }
            if measuring {
                let tallies = (&mut self.tallies[..], &mut self.ranges);
                gather_tallies(tallies, workers, net, labels.len(), g == 0, act);
            }
        }
        BatchFigures {
            loss: loss / batch as f64,
            correct,
        }
    }
}

impl CpuStep {
    /// Readies a step of `batch` images: empty tallies when measuring, enough
    /// workers, the weights laid out. Returns how many chunks go in one group: workers
    /// (and their memory) are bounded whatever the batch size, and a larger batch is
    /// taken a group of chunks at a time.
    fn get_ready(&mut self, params: &[Vec<f32>], batch: usize, pass: Pass) -> usize {
        if pass == Pass::Measured {
            // The same layers step after step: empty the tallies rather than remake them.
            if self.tallies.is_empty() {
                self.tallies = self.net.tallies();
            }
            self.tallies.iter_mut().for_each(ActivationTally::clear);
        }
        let group = MIN_WORKERS.max(2 * rayon::current_num_threads());
        let chunks = batch.div_ceil(CHUNK_IMAGES);
        while self.workers.len() < chunks.min(group) {
            self.workers.push(Worker::new(&self.net));
        }
        self.lay_out_taps(params, pass != Pass::Forward);
        group
    }

    /// The convolution weights in the orders the direct kernels read: tap-major for
    /// the forward pass, flipped for the input gradients of the backward pass.
    fn lay_out_taps(&mut self, params: &[Vec<f32>], backward: bool) {
        for (i, s) in self.net.convs.iter().enumerate() {
            if s.convolves_directly() {
                tap_major(&params[2 * i], s.cout, s.patch(), &mut self.taps[i]);
            }
            if backward && i > 0 && s.input_grad_correlation().is_some() {
                flipped_taps(&params[2 * i], s.cout, s.cin, s.k, &mut self.flipped[i]);
            }
        }
    }
}

/// Adds a group of `images` images' activation tallies from `workers` into `all`;
/// the histograms' ranges are set from the first group (`first`), so that every
/// group bins alike.
fn gather_tallies(
    (all, ranges): (&mut [ActivationTally], &mut Vec<(f32, f32)>),
    workers: &mut [Worker],
    net: &Net,
    images: usize,
    first: bool,
    act: Activation,
) {
    for worker in workers.iter() {
        for (all, part) in all.iter_mut().zip(&worker.tallies) {
            all.merge(part);
        }
    }
    if first {
        let layers = all.len();
        *ranges = (all.iter().enumerate())
            .map(|(i, t)| t.histogram_range(layer_activation(i, layers, act)))
            .collect();
    }
    let ranges = &*ranges;
    workers.par_iter_mut().enumerate().for_each(|(w, worker)| {
        let n = CHUNK_IMAGES.min(images - w * CHUNK_IMAGES);
        worker.bin(net, n, ranges);
    });
    for worker in workers.iter() {
        for (all, part) in all.iter_mut().zip(&worker.tallies) {
            all.merge_histogram(part);
        }
    }
}

/// `grads` = the sum of the workers' gradients (`+=` when `accumulate`), split
/// across threads in pieces.
fn sum_gradients(workers: &[Worker], grads: &mut [Vec<f32>], accumulate: bool) {
    /// Values per task: enough that scheduling is noise.
    const PIECE: usize = 8192;
    grads.par_iter_mut().enumerate().for_each(|(p, g)| {
        g.par_chunks_mut(PIECE).enumerate().for_each(|(c, piece)| {
            let range = c * PIECE..c * PIECE + piece.len();
            if !accumulate {
                piece.fill(0.0);
            }
            for w in workers {
                let part = &w.grads[p][range.clone()];
                piece.iter_mut().zip(part).for_each(|(a, b)| *a += b);
            }
        });
    });
}

/// How far a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The loss alone.
    Forward,
    /// The loss and the gradients.
    Backward,
    /// The loss, the gradients and each layer's outputs tallied.
    Measured,
}
#[cfg(test)]
#[path = "step_tests.rs"]
mod tests;
