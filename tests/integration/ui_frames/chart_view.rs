//! The charts' view keys: `m` smoothing, `y` the loss on a log scale, `z` zoom onto
//! the newest epochs; and the readout at the history cursor.

use super::*;
use lenet_tui::train::PastView;
use lenet_tui::train::timeline::Moment;

/// The loss and accuracy charts' titles (the top border row of each).
fn titles(text: &str) -> String {
    text.lines()
        .find(|l| l.contains("╭ Loss"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn m_y_and_z_change_the_charts_and_their_titles_say_so() {
    let mut app = app_midway(ColorDepth::None);
    let text = draw(&app, 120, 36).backend().to_string();
    assert!(
        titles(&text).contains("Loss · smooth 0.6")
            && titles(&text).contains("Accuracy · smooth 0.6"),
        "TensorBoard's default is on from the start: {}",
        titles(&text)
    );
    app.on_action(Action::Smoothing);
    let heavy = draw(&app, 120, 36);
    assert!(titles(&heavy.backend().to_string()).contains("smooth 0.9"));
    snapshot("charts_smooth_0_9_120x36", &heavy);
    app.on_action(Action::Smoothing);
    let raw = draw(&app, 120, 36).backend().to_string();
    assert!(!titles(&raw).contains("smooth "), "{}", titles(&raw));
    assert_ne!(
        raw,
        heavy.backend().to_string(),
        "smoothing changes the lines"
    );

    app.on_action(Action::LogScale);
    let log = draw(&app, 120, 36);
    let text = log.backend().to_string();
    assert!(titles(&text).contains("Loss · log"), "{}", titles(&text));
    assert!(
        !titles(&text).contains("Accuracy · log"),
        "only the loss has a log axis"
    );
    // The loss runs 0.58–1.9: ticks at 0.3, 1 and 3.
    for tick in ["│0.3", "│1 ", "│3 "] {
        assert!(text.contains(tick), "{tick}\n{text}");
    }
    snapshot("charts_log_120x36", &log);
    app.on_action(Action::LogScale);

    app.on_action(Action::Zoom);
    let zoomed = draw(&app, 120, 36);
    let text = zoomed.backend().to_string();
    assert!(titles(&text).contains("last 2 ep"), "{}", titles(&text));
    // The run is at epoch 3: the x axis runs 1 to 3, the y axis fits the last two
    // epochs' loss (0.58–0.96), not the run's 2.5.
    assert!(text.contains("3 ep") && !text.contains("│2.5"), "{text}");
    snapshot("charts_zoomed_120x36", &zoomed);
    app.on_action(Action::Zoom);
    assert_eq!(
        draw(&app, 120, 36).backend().to_string(),
        raw,
        "z again: the whole run"
    );
}

#[test]
fn at_the_history_cursor_the_legends_read_each_line_there() {
    let mut app = app_midway(ColorDepth::None);
    app.on_action(Action::Smoothing);
    app.on_action(Action::Smoothing);
    app.on_event(Event::Recalled(Some(PastView {
        moment: Moment {
            at: 1.5,
            epoch: 2,
            batch: 12,
            batches: 24,
            pooling: Pooling::Avg,
            activation: lenet_tui::model::Activation::Sigmoid,
            learning_rate: 0.9,
        },
        reports: Vec::new(),
        kernels: None,
        confusion: None,
    })));
    let text = draw(&app, 160, 48).backend().to_string();
    // The newest report at or before 1.5 is at 1.4: loss 2.3 / 2.4, train acc
    // 0.1 + 0.28; the test accuracy of epoch 1 (at 1.0) is 0.15.
    for readout in [
        "train loss 0.958",
        "train acc 0.380",
        "test acc 0.150",
        "@ epoch 1.50",
    ] {
        assert!(text.contains(readout), "{readout}\n{text}");
    }
}
