//! Lecture capture: screenshots of the exact frame the dashboard draws (SVG, PNG and
//! text, from ratatui's buffer), asciicast recordings, and the training figure.

pub mod cast;
pub mod cells;
pub mod dir;
pub mod figure;
pub mod gradients;
pub mod png;
pub mod svg;
pub mod text;

use std::io;
use std::path::{Path, PathBuf};

use ratatui::buffer::Buffer;

pub use cells::Palette;

/// Cell width in SVG units and PNG pixels at scale 1; a terminal cell is about twice
/// as tall as it is wide.
pub const CELL_W: u32 = 8;
/// Cell height in SVG units and PNG pixels at scale 1.
pub const CELL_H: u32 = 16;
/// PNG scale for slides: 2× gives 16×32-pixel cells, 2560×1536 at 160×48.
pub const DEFAULT_SCALE: u32 = 2;

/// The formats a screenshot is written in.
pub const SCREENSHOT_FORMATS: [&str; 3] = ["svg", "png", "txt"];

/// Writes the frame as `STEM.svg`, `STEM.png` and `STEM.txt` in `dir` (created on
/// demand); returns the paths written.
pub fn write_screenshot(
    buf: &Buffer,
    palette: &Palette,
    scale: u32,
    dir: &Path,
    stem: &str,
) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let stem = dir::unique_stem(dir, stem, &SCREENSHOT_FORMATS);
    let svg = svg::frame_svg(buf, palette, scale, Some(&stem));
    let png = png::frame_png(buf, palette, scale).map_err(io::Error::other)?;
    let txt = text::frame_text(buf);
    let mut written = Vec::new();
    for (ext, bytes) in [
        ("svg", svg.into_bytes()),
        ("png", png),
        ("txt", txt.into_bytes()),
    ] {
        written.push(crate::files::write_new(
            &dir.join(format!("{stem}.{ext}")),
            &bytes,
        )?);
    }
    Ok(written)
}
