//! Footer: key hints generated from the keymap, and the status message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::app::App;

/// Draws the hint bar, with the status message at the right when there is room.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    for (keys, hint) in app.keymap.hints() {
        spans.push(Span::styled(keys, t.key));
        spans.push(Span::styled(format!(" {hint}  "), t.dim));
    }
    let hints_width: usize = spans.iter().map(Span::width).sum();
    if let Some(status) = &app.status {
        let room = usize::from(area.width).saturating_sub(hints_width + 1);
        if room >= 8 {
            let text: String = status.chars().take(room).collect();
            spans.push(Span::raw(" ".repeat(room - text.chars().count())));
            spans.push(Span::styled(text, t.text));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
