//! Half-block heatmaps: `▀` with the upper pixel as foreground and the lower as
//! background gives two pixel rows per cell, so square maps stay square. Without
//! colour, shade glyphs stand in, one per pixel pair.

use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;

use crate::ui::theme::{Theme, shade};

/// How values become colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// The heat colour map over `[min, max]`.
    Heat {
        /// Value drawn darkest.
        min: f32,
        /// Value drawn brightest.
        max: f32,
    },
    /// Grey levels over [0, 1], for input images.
    Grey,
}

impl Scale {
    /// Heat over the range of `values` (a flat range draws mid-scale).
    pub fn heat_of(values: &[f32]) -> Scale {
        let (min, max) = value_range(values);
        Scale::Heat { min, max }
    }

    fn unit(self, v: f32) -> f32 {
        match self {
            Scale::Grey => v,
            Scale::Heat { min, max } if max > min => (v - min) / (max - min),
            Scale::Heat { .. } => 0.5,
        }
    }
}

/// Min and max of the finite values (0, 0 when there are none).
pub fn value_range(values: &[f32]) -> (f32, f32) {
    let mut it = values.iter().copied().filter(|v| v.is_finite());
    let Some(first) = it.next() else {
        return (0.0, 0.0);
    };
    it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Cells a `rows`×`cols` map takes at `scale` cells per pixel column.
pub fn cell_size(rows: usize, cols: usize, scale: f64) -> (u16, u16) {
    let w = ((cols as f64 * scale).floor() as u16).max(1);
    let pixel_rows = ((rows as f64 * scale).floor() as u16).max(1);
    (w, pixel_rows.div_ceil(2))
}

/// Paints one cell from its upper pixel and, if the map has one there, its lower
/// pixel (both already scaled to [0, 1]).
fn paint(cell: &mut Cell, top: f32, bottom: Option<f32>, how: Scale, theme: &Theme) {
    let colour = |t| match how {
        Scale::Grey => theme.grey(t),
        Scale::Heat { .. } => theme.heat(t),
    };
    match (colour(top), bottom.map(colour)) {
        (Some(fg), Some(Some(bg))) => {
            cell.set_char('▀').set_fg(fg).set_bg(bg);
        }
        (Some(fg), _) => {
            // Odd pixel row count: the last cell row has only its upper half.
            cell.set_char('▀').set_fg(fg);
        }
        (None, _) => {
            let t = bottom.map_or(top, |b| (top + b) / 2.0);
            cell.set_char(shade(t));
        }
    }
}

/// Draws a row-major `rows`×`cols` map into `area` at `scale`, nearest-neighbour.
pub fn draw_map(
    buf: &mut Buffer,
    area: Rect,
    values: &[f32],
    (rows, cols): (usize, usize),
    scale: f64,
    how: Scale,
    theme: &Theme,
) {
    if rows == 0 || cols == 0 || values.len() < rows * cols {
        return;
    }
    let (full_w, full_h) = cell_size(rows, cols, scale);
    let pixel_rows = (rows as f64 * scale).floor().max(1.0) as usize;
    // Sample at the full size and clip, so a cramped area crops rather than squashes.
    let (w, h) = (full_w.min(area.width), full_h.min(area.height));
    let sample = |py: usize, px: usize| -> Option<f32> {
        if py >= pixel_rows {
            return None;
        }
        let sy = (py * rows / pixel_rows).min(rows - 1);
        let sx = (px * cols / usize::from(full_w)).min(cols - 1);
        Some(how.unit(values[sy * cols + sx]))
    };
    for cy in 0..h {
        for cx in 0..w {
            let px = usize::from(cx);
            let top = sample(usize::from(cy) * 2, px).unwrap_or(0.0);
            let bottom = sample(usize::from(cy) * 2 + 1, px);
            if let Some(cell) = buf.cell_mut((area.x + cx, area.y + cy)) {
                paint(cell, top, bottom, how, theme);
            }
        }
    }
}

/// Draws a row-major `rows`×`cols` matrix as blocks: each value `cell_width` cells
/// wide and `pixel_rows` half-cells high (2: a cell row per matrix row; 1: two matrix
/// rows share a cell row), clipped to `area`. For tables of values such as a
/// confusion matrix, where rows must line up with their labels.
pub fn draw_blocks(
    buf: &mut Buffer,
    area: Rect,
    values: &[f32],
    (rows, cols): (usize, usize),
    (cell_width, pixel_rows): (u16, u16),
    how: Scale,
    theme: &Theme,
) {
    if rows == 0 || cols == 0 || values.len() < rows * cols || cell_width == 0 || pixel_rows == 0 {
        return;
    }
    let (cell_width, pixel_rows) = (usize::from(cell_width), usize::from(pixel_rows));
    let w = (cols * cell_width).min(usize::from(area.width));
    let h = (rows * pixel_rows)
        .div_ceil(2)
        .min(usize::from(area.height));
    let sample = |py: usize, cx: usize| -> Option<f32> {
        let r = py / pixel_rows;
        (r < rows).then(|| how.unit(values[r * cols + cx / cell_width]))
    };
    for cy in 0..h {
        for cx in 0..w {
            let top = sample(cy * 2, cx).unwrap_or(0.0);
            let bottom = sample(cy * 2 + 1, cx);
            // Both fit in u16: they are bounded by the area's size.
            if let Some(cell) = buf.cell_mut((area.x + cx as u16, area.y + cy as u16)) {
                paint(cell, top, bottom, how, theme);
            }
        }
    }
}

/// `min ▇▇▇▇▇▇ max`: a colour scale with the value range it stands for, at most 16
/// cells of it; nothing where fewer than 4 fit.
pub fn legend(buf: &mut Buffer, area: Rect, min: f32, max: f32, t: &Theme) {
    if area.height == 0 {
        return;
    }
    let lo = format!("{min:.2} ");
    let hi = format!(" {max:.2}");
    let bar = area
        .width
        .saturating_sub((lo.chars().count() + hi.chars().count()) as u16)
        .min(16);
    if bar < 4 {
        return;
    }
    buf.set_string(area.x, area.y, &lo, t.dim);
    let x0 = area.x + lo.chars().count() as u16;
    for i in 0..bar {
        let v = f32::from(i) / f32::from(bar - 1);
        if let Some(cell) = buf.cell_mut((x0 + i, area.y)) {
            match t.heat(v) {
                Some(c) => {
                    cell.set_char('█').set_fg(c);
                }
                None => {
                    cell.set_char(shade(v));
                }
            }
        }
    }
    buf.set_string(x0 + bar, area.y, &hi, t.dim);
}

/// How to lay out `n` maps of `rows`×`cols` in `area`: columns and scale, the
/// largest scale (at most `max_scale`) that fits with one-cell gaps.
pub fn fit_grid(
    n: usize,
    rows: usize,
    cols: usize,
    area: Rect,
    max_scale: f64,
) -> Option<(usize, f64)> {
    if n == 0 || rows == 0 || cols == 0 || area.width == 0 || area.height == 0 {
        return None;
    }
    let mut best: Option<(usize, f64)> = None;
    for c in 1..=n {
        let r = n.div_ceil(c);
        // One blank cell between maps, and one blank row between grid rows, so maps
        // stay apart. Sizes are whole cells: a map gets the cells its share holds,
        // so the grid drawn is the grid that fits (never a row cut off by rounding).
        let gaps_w = (c - 1) as u16;
        let gaps_h = (r - 1) as u16;
        if gaps_w >= area.width {
            break;
        }
        if gaps_h >= area.height {
            continue;
        }
        let cell_w = (area.width - gaps_w) / c as u16;
        let cell_h = (area.height - gaps_h) / r as u16;
        let by_w = f64::from(cell_w) / cols as f64;
        // Two pixel rows a cell (half blocks).
        let by_h = f64::from(cell_h) * 2.0 / rows as f64;
        let scale = by_w.min(by_h).min(max_scale);
        // Fewer than 2 pixels per map side shows nothing useful.
        if scale * (cols.min(rows) as f64) < 2.0 {
            continue;
        }
        if best.is_none_or(|(_, s)| scale > s + 1e-9) {
            best = Some((c, scale));
        }
    }
    best
}

/// Draws `n` maps in a grid chosen by [`fit_grid`], each at most `max_scale` cells
/// per pixel column (1 for activations; small kernels are worth enlarging); returns
/// the rows used.
pub fn draw_grid(
    buf: &mut Buffer,
    area: Rect,
    maps: &[&[f32]],
    (rows, cols): (usize, usize),
    max_scale: f64,
    how: Scale,
    theme: &Theme,
) -> u16 {
    let Some((grid_cols, scale)) = fit_grid(maps.len(), rows, cols, area, max_scale) else {
        return 0;
    };
    let (w, h) = cell_size(rows, cols, scale);
    for (i, map) in maps.iter().enumerate() {
        let (gx, gy) = ((i % grid_cols) as u16, (i / grid_cols) as u16);
        let x = area.x + gx * (w + 1);
        let y = area.y + gy * (h + 1);
        if x + w > area.right() || y + h > area.bottom() {
            continue;
        }
        draw_map(
            buf,
            Rect::new(x, y, w, h),
            map,
            (rows, cols),
            scale,
            how,
            theme,
        );
    }
    let used_rows = maps.len().div_ceil(grid_cols) as u16;
    used_rows * (h + 1) - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::theme::{ChartMarker, ColorDepth, ThemeKind};

    #[test]
    fn a_28_by_28_map_takes_28_by_14_cells_at_full_scale() {
        assert_eq!(cell_size(28, 28, 1.0), (28, 14));
        assert_eq!(cell_size(10, 10, 1.0), (10, 5));
        assert_eq!(cell_size(28, 28, 0.5), (14, 7));
    }

    #[test]
    fn grids_fit_their_area() {
        let area = Rect::new(0, 0, 90, 14);
        let (c, s) = fit_grid(6, 28, 28, area, 1.0).unwrap();
        let (w, h) = cell_size(28, 28, s);
        assert!(c as u16 * (w + 1) - 1 <= 90);
        let r = 6usize.div_ceil(c) as u16;
        assert!(r * h + (r - 1) <= 14);
        assert!(fit_grid(6, 28, 28, Rect::new(0, 0, 3, 1), 1.0).is_none());
        assert!(fit_grid(0, 28, 28, area, 1.0).is_none());
    }

    #[test]
    fn every_map_of_a_grid_fits_whatever_the_area() {
        // The second layer's 16 maps of 10×10 (and the first's 6 of 28×28) in every
        // panel size a dashboard can give them: all drawn, none cut off.
        for (n, side) in [(16, 10), (6, 28)] {
            for width in 20..=160 {
                for height in 2..=20 {
                    let area = Rect::new(0, 0, width, height);
                    let Some((c, s)) = fit_grid(n, side, side, area, 1.0) else {
                        continue;
                    };
                    let (w, h) = cell_size(side, side, s);
                    let r = n.div_ceil(c) as u16;
                    assert!(c as u16 * (w + 1) - 1 <= width, "{n} in {width}×{height}");
                    assert!(
                        r * (h + 1) - 1 <= height,
                        "{n} in {width}×{height}: {c} {s}"
                    );
                }
            }
        }
    }

    #[test]
    fn draws_half_blocks_with_two_pixel_rows_per_cell() {
        let theme = Theme::new(ThemeKind::Dark, ColorDepth::Truecolor, ChartMarker::Braille);
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        // Top row dark, bottom row bright.
        draw_map(
            &mut buf,
            Rect::new(0, 0, 2, 1),
            &[0.0, 0.0, 1.0, 1.0],
            (2, 2),
            1.0,
            Scale::Grey,
            &theme,
        );
        let cell = &buf[(0, 0)];
        assert_eq!(cell.symbol(), "▀");
        assert_eq!(cell.fg, ratatui::style::Color::Rgb(0, 0, 0));
        assert_eq!(cell.bg, ratatui::style::Color::Rgb(255, 255, 255));

        let plain = Theme::new(ThemeKind::Dark, ColorDepth::None, ChartMarker::Braille);
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        draw_map(
            &mut buf,
            Rect::new(0, 0, 2, 1),
            &[1.0, 1.0, 1.0, 1.0],
            (2, 2),
            1.0,
            Scale::Grey,
            &plain,
        );
        assert_eq!(buf[(1, 0)].symbol(), "█");
        // Nothing is drawn outside a zero-sized area.
        let mut tiny = Buffer::empty(Rect::new(0, 0, 0, 0));
        draw_map(
            &mut tiny,
            Rect::new(0, 0, 0, 0),
            &[1.0; 4],
            (2, 2),
            1.0,
            Scale::Grey,
            &theme,
        );
    }

    #[test]
    fn blocks_give_each_matrix_row_a_cell_row_or_half_of_one() {
        let theme = Theme::new(ThemeKind::Dark, ColorDepth::Truecolor, ChartMarker::Braille);
        let values = [0.0, 1.0, 1.0, 0.0];
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 2));
        draw_blocks(
            &mut buf,
            Rect::new(0, 0, 6, 2),
            &values,
            (2, 2),
            (3, 2),
            Scale::Grey,
            &theme,
        );
        let (black, white) = (
            ratatui::style::Color::Rgb(0, 0, 0),
            ratatui::style::Color::Rgb(255, 255, 255),
        );
        // Row 0: three black cells, then three white; row 1 the other way round.
        assert_eq!((buf[(2, 0)].fg, buf[(2, 0)].bg), (black, black));
        assert_eq!((buf[(3, 0)].fg, buf[(3, 0)].bg), (white, white));
        assert_eq!(buf[(0, 1)].fg, white);
        let mut half = Buffer::empty(Rect::new(0, 0, 2, 1));
        draw_blocks(
            &mut half,
            Rect::new(0, 0, 2, 1),
            &values,
            (2, 2),
            (1, 1),
            Scale::Grey,
            &theme,
        );
        assert_eq!((half[(0, 0)].fg, half[(0, 0)].bg), (black, white));
        // Clipped, never out of bounds.
        let mut tiny = Buffer::empty(Rect::new(0, 0, 1, 1));
        draw_blocks(
            &mut tiny,
            Rect::new(0, 0, 1, 1),
            &values,
            (2, 2),
            (4, 2),
            Scale::Grey,
            &theme,
        );
    }

    #[test]
    fn ranges_ignore_non_finite_values() {
        assert_eq!(value_range(&[0.5, f32::NAN, -1.0, 2.0]), (-1.0, 2.0));
        assert_eq!(value_range(&[]), (0.0, 0.0));
        assert_eq!(Scale::heat_of(&[3.0, 3.0]).unit(3.0), 0.5);
    }
}
