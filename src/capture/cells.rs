//! A frame as exporters see it: every cell's symbol and its resolved RGB colours.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// An sRGB colour.
pub type Rgb = [u8; 3];

/// The colours that `Color::Reset` stands for: the terminal's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Default text colour.
    pub fg: Rgb,
    /// Default background.
    pub bg: Rgb,
}

impl Palette {
    /// A dark terminal.
    pub const DARK: Palette = Palette {
        fg: [0xd4, 0xd4, 0xd4],
        bg: [0x12, 0x12, 0x16],
    };
    /// A light terminal.
    pub const LIGHT: Palette = Palette {
        fg: [0x1e, 0x1e, 0x1e],
        bg: [0xfb, 0xfb, 0xf8],
    };
}

/// One cell, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellView<'a> {
    /// Column.
    pub x: u16,
    /// Row.
    pub y: u16,
    /// What the cell shows (one grapheme, often a space).
    pub symbol: &'a str,
    /// Foreground colour.
    pub fg: Rgb,
    /// Background colour.
    pub bg: Rgb,
    /// Bold text.
    pub bold: bool,
}

/// The cells of `buf` in row-major order, reverse video applied.
pub fn cells<'a>(buf: &'a Buffer, palette: &Palette) -> impl Iterator<Item = CellView<'a>> + 'a {
    let palette = *palette;
    let area = buf.area;
    buf.content().iter().enumerate().map(move |(i, cell)| {
        let x = area.x + (i % usize::from(area.width.max(1))) as u16;
        let y = area.y + (i / usize::from(area.width.max(1))) as u16;
        let mut fg = rgb(cell.fg, palette.fg);
        let mut bg = rgb(cell.bg, palette.bg);
        if cell.modifier.contains(Modifier::REVERSED) {
            std::mem::swap(&mut fg, &mut bg);
        }
        CellView {
            x,
            y,
            symbol: cell.symbol(),
            fg,
            bg,
            bold: cell.modifier.contains(Modifier::BOLD),
        }
    })
}

/// `color` as RGB, `reset` standing in for the terminal default.
pub fn rgb(color: Color, reset: Rgb) -> Rgb {
    match color {
        Color::Reset => reset,
        Color::Rgb(r, g, b) => [r, g, b],
        Color::Indexed(i) => xterm(i),
        Color::Black => xterm(0),
        Color::Red => xterm(1),
        Color::Green => xterm(2),
        Color::Yellow => xterm(3),
        Color::Blue => xterm(4),
        Color::Magenta => xterm(5),
        Color::Cyan => xterm(6),
        Color::Gray => xterm(7),
        Color::DarkGray => xterm(8),
        Color::LightRed => xterm(9),
        Color::LightGreen => xterm(10),
        Color::LightYellow => xterm(11),
        Color::LightBlue => xterm(12),
        Color::LightMagenta => xterm(13),
        Color::LightCyan => xterm(14),
        Color::White => xterm(15),
    }
}

/// The xterm 256-colour palette.
pub fn xterm(i: u8) -> Rgb {
    const BASIC: [Rgb; 16] = [
        [0, 0, 0],
        [205, 0, 0],
        [0, 205, 0],
        [205, 205, 0],
        [0, 0, 238],
        [205, 0, 205],
        [0, 205, 205],
        [229, 229, 229],
        [127, 127, 127],
        [255, 0, 0],
        [0, 255, 0],
        [255, 255, 0],
        [92, 92, 255],
        [255, 0, 255],
        [0, 255, 255],
        [255, 255, 255],
    ];
    match i {
        0..=15 => BASIC[usize::from(i)],
        16..=231 => {
            let n = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            [level(n / 36), level(n / 6 % 6), level(n % 6)]
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            [v, v, v]
        }
    }
}

/// `#rrggbb`.
pub fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xterm_palette_has_its_cube_and_ramp() {
        assert_eq!(xterm(16), [0, 0, 0]);
        assert_eq!(xterm(196), [255, 0, 0]);
        assert_eq!(xterm(231), [255, 255, 255]);
        assert_eq!(xterm(232), [8, 8, 8]);
        assert_eq!(xterm(255), [238, 238, 238]);
        assert_eq!(rgb(Color::Reset, [1, 2, 3]), [1, 2, 3]);
        assert_eq!(hex([255, 16, 0]), "#ff1000");
    }
}
