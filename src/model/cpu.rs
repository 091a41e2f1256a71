//! LeNet's training step on the CPU, without Candle's graph.
//!
//! Candle's CPU convolutions run their backward passes at a few GFLOP/s and its
//! autograd adds a zero tensor and an add for every node; a LeNet step spends most of
//! its time there. This module does the same arithmetic as [`super::LeNet::forward`]
//! plus backprop and an SGD update, with every convolution an im2col and a matrix
//! product on `gemm` (the kernel Candle's own matmul uses), activation and pooling in
//! plain loops over channel-major buffers, no gradient for the input image, and every
//! buffer kept from one batch to the next. The weights stay in the model's `Var`s:
//! the trainer copies them in and out around each step (250 KB), so everything else
//! (evaluation, probes, checkpoints) sees them as usual. Tests check the gradients
//! against Candle's autograd and finite differences.
//!
//! Activations are laid out `[channels][batch][rows][cols]`, so a convolution's
//! output is one row-major `[out channels × batch·rows·cols]` matrix product.

use rayon::prelude::*;

use super::{Activation, Architecture, Pooling};

/// Flushes denormal floats to zero on the calling thread (x86-64: FTZ and DAZ).
///
/// Sigmoid activations and their gradients drift into the denormal range as training
/// goes on, where every operation on them costs a hundred cycles; PyTorch slows by a
/// third from it. Values that small (< 1.2e-38) do not change any result here.
pub fn flush_denormals() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: sets two flag bits of this thread's SSE control register; no memory
    // is involved. The intrinsics are deprecated only in favour of inline assembly.
    #[allow(deprecated)]
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        _mm_setcsr(_mm_getcsr() | 0x8040);
    }
}

/// Starts the global worker threads (rayon's, which gemm and Candle use too) with
/// denormals flushed; a no-op if they are already running.
pub fn start_worker_threads() {
    let _ = rayon::ThreadPoolBuilder::new()
        .start_handler(|_| flush_denormals())
        .build_global();
}

/// A row-major or transposed view of a matrix in a slice, for [`matmul`].
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    /// `data` as a row-major `rows × cols` matrix.
    fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix view out of bounds");
        View {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Columns `[from, from + count)` of the matrix, without copying.
    fn columns(self, from: usize, count: usize) -> Self {
        assert!(from + count <= self.cols, "column range out of bounds");
        View {
            data: &self.data[from * self.col_stride..],
            cols: count,
            ..self
        }
    }

    /// Rows `[from, from + count)` of the matrix, without copying.
    fn rows(self, from: usize, count: usize) -> Self {
        assert!(from + count <= self.rows, "row range out of bounds");
        View {
            data: &self.data[from * self.row_stride..],
            rows: count,
            ..self
        }
    }

    /// The largest index the view reaches, plus one.
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }

    /// The transpose, without copying.
    fn t(self) -> Self {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// `dst (m×n, row-major) = a·b`, or `dst += a·b` when `accumulate`.
fn matmul(dst: &mut [f32], a: View, b: View, accumulate: bool) {
    matmul_with(dst, a, b, accumulate, gemm::Parallelism::Rayon(0));
}

/// Inner-dimension values per task in [`matmul_long`].
const K_CHUNK: usize = 4096;

/// `dst = a·b` for a small product over a long inner dimension (a weight gradient:
/// 16×150 summed over 25,600 positions). gemm parallelises over the output, which
/// has too few blocks here; this splits the inner dimension across threads instead
/// and adds the partial products.
fn matmul_long(dst: &mut [f32], a: View, b: View) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if k < 2 * K_CHUNK {
        return matmul(dst, a, b, false);
    }
    let partial = (0..k.div_ceil(K_CHUNK))
        .into_par_iter()
        .map(|c| {
            let from = c * K_CHUNK;
            let count = K_CHUNK.min(k - from);
            let mut part = vec![0.0; m * n];
            matmul_with(
                &mut part,
                a.columns(from, count),
                b.rows(from, count),
                false,
                gemm::Parallelism::None,
            );
            part
        })
        .reduce(
            || vec![0.0; m * n],
            |mut x, y| {
                x.iter_mut().zip(&y).for_each(|(x, y)| *x += y);
                x
            },
        );
    dst[..m * n].copy_from_slice(&partial);
}

fn matmul_with(
    dst: &mut [f32],
    a: View,
    b: View,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions differ");
    assert!(dst.len() >= m * n, "destination too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    assert!(a.extent() <= a.data.len() && b.extent() <= b.data.len());
    // SAFETY: every index gemm touches is (i·rs + j·cs) with i < rows, j < cols of a
    // view, below its extent, which was checked against its slice; dst holds m·n.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// One convolution block's sizes.
#[derive(Debug, Clone, Copy)]
struct ConvShape {
    cin: usize,
    h: usize,
    w: usize,
    k: usize,
    pad: usize,
    stride: usize,
    cout: usize,
    /// Output rows and columns of the convolution.
    ho: usize,
    wo: usize,
    /// Pooling window side (and step).
    q: usize,
    /// Rows and columns after pooling.
    ph: usize,
    pw: usize,
}

impl ConvShape {
    fn patch(&self) -> usize {
        self.cin * self.k * self.k
    }
}

/// Buffers of one convolution block for a batch.
#[derive(Default)]
struct ConvBuffers {
    /// im2col of the input: `[cin·k·k × batch·ho·wo]`.
    cols: Vec<f32>,
    /// Activated output `[cout × batch·ho·wo]`.
    act: Vec<f32>,
    /// Pooled output `[cout × batch·ph·pw]`.
    pooled: Vec<f32>,
    /// Max pooling: which of the four inputs won, per pooled value.
    winner: Vec<u8>,
    /// Gradient of the loss by `act`, then by the pre-activation.
    d_act: Vec<f32>,
    /// Gradient by `cols`.
    d_cols: Vec<f32>,
}

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
    convs: Vec<ConvShape>,
    /// Dense layer widths `[in, hidden…, classes]`.
    dense: Vec<usize>,
    batch: usize,
    conv_buffers: Vec<ConvBuffers>,
    /// Inputs of each dense layer, `[batch × width]`, then the logits.
    dense_act: Vec<Vec<f32>>,
    /// Gradients by the same.
    dense_grad: Vec<Vec<f32>>,
    /// Gradient by the last block's pooled output, channel-major.
    d_pooled: Vec<Vec<f32>>,
    /// Parameter gradients, in [`CpuStep::parameter_names`] order.
    grads: Vec<Vec<f32>>,
}

impl CpuStep {
    /// A step for `arch`, whose shapes [`super::LeNet::new`] has already checked.
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
        let mut grads = Vec::new();
        for s in &convs {
            grads.push(vec![0.0; s.cout * s.patch()]);
            grads.push(vec![0.0; s.cout]);
        }
        for pair in dense.windows(2) {
            grads.push(vec![0.0; pair[0] * pair[1]]);
            grads.push(vec![0.0; pair[1]]);
        }
        CpuStep {
            conv_buffers: convs.iter().map(|_| ConvBuffers::default()).collect(),
            dense_act: vec![Vec::new(); dense.len()],
            dense_grad: vec![Vec::new(); dense.len()],
            d_pooled: vec![Vec::new(); convs.len()],
            convs,
            dense,
            batch: 0,
            grads,
        }
    }

    /// Parameter names in the order [`CpuStep::train`] takes them (`conv1.weight`,
    /// `conv1.bias`, …, `fc1.weight`, …), as the model's `VarMap` names them.
    pub fn parameter_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for i in 1..=self.convs.len() {
            names.push(format!("conv{i}.weight"));
            names.push(format!("conv{i}.bias"));
        }
        for i in 1..self.dense.len() {
            names.push(format!("fc{i}.weight"));
            names.push(format!("fc{i}.bias"));
        }
        names
    }

    fn resize(&mut self, batch: usize) {
        if batch == self.batch {
            return;
        }
        self.batch = batch;
        for (i, (s, b)) in self.convs.iter().zip(&mut self.conv_buffers).enumerate() {
            let n = batch * s.ho * s.wo;
            b.cols = if direct(i, s) {
                Vec::new()
            } else {
                vec![0.0; s.patch() * n]
            };
            b.act = vec![0.0; s.cout * n];
            b.d_act = vec![0.0; s.cout * n];
            // The first block's input gradient is never computed.
            b.d_cols = if i == 0 {
                Vec::new()
            } else {
                vec![0.0; s.patch() * n]
            };
            b.pooled = vec![0.0; s.cout * batch * s.ph * s.pw];
            b.winner = vec![0; s.cout * batch * s.ph * s.pw];
        }
        for (i, &width) in self.dense.iter().enumerate() {
            self.dense_act[i] = vec![0.0; batch * width];
            self.dense_grad[i] = vec![0.0; batch * width];
        }
        for (i, s) in self.convs.iter().enumerate() {
            self.d_pooled[i] = vec![0.0; s.cout * batch * s.ph * s.pw];
        }
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
        self.resize(labels.len());
        self.forward(params, images, pooling, activation);
        self.loss_and_output_gradient(labels)
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
        let figures = self.gradients(params, images, labels, pooling, activation);
        if figures.loss.is_finite() {
            self.apply(params, learning_rate);
        }
        figures
    }

    /// The loss, accuracy and (kept in `self`) parameter gradients for a batch.
    pub fn gradients(
        &mut self,
        params: &[Vec<f32>],
        images: &[f32],
        labels: &[u32],
        pooling: Pooling,
        activation: Activation,
    ) -> BatchFigures {
        assert_eq!(params.len(), self.grads.len(), "one buffer per parameter");
        let figures = self.loss(params, images, labels, pooling, activation);
        self.backward(params, images, pooling, activation);
        figures
    }

    /// The batch size the buffers are sized for (0 before the first batch).
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// The gradients of the last [`CpuStep::gradients`] call.
    pub fn parameter_gradients(&self) -> &[Vec<f32>] {
        &self.grads
    }

    /// The logits of the last forward pass (`batch × classes`, row-major).
    pub fn logits(&self) -> &[f32] {
        &self.dense_act[self.dense.len() - 1]
    }

    fn forward(&mut self, params: &[Vec<f32>], images: &[f32], pooling: Pooling, act: Activation) {
        let batch = self.batch;
        for i in 0..self.convs.len() {
            let s = self.convs[i];
            let (before, rest) = self.conv_buffers.split_at_mut(i);
            let b = &mut rest[0];
            let input: &[f32] = if i == 0 {
                images
            } else {
                &before[i - 1].pooled
            };
            let n = batch * s.ho * s.wo;
            if direct(i, &s) {
                conv_direct(&s, batch, input, &params[2 * i], &mut b.act);
            } else {
                im2col(&s, batch, input, &mut b.cols);
                let weight = View::new(&params[2 * i], s.cout, s.patch());
                matmul(&mut b.act, weight, View::new(&b.cols, s.patch(), n), false);
            }
            let bias = &params[2 * i + 1];
            b.act
                .par_chunks_mut(n)
                .zip(bias.par_iter())
                .for_each(|(row, &bias)| bias_activate(row, bias, Some(act)));
            pool_forward(&s, batch, &b.act, &mut b.pooled, &mut b.winner, pooling);
        }
        // Flatten `[c][b][s]` to `[b][c·s]`, as PyTorch's and Candle's flatten order it.
        let last = self.convs.last().copied();
        let flat = &mut self.dense_act[0];
        match last {
            Some(s) => {
                let pooled = &self.conv_buffers[self.convs.len() - 1].pooled;
                let plane = s.ph * s.pw;
                flat.chunks_mut(s.cout * plane)
                    .enumerate()
                    .for_each(|(b, row)| {
                        for c in 0..s.cout {
                            let src = &pooled[(c * batch + b) * plane..][..plane];
                            row[c * plane..][..plane].copy_from_slice(src);
                        }
                    });
            }
            None => {
                let len = flat.len();
                flat.copy_from_slice(&images[..len]);
            }
        }
        let layers = self.dense.len() - 1;
        for l in 0..layers {
            let (din, dout) = (self.dense[l], self.dense[l + 1]);
            let (inputs, outputs) = self.dense_act.split_at_mut(l + 1);
            let out = &mut outputs[0];
            let weight = View::new(&params[2 * self.convs.len() + 2 * l], dout, din);
            matmul(out, View::new(&inputs[l], batch, din), weight.t(), false);
            let bias = &params[2 * self.convs.len() + 2 * l + 1];
            let hidden = (l + 1 < layers).then_some(act);
            out.chunks_mut(dout).for_each(|row| {
                for (v, &b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
                if let Some(act) = hidden {
                    bias_activate(row, 0.0, Some(act));
                }
            });
        }
    }

    /// Softmax cross-entropy over the logits; leaves d(loss)/d(logits) in place.
    fn loss_and_output_gradient(&mut self, labels: &[u32]) -> BatchFigures {
        let classes = *self.dense.last().expect("a classifier");
        let batch = labels.len();
        let logits = &self.dense_act[self.dense.len() - 1];
        let grad = &mut self.dense_grad[self.dense.len() - 1];
        let scale = 1.0 / batch as f32;
        let (loss, correct) = grad
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
        BatchFigures {
            loss: loss / batch as f64,
            correct,
        }
    }

    fn backward(&mut self, params: &[Vec<f32>], images: &[f32], pooling: Pooling, act: Activation) {
        let batch = self.batch;
        let convs = self.convs.len();
        let layers = self.dense.len() - 1;
        for l in (0..layers).rev() {
            let (din, dout) = (self.dense[l], self.dense[l + 1]);
            let (grad_in, grad_out) = self.dense_grad.split_at_mut(l + 1);
            let d_out = &grad_out[0];
            let (gw, gb) = {
                let (w, b) = self.grads.split_at_mut(2 * convs + 2 * l + 1);
                (&mut w[2 * convs + 2 * l], &mut b[0])
            };
            // dW [out × in] = dOut^T · in; db = column sums of dOut.
            matmul_long(
                gw,
                View::new(d_out, batch, dout).t(),
                View::new(&self.dense_act[l], batch, din),
            );
            column_sums(d_out, batch, dout, gb);
            if l == 0 && convs == 0 {
                break;
            }
            // dIn [b × in] = dOut · W, then through the activation below it.
            let weight = View::new(&params[2 * convs + 2 * l], dout, din);
            let d_in = &mut grad_in[l];
            matmul(d_in, View::new(d_out, batch, dout), weight, false);
            if l > 0 {
                times_slope(d_in, &self.dense_act[l], act);
            }
        }
        if convs == 0 {
            return;
        }
        // Unflatten the gradient into the last block's pooled layout.
        let s = self.convs[convs - 1];
        let plane = s.ph * s.pw;
        let d_flat = &self.dense_grad[0];
        let d_pooled = &mut self.d_pooled[convs - 1];
        d_pooled
            .chunks_mut(batch * plane)
            .enumerate()
            .for_each(|(c, channel)| {
                for b in 0..batch {
                    let src = &d_flat[b * s.cout * plane + c * plane..][..plane];
                    channel[b * plane..][..plane].copy_from_slice(src);
                }
            });
        for i in (0..convs).rev() {
            let s = self.convs[i];
            let n = batch * s.ho * s.wo;
            let buf = &mut self.conv_buffers[i];
            pool_backward(
                &s,
                batch,
                &self.d_pooled[i],
                &buf.winner,
                &mut buf.d_act,
                pooling,
            );
            times_slope(&mut buf.d_act, &buf.act, act);
            let (gw, gb) = {
                let (w, b) = self.grads.split_at_mut(2 * i + 1);
                (&mut w[2 * i], &mut b[0])
            };
            // dW [cout × patch] = dZ · cols^T; db = row sums of dZ.
            if direct(i, &s) {
                conv_weight_grad_direct(&s, batch, images, &buf.d_act, gw);
            } else {
                matmul_long(
                    gw,
                    View::new(&buf.d_act, s.cout, n),
                    View::new(&buf.cols, s.patch(), n).t(),
                );
            }
            gb.par_iter_mut()
                .zip(buf.d_act.par_chunks(n))
                .for_each(|(g, row)| *g = row.iter().sum());
            if i == 0 {
                // The input is data: its gradient is never needed.
                break;
            }
            // dCols = W^T · dZ, folded back onto the previous block's pooled output.
            let weight = View::new(&params[2 * i], s.cout, s.patch());
            matmul(
                &mut buf.d_cols,
                weight.t(),
                View::new(&buf.d_act, s.cout, n),
                false,
            );
            col2im(&s, batch, &buf.d_cols, &mut self.d_pooled[i - 1]);
        }
    }
}

/// `e^x` to within a few ulp for |x| < 87, without branches, so loops over it
/// vectorise (libm's `expf` does not): x = n·ln 2 + r, a degree-6 polynomial for
/// `e^r`, and `2^n` put into the exponent bits.
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest by adding and subtracting 1.5·2^23: `round()` is a libm call on
    // baseline x86-64 and would stop the loop from vectorising.
    const MAGIC: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    // ln 2 in two parts, so r keeps its precision.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67 + r * (0.041_666_66 + r * (0.008_333_6 + r * 0.001_388_89)))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[inline(always)]
fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-v))
}

/// Runs `$portable(args…)` compiled for AVX2 and FMA when the CPU has them (twice the
/// lanes of baseline x86-64's SSE2), else as it is.
macro_rules! with_avx2 {
    ($fast:ident, $portable:ident($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $fast($($arg: $ty),*) {
            $portable($($arg),*)
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features `$fast` was compiled for.
            return unsafe { $fast($($arg),*) };
        }
        return $portable($($arg),*);
    };
}

/// Adds `bias` to every value of `row` and applies the activation, in place.
fn bias_activate(row: &mut [f32], bias: f32, act: Option<Activation>) {
    with_avx2!(bias_activate_avx2, bias_activate_portable(row: &mut [f32], bias: f32, act: Option<Activation>));
}

#[inline(always)]
fn bias_activate_portable(row: &mut [f32], bias: f32, act: Option<Activation>) {
    match act {
        Some(Activation::Sigmoid) => row.iter_mut().for_each(|v| *v = sigmoid(*v + bias)),
        Some(Activation::Relu) => row.iter_mut().for_each(|v| *v = (*v + bias).max(0.0)),
        None => row.iter_mut().for_each(|v| *v += bias),
    }
}

/// Values per task in element-wise loops: large enough that scheduling is noise.
const CHUNK: usize = 1 << 14;

/// `grad *= act'(out)` element-wise, where `out` is the activation's output.
fn times_slope(grad: &mut [f32], out: &[f32], act: Activation) {
    grad.par_chunks_mut(CHUNK)
        .zip(out.par_chunks(CHUNK))
        .for_each(|(g, a)| slope_chunk(g, a, act));
}

fn slope_chunk(g: &mut [f32], a: &[f32], act: Activation) {
    with_avx2!(slope_chunk_avx2, slope_chunk_portable(g: &mut [f32], a: &[f32], act: Activation));
}

#[inline(always)]
fn slope_chunk_portable(g: &mut [f32], a: &[f32], act: Activation) {
    match act {
        Activation::Sigmoid => g.iter_mut().zip(a).for_each(|(g, &a)| *g *= a * (1.0 - a)),
        Activation::Relu => g
            .iter_mut()
            .zip(a)
            .for_each(|(g, &a)| *g = if a > 0.0 { *g } else { 0.0 }),
    }
}

fn column_sums(m: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    out.fill(0.0);
    for row in m[..rows * cols].chunks(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

/// The output columns `[lo, hi)` of a kernel tap at offset `kx` whose input column
/// `ox + kx - pad` lies inside `[0, w)`.
fn valid_span(wo: usize, w: usize, kx: usize, pad: usize) -> (usize, usize) {
    let shift = kx as isize - pad as isize;
    let lo = (-shift).clamp(0, wo as isize) as usize;
    let hi = (w as isize - shift).clamp(lo as isize, wo as isize) as usize;
    (lo, hi)
}

/// Whether conv block `i` convolves directly instead of through im2col and a matrix
/// product: the first block (whose input gradient is never needed) with stride 1 and
/// a small patch. Its column matrix would be k² times its input (20 MB for conv1 at
/// batch 256) and the products thin (6×25 by 200,704): memory-bound work, where the
/// direct loops keep one image and one output row in L1.
fn direct(i: usize, s: &ConvShape) -> bool {
    i == 0 && s.stride == 1 && s.patch() <= 64
}

/// `input` `[cin][batch][h][w]`'s image `b`, zero-padded by `s.pad`, into `padded`
/// `[cin][h + 2·pad][w + 2·pad]`.
fn pad_image(s: &ConvShape, batch: usize, input: &[f32], b: usize, padded: &mut Vec<f32>) {
    let (hp, wp) = (s.h + 2 * s.pad, s.w + 2 * s.pad);
    padded.clear();
    padded.resize(s.cin * hp * wp, 0.0);
    for ci in 0..s.cin {
        let src = &input[(ci * batch + b) * s.h * s.w..][..s.h * s.w];
        for y in 0..s.h {
            padded[(ci * hp + y + s.pad) * wp + s.pad..][..s.w]
                .copy_from_slice(&src[y * s.w..][..s.w]);
        }
    }
}

/// The convolution (without bias) of `input` `[cin][batch][h][w]` by `weight`
/// `[cout][cin][k][k]` into `out` `[cout][batch][ho][wo]`, one output channel per
/// task, each output row summed tap by tap in place.
fn conv_direct(s: &ConvShape, batch: usize, input: &[f32], weight: &[f32], out: &mut [f32]) {
    let plane = s.ho * s.wo;
    out[..s.cout * batch * plane]
        .par_chunks_mut(batch * plane)
        .enumerate()
        .for_each(|(co, out)| {
            let w = &weight[co * s.patch()..][..s.patch()];
            let mut padded = Vec::new();
            for b in 0..batch {
                pad_image(s, batch, input, b, &mut padded);
                conv_image(s, w, &padded, &mut out[b * plane..][..plane]);
            }
        });
}

/// One image and one output channel of [`conv_direct`].
fn conv_image(s: &ConvShape, w: &[f32], padded: &[f32], out: &mut [f32]) {
    with_avx2!(conv_image_avx2, conv_image_portable(s: &ConvShape, w: &[f32], padded: &[f32], out: &mut [f32]));
}

/// Output values computed together in [`conv_image`]: one AVX register.
const LANES: usize = 8;

#[inline(always)]
fn conv_image_portable(s: &ConvShape, w: &[f32], padded: &[f32], out: &mut [f32]) {
    let (hp, wp, wo) = (s.h + 2 * s.pad, s.w + 2 * s.pad, s.wo);
    // Eight outputs at a time, summed over every tap in a register; the last block
    // overlaps the one before when the row is not a multiple of eight (the values
    // are stored, not added, so computing some twice is harmless).
    if wo < LANES {
        return conv_image_narrow(s, w, padded, out);
    }
    let starts = (0..=wo - LANES)
        .step_by(LANES)
        .chain((wo % LANES != 0).then(|| wo - LANES));
    for oy in 0..s.ho {
        for x0 in starts.clone() {
            let mut acc = [0.0f32; LANES];
            for ci in 0..s.cin {
                for ky in 0..s.k {
                    let line = &padded[(ci * hp + oy + ky) * wp..][..wp];
                    for kx in 0..s.k {
                        let tap = w[(ci * s.k + ky) * s.k + kx];
                        let x = &line[x0 + kx..][..LANES];
                        for l in 0..LANES {
                            acc[l] += tap * x[l];
                        }
                    }
                }
            }
            out[oy * wo + x0..][..LANES].copy_from_slice(&acc);
        }
    }
}

/// [`conv_image`] for rows narrower than [`LANES`].
fn conv_image_narrow(s: &ConvShape, w: &[f32], padded: &[f32], out: &mut [f32]) {
    let (hp, wp, wo) = (s.h + 2 * s.pad, s.w + 2 * s.pad, s.wo);
    for oy in 0..s.ho {
        let row = &mut out[oy * wo..][..wo];
        row.fill(0.0);
        for ci in 0..s.cin {
            for ky in 0..s.k {
                let line = &padded[(ci * hp + oy + ky) * wp..][..wp];
                for kx in 0..s.k {
                    let tap = w[(ci * s.k + ky) * s.k + kx];
                    for (o, &x) in row.iter_mut().zip(&line[kx..kx + wo]) {
                        *o += tap * x;
                    }
                }
            }
        }
    }
}

/// The weight gradient of [`conv_direct`]: `grad` `[cout][cin·k·k]` =
/// Σ over images and positions of `d_out` `[cout][batch][ho][wo]` times the input under
/// each tap; one output channel per task.
fn conv_weight_grad_direct(
    s: &ConvShape,
    batch: usize,
    input: &[f32],
    d_out: &[f32],
    grad: &mut [f32],
) {
    let plane = s.ho * s.wo;
    grad[..s.cout * s.patch()]
        .par_chunks_mut(s.patch())
        .enumerate()
        .for_each(|(co, g)| {
            let mut padded = Vec::new();
            g.fill(0.0);
            for b in 0..batch {
                pad_image(s, batch, input, b, &mut padded);
                let d = &d_out[(co * batch + b) * plane..][..plane];
                weight_grad_image(s, d, &padded, g);
            }
        });
}

/// One image of [`conv_weight_grad_direct`], added into `grad` `[cin·k·k]`.
fn weight_grad_image(s: &ConvShape, d: &[f32], padded: &[f32], grad: &mut [f32]) {
    with_avx2!(weight_grad_image_avx2, weight_grad_image_portable(s: &ConvShape, d: &[f32], padded: &[f32], grad: &mut [f32]));
}

#[inline(always)]
fn weight_grad_image_portable(s: &ConvShape, d: &[f32], padded: &[f32], grad: &mut [f32]) {
    let (hp, wp, wo) = (s.h + 2 * s.pad, s.w + 2 * s.pad, s.wo);
    let full = wo / LANES * LANES;
    for ci in 0..s.cin {
        for ky in 0..s.k {
            for kx in 0..s.k {
                // Eight products at a time summed in a register over the whole
                // image, the row's ragged end one by one; one horizontal sum a tap.
                let mut acc = [0.0f32; LANES];
                let mut tail = 0.0f32;
                for oy in 0..s.ho {
                    let line = &padded[(ci * hp + oy + ky) * wp + kx..][..wo];
                    let d_row = &d[oy * wo..][..wo];
                    for x0 in (0..full).step_by(LANES) {
                        let (g, x) = (&d_row[x0..][..LANES], &line[x0..][..LANES]);
                        for l in 0..LANES {
                            acc[l] += g[l] * x[l];
                        }
                    }
                    for ox in full..wo {
                        tail += d_row[ox] * line[ox];
                    }
                }
                grad[(ci * s.k + ky) * s.k + kx] += acc.iter().sum::<f32>() + tail;
            }
        }
    }
}

/// Input `[cin][batch][h][w]` → columns `[(cin, ky, kx)][(batch, oy, ox)]`: each
/// output row is a shifted copy of input rows, padded with zeros.
fn im2col(s: &ConvShape, batch: usize, input: &[f32], cols: &mut [f32]) {
    let n = batch * s.ho * s.wo;
    let plane = s.h * s.w;
    if s.stride > 1 {
        return im2col_strided(s, batch, input, cols);
    }
    cols.par_chunks_mut(n).enumerate().for_each(|(r, row)| {
        let (ci, ky, kx) = (r / (s.k * s.k), r / s.k % s.k, r % s.k);
        let (lo, hi) = valid_span(s.wo, s.w, kx, s.pad);
        for b in 0..batch {
            let src = &input[(ci * batch + b) * plane..][..plane];
            let dst = &mut row[b * s.ho * s.wo..][..s.ho * s.wo];
            for oy in 0..s.ho {
                let out = &mut dst[oy * s.wo..][..s.wo];
                let y = (oy + ky) as isize - s.pad as isize;
                if y < 0 || y >= s.h as isize || lo == hi {
                    out.fill(0.0);
                    continue;
                }
                let line = &src[y as usize * s.w..][..s.w];
                out[..lo].fill(0.0);
                out[hi..].fill(0.0);
                let x0 = lo + kx - s.pad;
                // A plain loop: rows are a few dozen values, too short for memcpy's call.
                for (o, &v) in out[lo..hi].iter_mut().zip(&line[x0..x0 + (hi - lo)]) {
                    *o = v;
                }
            }
        }
    });
}

/// The input position of output `o` at kernel tap `t`, if inside `[0, len)`.
fn tap_source(o: usize, t: usize, s: &ConvShape, len: usize) -> Option<usize> {
    (o * s.stride + t).checked_sub(s.pad).filter(|&i| i < len)
}

/// [`im2col`] for strides above 1, value by value: strided convolutions are an
/// exercise variant, not the chapter's hot path.
fn im2col_strided(s: &ConvShape, batch: usize, input: &[f32], cols: &mut [f32]) {
    let n = batch * s.ho * s.wo;
    let plane = s.h * s.w;
    cols.par_chunks_mut(n).enumerate().for_each(|(r, row)| {
        let (ci, ky, kx) = (r / (s.k * s.k), r / s.k % s.k, r % s.k);
        for b in 0..batch {
            let src = &input[(ci * batch + b) * plane..][..plane];
            let dst = &mut row[b * s.ho * s.wo..][..s.ho * s.wo];
            for oy in 0..s.ho {
                let y = tap_source(oy, ky, s, s.h);
                for ox in 0..s.wo {
                    dst[oy * s.wo + ox] = match (y, tap_source(ox, kx, s, s.w)) {
                        (Some(y), Some(x)) => src[y * s.w + x],
                        _ => 0.0,
                    };
                }
            }
        }
    });
}

/// The adjoint of [`im2col`]: column gradients summed back onto the input layout.
/// One task per input plane, which stays in L1 while all its taps are added.
fn col2im(s: &ConvShape, batch: usize, d_cols: &[f32], d_input: &mut [f32]) {
    let n = batch * s.ho * s.wo;
    let plane = s.h * s.w;
    let out_plane = s.ho * s.wo;
    if s.stride > 1 {
        return col2im_strided(s, batch, d_cols, d_input);
    }
    d_input
        .par_chunks_mut(plane)
        .with_min_len(16)
        .enumerate()
        .for_each(|(index, dst)| {
            let (ci, b) = (index / batch, index % batch);
            dst.fill(0.0);
            for ky in 0..s.k {
                for kx in 0..s.k {
                    let (lo, hi) = valid_span(s.wo, s.w, kx, s.pad);
                    if lo == hi {
                        continue;
                    }
                    let x0 = lo + kx - s.pad;
                    let tap = ci * s.k * s.k + ky * s.k + kx;
                    let src = &d_cols[tap * n + b * out_plane..][..out_plane];
                    for oy in 0..s.ho {
                        let y = (oy + ky) as isize - s.pad as isize;
                        if y < 0 || y >= s.h as isize {
                            continue;
                        }
                        let line = &mut dst[y as usize * s.w..][x0..x0 + (hi - lo)];
                        let from = &src[oy * s.wo..][lo..hi];
                        for (d, &g) in line.iter_mut().zip(from) {
                            *d += g;
                        }
                    }
                }
            }
        });
}

/// [`col2im`] for strides above 1, value by value.
fn col2im_strided(s: &ConvShape, batch: usize, d_cols: &[f32], d_input: &mut [f32]) {
    let n = batch * s.ho * s.wo;
    let out_plane = s.ho * s.wo;
    d_input
        .par_chunks_mut(s.h * s.w)
        .enumerate()
        .for_each(|(index, dst)| {
            let (ci, b) = (index / batch, index % batch);
            dst.fill(0.0);
            for ky in 0..s.k {
                for kx in 0..s.k {
                    let tap = ci * s.k * s.k + ky * s.k + kx;
                    let src = &d_cols[tap * n + b * out_plane..][..out_plane];
                    for oy in 0..s.ho {
                        let Some(y) = tap_source(oy, ky, s, s.h) else {
                            continue;
                        };
                        for ox in 0..s.wo {
                            if let Some(x) = tap_source(ox, kx, s, s.w) {
                                dst[y * s.w + x] += src[oy * s.wo + ox];
                            }
                        }
                    }
                }
            }
        });
}

/// q×q, stride-q pooling of `[cout][batch][ho][wo]` for any window but 2, value by
/// value; ragged edges are dropped. `winner` holds the offset of each window's maximum.
fn pool_forward_any(
    s: &ConvShape,
    batch: usize,
    act: &[f32],
    pooled: &mut [f32],
    winner: &mut [u8],
    pooling: Pooling,
) {
    let (inp, outp, q) = (s.ho * s.wo, s.ph * s.pw, s.q);
    let scale = 1.0 / (q * q) as f32;
    pooled[..s.cout * batch * outp]
        .par_chunks_mut(outp)
        .zip(winner.par_chunks_mut(outp))
        .enumerate()
        .for_each(|(plane, (out, win))| {
            let src = &act[plane * inp..][..inp];
            for py in 0..s.ph {
                for px in 0..s.pw {
                    let at = |j: usize| src[(py * q + j / q) * s.wo + px * q + j % q];
                    let (value, best) = match pooling {
                        Pooling::Avg => ((0..q * q).map(at).sum::<f32>() * scale, 0),
                        Pooling::Max => {
                            let best = (1..q * q).fold(0, |b, j| if at(j) > at(b) { j } else { b });
                            (at(best), best)
                        }
                    };
                    out[py * s.pw + px] = value;
                    win[py * s.pw + px] = best as u8;
                }
            }
        });
}

/// The gradient of [`pool_forward_any`].
fn pool_backward_any(
    s: &ConvShape,
    batch: usize,
    d_pooled: &[f32],
    winner: &[u8],
    d_act: &mut [f32],
    pooling: Pooling,
) {
    let (inp, outp, q) = (s.ho * s.wo, s.ph * s.pw, s.q);
    let scale = 1.0 / (q * q) as f32;
    d_act[..s.cout * batch * inp]
        .par_chunks_mut(inp)
        .enumerate()
        .for_each(|(plane, dst)| {
            let d = &d_pooled[plane * outp..][..outp];
            let win = &winner[plane * outp..][..outp];
            dst.fill(0.0);
            for py in 0..s.ph {
                for px in 0..s.pw {
                    let g = d[py * s.pw + px];
                    let at = |j: usize| (py * q + j / q) * s.wo + px * q + j % q;
                    match pooling {
                        Pooling::Avg => (0..q * q).for_each(|j| dst[at(j)] = g * scale),
                        Pooling::Max => dst[at(usize::from(win[py * s.pw + px]))] = g,
                    }
                }
            }
        });
}

/// 2×2, stride-2 pooling of `[cout][batch][ho][wo]`; odd edges are dropped.
fn pool_forward(
    s: &ConvShape,
    batch: usize,
    act: &[f32],
    pooled: &mut [f32],
    winner: &mut [u8],
    pooling: Pooling,
) {
    if s.q != 2 {
        return pool_forward_any(s, batch, act, pooled, winner, pooling);
    }
    let (inp, outp) = (s.ho * s.wo, s.ph * s.pw);
    debug_assert!(pooled.len() >= s.cout * batch * outp);
    pooled
        .par_chunks_mut(outp)
        .zip(winner.par_chunks_mut(outp))
        .with_min_len(64)
        .enumerate()
        .for_each(|(plane, (out, win))| {
            let src = &act[plane * inp..][..inp];
            for py in 0..s.ph {
                let top = &src[2 * py * s.wo..][..2 * s.pw];
                let bottom = &src[(2 * py + 1) * s.wo..][..2 * s.pw];
                let out = &mut out[py * s.pw..][..s.pw];
                let win = &mut win[py * s.pw..][..s.pw];
                // One loop per kind, so neither tests the kind per value.
                match pooling {
                    Pooling::Avg => {
                        for (px, o) in out.iter_mut().enumerate() {
                            let (a, b) = (&top[2 * px..2 * px + 2], &bottom[2 * px..2 * px + 2]);
                            *o = (a[0] + a[1] + b[0] + b[1]) * 0.25;
                        }
                    }
                    Pooling::Max => max_pool_row(top, bottom, out, win),
                }
            }
        });
}

/// One row of 2×2 max pooling: the maxima of the `top`/`bottom` pairs and which of
/// the four won (0, 1 above; 2, 3 below), the first maximum on ties as PyTorch.
/// Branch-free selects, so the loop vectorises.
fn max_pool_row(top: &[f32], bottom: &[f32], out: &mut [f32], win: &mut [u8]) {
    with_avx2!(max_pool_row_avx2, max_pool_row_portable(top: &[f32], bottom: &[f32], out: &mut [f32], win: &mut [u8]));
}

#[inline(always)]
fn max_pool_row_portable(top: &[f32], bottom: &[f32], out: &mut [f32], win: &mut [u8]) {
    let (top, bottom) = (&top[..2 * out.len()], &bottom[..2 * out.len()]);
    let win = &mut win[..out.len()];
    for (px, (o, w)) in out.iter_mut().zip(win.iter_mut()).enumerate() {
        let (a, b) = (top[2 * px], top[2 * px + 1]);
        let (c, d) = (bottom[2 * px], bottom[2 * px + 1]);
        let (upper, wu) = if b > a { (b, 1) } else { (a, 0) };
        let (lower, wl) = if d > c { (d, 3) } else { (c, 2) };
        (*o, *w) = if lower > upper {
            (lower, wl)
        } else {
            (upper, wu)
        };
    }
}

/// The gradient of [`max_pool_row`]: each value of `d` to the input that won, zero
/// to the other three; every input is written, so nothing needs clearing first.
fn max_unpool_row(d: &[f32], win: &[u8], top: &mut [f32], bottom: &mut [f32]) {
    with_avx2!(max_unpool_row_avx2, max_unpool_row_portable(d: &[f32], win: &[u8], top: &mut [f32], bottom: &mut [f32]));
}

#[inline(always)]
fn max_unpool_row_portable(d: &[f32], win: &[u8], top: &mut [f32], bottom: &mut [f32]) {
    let n = d.len();
    let (win, top, bottom) = (&win[..n], &mut top[..2 * n], &mut bottom[..2 * n]);
    for (px, (&g, &w)) in d.iter().zip(win).enumerate() {
        let pick = |k: u8| if w == k { g } else { 0.0 };
        top[2 * px] = pick(0);
        top[2 * px + 1] = pick(1);
        bottom[2 * px] = pick(2);
        bottom[2 * px + 1] = pick(3);
    }
}

/// The gradient of [`pool_forward`]: `d_pooled` spread back onto `d_act`.
fn pool_backward(
    s: &ConvShape,
    batch: usize,
    d_pooled: &[f32],
    winner: &[u8],
    d_act: &mut [f32],
    pooling: Pooling,
) {
    if s.q != 2 {
        return pool_backward_any(s, batch, d_pooled, winner, d_act, pooling);
    }
    let (inp, outp) = (s.ho * s.wo, s.ph * s.pw);
    debug_assert!(d_act.len() >= s.cout * batch * inp);
    d_act
        .par_chunks_mut(inp)
        .with_min_len(64)
        .enumerate()
        .for_each(|(plane, dst)| {
            let d = &d_pooled[plane * outp..][..outp];
            let win = &winner[plane * outp..][..outp];
            if s.ho % 2 == 1 || s.wo % 2 == 1 {
                // Dropped edges get no gradient (every other value is written below).
                dst.fill(0.0);
            }
            for py in 0..s.ph {
                let d = &d[py * s.pw..][..s.pw];
                let win = &win[py * s.pw..][..s.pw];
                let (top, bottom) = dst[2 * py * s.wo..].split_at_mut(s.wo);
                let (top, bottom) = (&mut top[..2 * s.pw], &mut bottom[..2 * s.pw]);
                match pooling {
                    Pooling::Avg => {
                        for (px, &g) in d.iter().enumerate() {
                            let g = g * 0.25;
                            top[2 * px] = g;
                            top[2 * px + 1] = g;
                            bottom[2 * px] = g;
                            bottom[2 * px + 1] = g;
                        }
                    }
                    Pooling::Max => max_unpool_row(d, win, top, bottom),
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConvBlock, LeNet};
    use candle_core::{DType, Device, Tensor};
    use rand::SeedableRng;
    use std::collections::HashMap;

    fn small_arch() -> Architecture {
        Architecture {
            input: [1, 12, 12],
            convs: vec![ConvBlock::new(3, 3, 1), ConvBlock::new(4, 3, 0)],
            dense: vec![7],
            classes: 5,
            init: crate::model::Init::XavierUniform,
        }
    }

    /// Strides, pooling windows of 3 and 1, three blocks, no hidden dense layer: the
    /// general (non-2×2, strided) kernels.
    fn odd_arch() -> Architecture {
        let block = |c, k, p, stride, pool| ConvBlock {
            out_channels: c,
            kernel: k,
            padding: p,
            stride,
            pool,
        };
        Architecture {
            input: [1, 15, 15],
            convs: vec![
                block(3, 3, 1, 2, 1),
                block(4, 3, 1, 1, 3),
                block(2, 2, 0, 1, 1),
            ],
            dense: vec![],
            classes: 4,
            init: crate::model::Init::XavierUniform,
        }
    }

    /// The model's parameters in [`CpuStep`] order.
    fn params_of(model: &LeNet, step: &CpuStep) -> Vec<Vec<f32>> {
        let map: HashMap<String, Tensor> = model.parameters().into_iter().collect();
        step.parameter_names()
            .iter()
            .map(|n| map[n].flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .collect()
    }

    fn batch(n: usize, side: usize, classes: u32) -> (Vec<f32>, Vec<u32>) {
        let images = (0..n * side * side)
            .map(|i| ((i * 7919) % 256) as f32 / 255.0)
            .collect();
        let labels = (0..n as u32).map(|i| (i * 3) % classes).collect();
        (images, labels)
    }

    /// Candle's loss and gradients for the same model and batch.
    fn candle_reference(
        model: &LeNet,
        images: &[f32],
        labels: &[u32],
        side: usize,
    ) -> (f64, HashMap<String, Vec<f32>>) {
        let n = labels.len();
        let x = Tensor::from_slice(images, (n, 1, side, side), &Device::Cpu).unwrap();
        let y = Tensor::from_slice(labels, n, &Device::Cpu).unwrap();
        let logits = model.forward(&x).unwrap();
        let loss = candle_nn::loss::cross_entropy(&logits, &y).unwrap();
        let grads = loss.backward().unwrap();
        let out = model
            .parameters()
            .into_iter()
            .map(|(name, t)| {
                let g = grads.get(&t).unwrap().flatten_all().unwrap();
                (
                    name,
                    g.to_dtype(DType::F32).unwrap().to_vec1::<f32>().unwrap(),
                )
            })
            .collect();
        (f64::from(loss.to_scalar::<f32>().unwrap()), out)
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-3 * scale + 1e-6,
                "{what}[{i}]: {x} vs Candle's {y}"
            );
        }
    }

    #[test]
    fn gradients_match_candles_autograd_for_every_variant() {
        // Rows narrower than the eight lanes of the direct convolution.
        let narrow = Architecture {
            input: [1, 7, 7],
            convs: vec![ConvBlock::new(3, 3, 1), ConvBlock::new(4, 2, 0)],
            ..small_arch()
        };
        for arch in [small_arch(), odd_arch(), narrow, Architecture::default()] {
            let side = arch.input[1];
            for (pooling, act) in [
                (Pooling::Avg, Activation::Sigmoid),
                (Pooling::Max, Activation::Relu),
                (Pooling::Max, Activation::Sigmoid),
            ] {
                let mut rng = rand::rngs::StdRng::seed_from_u64(3);
                let model = LeNet::new(&arch, pooling, act, &Device::Cpu, &mut rng).unwrap();
                let mut step = CpuStep::new(&arch);
                let params = params_of(&model, &step);
                let (images, labels) = batch(6, side, arch.classes as u32);
                let figures = step.gradients(&params, &images, &labels, pooling, act);
                let (loss, reference) = candle_reference(&model, &images, &labels, side);
                assert!(
                    (figures.loss - loss).abs() < 1e-4,
                    "loss {} vs {loss}",
                    figures.loss
                );
                for (name, g) in step
                    .parameter_names()
                    .iter()
                    .zip(step.parameter_gradients())
                {
                    close(g, &reference[name], &format!("{name} ({pooling}/{act})"));
                }
            }
        }
    }

    #[test]
    fn fast_exp_is_accurate_and_sigmoid_saturates() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.04;
            let (fast, exact) = (fast_exp(x), x.exp());
            assert!(
                (fast - exact).abs() <= 4e-7 * exact,
                "e^{x}: {fast} vs {exact}"
            );
        }
        assert!(sigmoid(-200.0) < 1e-30);
        assert_eq!(sigmoid(200.0), 1.0);
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (arch, pooling) in [(small_arch(), Pooling::Avg), (odd_arch(), Pooling::Avg)] {
            let act = Activation::Sigmoid;
            let side = arch.input[1];
            let mut rng = rand::rngs::StdRng::seed_from_u64(5);
            let model = LeNet::new(&arch, pooling, act, &Device::Cpu, &mut rng).unwrap();
            let mut step = CpuStep::new(&arch);
            let mut params = params_of(&model, &step);
            let (images, labels) = batch(4, side, arch.classes as u32);
            step.gradients(&params, &images, &labels, pooling, act);
            let analytic = step.parameter_gradients().to_vec();
            let eps = 1e-2f32;
            for (p, grads) in analytic.iter().enumerate() {
                for i in [0, grads.len() / 2, grads.len() - 1] {
                    let original = params[p][i];
                    params[p][i] = original + eps;
                    let up = step.gradients(&params, &images, &labels, pooling, act).loss;
                    params[p][i] = original - eps;
                    let down = step.gradients(&params, &images, &labels, pooling, act).loss;
                    params[p][i] = original;
                    let numeric = (up - down) / (2.0 * f64::from(eps));
                    let g = f64::from(grads[i]);
                    assert!(
                        (numeric - g).abs() <= 2e-3 + 0.05 * g.abs(),
                        "parameter {p}[{i}]: finite difference {numeric} vs {g}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_step_lowers_the_loss_and_batch_sizes_can_change() {
        let arch = Architecture::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let model = LeNet::new(
            &arch,
            Pooling::Max,
            Activation::Relu,
            &Device::Cpu,
            &mut rng,
        )
        .unwrap();
        let mut step = CpuStep::new(&arch);
        let mut params = params_of(&model, &step);
        let mut train = |images: &[f32], labels: &[u32]| {
            step.train(
                &mut params,
                images,
                labels,
                Pooling::Max,
                Activation::Relu,
                0.3,
            )
        };
        let (images, labels) = batch(8, 28, 10);
        let first = train(&images, &labels);
        let mut last = first;
        for _ in 0..30 {
            last = train(&images, &labels);
        }
        assert!(
            last.loss < first.loss * 0.85 && last.correct > first.correct,
            "{first:?} → {last:?}"
        );
        let (images, labels) = batch(3, 28, 10);
        let f = train(&images, &labels);
        assert!(f.loss.is_finite() && f.correct <= 3);
    }
}
