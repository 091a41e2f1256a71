//! The dashboard's panels. Each is a pure function of [`App`](crate::ui::app::App)
//! state that draws into a frame area.

pub mod activations;
pub mod charts;
pub mod footer;
pub mod header;
pub mod heatmap;
pub mod layers;
pub mod overlay;

use ratatui::widgets::{Block, BorderType, Borders};

use crate::ui::theme::Theme;

/// A bordered panel with a title, in the theme's colours.
pub fn panel<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border)
        .title(title)
        .title_style(theme.title)
}

/// `m:ss` or `h:mm:ss`.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(format_duration(0.0), "0:00");
        assert_eq!(format_duration(75.4), "1:15");
        assert_eq!(format_duration(3725.0), "1:02:05");
        assert_eq!(format_duration(-3.0), "0:00");
    }
}
