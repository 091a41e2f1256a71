//! Draw mode: the canvas in place of the left image, and the mouse mapped onto it.

use super::*;

/// Draw mode after a stroke down the middle (keyboard: Up ×8, Space, Down ×12), with
/// the model's answer for it; at depth `none`, heatmaps are shade characters, so the
/// stroke shows in the text of the frame.
fn app_drawing() -> App {
    use crossterm::event::KeyCode;
    use lenet_tui::ui::keys::Key;
    let mut app = app_midway(ColorDepth::None);
    app.on_action(Action::ToggleProbabilities);
    app.on_action(Action::Draw);
    let mut press = |code| {
        assert!(app.on_draw_key(&Key::plain(code)).is_some(), "{code:?}");
    };
    for _ in 0..8 {
        press(KeyCode::Up);
    }
    press(KeyCode::Char(' '));
    for _ in 0..12 {
        press(KeyCode::Down);
    }
    let canvas = app.screen.drawing.as_ref().unwrap();
    let dataset = app.runs.dataset.clone();
    let mut r = report(&dataset, 0, 1);
    r.id = ImageId::Own(canvas.id);
    r.label = None;
    r.image = canvas.ink.clone();
    app.on_event(Event::Activations {
        reports: vec![r],
        kernels: Some(first_kernels()),
        periodic: false,
    });
    app
}

#[test]
fn draw_mode_at_120_by_36() {
    let app = app_drawing();
    let terminal = draw(&app, 120, 36);
    snapshot("frame_draw_120x36", &terminal);
    let text = terminal.backend().to_string();
    assert!(text.contains("drawing ✎ draw mode"), "{text}");
    assert!(text.contains('+'), "the cursor");
    assert!(
        text.contains("pred Trouser"),
        "the drawing's prediction: {text}"
    );
}

#[test]
fn draw_mode_at_80_by_24() {
    let app = app_drawing();
    let terminal = draw(&app, 80, 24);
    snapshot("frame_draw_80x24", &terminal);
}

/// The canvas a mouse lands on is the one drawn: every canvas cell maps to a pixel
/// and back, at both sizes.
#[test]
fn mouse_cells_map_to_canvas_pixels_and_back() {
    use lenet_tui::ui::render::canvas_pixel;
    use ratatui::layout::Rect;
    let app = app_drawing();
    for (w, h) in [(120, 36), (80, 24), (160, 48)] {
        let area = Rect::new(0, 0, w, h);
        let hits: Vec<(u16, u16)> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&cell| canvas_pixel(&app.runs, &app.screen, area, cell).is_some())
            .collect();
        assert!(!hits.is_empty(), "{w}×{h}: a canvas");
        for cell in hits {
            let (x, y) = canvas_pixel(&app.runs, &app.screen, area, cell).unwrap();
            assert!(
                (0.0..28.0).contains(&x) && (0.0..28.0).contains(&y),
                "{x},{y}"
            );
        }
        assert_eq!(
            canvas_pixel(&app.runs, &app.screen, area, (w - 1, 0)),
            None,
            "the header is not the canvas"
        );
    }
}
