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
use crate::ui::app::{Inspect, Runs, Screen};
use crate::ui::keys::Action;
use crate::ui::theme::Theme;

/// Row labels are cut to this many characters (`T-shirt/top` is 11).
const LABEL_WIDTH: usize = 11;
/// ` 100%`: each class's accuracy at the end of its row.
const ACCURACY_WIDTH: usize = 5;

fn label_width(runs: &Runs) -> usize {
    super::class_name_width(&runs.dataset, LABEL_WIDTH)
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
pub fn size(runs: &Runs, screen: &Screen) -> PanelSize {
    let n = runs.dataset.classes.len();
    let cell = count_width(runs.lane(screen.focus).shown_confusion().map(|c| &c.matrix));
    PanelSize {
        min: ((2 + 4 + 1 + 2 * n) as u16, (2 + n.div_ceil(2) + 1) as u16),
        preferred: (
            (2 + label_width(runs) + 1 + n * cell + ACCURACY_WIDTH) as u16,
            (n + 4) as u16,
        ),
    }
}

/// Draws the panel.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let title = match runs.lane(screen.focus).shown_confusion().map(|c| c.epoch) {
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
    let Some(matrix) = runs.lane(screen.focus).shown_confusion().map(|c| &c.matrix) else {
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
        Paragraph::new(most_confused(runs, screen, matrix, callout.width)),
        callout,
    );
    let rows = inner.height - 1;
    let table = Rect::new(inner.x, inner.y, inner.width, rows);
    if usize::from(rows) > n {
        full(runs, screen, frame.buffer_mut(), table, matrix);
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
        // The cursor marks its cell (the callout names it).
        if let Some((truth, predicted)) = cursor(screen) {
            let at = (
                table.x + predicted as u16 * cell,
                table.y + (truth / 2) as u16,
            );
            if let Some(c) = frame.buffer_mut().cell_mut(at) {
                c.set_char('◆');
                if let Some(fg) = t.highlight.fg {
                    c.set_fg(fg);
                }
            }
        }
    }
}

/// The cell under the confusion cursor (or whose images the gallery shows).
fn cursor(screen: &Screen) -> Option<(usize, usize)> {
    match screen.inspect {
        Some(
            Inspect::Confusion { truth, predicted }
            | Inspect::Gallery {
                truth, predicted, ..
            },
        ) => Some((truth, predicted)),
        _ => None,
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

/// Columns of the labelled matrix: class names, each cell, the accuracy column.
struct Columns {
    label: usize,
    cell: usize,
    accuracy: usize,
}

impl Columns {
    /// As wide as `width` allows: the accuracy column goes first, then the names
    /// shorten; `None` when not even one column per cell is left.
    fn fit(width: usize, label: usize, n: usize, matrix: &ConfusionMatrix) -> Option<Self> {
        let mut label = label.min(width.saturating_sub(n + 1)).max(1);
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
        (cell > 0).then_some(Self {
            label,
            cell,
            accuracy,
        })
    }
}

/// The labelled matrix: header row, then a row per true class.
fn full(runs: &Runs, screen: &Screen, buf: &mut Buffer, area: Rect, matrix: &ConfusionMatrix) {
    let t = &screen.theme;
    let n = matrix.classes();
    let label = label_width(runs);
    let Some(columns) = Columns::fit(usize::from(area.width), label, n, matrix) else {
        return;
    };
    let Columns {
        label,
        cell,
        accuracy,
    } = columns;
    let x0 = area.x + (label + 1) as u16;
    let cells = Rect::new(x0, area.y + 1, (n * cell) as u16, area.height - 1);
    let values = shares(matrix);
    let heat = Scale::Heat { min: 0.0, max: 1.0 };
    heatmap::draw_blocks(buf, cells, &values, (n, n), (cell as u16, 2), heat, t);
    // Column headers: predicted classes, as much of each name as a cell holds.
    for p in 0..n {
        let name: String = runs.dataset.class_name(p).chars().take(cell - 1).collect();
        let x = x0 + (p * cell) as u16;
        buf.set_string(x, area.y, format!("{name:>cell$}"), t.dim);
    }
    if accuracy > 0 {
        let x = x0 + (n * cell) as u16;
        buf.set_string(x, area.y, format!("{:>accuracy$}", "acc"), t.dim);
    }
    let numbers = cell > count_width(Some(matrix)) - 1;
    for truth in 0..n.min(usize::from(area.height) - 1) {
        let y = area.y + 1 + truth as u16;
        let name = abbreviate(runs.dataset.class_name(truth), label);
        buf.set_string(area.x, y, format!("{name:>label$}"), t.text);
        if numbers {
            row_counts(buf, (x0, y), cell, matrix, truth, &values, t);
        }
        if accuracy > 0
            && let Some(r) = matrix.recall(truth)
        {
            let text = format!("{:>accuracy$}", format!("{:.0}%", r * 100.0));
            buf.set_string(x0 + (n * cell) as u16, y, text, t.text);
        }
    }
    if let Some((truth, predicted)) = cursor(screen)
        && truth < n.min(usize::from(area.height) - 1)
    {
        let x = x0 + (predicted * cell) as u16;
        let y = area.y + 1 + truth as u16;
        let mark = Rect::new(x, y, cell as u16, 1).intersection(area);
        buf.set_style(mark, t.highlight.add_modifier(Modifier::REVERSED));
    }
}

/// The counts of true class `truth`'s row, over its shades, the diagonal bold.
fn row_counts(
    buf: &mut Buffer,
    (x0, y): (u16, u16),
    cell: usize,
    matrix: &ConfusionMatrix,
    truth: usize,
    values: &[f32],
    t: &Theme,
) {
    let n = matrix.classes();
    let coloured = t.heat(0.0).is_some();
    for p in 0..n {
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
}

/// `most confused: Shirt → T-shirt/top (152)`, without its first two words when
/// `width` is short of them.
fn most_confused<'a>(
    runs: &'a Runs,
    screen: &Screen,
    matrix: &ConfusionMatrix,
    width: u16,
) -> Line<'a> {
    let t = &screen.theme;
    if let Some((truth, predicted)) = cursor(screen) {
        // The cell under the cursor, in words, with its count.
        let mut line = Line::from(vec![
            Span::styled(runs.dataset.class_name(truth), t.highlight),
            Span::styled(" → ", t.dim),
            Span::styled(runs.dataset.class_name(predicted), t.highlight),
            Span::styled(format!(": {}", matrix.count(truth, predicted)), t.text),
            Span::styled(
                format!(" · {} shows them", screen.keymap.name(Action::InspectOpen)),
                t.dim,
            ),
        ]);
        if line.width() > usize::from(width) {
            line.spans.pop();
        }
        return line;
    }
    let Some(c) = matrix.most_confused() else {
        return Line::from(Span::styled("no test image misclassified", t.running));
    };
    let mut line = Line::from(vec![
        Span::styled("most confused: ", t.dim),
        Span::styled(runs.dataset.class_name(c.truth), t.highlight),
        Span::styled(" → ", t.dim),
        Span::styled(runs.dataset.class_name(c.predicted), t.highlight),
        Span::styled(format!(" ({})", c.count), t.text),
    ]);
    if line.width() > usize::from(width) {
        line.spans.remove(0);
    }
    line
}
