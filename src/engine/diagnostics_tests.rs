//! Both engines' layer figures against a plain computation from Candle's autograd
//! on the same weights and batch.
use std::sync::Arc;

use candle_core::{Device, Tensor};
use rand::SeedableRng;

use super::*;
use crate::data::Dataset;
use crate::engine::candle::{CandleEngine, DeviceSplit};
use crate::engine::cpu::CpuEngine;
use crate::engine::{Engine, StepOutcome};
use crate::model::{Architecture, LeNet, Pooling};

fn model(activation: Activation) -> LeNet {
    let mut rng = crate::rng::SeededRng::seed_from_u64(11);
    LeNet::new(
        &Architecture::default(),
        Pooling::Avg,
        activation,
        &Device::Cpu,
        &mut rng,
    )
    .unwrap()
}

/// What a layer's figures should be, worked out the long way.
struct Expected {
    grad_norm: f64,
    weight_norm: f64,
    mean: f64,
    std: f64,
    saturated: f64,
    dead: f64,
    /// Outputs (all of them) and units per image.
    values: Vec<f32>,
}

fn expected(model: &LeNet, data: &Dataset, ids: &[u32]) -> Vec<Expected> {
    let split = DeviceSplit::upload(&data.train, &Device::Cpu).unwrap();
    let (x, y) = split.batch(ids).unwrap();
    let (logits, outputs) = model.forward_with_outputs(&x).unwrap();
    let loss = candle_nn::loss::cross_entropy(&logits, &y).unwrap();
    let grads = loss.backward().unwrap();
    let norm = |t: &Tensor| {
        f64::from(
            t.sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap(),
        )
        .sqrt()
    };
    model
        .layer_weights()
        .iter()
        .zip(&outputs)
        .map(|(w, out)| {
            let values = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let n = values.len() as f64;
            let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let var = values
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n;
            let saturated = values
                .iter()
                .filter(|&&v| !(0.02..=0.98).contains(&v))
                .count();
            let units = values.len() / ids.len();
            let dead = (0..units)
                .filter(|&u| (0..ids.len()).all(|b| values[b * units + u] == 0.0))
                .count();
            Expected {
                grad_norm: norm(grads.get(w).unwrap()),
                weight_norm: norm(w),
                mean,
                std: var.sqrt(),
                saturated: saturated as f64 / n,
                dead: dead as f64 / units as f64,
                values,
            }
        })
        .collect()
}

fn close(a: f64, b: f64, rel: f64, what: &str) {
    assert!(
        (a - b).abs() <= rel * b.abs().max(1e-6),
        "{what}: {a} against {b}"
    );
}

/// The engine's figures against the expected ones; `exact_histogram` where the
/// batch is one group of chunks (the histogram's span is the whole batch's).
fn check(
    outcome: &StepOutcome,
    expected: &[Expected],
    activation: Activation,
    lr: f64,
    batch: usize,
) {
    let names = ["conv1", "conv2", "fc1", "fc2", "fc3"];
    assert_eq!(outcome.layers.len(), names.len());
    for (i, (s, e)) in outcome.layers.iter().zip(expected).enumerate() {
        let hidden = i + 1 < names.len();
        assert_eq!(s.layer, names[i]);
        close(
            s.grad_norm,
            e.grad_norm,
            1e-3,
            &format!("{} grad norm", s.layer),
        );
        close(
            s.weight_norm,
            e.weight_norm,
            1e-5,
            &format!("{} weight norm", s.layer),
        );
        close(
            s.update_ratio,
            lr * e.grad_norm / e.weight_norm,
            1e-3,
            "update ratio",
        );
        close(s.act_mean, e.mean, 1e-4, &format!("{} mean", s.layer));
        close(s.act_std, e.std, 1e-4, &format!("{} std", s.layer));
        let one_value = 1.5 / e.values.len() as f64;
        match (hidden, activation) {
            (true, Activation::Sigmoid) => {
                let got = s.saturated.expect("a sigmoid layer reports saturation");
                assert!(
                    (got - e.saturated).abs() <= one_value,
                    "{}: {got} against {}",
                    s.layer,
                    e.saturated
                );
                assert_eq!(s.dead, None);
            }
            (true, Activation::Relu) => {
                let got = s.dead.expect("a ReLU layer reports dead units");
                let units = e.values.len() / batch;
                assert!(
                    (got - e.dead).abs() <= 1.5 / units as f64,
                    "{}: {got} against {}",
                    s.layer,
                    e.dead
                );
                assert_eq!(s.saturated, None);
            }
            (false, _) => assert_eq!((s.saturated, s.dead), (None, None), "the logits"),
        }
        assert_eq!(s.hist.len(), HISTOGRAM_BINS);
        assert_eq!(
            s.hist.iter().map(|&c| c as usize).sum::<usize>(),
            e.values.len(),
            "every output binned"
        );
        let [lo, hi] = s.hist_range;
        if hidden && activation == Activation::Sigmoid {
            assert_eq!((lo, hi), (0.0, 1.0));
        }
        if batch <= 256 {
            // One group of chunks: the span and the bins are the whole batch's.
            let min = e.values.iter().copied().fold(f32::INFINITY, f32::min);
            let max = e.values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if !(hidden && activation == Activation::Sigmoid) {
                close(lo, f64::from(min), 1e-4, "histogram low end");
                close(hi, f64::from(max), 1e-4, "histogram high end");
            }
            let mut plain = [0usize; HISTOGRAM_BINS];
            for &v in &e.values {
                let bin = ((f64::from(v) - lo) / (hi - lo) * HISTOGRAM_BINS as f64) as usize;
                plain[bin.min(HISTOGRAM_BINS - 1)] += 1;
            }
            let moved: usize = plain
                .iter()
                .zip(&s.hist)
                .map(|(&a, &b)| a.abs_diff(b as usize))
                .sum();
            // Values on a bin's edge may fall either side between the two computations.
            assert!(
                moved * 1000 <= e.values.len(),
                "{}: {:?} against {plain:?}",
                s.layer,
                s.hist
            );
        }
    }
}

#[test]
fn cpu_kernels_measure_each_layer_as_autograd_does() {
    let data = Arc::new(Dataset::embedded());
    for activation in [Activation::Sigmoid, Activation::Relu] {
        // 40 images: one group of chunks, the last one short; 600: several groups.
        for batch in [40u32, 600] {
            let (reference, trained) = (model(activation), model(activation));
            let ids: Vec<u32> = (0..batch).map(|i| (i * 7) % 6000).collect();
            let want = expected(&reference, &data, &ids);
            let mut cpu = CpuEngine::new(&trained, data.clone());
            let outcome = cpu
                .step(&trained, 0.5, &ids, Measure::Layers, &mut |_| true)
                .unwrap();
            check(&outcome, &want, activation, 0.5, batch as usize);
            let plain = cpu
                .step(&trained, 0.5, &ids, Measure::Nothing, &mut |_| true)
                .unwrap();
            assert!(plain.layers.is_empty(), "measured only when asked");
        }
    }
}

#[test]
fn candle_path_measures_each_layer_as_autograd_does() {
    let data = Arc::new(Dataset::embedded());
    for activation in [Activation::Sigmoid, Activation::Relu] {
        let (reference, trained) = (model(activation), model(activation));
        let ids: Vec<u32> = (0..96).map(|i| (i * 13) % 6000).collect();
        let want = expected(&reference, &data, &ids);
        let mut engine = CandleEngine::new(&trained, data.clone()).unwrap();
        let outcome = engine
            .step(&trained, 0.9, &ids, Measure::Layers, &mut |_| true)
            .unwrap();
        check(&outcome, &want, activation, 0.9, ids.len());
        let refused = engine
            .step(&trained, 0.9, &ids, Measure::Layers, &mut |_| false)
            .unwrap();
        assert!(
            refused.layers.is_empty(),
            "a refused step has no gradient to measure"
        );
    }
}
