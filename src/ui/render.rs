//! The whole frame: a pure function of [`App`] state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::ui::app::App;
use crate::ui::widgets::{activations, charts, footer, header, layers, overlay};

/// The smallest terminal the dashboard draws in.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Body height from which the layer table gets its full 16 rows.
const ROOMY_BODY: u16 = 30;

/// Draws the dashboard, or a notice when the terminal is too small for it.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(app, frame, area);
        return;
    }
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let top_height = if body.height >= ROOMY_BODY { 16 } else { 11 };
    let [top, bottom] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Fill(1)]).areas(body);
    let [loss, accuracy, table] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(31),
    ])
    .areas(top);

    header::render(app, frame, head);
    charts::render_loss(app, frame, loss);
    charts::render_accuracy(app, frame, accuracy);
    layers::render(app, frame, table);
    activations::render(app, frame, bottom);
    footer::render(app, frame, foot);
    overlay::render(app, frame, area);
}

fn too_small(app: &App, frame: &mut Frame, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let lines = vec![
        Line::from("terminal too small"),
        Line::from(format!("(need {}×{})", MIN_SIZE.0, MIN_SIZE.1)),
    ];
    let height = (lines.len() as u16).min(area.height);
    let [v] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    frame.render_widget(Paragraph::new(lines).centered().style(app.theme.text), v);
}
