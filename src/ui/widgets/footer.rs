//! Footer: key hints generated from the keymap, and the status message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::app::{Runs, Screen};

/// Draws the hint bar, with the status message at the right. A status that does not
/// fit beside all hints takes room from the last hints (up to 60 % of the line): a
/// message such as a divergence or a saved path matters more than `g fig`.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let width = usize::from(area.width);
    let status_width = screen
        .status
        .as_ref()
        .map_or(0, |s| (s.chars().count() + 2).min(width * 3 / 5));
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (keys, hint) in screen.keymap.hints_for(|a| runs.offers(a)) {
        let hint = format!(" {hint}  ");
        let w = keys.chars().count() + hint.chars().count();
        let room =
            width.saturating_sub(status_width.max(if screen.status.is_some() { 10 } else { 0 }));
        if used + w > room {
            break;
        }
        used += w;
        spans.push(Span::styled(keys, t.key));
        spans.push(Span::styled(hint, t.dim));
    }
    if let Some(status) = &screen.status {
        let room = width.saturating_sub(used + 1);
        if room >= 8 {
            let text: String = status.chars().take(room).collect();
            spans.push(Span::raw(" ".repeat(room - text.chars().count())));
            spans.push(Span::styled(text, t.text));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
