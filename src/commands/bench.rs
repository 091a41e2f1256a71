//! `lenet-tui bench`: training and evaluation throughput of the configured model on
//! the chosen device, the way the trainer takes its steps, repeated so the spread is
//! visible. Forward is timed alone on the same batches; backward (with the SGD
//! update) is the step minus the forward.

use std::sync::Arc;
use std::time::Instant;

use crate::rng::SeededRng;
use candle_core::Device;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::config;
use crate::config::Overrides;
use crate::data::Dataset;
use crate::engine::{self, Engine, Measure};
use crate::model::{Activation, Architecture, LeNet, ModelError, Pooling};
use crate::session;
use crate::train::{LearningRate, TrainSettings};

/// A model variant to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variant {
    /// Pooling.
    pub pooling: Pooling,
    /// Activation.
    pub activation: Activation,
    /// SGD learning rate (the step does the update too).
    pub learning_rate: LearningRate,
}

/// What to measure and how often.
pub struct BenchSpec {
    /// The data (batches come from its training set, evaluation from its test set).
    pub dataset: Arc<Dataset>,
    /// Where the model runs.
    pub device: Device,
    /// The device in words.
    pub device_name: String,
    /// The network.
    pub architecture: Architecture,
    /// Examples per batch.
    pub batch_size: usize,
    /// Variants, measured one after the other.
    pub variants: Vec<Variant>,
    /// Batches before timing starts.
    pub warmup: usize,
    /// Timed batches per repeat.
    pub batches: usize,
    /// Repeats.
    pub repeats: usize,
    /// Seed for weights and batch order.
    pub seed: u64,
    /// The trainer measures the layers (gradient flow, activation statistics) on
    /// one batch in this many: its report batches.
    pub measure_every: usize,
}

/// Median, minimum and maximum of the repeats, in examples per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Slowest repeat.
    pub min: f64,
    /// Fastest repeat.
    pub max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n == 0 {
            0.0
        } else if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Spread {
            median,
            min: values.first().copied().unwrap_or(0.0),
            max: values.last().copied().unwrap_or(0.0),
        }
    }
}

/// The figures of one variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchResult {
    /// `pooling/activation`, e.g. `avg/sigmoid`.
    pub variant: String,
    /// The device in words.
    pub device: String,
    /// Worker threads (CPU).
    pub threads: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Timed batches per repeat.
    pub batches: usize,
    /// Repeats.
    pub repeats: usize,
    /// Whole training steps: forward, backward, update.
    pub step: Spread,
    /// Forward pass and loss.
    pub forward: Spread,
    /// Backward pass and update (step time minus forward time).
    pub backward: Spread,
    /// Test-set evaluation.
    pub eval: Spread,
    /// Whole training steps with the layers measured as the trainer measures them
    /// (one batch in `measure_every`).
    pub measured: Spread,
    /// `measured` over `step`, repeat by repeat (each repeat times both on the same
    /// batches, one right after the other, the order alternating).
    pub measured_ratio: Spread,
}

/// Runs the benchmark, calling `done` after each variant.
pub fn run(spec: &BenchSpec, mut done: impl FnMut(&BenchResult)) -> Result<(), ModelError> {
    let mut order: Vec<u32> = (0..spec.dataset.train.len() as u32).collect();
    order.shuffle(&mut SeededRng::seed_from_u64(spec.seed));
    let batches: Vec<&[u32]> = order.chunks_exact(spec.batch_size).collect();
    if batches.is_empty() {
        return Err(ModelError::Shape {
            layer: "bench".into(),
            input: vec![spec.dataset.train.len()],
            why: format!(
                "fewer training images than one batch of {}",
                spec.batch_size
            ),
        });
    }
    let threads = rayon::current_num_threads();
    for variant in &spec.variants {
        let mut rng = SeededRng::seed_from_u64(spec.seed);
        let model = LeNet::new(
            &spec.architecture,
            variant.pooling,
            variant.activation,
            &spec.device,
            &mut rng,
        )?;
        let lr = variant.learning_rate.get();
        let mut engine = engine::open(&model, spec.dataset.clone())?;
        let mut next = 0;
        let mut take = || {
            let ids = batches[next % batches.len()];
            next += 1;
            ids
        };
        for _ in 0..spec.warmup {
            engine.step(&model, lr, take(), Measure::Nothing, &mut |_| true)?;
        }
        let (mut step, mut forward, mut backward, mut eval) = (vec![], vec![], vec![], vec![]);
        let (mut measured, mut measured_ratio) = (vec![], vec![]);
        for repeat in 0..spec.repeats {
            let ids: Vec<&[u32]> = (0..spec.batches).map(|_| take()).collect();
            let examples = (spec.batches * spec.batch_size) as f64;
            let t = time_steps(&mut *engine, &model, lr, &ids, spec.measure_every, repeat)?;
            step.push(examples / t.step);
            measured.push(examples / t.measured);
            measured_ratio.push(t.step / t.measured);
            forward.push(examples / t.forward);
            backward.push(examples / (t.step - t.forward).max(1e-9));
            let start = Instant::now();
            engine.evaluate(&model)?;
            eval.push(spec.dataset.test.len() as f64 / start.elapsed().as_secs_f64());
        }
        done(&BenchResult {
            variant: format!("{}/{}", variant.pooling, variant.activation),
            device: spec.device_name.clone(),
            threads,
            batch_size: spec.batch_size,
            batches: spec.batches,
            repeats: spec.repeats,
            step: Spread::of(step),
            forward: Spread::of(forward),
            backward: Spread::of(backward),
            eval: Spread::of(eval),
            measured: Spread::of(measured),
            measured_ratio: Spread::of(measured_ratio),
        });
    }
    Ok(())
}

/// Seconds one repeat's batches took.
struct RepeatTimes {
    /// Forward passes and losses alone.
    forward: f64,
    /// Whole training steps.
    step: f64,
    /// Whole training steps, the layers measured one batch in `measure_every`.
    measured: f64,
}

/// Times `ids` forward only, then as training steps with and without the layers
/// measured, alternating by `repeat` which goes first so that neither always has the
/// warmer caches.
fn time_steps(
    engine: &mut dyn Engine,
    model: &LeNet,
    lr: f64,
    ids: &[&[u32]],
    measure_every: usize,
    repeat: usize,
) -> Result<RepeatTimes, ModelError> {
    let start = Instant::now();
    for ids in ids {
        engine.forward_only(model, ids)?;
    }
    let forward = start.elapsed().as_secs_f64();
    let mut steps = |every: Option<usize>| -> Result<f64, ModelError> {
        let start = Instant::now();
        for (i, ids) in ids.iter().enumerate() {
            let measure = match every {
                Some(k) if (i + 1) % k.max(1) == 0 => Measure::Layers,
                _ => Measure::Nothing,
            };
            engine.step(model, lr, ids, measure, &mut |_| true)?;
        }
        engine.settle()?;
        Ok(start.elapsed().as_secs_f64())
    };
    let every = Some(measure_every);
    let (step, measured) = if repeat.is_multiple_of(2) {
        let plain = steps(None)?;
        (plain, steps(every)?)
    } else {
        let with = steps(every)?;
        (steps(None)?, with)
    };
    Ok(RepeatTimes {
        forward,
        step,
        measured,
    })
}

/// A result as one line of the table `lenet-tui bench` prints.
pub fn table_row(r: &BenchResult) -> String {
    let cell = |s: &Spread| format!("{:>8.0} [{:.0}–{:.0}]", s.median, s.min, s.max);
    let ratio = &r.measured_ratio;
    format!(
        "{:<12} {:<24} {:<24} {:<24} {:<24} {:.3} [{:.3}–{:.3}]",
        r.variant,
        cell(&r.step),
        cell(&r.forward),
        cell(&r.backward),
        cell(&r.eval),
        ratio.median,
        ratio.min,
        ratio.max
    )
}

/// The table's header.
pub fn table_header() -> String {
    format!(
        "{:<12} {:<24} {:<24} {:<24} {:<24} {}",
        "variant",
        "step ex/s [min–max]",
        "forward",
        "backward+update",
        "eval",
        "with layer stats / without"
    )
}

/// The variants to time: the one the command line picks, or else the chapter's
/// (avg pooling, sigmoid, lr 0.9) and its exercise's (max pooling, ReLU, lr 0.1).
fn variants(config: &config::Config, overrides: &Overrides, s: &TrainSettings) -> Vec<Variant> {
    if overrides.pooling.is_some() || overrides.activation.is_some() {
        return vec![Variant {
            pooling: s.pooling,
            activation: s.activation,
            learning_rate: s.learning_rate,
        }];
    }
    let lr = |default: f64| {
        overrides
            .lr
            .or(config.train.lr)
            .unwrap_or_else(|| LearningRate::try_from(default).expect("a valid default"))
    };
    vec![
        Variant {
            pooling: Pooling::Avg,
            activation: Activation::Sigmoid,
            learning_rate: lr(0.9),
        },
        Variant {
            pooling: Pooling::Max,
            activation: Activation::Relu,
            learning_rate: lr(0.1),
        },
    ]
}

/// `lenet-tui bench`: a table (or JSON lines) of examples/sec per variant.
pub fn command(args: &BenchArgs) -> anyhow::Result<()> {
    let config = config::load(args.run.config.as_deref())?;
    let overrides = args.run.overrides();
    let session::Fresh {
        resolved,
        dataset,
        opened,
        architecture,
    } = session::fresh(&config, &overrides, args.run.config.as_deref())?;
    let s = &resolved.settings;
    let variants = variants(&config, &overrides, s);
    let dataset_len = dataset.train.len();
    let spec = BenchSpec {
        architecture,
        dataset,
        device: opened.device,
        device_name: opened.name,
        batch_size: s.batch_size.as_usize(),
        variants,
        warmup: args.warmup as usize,
        batches: args.batches as usize,
        repeats: args.repeats as usize,
        seed: s.seed,
        measure_every: args.measure_every.map_or_else(
            || {
                crate::data::batches::batches_per_epoch(dataset_len, s.batch_size.as_usize())
                    .div_ceil(s.reports_per_epoch.max(1) as usize)
            },
            |n| n as usize,
        ),
    };
    if !args.json {
        println!(
            "lenet-tui bench: {} ({} threads), batch {}, {} timed batches × {} repeats after {} warm-up; data: {}",
            spec.device_name,
            rayon::current_num_threads(),
            spec.batch_size,
            spec.batches,
            spec.repeats,
            spec.warmup,
            spec.dataset
        );
        println!("{}", table_header());
    }
    run(&spec, |r| {
        if args.json {
            println!("{}", serde_json::to_string(r).expect("results serialise"));
        } else {
            println!("{}", table_row(r));
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_are_median_min_max() {
        let s = Spread::of(vec![3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Spread::of(vec![4.0, 1.0]).median, 2.5);
    }

    #[test]
    fn a_short_bench_measures_every_part() {
        let spec = BenchSpec {
            dataset: Arc::new(Dataset::embedded()),
            device: Device::Cpu,
            device_name: "cpu".into(),
            architecture: Architecture::default(),
            batch_size: 32,
            variants: vec![Variant {
                pooling: Pooling::Max,
                activation: Activation::Relu,
                learning_rate: LearningRate::try_from(0.1).unwrap(),
            }],
            warmup: 1,
            batches: 2,
            repeats: 2,
            seed: 1,
            measure_every: 2,
        };
        let mut results = Vec::new();
        run(&spec, |r| results.push(r.clone())).unwrap();
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert_eq!(r.variant, "max/relu");
        for s in [
            r.step,
            r.forward,
            r.backward,
            r.eval,
            r.measured,
            r.measured_ratio,
        ] {
            assert!(
                s.min > 0.0 && s.min <= s.median && s.median <= s.max,
                "{r:?}"
            );
        }
        // Which part is faster is for `lenet-tui bench` to measure, not for a test on
        // a shared machine to assume (a loaded core can make two timed batches of
        // the forward pass slower than two of the step).
        assert!(table_row(r).starts_with("max/relu"));
    }
}
