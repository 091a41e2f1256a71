//! `lenet-tui compare RUN_A RUN_B`: two saved runs side by side, from the metrics
//! history in their newest checkpoints. The curves go into one training figure (A
//! solid, B dashed) and the per-epoch figures into a text table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::capture;
use crate::capture::figure::{FigureData, FigureRun, LineStyle};
use crate::capture::gradients::{GradientFigure, GradientPanel};
use crate::cli::CompareArgs;
use crate::config;
use crate::session;
use crate::train::EpochSummary;
use crate::train::checkpoint::{self, CheckpointError, Meta, ResumeFrom};
use crate::train::{RunRecipe, run_labels};

/// A saved run as the comparison reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRun {
    /// The run's name: its directory's (`2026-11-30_09-12-03`).
    pub name: String,
    /// The checkpoint read (the run's newest).
    pub checkpoint: PathBuf,
    /// Its metadata: settings and the whole history.
    pub meta: Meta,
}

/// Finds and reads the run `arg` names: `latest`, a run or checkpoint directory, or
/// a run's name in `runs_dir`. Errors name the paths looked at.
pub fn load_run(arg: &str, runs_dir: &Path) -> Result<SavedRun, CheckpointError> {
    let from = find_run(arg, runs_dir)?;
    let dir = checkpoint::locate(&from, runs_dir)?;
    let checkpoint = checkpoint::load(&dir)?;
    let name = dir.parent().and_then(Path::file_name).map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(SavedRun {
        name,
        checkpoint: checkpoint.dir,
        meta: checkpoint.meta,
    })
}

/// What `arg` names: `latest`, an existing run or checkpoint directory, or a run's name
/// in `runs_dir`. Errors name the paths looked at.
pub fn find_run(arg: &str, runs_dir: &Path) -> Result<ResumeFrom, CheckpointError> {
    Ok(match arg.parse::<ResumeFrom>() {
        Ok(ResumeFrom::Latest) => ResumeFrom::Latest,
        Ok(ResumeFrom::Path(path)) if path.exists() => ResumeFrom::Path(path),
        _ if runs_dir.join(arg).exists() => ResumeFrom::Path(runs_dir.join(arg)),
        _ => {
            return Err(CheckpointError::NotFound(format!(
                "{arg}: no such run: neither {} nor {} exists (`lenet-tui runs` lists them)",
                Path::new(arg).display(),
                runs_dir.join(arg).display()
            )));
        }
    })
}

/// What the run ended with (pooling, activation and learning rate may have been
/// changed during it; [`table`] lists the changes).
fn recipe(run: &SavedRun) -> RunRecipe {
    let s = &run.meta.settings;
    RunRecipe {
        pooling: s.pooling,
        activation: s.activation,
        learning_rate: s.learning_rate.get(),
    }
}

/// `A max/sigmoid`, `B avg/sigmoid`: the legend labels of the two runs.
fn labels(a: &SavedRun, b: &SavedRun) -> [String; 2] {
    let names = run_labels(&[recipe(a), recipe(b)]);
    [format!("A {}", names[0]), format!("B {}", names[1])]
}

/// The figure of both runs: A solid, B dashed, each labelled by its settings.
pub fn figure_data(a: &SavedRun, b: &SavedRun) -> FigureData {
    let [label_a, label_b] = labels(a, b);
    let run = |r: &SavedRun, label: String, line| {
        let h = &r.meta.history;
        FigureRun {
            label,
            line,
            train_loss: h.progress.iter().map(|p| (p.at, p.train_loss)).collect(),
            train_acc: h.progress.iter().map(|p| (p.at, p.train_acc)).collect(),
            test_acc: h
                .epochs
                .iter()
                .map(|e| (f64::from(e.epoch), e.test_acc))
                .collect(),
        }
    };
    FigureData {
        title: format!("LeNet-5: A {} vs B {}", a.name, b.name),
        epochs: epochs(a, b),
        runs: vec![
            run(a, label_a, LineStyle::Solid),
            run(b, label_b, LineStyle::Dashed),
        ],
        changes: Vec::new(),
    }
}

/// The x axis both figures share: the longer run's epochs, planned or trained.
fn epochs(a: &SavedRun, b: &SavedRun) -> f64 {
    [a, b]
        .iter()
        .map(|r| f64::from(r.meta.settings.epochs.get()).max(r.meta.position.at()))
        .fold(1.0, f64::max)
}

/// Both runs' gradient flow side by side, on one scale, each with its setting changes.
pub fn gradient_figure_data(a: &SavedRun, b: &SavedRun) -> GradientFigure {
    let [label_a, label_b] = labels(a, b);
    let panel = |r: &SavedRun, label: String| {
        let h = &r.meta.history;
        let changes = h
            .changes
            .iter()
            .filter_map(|c| Some((c.at, c.change.setting_label()?)))
            .collect();
        GradientPanel::from_progress(label, &h.progress, changes)
    };
    GradientFigure {
        title: format!("Gradient flow: A {} vs B {}", a.name, b.name),
        epochs: epochs(a, b),
        panels: vec![panel(a, label_a), panel(b, label_b)],
    }
}

/// The file stem for the comparison figure: `lenet-tui_compare_A_vs_B`.
pub fn figure_stem(a: &SavedRun, b: &SavedRun) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("lenet-tui_compare_{}_vs_{}", safe(&a.name), safe(&b.name))
}

/// The runs described, then their per-epoch figures side by side and the best test
/// accuracy of each.
pub fn table(a: &SavedRun, b: &SavedRun) -> String {
    let labels = labels(a, b);
    let mut out = String::new();
    for (run, label) in [a, b].into_iter().zip(&labels) {
        let m = &run.meta;
        let s = &m.settings;
        let _ = writeln!(
            out,
            "{}  {}: {} pooling, {}, lr {}, batch {}, {:.2}/{} epochs ({})",
            &label[..1],
            run.name,
            s.pooling,
            s.activation,
            s.learning_rate,
            s.batch_size,
            m.position.at(),
            s.epochs,
            run.checkpoint.display()
        );
        let changes: Vec<String> = m
            .history
            .changes
            .iter()
            .filter_map(|c| Some(format!("{} at {:.2}", c.change.setting_label()?, c.at)))
            .collect();
        if !changes.is_empty() {
            let _ = writeln!(out, "   changed during the run: {}", changes.join(", "));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>5}  {:>7} {:>9} {:>8}  │ {:>7} {:>9} {:>8}  │ {:>12}",
        "epoch", "A loss", "A train", "A test", "B loss", "B train", "B test", "test B − A"
    );
    let (ea, eb) = (&a.meta.history.epochs, &b.meta.history.epochs);
    let find = |epochs: &[EpochSummary], n: u32| epochs.iter().find(|e| e.epoch == n).cloned();
    let last = ea.iter().chain(eb).map(|e| e.epoch).max().unwrap_or(0);
    for n in 1..=last {
        let (x, y) = (find(ea, n), find(eb, n));
        let cells = |e: &Option<EpochSummary>| match e {
            Some(e) => format!(
                "{:>7.4} {:>9.4} {:>8.4}",
                e.train_loss, e.train_acc, e.test_acc
            ),
            None => format!("{:>7} {:>9} {:>8}", "–", "–", "–"),
        };
        let delta = match (&x, &y) {
            (Some(x), Some(y)) => format!("{:>+12.4}", y.test_acc - x.test_acc),
            _ => format!("{:>12}", "–"),
        };
        let _ = writeln!(out, "{n:>5}  {}  │ {}  │ {delta}", cells(&x), cells(&y));
    }
    if last == 0 {
        let _ = writeln!(out, "(neither run has finished an epoch yet)");
    }
    let best = |epochs: &[EpochSummary]| {
        epochs
            .iter()
            .max_by(|p, q| p.test_acc.total_cmp(&q.test_acc))
            .map_or_else(
                || "–".to_string(),
                |e| format!("{:.4} (epoch {})", e.test_acc, e.epoch),
            )
    };
    let _ = writeln!(out, "best test acc: A {}, B {}", best(ea), best(eb));
    out
}

/// `lenet-tui compare`: the two runs' figure into the capture dir, its path and a
/// table of their epochs on stdout.
pub fn command(args: &CompareArgs) -> anyhow::Result<()> {
    let config = config::load(args.config.as_deref())?;
    let runs_dir = session::runs_dir(&config)?;
    let a = load_run(&args.run_a, &runs_dir)?;
    let b = load_run(&args.run_b, &runs_dir)?;
    let dir = capture::dir::resolve(args.capture_dir.as_deref(), config.capture.dir.as_deref());
    let scale = args
        .png_scale
        .or(config.capture.png_scale.map(|s| s.0))
        .unwrap_or(capture::DEFAULT_SCALE);
    let data = figure_data(&a, &b);
    let stem = figure_stem(&a, &b);
    let path = capture::figure::write_figure(&data, &dir, &stem, scale)
        .with_context(|| format!("writing the figure into {}", dir.display()))?;
    print!("{}", table(&a, &b));
    println!("figure: {} (and .svg)", path.display());
    let gradients = gradient_figure_data(&a, &b);
    if gradients.panels.iter().any(|p| !p.is_empty()) {
        let stem = format!("{stem}_gradients");
        let path = capture::figure::write_figure(&gradients, &dir, &stem, scale)
            .with_context(|| format!("writing the figure into {}", dir.display()))?;
        println!("gradient flow: {} (and .svg)", path.display());
    } else {
        println!(
            "gradient flow: neither run's checkpoints hold layer statistics (saved before they were measured)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Architecture, Pooling};
    use crate::train::checkpoint::{DataFacts, Position, WeightsFacts};
    use crate::train::{Change, History, MarkedChange, SaveReason, TrainSettings};

    fn saved(name: &str, pooling: Pooling, test_accs: &[f64]) -> SavedRun {
        let epochs = test_accs
            .iter()
            .enumerate()
            .map(|(i, &test_acc)| EpochSummary {
                epoch: i as u32 + 1,
                train_loss: 1.0 / (i as f64 + 1.0),
                train_acc: test_acc - 0.01,
                test_acc,
                examples_per_sec: 100.0,
                train_seconds: 1.0,
                eval_seconds: 0.1,
                layers: Vec::new(),
            })
            .collect();
        SavedRun {
            name: name.into(),
            checkpoint: PathBuf::from(format!("/runs/{name}/ckpt-0003")),
            meta: Meta {
                format: checkpoint::FORMAT,
                program: "lenet-tui test".into(),
                saved_at: "2026-11-30T00:00:00+00:00".into(),
                reason: SaveReason::EpochEnd,
                architecture: Architecture::default(),
                settings: TrainSettings {
                    pooling,
                    ..TrainSettings::default()
                },
                position: Position::start(10),
                data: DataFacts {
                    description: "test".into(),
                    dir: None,
                    train_examples: 10,
                    test_examples: 5,
                    classes: vec!["a".into()],
                },
                history: History {
                    epochs,
                    ..History::default()
                },
                weights: WeightsFacts { bytes: 0, crc32: 0 },
                rng: crate::rng::ALGORITHM.into(),
            },
        }
    }

    #[test]
    fn gradient_flow_of_both_runs_side_by_side_with_the_changes() {
        let mut a = saved("run-a", Pooling::Avg, &[0.5]);
        let stats = |grad_norm| crate::train::LayerStats {
            layer: "conv1".into(),
            grad_norm,
            weight_norm: 1.0,
            update_ratio: 0.1,
            act_mean: 0.5,
            act_std: 0.1,
            saturated: Some(0.0),
            dead: None,
            hist: vec![0; 16],
            hist_range: [0.0, 1.0],
        };
        a.meta.history.progress = (1..=4)
            .map(|i| crate::train::Progress {
                epoch: 1,
                at: f64::from(i) / 4.0,
                batch: i as usize,
                batches: 4,
                train_loss: 1.0,
                train_acc: 0.5,
                examples_per_sec: 1.0,
                layers: vec![stats(1e-3 * f64::from(i))],
            })
            .collect();
        a.meta.history.changes.push(MarkedChange {
            at: 0.5,
            change: Change::Pooling(Pooling::Max),
        });
        let b = saved("run-b", Pooling::Max, &[0.7]);
        let g = gradient_figure_data(&a, &b);
        assert_eq!(g.panels.len(), 2);
        assert_eq!(g.panels[0].layers[0].0, "conv1");
        assert_eq!(g.panels[0].layers[0].1.len(), 4);
        assert_eq!(g.panels[0].changes, [(0.5, "pool max".to_string())]);
        assert!(g.panels[1].is_empty(), "B measured nothing");
        assert!(g.panels[0].label.starts_with('A') && g.panels[1].label.starts_with('B'));
    }

    #[test]
    fn the_table_puts_each_epoch_of_both_runs_on_one_line() {
        let mut a = saved("run-a", Pooling::Avg, &[0.5, 0.6]);
        a.meta.history.changes.push(MarkedChange {
            at: 1.5,
            change: Change::Pooling(Pooling::Max),
        });
        let b = saved("run-b", Pooling::Max, &[0.7]);
        let text = table(&a, &b);
        assert!(
            text.contains("   changed during the run: pool max at 1.50"),
            "{text}"
        );
        assert!(
            text.contains("A  run-a: avg pooling, sigmoid, lr 0.9"),
            "{text}"
        );
        assert!(text.contains("B  run-b: max pooling"), "{text}");
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric))
            .collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert!(
            rows[0].contains("0.5000") && rows[0].contains("0.7000"),
            "{text}"
        );
        assert!(rows[0].ends_with("+0.2000"), "{text}");
        assert!(rows[1].contains('–'), "B has no epoch 2: {text}");
        assert!(
            text.contains("best test acc: A 0.6000 (epoch 2), B 0.7000 (epoch 1)"),
            "{text}"
        );
    }

    #[test]
    fn the_figure_labels_the_runs_by_settings() {
        let a = saved("2026-11-30_09-12-03", Pooling::Avg, &[0.5]);
        let b = saved("2026-11-30_10-00-00", Pooling::Max, &[0.7]);
        let data = figure_data(&a, &b);
        let legend: Vec<&str> = data.runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(legend, ["A avg/sigmoid", "B max/sigmoid"]);
        assert_eq!(data.runs[1].line, LineStyle::Dashed);
        assert_eq!(data.runs[0].test_acc, [(1.0, 0.5)]);
        assert!(data.title.contains("2026-11-30_09-12-03"));
        assert_eq!(
            figure_stem(&a, &b),
            "lenet-tui_compare_2026-11-30_09-12-03_vs_2026-11-30_10-00-00"
        );
        let same = saved("x y", Pooling::Avg, &[]);
        assert_eq!(labels(&a, &same), ["A avg/sigmoid #1", "B avg/sigmoid #2"]);
        assert_eq!(figure_stem(&same, &same), "lenet-tui_compare_x_y_vs_x_y");
    }

    #[test]
    fn a_missing_run_names_both_places_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_run("nope", dir.path()).unwrap_err().to_string();
        assert!(err.contains("nope: no such run"), "{err}");
        assert!(
            err.contains(&dir.path().join("nope").display().to_string()),
            "{err}"
        );
    }
}
