//! The activation panel: the chosen test image, its true and predicted class, and the
//! first- and second-layer maps as half-block heatmaps, each layer with its colour
//! scale and value range. In compare mode, two images side by side.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::heatmap::{self, Scale};
use super::panel;
use crate::data::own::{ImageId, ProbeImage};
use crate::data::pixel_to_f32;
use crate::model::ActivationMap;
use crate::train::ProbeReport;
use crate::ui::app::{Canvas, Compare, Pen, Runs, Screen};
use crate::ui::keys::Action;
use crate::ui::theme::Theme;

/// Draws the panel.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let keys = &screen.keymap;
    let arrows = || keys.pair(Action::PrevImage, Action::NextImage);
    let title = match screen.compare {
        Compare::Off => format!(
            " Activations · {} compares two images ",
            keys.name(Action::Compare)
        ),
        Compare::Left => format!(
            " Activations · comparing, {} move the left image ",
            arrows()
        ),
        Compare::Right => format!(
            " Activations · comparing, {} move the right image ",
            arrows()
        ),
    };
    let block = panel(&title, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width < 10 || inner.height < 3 {
        return;
    }
    let shown = screen.shown_probes();
    // A race shows the one image through every variant, side by side; comparing two
    // images, or drawing, is the focused variant's alone.
    if runs.race.is_some() && shown.len() == 1 && screen.drawing.is_none() {
        render_race(runs, screen, frame, inner, &shown[0]);
        return;
    }
    let sides = side_areas(inner, shown.len());
    for (i, (image, side)) in shown.iter().zip(sides).enumerate() {
        let active = shown.len() == 2 && (i == 1) == (screen.compare == Compare::Right);
        render_side(
            runs,
            screen,
            frame,
            side,
            image,
            runs.lane(screen.focus).report_for(image),
            active,
        );
    }
}

/// The narrowest column a race's variant gets: an image and its maps still readable.
const RACE_COLUMN: u16 = 34;

/// The variants shown when `fit` columns fit: the focused one always, then the
/// others in race order, back in race order.
fn race_columns(count: usize, focus: usize, fit: usize) -> Vec<usize> {
    let mut lanes: Vec<usize> = std::iter::once(focus)
        .chain((0..count).filter(|&i| i != focus))
        .take(fit.max(1))
        .collect();
    lanes.sort_unstable();
    lanes
}

/// `image` through each variant of the race, a column each, named in its colour;
/// those that do not fit are named on the last line.
fn render_race(runs: &Runs, screen: &Screen, frame: &mut Frame, inner: Rect, image: &ProbeImage) {
    let t = &screen.theme;
    let count = runs.lane_count();
    let fit = usize::from(inner.width / RACE_COLUMN).clamp(1, count);
    let lanes = race_columns(count, screen.focus, fit);
    let summaries = runs.lane_summaries(screen.focus);
    let left_out: Vec<String> = (0..count)
        .filter(|i| !lanes.contains(i))
        .map(|i| format!("{} {}", i + 1, summaries[i].label))
        .collect();
    let mut area = inner;
    if !left_out.is_empty() && area.height > 4 {
        let note = format!(
            "not shown, widen the terminal: {} ({}–{} focus)",
            left_out.join(", "),
            screen.keymap.name(Action::Focus1),
            screen.keymap.name(Action::Focus4)
        );
        let last = Rect::new(area.x, area.bottom() - 1, area.width, 1);
        frame
            .buffer_mut()
            .set_stringn(last.x, last.y, &note, usize::from(last.width), t.dim);
        area.height -= 1;
    }
    let columns = Layout::horizontal(vec![Constraint::Fill(1); lanes.len()])
        .spacing(1)
        .split(area);
    for (&lane, &column) in lanes.iter().zip(columns.iter()) {
        let s = &summaries[lane];
        let mut style = t.variant_line(lane);
        if s.focused {
            style = style.add_modifier(ratatui::style::Modifier::BOLD);
        }
        let mark = if s.focused { "▸" } else { " " };
        frame.buffer_mut().set_stringn(
            column.x,
            column.y,
            format!("{mark}{} {}", s.number, s.label),
            usize::from(column.width),
            style,
        );
        let body = Rect::new(
            column.x,
            column.y + 1,
            column.width,
            column.height.saturating_sub(1),
        );
        let report = runs.lane(lane).report_for(image);
        render_side(runs, screen, frame, body, image, report, false);
    }
}

/// The panel's inner area split for `n` images side by side.
fn side_areas(inner: Rect, n: usize) -> Vec<Rect> {
    if n == 2 {
        let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)])
            .spacing(1)
            .areas(inner);
        vec![l, r]
    } else {
        vec![inner]
    }
}

/// One image's side: the image, its caption under it, and its layers to the right.
struct SideAreas {
    image: Rect,
    caption: Rect,
    layers: Rect,
}

fn side_parts(area: Rect, drawing: bool) -> SideAreas {
    // A canvas wants room to draw in; the layers make do with less meanwhile.
    let share = if drawing { 3 } else { 4 };
    let image_cols = (area.width / share).clamp(10, 30);
    let [left, layers] = Layout::horizontal([Constraint::Length(image_cols), Constraint::Fill(1)])
        .spacing(1)
        .areas(area);
    let [image, caption] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(3)]).areas(left);
    SideAreas {
        image,
        caption,
        layers,
    }
}

/// Where draw mode's canvas is on screen, and how its pixels map to cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanvasCells {
    /// The cells the canvas covers.
    pub area: Rect,
    /// Canvas side in pixels.
    pub side: usize,
    /// Pixel rows drawn (two to a cell).
    pub pixel_rows: usize,
}

impl CanvasCells {
    /// The canvas pixel (the centre of the cell's share) under a terminal cell.
    pub fn pixel_at(&self, column: u16, row: u16) -> Option<(f32, f32)> {
        let a = self.area;
        if column < a.x || row < a.y || column >= a.right() || row >= a.bottom() {
            return None;
        }
        let side = self.side as f32;
        let x = (f32::from(column - a.x) + 0.5) * side / f32::from(a.width);
        let y = (f32::from(row - a.y) * 2.0 + 1.0) * side / self.pixel_rows as f32;
        Some((x.min(side - 0.01), y.min(side - 0.01)))
    }

    /// The cell showing canvas pixel `(x, y)`.
    pub fn cell_of(&self, (x, y): (usize, usize)) -> (u16, u16) {
        let cx = x * usize::from(self.area.width) / self.side;
        let cy = y * self.pixel_rows / self.side / 2;
        (self.area.x + cx as u16, self.area.y + cy as u16)
    }
}

/// Draw mode's canvas in the panel at `area` (where [`render`] puts it).
pub fn canvas(runs: &Runs, screen: &Screen, area: Rect) -> Option<CanvasCells> {
    screen.drawing.as_ref()?;
    let inner = panel("", &screen.theme).inner(area);
    if inner.width < 10 || inner.height < 3 {
        return None;
    }
    canvas_in_side(runs, side_areas(inner, screen.shown_probes().len())[0])
}

/// The canvas's cells within an image's side.
fn canvas_in_side(runs: &Runs, side: Rect) -> Option<CanvasCells> {
    let image = side_parts(side, true).image;
    let (rows, cols) = (runs.dataset.test.rows, runs.dataset.test.cols);
    let (_, scale) = heatmap::fit_grid(1, rows, cols, image, 1.0)?;
    let (w, h) = heatmap::cell_size(rows, cols, scale);
    Some(CanvasCells {
        area: Rect::new(image.x, image.y, w.min(image.width), h.min(image.height)),
        side: cols,
        pixel_rows: ((rows as f64 * scale).floor() as usize).max(1),
    })
}

fn render_side(
    runs: &Runs,
    screen: &Screen,
    frame: &mut Frame,
    area: Rect,
    shown: &ProbeImage,
    report: Option<&ProbeReport>,
    active: bool,
) {
    let t = &screen.theme;
    let test = &runs.dataset.test;
    // Draw mode's canvas is always the left image (`shown_probes` puts it there).
    let drawing = screen
        .drawing
        .as_ref()
        .filter(|c| shown.id() == ImageId::Own(c.id));
    let SideAreas {
        image: image_area,
        caption: caption_area,
        layers: right,
    } = side_parts(area, screen.drawing.is_some());

    // The image is at hand, so it shows even before the first report.
    let image: Vec<f32> = shown
        .pixels(test)
        .iter()
        .map(|&p| pixel_to_f32(p))
        .collect();
    let (rows, cols) = (test.rows, test.cols);
    if let Some((_, scale)) = heatmap::fit_grid(1, rows, cols, image_area, 1.0) {
        let buf = frame.buffer_mut();
        heatmap::draw_map(buf, image_area, &image, (rows, cols), scale, Scale::Grey, t);
    }
    if let Some(canvas) = drawing {
        draw_cursor(runs, screen, frame.buffer_mut(), area, canvas);
    }
    let caption = Caption {
        shown,
        report,
        active,
        drawing: drawing.is_some(),
        width: caption_area.width,
    };
    frame.render_widget(Paragraph::new(caption.lines(runs, t)), caption_area);

    let Some(r) = report else {
        frame.render_widget(
            Paragraph::new(Span::styled("waiting for the model…", t.dim)),
            right,
        );
        return;
    };
    // Layer 1 maps are larger; give them a bit more height.
    let [l1, l2] = Layout::vertical([Constraint::Fill(11), Constraint::Fill(9)]).areas(right);
    render_layer(frame.buffer_mut(), l1, "layer 1", &r.probe.layer1, t);
    render_layer(frame.buffer_mut(), l2, "layer 2", &r.probe.layer2, t);
}

/// What is written under a shown image.
struct Caption<'a> {
    shown: &'a ProbeImage,
    report: Option<&'a ProbeReport>,
    /// The image the keys move, in compare mode.
    active: bool,
    /// The image is draw mode's canvas.
    drawing: bool,
    width: u16,
}

impl Caption<'_> {
    /// `▶ test #17 Pullover`, then `pred Coat` and `p = 61%` in the verdict's colour.
    fn lines(&self, runs: &Runs, t: &Theme) -> Vec<Line<'static>> {
        let data = &runs.dataset;
        let marker = if self.active { "▶ " } else { "" };
        // A long file name keeps room for the class beside it.
        let name = super::abbreviate(&self.shown.caption(), usize::from(self.width) * 3 / 5);
        let class = match (self.shown.label(&data.test), self.drawing) {
            (_, true) => Span::styled("✎ draw mode", t.highlight),
            (Some(l), false) => Span::styled(data.class_name(l).to_string(), t.title),
            // A made-up input (noise, blank, …) has no true class, as it says.
            (None, false) if made_up(&self.shown.caption()) => Span::styled("made up", t.dim),
            (None, false) => Span::styled("yours", t.dim),
        };
        let mut lines = vec![Line::from(vec![
            Span::styled(marker, t.highlight),
            Span::styled(format!("{name} "), t.dim),
            class,
        ])];
        let Some(r) = self.report else {
            lines.push(Line::from(Span::styled("pred …", t.dim)));
            return lines;
        };
        let p = r
            .probe
            .probabilities
            .get(r.predicted)
            .copied()
            .unwrap_or(0.0);
        let style = verdict_style(r, t);
        lines.push(Line::from(vec![
            Span::styled("pred ", t.dim),
            Span::styled(data.class_name(r.predicted).to_string(), style),
        ]));
        lines.push(Line::from(Span::styled(
            format!("p = {:.0}%", p * 100.0),
            style,
        )));
        lines
    }
}

/// Whether an image's caption names a made-up input.
fn made_up(caption: &str) -> bool {
    crate::data::own::made_up::MadeUp::named(caption).is_some()
}

/// A prediction's colour: right, wrong, or (no true class given) neither.
pub fn verdict_style(r: &ProbeReport, t: &Theme) -> ratatui::style::Style {
    match r.label {
        Some(l) if l == r.predicted => t.running,
        Some(_) => t.error,
        None => t.highlight,
    }
}

/// The keyboard cursor on the canvas: a `+` over its pixel, coloured by the pen.
fn draw_cursor(runs: &Runs, screen: &Screen, buf: &mut Buffer, side: Rect, canvas: &Canvas) {
    let Some(cells) = canvas_in_side(runs, side) else {
        return;
    };
    let style = match canvas.pen {
        Pen::Up => screen.theme.highlight,
        Pen::Ink => screen.theme.running,
        Pen::Eraser => screen.theme.error,
    };
    if let Some(cell) = buf.cell_mut(cells.cell_of(canvas.cursor)) {
        cell.set_char('+');
        if let Some(fg) = style.fg {
            cell.set_fg(fg);
        }
    }
}

fn render_layer(buf: &mut Buffer, area: Rect, name: &str, map: &ActivationMap, t: &Theme) {
    if area.height < 2 || map.channels == 0 {
        return;
    }
    let (min, max) = heatmap::value_range(&map.values);
    let title = format!("{name} {}×{}×{} ", map.channels, map.height, map.width);
    let title_width = title.chars().count() as u16;
    buf.set_string(area.x, area.y, &title, t.dim);
    heatmap::legend(
        buf,
        Rect::new(
            area.x + title_width,
            area.y,
            area.width.saturating_sub(title_width),
            1,
        ),
        min,
        max,
        t,
    );
    let grid = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    let maps: Vec<&[f32]> = (0..map.channels).map(|c| map.channel(c)).collect();
    let drawn = heatmap::draw_grid(
        buf,
        grid,
        &maps,
        (map.height, map.width),
        1.0,
        Scale::Heat { min, max },
        t,
    );
    if drawn == 0 && grid.height > 0 {
        // Too small for even the smallest maps: say so rather than show a blank.
        let note = format!("{} maps: widen the terminal for them", map.channels);
        buf.set_stringn(grid.x, grid.y, &note, usize::from(grid.width), t.dim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::theme::{ChartMarker, ColorDepth, ThemeKind};

    fn text(buf: &Buffer) -> String {
        buf.content().iter().map(|c| c.symbol()).collect()
    }

    #[test]
    fn a_layer_too_small_for_its_maps_says_so() {
        let t = Theme::new(ThemeKind::Dark, ColorDepth::Truecolor, ChartMarker::Braille);
        let map = ActivationMap {
            channels: 16,
            height: 10,
            width: 10,
            values: vec![0.5; 1600],
        };
        // 16 maps of at least 2×1 cells and their gaps need more than 20 columns.
        let area = Rect::new(0, 0, 20, 3);
        let mut buf = Buffer::empty(area);
        render_layer(&mut buf, area, "layer 2", &map, &t);
        assert!(text(&buf).contains("16 maps: widen"), "{}", text(&buf));
        // With room, the maps are drawn instead.
        let area = Rect::new(0, 0, 80, 4);
        let mut buf = Buffer::empty(area);
        render_layer(&mut buf, area, "layer 2", &map, &t);
        assert!(!text(&buf).contains("widen"));
        assert_eq!(
            text(&buf).matches('▀').count(),
            16 * 4 * 2,
            "16 maps of 4×2 cells"
        );
    }
}
