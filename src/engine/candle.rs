//! Candle's ops and autograd: the path CUDA runs. The data is uploaded once; correct
//! predictions add up on the device, so a step reads back only its loss (which the
//! divergence check needs before the update).

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, SGD};

use super::diagnostics::{LayerStats, Measure, WeightFigures, layer_names, stats_of_outputs};
use super::{EVAL_BATCH, Engine, Evaluation, StepOutcome, images_in_unit_range};
use crate::data::{Dataset, Split};
use crate::model::{LeNet, ModelError};

/// A split uploaded to the device once: pixels stay bytes until a batch is taken.
pub struct DeviceSplit {
    pixels: Tensor,
    labels: Tensor,
    rows: usize,
    cols: usize,
}

impl DeviceSplit {
    /// Uploads `split` to `device`.
    pub fn upload(split: &Split, device: &Device) -> candle_core::Result<Self> {
        Ok(Self {
            pixels: Tensor::from_slice(&split.pixels, (split.len(), split.image_len()), device)?,
            labels: Tensor::from_vec(
                split
                    .labels
                    .iter()
                    .map(|&l| u32::from(l))
                    .collect::<Vec<_>>(),
                split.len(),
                device,
            )?
            .to_dtype(DType::U32)?,
            rows: split.rows,
            cols: split.cols,
        })
    }

    /// Images `[n, 1, rows, cols]` in [0, 1] and labels `[n]` for the given indices.
    pub fn batch(&self, ids: &[u32]) -> candle_core::Result<(Tensor, Tensor)> {
        let ids = Tensor::from_slice(ids, ids.len(), self.pixels.device())?;
        let x = images_in_unit_range(self.pixels.index_select(&ids, 0)?, self.rows, self.cols)?;
        Ok((x, self.labels.index_select(&ids, 0)?))
    }
}

/// Steps through Candle's graph, with its SGD.
pub struct CandleEngine {
    dataset: Arc<Dataset>,
    train: DeviceSplit,
    test: DeviceSplit,
    /// Plain SGD over the model's `Var`s, which keep their identity when weights are
    /// redrawn or restored (they are set in place), so one optimiser serves a run.
    optimizer: SGD,
    /// Correct predictions since the last [`Engine::settle`], on the device.
    correct: Option<Tensor>,
}

impl CandleEngine {
    /// Uploads `dataset` to `model`'s device.
    pub fn new(model: &LeNet, dataset: Arc<Dataset>) -> Result<Self, ModelError> {
        let device = model.device();
        Ok(Self {
            train: DeviceSplit::upload(&dataset.train, device)?,
            test: DeviceSplit::upload(&dataset.test, device)?,
            optimizer: SGD::new(model.varmap().all_vars(), 0.0)?,
            dataset,
            correct: None,
        })
    }
}

impl Engine for CandleEngine {
    fn step(
        &mut self,
        model: &LeNet,
        learning_rate: f64,
        ids: &[u32],
        measure: Measure,
        accept: &mut dyn FnMut(f64) -> bool,
    ) -> Result<StepOutcome, ModelError> {
        let (x, y) = self.train.batch(ids)?;
        let (logits, outputs) = match measure {
            Measure::Nothing => (model.forward(&x)?, Vec::new()),
            Measure::Layers => model.forward_with_outputs(&x)?,
        };
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        let loss_value = f64::from(loss.to_scalar::<f32>()?);
        let mut layers = Vec::new();
        if accept(loss_value) {
            let grads = loss.backward()?;
            if measure == Measure::Layers {
                layers = layer_stats(model, &outputs, &grads, learning_rate)?;
            }
            self.optimizer.set_learning_rate(learning_rate);
            self.optimizer.step(&grads)?;
            let correct = logits
                .detach()
                .argmax(1)?
                .eq(&y)?
                .to_dtype(DType::U32)?
                .sum_all()?;
            self.correct = Some(match self.correct.take() {
                Some(sum) => (sum + correct)?,
                None => correct,
            });
        }
        Ok(StepOutcome {
            loss: loss_value,
            correct: None,
            examples: y.dims1()?,
            layers,
        })
    }

    fn settle(&mut self) -> Result<u64, ModelError> {
        match self.correct.take() {
            Some(t) => Ok(u64::from(t.to_scalar::<u32>()?)),
            None => Ok(0),
        }
    }

    fn forward_only(&mut self, model: &LeNet, ids: &[u32]) -> Result<(f64, u64), ModelError> {
        let (x, y) = self.train.batch(ids)?;
        let logits = model.forward_eval(&x)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        let correct = logits
            .argmax(1)?
            .eq(&y)?
            .to_dtype(DType::U32)?
            .sum_all()?
            .to_scalar::<u32>()?;
        Ok((f64::from(loss.to_scalar::<f32>()?), u64::from(correct)))
    }

    fn evaluate(&mut self, model: &LeNet) -> Result<Evaluation, ModelError> {
        let test = &self.dataset.test;
        let all: Vec<u32> = (0..test.len() as u32).collect();
        let mut evaluation = Evaluation::new(model.architecture().classes, test.len());
        for ids in all.chunks(EVAL_BATCH) {
            let (x, _) = self.test.batch(ids)?;
            // The logits come back whole (40 bytes an image, once an epoch): the
            // answers and the matrix are worked out on the host as the CPU engine's.
            let logits = model.forward_eval(&x)?.flatten_all()?.to_vec1::<f32>()?;
            evaluation.record_logits(ids, &logits, test);
        }
        Ok(evaluation)
    }

    fn dataset(&self) -> &Dataset {
        &self.dataset
    }
}

/// The layers' figures from a measured forward pass's `outputs` and the backward
/// pass's gradients, read back to the host (a few MB, at progress reports only) and
/// tallied as the CPU kernels tally theirs.
fn layer_stats(
    model: &LeNet,
    outputs: &[Tensor],
    grads: &candle_core::backprop::GradStore,
    learning_rate: f64,
) -> Result<Vec<LayerStats>, ModelError> {
    let images = outputs.first().map_or(Ok(0), |t| t.dim(0))?;
    let host = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
    let weights = model
        .layer_weights()
        .iter()
        .map(|w| {
            let values = host(w)?;
            let grad = match grads.get(w) {
                Some(g) => host(g)?,
                None => vec![0.0; values.len()],
            };
            Ok(WeightFigures::of(&values, &grad, learning_rate))
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    let outputs = outputs
        .iter()
        .map(|t| host(&t.detach()))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let names = layer_names(&model.architecture().parameter_names());
    Ok(stats_of_outputs(
        names,
        &outputs,
        images,
        model.activation,
        &weights,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::own::ProbeImage;
    use crate::engine::cpu::CpuEngine;
    use crate::model::{Activation, Architecture, Pooling};
    use rand::SeedableRng;

    fn model(seed: u64) -> LeNet {
        let mut rng = crate::rng::SeededRng::seed_from_u64(seed);
        LeNet::new(
            &Architecture::default(),
            Pooling::Max,
            Activation::Relu,
            &Device::Cpu,
            &mut rng,
        )
        .unwrap()
    }

    /// The Candle path (what CUDA runs), tried on the CPU: the same losses as the CPU
    /// kernels, and the correct predictions it keeps on the device add up to theirs.
    #[test]
    fn candle_steps_tally_on_the_device_and_agree_with_the_cpu_kernels() {
        let data = Arc::new(Dataset::embedded());
        let (cpu_model, candle_model) = (model(7), model(7));
        let mut cpu = CpuEngine::new(&cpu_model, data.clone());
        let mut candle = CandleEngine::new(&candle_model, data).unwrap();
        let (mut cpu_correct, mut steps) = (0, 0);
        for batch in 0..4u32 {
            let ids: Vec<u32> = (batch * 64..(batch + 1) * 64).collect();
            let a = cpu
                .step(&cpu_model, 0.1, &ids, Measure::Nothing, &mut |_| true)
                .unwrap();
            // The last batch is refused, as a diverging one: it must not count.
            let accept = batch < 3;
            let b = candle
                .step(&candle_model, 0.1, &ids, Measure::Nothing, &mut |_| accept)
                .unwrap();
            assert!((a.loss - b.loss).abs() < 1e-3, "{} vs {}", a.loss, b.loss);
            assert_eq!(b.correct, None, "counted on the device");
            if accept {
                cpu_correct += a.correct.unwrap();
                steps += 1;
            }
        }
        assert_eq!(steps, 3);
        let settled = candle.settle().unwrap();
        assert!(
            settled.abs_diff(cpu_correct) <= 2,
            "{settled} vs {cpu_correct} on the CPU"
        );
        assert!(settled > 0);
        assert_eq!(candle.settle().unwrap(), 0, "settling empties the tally");
        assert_eq!(cpu.settle().unwrap(), 0);
    }

    #[test]
    fn both_engines_count_the_same_predictions() {
        // The trainer evaluates with Candle only on CUDA; on the CPU the same model
        // through both paths must give (all but float ties) the same matrix.
        let data = Arc::new(Dataset::embedded());
        let model = model(3);
        let cpu = CpuEngine::new(&model, data.clone())
            .evaluate(&model)
            .unwrap()
            .matrix;
        let candle = CandleEngine::new(&model, data)
            .unwrap()
            .evaluate(&model)
            .unwrap()
            .matrix;
        assert_eq!((cpu.total(), candle.total()), (1000, 1000));
        let moved: u64 = (0..10)
            .flat_map(|t| (0..10).map(move |p| (t, p)))
            .map(|(t, p)| cpu.count(t, p).abs_diff(candle.count(t, p)))
            .sum();
        assert!(moved <= 4, "{moved} counts differ:\n{cpu:?}\n{candle:?}");
    }

    #[test]
    fn both_engines_probe_alike() {
        let data = Arc::new(Dataset::embedded());
        let model = model(5);
        let a = CpuEngine::new(&model, data.clone())
            .probe(&model, &ProbeImage::tests([0, 7]))
            .unwrap();
        let b = CandleEngine::new(&model, data)
            .unwrap()
            .probe(&model, &ProbeImage::tests([0, 7]))
            .unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a, b);
        assert_ne!(a[0], a[1], "two images, two probes");
    }
}
