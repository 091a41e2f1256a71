//! The test images behind one confusion cell, in the activations' place: small
//! heatmaps, [`GALLERY_COLUMNS`] to a row, each captioned with its test-set number and
//! the probability the model gave its (wrong) answer; the rows scroll to keep the
//! chosen one in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::heatmap::{self, Scale};
use super::panel;
use crate::data::pixel_to_f32;
use crate::train::Gallery;
use crate::ui::app::{GALLERY_COLUMNS, Inspect, Runs, Screen};
use crate::ui::keys::Action;

/// Draws the gallery.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let Some(Inspect::Gallery {
        truth,
        predicted,
        answer,
        selected,
    }) = &screen.inspect
    else {
        return;
    };
    let t = &screen.theme;
    let name = |c: usize| runs.dataset.classes.get(c).map_or("?", String::as_str);
    let cell = format!("{} → {}", name(*truth), name(*predicted));
    let title = match answer {
        Some(g) => format!(
            " {cell}: {} images · epoch {} · {}/{} · {} shows it, {} back ",
            g.images.len(),
            g.epoch,
            (selected + 1).min(g.images.len()),
            g.images.len(),
            screen.keymap.name(Action::InspectOpen),
            screen.keymap.name(Action::InspectLeave)
        ),
        None => format!(" {cell} · asking the trainer… "),
    };
    let block = panel(&title, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(gallery) = answer else {
        return;
    };
    if gallery.images.is_empty() {
        let words = format!(
            "no test image of {} was taken for {} at epoch {}",
            name(*truth),
            name(*predicted),
            gallery.epoch
        );
        frame.render_widget(Paragraph::new(Line::styled(words, t.dim)), inner);
        return;
    }
    draw_thumbnails(runs, screen, frame, inner, gallery, *selected);
}

/// The thumbnails, the rows around `selected`.
fn draw_thumbnails(
    runs: &Runs,
    screen: &Screen,
    frame: &mut Frame,
    inner: Rect,
    gallery: &Gallery,
    selected: usize,
) {
    let t = &screen.theme;
    let test = &runs.dataset.test;
    let column = inner.width / GALLERY_COLUMNS as u16;
    if column < 5 || inner.height < 3 {
        return;
    }
    // At most half a cell per pixel column, small enough for two rows of thumbnails
    // (each with its caption) where the panel is tall enough: a screenful shows many.
    let two_rows = f64::from((inner.height / 2).saturating_sub(1) * 2) / test.rows as f64;
    let mut scale = (f64::from(column - 1) / test.cols as f64).min(0.5);
    if two_rows * test.rows as f64 >= 8.0 {
        scale = scale.min(two_rows);
    }
    let (w, h) = heatmap::cell_size(test.rows, test.cols, scale);
    let h = h.min(inner.height - 1);
    let row_height = h + 1;
    let rows_shown = usize::from((inner.height / row_height).max(1));
    let chosen_row = selected / GALLERY_COLUMNS;
    let first_row = chosen_row.saturating_sub(rows_shown - 1);
    let first = first_row * GALLERY_COLUMNS;
    let last = (first + rows_shown * GALLERY_COLUMNS).min(gallery.images.len());
    for (k, &(index, confidence)) in gallery.images[first..last].iter().enumerate() {
        let x = inner.x + (k % GALLERY_COLUMNS) as u16 * column;
        let y = inner.y + (k / GALLERY_COLUMNS) as u16 * row_height;
        if index >= test.len() {
            continue;
        }
        let pixels: Vec<f32> = test
            .image_bytes(index)
            .iter()
            .map(|&p| pixel_to_f32(p))
            .collect();
        let buf = frame.buffer_mut();
        let area = Rect::new(x, y, w, h);
        heatmap::draw_map(
            buf,
            area,
            &pixels,
            (test.rows, test.cols),
            scale,
            Scale::Grey,
            t,
        );
        let caption = format!("{index} {}", short_probability(confidence));
        let style = if first + k == selected {
            t.highlight.add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            t.dim
        };
        buf.set_stringn(x, y + h, caption, usize::from(column - 1), style);
    }
}

/// `.82` for 0.82, `1.0` for a certainty: the caption's few columns.
fn short_probability(p: f32) -> String {
    if p >= 0.995 {
        "1.0".into()
    } else {
        format!("{p:.2}").trim_start_matches('0').to_string()
    }
}
