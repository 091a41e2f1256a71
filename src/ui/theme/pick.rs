//! How a theme picks its colours at a colour depth, for a light or dark background.

use ratatui::style::{Color, Modifier, Style};

use super::ColorDepth;

/// A colour as truecolor, as a 256-colour index, and as one of the 16 named colours
/// (which exist at every depth).
type Tone = ((u8, u8, u8), u8, Color);

/// Picks the styles of a theme at its colour depth, for a light or dark background.
pub(super) struct Pick {
    pub(super) depth: ColorDepth,
    pub(super) light: bool,
}

impl Pick {
    /// `tone` at this depth: no colour at all without colours.
    pub(super) fn tone(&self, (rgb, indexed, basic): Tone) -> Style {
        Style::default().fg(match self.depth {
            ColorDepth::None => return Style::default(),
            ColorDepth::Truecolor => Color::Rgb(rgb.0, rgb.1, rgb.2),
            ColorDepth::Ansi256 => Color::Indexed(indexed),
            _ => basic,
        })
    }

    /// `light` on a light background, `dark` on a dark one.
    pub(super) fn either(&self, light: Tone, dark: Tone) -> Style {
        self.tone(if self.light { light } else { dark })
    }

    /// Loss, train accuracy, test accuracy.
    pub(super) fn curves(&self) -> [Style; 3] {
        [
            self.either(
                ((31, 119, 180), 25, Color::Blue),
                ((100, 170, 255), 75, Color::LightBlue),
            ),
            self.either(
                ((200, 90, 0), 166, Color::Red),
                ((255, 160, 60), 215, Color::Yellow),
            ),
            self.either(
                ((20, 140, 60), 28, Color::Green),
                ((90, 210, 120), 78, Color::LightGreen),
            ),
        ]
    }

    /// Earlier runs' curves: toward the background, so the current run stands out
    /// and each faint line keeps its hue. Chart canvases keep only the colour, so
    /// DIM alone would not show; it does dim the legend entry.
    pub(super) fn past_curves(&self) -> [Style; 3] {
        [
            self.either(
                ((165, 201, 225), 153, Color::LightBlue),
                ((45, 75, 115), 24, Color::Blue),
            ),
            self.either(
                ((233, 189, 153), 223, Color::LightRed),
                ((115, 72, 27), 94, Color::DarkGray),
            ),
            self.either(
                ((161, 209, 177), 151, Color::LightGreen),
                ((40, 95, 55), 22, Color::Green),
            ),
        ]
        .map(|s| s.add_modifier(Modifier::DIM))
    }

    /// Categorical hues far apart, so five layers stay apart on a projector.
    pub(super) fn layer_lines(&self) -> [Style; 6] {
        let tones: [Tone; 6] = if self.light {
            [
                ((31, 119, 180), 25, Color::Blue),
                ((200, 90, 0), 166, Color::Red),
                ((20, 140, 60), 28, Color::Green),
                ((150, 40, 160), 91, Color::Magenta),
                ((0, 130, 140), 30, Color::Cyan),
                ((120, 100, 0), 94, Color::DarkGray),
            ]
        } else {
            [
                ((100, 170, 255), 75, Color::LightBlue),
                ((255, 160, 60), 215, Color::Yellow),
                ((90, 210, 120), 78, Color::LightGreen),
                ((220, 120, 240), 177, Color::LightMagenta),
                ((80, 220, 220), 80, Color::LightCyan),
                ((240, 90, 90), 203, Color::LightRed),
            ]
        };
        tones.map(|t| self.tone(t))
    }
}
