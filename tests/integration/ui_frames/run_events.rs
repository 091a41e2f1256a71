//! What the trainer's news does to the frame: a divergence, a restore, a restart, a
//! look back, a replay.

use super::*;

#[test]
fn a_divergence_says_where_and_offers_the_keys() {
    let mut app = app_midway(ColorDepth::Ansi256);
    let good = std::path::PathBuf::from("/runs/2026-11-30_10-00-00/ckpt-0003");
    app.on_event(Event::Saved(Saved {
        path: good.clone(),
        reason: SaveReason::EpochEnd,
        at: 3.0,
    }));
    app.on_event(Event::Diverged(Divergence {
        epoch: 4,
        batch: 7,
        loss: f64::NAN,
        last_good: Some(good),
    }));
    assert!(matches!(app.run().state, RunState::Diverged(_)));
    let terminal = draw(&app, 120, 36);
    let text = terminal.backend().to_string();
    assert!(
        text.contains("Training diverged at epoch 4 batch 7 (loss NaN)."),
        "{text}"
    );
    assert!(text.contains("back to the last good checkpoint"), "{text}");
    assert!(text.contains("✖ diverged"), "{text}");
    snapshot("diverged_120x36", &terminal);
    assert_eq!(
        app.on_action(Action::RestoreGood),
        vec![lenet_tui::ui::app::Effect::Trainer(
            lenet_tui::train::Command::RestoreLastGood
        )]
    );
}

#[test]
fn a_restored_run_shows_its_history() {
    let dataset = Arc::new(Dataset::embedded());
    let mut app = App::new(dataset, theme(ColorDepth::Ansi256), KeyMap::default());
    let progress = |at: f64, loss: f64| Progress {
        epoch: at.ceil() as u32,
        at,
        batch: 1,
        batches: 10,
        train_loss: loss,
        train_acc: 0.5,
        examples_per_sec: 1000.0,
        layers: Vec::new(),
    };
    let history = History {
        progress: (1..=15)
            .map(|i| progress(f64::from(i) / 10.0, 2.3 - f64::from(i) / 10.0))
            .collect(),
        epochs: vec![EpochSummary {
            epoch: 1,
            train_loss: 1.4,
            train_acc: 0.5,
            test_acc: 0.6,
            examples_per_sec: 1000.0,
            train_seconds: 6.0,
            eval_seconds: 0.5,
            layers: Vec::new(),
            class_acc: Vec::new(),
        }],
        changes: vec![MarkedChange {
            at: 0.5,
            change: Change::Pooling(Pooling::Max),
        }],
    };
    let settings = TrainSettings {
        pooling: Pooling::Max,
        ..TrainSettings::default()
    };
    app.on_event(Event::Restored(Restored {
        from: "/runs/r/ckpt-0002".into(),
        at: 1.5,
        settings,
        history,
    }));
    assert_eq!(app.run().curves.loss.points().len(), 15);
    assert_eq!(app.run().curves.test_acc.points(), [(1.0, 0.6)]);
    assert_eq!(app.run().changes[0].label, "pool max");
    assert_eq!(app.run().settings.pooling, Pooling::Max);
    assert_eq!(app.run().at, 1.5);
    assert_eq!(
        app.screen.status.as_deref(),
        Some("restored r/ckpt-0002 (epoch 1.50)")
    );
}

#[test]
fn a_restart_leaves_the_earlier_run_faint_on_the_charts() {
    let mut app = app_midway(ColorDepth::Ansi256);
    app.on_event(Event::Changed {
        at: 3.0,
        change: Change::Restarted,
    });
    for step in 1..=5 {
        let at = f64::from(step) / 5.0;
        app.on_event(Event::Progress(Progress {
            epoch: 1,
            at,
            batch: 1,
            batches: 24,
            train_loss: 1.0 / (1.0 + at),
            train_acc: 0.4 + 0.3 * at,
            examples_per_sec: 1234.5,
            layers: Vec::new(),
        }));
    }
    let mut terminal = Terminal::new(TestBackend::new(60, 14)).unwrap();
    terminal
        .draw(|f| charts::render_loss(&app.runs, &app.screen, f, f.area()))
        .unwrap();
    let text = terminal.backend().to_string();
    assert!(
        text.contains("avg/sigmoid") && text.contains("max/sigmoid"),
        "the old run (started avg) and the new one (max):\n{text}"
    );
    snapshot("panel_loss_two_runs", &terminal);
    // The old curve is drawn in the faint colour, the new one in the full one.
    let buffer = terminal.backend().buffer();
    let braille = |colour| {
        buffer
            .content()
            .iter()
            .filter(|c| {
                c.symbol()
                    .chars()
                    .any(|ch| ('\u{2801}'..='\u{28ff}').contains(&ch))
                    && Some(c.fg) == colour
            })
            .count()
    };
    let t = &app.screen.theme;
    assert_ne!(t.past_loss.fg, t.loss.fg);
    assert!(
        braille(t.past_loss.fg) > 10 && braille(t.loss.fg) >= 3,
        "{text}"
    );

    let mut terminal = Terminal::new(TestBackend::new(70, 16)).unwrap();
    terminal
        .draw(|f| charts::render_accuracy(&app.runs, &app.screen, f, f.area()))
        .unwrap();
    let text = terminal.backend().to_string();
    for label in [
        "avg/sigmoid train",
        "avg/sigmoid test",
        "max/sigmoid train",
        "max/sigmoid test",
    ] {
        assert!(text.contains(label), "{label}:\n{text}");
    }
}

/// The model as it was at 1.4 epochs: other activations, another prediction, and
/// the first epoch's confusion matrix.
fn looking_back(app: &mut App) {
    use lenet_tui::train::PastView;
    use lenet_tui::train::timeline::{EpochConfusion, Moment};
    let dataset = app.runs.dataset.clone();
    let mut then = report(&dataset, app.screen.probes[0], 6);
    for v in then
        .probe
        .layer1
        .values
        .iter_mut()
        .chain(&mut then.probe.layer2.values)
    {
        *v = 1.0 - *v;
    }
    let mut confusion = vec![0u64; 100];
    for c in 0..10 {
        confusion[c * 10 + c] = 60;
        confusion[c * 10 + (c + 1) % 10] = 40;
    }
    app.on_event(Event::Recalled(Some(PastView {
        moment: Moment {
            at: 1.4,
            epoch: 2,
            batch: 10,
            batches: 24,
            pooling: Pooling::Avg,
            activation: lenet_tui::model::Activation::Sigmoid,
            learning_rate: 0.9,
        },
        reports: vec![then],
        kernels: Some({
            let mut k = first_kernels();
            k.values.iter_mut().for_each(|v| *v = -*v);
            k
        }),
        confusion: Some(EpochConfusion {
            epoch: 1,
            matrix: ConfusionMatrix::from_counts(10, confusion).unwrap(),
        }),
    })));
}

#[test]
fn looking_back_shows_the_past_model_and_says_so() {
    let mut app = app_with_panels(ColorDepth::Ansi256);
    let live = draw(&app, 160, 48).backend().to_string();
    looking_back(&mut app);
    let terminal = draw(&app, 160, 48);
    let text = terminal.backend().to_string();
    assert!(text.contains("◀ history: epoch 1.40 of 10"), "{text}");
    assert!(
        text.contains("history @ epoch 1.40"),
        "the charts mark the moment: {text}"
    );
    // The activations and the confusion matrix are the past's, not the live ones.
    let lines = |t: &str| t.lines().map(str::to_owned).collect::<Vec<_>>();
    let changed = lines(&live)
        .iter()
        .zip(lines(&text))
        .filter(|(a, b)| *a != b)
        .count();
    assert!(changed > 20, "only {changed} lines differ: {text}");
    snapshot("frame_history_160x48", &terminal);
    snapshot("frame_history_120x36", &draw(&app, 120, 36));
}

#[test]
fn a_replay_says_so_and_shows_the_recorded_run() {
    let mut app = app_midway(ColorDepth::Ansi256);
    app.runs.replay = Some("2026-12-02T10-00-00".into());
    app.run_mut().state = RunState::Running;
    let terminal = draw(&app, 120, 36);
    let text = terminal.backend().to_string();
    assert!(text.contains("▶ replaying"), "{text}");
    snapshot("frame_replay_120x36", &terminal);
    app.run_mut().state = RunState::Finished;
    let text = draw(&app, 120, 36).backend().to_string();
    assert!(text.contains("end of replay"), "{text}");
}
