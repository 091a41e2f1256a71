//! SVG screenshots: vector, exact colours, one text element per run of same-styled
//! cells with every glyph placed on the cell grid. Block and shade glyphs (the
//! heatmaps' half blocks among them) become rectangles, so they stay crisp at any
//! zoom and do not depend on the viewer's fonts.

use std::fmt::Write;

use ratatui::buffer::Buffer;

use super::cells::{CellView, Palette, Rgb, cells, hex};
use super::{CELL_H, CELL_W};

/// Fonts with monospace metrics that also cover braille and block glyphs.
const FONT_STACK: &str = "'DejaVu Sans Mono', 'Noto Sans Mono', Menlo, Consolas, 'Liberation Mono', 'Symbola', monospace";

/// The frame as an SVG document of `scale` × the base cell size.
pub fn frame_svg(buf: &Buffer, palette: &Palette, scale: u32, title: Option<&str>) -> String {
    let (cols, rows) = (u32::from(buf.area.width), u32::from(buf.area.height));
    let (w, h) = (cols * CELL_W, rows * CELL_H);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {w} {h}">"#,
        w * scale,
        h * scale
    );
    if let Some(title) = title {
        let _ = write!(svg, "<title>{}</title>", escape(title));
    }
    let _ = write!(
        svg,
        r#"<rect width="{w}" height="{h}" fill="{}"/>"#,
        hex(palette.bg)
    );
    svg.push_str(r#"<g shape-rendering="crispEdges">"#);
    let all: Vec<CellView> = cells(buf, palette).collect();
    // Backgrounds: runs of one colour per row, the default left to the page.
    for row in all.chunk_by(|a, b| a.y == b.y) {
        for run in row.chunk_by(|a, b| a.bg == b.bg && a.x + 1 == b.x) {
            if run[0].bg != palette.bg {
                rect(
                    &mut svg,
                    run[0].x,
                    run[0].y,
                    run.len() as u32,
                    0.0,
                    1.0,
                    run[0].bg,
                    1.0,
                );
            }
        }
    }
    for c in &all {
        if let Some((top, height, opacity)) = block_shape(c.symbol) {
            rect(&mut svg, c.x, c.y, 1, top, height, c.fg, opacity);
        }
    }
    svg.push_str("</g>");
    let font_size = f64::from(CELL_W) / 0.602;
    let baseline = f64::from(CELL_H) * 0.77;
    let _ = write!(
        svg,
        r#"<g font-family="{FONT_STACK}" font-size="{font_size:.2}" xml:space="preserve">"#
    );
    for row in all.chunk_by(|a, b| a.y == b.y) {
        let text: Vec<&CellView> = row
            .iter()
            .filter(|c| !c.symbol.trim().is_empty() && block_shape(c.symbol).is_none())
            .collect();
        for run in text.chunk_by(|a, b| a.fg == b.fg && a.bold == b.bold) {
            let xs: Vec<String> = run
                .iter()
                .map(|c| (u32::from(c.x) * CELL_W).to_string())
                .collect();
            let chars: String = run.iter().map(|c| escape(c.symbol)).collect();
            let weight = if run[0].bold {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let _ = write!(
                svg,
                r#"<text x="{}" y="{:.1}" fill="{}"{weight}>{chars}</text>"#,
                xs.join(" "),
                f64::from(u32::from(run[0].y) * CELL_H) + baseline,
                hex(run[0].fg)
            );
        }
    }
    svg.push_str("</g></svg>\n");
    svg
}

/// The part of a cell a block glyph fills: (top, height) as fractions of the cell
/// height, and the opacity of shade glyphs.
pub fn block_shape(symbol: &str) -> Option<(f64, f64, f64)> {
    Some(match symbol {
        "▀" => (0.0, 0.5, 1.0),
        "▄" => (0.5, 0.5, 1.0),
        "█" => (0.0, 1.0, 1.0),
        "░" => (0.0, 1.0, 0.25),
        "▒" => (0.0, 1.0, 0.5),
        "▓" => (0.0, 1.0, 0.75),
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
fn rect(
    svg: &mut String,
    x: u16,
    y: u16,
    cols: u32,
    top: f64,
    height: f64,
    fill: Rgb,
    opacity: f64,
) {
    let (cw, ch) = (f64::from(CELL_W), f64::from(CELL_H));
    let _ = write!(
        svg,
        r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}""#,
        f64::from(x) * cw,
        f64::from(y) * ch + top * ch,
        f64::from(cols) * cw,
        height * ch,
        hex(fill)
    );
    if opacity < 1.0 {
        let _ = write!(svg, r#" fill-opacity="{opacity}""#);
    }
    svg.push_str("/>");
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
