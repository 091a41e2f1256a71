//! `lenet-tui lr-find`: a learning-rate range test (Smith 2017, Lightning's
//! `lr_find`). Fresh weights of the configured model train on the configured data,
//! one batch per learning rate, the rate growing exponentially from `--start` to
//! `--end`; the sweep stops when the loss explodes. It prints the points, suggests a
//! rate ([`sweep::suggest`]) and writes the figure into the capture dir. The weights
//! are drawn and the batches taken in the run's seeded order, as `train` would, so the
//! same settings sweep alike every time.

mod figure;
pub mod sweep;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use candle_core::Device;
use rand::SeedableRng;
use serde::Serialize;

use crate::capture;
use crate::cli::{LrFindArgs, RunArgs};
use crate::config;
use crate::data::{Dataset, EpochOrder};
use crate::engine::{self, Measure};
use crate::model::{Activation, Architecture, LeNet, ModelError, Pooling};
use crate::rng::SeededRng;
use crate::session;
use figure::SweepFigure;
use sweep::{Point, Rule, SKIP_END, Schedule, Stop, Tracker, sig, skip_begin, suggest};

/// What to sweep: the model, the data and the batches.
pub struct SweepSpec {
    /// The data (batches from its training set).
    pub dataset: Arc<Dataset>,
    /// Where the model runs.
    pub device: Device,
    /// The network.
    pub architecture: Architecture,
    /// Pooling.
    pub pooling: Pooling,
    /// Activation.
    pub activation: Activation,
    /// Examples per batch.
    pub batch_size: usize,
    /// Seeds the weights and the batch order, as a run's seed does.
    pub seed: u64,
    /// The learning rates.
    pub schedule: Schedule,
}

/// A finished sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// One point per batch trained, in order.
    pub points: Vec<Point>,
    /// Why it ended early, if it did.
    pub stop: Option<Stop>,
}

/// Trains `spec`'s fresh model one batch per learning rate of its schedule, through
/// the engine the trainer uses, until the schedule ends or the loss explodes.
pub fn run(spec: &SweepSpec) -> Result<Sweep, ModelError> {
    let mut init = SeededRng::seed_from_u64(spec.seed);
    let model = LeNet::new(
        &spec.architecture,
        spec.pooling,
        spec.activation,
        &spec.device,
        &mut init,
    )?;
    let mut engine = engine::open(&model, spec.dataset.clone())?;
    // The trainer's batch order: a stream of its own, seeded one past the weights'.
    let mut order = EpochOrder::new(spec.dataset.train.len(), spec.seed.wrapping_add(1));
    let mut tracker = Tracker::default();
    let wanted = spec.schedule.batches;
    while tracker.points().len() < wanted {
        let batches: Vec<Vec<u32>> = order
            .next_epoch(spec.batch_size)
            .map(<[u32]>::to_vec)
            .collect();
        if batches.is_empty() {
            return Err(ModelError::Shape {
                layer: "lr-find".into(),
                input: vec![0],
                why: "the training set is empty".into(),
            });
        }
        for ids in batches.iter().take(wanted - tracker.points().len()) {
            let lr = spec.schedule.lr(tracker.points().len());
            // A non-finite loss is not stepped on: the sweep ends there anyway.
            let outcome = engine.step(&model, lr, ids, Measure::Nothing, &mut |l| l.is_finite())?;
            if let Some(stop) = tracker.record(lr, outcome.loss) {
                return Ok(Sweep {
                    points: tracker.into_points(),
                    stop: Some(stop),
                });
            }
        }
    }
    Ok(Sweep {
        points: tracker.into_points(),
        stop: None,
    })
}

/// Options of `RunArgs` that mean nothing to a sweep, refused rather than ignored.
fn refuse_unused(run: &RunArgs) -> anyhow::Result<()> {
    let given: Vec<&str> = [
        (run.resume.is_some(), "--resume"),
        (!run.races.is_empty(), "--race"),
        (run.lr.is_some(), "--lr"),
        (run.epochs.is_some(), "--epochs"),
        (run.pace.is_some(), "--pace"),
        (run.share, "--share"),
    ]
    .into_iter()
    .filter_map(|(given, name)| given.then_some(name))
    .collect();
    if !given.is_empty() {
        bail!(
            "lr-find sweeps the learning rate (--start, --end, --batches) from fresh weights \
             at full speed; it takes no {}",
            given.join(", ")
        );
    }
    Ok(())
}

/// The sweep's spec from the command line and the config, with the data and the
/// device described in words.
fn spec(args: &LrFindArgs, config: &config::Config) -> anyhow::Result<(SweepSpec, String)> {
    let schedule =
        Schedule::new(args.start, args.end, args.batches as usize).map_err(anyhow::Error::msg)?;
    let overrides = args.run.overrides();
    let session::Fresh {
        resolved,
        dataset,
        opened,
        architecture,
    } = session::fresh(config, &overrides, args.run.config.as_deref())?;
    let s = &resolved.settings;
    let about = format!("data: {dataset}; device: {}", opened.name);
    let spec = SweepSpec {
        dataset,
        device: opened.device,
        architecture,
        pooling: s.pooling,
        activation: s.activation,
        batch_size: s.batch_size.as_usize(),
        seed: s.seed,
        schedule,
    };
    Ok((spec, about))
}

/// `lr-find: avg/sigmoid, lr 0.0001 → 10 over 200 batches of 256, seed 42`.
fn title(spec: &SweepSpec) -> String {
    let s = &spec.schedule;
    format!(
        "lr-find: {}/{}, lr {} → {} over {} batches of {}, seed {}",
        spec.pooling,
        spec.activation,
        sig(s.start),
        sig(s.end),
        s.batches,
        spec.batch_size,
        spec.seed
    )
}

/// The points as a table, one line each.
pub fn table(points: &[Point]) -> String {
    let mut out = format!(
        "{:>6} {:>10} {:>9} {:>9}\n",
        "batch", "lr", "loss", "smoothed"
    );
    for p in points {
        let _ = writeln!(
            out,
            "{:>6} {:>10} {:>9.4} {:>9.4}",
            p.batch,
            sig(p.lr),
            p.loss,
            p.smoothed
        );
    }
    out
}

/// The lines after the table: how the sweep ended and what it suggests.
pub fn verdict(sweep: &Sweep, suggestion: Option<&(Point, Rule)>, planned: usize) -> String {
    let mut out = match &sweep.stop {
        Some(stop) => format!("{stop}\n"),
        None => format!("the sweep ran its {planned} batches without the loss exploding\n"),
    };
    match suggestion {
        Some((p, rule)) => {
            let _ = write!(
                out,
                "suggested learning rate: {} at batch {}, by the {}",
                sig(p.lr),
                p.batch,
                rule.words()
            );
            if *rule == Rule::Steepest {
                let _ = write!(
                    out,
                    "; the first {} points and the last {SKIP_END} are left out",
                    skip_begin(planned)
                );
            }
            let _ = writeln!(out, "\ntry it: lenet-tui train --lr {}", sig(p.lr));
        }
        None => out.push_str(
            "no suggestion: the smoothed loss never fell before the sweep ended (try a \
             lower --start, or more --batches)\n",
        ),
    }
    out
}

/// The suggestion as `--json` gives it.
#[derive(Serialize)]
struct JsonSuggestion<'a> {
    #[serde(flatten)]
    point: &'a Point,
    rule: &'static str,
}

/// `--json`'s one object.
#[derive(Serialize)]
struct JsonReport<'a> {
    pooling: Pooling,
    activation: Activation,
    batch_size: usize,
    seed: u64,
    start: f64,
    end: f64,
    batches: usize,
    about: &'a str,
    points: &'a [Point],
    stopped: Option<&'a Stop>,
    suggestion: Option<JsonSuggestion<'a>>,
    figure: JsonFigure<'a>,
    seconds: f64,
}

/// The figure's two files.
#[derive(Serialize)]
struct JsonFigure<'a> {
    png: &'a Path,
    svg: &'a Path,
}

/// `lenet-tui lr-find`.
pub fn command(args: &LrFindArgs) -> anyhow::Result<()> {
    refuse_unused(&args.run)?;
    let config = config::load(args.run.config.as_deref())?;
    let (spec, about) = spec(args, &config)?;
    if !args.json {
        println!("{}\n{about}", title(&spec));
    }
    let started = Instant::now();
    let sweep = run(&spec)?;
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!("lr-find: {} points in {seconds:.1} s", sweep.points.len());
    let classes = spec.dataset.classes.len();
    let suggestion = suggest(&sweep.points, spec.schedule.batches, classes);
    let png = write_figure(args, &config, &spec, &sweep, suggestion.map(|(p, _)| p))?;
    let svg = png.with_extension("svg");
    if args.json {
        let s = &spec.schedule;
        let report = JsonReport {
            pooling: spec.pooling,
            activation: spec.activation,
            batch_size: spec.batch_size,
            seed: spec.seed,
            start: s.start,
            end: s.end,
            batches: s.batches,
            about: &about,
            points: &sweep.points,
            stopped: sweep.stop.as_ref(),
            suggestion: suggestion.as_ref().map(|(point, rule)| JsonSuggestion {
                point,
                rule: rule.words(),
            }),
            figure: JsonFigure {
                png: &png,
                svg: &svg,
            },
            seconds,
        };
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    print!("{}", table(&sweep.points));
    print!(
        "{}",
        verdict(&sweep, suggestion.as_ref(), spec.schedule.batches)
    );
    println!("figure: {} (and .svg)", png.display());
    println!("took {seconds:.1} s");
    Ok(())
}

/// Writes the figure into the capture dir; returns the PNG's path.
fn write_figure(
    args: &LrFindArgs,
    config: &config::Config,
    spec: &SweepSpec,
    sweep: &Sweep,
    suggestion: Option<Point>,
) -> anyhow::Result<PathBuf> {
    let dir = capture::dir::resolve(args.capture_dir.as_deref(), config.capture.dir.as_deref());
    let scale = args
        .png_scale
        .or(config.capture.png_scale.map(|s| s.0))
        .unwrap_or(capture::DEFAULT_SCALE);
    let figure = SweepFigure {
        title: title(spec),
        points: sweep.points.clone(),
        suggestion,
    };
    let stem = format!(
        "lenet-tui_lr-find_{}_{}-{}",
        chrono::Local::now().format("%Y-%m-%d_%H-%M-%S"),
        spec.pooling,
        spec.activation
    );
    capture::figure::write_figure(&figure, &dir, &stem, scale)
        .with_context(|| format!("writing the figure into {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(batches: usize) -> SweepSpec {
        SweepSpec {
            dataset: Arc::new(Dataset::embedded()),
            device: Device::Cpu,
            architecture: Architecture::default(),
            pooling: Pooling::Max,
            activation: Activation::Relu,
            batch_size: 64,
            seed: 7,
            schedule: Schedule::new(1e-3, 1.0, batches).unwrap(),
        }
    }

    #[test]
    fn a_sweep_is_seeded_and_follows_its_schedule() {
        let a = run(&spec(30)).unwrap();
        let b = run(&spec(30)).unwrap();
        assert_eq!(a, b, "the same seed sweeps alike");
        assert_eq!(a.points.len(), 30);
        assert_eq!(a.stop, None);
        assert!((a.points[0].lr - 1e-3).abs() < 1e-15);
        assert!((a.points[29].lr - 1.0).abs() < 1e-12);
        assert!(a.points.iter().all(|p| p.loss.is_finite() && p.loss > 0.0));
        // A fresh ten-class model starts near ln 10.
        assert!(
            (a.points[0].loss - 10f64.ln()).abs() < 0.3,
            "{:?}",
            a.points[0]
        );
    }

    #[test]
    fn a_sweep_longer_than_an_epoch_goes_on_into_the_next() {
        // 6,000 training images in batches of 64 make 94 batches an epoch.
        let mut long = spec(100);
        long.schedule = Schedule::new(1e-4, 1e-3, 100).unwrap();
        let sweep = run(&long).unwrap();
        assert_eq!(sweep.points.len(), 100);
        assert_eq!(sweep.points[99].batch, 100);
    }

    #[test]
    fn the_verdict_names_the_rule_or_says_why_there_is_none() {
        let points: Vec<Point> = (1..=3)
            .map(|batch| Point {
                batch,
                lr: 0.1 * batch as f64,
                loss: 2.0,
                smoothed: 2.0,
            })
            .collect();
        let sweep = Sweep {
            points: points.clone(),
            stop: Some(Stop::NotFinite { batch: 4, lr: 0.4 }),
        };
        let text = verdict(&sweep, Some(&(points[1], Rule::Steepest)), 200);
        assert!(text.contains("stopped at batch 4 (lr 0.4)"), "{text}");
        assert!(
            text.contains("suggested learning rate: 0.2 at batch 2, by the steepest descent of the smoothed loss (as fastai/Lightning)"),
            "{text}"
        );
        assert!(text.contains("lenet-tui train --lr 0.2"), "{text}");
        let none = verdict(&Sweep { points, stop: None }, None, 200);
        assert!(
            none.contains("ran its 200 batches") && none.contains("no suggestion"),
            "{none}"
        );
        assert_eq!(table(&[]).lines().count(), 1, "the header alone");
    }

    #[test]
    fn options_a_sweep_cannot_use_are_refused_by_name() {
        let run = RunArgs {
            lr: Some(crate::train::LearningRate::CHAPTER),
            share: true,
            ..RunArgs::default()
        };
        let err = refuse_unused(&run).unwrap_err().to_string();
        assert!(err.contains("--lr, --share"), "{err}");
        assert!(refuse_unused(&RunArgs::default()).is_ok());
    }
}
