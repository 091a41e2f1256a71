//! Every colour the dashboard uses, in one place, for each colour depth and for dark
//! and light terminals.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use termprofile::{
    DetectorSettings, EnvVarSource, NoTerminal, SpecialVars, TermProfile, TermVar, TermVars,
};

mod pick;

use pick::Pick;

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorDepth {
    /// 24-bit colour.
    Truecolor,
    /// The xterm 256-colour palette.
    #[serde(rename = "256")]
    Ansi256,
    /// The 16 basic colours.
    #[serde(rename = "16")]
    Ansi16,
    /// No colour at all: shades of glyphs (`NO_COLOR`).
    None,
}

impl ColorDepth {
    /// The depth the environment describes, read through `termprofile` (`NO_COLOR`,
    /// `CLICOLOR_FORCE`, `COLORTERM`, `TERM`, `TERM_PROGRAM`, tmux and screen), with
    /// `FORCE_COLOR` levels 0–3 as Node's tools read them (3 = truecolor).
    pub fn detect(source: &impl EnvVarSource) -> Self {
        Self::detect_with(source, DetectorSettings::new())
    }

    /// [`ColorDepth::detect`] with termprofile's settings (tests leave out `tmux info`).
    fn detect_with(source: &impl EnvVarSource, settings: DetectorSettings<NoTerminal>) -> Self {
        // The dashboard refuses to start off a terminal, so "not a tty" never applies.
        let mut vars = TermVars::from_source(source, &OnTerminal, settings);
        // CI variables describe log viewers; the dashboard draws in a real terminal.
        vars.special = SpecialVars::default();
        let no_color = source.var("NO_COLOR").is_some_and(|v| !v.is_empty());
        let level = source
            .var("FORCE_COLOR")
            .and_then(|v| v.trim().parse::<u8>().ok());
        if level.is_some() {
            // termprofile knows FORCE_COLOR only as on/off or a profile's name.
            vars.overrides.force_color = TermVar::default();
        }
        let detected = Self::from(TermProfile::detect_with_vars(vars));
        match level {
            _ if no_color => ColorDepth::None,
            Some(0) => ColorDepth::None,
            Some(1) => detected.at_least(ColorDepth::Ansi16),
            Some(2) => detected.at_least(ColorDepth::Ansi256),
            Some(_) => ColorDepth::Truecolor,
            None => detected,
        }
    }

    /// The depth of this process's environment.
    pub fn from_env() -> Self {
        Self::detect(&termprofile::Env)
    }

    /// The richer of `self` and `floor`.
    fn at_least(self, floor: ColorDepth) -> Self {
        // Declared from richest to poorest.
        if (self as u8) <= (floor as u8) {
            self
        } else {
            floor
        }
    }

    /// Every depth, richest first.
    pub const ALL: [ColorDepth; 4] = [
        ColorDepth::Truecolor,
        ColorDepth::Ansi256,
        ColorDepth::Ansi16,
        ColorDepth::None,
    ];

    /// The depth as `--color` names it.
    pub fn name(self) -> &'static str {
        match self {
            ColorDepth::Truecolor => "truecolor",
            ColorDepth::Ansi256 => "256",
            ColorDepth::Ansi16 => "16",
            ColorDepth::None => "none",
        }
    }
}

impl From<TermProfile> for ColorDepth {
    fn from(profile: TermProfile) -> Self {
        match profile {
            TermProfile::TrueColor => ColorDepth::Truecolor,
            TermProfile::Ansi256 => ColorDepth::Ansi256,
            TermProfile::Ansi16 => ColorDepth::Ansi16,
            TermProfile::NoColor | TermProfile::NoTty => ColorDepth::None,
        }
    }
}

/// The terminal the dashboard draws on, which is always one.
struct OnTerminal;

impl termprofile::IsTerminal for OnTerminal {
    fn is_terminal(&self) -> bool {
        true
    }
}

impl FromStr for ColorDepth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ColorDepth::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("`{s}` is not a colour depth (truecolor, 256, 16, none)"))
    }
}

/// The colour depth as the user sets it: detected, or forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum ColorChoice {
    /// From the environment (see [`ColorDepth::detect`]).
    #[default]
    Auto,
    /// This depth, whatever the environment says.
    Fixed(ColorDepth),
}

impl ColorChoice {
    /// The depth to draw with.
    pub fn depth(self) -> ColorDepth {
        match self {
            ColorChoice::Auto => ColorDepth::from_env(),
            ColorChoice::Fixed(d) => d,
        }
    }
}

impl FromStr for ColorChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(ColorChoice::Auto),
            _ => s
                .parse::<ColorDepth>()
                .map(ColorChoice::Fixed)
                .map_err(|_| {
                    format!("`{s}` is not a colour setting (auto, truecolor, 256, 16, none)")
                }),
        }
    }
}

impl TryFrom<String> for ColorChoice {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Dark or light terminal background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeKind {
    /// Light text on a dark background.
    #[default]
    Dark,
    /// Dark text on a light background.
    Light,
}

/// The colour map of every heatmap: activations, kernels, confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeatmapColours {
    /// Perceptually uniform black–purple–orange–yellow (matplotlib's inferno).
    #[default]
    Inferno,
    /// Black to white, as the input images are drawn.
    Grey,
}

/// The chart point marker, for fonts without braille glyphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartMarker {
    /// Braille dots: the finest lines.
    #[default]
    Braille,
    /// One dot per cell.
    Dot,
    /// Full blocks.
    Block,
}

impl ChartMarker {
    /// ratatui's marker.
    pub fn symbol(self) -> ratatui::symbols::Marker {
        match self {
            ChartMarker::Braille => ratatui::symbols::Marker::Braille,
            ChartMarker::Dot => ratatui::symbols::Marker::Dot,
            ChartMarker::Block => ratatui::symbols::Marker::Block,
        }
    }
}

/// The dashboard's colours.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Colour depth, which heatmaps also follow.
    pub depth: ColorDepth,
    /// Whether the depth was detected (`true`) or chosen with `--color`/`[ui] color`.
    pub depth_detected: bool,
    /// The heatmaps' colour map.
    pub heatmap: HeatmapColours,
    /// Dark or light.
    pub kind: ThemeKind,
    /// Chart marker.
    pub marker: ChartMarker,
    /// Plain text.
    pub text: Style,
    /// Secondary text: axis labels, hints.
    pub dim: Style,
    /// Panel borders.
    pub border: Style,
    /// Panel titles.
    pub title: Style,
    /// Train loss line.
    pub loss: Style,
    /// Train accuracy line.
    pub train_acc: Style,
    /// Test accuracy line.
    pub test_acc: Style,
    /// An earlier run's train loss line: the same hue, faint.
    pub past_loss: Style,
    /// An earlier run's train accuracy line.
    pub past_train_acc: Style,
    /// An earlier run's test accuracy line.
    pub past_test_acc: Style,
    /// Change markers on the charts.
    pub change: Style,
    /// Run state: running.
    pub running: Style,
    /// Run state: paused.
    pub paused: Style,
    /// Run state: finished.
    pub finished: Style,
    /// Run state: error, and error messages.
    pub error: Style,
    /// The key names in the hint bar and help.
    pub key: Style,
    /// Progress gauge.
    pub gauge: Style,
    /// Highlight: the active side in compare mode, the predicted class.
    pub highlight: Style,
    /// One line colour per layer in the gradient-flow chart, first layer first.
    pub layer_lines: [Style; 6],
}

impl Theme {
    /// A race's variant `lane` (0-based): the layer palette's first four hues, in order.
    pub fn variant_line(&self, lane: usize) -> Style {
        self.layer_lines[lane % 4]
    }

    /// The theme for `kind` at `depth`.
    pub fn new(kind: ThemeKind, depth: ColorDepth, marker: ChartMarker) -> Self {
        let plain = depth == ColorDepth::None;
        let light = kind == ThemeKind::Light;
        let pick = Pick { depth, light };
        let text = match (plain, light) {
            (true, _) => Style::default(),
            (false, true) => Style::default().fg(Color::Black),
            (false, false) => Style::default().fg(Color::White),
        };
        let dim = pick.tone(((128, 128, 128), 244, Color::DarkGray));
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let [loss, train_acc, test_acc] = pick.curves();
        let [past_loss, past_train_acc, past_test_acc] = pick.past_curves();
        Theme {
            depth,
            depth_detected: false,
            heatmap: HeatmapColours::default(),
            kind,
            marker,
            text,
            dim,
            border: dim,
            title: text.add_modifier(Modifier::BOLD),
            loss,
            train_acc,
            test_acc,
            past_loss,
            past_train_acc,
            past_test_acc,
            change: pick.tone(((200, 80, 200), 170, Color::Magenta)),
            running: pick.tone(((90, 210, 120), 78, Color::Green)).patch(bold),
            paused: pick.tone(((240, 200, 60), 220, Color::Yellow)).patch(bold),
            finished: pick.tone(((100, 170, 255), 75, Color::Cyan)).patch(bold),
            error: pick.tone(((240, 80, 80), 203, Color::Red)).patch(bold),
            key: pick.tone(((240, 200, 60), 220, Color::Yellow)).patch(bold),
            gauge: pick.tone(((100, 170, 255), 75, Color::Cyan)),
            highlight: if plain {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                pick.tone(((240, 200, 60), 220, Color::Yellow)).patch(bold)
            },
            layer_lines: pick.layer_lines(),
        }
    }

    /// This theme with `heatmap` as the heatmaps' colour map.
    pub fn with_heatmap(self, heatmap: HeatmapColours) -> Self {
        Theme { heatmap, ..self }
    }

    /// The heatmap colour for `t` in [0, 1] (values outside are clamped); `None` when
    /// the terminal has no colour, so the caller draws shade glyphs instead.
    pub fn heat(&self, t: f32) -> Option<Color> {
        let t = clamp_level(t);
        match (self.depth, self.heatmap) {
            (ColorDepth::Truecolor, HeatmapColours::Inferno) => {
                let (r, g, b) = inferno(t);
                Some(Color::Rgb(r, g, b))
            }
            // Inferno quantised to the nearest of xterm's 240 fixed colours, so a
            // terminal over SSH without COLORTERM still shows the colour map.
            (ColorDepth::Ansi256, HeatmapColours::Inferno) => {
                Some(Color::Indexed(inferno_256()[(t * 255.0).round() as usize]))
            }
            _ => self.grey(t),
        }
    }

    /// Text drawn over a heatmap cell of level `t`: dark on bright cells, light on
    /// dark ones, on the cell's own colour; plain without colour.
    pub fn on_heat(&self, t: f32) -> Style {
        let Some(bg) = self.heat(t) else {
            return Style::default();
        };
        // Inferno turns from red to orange around 0.65; the grey ramps are half way.
        let bright = match (self.depth, self.heatmap) {
            (ColorDepth::Truecolor | ColorDepth::Ansi256, HeatmapColours::Inferno) => t >= 0.65,
            _ => t >= 0.5,
        };
        Style::default()
            .bg(bg)
            .fg(if bright { Color::Black } else { Color::White })
    }

    /// The grey level for an input image pixel in [0, 1], like `heat` but neutral.
    pub fn grey(&self, t: f32) -> Option<Color> {
        let t = clamp_level(t);
        match self.depth {
            ColorDepth::None => None,
            ColorDepth::Truecolor => {
                let v = (t * 255.0).round() as u8;
                Some(Color::Rgb(v, v, v))
            }
            // The xterm grey ramp (232–255) plus black and white: 26 clean levels.
            ColorDepth::Ansi256 => Some(match (t * 25.0).round() as u8 {
                0 => Color::Indexed(16),
                25 => Color::Indexed(231),
                n => Color::Indexed(231 + n),
            }),
            ColorDepth::Ansi16 => Some(match (t * 3.0).round() as u8 {
                0 => Color::Black,
                1 => Color::DarkGray,
                2 => Color::Gray,
                _ => Color::White,
            }),
        }
    }
}

/// A heatmap level clamped to [0, 1], NaN as 0.
fn clamp_level(t: f32) -> f32 {
    if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Shade glyphs from empty to full, for terminals without colour.
pub const SHADES: [char; 5] = [' ', '░', '▒', '▓', '█'];

/// A shade glyph for `t` in [0, 1].
pub fn shade(t: f32) -> char {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    SHADES[(t * (SHADES.len() - 1) as f32).round() as usize]
}

/// An approximation of matplotlib's "inferno" colour map: perceptually ordered, and
/// readable on dark and light backgrounds and in greyscale print.
/// The RGB of xterm colour `i` of the 240 fixed ones (16–231 the 6×6×6 cube, 232–255
/// the grey ramp); the first 16 are the user's palette and never chosen.
fn xterm_rgb(i: u8) -> (u8, u8, u8) {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match i {
        16..=231 => {
            let c = i - 16;
            (
                LEVELS[usize::from(c / 36)],
                LEVELS[usize::from(c / 6 % 6)],
                LEVELS[usize::from(c % 6)],
            )
        }
        232..=255 => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
        _ => (0, 0, 0),
    }
}

/// The fixed xterm colour nearest to `rgb` by the "redmean" distance, a cheap
/// perceptual weighting of RGB.
pub fn nearest_xterm(rgb: (u8, u8, u8)) -> u8 {
    let distance = |(r2, g2, b2): (u8, u8, u8)| {
        let (r1, g1, b1) = (f64::from(rgb.0), f64::from(rgb.1), f64::from(rgb.2));
        let (r2, g2, b2) = (f64::from(r2), f64::from(g2), f64::from(b2));
        let mean = (r1 + r2) / 2.0;
        let (dr, dg, db) = (r1 - r2, g1 - g2, b1 - b2);
        (2.0 + mean / 256.0) * dr * dr + 4.0 * dg * dg + (2.0 + (255.0 - mean) / 256.0) * db * db
    };
    (16..=255u8)
        .min_by(|&a, &b| distance(xterm_rgb(a)).total_cmp(&distance(xterm_rgb(b))))
        .unwrap_or(16)
}

/// Inferno at 256 levels as xterm colours, worked out once.
fn inferno_256() -> &'static [u8; 256] {
    static TABLE: std::sync::OnceLock<[u8; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|k| nearest_xterm(inferno(k as f32 / 255.0))))
}

fn inferno(t: f32) -> (u8, u8, u8) {
    const STOPS: [(f32, [f32; 3]); 6] = [
        (0.0, [0.0, 0.0, 4.0]),
        (0.2, [66.0, 10.0, 104.0]),
        (0.4, [147.0, 38.0, 103.0]),
        (0.6, [221.0, 81.0, 58.0]),
        (0.8, [252.0, 165.0, 10.0]),
        (1.0, [252.0, 255.0, 164.0]),
    ];
    let i = STOPS
        .iter()
        .rposition(|&(s, _)| s <= t)
        .unwrap_or(0)
        .min(STOPS.len() - 2);
    let (s0, c0) = STOPS[i];
    let (s1, c1) = STOPS[i + 1];
    let f = ((t - s0) / (s1 - s0)).clamp(0.0, 1.0);
    let mix = |k: usize| (c0[k] + (c1[k] - c0[k]) * f).round() as u8;
    (mix(0), mix(1), mix(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(vars: &[(&str, &str)]) -> ColorDepth {
        let source: std::collections::HashMap<&str, &str> = vars.iter().copied().collect();
        ColorDepth::detect_with(&source, DetectorSettings::new().enable_tmux_info(false))
    }

    #[test]
    fn colour_depth_follows_the_environment() {
        let xterm256 = ("TERM", "xterm-256color");
        assert_eq!(
            depth(&[("COLORTERM", "truecolor"), xterm256]),
            ColorDepth::Truecolor
        );
        assert_eq!(depth(&[xterm256]), ColorDepth::Ansi256);
        assert_eq!(depth(&[("TERM", "screen-256color")]), ColorDepth::Ansi256);
        assert_eq!(depth(&[("TERM", "xterm")]), ColorDepth::Ansi16);
        assert_eq!(depth(&[("TERM", "linux")]), ColorDepth::Ansi16);
        assert_eq!(depth(&[("TERM", "xterm-kitty")]), ColorDepth::Truecolor);
        assert_eq!(depth(&[("TERM", "dumb")]), ColorDepth::None);
        // macOS's Terminal has 256 colours whatever TERM says; iTerm2 3+ has truecolor.
        assert_eq!(
            depth(&[("TERM", "xterm"), ("TERM_PROGRAM", "Apple_Terminal")]),
            ColorDepth::Ansi256
        );
        assert_eq!(
            depth(&[
                ("TERM", "xterm"),
                ("TERM_PROGRAM", "iTerm.app"),
                ("TERM_PROGRAM_VERSION", "3.5.0")
            ]),
            ColorDepth::Truecolor
        );
        // Inside tmux, COLORTERM comes from wherever the server started; tmux itself
        // says whether the outer terminal has RGB (not asked here): 256.
        assert_eq!(
            depth(&[
                ("TERM", "tmux-256color"),
                ("TMUX", "/tmp/tmux-0/default,1,0"),
                ("COLORTERM", "truecolor")
            ]),
            ColorDepth::Ansi256
        );
    }

    #[test]
    fn no_color_and_force_color_override_the_terminal() {
        let xterm256 = ("TERM", "xterm-256color");
        assert_eq!(
            depth(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")]),
            ColorDepth::None
        );
        assert_eq!(
            depth(&[("NO_COLOR", "yes please"), xterm256]),
            ColorDepth::None
        );
        assert_eq!(
            depth(&[("NO_COLOR", "1"), ("FORCE_COLOR", "3")]),
            ColorDepth::None
        );
        assert_eq!(
            depth(&[("FORCE_COLOR", "3"), xterm256]),
            ColorDepth::Truecolor
        );
        assert_eq!(
            depth(&[("FORCE_COLOR", "2"), ("TERM", "xterm")]),
            ColorDepth::Ansi256
        );
        // A level is a floor: the terminal may have more.
        assert_eq!(
            depth(&[("FORCE_COLOR", "1"), ("COLORTERM", "truecolor"), xterm256]),
            ColorDepth::Truecolor
        );
        assert_eq!(
            depth(&[("FORCE_COLOR", "1"), ("TERM", "dumb")]),
            ColorDepth::Ansi16
        );
        assert_eq!(depth(&[("FORCE_COLOR", "0"), xterm256]), ColorDepth::None);
        assert_eq!(
            depth(&[("FORCE_COLOR", "truecolor")]),
            ColorDepth::Truecolor
        );
        assert_eq!(depth(&[("CLICOLOR_FORCE", "1")]), ColorDepth::Ansi16);
        // CI variables are for log viewers, not for the terminal the dashboard is in.
        assert_eq!(depth(&[("CI", "true"), xterm256]), ColorDepth::Ansi256);
        assert_eq!(
            depth(&[("GITHUB_ACTIONS", "true"), xterm256]),
            ColorDepth::Ansi256
        );
    }

    #[test]
    fn the_grey_heatmap_follows_the_input_images_grey_at_every_depth() {
        for depth in [
            ColorDepth::Truecolor,
            ColorDepth::Ansi256,
            ColorDepth::Ansi16,
            ColorDepth::None,
        ] {
            let inferno = Theme::new(ThemeKind::Dark, depth, ChartMarker::Braille);
            let grey = inferno.clone().with_heatmap(HeatmapColours::Grey);
            for t in [0.0, 0.3, 0.5, 0.8, 1.0] {
                assert_eq!(grey.heat(t), grey.grey(t), "{depth:?} at {t}");
            }
            // Inferno differs from grey wherever the terminal has a palette for it.
            let differs = inferno.heat(0.5) != grey.heat(0.5);
            assert_eq!(
                differs,
                matches!(depth, ColorDepth::Truecolor | ColorDepth::Ansi256),
                "{depth:?}"
            );
        }
    }

    #[test]
    fn heat_scales_are_ordered_and_clamped() {
        let theme = Theme::new(ThemeKind::Dark, ColorDepth::Truecolor, ChartMarker::Braille);
        assert_eq!(theme.heat(0.0), Some(Color::Rgb(0, 0, 4)));
        assert_eq!(theme.heat(1.0), Some(Color::Rgb(252, 255, 164)));
        assert_eq!(theme.heat(7.0), theme.heat(1.0));
        assert_eq!(theme.heat(f32::NAN), theme.heat(0.0));
        let xterm = Theme::new(ThemeKind::Dark, ColorDepth::Ansi256, ChartMarker::Braille);
        assert_eq!(xterm.grey(0.0), Some(Color::Indexed(16)));
        assert_eq!(xterm.grey(0.5), Some(Color::Indexed(244)));
        assert_eq!(xterm.grey(1.0), Some(Color::Indexed(231)));
        // Inferno's ends: near black, and pale yellow.
        assert_eq!(xterm.heat(0.0), Some(Color::Indexed(16)));
        assert_eq!(xterm.heat(1.0), Some(Color::Indexed(229)));
        let none = Theme::new(ThemeKind::Dark, ColorDepth::None, ChartMarker::Braille);
        assert_eq!(none.heat(0.5), None);
        assert_eq!(shade(0.0), ' ');
        assert_eq!(shade(1.0), '█');
    }

    #[test]
    fn at_256_colours_the_heatmap_keeps_its_colour_map() {
        let xterm = Theme::new(ThemeKind::Dark, ColorDepth::Ansi256, ChartMarker::Braille);
        let mut colours: Vec<u8> = (0..=100)
            .filter_map(|k| match xterm.heat(k as f32 / 100.0) {
                Some(Color::Indexed(i)) => Some(i),
                _ => None,
            })
            .collect();
        colours.dedup();
        // Off the cube's grey diagonal (r = g = b) and off the grey ramp.
        let coloured = |&i: &u8| {
            (16..=231).contains(&i) && {
                let c = i - 16;
                !(c / 36 == c / 6 % 6 && c / 6 % 6 == c % 6)
            }
        };
        let mut distinct: Vec<u8> = colours.iter().copied().filter(coloured).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() >= 12, "{distinct:?}");
        // Every xterm colour's own RGB maps back to it.
        for i in 16..=255u8 {
            let back = nearest_xterm(xterm_rgb(i));
            assert_eq!(xterm_rgb(back), xterm_rgb(i), "{i}");
        }
    }
}
