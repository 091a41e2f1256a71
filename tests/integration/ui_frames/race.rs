//! A race: every variant's curves overlaid, the focused one's table and maps.

use super::*;

/// A race of `labels` midway: each variant started, with its own curves (variant `i`
/// learning a little faster than `i - 1`), maps of the pullover and epoch ends; the
/// second variant pools by max.
fn race_midway(labels: &[&str]) -> App {
    let dataset = Arc::new(Dataset::embedded());
    let mut app = App::new(
        dataset.clone(),
        theme(ColorDepth::Ansi256),
        KeyMap::default(),
    );
    app.race(labels.iter().map(|l| l.to_string()).collect());
    for lane in 0..labels.len() {
        let pooling = if lane == 1 {
            Pooling::Max
        } else {
            Pooling::Avg
        };
        let mut rng = lenet_tui::rng::SeededRng::seed_from_u64(1);
        let model = LeNet::new(
            &Architecture::default(),
            pooling,
            lenet_tui::model::Activation::Sigmoid,
            &Device::Cpu,
            &mut rng,
        )
        .unwrap();
        let settings = TrainSettings {
            pooling,
            ..TrainSettings::default()
        };
        app.on_lane_event(lane, started(&dataset, settings, &model));
        let speed = 1.0 + 0.5 * lane as f64;
        for step in 1..=10 {
            let at = f64::from(step) / 5.0;
            app.on_lane_event(
                lane,
                Event::Progress(Progress {
                    epoch: ((step - 1) / 5 + 1) as u32,
                    at,
                    batch: 1,
                    batches: 24,
                    train_loss: 2.3 / (1.0 + speed * at),
                    train_acc: (0.1 + 0.2 * speed * at).min(0.95),
                    examples_per_sec: 1000.0,
                    layers: layer_stats(at),
                }),
            );
            if step % 5 == 0 {
                app.on_lane_event(
                    lane,
                    Event::EpochFinished(EpochSummary {
                        epoch: (step / 5) as u32,
                        train_loss: 2.3 / (1.0 + speed * at),
                        train_acc: 0.1 + 0.2 * at,
                        test_acc: (0.15 * speed * at).min(0.9),
                        examples_per_sec: 1000.0,
                        train_seconds: 4.9,
                        eval_seconds: 0.4,
                        layers: Vec::new(),
                        class_acc: Vec::new(),
                    }),
                );
            }
        }
        let probe = app.screen.probes[0];
        app.on_lane_event(
            lane,
            Event::Activations {
                reports: vec![report(&dataset, probe, 2 + lane)],
                kernels: Some(first_kernels()),
                periodic: false,
            },
        );
    }
    app
}

#[test]
fn a_race_of_two_overlays_both_and_shows_the_image_through_each() {
    let mut app = race_midway(&["avg", "max"]);
    for (w, h) in [(120, 36), (160, 48)] {
        let terminal = draw(&app, w, h);
        snapshot(&format!("race2_{w}x{h}"), &terminal);
        let text = terminal.backend().to_string();
        // Both in the legends (loss and accuracy) and in the header.
        assert!(text.matches("▸1 avg").count() >= 3, "{w}×{h}:\n{text}");
        assert!(text.matches("2 max").count() >= 3, "{w}×{h}:\n{text}");
        // One activation column per variant, each with its layer-1 maps.
        assert_eq!(
            text.matches("layer 1 6×28×28").count(),
            2,
            "{w}×{h}:\n{text}"
        );
        assert!(text.contains("Layers: 1 avg"), "{text}");
    }
    // `2` brings the second variant's table (max pooling) forward; rows that differ
    // are marked.
    app.on_action(Action::Focus2);
    let text = draw(&app, 160, 48).backend().to_string();
    assert!(text.contains("Layers: 2 max"), "{text}");
    assert!(text.contains("≠MaxPool2d"), "{text}");
    assert!(text.contains("▸2 max"), "{text}");
}

#[test]
fn a_race_of_four_fits_at_160_by_48_and_names_who_does_not_fit_narrower() {
    let app = race_midway(&["avg", "max", "relu", "kaiming"]);
    let terminal = draw(&app, 160, 48);
    snapshot("race4_160x48", &terminal);
    let text = terminal.backend().to_string();
    assert_eq!(text.matches("layer 1 6×28×28").count(), 4, "{text}");
    for label in ["1 avg", "2 max", "3 relu", "4 kaiming"] {
        assert!(text.matches(label).count() >= 3, "{label}:\n{text}");
    }
    // At 120 columns three fit: the fourth is named, with the keys that focus it.
    let text = draw(&app, 120, 36).backend().to_string();
    assert_eq!(text.matches("layer 1 6×28×28").count(), 3, "{text}");
    assert!(
        text.contains("not shown, widen the terminal: 4 kaiming"),
        "{text}"
    );
    for size in [(40, 12), (80, 24), (200, 60)] {
        draw(&app, size.0, size.1);
    }
}
