//! PNG screenshots drawn by the program itself: no external tool, no system font.
//! Blocks, shades, braille dots and box-drawing lines are drawn as shapes on the cell
//! grid, so charts and heatmaps come out crisp; other glyphs are rasterised from the
//! embedded DejaVu Sans Mono.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use ratatui::buffer::Buffer;

use super::cells::{CellView, Palette, Rgb, cells};
use super::svg::block_shape;
use super::{CELL_H, CELL_W};

/// DejaVu Sans Mono: monospace, wide Unicode coverage, a licence that allows embedding.
pub static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");

fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).expect("the embedded font parses"))
}

/// An RGB image being drawn.
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `bg`.
    pub fn new(width: u32, height: u32, bg: Rgb) -> Self {
        let pixels = bg.repeat((width * height) as usize);
        Canvas {
            width,
            height,
            pixels,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Blends `color` into pixel (x, y) with coverage `alpha` in [0, 1].
    fn blend(&mut self, x: i64, y: i64, color: Rgb, alpha: f32) {
        if x < 0
            || y < 0
            || x >= i64::from(self.width)
            || y >= i64::from(self.height)
            || alpha <= 0.0
        {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        let a = alpha.min(1.0);
        for (k, &c) in color.iter().enumerate() {
            let old = f32::from(self.pixels[i + k]);
            self.pixels[i + k] = (old + (f32::from(c) - old) * a).round() as u8;
        }
    }

    fn fill(&mut self, x0: i64, y0: i64, w: i64, h: i64, color: Rgb, alpha: f32) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.blend(x, y, color, alpha);
            }
        }
    }

    /// PNG bytes.
    pub fn encode(&self) -> Result<Vec<u8>, png::EncodingError> {
        encode_rgb(self.width, self.height, &self.pixels)
    }

    /// The raw RGB pixels, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
}

/// Encodes row-major 8-bit RGB pixels as PNG.
pub fn encode_rgb(width: u32, height: u32, pixels: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}

/// The frame drawn at `scale` × the base cell size.
pub fn frame_canvas(buf: &Buffer, palette: &Palette, scale: u32) -> Canvas {
    let scale = scale.max(1);
    let (cw, ch) = (CELL_W * scale, CELL_H * scale);
    let mut canvas = Canvas::new(
        u32::from(buf.area.width) * cw,
        u32::from(buf.area.height) * ch,
        palette.bg,
    );
    for cell in cells(buf, palette) {
        draw_cell(&mut canvas, &cell, cw, ch);
    }
    canvas
}

/// The frame as PNG bytes.
pub fn frame_png(
    buf: &Buffer,
    palette: &Palette,
    scale: u32,
) -> Result<Vec<u8>, png::EncodingError> {
    frame_canvas(buf, palette, scale).encode()
}

fn draw_cell(canvas: &mut Canvas, cell: &CellView, cw: u32, ch: u32) {
    let (x0, y0) = (
        i64::from(cell.x) * i64::from(cw),
        i64::from(cell.y) * i64::from(ch),
    );
    let (w, h) = (i64::from(cw), i64::from(ch));
    canvas.fill(x0, y0, w, h, cell.bg, 1.0);
    let Some(c) = cell.symbol.chars().next() else {
        return;
    };
    if c == ' ' {
        return;
    }
    if let Some((top, height, opacity)) = block_shape(cell.symbol) {
        let top_px = (top * h as f64).round() as i64;
        let h_px = (height * h as f64).round() as i64;
        canvas.fill(x0, y0 + top_px, w, h_px, cell.fg, opacity as f32);
        return;
    }
    if ('\u{2800}'..='\u{28ff}').contains(&c) {
        braille(canvas, c, x0, y0, w, h, cell.fg);
        return;
    }
    if box_lines(canvas, c, x0, y0, w, h, cell.fg) {
        return;
    }
    glyph(canvas, c, x0, y0, cw, ch, cell.fg, cell.bold);
}

/// Braille: dots 1–8 in a 2×4 grid, bit k of the code point for dot k+1.
fn braille(canvas: &mut Canvas, c: char, x0: i64, y0: i64, w: i64, h: i64, color: Rgb) {
    const DOTS: [(i64, i64); 8] = [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
        (0, 3),
        (1, 3),
    ];
    let bits = c as u32 - 0x2800;
    let size = (w / 4).max(1);
    for (k, &(col, row)) in DOTS.iter().enumerate() {
        if bits & (1 << k) != 0 {
            let cx = x0 + w * (2 * col + 1) / 4;
            let cy = y0 + h * (2 * row + 1) / 8;
            canvas.fill(cx - size / 2, cy - size / 2, size, size, color, 1.0);
        }
    }
}

/// Box-drawing characters as lines from the cell centre: up, down, left, right.
fn box_lines(canvas: &mut Canvas, c: char, x0: i64, y0: i64, w: i64, h: i64, color: Rgb) -> bool {
    let (arms, heavy) = match c {
        '─' => ([false, false, true, true], false),
        '━' => ([false, false, true, true], true),
        '│' => ([true, true, false, false], false),
        '┃' => ([true, true, false, false], true),
        '┌' | '╭' => ([false, true, false, true], false),
        '┐' | '╮' => ([false, true, true, false], false),
        '└' | '╰' => ([true, false, false, true], false),
        '┘' | '╯' => ([true, false, true, false], false),
        '├' => ([true, true, false, true], false),
        '┤' => ([true, true, true, false], false),
        '┬' => ([false, true, true, true], false),
        '┴' => ([true, false, true, true], false),
        '┼' => ([true, true, true, true], false),
        _ => return false,
    };
    let t = ((w / 8).max(1)) * if heavy { 3 } else { 1 };
    let (cx, cy) = (x0 + w / 2 - t / 2, y0 + h / 2 - t / 2);
    let [up, down, left, right] = arms;
    if up {
        canvas.fill(cx, y0, t, cy - y0 + t, color, 1.0);
    }
    if down {
        canvas.fill(cx, cy, t, y0 + h - cy, color, 1.0);
    }
    if left {
        canvas.fill(x0, cy, cx - x0 + t, t, color, 1.0);
    }
    if right {
        canvas.fill(cx, cy, x0 + w - cx, t, color, 1.0);
    }
    true
}

#[allow(clippy::too_many_arguments)]
fn glyph(canvas: &mut Canvas, c: char, x0: i64, y0: i64, cw: u32, ch: u32, color: Rgb, bold: bool) {
    let font = font();
    // Scale so one advance is one cell wide (DejaVu Sans Mono: 0.602 em).
    let px = cw as f32 / 0.602;
    let scaled = font.as_scaled(PxScale::from(px));
    let baseline =
        y0 as f32 + (ch as f32 - (scaled.ascent() - scaled.descent())) / 2.0 + scaled.ascent();
    let g = font
        .glyph_id(c)
        .with_scale_and_position(PxScale::from(px), point(x0 as f32, baseline));
    let Some(outline) = font.outline_glyph(g) else {
        return;
    };
    let bounds = outline.px_bounds();
    let (bx, by) = (bounds.min.x.floor() as i64, bounds.min.y.floor() as i64);
    // Bold without a second font: the glyph drawn twice, a pixel apart.
    let passes: &[i64] = if bold && cw >= 12 { &[0, 1] } else { &[0] };
    outline.draw(|gx, gy, coverage| {
        for &dx in passes {
            canvas.blend(bx + i64::from(gx) + dx, by + i64::from(gy), color, coverage);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};

    #[test]
    fn size_is_cells_times_cell_size_times_scale() {
        let buf = Buffer::empty(Rect::new(0, 0, 7, 3));
        let c = frame_canvas(&buf, &Palette::DARK, 2);
        assert_eq!((c.width(), c.height()), (7 * CELL_W * 2, 3 * CELL_H * 2));
    }

    #[test]
    fn half_blocks_split_the_cell_into_two_colours() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 1, 1));
        buf.set_string(
            0,
            0,
            "▀",
            Style::default()
                .fg(Color::Rgb(255, 0, 0))
                .bg(Color::Rgb(0, 0, 255)),
        );
        let c = frame_canvas(&buf, &Palette::DARK, 1);
        let px = |x: u32, y: u32| {
            let i = ((y * c.width() + x) * 3) as usize;
            [c.pixels()[i], c.pixels()[i + 1], c.pixels()[i + 2]]
        };
        assert_eq!(px(3, 2), [255, 0, 0]);
        assert_eq!(px(3, CELL_H - 2), [0, 0, 255]);
    }

    #[test]
    fn text_glyphs_leave_ink() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 1, 1));
        buf.set_string(0, 0, "W", Style::default().fg(Color::Rgb(255, 255, 255)));
        let c = frame_canvas(&buf, &Palette::DARK, 2);
        let bright = c.pixels().chunks(3).filter(|p| p[0] > 200).count();
        assert!(bright > 20, "{bright}");
    }
}
