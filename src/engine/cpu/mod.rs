//! LeNet's training step on the CPU, without Candle's graph.
//!
//! Candle's CPU convolutions run their backward passes at a few GFLOP/s and its
//! autograd adds a zero tensor and an add for every node; a LeNet step spends most of
//! its time there. This module does the same arithmetic as [`crate::model::LeNet::forward`]
//! plus backprop and an SGD update, with no gradient for the input image and every
//! buffer kept from one batch to the next. The weights stay in the model's `Var`s:
//! the trainer copies them in and out around each step (250 KB), so everything else
//! (evaluation, probes, checkpoints) sees them as usual. Tests check the gradients
//! against Candle's autograd and finite differences.
//!
//! A step is one parallel section: the batch is cut into chunks of
//! [`worker::CHUNK_IMAGES`], and each task takes its chunk through the whole network,
//! forward, loss and backward, with its own buffers and its own parameter gradients,
//! which are summed once at the end. So the threads meet once per step rather than
//! once per operation, and a chunk's activations stay in its core's L2 cache between
//! one layer and the next. Within a chunk, stride-1 convolutions run on the direct
//! kernels of [`direct`] (forward, weight gradient, and the input gradient as a
//! correlation with the flipped kernels); others as im2col and a matrix product on
//! `gemm`; dense layers on `gemm`; activation and pooling in plain loops.
//!
//! Activations are laid out `[channels][images][rows][cols]` within a chunk.
//!
//! Files, each importing only those below it: [`shape`] is a conv block's sizes;
//! the layer kernels ([`direct`], [`im2col`], [`matmul`], [`pool`], [`elementwise`])
//! read it; [`worker`] takes one chunk through the network on those kernels; and
//! [`step`] drives a batch: it hands out the chunks and sums the workers' results.

/// Runs `$portable(args…)` compiled for AVX2 and FMA when the CPU has them (twice the
/// lanes of baseline x86-64's SSE2), else as it is.
macro_rules! with_avx2 {
    ($fast:ident, $portable:ident($($arg:ident: $ty:ty),*)) => {
        with_avx2!($fast, $portable($($arg: $ty),*) -> ())
    };
    ($fast:ident, $portable:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $fast($($arg: $ty),*) -> $ret {
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

mod direct;
mod elementwise;
mod im2col;
mod matmul;
mod pool;
mod shape;
mod step;
mod worker;

pub use step::{BatchFigures, CpuStep};

use std::sync::Arc;

use super::diagnostics::Measure;
use super::{EVAL_BATCH, Engine, Evaluation, StepOutcome};
use crate::data::{Dataset, Split, pixel_to_f32};
use crate::model::{LeNet, ModelError};

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
/// Values in one AVX register: the width of the direct kernels' column blocks.
pub(crate) const LANES: usize = 8;

/// The CPU kernels as an [`Engine`], with the host copies of a batch and of the
/// parameters: the weights stay in the model's `Var`s and are copied in and out
/// around each step (250 KB for LeNet), so everything else sees them as usual.
pub struct CpuEngine {
    dataset: Arc<Dataset>,
    step: CpuStep,
    params: Vec<Vec<f32>>,
    images: Vec<f32>,
    labels: Vec<u32>,
}

impl CpuEngine {
    /// An engine for `model`'s architecture on `dataset`.
    pub fn new(model: &LeNet, dataset: Arc<Dataset>) -> Self {
        Self {
            dataset,
            step: CpuStep::new(model.architecture()),
            params: Vec::new(),
            images: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Takes the training examples `ids` and the model's current parameters.
    fn load(&mut self, model: &LeNet, ids: &[u32]) -> Result<(), ModelError> {
        gather(&self.dataset.train, ids, &mut self.images, &mut self.labels);
        model.read_parameters(self.step.parameter_names(), &mut self.params)
    }
}

impl Engine for CpuEngine {
    fn step(
        &mut self,
        model: &LeNet,
        learning_rate: f64,
        ids: &[u32],
        measure: Measure,
        accept: &mut dyn FnMut(f64) -> bool,
    ) -> Result<StepOutcome, ModelError> {
        self.load(model, ids)?;
        let (params, images, labels) = (&self.params, &self.images, &self.labels);
        let (pooling, activation) = (model.pooling, model.activation);
        let BatchFigures { loss, correct } =
            self.step
                .gradients(params, images, labels, (pooling, activation), measure);
        let layers = match measure {
            Measure::Nothing => Vec::new(),
            Measure::Layers => self.step.layer_stats(&self.params, learning_rate),
        };
        if accept(loss) {
            self.step.apply(&mut self.params, learning_rate as f32);
            model.write_parameters(self.step.parameter_names(), &self.params)?;
        }
        Ok(StepOutcome {
            loss,
            correct: Some(correct as u64),
            examples: ids.len(),
            layers,
        })
    }

    fn settle(&mut self) -> Result<u64, ModelError> {
        Ok(0)
    }

    fn forward_only(&mut self, model: &LeNet, ids: &[u32]) -> Result<(f64, u64), ModelError> {
        self.load(model, ids)?;
        let f = self.step.loss(
            &self.params,
            &self.images,
            &self.labels,
            model.pooling,
            model.activation,
        );
        Ok((f.loss, f.correct as u64))
    }

    /// In batches of the training batch size (the step's buffers are reused), or of
    /// [`EVAL_BATCH`] before a training step has sized them.
    fn evaluate(&mut self, model: &LeNet) -> Result<Evaluation, ModelError> {
        let chunk = match self.step.batch_size() {
            0 => EVAL_BATCH,
            n => n,
        };
        let all: Vec<u32> = (0..self.dataset.test.len() as u32).collect();
        let test = &self.dataset.test;
        let mut evaluation = Evaluation::new(model.architecture().classes, test.len());
        // The weights do not change during an evaluation: read them once.
        model.read_parameters(self.step.parameter_names(), &mut self.params)?;
        for ids in all.chunks(chunk) {
            gather(&self.dataset.test, ids, &mut self.images, &mut self.labels);
            self.step.loss(
                &self.params,
                &self.images,
                &self.labels,
                model.pooling,
                model.activation,
            );
            evaluation.record_logits(ids, self.step.logits(), test);
        }
        Ok(evaluation)
    }

    fn dataset(&self) -> &Dataset {
        &self.dataset
    }
}

/// The images `ids` as values in [0, 1], and their labels.
fn gather(split: &Split, ids: &[u32], images: &mut Vec<f32>, labels: &mut Vec<u32>) {
    images.clear();
    labels.clear();
    for &i in ids {
        let i = i as usize;
        images.extend(split.image_bytes(i).iter().map(|&p| pixel_to_f32(p)));
        labels.push(u32::from(split.labels[i]));
    }
    debug_assert_eq!(images.len(), ids.len() * split.image_len());
}
