//! Whole frames and single panels drawn into ratatui's `TestBackend`, compared with
//! insta snapshots (speeds and times redacted), plus sizes that must not panic. Every
//! snapshot is taken by [`snapshot`], here, so that each is named after this module
//! whichever submodule its test lives in.

mod chart_view;
mod draw_mode;
mod inside;
mod race;
mod run_events;
mod sizes;

use std::sync::Arc;

use candle_core::Device;
use lenet_tui::data::Dataset;
use lenet_tui::data::own::ImageId;
use lenet_tui::model::{ActivationMap, Architecture, LeNet, Pooling, Probe};
use lenet_tui::train::{
    Change, ConfusionMatrix, ConvKernels, Divergence, EpochSummary, Event, History, LayerStats,
    MarkedChange, ProbeReport, Progress, Restored, RunInfo, SaveReason, Saved, TrainSettings,
};
use lenet_tui::ui::app::{App, Panel, RunState};
use lenet_tui::ui::keys::{Action, KeyMap};
use lenet_tui::ui::render::render;
use lenet_tui::ui::theme::{ChartMarker, ColorDepth, Theme, ThemeKind};
use lenet_tui::ui::widgets::{
    activations, charts, confusion, footer, header, kernels, layers, probabilities,
};
use rand::SeedableRng;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn theme(depth: ColorDepth) -> Theme {
    Theme::new(ThemeKind::Dark, depth, ChartMarker::Braille)
}

/// A synthetic map whose values depend only on its position.
fn map(channels: usize, side: usize) -> ActivationMap {
    let values = (0..channels * side * side)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    ActivationMap {
        channels,
        height: side,
        width: side,
        values,
    }
}

/// Six 5×5 kernels with weights from -0.4 to 0.4 in a pattern per kernel.
fn first_kernels() -> ConvKernels {
    ConvKernels {
        out_channels: 6,
        in_channels: 1,
        rows: 5,
        cols: 5,
        values: (0..150)
            .map(|i| ((i * 29) % 41) as f32 / 50.0 - 0.4)
            .collect(),
    }
}

/// The embedded test set (100 images a class) after an epoch: mostly right, shirts
/// often taken for T-shirts.
fn test_confusion() -> ConfusionMatrix {
    let mut counts = vec![0u64; 100];
    let mistakes = [
        (6, 0, 15),
        (6, 2, 8),
        (6, 4, 7),
        (4, 2, 12),
        (2, 4, 10),
        (0, 6, 9),
        (9, 7, 5),
        (7, 9, 6),
        (5, 7, 4),
        (3, 0, 3),
    ];
    for (t, p, n) in mistakes {
        counts[t * 10 + p] = n;
    }
    for c in 0..10 {
        let wrong: u64 = counts[c * 10..c * 10 + 10].iter().sum();
        counts[c * 10 + c] = 100 - wrong;
    }
    ConfusionMatrix::from_counts(10, counts).unwrap()
}

fn report(dataset: &Dataset, index: usize, predicted: usize) -> ProbeReport {
    // 82 % for the prediction, the rest spread unevenly so bars of several lengths show.
    let mut probabilities: Vec<f32> = (0..10).map(|c| (c + 1) as f32).collect();
    probabilities[predicted] = 0.0;
    let rest: f32 = probabilities.iter().sum();
    for p in &mut probabilities {
        *p *= 0.18 / rest;
    }
    probabilities[predicted] = 0.82;
    ProbeReport {
        id: ImageId::Test(index),
        label: Some(usize::from(dataset.test.labels[index])),
        predicted,
        image: dataset.test.image(index),
        rows: 28,
        cols: 28,
        probe: Probe {
            layer1: map(6, 28),
            layer2: map(16, 10),
            probabilities,
        },
    }
}

/// Sigmoid-like figures at `at` epochs: gradients a decade smaller per layer towards
/// the input, growing as the run goes on; the first layer a quarter saturated.
fn layer_stats(at: f64) -> Vec<LayerStats> {
    ["conv1", "conv2", "fc1", "fc2", "fc3"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let grad_norm = 10f64.powf(i as f64 - 4.0 + at / 3.0);
            let last = i == 4;
            LayerStats {
                layer: (*name).into(),
                grad_norm,
                weight_norm: 2.0,
                update_ratio: 0.9 * grad_norm / 2.0,
                act_mean: 0.5,
                act_std: 0.1,
                saturated: (!last).then_some(0.25 / (i + 1) as f64),
                dead: None,
                hist: (0..16u32).map(|b| (b * (15 - b) + i as u32) * 10).collect(),
                hist_range: [0.0, 1.0],
            }
        })
        .collect()
}

/// A dashboard three epochs into a ten-epoch run, with a pooling swap at 2.5.
/// The trainer's start event for a run of `model` on the embedded subset.
fn started(dataset: &Dataset, settings: TrainSettings, model: &LeNet) -> Event {
    Event::Started(RunInfo {
        data: "embedded Fashion-MNIST subset (6000 train / 1000 test images)".into(),
        device: "cpu".into(),
        train_examples: 6000,
        test_examples: 1000,
        classes: dataset.classes.clone(),
        batches_per_epoch: 24,
        settings,
        layers: model.layer_table().unwrap(),
    })
}

fn app_midway(depth: ColorDepth) -> App {
    let dataset = Arc::new(Dataset::embedded());
    let mut app = App::new(dataset.clone(), theme(depth), KeyMap::default());
    let mut rng = lenet_tui::rng::SeededRng::seed_from_u64(1);
    let model = LeNet::new(
        &Architecture::default(),
        Pooling::Avg,
        lenet_tui::model::Activation::Sigmoid,
        &Device::Cpu,
        &mut rng,
    )
    .unwrap();
    app.on_event(started(&dataset, TrainSettings::default(), &model));
    for step in 1..=15 {
        let at = f64::from(step) / 5.0;
        app.on_event(Event::Progress(Progress {
            epoch: ((step - 1) / 5 + 1) as u32,
            at,
            batch: 1,
            batches: 24,
            train_loss: 2.3 / (1.0 + at),
            train_acc: 0.1 + 0.2 * at,
            examples_per_sec: 1234.5,
            layers: layer_stats(at),
        }));
        if step % 5 == 0 {
            app.on_event(Event::Confusion {
                epoch: (step / 5) as u32,
                matrix: test_confusion(),
            });
            app.on_event(Event::EpochFinished(EpochSummary {
                epoch: (step / 5) as u32,
                train_loss: 2.3 / (1.0 + at),
                train_acc: 0.1 + 0.2 * at,
                test_acc: 0.15 * at,
                examples_per_sec: 1234.5,
                train_seconds: 4.9,
                eval_seconds: 0.4,
                layers: Vec::new(),
                class_acc: Vec::new(),
            }));
        }
    }
    app.on_event(Event::Changed {
        at: 2.5,
        change: Change::Pooling(Pooling::Max),
    });
    let mut max_model = model;
    max_model.pooling = Pooling::Max;
    app.on_event(Event::Layers(max_model.layer_table().unwrap()));
    app.on_event(Event::Activations {
        reports: vec![report(&dataset, app.screen.probes[0], 4)],
        kernels: Some(first_kernels()),
        periodic: false,
    });
    app
}

/// `app_midway` with every optional panel shown.
fn app_with_panels(depth: ColorDepth) -> App {
    let mut app = app_midway(depth);
    for action in [
        Action::ToggleProbabilities,
        Action::ToggleConfusion,
        Action::ToggleKernels,
    ] {
        app.on_action(action);
    }
    // `c` put a cursor on the matrix: away with it, the panels as they stand.
    app.update(lenet_tui::ui::app::Message::Key(
        lenet_tui::ui::keys::Key::plain(crossterm::event::KeyCode::Esc),
    ));
    assert!(app.screen.inspect.is_none());
    assert_eq!(app.screen.panels, Panel::ALL[..3]);
    app
}

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| render(&app.runs, &app.screen, f))
        .unwrap();
    terminal
}

fn snapshot(name: &str, terminal: &Terminal<TestBackend>) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d+ ex/s", "[speed] ex/s");
    settings.add_filter(r"ETA \d+:\d\d(:\d\d)?", "ETA [eta]");
    settings.bind(|| insta::assert_snapshot!(name, terminal.backend()));
}

#[test]
fn whole_frame_at_160_by_48() {
    let app = app_midway(ColorDepth::Ansi256);
    snapshot("frame_160x48", &draw(&app, 160, 48));
}

#[test]
fn whole_frame_at_120_by_36() {
    let app = app_midway(ColorDepth::Ansi256);
    snapshot("frame_120x36", &draw(&app, 120, 36));
}

#[test]
fn whole_frame_at_80_by_24() {
    let app = app_midway(ColorDepth::Ansi256);
    let terminal = draw(&app, 80, 24);
    snapshot("frame_80x24", &terminal);
    // The compact table still shows every layer with parameters.
    let text = terminal.backend().to_string();
    assert!(
        text.contains("MaxPool2d") && text.contains("61,706"),
        "{text}"
    );
}

/// Compare mode, with the probe reports of a pullover (left) and a coat (right).
fn compare_pullover_and_coat(app: &mut App) {
    app.on_action(Action::Compare);
    let dataset = app.runs.dataset.clone();
    app.on_event(Event::Activations {
        reports: vec![
            report(&dataset, app.screen.probes[0], 2),
            report(&dataset, app.screen.probes[1], 6),
        ],
        kernels: Some(first_kernels()),
        periodic: false,
    });
}

#[test]
fn compare_mode_shows_a_pullover_beside_a_coat() {
    let mut app = app_midway(ColorDepth::Ansi256);
    compare_pullover_and_coat(&mut app);
    let terminal = draw(&app, 160, 48);
    let text = terminal.backend().to_string();
    assert!(text.contains("Pullover") && text.contains("Coat"), "{text}");
    assert!(
        text.contains("▶ #"),
        "the side the arrows move is marked: {text}"
    );
    snapshot("frame_compare_160x48", &terminal);
}

#[test]
fn help_and_confirmations_overlay_the_frame() {
    let mut app = app_midway(ColorDepth::Ansi256);
    app.on_action(Action::Help);
    snapshot("help_120x36", &draw(&app, 120, 36));
    app.on_unbound_key();
    app.on_action(Action::Quit);
    let text = draw(&app, 120, 36).backend().to_string();
    assert!(text.contains("Press q again to quit"), "{text}");
}

#[test]
fn help_lists_every_key_even_at_80_by_24() {
    let mut app = app_midway(ColorDepth::Ansi256);
    app.on_action(Action::Help);
    let text = draw(&app, 80, 24).backend().to_string();
    for what in [
        "pause / resume training",
        "confusion / kernels / gradients",
        "history: back / forward / first / live",
        "quit at once",
    ] {
        assert!(text.contains(what), "{what}:\n{text}");
    }
}

#[test]
fn without_colour_heatmaps_use_shade_glyphs() {
    let app = app_midway(ColorDepth::None);
    let text = draw(&app, 160, 48).backend().to_string();
    assert!(!text.contains('▀'), "no half blocks without colour");
    assert!(text.contains('▓') && text.contains('░'), "{text}");
}

#[test]
fn heatmap_cells_carry_colours() {
    let app = app_midway(ColorDepth::Truecolor);
    let terminal = draw(&app, 160, 48);
    let buffer = terminal.backend().buffer();
    let coloured = buffer
        .content()
        .iter()
        .filter(|c| c.symbol() == "▀" && matches!(c.bg, ratatui::style::Color::Rgb(..)))
        .count();
    // 28×14 image cells plus the maps.
    assert!(coloured > 28 * 14, "{coloured}");
}

#[test]
fn each_panel_on_its_own() {
    let app = app_midway(ColorDepth::Ansi256);
    let panel = |name: &str, w: u16, h: u16, f: &dyn Fn(&App, &mut ratatui::Frame)| {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|frame| f(&app, frame)).unwrap();
        snapshot(name, &terminal);
    };
    panel("panel_header", 120, 2, &|a, f| {
        header::render(&a.runs, &a.screen, f, f.area())
    });
    panel("panel_loss", 60, 14, &|a, f| {
        charts::render_loss(&a.runs, &a.screen, f, f.area())
    });
    panel("panel_accuracy", 60, 14, &|a, f| {
        charts::render_accuracy(&a.runs, &a.screen, f, f.area())
    });
    panel("panel_layers", 31, 16, &|a, f| {
        layers::render(&a.runs, &a.screen, f, f.area())
    });
    panel("panel_activations", 120, 18, &|a, f| {
        activations::render(&a.runs, &a.screen, f, f.area())
    });
    panel("panel_footer", 120, 1, &|a, f| {
        footer::render(&a.runs, &a.screen, f, f.area())
    });
}

#[test]
fn a_gpu_run_names_the_gpu_and_shows_its_load() {
    let mut app = app_midway(ColorDepth::Ansi256);
    app.run_mut().info.as_mut().unwrap().device = "cuda:0 NVIDIA H200".into();
    let before = draw(&app, 160, 48).backend().to_string();
    assert!(before.contains("cuda:0 NVIDIA H200") && !before.contains("GiB"));
    app.on_event(Event::Gpu(lenet_tui::device::GpuStats {
        memory_used: 2_254_857_830,
        memory_total: 150_323_855_360,
        utilization: 37,
    }));
    let text = draw(&app, 160, 48).backend().to_string();
    assert!(
        text.contains("cuda:0 NVIDIA H200 37% · 2.1/140 GiB"),
        "{text}"
    );
}

#[test]
fn a_configured_variant_shows_its_own_layers_and_maps() {
    let mut app = app_midway(ColorDepth::Ansi256);
    let block = |c, k, p, pool| lenet_tui::model::ConvBlock {
        out_channels: c,
        kernel: k,
        padding: p,
        stride: 1,
        pool,
    };
    let arch = Architecture {
        convs: vec![block(16, 5, 2, 2), block(32, 3, 1, 2), block(8, 3, 1, 1)],
        dense: vec![64],
        ..Architecture::default()
    };
    let mut rng = lenet_tui::rng::SeededRng::seed_from_u64(1);
    let model = LeNet::new(
        &arch,
        Pooling::Max,
        lenet_tui::model::Activation::Relu,
        &Device::Cpu,
        &mut rng,
    )
    .unwrap();
    app.on_event(Event::Layers(model.layer_table().unwrap()));
    let dataset = app.runs.dataset.clone();
    let mut wide = report(&dataset, app.screen.probes[0], 4);
    wide.probe.layer1 = map(16, 28);
    wide.probe.layer2 = map(32, 14);
    app.on_event(Event::Activations {
        reports: vec![wide],
        periodic: false,
        kernels: None,
    });
    for (w, h) in [(120, 36), (160, 48)] {
        let text = draw(&app, w, h).backend().to_string();
        assert!(
            text.contains("16×28×28") && text.contains("32×14×14"),
            "{w}×{h}:\n{text}"
        );
        // Three conv rows in the shape table, and the unpooled third block's 8×7×7.
        assert!(text.matches("Conv2d").count() >= 3, "{w}×{h}:\n{text}");
        assert!(text.contains(" 8×7×7 "), "{w}×{h}:\n{text}");
    }
}

#[test]
fn gradient_flow_at_120_by_36_and_160_by_48() {
    let mut app = app_midway(ColorDepth::Ansi256);
    app.on_action(Action::ToggleDiagnostics);
    assert_eq!(app.screen.panels, [Panel::Diagnostics]);
    for (w, h) in [(120, 36), (160, 48)] {
        let terminal = draw(&app, w, h);
        let text = terminal.backend().to_string();
        for what in [
            "Gradient flow",
            "conv1",
            "conv2",
            "fc1",
            "fc2",
            "fc3",
            "25 % saturated",
            "13 % saturated",
            "logits",
            "1e-4",
            "Activations",
        ] {
            assert!(text.contains(what), "{w}×{h}: {what}:\n{text}");
        }
        // The table's names are the legend: each in its line's colour.
        let buffer = terminal.backend().buffer();
        for (i, name) in ["conv1", "conv2", "fc1", "fc2", "fc3"].iter().enumerate() {
            let at = (0..buffer.area.height)
                .flat_map(|y| (0..buffer.area.width).map(move |x| (x, y)))
                .rfind(|&(x, y)| {
                    (0..name.len() as u16).all(|k| {
                        x + k < buffer.area.width
                            && buffer[(x + k, y)].symbol() == &name[k as usize..=k as usize]
                    })
                })
                .expect("the layer's row");
            assert_eq!(
                buffer[at].fg,
                app.screen.theme.layer_lines[i].fg.unwrap(),
                "{w}×{h}: {name}'s colour"
            );
        }
        assert!(!text.contains("no room for"), "{w}×{h}:\n{text}");
        snapshot(&format!("frame_gradient_flow_{w}x{h}"), &terminal);
    }
    // 80×24 has no room beside the activations: the panel is named.
    let small = draw(&app, 80, 24).backend().to_string();
    assert!(small.contains("no room for: gradient flow"), "{small}");
    // `d` again hides it.
    app.on_action(Action::ToggleDiagnostics);
    assert!(
        !draw(&app, 120, 36)
            .backend()
            .to_string()
            .contains("Gradient flow")
    );
}

#[test]
fn panels_beside_the_activations_at_120_by_36_and_160_by_48() {
    let app = app_with_panels(ColorDepth::Ansi256);
    let big = draw(&app, 160, 48);
    let text = big.backend().to_string();
    for what in [
        "Probabilities",
        "Confusion · epoch 3",
        "most confused: Shirt → T-shirt/top (15)",
        "Kernels · layer 1, 6 of 5×5",
        "Activations",
    ] {
        assert!(text.contains(what), "{what}:\n{text}");
    }
    assert!(!text.contains("no room for"), "{text}");
    snapshot("frame_panels_160x48", &big);

    let mid = draw(&app, 120, 36);
    let text = mid.backend().to_string();
    for what in [
        "Probabilities",
        "Confusion",
        "Kernels",
        "Shirt → T-shirt/top (15)",
    ] {
        assert!(text.contains(what), "{what}:\n{text}");
    }
    snapshot("frame_panels_120x36", &mid);

    // 80×24 keeps what fits and names the rest.
    let small = draw(&app, 80, 24).backend().to_string();
    assert!(small.contains("Probabilities"), "{small}");
    assert!(
        small.contains("no room for: confusion matrix, kernels"),
        "{small}"
    );
}

#[test]
fn compare_mode_puts_two_images_bars_side_by_side() {
    let mut app = app_with_panels(ColorDepth::Ansi256);
    compare_pullover_and_coat(&mut app);
    let terminal = draw(&app, 160, 48);
    let text = terminal.backend().to_string();
    let header = format!("#{} ", app.screen.probes[0]);
    assert!(text.contains(&header), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("Pullover") && l.matches('%').count() >= 2),
        "two bars a class:\n{text}"
    );
    snapshot("frame_panels_compare_160x48", &terminal);
}

#[test]
fn each_new_panel_on_its_own() {
    let app = app_with_panels(ColorDepth::Ansi256);
    let panel = |name: &str, w: u16, h: u16, f: &dyn Fn(&App, &mut ratatui::Frame)| {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|frame| f(&app, frame)).unwrap();
        snapshot(name, &terminal);
        terminal.backend().to_string()
    };
    let probs = panel("panel_probabilities", 36, 13, &|a, f| {
        probabilities::render(&a.runs, &a.screen, f, f.area())
    });
    // The prediction (Coat, 82 %) has the longest bar; every class is listed.
    let coat = probs.lines().find(|l| l.contains("Coat")).unwrap();
    assert!(coat.contains("82%") && coat.contains("████████"), "{probs}");
    assert_eq!(probs.matches('%').count(), 10, "{probs}");
    let short = panel("panel_probabilities_short", 36, 6, &|a, f| {
        probabilities::render(&a.runs, &a.screen, f, f.area())
    });
    assert!(short.contains("Coat"), "the most probable stays: {short}");

    let matrix = panel("panel_confusion", 59, 14, &|a, f| {
        confusion::render(&a.runs, &a.screen, f, f.area())
    });
    let shirt = matrix.lines().find(|l| l.contains("│      Shirt")).unwrap();
    assert!(shirt.contains("15") && shirt.contains("70%"), "{matrix}");
    assert!(matrix.contains("most confused: Shirt → T-shirt/top (15)"));
    let compact = panel("panel_confusion_compact", 30, 8, &|a, f| {
        confusion::render(&a.runs, &a.screen, f, f.area())
    });
    assert!(
        compact.contains('▀') && compact.contains("Shirt → T-shirt/top (15)"),
        "{compact}"
    );

    let k = panel("panel_kernels", 34, 14, &|a, f| {
        kernels::render(&a.runs, &a.screen, f, f.area())
    });
    assert!(k.contains("-0.40") && k.contains("0.40"), "{k}");
    assert_eq!(
        k.lines()
            .filter(|l| l.contains("▀▀▀▀▀▀▀▀▀▀ ▀▀▀▀▀▀▀▀▀▀ ▀▀▀▀▀▀▀▀▀▀"))
            .count(),
        10,
        "2 rows of 3 kernels at twice their size:\n{k}"
    );
}

#[test]
fn without_colour_the_matrix_shows_its_counts() {
    let app = app_with_panels(ColorDepth::None);
    let mut terminal = Terminal::new(TestBackend::new(59, 14)).unwrap();
    terminal
        .draw(|f| confusion::render(&app.runs, &app.screen, f, f.area()))
        .unwrap();
    let text = terminal.backend().to_string();
    let shirt = text.lines().find(|l| l.contains("│      Shirt")).unwrap();
    assert!(!shirt.contains('▓') && !shirt.contains('▀'), "{text}");
    assert!(shirt.contains("  15   ·   8   ·   7"), "{text}");
}
