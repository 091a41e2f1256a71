//! One training step, on whichever path suits the device: on the CPU the graph-free
//! kernels of [`crate::model::cpu`], elsewhere Candle's ops and autograd. The trainer
//! and `lenet-tui bench` both take their steps here.

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, SGD};

use crate::data::{Split, pixel_to_f32};
use crate::model::cpu::{BatchFigures, CpuStep};
use crate::model::{LeNet, ModelError};
use crate::train::confusion::ConfusionMatrix;

/// A split uploaded to the device once: pixels stay bytes until a batch is taken.
pub(crate) struct DeviceSplit {
    pixels: Tensor,
    labels: Tensor,
}

impl DeviceSplit {
    pub(crate) fn upload(split: &Split, device: &Device) -> candle_core::Result<Self> {
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
        })
    }

    /// Images `[n, 1, rows, cols]` in [0, 1] and labels `[n]` for the given indices.
    pub(crate) fn batch(
        &self,
        ids: &Tensor,
        rows: usize,
        cols: usize,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let n = ids.dims1()?;
        let x = self
            .pixels
            .index_select(ids, 0)?
            .to_dtype(DType::F32)?
            .affine(1.0 / 255.0, 0.0)?
            .reshape((n, 1, rows, cols))?;
        Ok((x, self.labels.index_select(ids, 0)?))
    }
}

/// How training steps are taken.
pub(crate) enum StepEngine {
    /// Graph-free CPU kernels; the buffers are reused from batch to batch.
    Cpu(Box<CpuEngine>),
    /// Candle's ops and autograd (CUDA). Correct predictions add up on the device,
    /// so a step reads back only its loss (which the divergence check needs).
    Candle {
        /// Correct predictions since the last [`StepEngine::settle`], on the device.
        correct: Option<Tensor>,
    },
}

/// The CPU kernels with the host copies of a batch and of the parameters.
pub(crate) struct CpuEngine {
    step: CpuStep,
    names: Vec<String>,
    params: Vec<Vec<f32>>,
    images: Vec<f32>,
    labels: Vec<u32>,
}

impl CpuEngine {
    /// Takes the examples `ids` and the model's current parameters.
    fn load(&mut self, model: &LeNet, host: &Split, ids: &[u32]) -> Result<(), ModelError> {
        gather(host, ids, &mut self.images, &mut self.labels);
        model.read_parameters(&self.names, &mut self.params)
    }
}

/// The figures of a step.
pub(crate) struct StepOutcome {
    pub loss: f64,
    /// Correct predictions, when counted on the host; on a GPU they add up on the
    /// device until [`StepEngine::settle`].
    pub correct: Option<u64>,
    pub examples: usize,
}

impl StepEngine {
    /// The CPU kernels for a CPU model, Candle otherwise.
    pub(crate) fn for_model(model: &LeNet) -> Self {
        match model.device() {
            Device::Cpu => {
                let step = CpuStep::new(model.architecture());
                StepEngine::Cpu(Box::new(CpuEngine {
                    names: step.parameter_names(),
                    step,
                    params: Vec::new(),
                    images: Vec::new(),
                    labels: Vec::new(),
                }))
            }
            _ => StepEngine::Candle { correct: None },
        }
    }

    /// Correct predictions of the steps since the last call that are still on the
    /// device (none on the CPU): one read-back, at progress reports and saves.
    pub(crate) fn settle(&mut self) -> Result<u64, ModelError> {
        match self {
            StepEngine::Cpu(_) => Ok(0),
            StepEngine::Candle { correct } => match correct.take() {
                Some(t) => Ok(u64::from(t.to_scalar::<u32>()?)),
                None => Ok(0),
            },
        }
    }

    /// Forward and backward on the examples `ids`; the weights are updated (plain SGD
    /// at `learning_rate`) only if `accept` takes the loss.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step(
        &mut self,
        model: &LeNet,
        optimizer: &mut SGD,
        host: &Split,
        device_split: &DeviceSplit,
        ids: &[u32],
        accept: impl FnOnce(f64) -> bool,
    ) -> Result<StepOutcome, ModelError> {
        match self {
            StepEngine::Cpu(cpu) => {
                cpu.load(model, host, ids)?;
                let CpuEngine {
                    step,
                    names,
                    params,
                    images,
                    labels,
                } = &mut **cpu;
                let BatchFigures { loss, correct } =
                    step.gradients(params, images, labels, model.pooling, model.activation);
                if accept(loss) {
                    step.apply(params, optimizer.learning_rate() as f32);
                    model.write_parameters(names, params)?;
                }
                Ok(StepOutcome {
                    loss,
                    correct: Some(correct as u64),
                    examples: ids.len(),
                })
            }
            StepEngine::Candle { correct: tally } => {
                let device = model.device();
                let ids = Tensor::from_slice(ids, ids.len(), device)?;
                let (x, y) = device_split.batch(&ids, host.rows, host.cols)?;
                let logits = model.forward(&x)?;
                let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
                let loss_value = f64::from(loss.to_scalar::<f32>()?);
                if accept(loss_value) {
                    optimizer.backward_step(&loss)?;
                    let correct = logits
                        .detach()
                        .argmax(1)?
                        .eq(&y)?
                        .to_dtype(DType::U32)?
                        .sum_all()?;
                    *tally = Some(match tally.take() {
                        Some(sum) => (sum + correct)?,
                        None => correct,
                    });
                }
                Ok(StepOutcome {
                    loss: loss_value,
                    correct: None,
                    examples: y.dims1()?,
                })
            }
        }
    }

    /// The forward pass alone on the examples `ids`: mean loss and correct predictions.
    pub(crate) fn forward_only(
        &mut self,
        model: &LeNet,
        host: &Split,
        device_split: &DeviceSplit,
        ids: &[u32],
    ) -> Result<(f64, u64), ModelError> {
        match self {
            StepEngine::Cpu(cpu) => {
                cpu.load(model, host, ids)?;
                let c = &mut **cpu;
                let f = c.step.loss(
                    &c.params,
                    &c.images,
                    &c.labels,
                    model.pooling,
                    model.activation,
                );
                Ok((f.loss, f.correct as u64))
            }
            StepEngine::Candle { .. } => {
                let ids = Tensor::from_slice(ids, ids.len(), model.device())?;
                let (x, y) = device_split.batch(&ids, host.rows, host.cols)?;
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
        }
    }

    /// The predicted class of each example `ids` (the forward pass alone), into
    /// `predicted`.
    fn predict(
        &mut self,
        model: &LeNet,
        host: &Split,
        device_split: &DeviceSplit,
        ids: &[u32],
        predicted: &mut Vec<u32>,
    ) -> Result<(), ModelError> {
        predicted.clear();
        match self {
            StepEngine::Cpu(cpu) => {
                cpu.load(model, host, ids)?;
                let c = &mut **cpu;
                c.step.loss(
                    &c.params,
                    &c.images,
                    &c.labels,
                    model.pooling,
                    model.activation,
                );
                let classes = model.architecture().classes.max(1);
                predicted.extend(c.step.logits().chunks(classes).map(|z| argmax(z) as u32));
            }
            StepEngine::Candle { .. } => {
                let ids = Tensor::from_slice(ids, ids.len(), model.device())?;
                let (x, _) = device_split.batch(&ids, host.rows, host.cols)?;
                let logits = model.forward_eval(&x)?;
                predicted.extend(logits.argmax(1)?.to_vec1::<u32>()?);
            }
        }
        Ok(())
    }

    /// The confusion matrix of a whole split (its diagonal is the accuracy), in
    /// batches: the training batch size on the CPU (its buffers are reused),
    /// [`EVAL_BATCH`] elsewhere.
    pub(crate) fn evaluate(
        &mut self,
        model: &LeNet,
        host: &Split,
        device_split: &DeviceSplit,
    ) -> Result<ConfusionMatrix, ModelError> {
        let chunk = match self {
            StepEngine::Cpu(cpu) if cpu.step.batch_size() > 0 => cpu.step.batch_size(),
            _ => EVAL_BATCH,
        };
        let all: Vec<u32> = (0..host.len() as u32).collect();
        let mut matrix = ConfusionMatrix::new(model.architecture().classes);
        let mut predicted = Vec::with_capacity(chunk);
        for ids in all.chunks(chunk) {
            self.predict(model, host, device_split, ids, &mut predicted)?;
            for (&i, &p) in ids.iter().zip(&predicted) {
                matrix.record(usize::from(host.labels[i as usize]), p as usize);
            }
        }
        Ok(matrix)
    }
}

/// The index of the largest value, ordered as the CPU kernels order it when they
/// count correct predictions, so the matrix's diagonal is exactly their count.
pub(crate) fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// Test examples per evaluation batch on the GPU: large enough to keep it busy, small
/// enough that a batch's activations stay around 20 MB.
const EVAL_BATCH: usize = 1000;

/// The images `ids` as values in [0, 1], and their labels.
fn gather(split: &Split, ids: &[u32], images: &mut Vec<f32>, labels: &mut Vec<u32>) {
    let len = split.image_len();
    images.clear();
    labels.clear();
    for &i in ids {
        let i = i as usize;
        images.extend(split.image_bytes(i).iter().map(|&p| pixel_to_f32(p)));
        labels.push(u32::from(split.labels[i]));
    }
    debug_assert_eq!(images.len(), ids.len() * len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::model::{Activation, Architecture, Pooling};
    use rand::SeedableRng;

    /// The Candle path (what CUDA runs), tried on the CPU: the same losses as the CPU
    /// kernels, and the correct predictions it keeps on the device add up to theirs.
    #[test]
    fn candle_steps_tally_on_the_device_and_agree_with_the_cpu_kernels() {
        let data = Dataset::embedded();
        let split = DeviceSplit::upload(&data.train, &Device::Cpu).unwrap();
        let model = || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
            LeNet::new(
                &Architecture::default(),
                Pooling::Max,
                Activation::Relu,
                &Device::Cpu,
                &mut rng,
            )
            .unwrap()
        };
        let (cpu_model, candle_model) = (model(), model());
        let mut cpu = StepEngine::for_model(&cpu_model);
        let mut candle = StepEngine::Candle { correct: None };
        let mut opt_cpu = SGD::new(cpu_model.varmap().all_vars(), 0.1).unwrap();
        let mut opt_candle = SGD::new(candle_model.varmap().all_vars(), 0.1).unwrap();
        let (mut cpu_correct, mut steps) = (0, 0);
        for batch in 0..4u32 {
            let ids: Vec<u32> = (batch * 64..(batch + 1) * 64).collect();
            let a = cpu
                .step(&cpu_model, &mut opt_cpu, &data.train, &split, &ids, |_| {
                    true
                })
                .unwrap();
            // The last batch is refused, as a diverging one: it must not count.
            let accept = batch < 3;
            let b = candle
                .step(
                    &candle_model,
                    &mut opt_candle,
                    &data.train,
                    &split,
                    &ids,
                    |_| accept,
                )
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
        let data = Dataset::embedded();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let model = LeNet::new(
            &Architecture::default(),
            Pooling::Max,
            Activation::Relu,
            &Device::Cpu,
            &mut rng,
        )
        .unwrap();
        let split = DeviceSplit::upload(&data.test, &Device::Cpu).unwrap();
        let cpu = StepEngine::for_model(&model)
            .evaluate(&model, &data.test, &split)
            .unwrap();
        let candle = StepEngine::Candle { correct: None }
            .evaluate(&model, &data.test, &split)
            .unwrap();
        assert_eq!((cpu.total(), candle.total()), (1000, 1000));
        let moved: u64 = (0..10)
            .flat_map(|t| (0..10).map(move |p| (t, p)))
            .map(|(t, p)| cpu.count(t, p).abs_diff(candle.count(t, p)))
            .sum();
        assert!(moved <= 4, "{moved} counts differ:\n{cpu:?}\n{candle:?}");
    }
}
