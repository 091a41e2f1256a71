//! Inside the network: the explain view in the activations' place, the confusion
//! matrix's cursor, and the gallery behind a cell, with answers worked out from a real
//! model's weights.

use super::*;
use crossterm::event::KeyCode;
use lenet_tui::data::pixel_to_f32;
use lenet_tui::model::Activation;
use lenet_tui::model::explain::{self, Cell, Weights};
use lenet_tui::train::{Explained, Gallery};
use lenet_tui::ui::app::Message;
use lenet_tui::ui::keys::Key;

fn press(app: &mut App, code: KeyCode) {
    app.update(Message::Key(Key::plain(code)));
}

/// What the trainer would answer for `cell` of the shown image: the arithmetic with a
/// fresh model's weights.
fn answer(app: &App, cell: Cell) -> Event {
    let arch = Architecture::default();
    let mut rng = lenet_tui::rng::SeededRng::seed_from_u64(1);
    let model = LeNet::new(
        &arch,
        Pooling::Max,
        Activation::Sigmoid,
        &Device::Cpu,
        &mut rng,
    )
    .unwrap();
    let mut params = Vec::new();
    model
        .read_parameters(&arch.parameter_names(), &mut params)
        .unwrap();
    let image = app.screen.active_image();
    let pixels: Vec<f32> = image
        .pixels(&app.runs.dataset.test)
        .iter()
        .map(|&p| pixel_to_f32(p))
        .collect();
    let weights = Weights {
        arch: &arch,
        params: &params,
        pooling: Pooling::Max,
        activation: Activation::Sigmoid,
    };
    Event::Explained(Explained {
        image: image.id(),
        cell,
        at: None,
        work: explain::explain(&weights, &pixels, cell),
    })
}

/// `x`, the cursor moved to `keys`, and the answer for where it lands.
fn explaining(keys: &[KeyCode]) -> App {
    let mut app = app_midway(ColorDepth::None);
    app.on_action(Action::Explain);
    for &k in keys {
        press(&mut app, k);
    }
    let Some(lenet_tui::ui::app::Inspect::Explain { cell, .. }) = app.screen.inspect else {
        panic!("the explain cursor is up")
    };
    let event = answer(&app, cell);
    app.update(Message::Trainer(0, event));
    app
}

#[test]
fn explaining_a_first_layer_value_at_80_by_24_and_120_by_36() {
    let app = explaining(&[KeyCode::Right, KeyCode::Right, KeyCode::Down, KeyCode::Tab]);
    for (w, h) in [(80, 24), (120, 36)] {
        let terminal = draw(&app, w, h);
        let text = terminal.backend().to_string();
        for word in [
            "patch",
            "kernel",
            "bias",
            "pre-activation",
            "activation",
            "pooling",
        ] {
            assert!(text.contains(word), "{w}×{h}: no {word}\n{text}");
        }
        assert!(
            text.contains("map 1 (0–5) · row 15 (0–27), col 16 (0–27)"),
            "{text}"
        );
        snapshot(&format!("explain_layer1_{w}x{h}"), &terminal);
    }
}

#[test]
fn explaining_a_second_layer_value_and_the_output() {
    let app = explaining(&[KeyCode::PageDown]);
    let terminal = draw(&app, 120, 36);
    let text = terminal.backend().to_string();
    assert!(text.contains("each input map's part"), "{text}");
    assert!(text.contains("Σ over 6 input maps"), "{text}");
    snapshot("explain_layer2_120x36", &terminal);
    let app = explaining(&[KeyCode::PageUp]);
    let terminal = draw(&app, 80, 24);
    let text = terminal.backend().to_string();
    // Ten classes in two columns of five, and the sum under them.
    for class in ["T-shirt/top", "Sandal", "Ankle boot", "softmax"] {
        assert!(text.contains(class), "{class}\n{text}");
    }
    snapshot("explain_output_80x24", &terminal);
}

#[test]
fn the_confusion_cursor_and_the_gallery_behind_a_cell() {
    let mut app = app_midway(ColorDepth::None);
    app.on_action(Action::ToggleConfusion);
    press(&mut app, KeyCode::Right);
    let terminal = draw(&app, 120, 36);
    let text = terminal.backend().to_string();
    // From the most confused cell (Shirt → T-shirt/top) one to the right.
    assert!(
        text.contains("Shirt → Trouser: 0 · Enter shows them"),
        "{text}"
    );
    snapshot("confusion_cursor_120x36", &terminal);
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Enter);
    let test = &app.runs.dataset.test;
    let shirts: Vec<(usize, f32)> = (0..test.len())
        .filter(|&i| test.labels[i] == 6)
        .take(15)
        .enumerate()
        .map(|(k, i)| (i, 0.4 + 0.03 * k as f32))
        .collect();
    app.update(Message::Trainer(
        0,
        Event::Gallery(Gallery {
            epoch: 3,
            truth: 6,
            predicted: 0,
            images: shirts,
        }),
    ));
    press(&mut app, KeyCode::Down);
    for (w, h) in [(80, 24), (120, 36)] {
        let terminal = draw(&app, w, h);
        let text = terminal.backend().to_string();
        assert!(
            text.contains("Shirt → T-shirt/top: 15 images · epoch 3 · 9/15"),
            "{text}"
        );
        snapshot(&format!("gallery_{w}x{h}"), &terminal);
    }
}
