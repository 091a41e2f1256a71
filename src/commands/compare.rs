//! `lenet-tui compare RUN_A RUN_B`: two to four saved runs (or a race's variants) side
//! by side, from the metrics history in their newest checkpoints. The curves go into
//! one training figure (A solid, B dashed, C dotted, D long dashes) and the per-epoch
//! figures into a text table.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::capture;
use crate::capture::figure::{FigureData, FigureRun, LineStyle};
use crate::capture::gradients::{GradientFigure, GradientPanel};
use crate::cli::CompareArgs;
use crate::config;
use crate::session;
use crate::train::EpochSummary;
use crate::train::checkpoint::{RaceDir, ResumeFrom, SavedRun, find_run, load_found};
use crate::train::race::MAX_VARIANTS;
use crate::train::{RunRecipe, run_labels};

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

/// The runs' letters in tables and legends.
const LETTERS: [char; 4] = ['A', 'B', 'C', 'D'];

/// `A max/sigmoid`, `B avg/sigmoid`: the legend labels of the runs.
fn labels(runs: &[SavedRun]) -> Vec<String> {
    let recipes: Vec<RunRecipe> = runs.iter().map(recipe).collect();
    run_labels(&recipes)
        .into_iter()
        .zip(LETTERS)
        .map(|(name, letter)| format!("{letter} {name}"))
        .collect()
}

/// `A 2026-11-30_09-12-03 vs B …`: the runs by name, for titles.
fn names(runs: &[SavedRun]) -> String {
    runs.iter()
        .zip(LETTERS)
        .map(|(r, letter)| format!("{letter} {}", r.name))
        .collect::<Vec<_>>()
        .join(" vs ")
}

/// The figure of the runs: A solid, B dashed, C dotted, D long dashes, each
/// labelled by its settings.
pub fn figure_data(runs: &[SavedRun]) -> FigureData {
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
        title: format!("LeNet-5: {}", names(runs)),
        epochs: epochs(runs),
        runs: runs
            .iter()
            .zip(labels(runs))
            .zip(LineStyle::EACH)
            .map(|((r, label), line)| run(r, label, line))
            .collect(),
        changes: Vec::new(),
    }
}

/// The x axis the figures share: the longest run's epochs, planned or trained.
fn epochs(runs: &[SavedRun]) -> f64 {
    runs.iter()
        .map(|r| f64::from(r.meta.settings.epochs.get()).max(r.meta.position.at()))
        .fold(1.0, f64::max)
}

/// The runs' gradient flow side by side, on one scale, each with its setting changes.
pub fn gradient_figure_data(runs: &[SavedRun]) -> GradientFigure {
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
        title: format!("Gradient flow: {}", names(runs)),
        epochs: epochs(runs),
        panels: runs
            .iter()
            .zip(labels(runs))
            .map(|(r, label)| panel(r, label))
            .collect(),
    }
}

/// The file stem for the comparison figure: `lenet-tui_compare_A_vs_B`.
pub fn figure_stem(runs: &[SavedRun]) -> String {
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
    let names: Vec<String> = runs.iter().map(|r| safe(&r.name)).collect();
    format!("lenet-tui_compare_{}", names.join("_vs_"))
}

/// The runs described, then their per-epoch figures side by side and the best test
/// accuracy of each; two runs also get the difference of their test accuracies.
pub fn table(runs: &[SavedRun]) -> String {
    let mut out = describe(runs);
    let _ = writeln!(out);
    out.push_str(&epoch_rows(runs));
    let best = |epochs: &[EpochSummary]| {
        epochs
            .iter()
            .max_by(|p, q| p.test_acc.total_cmp(&q.test_acc))
            .map_or_else(
                || "–".to_string(),
                |e| format!("{:.4} (epoch {})", e.test_acc, e.epoch),
            )
    };
    let bests: Vec<String> = runs
        .iter()
        .zip(LETTERS)
        .map(|(r, letter)| format!("{letter} {}", best(&r.meta.history.epochs)))
        .collect();
    let _ = writeln!(out, "best test acc: {}", bests.join(", "));
    out
}

/// One line per run: its letter, name, recipe, position and checkpoint, and the
/// settings changed during it.
fn describe(runs: &[SavedRun]) -> String {
    let mut out = String::new();
    for (run, label) in runs.iter().zip(&labels(runs)) {
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
    out
}

/// The header and one row per epoch: each run's loss, train and test accuracy side by
/// side (– where it has no such epoch), and for two runs the difference in test
/// accuracy.
fn epoch_rows(runs: &[SavedRun]) -> String {
    let mut out = String::new();
    let two = runs.len() == 2;
    let mut header = format!("{:>5} ", "epoch");
    for letter in LETTERS.iter().take(runs.len()) {
        let _ = write!(
            header,
            " {:>7} {:>9} {:>8}  │",
            format!("{letter} loss"),
            format!("{letter} train"),
            format!("{letter} test")
        );
    }
    if two {
        let _ = write!(header, " {:>12}", "test B − A");
    }
    let _ = writeln!(out, "{}", header.trim_end_matches('│').trim_end());
    let find = |epochs: &[EpochSummary], n: u32| epochs.iter().find(|e| e.epoch == n).cloned();
    let last = runs
        .iter()
        .flat_map(|r| &r.meta.history.epochs)
        .map(|e| e.epoch)
        .max()
        .unwrap_or(0);
    for n in 1..=last {
        let found: Vec<Option<EpochSummary>> = runs
            .iter()
            .map(|r| find(&r.meta.history.epochs, n))
            .collect();
        let cells: Vec<String> = found
            .iter()
            .map(|e| match e {
                Some(e) => format!(
                    "{:>7.4} {:>9.4} {:>8.4}",
                    e.train_loss, e.train_acc, e.test_acc
                ),
                None => format!("{:>7} {:>9} {:>8}", "–", "–", "–"),
            })
            .collect();
        let mut line = format!("{n:>5}  {}", cells.join("  │ "));
        if two {
            let delta = match (&found[0], &found[1]) {
                (Some(x), Some(y)) => format!("{:>+12.4}", y.test_acc - x.test_acc),
                _ => format!("{:>12}", "–"),
            };
            let _ = write!(line, "  │ {delta}");
        }
        let _ = writeln!(out, "{line}");
    }
    if last == 0 {
        let _ = writeln!(out, "(no run has finished an epoch yet)");
    }
    out
}

/// Says on stderr, as `--resume` and `predict` do, that a damaged checkpoint was
/// passed over.
fn warn(warning: Option<String>) {
    if let Some(w) = warning {
        tracing::warn!("{w}");
        eprintln!("lenet-tui: warning: {w}");
    }
}

/// The runs `args` name, a race's directory standing for its variants, in race order.
fn load_runs(args: &[String], runs_dir: &Path) -> anyhow::Result<Vec<SavedRun>> {
    let mut runs = Vec::new();
    for arg in args {
        let from = find_run(arg, runs_dir)?;
        let race = match &from {
            ResumeFrom::Path(path) => RaceDir::open(path)?,
            ResumeFrom::Latest => None,
        };
        match race {
            Some(race) => {
                for entry in &race.variants {
                    let variant = ResumeFrom::Path(race.run_dir(entry));
                    let (mut run, warning) = load_found(&variant, runs_dir)?;
                    warn(warning.map(|w| format!("variant `{}`: {w}", entry.label)));
                    run.name = format!("{} {}", entry.dir, entry.label);
                    runs.push(run);
                }
            }
            None => {
                let (run, warning) = load_found(&from, runs_dir)?;
                warn(warning);
                runs.push(run);
            }
        }
    }
    match runs.len() {
        2..=MAX_VARIANTS => Ok(runs),
        n => anyhow::bail!(
            "compare takes two to four runs (a race's directory counts as its variants), \
             got {n} from {}",
            args.join(" ")
        ),
    }
}

/// `lenet-tui compare`: the runs' figure into the capture dir, its path and a table
/// of their epochs on stdout.
pub fn command(args: &CompareArgs) -> anyhow::Result<()> {
    let config = config::load(args.config.as_deref())?;
    let runs_dir = session::runs_dir(&config)?;
    let runs = load_runs(&args.runs, &runs_dir)?;
    let dir = capture::dir::resolve(args.capture_dir.as_deref(), config.capture.dir.as_deref());
    let scale = args
        .png_scale
        .or(config.capture.png_scale.map(|s| s.0))
        .unwrap_or(capture::DEFAULT_SCALE);
    let data = figure_data(&runs);
    let stem = figure_stem(&runs);
    let path = capture::figure::write_figure(&data, &dir, &stem, scale)
        .with_context(|| format!("writing the figure into {}", dir.display()))?;
    print!("{}", table(&runs));
    println!("figure: {} (and .svg)", path.display());
    let gradients = gradient_figure_data(&runs);
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
    use crate::train::checkpoint::{self, DataFacts, Meta, Position, WeightsFacts};
    use crate::train::{Change, History, MarkedChange, SaveReason, TrainSettings};
    use std::path::PathBuf;

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
                class_acc: Vec::new(),
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
        let g = gradient_figure_data(&[a, b]);
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
        let text = table(&[a, b]);
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
        let data = figure_data(&[a.clone(), b.clone()]);
        let legend: Vec<&str> = data.runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(legend, ["A avg/sigmoid", "B max/sigmoid"]);
        assert_eq!(data.runs[1].line, LineStyle::Dashed);
        assert_eq!(data.runs[0].test_acc, [(1.0, 0.5)]);
        assert!(data.title.contains("2026-11-30_09-12-03"));
        assert_eq!(
            figure_stem(&[a.clone(), b]),
            "lenet-tui_compare_2026-11-30_09-12-03_vs_2026-11-30_10-00-00"
        );
        let same = saved("x y", Pooling::Avg, &[]);
        assert_eq!(
            labels(&[a.clone(), same.clone()]),
            ["A avg/sigmoid #1", "B avg/sigmoid #2"]
        );
        assert_eq!(
            figure_stem(&[same.clone(), same.clone()]),
            "lenet-tui_compare_x_y_vs_x_y"
        );
        // Four runs: a line style and a letter each, and no B − A column.
        let four = [a, same.clone(), same.clone(), same];
        let data = figure_data(&four);
        let lines: Vec<LineStyle> = data.runs.iter().map(|r| r.line).collect();
        assert_eq!(lines, LineStyle::EACH);
        assert!(data.runs[3].label.starts_with("D "));
        let text = table(&four);
        assert!(text.contains("D loss") && !text.contains("B − A"), "{text}");
    }
}
