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
use crate::model::ActivationMap;
use crate::train::ProbeReport;
use crate::ui::app::{App, Compare};
use crate::ui::keys::Action;
use crate::ui::theme::Theme;

/// Draws the panel.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let keys = &app.keymap;
    let arrows = || keys.pair(Action::PrevImage, Action::NextImage);
    let title = match app.compare {
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
    let shown = app.shown_probes();
    let sides: Vec<Rect> = if shown.len() == 2 {
        let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)])
            .spacing(1)
            .areas(inner);
        vec![l, r]
    } else {
        vec![inner]
    };
    for (i, (&index, side)) in shown.iter().zip(sides).enumerate() {
        let active = shown.len() == 2 && (i == 1) == (app.compare == Compare::Right);
        let report = app.shown_activations().iter().find(|r| r.index == index);
        render_side(app, frame, side, index, report, active);
    }
}

fn render_side(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    index: usize,
    report: Option<&ProbeReport>,
    active: bool,
) {
    let t = &app.theme;
    let data = &app.dataset;
    let label = usize::from(data.test.labels[index]);
    let caption_rows = 3u16;
    let image_cols = (area.width / 4).clamp(10, 30);
    let [left, right] = Layout::horizontal([Constraint::Length(image_cols), Constraint::Fill(1)])
        .spacing(1)
        .areas(area);
    let [image_area, caption_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(caption_rows)]).areas(left);

    // The image comes from the data set, so it shows even before the first report.
    let image = data.test.image(index);
    let (rows, cols) = (data.test.rows, data.test.cols);
    if let Some((_, scale)) = heatmap::fit_grid(1, rows, cols, image_area, 1.0) {
        heatmap::draw_map(
            frame.buffer_mut(),
            image_area,
            &image,
            (rows, cols),
            scale,
            Scale::Grey,
            t,
        );
    }
    let marker = if active { "▶ " } else { "" };
    let mut caption = vec![Line::from(vec![
        Span::styled(marker, t.highlight),
        Span::styled(format!("#{index} "), t.dim),
        Span::styled(app.dataset.class_name(label).to_string(), t.title),
    ])];
    match report {
        Some(r) => {
            let p = r
                .probe
                .probabilities
                .get(r.predicted)
                .copied()
                .unwrap_or(0.0);
            let style = if r.predicted == label {
                t.running
            } else {
                t.error
            };
            caption.push(Line::from(vec![
                Span::styled("pred ", t.dim),
                Span::styled(app.dataset.class_name(r.predicted).to_string(), style),
            ]));
            caption.push(Line::from(Span::styled(
                format!("p = {:.0}%", p * 100.0),
                style,
            )));
        }
        None => caption.push(Line::from(Span::styled("pred …", t.dim))),
    }
    frame.render_widget(Paragraph::new(caption), caption_area);

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
