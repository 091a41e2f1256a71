//! The test set's confusion matrix after the last epoch: a heatmap with a row per true
//! class and a column per predicted class, the counts written in when they fit, each
//! class's accuracy at the right, and the most confused pair called out in words.
//! Short of rows, two classes share a row of half blocks and the labels go.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::heatmap::{self, Scale};
use super::{PanelSize, abbreviate, panel};
use crate::train::ConfusionMatrix;
use crate::ui::app::App;

/// Row labels are cut to this many characters (`T-shirt/top` is 11).
const LABEL_WIDTH: usize = 11;
/// ` 100%`: each class's accuracy at the end of its row.
const ACCURACY_WIDTH: usize = 5;

fn label_width(app: &App) -> usize {
    super::class_name_width(app, LABEL_WIDTH)
}

/// Cell width that fits the largest count with a space before it.
fn count_width(matrix: Option<&ConfusionMatrix>) -> usize {
    let largest = matrix.map_or(100, |m| {
        (0..m.classes())
            .flat_map(|t| m.row(t).iter().copied())
            .max()
            .unwrap_or(0)
    });
    (largest.max(1).ilog10() as usize + 2).clamp(3, 6)
}

/// The room the panel wants: a row per class, a header and the call-out.
pub fn size(app: &App) -> PanelSize {
    let n = app.dataset.classes.len();
    let cell = count_width(app.run().shown_confusion().map(|c| &c.matrix));
    PanelSize {
        min: ((2 + 4 + 1 + 2 * n) as u16, (2 + n.div_ceil(2) + 1) as u16),
        preferred: (
            (2 + label_width(app) + 1 + n * cell + ACCURACY_WIDTH) as u16,
            (n + 4) as u16,
        ),
    }
}

/// Draws the panel.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let title = match app.run().shown_confusion().map(|c| c.epoch) {
        Some(epoch) if area.width >= 56 => {
            format!(" Confusion · epoch {epoch} · rows true, columns predicted ")
        }
        Some(epoch) => format!(" Confusion · epoch {epoch} "),
        None => " Confusion ".to_string(),
    };
    let block = panel(&title, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let Some(matrix) = app.run().shown_confusion().map(|c| &c.matrix) else {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "after the first epoch: the test set by true and predicted class",
                t.dim,
            ))
            .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    };
    let n = matrix.classes();
    let callout = Rect::new(inner.x, inner.bottom() - 1, inner.width, 1);
    frame.render_widget(
        Paragraph::new(most_confused(app, matrix, callout.width)),
        callout,
    );
    let rows = inner.height - 1;
    let table = Rect::new(inner.x, inner.y, inner.width, rows);
    if usize::from(rows) > n {
        full(app, frame.buffer_mut(), table, matrix);
    } else if usize::from(rows) >= n.div_ceil(2) {
        // Half blocks: two classes to a cell row, no room for labels.
        let cell = (usize::from(inner.width) / n.max(1)).clamp(1, 4) as u16;
        heatmap::draw_blocks(
            frame.buffer_mut(),
            table,
            &shares(matrix),
            (n, n),
            (cell, 1),
            Scale::Heat { min: 0.0, max: 1.0 },
            t,
        );
    }
}

/// Each cell's share of its row (its true class), square-rooted so that the
/// confusions, a few percent each, show beside a diagonal near 1.
fn shares(matrix: &ConfusionMatrix) -> Vec<f32> {
    let n = matrix.classes();
    (0..n)
        .flat_map(|truth| {
            let row = matrix.row(truth);
            let sum = row.iter().sum::<u64>().max(1) as f64;
            row.iter().map(move |&c| (c as f64 / sum).sqrt() as f32)
        })
        .collect()
}

/// The labelled matrix: header row, then a row per true class.
fn full(app: &App, buf: &mut Buffer, area: Rect, matrix: &ConfusionMatrix) {
    let t = &app.theme;
    let n = matrix.classes();
    let width = usize::from(area.width);
    let mut label = label_width(app).min(width.saturating_sub(n + 1)).max(1);
    let mut accuracy = ACCURACY_WIDTH;
    let cells_room =
        |label: usize, accuracy: usize| width.saturating_sub(label + 1 + accuracy) / n.max(1);
    if cells_room(label, accuracy) < 2 {
        accuracy = 0;
    }
    while cells_room(label, accuracy) < 1 && label > 1 {
        label -= 1;
    }
    let cell = cells_room(label, accuracy).min(count_width(Some(matrix)));
    if cell == 0 {
        return;
    }
    let x0 = area.x + (label + 1) as u16;
    let cells = Rect::new(x0, area.y + 1, (n * cell) as u16, area.height - 1);
    let values = shares(matrix);
    heatmap::draw_blocks(
        buf,
        cells,
        &values,
        (n, n),
        (cell as u16, 2),
        Scale::Heat { min: 0.0, max: 1.0 },
        t,
    );
    // Column headers: predicted classes, as much of each name as a cell holds.
    for p in 0..n {
        let name: String = app.dataset.class_name(p).chars().take(cell - 1).collect();
        buf.set_string(
            x0 + (p * cell) as u16,
            area.y,
            format!("{name:>cell$}"),
            t.dim,
        );
    }
    if accuracy > 0 {
        buf.set_string(
            x0 + (n * cell) as u16,
            area.y,
            format!("{:>accuracy$}", "acc"),
            t.dim,
        );
    }
    let numbers = cell > count_width(Some(matrix)) - 1;
    let coloured = t.heat(0.0).is_some();
    for truth in 0..n.min(usize::from(area.height) - 1) {
        let y = area.y + 1 + truth as u16;
        let name = abbreviate(app.dataset.class_name(truth), label);
        buf.set_string(area.x, y, format!("{name:>label$}"), t.text);
        for p in 0..n {
            if !numbers {
                break;
            }
            let count = matrix.count(truth, p);
            let text = if count == 0 {
                "·".to_string()
            } else {
                count.to_string()
            };
            let mut style = t.on_heat(values[truth * n + p]);
            if !coloured {
                // Without colour the numbers are the matrix; clear the shade glyphs.
                buf.set_string(x0 + (p * cell) as u16, y, " ".repeat(cell), style);
            }
            if p == truth {
                style = style.add_modifier(Modifier::BOLD);
            }
            buf.set_string(x0 + (p * cell) as u16, y, format!("{text:>cell$}"), style);
        }
        if accuracy > 0
            && let Some(r) = matrix.recall(truth)
        {
            buf.set_string(
                x0 + (n * cell) as u16,
                y,
                format!("{:>accuracy$}", format!("{:.0}%", r * 100.0)),
                t.text,
            );
        }
    }
}

/// `most confused: Shirt → T-shirt/top (152)`, without its first two words when
/// `width` is short of them.
fn most_confused<'a>(app: &'a App, matrix: &ConfusionMatrix, width: u16) -> Line<'a> {
    let t = &app.theme;
    let Some(c) = matrix.most_confused() else {
        return Line::from(Span::styled("no test image misclassified", t.running));
    };
    let mut line = Line::from(vec![
        Span::styled("most confused: ", t.dim),
        Span::styled(app.dataset.class_name(c.truth), t.highlight),
        Span::styled(" → ", t.dim),
        Span::styled(app.dataset.class_name(c.predicted), t.highlight),
        Span::styled(format!(" ({})", c.count), t.text),
    ]);
    if line.width() > usize::from(width) {
        line.spans.remove(0);
    }
    line
}
