//! One worker's share of a step: a chunk of images taken through the forward pass,
//! the loss and the backward pass with the worker's own buffers, its gradients and
//! tallies kept for the step ([`super::step`]) to sum. The layer kernels it calls
//! live beside it (`direct`, `im2col`, `matmul`, `pool`, `elementwise`).

use super::direct::{correlate, correlate_weight_grad, pad_image};
use super::elementwise::{bias_activate, column_sums, sum, times_slope};
use super::im2col::{col2im, im2col};
use super::matmul::{View, matmul};
use super::pool::{pool_backward, pool_forward};
use super::shape::ConvShape;
use crate::engine::diagnostics::ActivationTally;
use crate::model::{Activation, Pooling};

/// Images one task takes through the whole step before the gradients are summed:
/// few enough that the chunk's activations and their gradients (about 1 MB for
/// LeNet) stay in one core's L2 cache, enough that the dense layers' products are
/// not mostly set-up, and 16 tasks for a batch of 256, so a core slowed by another
/// tenant costs little.
pub(super) const CHUNK_IMAGES: usize = 16;

/// Buffers of one convolution block for a chunk.
#[derive(Default)]
struct ConvBuffers {
    /// The chunk's input images zero-padded, `[image][cin][h + 2·pad][w + 2·pad]`,
    /// kept from the forward pass for the weight gradient (direct kernels, pad > 0).
    padded: Vec<f32>,
    /// im2col of the input: `[cin·k·k × images·ho·wo]` (im2col path only).
    cols: Vec<f32>,
    /// Activated output `[cout × images·ho·wo]`.
    act: Vec<f32>,
    /// Pooled output `[cout × images·ph·pw]`.
    pooled: Vec<f32>,
    /// Max pooling: which input of each window won, per pooled value.
    winner: Vec<u8>,
    /// Gradient of the loss by `act`, then by the pre-activation.
    d_act: Vec<f32>,
    /// Gradient by `cols` (im2col path only).
    d_cols: Vec<f32>,
}

/// The network's sizes.
pub(super) struct Net {
    pub(super) convs: Vec<ConvShape>,
    /// Dense layer widths `[in, hidden…, classes]`.
    pub(super) dense: Vec<usize>,
}

/// The parameters of a step in the forms the kernels read.
pub(super) struct Weights<'a> {
    /// As [`super::CpuStep::parameter_names`] lists them.
    pub(super) params: &'a [Vec<f32>],
    /// Each conv block's weights tap-major (direct kernels).
    pub(super) taps: &'a [Vec<f32>],
    /// Each conv block's flipped kernels for its input gradient (direct kernels).
    pub(super) flipped: &'a [Vec<f32>],
}

/// One chunk's buffers and results.
pub(super) struct Worker {
    conv: Vec<ConvBuffers>,
    /// Inputs of each dense layer, `[images × width]`, then the logits.
    pub(super) dense_act: Vec<Vec<f32>>,
    /// Gradients by the same.
    dense_grad: Vec<Vec<f32>>,
    /// Gradient by each block's pooled output, as its `pooled`.
    d_pooled: Vec<Vec<f32>>,
    /// The chunk's output gradients, padded for the input-gradient correlation.
    scratch: Vec<f32>,
    /// This chunk's parameter gradients (already divided by the whole batch size).
    pub(super) grads: Vec<Vec<f32>>,
    /// Summed cross-entropy and correct predictions of this chunk.
    pub(super) loss: f64,
    pub(super) correct: usize,
    /// A measured step: this chunk's outputs of each weighted layer, tallied.
    pub(super) tallies: Vec<ActivationTally>,
}

impl Net {
    /// The length of each parameter, in [`super::CpuStep::parameter_names`] order.
    pub(super) fn parameter_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        let convs = self.convs.iter().flat_map(|s| [s.cout * s.patch(), s.cout]);
        let dense = self.dense.windows(2).flat_map(|p| [p[0] * p[1], p[1]]);
        convs.chain(dense)
    }

    /// Empty tallies of each weighted layer's outputs: a conv block's units are its
    /// output positions of each channel, a dense layer's its neurons.
    pub(super) fn tallies(&self) -> Vec<ActivationTally> {
        let convs = self.convs.iter().map(|s| s.cout * s.ho * s.wo);
        let dense = self.dense[1..].iter().copied();
        convs.chain(dense).map(ActivationTally::new).collect()
    }
}

impl Worker {
    /// Buffers for a chunk of up to [`CHUNK_IMAGES`] images.
    pub(super) fn new(net: &Net) -> Self {
        let n = CHUNK_IMAGES;
        let conv = net
            .convs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let positions = n * s.ho * s.wo;
                let pooled = s.cout * n * s.ph * s.pw;
                let direct = s.convolves_directly();
                ConvBuffers {
                    padded: if direct && !s.reads_input_in_place() {
                        vec![0.0; n * s.cin * (s.h + 2 * s.pad) * (s.w + 2 * s.pad)]
                    } else {
                        Vec::new()
                    },
                    cols: if direct {
                        Vec::new()
                    } else {
                        vec![0.0; s.patch() * positions]
                    },
                    act: vec![0.0; s.cout * positions],
                    pooled: vec![0.0; pooled],
                    winner: vec![0; pooled],
                    d_act: vec![0.0; s.cout * positions],
                    // The first block's input gradient is never computed.
                    d_cols: if i > 0 && s.input_grad_correlation().is_none() {
                        vec![0.0; s.patch() * positions]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        Worker {
            conv,
            dense_act: net.dense.iter().map(|&w| vec![0.0; n * w]).collect(),
            dense_grad: net.dense.iter().map(|&w| vec![0.0; n * w]).collect(),
            d_pooled: net
                .convs
                .iter()
                .map(|s| vec![0.0; s.cout * n * s.ph * s.pw])
                .collect(),
            scratch: Vec::new(),
            grads: net.parameter_sizes().map(|len| vec![0.0; len]).collect(),
            loss: 0.0,
            correct: 0,
            tallies: Vec::new(),
        }
    }

    /// Each weighted layer's outputs, in the buffers of the last
    /// [`Worker::forward`] of `n` images, as `self.tallies`: conv blocks after their
    /// activation (before pooling), dense layers after theirs, the logits last.
    fn outputs<'a>(&'a self, net: &'a Net, n: usize) -> impl Iterator<Item = Output<'a>> + 'a {
        let convs = net
            .convs
            .iter()
            .zip(&self.conv)
            .map(move |(s, buf)| Output {
                values: &buf.act[..s.cout * n * s.ho * s.wo],
                channel_major: Some(s.ho * s.wo),
            });
        let dense = net.dense[1..]
            .iter()
            .zip(&self.dense_act[1..])
            .map(move |(&w, act)| Output {
                values: &act[..n * w],
                channel_major: None,
            });
        convs.chain(dense)
    }

    /// Tallies the last forward pass's outputs (counts, sums, live units; the
    /// histogram comes once its span is known, in [`Worker::bin`]).
    pub(super) fn tally(&mut self, net: &Net, n: usize) {
        let mut tallies = std::mem::take(&mut self.tallies);
        if tallies.is_empty() {
            tallies = net.tallies();
        }
        for (tally, out) in tallies.iter_mut().zip(self.outputs(net, n)) {
            tally.clear();
            match out.channel_major {
                Some(plane) => tally.add_by_channel(out.values, n, plane),
                None => tally.add_by_image(out.values),
            }
        }
        self.tallies = tallies;
    }

    /// Bins the last forward pass's outputs into fresh histograms over `ranges`.
    pub(super) fn bin(&mut self, net: &Net, n: usize, ranges: &[(f32, f32)]) {
        let mut tallies = std::mem::take(&mut self.tallies);
        for ((tally, out), &range) in tallies.iter_mut().zip(self.outputs(net, n)).zip(ranges) {
            tally.clear_histogram();
            tally.bin(out.values, range);
        }
        self.tallies = tallies;
    }

    /// The forward pass of `n` images (`[n × rows·cols]`) up to the logits.
    pub(super) fn forward(
        &mut self,
        net: &Net,
        weights: &Weights,
        images: &[f32],
        n: usize,
        pooling: Pooling,
        act: Activation,
    ) {
        self.forward_convs(net, weights, images, n, pooling, act);
        self.flatten(net, images, n);
        self.forward_dense(net, weights, n, act);
    }

    /// The convolution blocks: convolution, bias and activation, pooling.
    fn forward_convs(
        &mut self,
        net: &Net,
        weights: &Weights,
        images: &[f32],
        n: usize,
        pooling: Pooling,
        act: Activation,
    ) {
        for (i, s) in net.convs.iter().enumerate() {
            let (before, rest) = self.conv.split_at_mut(i);
            let buf = &mut rest[0];
            let input: &[f32] = if i == 0 {
                images
            } else {
                &before[i - 1].pooled
            };
            let (weight, bias) = (&weights.params[2 * i], &weights.params[2 * i + 1]);
            let positions = n * s.ho * s.wo;
            if s.convolves_directly() {
                let c = s.forward_correlation(n);
                pad_chunk(s, input, n, &mut buf.padded);
                let images = image_planes(s, &buf.padded, input);
                for b in 0..n {
                    let image = &images[b * c.image_stride..];
                    correlate(&c, image, &weights.taps[i], &mut buf.act, n, b);
                }
            } else {
                im2col(s, n, input, &mut buf.cols);
                let w = View::new(weight, s.cout, s.patch());
                matmul(
                    &mut buf.act,
                    w,
                    View::new(&buf.cols, s.patch(), positions),
                    false,
                );
            }
            for (row, &bias) in buf.act[..s.cout * positions]
                .chunks_mut(positions)
                .zip(bias)
            {
                bias_activate(row, bias, Some(act));
            }
            pool_forward(s, n, &buf.act, &mut buf.pooled, &mut buf.winner, pooling);
        }
    }

    /// Flattens the last block's output `[c][n][s]` to `[n][c·s]`, as PyTorch's and
    /// Candle's flatten order it (the images themselves without convolutions).
    fn flatten(&mut self, net: &Net, images: &[f32], n: usize) {
        let flat = &mut self.dense_act[0];
        let width = net.dense[0];
        match net.convs.last() {
            Some(s) => {
                let pooled = &self.conv[net.convs.len() - 1].pooled;
                let plane = s.ph * s.pw;
                for (b, row) in flat[..n * width].chunks_mut(width).enumerate() {
                    for c in 0..s.cout {
                        let src = &pooled[(c * n + b) * plane..][..plane];
                        row[c * plane..][..plane].copy_from_slice(src);
                    }
                }
            }
            None => flat[..n * width].copy_from_slice(&images[..n * width]),
        }
    }

    /// The dense layers up to the logits.
    fn forward_dense(&mut self, net: &Net, weights: &Weights, n: usize, act: Activation) {
        let layers = net.dense.len() - 1;
        let first_dense = 2 * net.convs.len();
        for l in 0..layers {
            let (din, dout) = (net.dense[l], net.dense[l + 1]);
            let (inputs, outputs) = self.dense_act.split_at_mut(l + 1);
            let out = &mut outputs[0];
            let weight = View::new(&weights.params[first_dense + 2 * l], dout, din);
            matmul(out, View::new(&inputs[l], n, din), weight.t(), false);
            let bias = &weights.params[first_dense + 2 * l + 1];
            let hidden = (l + 1 < layers).then_some(act);
            for row in out[..n * dout].chunks_mut(dout) {
                for (v, &b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
                if let Some(act) = hidden {
                    bias_activate(row, 0.0, Some(act));
                }
            }
        }
    }

    /// Softmax cross-entropy over the logits, summed; leaves d(loss)/d(logits) in
    /// place, each scaled by `scale` (one over the whole batch's size).
    pub(super) fn loss_and_output_gradient(&mut self, net: &Net, labels: &[u32], scale: f32) {
        let classes = *net.dense.last().expect("a classifier");
        let logits = &self.dense_act[net.dense.len() - 1];
        let grad = &mut self.dense_grad[net.dense.len() - 1];
        (self.loss, self.correct) = grad
            .chunks_mut(classes)
            .zip(logits.chunks(classes))
            .zip(labels)
            .map(|((g, z), &label)| {
                let label = label as usize;
                let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
                let log_sum = sum.ln() + max;
                for (g, &v) in g.iter_mut().zip(z) {
                    *g = (v - log_sum).exp() * scale;
                }
                g[label] -= scale;
                let best = z
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                (f64::from(log_sum - z[label]), usize::from(best == label))
            })
            .fold((0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    }

    /// Backprop of the last [`Worker::forward`] into `self.grads`.
    pub(super) fn backward(
        &mut self,
        net: &Net,
        weights: &Weights,
        images: &[f32],
        n: usize,
        pooling: Pooling,
        act: Activation,
    ) {
        self.backward_dense(net, weights, n, act);
        if net.convs.is_empty() {
            return;
        }
        self.unflatten(net, n);
        self.backward_convs(net, weights, images, n, pooling, act);
    }

    /// Backprop through the dense layers, down to the gradient of the flattened input
    /// (when convolutions lie below).
    fn backward_dense(&mut self, net: &Net, weights: &Weights, n: usize, act: Activation) {
        let convs = net.convs.len();
        let layers = net.dense.len() - 1;
        let params = weights.params;
        for l in (0..layers).rev() {
            let (din, dout) = (net.dense[l], net.dense[l + 1]);
            let (grad_in, grad_out) = self.dense_grad.split_at_mut(l + 1);
            let d_out = &grad_out[0];
            let (gw, gb) = {
                let (w, b) = self.grads.split_at_mut(2 * convs + 2 * l + 1);
                (&mut w[2 * convs + 2 * l], &mut b[0])
            };
            // dW [out × in] = dOut^T · in; db = column sums of dOut.
            matmul(
                gw,
                View::new(d_out, n, dout).t(),
                View::new(&self.dense_act[l], n, din),
                false,
            );
            column_sums(d_out, n, dout, gb);
            if l == 0 && convs == 0 {
                break;
            }
            // dIn [n × in] = dOut · W, then through the activation below it.
            let weight = View::new(&params[2 * convs + 2 * l], dout, din);
            let d_in = &mut grad_in[l];
            matmul(d_in, View::new(d_out, n, dout), weight, false);
            if l > 0 {
                times_slope(&mut d_in[..n * din], &self.dense_act[l][..n * din], act);
            }
        }
    }

    /// Unflattens the gradient into the last block's pooled layout.
    fn unflatten(&mut self, net: &Net, n: usize) {
        let convs = net.convs.len();
        let s = net.convs[convs - 1];
        let plane = s.ph * s.pw;
        let d_flat = &self.dense_grad[0];
        let d_pooled = &mut self.d_pooled[convs - 1];
        for (c, channel) in d_pooled[..s.cout * n * plane]
            .chunks_mut(n * plane)
            .enumerate()
        {
            for b in 0..n {
                let src = &d_flat[b * s.cout * plane + c * plane..][..plane];
                channel[b * plane..][..plane].copy_from_slice(src);
            }
        }
    }

    /// Backprop through the convolution blocks, into their weights' gradients.
    fn backward_convs(
        &mut self,
        net: &Net,
        weights: &Weights,
        images: &[f32],
        n: usize,
        pooling: Pooling,
        act: Activation,
    ) {
        let params = weights.params;
        for i in (0..net.convs.len()).rev() {
            let s = &net.convs[i];
            let positions = n * s.ho * s.wo;
            let (before, rest) = self.conv.split_at_mut(i);
            let buf = &mut rest[0];
            let (d_pooled_below, d_pooled) = self.d_pooled.split_at_mut(i);
            pool_backward(s, n, &d_pooled[0], &buf.winner, &mut buf.d_act, pooling);
            let d_act = &mut buf.d_act[..s.cout * positions];
            times_slope(d_act, &buf.act[..s.cout * positions], act);
            let (gw, gb) = {
                let (w, b) = self.grads.split_at_mut(2 * i + 1);
                (&mut w[2 * i], &mut b[0])
            };
            // dW [cout × patch] = dZ · cols^T; db = row sums of dZ.
            if s.convolves_directly() {
                let input: &[f32] = if i == 0 {
                    images
                } else {
                    &before[i - 1].pooled
                };
                let images = image_planes(s, &buf.padded, input);
                correlate_weight_grad(&s.forward_correlation(n), images, &buf.d_act, n, gw);
            } else {
                matmul(
                    gw,
                    View::new(&buf.d_act, s.cout, positions),
                    View::new(&buf.cols, s.patch(), positions).t(),
                    false,
                );
            }
            for (g, row) in gb.iter_mut().zip(buf.d_act.chunks(positions)) {
                *g = sum(row);
            }
            if i == 0 {
                // The input is data: its gradient is never needed.
                break;
            }
            let d_input = &mut d_pooled_below[i - 1];
            if let Some(c) = s.input_grad_correlation() {
                let pad = s.k - 1 - s.pad;
                self.scratch.resize(n * c.image_stride, 0.0);
                for (b, image) in self.scratch.chunks_mut(c.image_stride).enumerate() {
                    pad_image(&buf.d_act, s.cout, n, b, s.ho, s.wo, pad, image);
                }
                for (b, image) in self.scratch.chunks(c.image_stride).enumerate() {
                    correlate(&c, image, &weights.flipped[i], d_input, n, b);
                }
            } else {
                // dCols = W^T · dZ, folded back onto the previous block's pooled output.
                let weight = View::new(&params[2 * i], s.cout, s.patch());
                matmul(
                    &mut buf.d_cols,
                    weight.t(),
                    View::new(&buf.d_act, s.cout, positions),
                    false,
                );
                col2im(s, n, &buf.d_cols, d_input);
            }
        }
    }
}

/// One weighted layer's outputs for a chunk.
struct Output<'a> {
    values: &'a [f32],
    /// `Some(plane)`: laid out `[channels][images][plane]`; else image by image.
    channel_major: Option<usize>,
}

/// The chunk's input images as [`ConvShape::forward_correlation`] reads them: in
/// place when the block has no padding, else `padded` (as [`pad_chunk`] left it).
fn image_planes<'a>(s: &ConvShape, padded: &'a [f32], input: &'a [f32]) -> &'a [f32] {
    if s.reads_input_in_place() {
        input
    } else {
        padded
    }
}

/// The chunk's `n` input images zero-padded into `padded`, one after the other,
/// unless the block reads them in place.
fn pad_chunk(s: &ConvShape, input: &[f32], n: usize, padded: &mut [f32]) {
    if s.reads_input_in_place() {
        return;
    }
    let len = s.cin * (s.h + 2 * s.pad) * (s.w + 2 * s.pad);
    for (b, image) in padded[..n * len].chunks_mut(len).enumerate() {
        pad_image(input, s.cin, n, b, s.h, s.w, s.pad, image);
    }
}
