//! The cursors inside the network: what their keys ask the trainer and what the
//! answers change.

use super::*;
use crate::data::own::{ImageId, ProbeImage};
use crate::model::explain::{Cell, Explanation, OutputWork};
use crate::model::{ActivationMap, Probe};
use crate::train::{ConfusionMatrix, Explained, Gallery, ProbeReport};
use crate::ui::keys::Key;
use crate::ui::theme::{ChartMarker, ColorDepth, ThemeKind};
use crossterm::event::KeyCode;

fn app() -> App {
    App::new(
        Arc::new(Dataset::embedded()),
        Theme::new(ThemeKind::Dark, ColorDepth::Ansi256, ChartMarker::Braille),
        KeyMap::default(),
    )
}

fn key(code: KeyCode) -> Key {
    Key::plain(code)
}

fn maps(channels: usize, side: usize) -> ActivationMap {
    ActivationMap {
        channels,
        height: side,
        width: side,
        values: vec![0.5; channels * side * side],
    }
}

/// The trainer's report on the shown image: LeNet's 6 maps of 28×28, 16 of 10×10.
fn activations(a: &App) -> Event {
    let ProbeImage::Test(index) = a.screen.active_image() else {
        panic!("a test image is shown");
    };
    Event::Activations {
        reports: vec![ProbeReport {
            id: ImageId::Test(index),
            label: Some(2),
            predicted: 2,
            image: vec![0.0; 784],
            rows: 28,
            cols: 28,
            probe: Probe {
                layer1: maps(6, 28),
                layer2: maps(16, 10),
                probabilities: vec![0.1; 10],
            },
        }],
        kernels: None,
        periodic: true,
    }
}

/// The cell the one command in `effects` asks to explain.
fn asked(effects: &[Effect]) -> (Cell, Option<f64>) {
    match effects {
        [Effect::Trainer(Command::Explain(ask))] => (ask.cell, ask.at),
        other => panic!("expected one explain command, got {other:?}"),
    }
}

fn conv(layer: usize, map: usize, at: (usize, usize)) -> Cell {
    Cell::Conv { layer, map, at }
}

#[test]
fn x_puts_a_cursor_on_the_activations_and_its_keys_walk_maps_layers_and_cells() {
    let mut a = app();
    a.update(Message::Trainer(0, activations(&a)));
    let effects = a.update(Message::Key(key(KeyCode::Char('x'))));
    assert_eq!(asked(&effects), (conv(1, 0, (14, 14)), None));
    // Arrows move within the map (and stop at its edge); the image stays.
    let shown = a.screen.probes;
    assert_eq!(
        asked(&a.on_key(&key(KeyCode::Right))).0,
        conv(1, 0, (14, 15))
    );
    assert_eq!(a.screen.probes, shown, "arrows belong to the cursor");
    for _ in 0..20 {
        a.on_key(&key(KeyCode::Up));
    }
    assert_eq!(asked(&a.on_key(&key(KeyCode::Up))).0, conv(1, 0, (0, 15)));
    // Tab walks the maps (round), Page Down the layers, then the output.
    assert_eq!(asked(&a.on_key(&key(KeyCode::Tab))).0, conv(1, 1, (0, 15)));
    assert_eq!(
        asked(&a.on_key(&key(KeyCode::BackTab))).0,
        conv(1, 0, (0, 15))
    );
    assert_eq!(
        asked(&a.on_key(&key(KeyCode::BackTab))).0,
        conv(1, 5, (0, 15))
    );
    assert_eq!(
        asked(&a.on_key(&key(KeyCode::PageDown))).0,
        conv(2, 0, (5, 5))
    );
    assert_eq!(asked(&a.on_key(&key(KeyCode::PageDown))).0, Cell::Output);
    assert_eq!(
        asked(&a.on_key(&key(KeyCode::PageDown))).0,
        conv(1, 0, (14, 14))
    );
    // Fresh activations (the weights moved on): asked again.
    assert_eq!(
        asked(&a.update(Message::Trainer(0, activations(&a)))).0,
        conv(1, 0, (14, 14))
    );
    // Esc puts the cursor away; the arrows move images again.
    assert_eq!(a.on_key(&key(KeyCode::Esc)), Vec::new());
    assert!(a.screen.inspect.is_none());
    a.on_key(&key(KeyCode::Right));
    assert_ne!(a.screen.probes, shown);
    assert!(
        a.update(Message::Trainer(0, activations(&a))).is_empty(),
        "no cursor, no question: nothing is asked while the view is closed"
    );
}

fn output_work() -> Explanation {
    Explanation::Output(OutputWork {
        logits: vec![0.0; 10],
        exp: vec![1.0; 10],
        sum: 10.0,
        probs: vec![0.1; 10],
        top: 0,
    })
}

#[test]
fn an_answer_is_kept_only_for_the_cell_and_image_the_cursor_is_on() {
    let mut a = app();
    a.update(Message::Trainer(0, activations(&a)));
    a.on_action(Action::Explain);
    let image = a.screen.active_image().id();
    let answer = |cell, image| Explained {
        image,
        cell,
        at: None,
        work: Ok(output_work()),
    };
    // An answer for a cell the cursor has left is dropped.
    a.update(Message::Trainer(
        0,
        Event::Explained(answer(Cell::Output, image)),
    ));
    assert!(matches!(
        a.screen.inspect,
        Some(Inspect::Explain { answer: None, .. })
    ));
    let here = conv(1, 0, (14, 14));
    a.update(Message::Trainer(
        0,
        Event::Explained(answer(here, ImageId::Test(9999))),
    ));
    assert!(matches!(
        a.screen.inspect,
        Some(Inspect::Explain { answer: None, .. })
    ));
    a.update(Message::Trainer(0, Event::Explained(answer(here, image))));
    assert!(matches!(
        a.screen.inspect,
        Some(Inspect::Explain {
            answer: Some(_),
            ..
        })
    ));
    // Looking back: the question names the snapshot whose weights are shown.
    a.run_mut().past = Some(crate::ui::app::tests::past(1.5));
    assert_eq!(asked(&a.on_key(&key(KeyCode::Left))).1, Some(1.5));
}

fn confusion(epoch: u32) -> Event {
    let mut counts = vec![0; 100];
    for c in 0..10 {
        counts[c * 11] = 90;
    }
    counts[6 * 10] = 12; // Shirt → T-shirt/top, the most confused
    counts[6 * 10 + 2] = 5; // Shirt → Pullover
    Event::Confusion {
        epoch,
        matrix: ConfusionMatrix::from_counts(10, counts).unwrap(),
    }
}

#[test]
fn c_puts_a_cursor_on_the_most_confused_cell_and_enter_asks_for_its_images() {
    let mut a = app();
    // Before the first epoch's matrix there is nothing to ask for.
    a.on_key(&key(KeyCode::Char('c')));
    assert!(a.on_key(&key(KeyCode::Enter)).is_empty());
    assert!(matches!(a.screen.inspect, Some(Inspect::Confusion { .. })));
    a.on_key(&key(KeyCode::Char('c')));
    a.update(Message::Trainer(0, confusion(1)));
    a.on_key(&key(KeyCode::Char('c')));
    assert!(a.screen.shows(Panel::Confusion));
    assert_eq!(
        a.screen.inspect,
        Some(Inspect::Confusion {
            truth: 6,
            predicted: 0
        })
    );
    // Two to the right: Shirt → Pullover.
    a.on_key(&key(KeyCode::Right));
    a.on_key(&key(KeyCode::Right));
    let effects = a.on_key(&key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Trainer(Command::Gallery {
            truth: 6,
            predicted: 2
        })]
    );
    // The answer fills the gallery; arrows pick an image; Enter shows it.
    let images = vec![(17, 0.6), (40, 0.55), (123, 0.9)];
    a.update(Message::Trainer(
        0,
        Event::Gallery(Gallery {
            epoch: 1,
            truth: 6,
            predicted: 2,
            images: images.clone(),
        }),
    ));
    a.on_key(&key(KeyCode::Right));
    a.on_key(&key(KeyCode::Right));
    a.on_key(&key(KeyCode::Right)); // stops at the last
    let shown = a.on_key(&key(KeyCode::Enter));
    assert_eq!(a.screen.active_image(), ProbeImage::Test(123));
    assert!(
        shown.contains(&Effect::Trainer(Command::SetProbes(vec![
            ProbeImage::Test(123)
        ]))),
        "{shown:?}"
    );
    assert!(a.screen.inspect.is_none(), "the activations show it");
    // c again hides the matrix; Esc leaves a cursor that has no gallery.
    a.on_key(&key(KeyCode::Char('c')));
    assert!(!a.screen.shows(Panel::Confusion) && a.screen.inspect.is_none());
    a.on_key(&key(KeyCode::Char('c')));
    a.on_key(&key(KeyCode::Esc));
    assert!(a.screen.shows(Panel::Confusion) && a.screen.inspect.is_none());
}
