//! The CPU step against Candle's autograd and finite differences.
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

/// Takes `images` generated images through a fresh step and Candle's autograd
/// with the same model (weights from `seed`): the same loss, logits for every
/// image and the same gradients. Returns the step.
fn assert_matches_candle(
    arch: &Architecture,
    pooling: Pooling,
    act: Activation,
    images: usize,
    seed: u64,
) -> CpuStep {
    let side = arch.input[1];
    let mut rng = crate::rng::SeededRng::seed_from_u64(seed);
    let model = LeNet::new(arch, pooling, act, &Device::Cpu, &mut rng).unwrap();
    let mut step = CpuStep::new(arch);
    let params = params_of(&model, &step);
    let (images, labels) = batch(images, side, arch.classes as u32);
    let figures = step.gradients(&params, &images, &labels, (pooling, act), Measure::Nothing);
    let (loss, reference) = candle_reference(&model, &images, &labels, side);
    assert!(
        (figures.loss - loss).abs() < 1e-4,
        "loss {} vs {loss}",
        figures.loss
    );
    assert_eq!(step.logits().len(), labels.len() * arch.classes);
    for (name, g) in step
        .parameter_names()
        .iter()
        .zip(step.parameter_gradients())
    {
        close(g, &reference[name], &format!("{name} ({pooling}/{act})"));
    }
    step
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
        for (pooling, act) in [
            (Pooling::Avg, Activation::Sigmoid),
            (Pooling::Max, Activation::Relu),
            (Pooling::Max, Activation::Sigmoid),
        ] {
            assert_matches_candle(&arch, pooling, act, 6, 3);
        }
    }
}

#[test]
fn a_batch_cut_into_chunks_has_the_gradients_of_the_whole() {
    // Two full chunks and a ragged one, summed by `sum_gradients`.
    for (pooling, act) in [
        (Pooling::Avg, Activation::Sigmoid),
        (Pooling::Max, Activation::Relu),
    ] {
        assert_matches_candle(
            &Architecture::default(),
            pooling,
            act,
            2 * CHUNK_IMAGES + 5,
            11,
        );
    }
}

#[test]
fn a_batch_larger_than_the_workers_is_taken_in_groups() {
    let group = MIN_WORKERS.max(2 * rayon::current_num_threads());
    let images = 2 * group * CHUNK_IMAGES + 3;
    let step = assert_matches_candle(&small_arch(), Pooling::Max, Activation::Sigmoid, images, 13);
    assert_eq!(step.workers.len(), group, "workers are bounded");
}

#[test]
fn gradients_match_finite_differences() {
    for (arch, pooling) in [(small_arch(), Pooling::Avg), (odd_arch(), Pooling::Avg)] {
        let act = Activation::Sigmoid;
        let side = arch.input[1];
        let mut rng = crate::rng::SeededRng::seed_from_u64(5);
        let model = LeNet::new(&arch, pooling, act, &Device::Cpu, &mut rng).unwrap();
        let mut step = CpuStep::new(&arch);
        let mut params = params_of(&model, &step);
        let (images, labels) = batch(4, side, arch.classes as u32);
        step.gradients(&params, &images, &labels, (pooling, act), Measure::Nothing);
        let analytic = step.parameter_gradients().to_vec();
        let eps = 1e-2f32;
        for (p, grads) in analytic.iter().enumerate() {
            for i in [0, grads.len() / 2, grads.len() - 1] {
                let original = params[p][i];
                params[p][i] = original + eps;
                let up = step
                    .gradients(&params, &images, &labels, (pooling, act), Measure::Nothing)
                    .loss;
                params[p][i] = original - eps;
                let down = step
                    .gradients(&params, &images, &labels, (pooling, act), Measure::Nothing)
                    .loss;
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
    let mut rng = crate::rng::SeededRng::seed_from_u64(9);
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
            // At 0.3 the loss of eight images jumps about chaotically, so where it
            // ends depends on the order of float additions.
            0.1,
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
