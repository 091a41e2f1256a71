//! The dashboard's panels. Each is a pure function of the runs watched
//! ([`Runs`](crate::ui::app::Runs)) and this terminal's [`Screen`](crate::ui::app::Screen)
//! that draws into a frame area.

pub mod activations;
pub mod charts;
pub mod confusion;
pub mod diagnostics;
pub mod explain;
pub mod footer;
pub mod gallery;
pub mod header;
pub mod heatmap;
pub mod kernels;
pub mod layers;
pub mod overlay;
pub mod probabilities;

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

/// How much room a panel wants (border included): below `min` it does not draw
/// usefully; at `preferred` it shows everything at a comfortable size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanelSize {
    /// Smallest useful (width, height).
    pub min: (u16, u16),
    /// Comfortable (width, height).
    pub preferred: (u16, u16),
}

/// `name` cut to `width` characters, ending in `…` when cut.
pub fn abbreviate(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        return name.to_string();
    }
    match width {
        0 => String::new(),
        _ => name.chars().take(width - 1).chain(['…']).collect(),
    }
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

/// Columns for the longest class name, at most `cap`.
pub fn class_name_width(dataset: &crate::data::Dataset, cap: usize) -> usize {
    dataset
        .classes
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_with_an_ellipsis() {
        assert_eq!(abbreviate("Ankle boot", 10), "Ankle boot");
        assert_eq!(abbreviate("T-shirt/top", 8), "T-shirt…");
        assert_eq!(abbreviate("Bag", 1), "…");
        assert_eq!(abbreviate("Bag", 0), "");
    }

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(format_duration(0.0), "0:00");
        assert_eq!(format_duration(75.4), "1:15");
        assert_eq!(format_duration(3725.0), "1:02:05");
        assert_eq!(format_duration(-3.0), "0:00");
    }
}
