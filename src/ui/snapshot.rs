//! The dashboard drawn off-screen: screenshots and the training figure, for the
//! dashboard's keys and for headless runs alike. Each function does the file work
//! and returns what came of it as an [`EffectDone`] for [`App::on_effect_done`].

use std::path::{Path, PathBuf};

use chrono::{DateTime, Local};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::app::{App, EffectDone};
use super::render;
use super::theme::ThemeKind;
use crate::capture::gradients::GradientPanel;
use crate::capture::{self, Palette};
use crate::data::own::{OwnImage, encode_png};

/// Where and how captures are written.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureOptions {
    /// Directory for screenshots, recordings and figures (created on demand).
    pub dir: PathBuf,
    /// PNG scale (cells of 8×16 pixels times this).
    pub png_scale: u32,
    /// Record from the first frame into this file.
    pub record: Option<PathBuf>,
    /// Save a screenshot at every epoch end (`--snapshot-every epoch`).
    pub every_epoch: bool,
}

/// The terminal's default colours for exports, from the theme.
pub fn palette(app: &App) -> Palette {
    match app.screen.theme.kind {
        ThemeKind::Dark => Palette::DARK,
        ThemeKind::Light => Palette::LIGHT,
    }
}

/// Draws the dashboard off-screen at `width`×`height`: what a screenshot shows.
pub fn render_offscreen(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).expect("an in-memory terminal");
    terminal
        .draw(|f| render::render(&app.runs, &app.screen, f))
        .expect("drawing in memory cannot fail");
    terminal.backend().buffer().clone()
}

/// Saves a screenshot of `app` at `size`, taken at `now`.
pub fn screenshot(
    app: &App,
    size: (u16, u16),
    capture: &CaptureOptions,
    now: DateTime<Local>,
) -> EffectDone {
    let buf = render_offscreen(app, size.0, size.1);
    EffectDone::Screenshot(
        capture::write_screenshot(
            &buf,
            &palette(app),
            capture.png_scale,
            &capture.dir,
            &app.runs.capture_stem(app.focus(), now),
        )
        .map(|paths| shorten(&paths[0].with_extension("{svg,png,txt}")))
        .map_err(|e| format!("{}: {e}", capture.dir.display())),
    )
}

/// Saves the training figure of `app` at `now`; `asked` when a key asked for it.
pub fn figure(
    app: &App,
    capture: &CaptureOptions,
    now: DateTime<Local>,
    asked: bool,
) -> EffectDone {
    let data = app.runs.figure_data(app.focus());
    let stem = format!("{}_figure", app.runs.capture_stem(app.focus(), now));
    let scale = capture.png_scale;
    let written =
        capture::figure::write_figure(&data, &capture.dir, &stem, scale).and_then(|path| {
            let training = shorten(&path.with_extension("{png,svg}"));
            // Gradient flow beside it, once the run has measured its layers.
            let gradients = app.run().gradient_figure_data();
            if gradients.panels.iter().all(GradientPanel::is_empty) {
                return Ok(training);
            }
            let stem = format!("{}_gradients", app.runs.capture_stem(app.focus(), now));
            let path = capture::figure::write_figure(&gradients, &capture.dir, &stem, scale)?;
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            Ok(format!(
                "{training} and {}.{{png,svg}}",
                name.unwrap_or_default()
            ))
        });
    EffectDone::Figure {
        result: written.map_err(|e| format!("{}: {e}", capture.dir.display())),
        asked,
    }
}

/// Saves a kept drawing as `drawing_<time>.png` in the capture directory (a PNG of
/// what the network reads, for `--image` later), never over a file.
pub fn drawing(
    image: &OwnImage,
    side: usize,
    capture: &CaptureOptions,
    now: DateTime<Local>,
) -> EffectDone {
    let dir = &capture.dir;
    let result = (|| -> Result<PathBuf, String> {
        let png = encode_png(&image.pixels, side, side).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let stem = capture::dir::unique_stem(
            dir,
            &format!("drawing_{}", now.format("%Y%m%d-%H%M%S")),
            &["png"],
        );
        let path = dir.join(format!("{stem}.png"));
        crate::files::write_new(&path, &png).map_err(|e| format!("{}: {e}", path.display()))
    })();
    EffectDone::DrawingSaved {
        id: image.id,
        result: result.map(|path| {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            (name, shorten(&path))
        }),
    }
}

/// `path` with the home directory written `~`, for the status line.
pub fn shorten(path: &Path) -> String {
    let text = path.display().to_string();
    match directories::BaseDirs::new() {
        Some(b) => match path.strip_prefix(b.home_dir()) {
            Ok(rest) => format!("~/{}", rest.display()),
            Err(_) => text,
        },
        None => text,
    }
}
