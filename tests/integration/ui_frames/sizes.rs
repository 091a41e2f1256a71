//! Every size, from nothing to huge, with and without panels: frames that must not panic.

use super::*;

#[test]
fn tiny_and_odd_areas_never_panic() {
    let mut app = app_midway(ColorDepth::Truecolor);
    for (w, h) in [
        (0, 0),
        (1, 1),
        (10, 3),
        (79, 24),
        (80, 23),
        (200, 5),
        (5, 200),
        (80, 24),
    ] {
        draw(&app, w, h);
        app.on_action(Action::Compare);
        draw(&app, w, h);
        app.on_action(Action::Help);
        draw(&app, w, h);
        app.on_unbound_key();
    }
    let text = draw(&app, 10, 3).backend().to_string();
    assert!(text.contains("terminal"), "{text}");
    let text = draw(&app, 60, 20).backend().to_string();
    assert!(
        text.contains("terminal too small") && text.contains("(need 80×24)"),
        "{text}"
    );
    // Panels in tiny areas.
    for (w, h) in [(0u16, 0u16), (1, 1), (3, 2), (12, 3)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|f| {
                let area = f.area();
                header::render(&app.runs, &app.screen, f, area);
                charts::render_loss(&app.runs, &app.screen, f, area);
                charts::render_accuracy(&app.runs, &app.screen, f, area);
                layers::render(&app.runs, &app.screen, f, area);
                activations::render(&app.runs, &app.screen, f, area);
                footer::render(&app.runs, &app.screen, f, area);
                probabilities::render(&app.runs, &app.screen, f, area);
                confusion::render(&app.runs, &app.screen, f, area);
                kernels::render(&app.runs, &app.screen, f, area);
            })
            .unwrap();
    }
}

#[test]
fn every_size_from_nothing_to_huge_draws_without_panic() {
    let mut app = app_midway(ColorDepth::Truecolor);
    app.on_event(Event::Diverged(Divergence {
        epoch: 1,
        batch: 2,
        loss: f64::INFINITY,
        last_good: None,
    }));
    for w in (0..=200).step_by(3) {
        for h in (0..=64).step_by(3) {
            draw(&app, w, h);
        }
    }
}

#[test]
fn every_size_with_every_panel_draws_without_panic() {
    let mut app = app_with_panels(ColorDepth::Truecolor);
    for compare in [false, true] {
        if compare {
            app.on_action(Action::Compare);
        }
        for w in (0..=200).step_by(3) {
            for h in (0..=64).step_by(3) {
                draw(&app, w, h);
            }
        }
    }
    let mut plain = app_with_panels(ColorDepth::None);
    plain.run_mut().confusion = None;
    plain.run_mut().kernels = None;
    plain.run_mut().activations.clear();
    for (w, h) in [(80, 24), (120, 36), (160, 48), (81, 25)] {
        draw(&plain, w, h);
    }
}

/// The header's words at `width`, the gauge left out.
fn header_words(app: &App, width: u16) -> Vec<Vec<String>> {
    let mut terminal = Terminal::new(TestBackend::new(width, 2)).unwrap();
    terminal
        .draw(|f| header::render(&app.runs, &app.screen, f, f.area()))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..2)
        .map(|y| {
            let line: String = (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            line.split_whitespace()
                .filter(|w| !w.chars().all(|c| c == '━' || c == '─'))
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn the_header_leaves_words_out_whole_never_cut() {
    let mut app = app_midway(ColorDepth::Truecolor);
    let run = &mut app.runs.views[0];
    run.settings.pace = lenet_tui::train::Pace::PerSecond(2000);
    run.info.as_mut().unwrap().data = "Fashion-MNIST in /usr/share/datasets/fashion-mnist \
        (system package dataset-fashion-mnist) (60000 train / 10000 test images)"
        .into();
    let whole = header_words(&app, 400);
    assert!(whole[0].iter().any(|w| w == "2,000"), "{whole:?}");
    for width in [80, 100, 120, 160] {
        let shown = header_words(&app, width);
        for (line, (words, all)) in shown.iter().zip(&whole).enumerate() {
            for word in words {
                assert!(
                    word == "…" || all.contains(word),
                    "{width} columns, line {}: `{word}` is cut; {words:?}",
                    line + 1
                );
            }
        }
        // The pace is whole or not there at all.
        assert!(
            !shown[0]
                .iter()
                .any(|w| w.starts_with("2,0") && w != "2,000")
        );
    }
    // Narrow, the data keeps its name and leaves its place out.
    let narrow = header_words(&app, 100);
    assert!(
        narrow[1].contains(&"Fashion-MNIST".to_string()),
        "{narrow:?}"
    );
}
