//! Training steps, evaluation and probes, on whichever path suits the device: on the
//! CPU the graph-free kernels of [`cpu`], elsewhere Candle's ops and autograd
//! ([`candle`]). Both are an [`Engine`]; the trainer and `lenet-tui bench` take every
//! step through one. The parameters live in the model's `Var`s, so evaluation, probes
//! and checkpoints always see the current weights whichever engine updates them.

pub mod candle;
pub mod confusion;
pub mod cpu;
pub mod diagnostics;

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};

use crate::data::own::ProbeImage;
use crate::data::{Dataset, Split};
use crate::model::{LeNet, ModelError, Probe};
pub use confusion::{Answer, Confusion, ConfusionMatrix, Evaluation};
pub use diagnostics::{LayerStats, Measure};

/// Test examples per evaluation batch where no training batch size decides it: large
/// enough to keep a GPU busy, small enough that a batch's activations stay around
/// 20 MB.
const EVAL_BATCH: usize = 1000;

/// The figures of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// Mean cross-entropy over the batch.
    pub loss: f64,
    /// Correct predictions, when counted on the host; on a GPU they add up on the
    /// device until [`Engine::settle`].
    pub correct: Option<u64>,
    /// Examples in the batch.
    pub examples: usize,
    /// Each weighted layer's gradient and activation figures, when the step was
    /// asked to measure them (else empty).
    pub layers: Vec<LayerStats>,
}

/// What trains, evaluates and probes a model on one data set.
pub trait Engine: Send {
    /// Forward and backward on the training examples `ids`; the weights are updated
    /// (plain SGD at `learning_rate`) only if `accept` takes the loss. With
    /// [`Measure::Layers`] the same pass also measures each layer.
    fn step(
        &mut self,
        model: &LeNet,
        learning_rate: f64,
        ids: &[u32],
        measure: Measure,
        accept: &mut dyn FnMut(f64) -> bool,
    ) -> Result<StepOutcome, ModelError>;

    /// Correct predictions of the steps since the last call that are still on the
    /// device (none on the CPU): one read-back, at progress reports and saves.
    fn settle(&mut self) -> Result<u64, ModelError>;

    /// The forward pass alone on the training examples `ids`: mean loss and correct
    /// predictions.
    fn forward_only(&mut self, model: &LeNet, ids: &[u32]) -> Result<(f64, u64), ModelError>;

    /// The test set's confusion matrix (its diagonal is the accuracy) and each
    /// image's answer.
    fn evaluate(&mut self, model: &LeNet) -> Result<Evaluation, ModelError>;

    /// What the model makes of `images`: activations and probabilities, one
    /// [`Probe`] each.
    fn probe(&mut self, model: &LeNet, images: &[ProbeImage]) -> Result<Vec<Probe>, ModelError> {
        probe_images(model, &self.dataset().test, images)
    }

    /// The data this engine trains and evaluates on.
    fn dataset(&self) -> &Dataset;
}

/// The engine for `model`'s device: the CPU kernels on the CPU, Candle elsewhere.
pub fn open(model: &LeNet, dataset: Arc<Dataset>) -> Result<Box<dyn Engine>, ModelError> {
    Ok(match model.device() {
        Device::Cpu => Box::new(cpu::CpuEngine::new(model, dataset)),
        _ => Box::new(candle::CandleEngine::new(model, dataset)?),
    })
}

/// Probes for a few images (of `test`'s size) through Candle's forward pass, on the
/// model's device.
pub fn probe_images(
    model: &LeNet,
    test: &Split,
    images: &[ProbeImage],
) -> Result<Vec<Probe>, ModelError> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let bytes: Vec<u8> = images
        .iter()
        .flat_map(|image| image.pixels(test).iter().copied())
        .collect();
    probe_pixels(model, bytes, (test.rows, test.cols))
}

/// Probes for images given as pixel bytes, `rows × cols` each, one after another.
pub fn probe_pixels(
    model: &LeNet,
    bytes: Vec<u8>,
    (rows, cols): (usize, usize),
) -> Result<Vec<Probe>, ModelError> {
    let n = bytes.len() / (rows * cols).max(1);
    if n == 0 {
        return Ok(Vec::new());
    }
    let x = images_in_unit_range(
        Tensor::from_vec(bytes, (n, rows * cols), model.device())?,
        rows,
        cols,
    )?;
    model.probe(&x)
}

/// Pixel bytes `[n, rows·cols]` as images `[n, 1, rows, cols]` in [0, 1].
fn images_in_unit_range(pixels: Tensor, rows: usize, cols: usize) -> candle_core::Result<Tensor> {
    let n = pixels.dim(0)?;
    pixels
        .to_dtype(DType::F32)?
        .affine(1.0 / 255.0, 0.0)?
        .reshape((n, 1, rows, cols))
}

/// The index of the largest value, ordered as the CPU kernels order it when they
/// count correct predictions, so the matrix's diagonal is exactly their count.
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}
